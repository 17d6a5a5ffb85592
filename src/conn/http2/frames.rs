//! Reading frames: every frame the client sends, applied or answered as
//! RFC 9113 §6 says, and field blocks gathered and decoded (RFC 7541).

use wired_parser::http2::hpack;
use wired_parser::http2::{
    self as h2, Decoded, ErrorCode, Payload, SettingId, encode_ping, encode_rst_stream, encode_settings_ack,
    encode_window_update, preface,
};

use super::request::{FieldList, trailers};
use super::*;
use crate::conn::Conn;
use crate::services::Services;

impl Conn {
    /// Handle every whole frame in the input buffer.
    pub(super) fn http2_frames(&mut self, svc: &mut Services, h2: &mut Http2) -> Result<(), ConnError> {
        let Some(input) = self.input.take() else { return Ok(()) };
        let result = self.http2_frames_in(svc, h2, input.bytes());
        let mut input = input;
        match result {
            Ok(used) => input.consume(used),
            Err(e) => {
                input.clear();
                self.input = Some(input);
                return Err(e);
            }
        }
        self.input = Some(input);
        Ok(())
    }

    /// The frames at the start of `bytes`; returns how many bytes were used.
    fn http2_frames_in(&mut self, svc: &mut Services, h2: &mut Http2, bytes: &[u8]) -> Result<usize, ConnError> {
        let mut at = 0;
        if !h2.preface_read {
            match preface::check(bytes) {
                preface::Preface::Complete => {
                    h2.preface_read = true;
                    at = preface::PREFACE.len();
                }
                preface::Preface::Partial => return Ok(0),
                preface::Preface::Mismatch => {
                    return Err(conn_error(ErrorCode::ProtocolError, "no connection preface (RFC 9113 §3.4)"));
                }
            }
        }
        while h2.pending() < HIGH_WATER && !h2.close_after_flush {
            let rest = bytes.get(at..).unwrap_or_default();
            match h2.frames.decode(rest) {
                Ok(Decoded::Partial { .. }) => break,
                Ok(Decoded::Frame { frame, consumed }) => {
                    at += consumed;
                    if svc.trace.is_some() {
                        self.trace_fmt(svc, format_args!("h2 recv: {frame}"));
                    }
                    if !h2.settings_seen && !matches!(frame.payload, Payload::Settings { ack: false, .. }) {
                        return Err(conn_error(
                            ErrorCode::ProtocolError,
                            "the preface's first frame must be SETTINGS (RFC 9113 §3.4)",
                        ));
                    }
                    self.http2_frame(svc, h2, frame)?;
                }
                Err(h2::Error::Stream { stream, reason, consumed }) => {
                    at += consumed;
                    self.trace_fmt(svc, format_args!("h2: stream {stream} error {}: {reason}", reason.code().name()));
                    h2.reset(stream, reason.code());
                }
                Err(h2::Error::Connection(reason)) => return Err(conn_error(reason.code(), reason.to_string())),
            }
        }
        Ok(at)
    }

