//! HTTP/2 (RFC 9113) on one connection: many requests at once, each a
//! stream, over the same transport as HTTP/1.1.
//!
//! A connection becomes HTTP/2 in one of two ways (`--http2`): on TLS, when
//! the client and wired agreed on `h2` by ALPN during the handshake (§3.2);
//! on a plain listener, when the client's first bytes are the connection
//! preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, which is how a client with
//! prior knowledge starts (§3.3; `curl --http2-prior-knowledge`, h2load).
//! Either way the client's preface comes first, then frames both ways.
//!
//! What this phase does with them, in the order a request meets it:
//!
//! 1. Bytes are read into the connection's input buffer and cut into frames
//!    by `wired_parser::http2::FrameDecoder`, which checks every rule one
//!    frame can break.
//! 2. A HEADERS frame (and its CONTINUATIONs) opens a stream; its field
//!    block is decoded by HPACK (`wired_parser::http2::hpack::Decoder`),
//!    checked by the rules of §8.2–8.3 ([`request_view`]), and handed to the
//!    same handlers HTTP/1.1 uses, as a `wired_parser::Request` of version
//!    `Http2`. A handler's `Reply` comes back; its fields are the ones an
//!    HTTP/1.1 response would carry (`write.rs::response_fields`), encoded by
//!    HPACK into HEADERS, and its body is queued for DATA frames.
//! 3. DATA goes out as the flow-control windows allow (§5.2, §6.9): the
//!    connection's and each stream's, opened by the client's WINDOW_UPDATE
//!    frames. Streams with data take turns, a frame each, so one large file
//!    does not hold back a page's small ones. File bodies are read in
//!    frame-sized pieces (`pread`) only when a frame can be sent, so a
//!    client that never opens its window costs no more than the buffer it
//!    has not read.
//! 4. SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and GOAWAY are answered or
//!    applied as they come (§6).
//!
//! Requests for CGI, FastCGI, a proxied application or a WebSocket are not
//! carried over HTTP/2 yet: their streams are reset with HTTP_1_1_REQUIRED
//! (§7), which tells a client (curl, browsers) to send that request again
//! over HTTP/1.1.

use std::collections::{BTreeMap, VecDeque};
use std::io::ErrorKind;

use wired_parser::http2::hpack::{self, OwnedField};
use wired_parser::http2::{
    self as h2, Decoded, ErrorCode, FrameDecoder, Payload, Setting, SettingId, data_header, encode_field_block,
    encode_goaway, encode_ping, encode_rst_stream, encode_settings, encode_settings_ack, encode_window_update, preface,
};
use wired_parser::{Body as ReqBody, EMPTY_HEADER, Header, Method, Request, Version};

use super::{Conn, Phase, Step};
use crate::handler::Action;
use crate::response::{Body, FileSlice, Part};
use crate::services::Services;

/// Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS,
/// §6.5.2): beyond it a new stream is refused (§5.1.2). 100 is the value
/// RFC 9113 recommends as a minimum and what nginx and h2o announce.
const MAX_CONCURRENT_STREAMS: u32 = 100;

/// Frames queued but not yet sent, in bytes, above which the connection
/// stops reading: a client that sends requests or PINGs without reading
/// the answers is slowed by TCP, not buffered for (§10.5).
const HIGH_WATER: usize = 256 * 1024;

/// The largest DATA payload sent: the frame size every peer accepts
/// (§4.2); larger frames would need the peer's SETTINGS_MAX_FRAME_SIZE and
/// save little.
const DATA_FRAME: usize = 16 * 1024;

/// Streams the client may reset for each request it lets finish before
/// the connection is closed: the "rapid reset" attack (CVE-2023-44487)
/// opens and cancels streams to make a server start work it never sends.
const RESETS_ALLOWED: u32 = 100;

/// The largest window §6.9.1 allows.
const MAX_WINDOW: i64 = (1 << 31) - 1;

/// Streams wired reset lately, remembered so that the frames the client
/// sent before it saw the RST_STREAM are ignored (§5.1, "closed"), not
/// answered as errors. Older ones get STREAM_CLOSED, which is also allowed.
const RESETS_REMEMBERED: usize = 64;

