//! Frames a server sends (RFC 9113 §4.1, §6), appended to the caller's
//! `Vec<u8>` of bytes queued for the socket.
//!
//! DATA is the exception: [`data_header`] gives only the 9-byte header, in
//! an array, so the payload can go out from wherever it already is (a
//! file, with `sendfile`, behind the header) with no copy. A field block
//! that HPACK has encoded is cut into HEADERS and CONTINUATION frames no
//! longer than the peer's SETTINGS_MAX_FRAME_SIZE by [`encode_field_block`].
//! Nothing here pads: padding is a defence against length analysis (§10.7)
//! that wired does not offer, and §6.1 leaves it optional.
//!
//! Values that do not fit their fields (a stream above 2^31-1, a length
//! above 2^24-1, a window increment of 0) are the caller's bug, not the
//! peer's, and the functions panic on them rather than send a frame the
//! peer would misread.

use super::error::ErrorCode;
use super::frame::{FrameHeader, FrameType, HEADER_LEN, STREAM_MASK, flags};
use super::settings::{MAX_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE, SETTING_LEN, Setting};

impl FrameHeader {
    /// The header's 9 bytes (§4.1), with the reserved bit unset.
    ///
    /// # Panics
    ///
    /// If `len` does not fit in 24 bits or `stream` in 31.
    ///
    /// ```
    /// use wired_parser::http2::{FrameHeader, FrameType};
    /// let h = FrameHeader { len: 8, kind: FrameType::Ping, flags: 0x1, stream: 0 };
    /// assert_eq!(h.encode(), [0, 0, 8, 6, 1, 0, 0, 0, 0]);
    /// assert_eq!(FrameHeader::parse(&h.encode()), h);
    /// ```
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        assert!(self.len <= MAX_MAX_FRAME_SIZE, "frame length {} does not fit in 24 bits", self.len);
        assert!(self.stream <= STREAM_MASK, "stream {} does not fit in 31 bits", self.stream);
        let [_, l0, l1, l2] = self.len.to_be_bytes();
        let [s0, s1, s2, s3] = self.stream.to_be_bytes();
        [l0, l1, l2, self.kind.as_u8(), self.flags, s0, s1, s2, s3]
    }
}

/// Append a frame: its header, then `payload`, whose length the header
/// takes. The other functions here are this with the payload laid out.
///
/// # Panics
///
/// As [`FrameHeader::encode`].
pub fn encode_frame(out: &mut Vec<u8>, kind: FrameType, flags: u8, stream: u32, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&FrameHeader { len, kind, flags, stream }.encode());
    out.extend_from_slice(payload);
}

/// The header of a DATA frame (§6.1) whose `len` payload bytes the caller
/// sends after it. `len` must not exceed the peer's SETTINGS_MAX_FRAME_SIZE
/// (§4.2), nor the flow-control windows (§6.9.1).
///
/// # Panics
///
/// As [`FrameHeader::encode`].
///
/// ```
/// let head = wired_parser::http2::data_header(1, 5, true);
/// assert_eq!(head, [0, 0, 5, 0x0, 0x1, 0, 0, 0, 1]);
/// ```
pub fn data_header(stream: u32, len: u32, end_stream: bool) -> [u8; HEADER_LEN] {
    let flags = if end_stream { flags::END_STREAM } else { 0 };
    FrameHeader { len, kind: FrameType::Data, flags, stream }.encode()
}