    fn http2_frame(&mut self, svc: &mut Services, h2: &mut Http2, frame: h2::Frame<'_>) -> Result<(), ConnError> {
        let id = frame.stream();
        match frame.payload {
            Payload::Settings { ack: true, .. } => {}
            Payload::Settings { ack: false, settings } => {
                h2.settings_seen = true;
                for s in settings.iter() {
                    match s.id {
                        SettingId::HeaderTableSize => h2.hpack_out.set_peer_max_table_size(s.value),
                        SettingId::MaxFrameSize => h2.peer_max_frame = s.value,
                        SettingId::InitialWindowSize => {
                            // §6.9.2: the change applies to every open stream.
                            let delta = i64::from(s.value) - h2.peer_initial_window;
                            h2.peer_initial_window = i64::from(s.value);
                            for (sid, st) in h2.streams.iter_mut() {
                                st.window += delta;
                                if st.window > MAX_WINDOW {
                                    return Err(conn_error(
                                        ErrorCode::FlowControlError,
                                        format!("stream {sid}'s window passed 2^31-1 (RFC 9113 §6.9.2)"),
                                    ));
                                }
                                if st.window > 0 && (st.body.is_some() || st.secondary.is_some()) && !st.queued {
                                    st.queued = true;
                                    h2.ready.push_back(*sid);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                // §6.5.3: applied, then acknowledged.
                encode_settings_ack(&mut h2.out);
            }
            Payload::Ping { ack: false, data } => encode_ping(&mut h2.out, true, data),
            Payload::Ping { ack: true, .. } => {}
            Payload::WindowUpdate { increment } => {
                let inc = i64::from(increment);
                if id == 0 {
                    h2.send_window += inc;
                    if h2.send_window > MAX_WINDOW {
                        return Err(conn_error(
                            ErrorCode::FlowControlError,
                            "the connection window passed 2^31-1 (RFC 9113 §6.9.1)",
                        ));
                    }
                } else if let Some(st) = h2.streams.get_mut(&id) {
                    st.window += inc;
                    if st.window > MAX_WINDOW {
                        h2.reset(id, ErrorCode::FlowControlError);
                    } else if (st.body.is_some() || st.secondary.is_some()) && !st.queued {
                        st.queued = true;
                        h2.ready.push_back(id);
                    }
                } else if h2.idle(id) {
                    return Err(conn_error(
                        ErrorCode::ProtocolError,
                        "WINDOW_UPDATE on an idle stream (RFC 9113 §5.1)",
                    ));
                }
            }
            Payload::RstStream { .. } => {
                if h2.idle(id) {
                    return Err(conn_error(ErrorCode::ProtocolError, "RST_STREAM on an idle stream (RFC 9113 §6.4)"));
                }
                // Only a reset that cut a response short counts.
                if h2.remove_stream(id) {
                    h2.resets += 1;
                }
                if h2.resets > RESETS_ALLOWED && h2.resets > h2.answered {
                    return Err(conn_error(
                        ErrorCode::EnhanceYourCalm,
                        "too many streams reset (rapid reset, CVE-2023-44487)",
                    ));
                }
            }
            Payload::GoAway { .. } => {
                // The client is leaving (§6.8): the open streams finish.
                h2.peer_goaway = true;
            }
            Payload::PushPromise { .. } => {
                return Err(conn_error(ErrorCode::ProtocolError, "PUSH_PROMISE from a client (RFC 9113 §8.4)"));
            }
            Payload::Priority { .. } | Payload::Unknown { .. } => {}
            Payload::Data { data, end_stream } => {
                let n = i64::from(frame.flow_controlled_len());
                h2.recv_window -= n;
                if h2.recv_window < 0 {
                    return Err(conn_error(
                        ErrorCode::FlowControlError,
                        "DATA beyond the connection window (RFC 9113 §6.9.1)",
                    ));
                }
                // The connection's window is given back at once: each
                // stream's own window bounds what its body can hold here.
                if n > 0 {
                    encode_window_update(&mut h2.out, 0, n as u32);
                    h2.recv_window += n;
                }
                let idle = h2.idle(id);
                let reset_lately = h2.reset_lately(id);
                match h2.streams.get_mut(&id) {
                    Some(st) if !st.remote_closed => {
                        st.received += data.len() as u64;
                        // §6.9.1: a sender must not pass the stream's window;
                        // one that does could fill a program's pipe without end.
                        st.recv_window -= n;
                        if st.recv_window < 0 {
                            h2.reset(id, ErrorCode::FlowControlError);
                            return Ok(());
                        }
                        if st.expected.is_some_and(|e| st.received > e || (end_stream && st.received != e)) {
                            // §8.1.1: content-length must match the DATA.
                            h2.reset(id, ErrorCode::ProtocolError);
                            return Ok(());
                        }
                        if let Some(drained) = st.draining.as_mut() {
                            // Answered already: dropped, its window given back.
                            *drained += n as u64;
                            if *drained > DRAIN_LIMIT {
                                // §8.1: enough; the client may stop without error.
                                h2.reset(id, ErrorCode::NoError);
                                return Ok(());
                            }
                            if n > 0 && !end_stream {
                                encode_window_update(&mut h2.out, id, n as u32);
                                st.recv_window += n;
                            }
                        } else if let Some(sec) = st.secondary.as_mut() {
                            // A program's or an upstream's body: the stream's
                            // window is given back as it is read (§6.9).
                            sec.body(data, end_stream);
                            // Padding is nobody's: its window comes back now.
                            let padding = n as u64 - data.len() as u64;
                            if padding > 0 && !end_stream {
                                encode_window_update(&mut h2.out, id, padding as u32);
                                st.recv_window += padding as i64;
                            }
                        } else if n > 0 && !end_stream {
                            // Nobody wants it: given back at once, so the
                            // client can finish.
                            encode_window_update(&mut h2.out, id, n as u32);
                            st.recv_window += n;
                        }
                        if end_stream {
                            st.remote_closed = true;
                            if st.body.is_none() && st.secondary.is_none() {
                                // (A draining stream is closed now too.)
                                h2.remove_stream(id);
                            }
                        }
                    }
                    _ if idle => {
                        return Err(conn_error(ErrorCode::ProtocolError, "DATA on an idle stream (RFC 9113 §6.1)"));
                    }
                    // §5.1: sent before the client saw our RST_STREAM.
                    None if reset_lately => {}
                    // §5.1: DATA on a half-closed (remote) stream ends it.
                    Some(_) => h2.reset(id, ErrorCode::StreamClosed),
                    // §5.1: on a closed stream there is nothing to end.
                    None => encode_rst_stream(&mut h2.out, id, ErrorCode::StreamClosed),
                }
            }
            Payload::Headers { fragment, end_stream, end_headers } => {
                h2.block.clear();
                h2.block.extend_from_slice(fragment);
                h2.block_stream = id;
                h2.block_end_stream = end_stream;
                if end_headers {
                    self.http2_block(svc, h2)?;
                }
            }
            Payload::Continuation { fragment, end_headers } => {
                // The CONTINUATION flood (2024): a block that never ends.
                if h2.block.len() + fragment.len() > svc.config.limits.max_head_bytes * 2 {
                    return Err(conn_error(ErrorCode::EnhanceYourCalm, "a field block too large (CONTINUATION flood)"));
                }
                h2.block.extend_from_slice(fragment);
                if end_headers {
                    self.http2_block(svc, h2)?;
                }
            }
        }
        Ok(())
    }

    /// A whole field block: decode it (always, to keep HPACK's tables in
    /// step, RFC 7541 §2.2), then open a stream or take trailers.
    fn http2_block(&mut self, svc: &mut Services, h2: &mut Http2) -> Result<(), ConnError> {
        let mut fields = std::mem::take(&mut h2.fields);
        fields.clear();
        let decoded = h2.decode_block(svc.trace.is_some(), &mut fields);
        let result = match decoded {
            Ok(()) => self.http2_fields(svc, h2, &fields),
            Err(hpack::Error::HeaderListTooLarge) => {
                Err(conn_error(ErrorCode::EnhanceYourCalm, "a header list past SETTINGS_MAX_HEADER_LIST_SIZE"))
            }
            Err(e) => Err(conn_error(ErrorCode::CompressionError, format!("HPACK: {}", e.reason()))),
        };
        h2.fields = fields;
        result
    }

    /// A field block's fields, decoded: a new stream's request, or trailers.
    fn http2_fields(&mut self, svc: &mut Services, h2: &mut Http2, fields: &FieldList) -> Result<(), ConnError> {
        let id = h2.block_stream;
        h2.block.clear();
        // An id above every earlier one opens a stream (§5.1.1); only
        // another can be an open stream's trailers, so only then is the
        // table searched.
        if !h2.idle(id)
            && let Some(st) = h2.streams.get_mut(&id)
        {
            if st.remote_closed {
                // §5.1: the client ended this stream already.
                h2.reset(id, ErrorCode::StreamClosed);
            } else if let Err(why) = trailers(fields, h2.block_end_stream, st) {
                self.trace_fmt(svc, format_args!("h2: stream {id} malformed trailers: {why}"));
                h2.reset(id, ErrorCode::ProtocolError);
            } else {
                st.remote_closed = true;
                if let Some(sec) = st.secondary.as_mut() {
                    // The trailers end the body (they are not passed on).
                    sec.end_body();
                }
                if st.body.is_none() && st.secondary.is_none() {
                    h2.remove_stream(id);
                }
            }
            return Ok(());
        }
        if id.is_multiple_of(2) {
            return Err(conn_error(ErrorCode::ProtocolError, "a client stream with an even id (RFC 9113 §5.1.1)"));
        }
        if !h2.idle(id) {
            if h2.reset_lately(id) {
                // §5.1: trailers sent before the client saw our RST_STREAM.
                return Ok(());
            }
            if h2.never_opened(id) {
                return Err(conn_error(ErrorCode::ProtocolError, "a stream id below the last one (RFC 9113 §5.1.1)"));
            }
            return Err(conn_error(ErrorCode::StreamClosed, "HEADERS on a closed stream (RFC 9113 §5.1)"));
        }
        h2.open_stream(id);
        if h2.goaway {
            // After GOAWAY new streams are ignored (§6.8).
            return Ok(());
        }
        if h2.streams.len() >= MAX_CONCURRENT_STREAMS as usize {
            // §5.1.2: refused, so the client may retry it.
            h2.reset(id, ErrorCode::RefusedStream);
            return Ok(());
        }
        self.http2_request(svc, h2, id, fields);
        Ok(())
    }
}
