//! Message framing: how long is the body? (RFC 9112 §6)
//!
//! A request says where its body ends in one of two ways: `Content-Length`
//! or `Transfer-Encoding: chunked`. When a request says both, or says either
//! in a way two servers could read differently, one request can be read as
//! two by a proxy and its origin — request smuggling. So every doubtful case
//! here is refused with 400 rather than guessed.
//!
//! ```
//! use wired_parser::{Body, EMPTY_HEADER, HeadParser, Limits, Status};
//!
//! let raw = b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
//! let mut fields = [EMPTY_HEADER; 8];
//! let Ok(Status::Complete(req)) = HeadParser::new().parse(raw, &Limits::default(), &mut fields) else { panic!() };
//! assert_eq!(req.body, Body::Chunked);
//! ```

use crate::Error;
use crate::Version;
use crate::connection::{list_elements, trim_ows};

/// How the request body is delimited.
///
/// ```
/// use wired_parser::{Body, Version, framing::Framing};
/// let mut f = Framing::default();
/// f.content_length(b"0").unwrap();
/// assert_eq!(f.finish(Version::Http11), Ok(Body::None)); // Content-Length: 0 is no body
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body (RFC 9112 §6.3 rule 7: neither field present).
    None,
    /// Exactly this many bytes follow the head (RFC 9112 §6.3 rule 6).
    Length(u64),
    /// A chunked body follows (RFC 9112 §7.1).
    Chunked,
}

/// Gathers `Content-Length` and `Transfer-Encoding` fields as the head parser
/// meets them, then decides the [`Body`] with [`Framing::finish`].
///
/// ```
/// use wired_parser::{Body, Version, framing::Framing};
/// let mut f = Framing::default();
/// f.content_length(b"42").unwrap();
/// assert_eq!(f.finish(Version::Http11), Ok(Body::Length(42)));
///
/// let mut f = Framing::default();
/// f.content_length(b"42").unwrap();
/// f.transfer_encoding(b"chunked").unwrap();
/// assert!(f.finish(Version::Http11).is_err()); // both: a smuggling door
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Framing {
    length: Option<u64>,
    transfer_encoding: bool,
    /// The last coding seen so far was `chunked`.
    chunked_last: bool,
    /// A coding other than `chunked` appeared.
    unknown_coding: bool,
    /// `chunked` appeared more than once, or before another coding.
    chunked_misplaced: bool,
}

impl Framing {
    /// Record one `Content-Length` field value.
    ///
    /// RFC 9110 §8.6: the value is 1*DIGIT. A list of identical values (from
    /// repeated fields or commas) may be accepted as one; differing values may
    /// not. Signs, spaces inside, hex and overflow are all invalid.
    ///
    /// ```
    /// let mut f = wired_parser::framing::Framing::default();
    /// assert!(f.content_length(b"5, 5").is_ok());
    /// assert!(f.content_length(b"+5").is_err());
    /// ```
    pub fn content_length(&mut self, value: &[u8]) -> Result<(), Error> {
        let mut any = false;
        for element in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(element))?;
            any = true;
            match self.length {
                Some(previous) if previous != n => return Err(Error::ConflictingLength),
                _ => self.length = Some(n),
            }
        }
        if any { Ok(()) } else { Err(Error::BadLength) }
    }

    /// Record one `Transfer-Encoding` field value (a list of codings, RFC 9112 §6.1).
    ///
    /// ```
    /// let mut f = wired_parser::framing::Framing::default();
    /// f.transfer_encoding(b"gzip").unwrap();
    /// f.transfer_encoding(b"Chunked").unwrap(); // fields combine in order
    /// assert_eq!(f.finish(wired_parser::Version::Http11), Err(wired_parser::Error::UnknownTransferCoding));
    /// ```
    pub fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), Error> {
        self.transfer_encoding = true;
        for element in list_elements(value) {
            // Parameters (";q=…") are part of a coding; chunked takes none.
            let name = trim_ows(element.split(|&b| b == b';').next().unwrap_or(element));
            if self.chunked_last {
                // RFC 9112 §6.1: chunked MUST NOT be applied more than once,
                // and once applied nothing may follow it.
                self.chunked_misplaced = true;
            }
            if name.eq_ignore_ascii_case(b"chunked") && name.len() == element.len() {
                self.chunked_last = true;
            } else {
                self.chunked_last = false;
                self.unknown_coding = true;
            }
        }
        Ok(())
    }

    /// Whether a `Content-Length` or `Transfer-Encoding` field was recorded.
    ///
    /// A request without either has no body, but a response without either
    /// is read until the connection closes (RFC 9112 §6.3 rules 7 and 8):
    /// [`Framing::finish`] cannot tell `Content-Length: 0` from no field, so
    /// the response parser asks here.
    ///
    /// ```
    /// let mut f = wired_parser::framing::Framing::default();
    /// assert!(!f.is_delimited());
    /// f.content_length(b"0").unwrap();
    /// assert!(f.is_delimited());
    /// ```
    pub fn is_delimited(&self) -> bool {
        self.length.is_some() || self.transfer_encoding
    }

    /// Decide the body from everything recorded.
    ///
    /// ```
    /// use wired_parser::{Body, Version, framing::Framing};
    /// assert_eq!(Framing::default().finish(Version::Http11), Ok(Body::None));
    /// ```
    pub fn finish(self, version: Version) -> Result<Body, Error> {
        if self.transfer_encoding {
            // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
            if version == Version::Http10 {
                return Err(Error::TransferEncodingHttp10);
            }
            // RFC 9112 §6.1: a message with both is a smuggling attempt or a
            // broken sender; the server may reject it, and wired does.
            if self.length.is_some() {
                return Err(Error::TransferEncodingAndLength);
            }
            // RFC 9112 §6.3 rule 4: chunked not final → length unknown → 400.
            if !self.chunked_last || self.chunked_misplaced {
                return Err(Error::ChunkedNotLast);
            }
            // RFC 9112 §6.1: a coding we do not understand → 501.
            if self.unknown_coding {
                return Err(Error::UnknownTransferCoding);
            }
            return Ok(Body::Chunked);
        }
        match self.length {
            Some(0) | None => Ok(Body::None),
            Some(n) => Ok(Body::Length(n)),
        }
    }
}

