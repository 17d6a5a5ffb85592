//! Everything that can be wrong with a request, and the status code each deserves.
//!
//! An [`Error`] is small, `Copy` data: the server turns it into a response with
//! [`Error::status`]. Every one of them is found while the request's framing
//! is being read, so the bytes after it cannot be trusted to start a new
//! request: wired closes the connection after answering (RFC 9112 §9.6).
//!
//! ```
//! use wired_parser::{EMPTY_HEADER, Error, HeadParser, Limits};
//!
//! let raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
//! let mut fields = [EMPTY_HEADER; 8];
//! let e = HeadParser::new().parse(raw, &Limits::default(), &mut fields).unwrap_err();
//! assert_eq!(e, Error::TransferEncodingAndLength);
//! assert_eq!(e.to_string(), "400 both Transfer-Encoding and Content-Length");
//! ```

use core::fmt;

/// Why a request (or a piece of its body) was refused.
///
/// ```
/// use wired_parser::Error;
/// let e = Error::ObsFold;
/// assert_eq!((e.status(), e.reason()), (400, "obsolete line folding"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    // ---- 400 Bad Request: the head is not valid HTTP/1.1 (RFC 9112 §2-§5) ----
    /// The request line is not `method SP request-target SP HTTP-version`.
    RequestLine,
    /// The method is not a token (RFC 9110 §9.1).
    Method,
    /// The version is not `HTTP/DIGIT.DIGIT`.
    Version,
    /// A field name holds a byte that is not a token character (RFC 9110 §5.1).
    FieldName,
    /// A field value holds a control byte such as NUL (RFC 9110 §5.5).
    FieldValue,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1: MUST reject with 400).
    SpaceBeforeColon,
    /// A line folded with obs-fold (RFC 9112 §5.2: reject with 400 outside message/http).
    ObsFold,
    /// A CR not followed by LF (RFC 9112 §2.2).
    BareCr,
    /// An LF not preceded by CR: wired requires CRLF (RFC 9112 §2.2 lets a server choose).
    BareLf,
    /// An HTTP/1.1 request without a Host field (RFC 9112 §3.2: MUST respond 400).
    MissingHost,
    /// More than one Host field, or one with several values (RFC 9112 §3.2).
    DuplicateHost,
    /// A Host value that is not `uri-host [ ":" port ]` (RFC 9112 §3.2).
    BadHost,
    /// The request target is not a valid origin-, absolute-, authority- or asterisk-form.
    Target,
    /// A percent-escape that decodes to NUL, to `/` inside a segment, or is malformed.
    BadEscape,
    /// A path that would climb above the root after dot-segment removal.
    PathEscapesRoot,
    /// Both Transfer-Encoding and Content-Length (RFC 9112 §6.1: a smuggling door).
    TransferEncodingAndLength,
    /// Transfer-Encoding whose final coding is not chunked (RFC 9112 §6.3 rule 4).
    ChunkedNotLast,
    /// Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1).
    TransferEncodingHttp10,
    /// Content-Length values that differ, or a list of them (RFC 9112 §6.3 rule 5).
    ConflictingLength,
    /// Content-Length that is not plain digits, or overflows u64 (RFC 9110 §8.6).
    BadLength,
    /// A chunk-size line that is not hex digits, or overflows u64 (RFC 9112 §7.1).
    ChunkSize,
    /// A chunk extension that is malformed or too long (RFC 9112 §7.1.1).
    ChunkExtension,
    /// Missing CRLF after a chunk's data or after the last chunk (RFC 9112 §7.1).
    ChunkFraming,
    /// A trailer section that is malformed (RFC 9112 §7.1.2).
    Trailer,

    // ---- 413 / 414 / 431: too big ----
    /// The body is larger than the configured limit (RFC 9110 §15.5.14).
    BodyTooLarge,
    /// The request line is longer than the limit (RFC 9110 §15.5.15).
    UriTooLong,
    /// Too many header fields, or the head is longer than the limit (RFC 6585 §5).
    HeadersTooLarge,

    // ---- 501 / 505 ----
    /// A transfer coding other than chunked (RFC 9112 §6.1: SHOULD respond 501).
    UnknownTransferCoding,
    /// An Expect value other than 100-continue (RFC 9110 §10.1.1: 417).
    UnknownExpectation,
    /// An HTTP major version other than 1 (RFC 9110 §15.6.6).
    VersionNotSupported,
}

impl Error {
    /// The status code a server should answer this error with.
    ///
    /// ```
    /// use wired_parser::Error;
    /// assert_eq!(Error::UriTooLong.status(), 414);
    /// assert_eq!(Error::UnknownTransferCoding.status(), 501);
    /// assert_eq!(Error::BareLf.status(), 400);
    /// ```
    pub fn status(self) -> u16 {
        use Error::*;
        match self {
            BodyTooLarge => 413,
            UriTooLong => 414,
            HeadersTooLarge => 431,
            UnknownExpectation => 417,
            UnknownTransferCoding => 501,
            VersionNotSupported => 505,
            _ => 400,
        }
    }

    /// A short, human-readable reason, used in error pages and logs.
    ///
    /// ```
    /// assert_eq!(wired_parser::Error::MissingHost.reason(), "HTTP/1.1 request without Host");
    /// ```
    pub fn reason(self) -> &'static str {
        use Error::*;
        match self {
            RequestLine => "malformed request line",
            Method => "invalid method",
            Version => "malformed HTTP version",
            FieldName => "invalid byte in a header name",
            FieldValue => "invalid byte in a header value",
            SpaceBeforeColon => "whitespace between header name and colon",
            ObsFold => "obsolete line folding",
            BareCr => "CR not followed by LF",
            BareLf => "LF not preceded by CR",
            MissingHost => "HTTP/1.1 request without Host",
            DuplicateHost => "more than one Host",
            BadHost => "invalid Host",
            Target => "invalid request target",
            BadEscape => "forbidden percent-escape in path",
            PathEscapesRoot => "path climbs above the root",
            TransferEncodingAndLength => "both Transfer-Encoding and Content-Length",
            ChunkedNotLast => "chunked is not the final transfer coding",
            TransferEncodingHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            ConflictingLength => "conflicting Content-Length values",
            BadLength => "invalid Content-Length",
            ChunkSize => "invalid chunk size",
            ChunkExtension => "invalid or oversized chunk extension",
            ChunkFraming => "missing CRLF in chunked body",
            Trailer => "invalid trailer section",
            BodyTooLarge => "request body too large",
            UriTooLong => "request line too long",
            HeadersTooLarge => "request header fields too large",
            UnknownTransferCoding => "unsupported transfer coding",
            UnknownExpectation => "unsupported expectation",
            VersionNotSupported => "HTTP version not supported",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.reason())
    }
}

impl std::error::Error for Error {}
