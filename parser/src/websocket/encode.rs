//! Frames a server sends (RFC 6455 §5.1, §5.2): unmasked, so a frame is a
//! header followed by the payload exactly as it is.
//!
//! [`encode_header`] writes only the header, 2, 4 or 10 bytes, into the
//! caller's buffer: the payload then goes out straight from wherever it
//! already lies (a response buffer, a file), with no copy to put it behind
//! the header. [`header_len`] says how much room to leave in front of it.
//! Control frames are small (at most 127 bytes, §5.5) and are written
//! whole, by [`encode_control`] and [`encode_close`].

use super::{MAX_CONTROL_PAYLOAD, Opcode, close_code_is_valid};

/// How long the header of a server frame with a `len`-byte payload is:
/// 2 bytes up to 125, 4 up to 65535, else 10 (§5.2: the minimal form).
///
/// ```
/// use wired_parser::websocket::header_len;
/// assert_eq!([header_len(125), header_len(126), header_len(65535), header_len(65536)], [2, 4, 4, 10]);
/// ```
pub fn header_len(len: u64) -> usize {
    match len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

/// Write the header of an unmasked frame into the start of `out` and return
/// its length, or `None` if `out` is shorter than [`header_len`]`(len)` or
/// `len` does not fit in 63 bits (§5.2). The payload is the caller's to
/// send after it. Nothing here stops a fragmented control frame or an RSV1
/// bit without an extension: the server decides what it sends.
///
/// ```
/// use wired_parser::websocket::{Opcode, encode_header};
/// let mut out = [0; 10];
/// // RFC 6455 §5.7: a 256-byte binary message in a single unmasked frame.
/// assert_eq!(encode_header(&mut out, true, false, Opcode::Binary, 256), Some(4));
/// assert_eq!(out[..4], [0x82, 0x7E, 0x01, 0x00]);
/// assert_eq!(encode_header(&mut out, true, false, Opcode::Binary, 65536), Some(10));
/// assert_eq!(out, [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
/// ```
pub fn encode_header(out: &mut [u8], fin: bool, rsv1: bool, opcode: Opcode, len: u64) -> Option<usize> {
    if len >> 63 != 0 {
        return None;
    }
    let n = header_len(len);
    let out = out.get_mut(..n)?;
    out[0] = u8::from(fin) << 7 | u8::from(rsv1) << 6 | opcode.as_u4();
    match n {
        // Lossless: each arm's range fits the target type.
        2 => out[1] = len as u8,
        4 => {
            out[1] = 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out[1] = 127;
            out[2..10].copy_from_slice(&len.to_be_bytes());
        }
    }
    Some(n)
}

/// Write a whole Ping, Pong or Close frame carrying `payload`, and return
/// its length; `None` if the opcode is not a control opcode, the payload is
/// over 125 bytes (§5.5), or `out` is too short ([`super::MAX_CONTROL_FRAME`]
/// always suffices). A Pong answers a Ping with the same payload (§5.5.3).
///
/// ```
/// use wired_parser::websocket::{Opcode, encode_control};
/// let mut out = [0; wired_parser::websocket::MAX_CONTROL_FRAME];
/// let n = encode_control(&mut out, Opcode::Pong, b"Hello").unwrap();
/// assert_eq!(out[..n], *b"\x8a\x05Hello"); // RFC 6455 §5.7, unmasked
/// ```
pub fn encode_control(out: &mut [u8], opcode: Opcode, payload: &[u8]) -> Option<usize> {
    if !opcode.is_control() || payload.len() > MAX_CONTROL_PAYLOAD {
        return None;
    }
    let n = encode_header(out, true, false, opcode, payload.len() as u64)?;
    out.get_mut(n..n + payload.len())?.copy_from_slice(payload);
    Some(n + payload.len())
}

/// Write a whole Close frame with `code` and `reason` (§5.5.1), and return
/// its length. `None` if the code may not be sent (§7.4), the reason is over
/// 123 bytes, or `out` is too short. `code: None` writes an empty payload,
/// which needs no reason.
///
/// ```
/// use wired_parser::websocket::{Error, encode_close};
/// let mut out = [0; wired_parser::websocket::MAX_CONTROL_FRAME];
/// let n = encode_close(&mut out, Some(Error::InvalidUtf8.close_code()), "invalid UTF-8").unwrap();
/// assert_eq!(out[..n], *b"\x88\x0f\x03\xefinvalid UTF-8");
/// assert_eq!(encode_close(&mut out, Some(1006), ""), None); // 1006 only reports a local event
/// ```
pub fn encode_close(out: &mut [u8], code: Option<u16>, reason: &str) -> Option<usize> {
    let Some(code) = code else {
        return if reason.is_empty() { encode_control(out, Opcode::Close, b"") } else { None };
    };
    if !close_code_is_valid(code) || reason.len() > MAX_CONTROL_PAYLOAD - 2 {
        return None;
    }
    let mut payload = [0; MAX_CONTROL_PAYLOAD];
    payload[..2].copy_from_slice(&code.to_be_bytes());
    payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    encode_control(out, Opcode::Close, &payload[..2 + reason.len()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::{Config, Event, FrameDecoder, Header, MAX_CONTROL_FRAME, MAX_HEADER_LEN, parse_close};

    /// Turn a server frame into the client frame the decoder expects (MASK
    /// bit, a key, the payload masked) and decode it: the header and the
    /// payload must come back as encoded.
    fn round_trip(frame: &[u8], header_len: usize) -> (Header, Vec<u8>) {
        let key = [1, 2, 3, 4];
        let mut masked = frame[..header_len].to_vec();
        masked[1] |= 0x80;
        masked.extend_from_slice(&key);
        let mut payload = frame[header_len..].to_vec();
        crate::websocket::apply_mask(&mut payload, key, 0);
        masked.extend_from_slice(&payload);
        let mut dec = FrameDecoder::new(Config { max_frame: u64::MAX >> 1, max_message: u64::MAX >> 1, rsv1: true });
        let (mut pos, mut start, mut data) = (0, None, Vec::new());
        loop {
            let step = dec.decode(&mut masked[pos..]).unwrap();
            match step.event {
                Some(Event::Start(h)) => start = Some(h),
                Some(Event::Payload(r)) => data.extend_from_slice(&masked[pos..][r]),
                Some(Event::End(h)) => {
                    assert_eq!(Some(h), start);
                    return (h, data);
                }
                None => panic!("frame incomplete"),
            }
            pos += step.consumed;
        }
    }

    #[test]
    fn headers_round_trip_in_every_length_form() {
        for len in [0u64, 1, 125, 126, 127, 65535, 65536, 100_000] {
            for (fin, rsv1, opcode) in
                [(true, false, Opcode::Binary), (true, true, Opcode::Text), (false, false, Opcode::Binary)]
            {
                let mut frame = vec![0; MAX_HEADER_LEN];
                let n = encode_header(&mut frame, fin, rsv1, opcode, len).unwrap();
                assert_eq!(n, header_len(len));
                frame.truncate(n);
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                frame.extend_from_slice(&payload);
                let (h, data) = round_trip(&frame, n);
                assert_eq!(h, Header { fin, rsv1, opcode, len }, "{len}");
                assert_eq!(data, payload);
            }
        }
    }

    #[test]
    fn header_needs_room_and_a_63_bit_length() {
        assert_eq!(encode_header(&mut [0; 3], true, false, Opcode::Binary, 126), None);
        assert_eq!(encode_header(&mut [0; 9], true, false, Opcode::Binary, 65536), None);
        assert_eq!(encode_header(&mut [0; 10], true, false, Opcode::Binary, 1 << 63), None);
        assert_eq!(encode_header(&mut [0; 10], true, false, Opcode::Binary, (1 << 63) - 1), Some(10));
    }

    #[test]
    fn control_frames_round_trip() {
        let mut out = [0; MAX_CONTROL_FRAME];
        for opcode in [Opcode::Ping, Opcode::Pong] {
            for payload in [&b""[..], b"x", &[7; 125]] {
                let n = encode_control(&mut out, opcode, payload).unwrap();
                let (h, data) = round_trip(&out[..n], 2);
                assert_eq!((h.opcode, h.fin, data.as_slice()), (opcode, true, payload));
            }
        }
        assert_eq!(encode_control(&mut out, Opcode::Ping, &[0; 126]), None);
        assert_eq!(encode_control(&mut out, Opcode::Text, b"x"), None);
        assert_eq!(encode_control(&mut [0; 6], Opcode::Ping, b"Hello"), None);
    }

    #[test]
    fn close_frames_round_trip() {
        let mut out = [0; MAX_CONTROL_FRAME];
        let long = "é".repeat(61) + "x"; // 123 bytes
        for (code, reason) in [(Some(1000), ""), (Some(1011), "oops"), (Some(4000), long.as_str()), (None, "")] {
            let n = encode_close(&mut out, code, reason).unwrap();
            let (h, payload) = round_trip(&out[..n], 2);
            assert_eq!(h.opcode, Opcode::Close);
            let parsed = parse_close(&payload).unwrap();
            assert_eq!(parsed.map(|c| (c.code, c.reason)), code.map(|c| (c, reason)));
        }
        assert_eq!(encode_close(&mut out, Some(1000), &(long + "y")), None, "124-byte reason");
        assert_eq!(encode_close(&mut out, Some(1005), ""), None);
        assert_eq!(encode_close(&mut out, None, "reason without a code"), None);
    }
}