/// Runs of stream ids the client skipped, remembered to tell a stream that
/// never opened (§5.1.1: PROTOCOL_ERROR) from one that closed (§5.1:
/// STREAM_CLOSED). Both end the connection; only the code differs, so a
/// few are kept, not one per stream.
const SKIPS_REMEMBERED: usize = 32;

/// One HTTP/2 connection's state.
#[derive(Debug)]
pub struct Http2 {
    frames: FrameDecoder,
    hpack_in: hpack::Decoder,
    hpack_out: hpack::Encoder,
    /// The client's 24-byte preface has been read.
    preface_read: bool,
    /// The first frame after it, which must be SETTINGS (§3.4), has come.
    settings_seen: bool,
    /// The field block being gathered from HEADERS and CONTINUATION frames,
    /// its stream, and whether its HEADERS had END_STREAM.
    block: Vec<u8>,
    block_stream: u32,
    block_end_stream: bool,
    /// Open streams by id.
    streams: BTreeMap<u32, Stream>,
    /// Streams with DATA to send, in turn.
    ready: VecDeque<u32>,
    /// The highest stream id the client has opened (§5.1.1: ids only grow).
    last_stream: u32,
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE, for new streams.
    peer_initial_window: i64,
    /// The client's SETTINGS_MAX_FRAME_SIZE.
    peer_max_frame: u32,
    /// The connection's send window (§6.9.1).
    send_window: i64,
    /// How much more the client may send on the connection before we
    /// replenish it.
    recv_window: i64,
    /// Frames to send, how much of them has gone, and how much `--trace`
    /// has shown.
    out: Vec<u8>,
    sent: usize,
    traced: usize,
    /// GOAWAY has been queued: no new streams, close once the rest is done.
    goaway: bool,
    /// The client sent GOAWAY: close once the open streams are done. Kept
    /// apart from `goaway`, so that a later error still sends ours (§5.4.1).
    peer_goaway: bool,
    /// The streams wired reset lately ([`RESETS_REMEMBERED`]).
    reset_sent: VecDeque<u32>,
    /// Runs of ids the client skipped, first and last ([`SKIPS_REMEMBERED`]).
    skipped: VecDeque<(u32, u32)>,
    /// Close once `out` is sent (a connection error's GOAWAY).
    close_after_flush: bool,
    /// Responses sent whole, and streams the client reset before theirs
    /// was (the rapid-reset count).
    answered: u32,
    resets: u32,
}

/// One stream (§5.1): open, or half-closed (remote) once the client's
/// END_STREAM came.
#[derive(Debug)]
struct Stream {
    /// Its send window (§6.9.1): the client's initial window, moved by its
    /// WINDOW_UPDATEs and by SETTINGS changes (§6.9.2).
    window: i64,
    /// The response body still to send, if any.
    body: Option<Cursor>,
    /// In `ready`.
    queued: bool,
    /// The client has sent END_STREAM.
    remote_closed: bool,
    /// The request's content-length, and the DATA received (§8.1.1).
    expected: Option<u64>,
    received: u64,
}

/// A response body being sent, a frame at a time.
#[derive(Debug)]
struct Cursor {
    parts: VecDeque<Part>,
    /// How far into the front part.
    offset: usize,
}

impl Cursor {
    fn new(body: Body) -> Cursor {
        let parts: VecDeque<Part> = match body {
            Body::Empty => VecDeque::new(),
            Body::Static(b) => VecDeque::from([Part::Bytes(b.to_vec())]),
            Body::Owned(v) => VecDeque::from([Part::Bytes(v)]),
            Body::File(f) => VecDeque::from([Part::File(f)]),
            Body::Parts(p) => p.into(),
        };
        Cursor { parts, offset: 0 }
    }

    fn is_done(&self) -> bool {
        self.parts.is_empty()
    }

    /// Append up to `max` bytes of the body to `out`.
    fn fill(&mut self, max: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut n = 0;
        while n < max {
            let Some(front) = self.parts.front_mut() else { break };
            let took = match front {
                Part::Bytes(b) => {
                    let piece = b.get(self.offset..).unwrap_or_default();
                    let piece = piece.get(..(max - n).min(piece.len())).unwrap_or_default();
                    out.extend_from_slice(piece);
                    self.offset += piece.len();
                    let done = self.offset >= b.len();
                    (piece.len(), done)
                }
                Part::File(f) => {
                    let took = read_file(f, max - n, out)?;
                    (took, f.len == 0)
                }
            };
            n += took.0;
            if took.1 {
                self.parts.pop_front();
                self.offset = 0;
            } else if took.0 == 0 {
                break;
            }
        }
        Ok(n)
    }
}

