//! An incremental UTF-8 validator (RFC 6455 §8.1, RFC 3629 §4).
//!
//! A text message arrives in fragments, and a fragment may end in the
//! middle of a character, so validity cannot be decided one fragment at a
//! time with `std::str::from_utf8` alone. [`Utf8Validator`] keeps the little
//! it needs between pieces (how many continuation bytes are still due, and
//! the range the next one must fall in) and names the first byte that can no
//! longer begin or continue valid UTF-8, so a bad message is refused the
//! moment it goes wrong (RFC 6455 §8.1: fail the connection with 1007), not
//! after the rest of it has been read.
//!
//! The byte ranges are RFC 3629 §4's table, which is what excludes overlong
//! forms (`C0`, `C1`, `E0 80..9F`, `F0 80..8F`), surrogates (`ED A0..BF`) and
//! code points past U+10FFFF (`F4 90..`, `F5..FF`):
//!
//! ```text
//!  first byte  second    third     fourth
//!  00..7F
//!  C2..DF      80..BF
//!  E0          A0..BF    80..BF
//!  E1..EC      80..BF    80..BF
//!  ED          80..9F    80..BF
//!  EE..EF      80..BF    80..BF
//!  F0          90..BF    80..BF    80..BF
//!  F1..F3      80..BF    80..BF    80..BF
//!  F4          80..8F    80..BF    80..BF
//! ```
//!
//! Runs that start on a character boundary are checked by `core::str::from_utf8`
//! (fast, and it agrees with the table); only the bytes of a character cut
//! by a piece boundary, and the bytes where the library stops, go through
//! the byte-at-a-time machine: a handful per piece.

/// Validates UTF-8 fed in pieces of any size.
///
/// ```
/// use wired_parser::websocket::Utf8Validator;
/// let euro = "€".as_bytes(); // E2 82 AC
/// let mut v = Utf8Validator::new();
/// assert_eq!(v.feed(&euro[..1]), Ok(()));
/// assert!(!v.is_complete()); // inside a character
/// assert_eq!(v.feed(&euro[1..]), Ok(()));
/// assert!(v.is_complete());
/// assert_eq!(Utf8Validator::new().feed(b"ok \xED\xA0\x80"), Err(4)); // a surrogate fails at its second byte
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Validator {
    /// Continuation bytes still due in the current character; 0 on a boundary.
    need: u8,
    /// The smallest byte the next continuation may be.
    lo: u8,
    /// The largest byte the next continuation may be.
    hi: u8,
    /// A bad byte has been seen; every later call fails.
    failed: bool,
}