/// Append a field block as a HEADERS frame (§6.2) and as many CONTINUATION
/// frames (§6.10) as it takes for no payload to exceed `max_frame_size`,
/// the peer's SETTINGS_MAX_FRAME_SIZE (clamped to the 2^14..2^24-1 range
/// §4.2 allows). END_STREAM goes on the HEADERS frame (§6.2: the
/// CONTINUATION frames are logically part of it), END_HEADERS on the last
/// frame. The frames must go out back to back: §4.3 forbids any other
/// frame between them.
///
/// # Panics
///
/// If `stream` is 0 or does not fit in 31 bits.
///
/// ```
/// use wired_parser::http2::encode_field_block;
/// let mut out = Vec::new();
/// encode_field_block(&mut out, 1, b"\x88", true, 16_384);
/// assert_eq!(out, b"\0\0\x01\x01\x05\0\0\0\x01\x88"); // END_STREAM | END_HEADERS
/// ```
pub fn encode_field_block(out: &mut Vec<u8>, stream: u32, block: &[u8], end_stream: bool, max_frame_size: u32) {
    assert!(stream != 0, "a field block belongs to a stream (§6.2)");
    let max = max_frame_size.clamp(MIN_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE) as usize;
    let mut pieces = block.chunks(max).peekable();
    let mut kind = FrameType::Headers;
    let mut flags = if end_stream { flags::END_STREAM } else { 0 };
    loop {
        let piece = pieces.next().unwrap_or_default();
        let last = pieces.peek().is_none();
        if last {
            flags |= flags::END_HEADERS;
        }
        encode_frame(out, kind, flags, stream, piece);
        if last {
            return;
        }
        kind = FrameType::Continuation;
        flags = 0;
    }
}

/// Append a SETTINGS frame (§6.5) carrying `settings`, in order. An empty
/// list is allowed: the server's preface may be an empty SETTINGS (§3.4).
///
/// # Panics
///
/// If the payload does not fit in 24 bits (over 2.7 million settings).
///
/// ```
/// use wired_parser::http2::{Setting, SettingId, encode_settings};
/// let mut out = Vec::new();
/// encode_settings(&mut out, &[Setting { id: SettingId::MaxConcurrentStreams, value: 100 }]);
/// assert_eq!(out, b"\0\0\x06\x04\0\0\0\0\0\0\x03\0\0\0\x64");
/// ```
pub fn encode_settings(out: &mut Vec<u8>, settings: &[Setting]) {
    let len = u32::try_from(settings.len() * SETTING_LEN).unwrap_or(u32::MAX);
    out.extend_from_slice(&FrameHeader { len, kind: FrameType::Settings, flags: 0, stream: 0 }.encode());
    for setting in settings {
        out.extend_from_slice(&setting.id.as_u16().to_be_bytes());
        out.extend_from_slice(&setting.value.to_be_bytes());
    }
}

/// Append the empty SETTINGS frame with ACK that acknowledges the peer's
/// settings once they are applied (§6.5.3).
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::http2::encode_settings_ack(&mut out);
/// assert_eq!(out, b"\0\0\0\x04\x01\0\0\0\0");
/// ```
pub fn encode_settings_ack(out: &mut Vec<u8>) {
    encode_frame(out, FrameType::Settings, flags::ACK, 0, &[]);
}

/// Append a PING frame (§6.7). A PING without ACK must be answered with
/// ACK and the same 8 bytes.
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::http2::encode_ping(&mut out, true, *b"12345678");
/// assert_eq!(out, b"\0\0\x08\x06\x01\0\0\0\x0012345678");
/// ```
pub fn encode_ping(out: &mut Vec<u8>, ack: bool, data: [u8; 8]) {
    encode_frame(out, FrameType::Ping, if ack { flags::ACK } else { 0 }, 0, &data);
}

/// Append a GOAWAY frame (§6.8): the highest stream of the peer's this
/// server acted on or may act on, why it is closing, and optional debug
/// bytes. §6.8 suggests a first GOAWAY with 2^31-1 and NO_ERROR for a
/// graceful shutdown. Keep `debug` short: the whole payload must fit the
/// peer's SETTINGS_MAX_FRAME_SIZE, 16,384 bytes unless it said more.
///
/// # Panics
///
/// If `last_stream` does not fit in 31 bits, or the payload in 24.
///
/// ```
/// use wired_parser::http2::{ErrorCode, encode_goaway};
/// let mut out = Vec::new();
/// encode_goaway(&mut out, 7, ErrorCode::ProtocolError, b"");
/// assert_eq!(out, b"\0\0\x08\x07\0\0\0\0\0\0\0\0\x07\0\0\0\x01");
/// ```
pub fn encode_goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode, debug: &[u8]) {
    assert!(last_stream <= STREAM_MASK, "stream {last_stream} does not fit in 31 bits");
    let len = u32::try_from(8 + debug.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&FrameHeader { len, kind: FrameType::GoAway, flags: 0, stream: 0 }.encode());
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&code.as_u32().to_be_bytes());
    out.extend_from_slice(debug);
}