/// Read up to `max` bytes of a file slice onto `out` (from memory when the
/// file is held there), advancing the slice.
fn read_file(f: &mut FileSlice, max: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let want = usize::try_from(f.len).unwrap_or(usize::MAX).min(max);
    if want == 0 {
        return Ok(0);
    }
    if let Some(bytes) = f.in_memory() {
        let piece = bytes.get(..want).unwrap_or_default();
        out.extend_from_slice(piece);
        let n = piece.len();
        f.advance(n);
        return Ok(n);
    }
    let start = out.len();
    out.resize(start + want, 0);
    let got = std::os::unix::fs::FileExt::read_at(&*f.file, out.get_mut(start..).unwrap_or_default(), f.offset);
    let got = match got {
        Ok(n) => n,
        Err(e) => {
            out.truncate(start);
            return Err(e);
        }
    };
    out.truncate(start + got);
    if got == 0 {
        // The file shrank after its length was announced.
        return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "file shrank while being sent"));
    }
    f.advance(got);
    Ok(got)
}

/// Why the connection ends with a GOAWAY (a connection error, §5.4.1).
struct ConnError {
    code: ErrorCode,
    why: String,
}

fn conn_error(code: ErrorCode, why: impl Into<String>) -> ConnError {
    ConnError { code, why: why.into() }
}

impl Http2 {
    /// A connection whose client has not yet sent its preface; our
    /// SETTINGS are queued, to go out first (§3.4: the server's preface).
    pub fn new(max_header_list: usize) -> Box<Http2> {
        let mut out = Vec::with_capacity(4096);
        encode_settings(
            &mut out,
            &[
                Setting { id: SettingId::MaxConcurrentStreams, value: MAX_CONCURRENT_STREAMS },
                Setting { id: SettingId::MaxHeaderListSize, value: u32::try_from(max_header_list).unwrap_or(u32::MAX) },
                // §8.4: a server may not push unless allowed; we never do,
                // and say so for clients that look.
                Setting { id: SettingId::EnablePush, value: 0 },
            ],
        );
        let mut hpack_in = hpack::Decoder::new();
        hpack_in.set_max_header_list_size(u32::try_from(max_header_list).unwrap_or(u32::MAX));
        Box::new(Http2 {
            frames: FrameDecoder::new(),
            hpack_in,
            hpack_out: hpack::Encoder::new(),
            preface_read: false,
            settings_seen: false,
            block: Vec::new(),
            block_stream: 0,
            block_end_stream: false,
            streams: BTreeMap::new(),
            ready: VecDeque::new(),
            last_stream: 0,
            peer_initial_window: i64::from(h2::settings::DEFAULT_WINDOW_SIZE),
            peer_max_frame: h2::settings::MIN_MAX_FRAME_SIZE,
            send_window: i64::from(h2::settings::DEFAULT_WINDOW_SIZE),
            recv_window: i64::from(h2::settings::DEFAULT_WINDOW_SIZE),
            out,
            sent: 0,
            traced: 0,
            goaway: false,
            peer_goaway: false,
            reset_sent: VecDeque::new(),
            skipped: VecDeque::new(),
            close_after_flush: false,
            answered: 0,
            resets: 0,
        })
    }

    fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Queue RST_STREAM and forget the stream (§5.4.2): nothing more is
    /// sent on it (§5.1, "closed").
    fn reset(&mut self, stream: u32, code: ErrorCode) {
        encode_rst_stream(&mut self.out, stream, code);
        // (Its place in `ready`, if any, is skipped by `http2_data`.)
        self.streams.remove(&stream);
        if self.reset_sent.len() == RESETS_REMEMBERED {
            self.reset_sent.pop_front();
        }
        self.reset_sent.push_back(stream);
    }

    /// Wired reset this stream lately: what the client sent on it before
    /// it knew is ignored (§5.1, "closed").
    fn reset_lately(&self, stream: u32) -> bool {
        self.reset_sent.contains(&stream)
    }

