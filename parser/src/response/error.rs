//! [`ResponseError`]: why an upstream's head was refused; always a 502.

use core::fmt;

use crate::Error;
#[cfg(doc)]
use crate::Limits;

/// Why an upstream's response head was refused. Each one means the upstream
/// connection cannot be trusted any further: close it, and answer the client
/// with [`ResponseError::status`].
///
/// ```
/// use wired_parser::ResponseError;
/// let e = ResponseError::TransferEncodingAndLength;
/// assert_eq!(e.to_string(), "502 bad upstream response: both Transfer-Encoding and Content-Length");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseError {
    // ---- the status line (RFC 9112 §4) ----
    /// Not `HTTP-version SP 3DIGIT SP reason-phrase CRLF`; also an HTTP/0.9
    /// response, which has no status line at all.
    StatusLine,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1 (`HTTP/2`, `HTTP/1.2`).
    Version,
    /// A status code outside 100-599 (RFC 9110 §15).
    Status,
    // ---- line and field syntax (RFC 9112 §2.2, §5) ----
    /// A field name holds a byte that is not a token character (RFC 9110 §5.1).
    FieldName,
    /// A field value holds a control byte such as NUL (RFC 9110 §5.5).
    FieldValue,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1: a proxy
    /// MUST remove it before forwarding; wired refuses instead).
    SpaceBeforeColon,
    /// A line folded with obs-fold (RFC 9112 §5.2: a proxy MUST replace it or
    /// reject the message; wired rejects).
    ObsFold,
    /// A CR not followed by LF (RFC 9112 §2.2).
    BareCr,
    /// An LF not preceded by CR (RFC 9112 §2.2 lets a recipient choose; wired refuses).
    BareLf,
    // ---- framing (RFC 9112 §6) ----
    /// Both Transfer-Encoding and Content-Length (RFC 9112 §6.1).
    TransferEncodingAndLength,
    /// A final coding other than chunked, or chunked applied twice (RFC 9112 §6.1, §6.3 rule 4).
    ChunkedNotLast,
    /// A transfer coding wired cannot remove before chunked, e.g. `gzip, chunked` (RFC 9112 §6.1).
    UnknownTransferCoding,
    /// Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1: faulty framing).
    TransferEncodingHttp10,
    /// Several Content-Length values that differ (RFC 9112 §6.3 rule 5).
    ConflictingLength,
    /// A Content-Length that is not plain digits, or overflows u64 (RFC 9110 §8.6).
    BadLength,
    /// 101 Switching Protocols without an Upgrade field (RFC 9110 §15.2.2).
    SwitchWithoutUpgrade,
    // ---- size ----
    /// The head passed [`Limits::max_head_bytes`] without ending.
    HeadTooLarge,
    /// More fields than [`Limits::max_headers`] (or than slots given).
    TooManyFields,
}

impl ResponseError {
    /// The status code to answer the client with: always 502 Bad Gateway,
    /// "an invalid response from an inbound server" (RFC 9110 §15.6.3).
    ///
    /// ```
    /// assert_eq!(wired_parser::ResponseError::HeadTooLarge.status(), 502);
    /// ```
    pub fn status(self) -> u16 {
        502
    }

    /// A short, human-readable reason, for logs.
    ///
    /// ```
    /// assert_eq!(wired_parser::ResponseError::ObsFold.reason(), "obsolete line folding");
    /// ```
    pub fn reason(self) -> &'static str {
        use ResponseError::*;
        match self {
            StatusLine => "malformed status line",
            Version => "not an HTTP/1.0 or HTTP/1.1 response",
            Status => "status code outside 100-599",
            FieldName => "invalid byte in a header name",
            FieldValue => "invalid byte in a header value",
            SpaceBeforeColon => "whitespace between header name and colon",
            ObsFold => "obsolete line folding",
            BareCr => "CR not followed by LF",
            BareLf => "LF not preceded by CR",
            TransferEncodingAndLength => "both Transfer-Encoding and Content-Length",
            ChunkedNotLast => "chunked is not the final transfer coding, or is applied twice",
            UnknownTransferCoding => "unsupported transfer coding",
            TransferEncodingHttp10 => "Transfer-Encoding in an HTTP/1.0 response",
            ConflictingLength => "conflicting Content-Length values",
            BadLength => "invalid Content-Length",
            SwitchWithoutUpgrade => "101 Switching Protocols without Upgrade",
            HeadTooLarge => "response head too large",
            TooManyFields => "too many header fields",
        }
    }
}

/// The request side names the faults that lines, fields and framing share;
/// they mean the same here, said of an upstream.
pub(super) fn shared(e: Error) -> ResponseError {
    match e {
        Error::FieldName => ResponseError::FieldName,
        Error::FieldValue => ResponseError::FieldValue,
        Error::SpaceBeforeColon => ResponseError::SpaceBeforeColon,
        Error::ObsFold => ResponseError::ObsFold,
        Error::BareCr => ResponseError::BareCr,
        Error::BareLf => ResponseError::BareLf,
        Error::TransferEncodingAndLength => ResponseError::TransferEncodingAndLength,
        Error::ChunkedNotLast => ResponseError::ChunkedNotLast,
        Error::UnknownTransferCoding => ResponseError::UnknownTransferCoding,
        Error::TransferEncodingHttp10 => ResponseError::TransferEncodingHttp10,
        Error::ConflictingLength => ResponseError::ConflictingLength,
        Error::BadLength => ResponseError::BadLength,
        Error::HeadersTooLarge => ResponseError::HeadTooLarge,
        // Request-only faults (method, target, Host, expectations) are
        // never produced from a response; a status line fault is the
        // closest honest name.
        _ => ResponseError::StatusLine,
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bad upstream response: {}", self.status(), self.reason())
    }
}

impl std::error::Error for ResponseError {}
