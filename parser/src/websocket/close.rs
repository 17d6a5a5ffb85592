//! The payload of a Close frame (RFC 6455 §5.5.1): an optional status code
//! and a UTF-8 reason.
//!
//! The payload is empty, or two bytes of code in network order followed by
//! at most 123 bytes of reason. One byte is not a valid payload; a code must
//! be one an endpoint may send (§7.4.1, §7.4.2); the reason must be UTF-8
//! (§5.5.1, failing with 1007 per §8.1). [`parse_close`] checks a whole
//! payload; the frame decoder applies the same rules piece by piece with a
//! `CloseCheck`, so a close frame is judged however its bytes arrive.

use super::Error;
use super::utf8::Utf8Validator;

/// A parsed Close payload that carried a status code.
///
/// ```
/// use wired_parser::websocket::{Close, parse_close};
/// assert_eq!(parse_close(b"\x03\xE8bye"), Ok(Some(Close { code: 1000, reason: "bye" })));
/// assert_eq!(parse_close(b""), Ok(None)); // no code: answer with an empty close or 1000
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close<'a> {
    /// The status code (§7.4).
    pub code: u16,
    /// Why the peer is closing; may be empty.
    pub reason: &'a str,
}

/// Whether `code` may appear in a Close frame on the wire.
///
/// §7.4.1 defines 1000-1003 and 1007-1011 for use on the wire; 1004 is
/// reserved, and 1005, 1006 and 1015 only report what happened locally and
/// MUST NOT be sent. §7.4.2 gives 0-999 to nobody, keeps 1000-2999 for the
/// protocol and its extensions, and leaves 3000-3999 (registered) and
/// 4000-4999 (private) to applications. IANA has since registered 1012-1014
/// too; wired treats them as unknown, as RFC 6455 alone does.
///
/// ```
/// use wired_parser::websocket::close_code_is_valid;
/// assert!(close_code_is_valid(1000) && close_code_is_valid(4999));
/// assert!(!close_code_is_valid(1005) && !close_code_is_valid(2999) && !close_code_is_valid(5000));
/// ```
pub fn close_code_is_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// Parse a whole Close payload: `Ok(None)` when it is empty (no status code
/// was given, §7.1.5: read as 1005), else the code and the reason.
///
/// ```
/// use wired_parser::websocket::{Error, parse_close};
/// assert_eq!(parse_close(b"\x03"), Err(Error::CloseLength));
/// assert_eq!(parse_close(b"\x03\xED"), Err(Error::CloseCode)); // 1005 never travels
/// assert_eq!(parse_close(b"\x03\xE8\xFF"), Err(Error::InvalidUtf8));
/// assert_eq!(Error::InvalidUtf8.close_code(), 1007);
/// ```
pub fn parse_close(payload: &[u8]) -> Result<Option<Close<'_>>, Error> {
    if payload.len() > super::MAX_CONTROL_PAYLOAD {
        return Err(Error::ControlTooLong);
    }
    let mut check = CloseCheck::new();
    check.feed(payload).map_err(|(_, e)| e)?;
    check.finish()?;
    match payload {
        [] => Ok(None),
        [hi, lo, reason @ ..] => {
            // `finish` has checked the reason.
            let reason = core::str::from_utf8(reason).map_err(|_| Error::InvalidUtf8)?;
            Ok(Some(Close { code: u16::from_be_bytes([*hi, *lo]), reason }))
        }
        [_] => Err(Error::CloseLength),
    }
}

/// Checks a Close payload fed in pieces: the code once both its bytes are
/// in, the reason byte by byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CloseCheck {
    /// Payload bytes seen so far, counted up to 2 (the code's bytes).
    seen: u8,
    /// The code's first byte, kept until its second arrives.
    high: u8,
    /// The reason's UTF-8 so far.
    reason: Utf8Validator,
}

impl CloseCheck {
    pub(crate) const fn new() -> Self {
        CloseCheck { seen: 0, high: 0, reason: Utf8Validator::new() }
    }

    /// Check the next piece of the payload. `Err((i, e))`: `piece[i]` is
    /// the first byte that makes it invalid.
    pub(crate) fn feed(&mut self, piece: &[u8]) -> Result<(), (usize, Error)> {
        let mut pos = 0;
        while self.seen < 2 {
            let Some(&byte) = piece.get(pos) else { return Ok(()) };
            if self.seen == 0 {
                self.high = byte;
            } else if !close_code_is_valid(u16::from_be_bytes([self.high, byte])) {
                return Err((pos, Error::CloseCode));
            }
            self.seen += 1;
            pos += 1;
        }
        self.reason.feed(&piece[pos..]).map_err(|i| (pos + i, Error::InvalidUtf8))
    }

    /// The payload has ended: it must not stop inside the code or inside a
    /// character of the reason.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        match (self.seen, self.reason.is_complete()) {
            (1, _) => Err(Error::CloseLength),
            (_, false) => Err(Error::InvalidUtf8),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_per_section_7_4() {
        let valid: Vec<u16> = (0..=u16::MAX).filter(|&c| close_code_is_valid(c)).collect();
        assert_eq!(valid.len(), 4 + 5 + 2000);
        for code in [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!close_code_is_valid(code), "{code}");
        }
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
            assert!(close_code_is_valid(code), "{code}");
        }
    }

    /// What a payload parses to: its code and reason, if it has a code.
    type Parsed = Result<Option<(u16, &'static str)>, Error>;

    #[rustfmt::skip]
    #[test]
    fn payloads() {
        use Error::*;
        let long = [&b"\x03\xE8"[..], &[b'a'; 124]].concat();
        let rows: &[(&[u8], Parsed)] = &[
            (b"", Ok(None)),
            (b"\x03\xE8", Ok(Some((1000, "")))),
            (b"\x03\xE9going away", Ok(Some((1001, "going away")))),
            (b"\x0F\xA0caf\xC3\xA9", Ok(Some((4000, "café")))),
            (b"\x13\x87", Ok(Some((4999, "")))),
            (b"\x03", Err(CloseLength)),
            (b"\x03\xEC", Err(CloseCode)),         // 1004
            (b"\x03\xEE", Err(CloseCode)),         // 1006
            (b"\x03\xF7", Err(CloseCode)),         // 1015
            (b"\x00\x00", Err(CloseCode)),
            (b"\x0B\xB7", Err(CloseCode)),         // 2999
            (b"\x13\x88", Err(CloseCode)),         // 5000
            (b"\x03\xE8\xC3", Err(InvalidUtf8)),   // the reason stops inside a character
            (b"\x03\xE8a\xED\xA0\x80", Err(InvalidUtf8)),
            (&long, Err(ControlTooLong)),
        ];
        for (payload, expect) in rows {
            let got = parse_close(payload).map(|c| c.map(|c| (c.code, c.reason)));
            assert_eq!(&got, expect, "{payload:x?}");
            // Fed in two pieces, the check agrees.
            for cut in 0..=payload.len().min(125) {
                let mut check = CloseCheck::new();
                let split = check.feed(&payload[..cut]).and_then(|()| check.feed(&payload[cut..]).map_err(|(i, e)| (cut + i, e)));
                let got = split.map_err(|(_, e)| e).and_then(|()| check.finish());
                if payload.len() <= 125 {
                    assert_eq!(got, expect.map(|_| ()), "{payload:x?} cut at {cut}");
                }
            }
        }
    }
}
