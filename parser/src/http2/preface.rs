//! The client connection preface (RFC 9113 §3.4): how a server on a
//! cleartext port tells HTTP/2 with prior knowledge (§3.3) from HTTP/1.1.
//!
//! A client that knows the server speaks HTTP/2 opens with 24 fixed bytes,
//! `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, then a SETTINGS frame. The string was
//! chosen to look like an HTTP/1.x request that HTTP/1.x servers refuse
//! (method `PRI`, version 2.0), so no HTTP/1.1 request is ever mistaken for
//! it. A server reads the first bytes of a connection into its buffer and
//! asks [`check`] after each read: [`Preface::Partial`] means the bytes so
//! far could still be the preface (read more), [`Preface::Mismatch`] that
//! they cannot (parse them as HTTP/1.1, from the same buffer), and
//! [`Preface::Complete`] that frames start at byte 24.
//!
//! The check is a plain comparison of at most 24 bytes against the
//! constant, run again on each read: there is no state worth keeping.

/// The 24 bytes a client sends first (§3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes of a connection are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preface {
    /// A prefix of the preface, shorter than it: read more.
    Partial,
    /// The whole preface; HTTP/2 frames begin after [`PREFACE`]'s 24 bytes.
    Complete,
    /// Not the preface: on a port that also speaks HTTP/1.1, this is an
    /// HTTP/1.1 connection; on an HTTP/2-only one, a connection error
    /// PROTOCOL_ERROR, and GOAWAY may be skipped (§3.4).
    Mismatch,
}

/// Compare the bytes a connection has sent so far with the preface.
///
/// ```
/// use wired_parser::http2::preface::{Preface, check};
/// assert_eq!(check(b""), Preface::Partial);
/// assert_eq!(check(b"PRI * HTTP/2"), Preface::Partial);
/// assert_eq!(check(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04"), Preface::Complete);
/// assert_eq!(check(b"GET / HTTP/1.1\r\n"), Preface::Mismatch);
/// assert_eq!(check(b"PRIX"), Preface::Mismatch);
/// ```
pub fn check(bytes: &[u8]) -> Preface {
    let n = bytes.len().min(PREFACE.len());
    if bytes.get(..n) != PREFACE.get(..n) {
        Preface::Mismatch
    } else if n < PREFACE.len() {
        Preface::Partial
    } else {
        Preface::Complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_is_partial_and_the_whole_is_complete() {
        for cut in 0..PREFACE.len() {
            assert_eq!(check(&PREFACE[..cut]), Preface::Partial, "cut at {cut}");
        }
        assert_eq!(check(PREFACE), Preface::Complete);
    }

    #[test]
    fn a_wrong_byte_anywhere_is_a_mismatch_as_soon_as_it_arrives() {
        for at in 0..PREFACE.len() {
            let mut bytes = *PREFACE;
            bytes[at] ^= 0x20;
            for cut in 0..=PREFACE.len() {
                let expected = if cut <= at { Preface::Partial } else { Preface::Mismatch };
                assert_eq!(check(&bytes[..cut]), expected, "byte {at} wrong, cut at {cut}");
            }
        }
    }

    #[test]
    fn http1_requests_are_mismatches_from_the_first_byte_that_differs() {
        for request in [&b"GET / HTTP/1.1\r\n"[..], b"POST /x HTTP/1.1\r\n", b"PUT / HTTP/1.1\r\n", b"\r\nGET"] {
            assert_eq!(check(request), Preface::Mismatch, "{}", String::from_utf8_lossy(request));
        }
        // A method that starts like the preface waits only until it differs.
        assert_eq!(check(b"PR"), Preface::Partial);
        assert_eq!(check(b"PRIORITY / HTTP/1.1\r\n"), Preface::Mismatch);
        // Only all 24 bytes count: the request line alone, then a field, is not it.
        assert_eq!(check(b"PRI * HTTP/2.0\r\nHost: x\r\n\r\n"), Preface::Mismatch);
    }

    #[test]
    fn frames_after_the_preface_do_not_change_the_answer() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(b"\0\0\0\x04\0\0\0\0\0");
        for cut in PREFACE.len()..=bytes.len() {
            assert_eq!(check(&bytes[..cut]), Preface::Complete);
        }
    }
}