    /// A HEADERS opens `stream`: the ids it skips are closed without ever
    /// having been open (§5.1.1).
    fn open_stream(&mut self, stream: u32) {
        let next = if self.last_stream == 0 { 1 } else { self.last_stream + 2 };
        if stream > next {
            if self.skipped.len() == SKIPS_REMEMBERED {
                self.skipped.pop_front();
            }
            self.skipped.push_back((next, stream - 2));
        }
        self.last_stream = stream;
    }

    /// The client skipped this id, as far as we remember.
    fn never_opened(&self, stream: u32) -> bool {
        self.skipped.iter().any(|&(first, last)| (first..=last).contains(&stream))
    }

    /// Queue GOAWAY naming the last stream we will answer (§6.8).
    fn go_away(&mut self, code: ErrorCode, debug: &str) {
        if !self.goaway {
            self.goaway = true;
            encode_goaway(&mut self.out, self.last_stream, code, debug.as_bytes());
        }
    }

    /// The stream is idle: never opened (§5.1), so a frame on it other
    /// than HEADERS or PRIORITY is a connection error.
    fn idle(&self, stream: u32) -> bool {
        stream > self.last_stream
    }
}

impl Conn {
    /// Become an HTTP/2 connection: by ALPN `h2`, or because the client's
    /// first bytes are the preface (still in the input buffer).
    pub(super) fn start_http2(&mut self, slot: usize, svc: &mut Services) -> Step {
        self.trace_note(svc, "HTTP/2: the client speaks h2 (RFC 9113 §3); our SETTINGS go first");
        self.h2 = Some(Http2::new(svc.config.limits.max_head_bytes));
        self.phase = Phase::Http2;
        self.nodelay();
        self.set_deadline(slot, svc, svc.config.head_timeout);
        Step::Continue
    }

    /// Whether this connection speaks HTTP/2.
    pub fn is_http2(&self) -> bool {
        matches!(self.phase, Phase::Http2)
    }

    /// The server is stopping: GOAWAY with the last stream it will answer
    /// (§6.8), so the client sends nothing more here and retries elsewhere.
    pub(super) fn http2_going_away(&mut self) {
        if let Some(h2) = self.h2.as_mut() {
            h2.go_away(ErrorCode::NoError, "server shutting down");
        }
    }

    /// The phase function: read and answer frames, send what the windows
    /// allow, until the socket would block both ways.
    pub(super) fn run_http2(&mut self, slot: usize, svc: &mut Services) -> Step {
        let Some(mut h2) = self.h2.take() else { return self.close_because("HTTP/2 state lost") };
        let step = self.http2_turn(slot, svc, &mut h2);
        self.h2 = Some(h2);
        step
    }

    fn http2_turn(&mut self, slot: usize, svc: &mut Services, h2: &mut Http2) -> Step {
        if svc.draining {
            h2.go_away(ErrorCode::NoError, "server shutting down");
        }
        for _ in 0..64 {
            let mut progress = false;
            // Read while there is room to answer.
            if h2.pending() < HIGH_WATER && !h2.close_after_flush {
                match self.fill(svc) {
                    Ok(0) => return self.close_because("the client closed the HTTP/2 connection"),
                    Ok(_) => progress = true,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => progress = true,
                    Err(e) if e.kind() == ErrorKind::OutOfMemory => {}
                    Err(_) => return self.close_because("recvfrom() failed: the connection was reset"),
                }
            }
            if let Err(e) = self.http2_frames(svc, h2) {
                log::debug!("HTTP/2 connection error {}: {}", e.code.name(), e.why);
                self.trace_fmt(svc, format_args!("HTTP/2 connection error {}: {}", e.code.name(), e.why));
                h2.go_away(e.code, &e.why);
                h2.close_after_flush = true;
            }
            self.http2_data(h2);
            if svc.trace.is_some() {
                self.trace_http2_out(svc, h2);
            }
            match self.http2_flush(h2) {
                Ok(n) if n > 0 => progress = true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return self.close_because("a write failed: the client went away"),
            }
            let flushed = h2.pending() == 0;
            if flushed && (h2.close_after_flush || ((h2.goaway || h2.peer_goaway) && h2.streams.is_empty())) {
                return self.close_because("HTTP/2: GOAWAY sent and every stream done");
            }
            if !progress {
                // Waiting: for the client to read (or open a window), or
                // for its next request.
                if !flushed || !h2.streams.is_empty() {
                    self.set_deadline(slot, svc, svc.config.send_timeout);
                } else {
                    self.set_deadline(slot, svc, svc.config.keepalive_timeout);
                }
                self.release_idle_buffers(svc);
                return Step::Wait;
            }
        }
        Step::Yield
    }