/// Append a RST_STREAM frame (§6.4) ending `stream` with `code`.
///
/// # Panics
///
/// If `stream` is 0 or does not fit in 31 bits.
///
/// ```
/// use wired_parser::http2::{ErrorCode, encode_rst_stream};
/// let mut out = Vec::new();
/// encode_rst_stream(&mut out, 3, ErrorCode::Cancel);
/// assert_eq!(out, b"\0\0\x04\x03\0\0\0\0\x03\0\0\0\x08");
/// ```
pub fn encode_rst_stream(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    assert!(stream != 0, "RST_STREAM belongs to a stream (§6.4)");
    encode_frame(out, FrameType::RstStream, 0, stream, &code.as_u32().to_be_bytes());
}

/// Append a WINDOW_UPDATE frame (§6.9) granting `increment` more bytes on
/// `stream`, or on the whole connection for stream 0.
///
/// # Panics
///
/// If `increment` is 0 or above 2^31-1 (§6.9's legal range), or `stream`
/// does not fit in 31 bits.
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::http2::encode_window_update(&mut out, 0, 65_536);
/// assert_eq!(out, b"\0\0\x04\x08\0\0\0\0\0\0\x01\0\0");
/// ```
pub fn encode_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    assert!((1..=STREAM_MASK).contains(&increment), "window increment {increment} outside 1..=2^31-1 (§6.9)");
    encode_frame(out, FrameType::WindowUpdate, 0, stream, &increment.to_be_bytes());
}

#[cfg(test)]
mod tests {
    //! Each encoder's output read back by the decoder.

    use super::*;
    use crate::http2::frame::{Decoded, Frame, FrameDecoder, Payload};
    use crate::http2::settings::SettingId;