impl Default for Utf8Validator {
    fn default() -> Self {
        Self::new()
    }
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Utf8Validator { need: 0, lo: 0x80, hi: 0xBF, failed: false }
    }

    /// Check the next piece of the text.
    ///
    /// `Err(i)` names the first byte, `bytes[i]`, that makes the text invalid
    /// whatever follows; the bytes before it are a valid prefix (possibly
    /// ending inside a character). After an error, every call fails with
    /// `Err(0)`.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), usize> {
        if self.failed {
            return Err(0);
        }
        let mut pos = 0;
        while pos < bytes.len() {
            if self.need == 0 {
                // On a boundary: let the library skip the valid run. It stops
                // short of the end only at a bad or unfinished sequence.
                match core::str::from_utf8(&bytes[pos..]) {
                    Ok(_) => return Ok(()),
                    Err(e) => pos += e.valid_up_to(),
                }
            }
            // Inside a character, or where the library stopped: the machine
            // judges this byte; a character completes, or fails, within four.
            if !self.step(bytes[pos]) {
                self.failed = true;
                return Err(pos);
            }
            pos += 1;
        }
        Ok(())
    }

    /// True when the text so far ends on a character boundary: a message
    /// that ends here is valid (RFC 6455 §8.1: a final fragment that stops
    /// inside a character is invalid too).
    pub fn is_complete(&self) -> bool {
        self.need == 0 && !self.failed
    }

    /// Advance by one byte; false if the byte cannot come next.
    fn step(&mut self, byte: u8) -> bool {
        if self.need > 0 {
            if byte < self.lo || byte > self.hi {
                return false;
            }
            self.need -= 1;
            (self.lo, self.hi) = (0x80, 0xBF);
            return true;
        }
        let (need, lo, hi) = match byte {
            0x00..=0x7F => return true,
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            // 80..BF cannot start a character, C0 and C1 only start overlong
            // forms, F5..FF only code points past U+10FFFF.
            _ => return false,
        };
        (self.need, self.lo, self.hi) = (need, lo, hi);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the validator says of `input` fed in pieces ending at `cuts`:
    /// the index of the first bad byte, or whether it ended complete.
    fn judge(input: &[u8], cuts: &[usize]) -> Result<bool, usize> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for end in cuts.iter().copied().chain([input.len()]) {
            let end = end.max(start);
            v.feed(&input[start..end]).map_err(|i| start + i)?;
            start = end;
        }
        Ok(v.is_complete())
    }

    /// What the validator must say, by `std::str::from_utf8`: valid, a
    /// valid prefix cut inside a character, or the first byte no suffix can
    /// save (std's `valid_up_to`, plus the bytes of a truncated sequence).
    fn oracle(input: &[u8]) -> Result<bool, usize> {
        match core::str::from_utf8(input) {
            Ok(_) => Ok(true),
            Err(e) => match e.error_len() {
                None => Ok(false),
                // `error_len` bytes are a maximal prefix of a valid sequence
                // (Unicode's "substitution of maximal subparts") except when
                // the first byte alone is bad: either way the byte after that
                // prefix is the first that cannot continue, unless the first
                // byte itself cannot start a character.
                Some(len) => {
                    let at = e.valid_up_to();
                    Err(if matches!(input[at], 0xC2..=0xF4) { at + len } else { at })
                }
            },
        }
    }

    #[rustfmt::skip]
    fn samples() -> Vec<Vec<u8>> {
        let texts: &[&[u8]] = &[
            b"", b"hello", "κόσμε".as_bytes(), "€ and 𝄞 and \u{10FFFF}".as_bytes(),
            "\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}".as_bytes(), "\u{D7FF}\u{E000}".as_bytes(),
            // RFC 6455 §5.6 does not allow these in text; Autobahn case 6.x flavours.
            b"\xC0\x80", b"\xC1\xBF", b"\xE0\x80\x80", b"\xE0\x9F\xBF", b"\xF0\x80\x80\x80",
            b"\xF0\x8F\xBF\xBF", b"\xED\xA0\x80", b"\xED\xBF\xBF", b"\xF4\x90\x80\x80", b"\xF5\x80\x80\x80",
            b"\xFF", b"\xFE", b"\x80", b"\xBF", b"ab\x80cd", b"\xE2\x82", b"\xE2\x82\x41", b"\xE2\x41\xAC",
            b"\xF0\x9D\x84", b"\xF0\x9D\x84\x9E\x80", b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80edited",
            b"plain ascii then \xF4\x8F\xBF\xBF then \xF4\x90", b"\xC2", b"\xC2\xC2\xA0", b"\xDF\xBF\xDF",
            b"\xEF\xBF\xBE\xEF\xBF\xBF", b"\xF3\xBF\xBF\xBF\xF4\x80\x80", b"a\0b\x7F",
        ];
        texts.iter().map(|t| t.to_vec()).collect()
    }

    #[test]
    fn agrees_with_std_split_at_every_point() {
        for input in samples() {
            let expect = oracle(&input);
            assert_eq!(judge(&input, &[]), expect, "{input:x?} whole");
            for a in 0..=input.len() {
                assert_eq!(judge(&input, &[a]), expect, "{input:x?} cut at {a}");
                for b in a..=input.len() {
                    assert_eq!(judge(&input, &[a, b]), expect, "{input:x?} cut at {a}, {b}");
                }
            }
            let every: Vec<usize> = (0..=input.len()).collect();
            assert_eq!(judge(&input, &every), expect, "{input:x?} byte by byte");
        }
    }

    /// Every sequence of up to three bytes (and every four-byte one from a
    /// lead byte that can start one), fed byte by byte, so the state machine
    /// judges each byte itself: valid and complete exactly when std says so.
    #[test]
    fn machine_agrees_with_std_on_every_short_sequence() {
        let byte_by_byte = |input: &[u8]| {
            let mut v = Utf8Validator::new();
            input.iter().all(|b| v.feed(&[*b]).is_ok()) && v.is_complete()
        };
        for a in 0..=255u8 {
            assert_eq!(byte_by_byte(&[a]), core::str::from_utf8(&[a]).is_ok(), "{a:x}");
            for b in 0..=255u8 {
                assert_eq!(byte_by_byte(&[a, b]), core::str::from_utf8(&[a, b]).is_ok(), "{a:x} {b:x}");
                if a < 0xC0 {
                    continue;
                }
                for c in 0..=255u8 {
                    let three = [a, b, c];
                    assert_eq!(byte_by_byte(&three), core::str::from_utf8(&three).is_ok(), "{three:x?}");
                }
            }
        }
        for a in 0xF0..=0xF5u8 {
            for b in 0x80..=0xC0u8 {
                for c in [0x7F, 0x80, 0xBF, 0xC0] {
                    for d in [0x00, 0x7F, 0x80, 0x9F, 0xBF, 0xC0, 0xFF] {
                        let four = [a, b, c, d];
                        assert_eq!(byte_by_byte(&four), core::str::from_utf8(&four).is_ok(), "{four:x?}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_error_sticks() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"a\xFFb"), Err(1));
        assert_eq!(v.feed(b"fine"), Err(0));
        assert!(!v.is_complete());
    }
}