/// Parse 1*DIGIT into a u64, refusing anything else and overflow.
fn parse_decimal(digits: &[u8]) -> Result<u64, Error> {
    if digits.is_empty() {
        return Err(Error::BadLength);
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(Error::BadLength);
        }
        n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d - b'0'))).ok_or(Error::BadLength)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(cl: &[&[u8]], te: &[&[u8]], version: Version) -> Result<Body, Error> {
        let mut f = Framing::default();
        for v in cl {
            f.content_length(v)?;
        }
        for v in te {
            f.transfer_encoding(v)?;
        }
        f.finish(version)
    }

    #[test]
    fn smuggling_doors_each_closed() {
        use Error::{
            BadLength, ChunkedNotLast, ConflictingLength, TransferEncodingAndLength, TransferEncodingHttp10,
            UnknownTransferCoding,
        };
        let v11 = Version::Http11;
        type Case<'a> = (&'a [&'a [u8]], &'a [&'a [u8]], Version, Result<Body, Error>);
        let cases: &[Case] = &[
            (&[b"10"], &[], v11, Ok(Body::Length(10))),
            (&[b"0"], &[], v11, Ok(Body::None)),
            (&[b"007"], &[], v11, Ok(Body::Length(7))),
            (&[b"10", b"10"], &[], v11, Ok(Body::Length(10))),
            (&[b"10, 10"], &[], v11, Ok(Body::Length(10))),
            (&[b"10", b"11"], &[], v11, Err(ConflictingLength)),
            (&[b"10,11"], &[], v11, Err(ConflictingLength)),
            (&[b"+10"], &[], v11, Err(BadLength)),
            (&[b"-1"], &[], v11, Err(BadLength)),
            (&[b"0x10"], &[], v11, Err(BadLength)),
            (&[b"1 0"], &[], v11, Err(BadLength)),
            (&[b""], &[], v11, Err(BadLength)),
            (&[b","], &[], v11, Err(BadLength)),
            (&[b"18446744073709551615"], &[], v11, Ok(Body::Length(u64::MAX))),
            (&[b"18446744073709551616"], &[], v11, Err(BadLength)),
            (&[], &[b"chunked"], v11, Ok(Body::Chunked)),
            (&[], &[b"CHUNKED"], v11, Ok(Body::Chunked)),
            (&[], &[b"chunked"], Version::Http10, Err(TransferEncodingHttp10)),
            (&[b"5"], &[b"chunked"], v11, Err(TransferEncodingAndLength)),
            (&[], &[b"chunked, identity"], v11, Err(ChunkedNotLast)),
            (&[], &[b"identity, chunked"], v11, Err(UnknownTransferCoding)),
            (&[], &[b"gzip, chunked"], v11, Err(UnknownTransferCoding)),
            (&[], &[b"chunked, chunked"], v11, Err(ChunkedNotLast)),
            (&[], &[b"chunked", b"chunked"], v11, Err(ChunkedNotLast)),
            (&[], &[b"gzip"], v11, Err(ChunkedNotLast)),
            (&[], &[b""], v11, Err(ChunkedNotLast)),
            (&[], &[b"chunked;foo=bar"], v11, Err(ChunkedNotLast)),
            (&[], &[b"xchunked"], v11, Err(ChunkedNotLast)),
            (&[], &[b" chunked , "], v11, Ok(Body::Chunked)),
        ];
        for (cl, te, version, expected) in cases {
            assert_eq!(decide(cl, te, *version), *expected, "CL {cl:?} TE {te:?}");
        }
    }
}