    /// Decode every frame in `wire`, which must hold whole frames only.
    fn decode_all(wire: &[u8], max_frame_size: u32) -> Vec<Frame<'_>> {
        let mut dec = FrameDecoder::new();
        dec.set_max_frame_size(max_frame_size);
        let (mut frames, mut pos) = (Vec::new(), 0);
        while pos < wire.len() {
            match dec.decode(&wire[pos..]) {
                Ok(Decoded::Frame { frame, consumed }) => {
                    frames.push(frame);
                    pos += consumed;
                }
                other => panic!("at {pos}: {other:?}"),
            }
        }
        frames
    }

    fn one(wire: &[u8]) -> Payload<'_> {
        match decode_all(wire, 16_384).as_slice() {
            [frame] => frame.payload,
            frames => panic!("{} frames", frames.len()),
        }
    }

    #[test]
    fn a_data_header_then_its_payload() {
        for (len, end_stream) in [(0, true), (5, false), (16_384, true)] {
            let body = vec![b'x'; len];
            let wire = [&data_header(9, len as u32, end_stream)[..], &body].concat();
            assert_eq!(one(&wire), Payload::Data { data: &body, end_stream });
        }
    }

    #[test]
    fn field_blocks_split_at_the_max_frame_size() {
        for (max, decoder_max) in [(16_384, 16_384), (20_000, 20_000), (0, 16_384), (u32::MAX, (1 << 24) - 1)] {
            for len in [0usize, 1, 16_383, 16_384, 16_385, 20_000, 32_768, 40_000, 70_001] {
                for end_stream in [false, true] {
                    let block: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                    let mut wire = Vec::new();
                    encode_field_block(&mut wire, 3, &block, end_stream, max);
                    let frames = decode_all(&wire, decoder_max);
                    let piece = decoder_max as usize;
                    assert_eq!(frames.len(), len.div_ceil(piece).max(1), "{len} bytes at {max}");
                    let mut joined = Vec::new();
                    for (i, frame) in frames.iter().enumerate() {
                        let last = i + 1 == frames.len();
                        assert_eq!(frame.stream(), 3);
                        let fragment = match frame.payload {
                            Payload::Headers { fragment, end_stream: es, end_headers } if i == 0 => {
                                assert_eq!((es, end_headers), (end_stream, last));
                                fragment
                            }
                            Payload::Continuation { fragment, end_headers } if i > 0 => {
                                assert_eq!(end_headers, last);
                                fragment
                            }
                            other => panic!("frame {i}: {other:?}"),
                        };
                        assert!(!fragment.is_empty() || len == 0, "no empty CONTINUATION");
                        joined.extend_from_slice(fragment);
                    }
                    assert_eq!(joined, block);
                }
            }
        }
    }

    #[test]
    fn control_frames_read_back() {
        let list = [
            Setting { id: SettingId::HeaderTableSize, value: 0 },
            Setting { id: SettingId::EnablePush, value: 0 },
            Setting { id: SettingId::MaxConcurrentStreams, value: 100 },
            Setting { id: SettingId::InitialWindowSize, value: (1 << 31) - 1 },
            Setting { id: SettingId::MaxFrameSize, value: (1 << 24) - 1 },
            Setting { id: SettingId::MaxHeaderListSize, value: 8192 },
        ];
        let mut wire = Vec::new();
        encode_settings(&mut wire, &list);
        let Payload::Settings { ack: false, settings } = one(&wire) else { panic!() };
        assert_eq!(settings.iter().collect::<Vec<_>>(), list);

        let mut wire = Vec::new();
        encode_settings_ack(&mut wire);
        assert!(matches!(one(&wire), Payload::Settings { ack: true, settings } if settings.is_empty()));

        for ack in [false, true] {
            let mut wire = Vec::new();
            encode_ping(&mut wire, ack, *b"pingpong");
            assert_eq!(one(&wire), Payload::Ping { ack, data: *b"pingpong" });
        }

        let mut wire = Vec::new();
        encode_goaway(&mut wire, (1 << 31) - 1, ErrorCode::NoError, b"bye");
        assert_eq!(one(&wire), Payload::GoAway { last_stream: (1 << 31) - 1, code: ErrorCode::NoError, debug: b"bye" });

        let mut wire = Vec::new();
        encode_rst_stream(&mut wire, 5, ErrorCode::Unknown(0x77));
        assert_eq!(one(&wire), Payload::RstStream { code: ErrorCode::Unknown(0x77) });

        for (stream, increment) in [(0, 1), (1, (1 << 31) - 1)] {
            let mut wire = Vec::new();
            encode_window_update(&mut wire, stream, increment);
            let frames = decode_all(&wire, 16_384);
            assert_eq!((frames[0].stream(), frames[0].payload), (stream, Payload::WindowUpdate { increment }));
        }

        let mut wire = Vec::new();
        encode_frame(&mut wire, FrameType::Unknown(0xee), 0x3, 9, b"ext");
        assert_eq!(one(&wire), Payload::Unknown { payload: b"ext" });
    }

    #[test]
    #[should_panic(expected = "window increment 0")]
    fn a_zero_increment_is_a_caller_bug() {
        encode_window_update(&mut Vec::new(), 1, 0);
    }

    #[test]
    #[should_panic(expected = "does not fit in 31 bits")]
    fn a_stream_past_31_bits_is_a_caller_bug() {
        encode_rst_stream(&mut Vec::new(), 1 << 31, ErrorCode::Cancel);
    }

    #[test]
    #[should_panic(expected = "does not fit in 24 bits")]
    fn a_length_past_24_bits_is_a_caller_bug() {
        data_header(1, 1 << 24, false);
    }
}