    /// Send queued frames until done or the socket is full.
    fn http2_flush(&mut self, h2: &mut Http2) -> std::io::Result<usize> {
        let mut total = 0;
        while h2.sent < h2.out.len() {
            let n = self.io.send(h2.out.get(h2.sent..).unwrap_or_default(), false)?;
            if n == 0 {
                break;
            }
            h2.sent += n;
            total += n;
        }
        // (`--trace` has shown every queued frame before this flush.)
        if h2.sent == h2.out.len() {
            h2.out.clear();
            h2.sent = 0;
            h2.traced = 0;
        }
        if !self.io.flush()? {
            return Err(ErrorKind::WouldBlock.into());
        }
        Ok(total)
    }

    /// `--trace`: one line for each frame queued since the last call.
    fn trace_http2_out(&mut self, svc: &mut Services, h2: &mut Http2) {
        let mut reader = FrameDecoder::new();
        reader.set_max_frame_size(h2::settings::MAX_MAX_FRAME_SIZE);
        while let Some(rest) = h2.out.get(h2.traced..).filter(|r| !r.is_empty()) {
            match reader.decode(rest) {
                Ok(Decoded::Frame { frame, consumed }) => {
                    self.trace_fmt(svc, format_args!("h2 send: {frame}"));
                    h2.traced += consumed;
                }
                _ => {
                    // Not a whole frame by itself (a CONTINUATION is read
                    // only after its HEADERS): counted, not shown.
                    let len = rest
                        .get(..3)
                        .map_or(0, |l| (usize::from(l[0]) << 16) | (usize::from(l[1]) << 8) | usize::from(l[2]));
                    h2.traced = (h2.traced + h2::HEADER_LEN + len).min(h2.out.len());
                }
            }
        }
    }

    /// Handle every whole frame in the input buffer.
    fn http2_frames(&mut self, svc: &mut Services, h2: &mut Http2) -> Result<(), ConnError> {
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
                                if st.window > 0 && st.body.is_some() && !st.queued {
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
                    } else if st.body.is_some() && !st.queued {
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
                if h2.streams.remove(&id).is_some_and(|st| st.body.is_some()) {
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
                // The body is not wanted by any handler HTTP/2 serves yet:
                // the window is given back at once, so the client can finish.
                if n > 0 {
                    encode_window_update(&mut h2.out, 0, n as u32);
                    h2.recv_window += n;
                }
                let idle = h2.idle(id);
                let reset_lately = h2.reset_lately(id);
                match h2.streams.get_mut(&id) {
                    Some(st) if !st.remote_closed => {
                        st.received += data.len() as u64;
                        if st.expected.is_some_and(|e| st.received > e || (end_stream && st.received != e)) {
                            // §8.1.1: content-length must match the DATA.
                            h2.reset(id, ErrorCode::ProtocolError);
                        } else if end_stream {
                            st.remote_closed = true;
                            if st.body.is_none() {
                                h2.streams.remove(&id);
                            }
                        } else if n > 0 {
                            encode_window_update(&mut h2.out, id, n as u32);
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
        let id = h2.block_stream;
        let fields = match h2.hpack_in.decode_to_vec(&h2.block) {
            Ok(f) => f,
            Err(hpack::Error::HeaderListTooLarge) => {
                return Err(conn_error(ErrorCode::EnhanceYourCalm, "a header list past SETTINGS_MAX_HEADER_LIST_SIZE"));
            }
            Err(e) => return Err(conn_error(ErrorCode::CompressionError, format!("HPACK: {}", e.reason()))),
        };
        h2.block.clear();
        if let Some(st) = h2.streams.get_mut(&id) {
            if st.remote_closed {
                // §5.1: the client ended this stream already.
                h2.reset(id, ErrorCode::StreamClosed);
            } else if let Err(why) = trailers(&fields, h2.block_end_stream, st) {
                self.trace_fmt(svc, format_args!("h2: stream {id} malformed trailers: {why}"));
                h2.reset(id, ErrorCode::ProtocolError);
            } else {
                st.remote_closed = true;
                if st.body.is_none() {
                    h2.streams.remove(&id);
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
        self.http2_request(svc, h2, id, &fields);
        Ok(())
    }

    /// Answer a request.
    fn http2_request(&mut self, svc: &mut Services, h2: &mut Http2, id: u32, fields: &[OwnedField]) {
        let end_stream = h2.block_end_stream;
        let mut headers = [EMPTY_HEADER; super::HEADER_SLOTS];
        let req = match request_view(fields, &mut headers, end_stream) {
            Ok(r) => r,
            Err(why) => {
                // §8.1.1: a malformed request is a stream error.
                self.trace_fmt(svc, format_args!("h2: stream {id} malformed: {why}"));
                h2.reset(id, ErrorCode::ProtocolError);
                return;
            }
        };
        self.requests += 1;
        let expected = match req.body {
            ReqBody::Length(n) => Some(n),
            _ => None,
        };
        let stream = Stream {
            window: h2.peer_initial_window,
            body: None,
            queued: false,
            remote_closed: end_stream,
            expected,
            received: 0,
        };
        if svc.trace.is_some() {
            self.trace_fmt(svc, format_args!("h2: stream {id}: {} {}", req.method.as_str(), req.target));
            for f in fields {
                let (name, value) = (String::from_utf8_lossy(&f.name), String::from_utf8_lossy(&f.value));
                let never = if f.never_indexed { "  (never indexed, RFC 7541 §6.2.3)" } else { "" };
                self.trace_fmt(svc, format_args!("    | {name}: {value}{never}"));
            }
        }
        let head_only = req.method == Method::Head;
        let (reply, applied) = if req.method == Method::Connect {
            // No tunnels here (RFC 9113 §8.5).
            (svc.handlers.error_reply(405), None)
        } else if let ReqBody::Length(n) = req.body
            && n > svc.config.max_body_bytes
        {
            // RFC 9110 §15.5.14.
            (svc.handlers.error_reply(413), None)
        } else if svc.config.redirect_https
            && self.io.session().is_none()
            && let Some(port) = svc.config.listen_tls.first().map(|a| a.port())
        {
            (svc.handlers.redirect_https(&req, self.local, port), None)
        } else {
            let d = svc.handlers.dispatch(&req, svc.clock.secs(), self.peer, self.local);
            match d.action {
                Action::Reply(reply) => (reply, d.applied),
                _ => {
                    // Not yet over HTTP/2: the client asks again over HTTP/1.1 (§7).
                    self.trace_fmt(
                        svc,
                        format_args!("h2: stream {id}: answered over HTTP/1.1 only: HTTP_1_1_REQUIRED"),
                    );
                    h2.reset(id, ErrorCode::Http11Required);
                    return;
                }
            }
        };
        let status = reply.status;
        let no_body = crate::response::bodiless(status, head_only);
        let len = reply.body.len();
        self.log_access(svc, &req, status, if no_body { 0 } else { len });
        // The fields an HTTP/1.1 response would carry, as HPACK wants them:
        // lower-case names (§8.2), no connection-specific ones (§8.2.2).
        let mut lines = std::mem::take(&mut svc.head);
        lines.clear();
        super::write::response_fields(svc, applied.as_deref(), self.io.session().is_some(), status, &mut lines);
        let mut list: Vec<(Vec<u8>, Vec<u8>)> = vec![(b":status".to_vec(), status.to_string().into_bytes())];
        for (name, value) in crate::response::field_lines(&lines) {
            let lower = name.to_ascii_lowercase();
            if matches!(
                lower.as_slice(),
                b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade"
            ) {
                continue;
            }
            list.push((lower, value.to_vec()));
        }
        svc.head = lines;
        if !(status < 200 || status == 204 || status == 304) {
            // RFC 9110 §8.6, as for HTTP/1.1.
            list.push((b"content-length".to_vec(), len.to_string().into_bytes()));
        }
        let mut block = Vec::with_capacity(256);
        h2.hpack_out.encode(list.iter().map(|(n, v)| (n.as_slice(), v.as_slice())), &mut block);
        let ends = no_body || len == 0;
        encode_field_block(&mut h2.out, id, &block, ends, h2.peer_max_frame);
        if svc.trace.is_some() {
            self.trace_fmt(svc, format_args!("h2: stream {id}: {status}, HEADERS of {} bytes (HPACK)", block.len()));
        }
        if ends {
            h2.answered += 1;
            if !end_stream {
                // §8.1: the response is complete; the client need send no more.
                h2.reset(id, ErrorCode::NoError);
            }
            return;
        }
        let mut stream = stream;
        stream.body = Some(Cursor::new(reply.body));
        stream.queued = true;
        h2.streams.insert(id, stream);
        h2.ready.push_back(id);
    }

    /// Queue DATA frames while the windows and the buffer allow, a frame
    /// per ready stream in turn.
    fn http2_data(&mut self, h2: &mut Http2) {
        while h2.pending() < HIGH_WATER && h2.send_window > 0 {
            let Some(id) = h2.ready.pop_front() else { break };
            let Some(st) = h2.streams.get_mut(&id) else { continue };
            st.queued = false;
            let Some(cursor) = st.body.as_mut() else { continue };
            if st.window <= 0 {
                // Back in line when its WINDOW_UPDATE comes.
                continue;
            }
            let max = (h2.peer_max_frame as usize).min(DATA_FRAME).min(st.window as usize).min(h2.send_window as usize);
            let at = h2.out.len();
            h2.out.extend_from_slice(&[0; h2::HEADER_LEN]);
            let n = match cursor.fill(max, &mut h2.out) {
                Ok(n) => n,
                Err(e) => {
                    log::warn!("HTTP/2 stream {id}: reading the body: {e}");
                    h2.out.truncate(at);
                    h2.reset(id, ErrorCode::InternalError);
                    continue;
                }
            };
            let done = cursor.is_done();
            let header = data_header(id, n as u32, done);
            if let Some(slot) = h2.out.get_mut(at..at + h2::HEADER_LEN) {
                slot.copy_from_slice(&header);
            }
            st.window -= n as i64;
            h2.send_window -= n as i64;
            if done {
                h2.answered += 1;
                if st.remote_closed {
                    h2.streams.remove(&id);
                } else {
                    h2.reset(id, ErrorCode::NoError);
                }
            } else {
                st.queued = true;
                h2.ready.push_back(id);
            }
        }
    }
}

/// Check a request's fields by RFC 9113 §8.2–8.3 and make the request
/// view the handlers take. `end_stream`: the HEADERS frame ended the
/// stream (no body).
pub fn request_view<'f, 'h>(
    fields: &'f [OwnedField],
    headers: &'h mut [Header<'f>],
    end_stream: bool,
) -> Result<Request<'f, 'h>, &'static str> {
    let (mut method, mut scheme, mut path, mut authority) = (None, None, None, None);
    let mut regular = false;
    let mut count = 0;
    let mut host = None;
    let mut length = None;
    for f in fields {
        let name = f.name.as_slice();
        let value = f.value.as_slice();
        check_value(value)?;
        if let Some(pseudo) = name.strip_prefix(b":") {
            // §8.3: pseudo-headers first, each once, only the request ones.
            if regular {
                return Err("a pseudo-header after a regular field (RFC 9113 §8.3)");
            }
            let slot = match pseudo {
                b"method" => &mut method,
                b"scheme" => &mut scheme,
                b"path" => &mut path,
                b"authority" => &mut authority,
                _ => return Err("an unknown or response pseudo-header (RFC 9113 §8.3)"),
            };
            if slot.replace(value).is_some() {
                return Err("a pseudo-header twice (RFC 9113 §8.3)");
            }
            continue;
        }
        regular = true;
        check_regular(name, value)?;
        if name == b"host" {
            host = Some(value);
        }
        if name == b"content-length" {
            let n = std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok());
            match (n, length) {
                (Some(n), None) => length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => return Err("an invalid content-length (RFC 9110 §8.6)"),
            }
        }
        let name = std::str::from_utf8(name).map_err(|_| "a field name not a token")?;
        let Some(slot) = headers.get_mut(count) else { return Err("too many fields") };
        *slot = Header { name, value };
        count += 1;
    }
    let method = method.ok_or("no :method (RFC 9113 §8.3.1)")?;
    let method = Method::from_token(std::str::from_utf8(method).map_err(|_| "a :method not a token")?);
    let target = if method == Method::Connect {
        // §8.5: CONNECT names only an authority.
        if scheme.is_some() || path.is_some() {
            return Err("CONNECT with :scheme or :path (RFC 9113 §8.5)");
        }
        authority.ok_or("CONNECT without :authority (RFC 9113 §8.5)")?
    } else {
        if scheme.is_none() {
            return Err("no :scheme (RFC 9113 §8.3.1)");
        }
        let p = path.ok_or("no :path (RFC 9113 §8.3.1)")?;
        if p.is_empty() {
            return Err("an empty :path (RFC 9113 §8.3.1)");
        }
        p
    };
    if !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err("a :path with bytes outside VCHAR (RFC 9113 §8.3.1)");
    }
    let target = std::str::from_utf8(target).map_err(|_| "a :path not ASCII")?;
    // §8.3.1: :authority and Host must agree when both are sent.
    if let (Some(a), Some(h)) = (authority, host)
        && !a.eq_ignore_ascii_case(h)
    {
        return Err(":authority and Host differ (RFC 9113 §8.3.1)");
    }
    if end_stream && length.is_some_and(|n| n != 0) {
        return Err("a content-length but no DATA (RFC 9113 §8.1.1)");
    }
    let body = if end_stream {
        ReqBody::None
    } else {
        match length {
            Some(n) => ReqBody::Length(n),
            // A body whose length is known only at its end, like chunked.
            None => ReqBody::Chunked,
        }
    };
    let headers: &'h [Header<'f>] = headers;
    let headers = headers.get(..count).unwrap_or_default();
    Ok(Request {
        method,
        target,
        version: Version::Http2,
        headers,
        head_len: 0,
        body,
        keep_alive: true,
        expect_continue: false,
        upgrade: None,
        host: authority.or(host),
    })
}

/// Check a trailer section (§8.1): it ends the stream, holds no
/// pseudo-header, obeys §8.2 like any field, and the DATA before it add up
/// to the request's content-length (§8.1.1).
fn trailers(fields: &[OwnedField], end_stream: bool, st: &Stream) -> Result<(), &'static str> {
    if !end_stream {
        return Err("trailers without END_STREAM (RFC 9113 §8.1)");
    }
    for f in fields {
        check_value(&f.value)?;
        if f.name.starts_with(b":") {
            return Err("a pseudo-header in trailers (RFC 9113 §8.1)");
        }
        check_regular(&f.name, &f.value)?;
    }
    if st.expected.is_some_and(|e| e != st.received) {
        return Err("content-length differs from the DATA received (RFC 9113 §8.1.1)");
    }
    Ok(())
}

/// §8.2.1: no NUL, CR or LF anywhere in a value, nor whitespace at its ends.
fn check_value(value: &[u8]) -> Result<(), &'static str> {
    if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n')
        || value.first().is_some_and(|b| *b == b' ' || *b == b'\t')
        || value.last().is_some_and(|b| *b == b' ' || *b == b'\t')
    {
        return Err("a field value with NUL, CR, LF or surrounding whitespace (RFC 9113 §8.2.1)");
    }
    Ok(())
}

/// A regular (not pseudo) field's name, by §8.2 and §8.2.2.
fn check_regular(name: &[u8], value: &[u8]) -> Result<(), &'static str> {
    // §8.2: names are lower case tokens.
    if name.is_empty() || !name.iter().all(|&b| is_token(b) && !b.is_ascii_uppercase()) {
        return Err("a field name not a lower-case token (RFC 9113 §8.2)");
    }
    // §8.2.2: connection-specific fields are malformed; TE only "trailers".
    if matches!(name, b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade")
        || (name == b"te" && value != b"trailers")
    {
        return Err("a connection-specific field (RFC 9113 §8.2.2)");
    }
    Ok(())
}

/// RFC 9110 §5.6.2's tchar.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
