//! The FastCGI 1.0 record codec: what a web server sends to an application
//! such as php-fpm, and how it reads the answer. No I/O, like the rest of
//! the crate: the `encode_*` functions append records to a caller's `Vec<u8>`, and
//! [`Decoder`] reads records out of the caller's read buffer without copying.
//!
//! ## One request on the wire
//!
//! Everything travels in records (FastCGI 1.0 §3.3): an 8-byte header
//! (version 1, type, request id, content length, padding length, a reserved
//! byte), up to 65535 bytes of content, and up to 255 bytes of padding that
//! the receiver skips. A *stream* (PARAMS, STDIN, STDOUT, STDERR) is any
//! number of non-empty records of one type ended by an empty one.
//!
//! ```text
//!  web server ──> application                    application ──> web server
//!  BEGIN_REQUEST  role RESPONDER, KEEP_CONN       STDOUT  "Status: 200 OK\r\n…"
//!  PARAMS         name-value pairs (§3.4)         STDERR  "PHP Notice: …"   (any time)
//!  PARAMS         …                               STDOUT  "…body…"
//!  PARAMS         (empty: end of params)          STDOUT  (empty: end of stdout, §5.3)
//!  STDIN          request body                    END_REQUEST appStatus, protocolStatus (§5.5)
//!  STDIN          (empty: end of body)
//! ```
//!
//! The web server writes the left column with [`encode_begin`],
//! [`encode_params`] (or a [`ParamsEncoder`], fed a pair at a time),
//! [`encode_end_of_params`], [`encode_stdin`] (or a [`stdin_header`]
//! followed by the body bytes straight from its own buffer) and
//! [`encode_end_of_stdin`]; [`encode_abort`] asks the application
//! to give up (§5.4). It reads the right column with a [`Decoder`] made for
//! the request id it chose: STDOUT and STDERR content is handed out in
//! pieces as it arrives, never buffered whole, and END_REQUEST ends the
//! exchange. Management records (request id 0, §4) ask the application
//! about itself: [`encode_get_values`] and [`Event::Values`].
//!
//! With `FCGI_KEEP_CONN` (§5.1) the application keeps the connection open
//! after END_REQUEST and sends nothing more until the next BEGIN_REQUEST, so
//! the decoder refuses bytes after END_REQUEST; [`Decoder::reset`] prepares it
//! for the next request on the same connection.
//!
//! ```
//! use wired_parser::fastcgi::{self, Decoder, Event, ProtocolStatus};
//!
//! let mut out = Vec::new();
//! fastcgi::encode_begin(&mut out, 1, true);
//! fastcgi::encode_params(&mut out, 1, [(&b"SCRIPT_FILENAME"[..], &b"/srv/index.php"[..])]);
//! fastcgi::encode_end_of_params(&mut out, 1);
//! fastcgi::encode_end_of_stdin(&mut out, 1);
//! assert_eq!(out.len() % 8, 0); // every record is padded to a multiple of 8 (§3.3)
//!
//! // The answer: "hi" on stdout, the end of stdout, END_REQUEST.
//! let answer = b"\x01\x06\x00\x01\x00\x02\x00\x00hi\
//!                \x01\x06\x00\x01\x00\x00\x00\x00\
//!                \x01\x03\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
//! let mut dec = Decoder::new(1);
//! let d = dec.decode(answer)?;
//! assert_eq!(d.event, Event::Stdout(8..10));
//! let rest = &answer[d.consumed..];
//! let d2 = dec.decode(rest)?;
//! assert_eq!(d2.event, Event::StdoutEnd);
//! let d3 = dec.decode(&rest[d2.consumed..])?;
//! assert_eq!(d3.event, Event::End { app_status: 0, protocol_status: ProtocolStatus::RequestComplete });
//! assert!(dec.is_done());
//! # Ok::<(), fastcgi::Error>(())
//! ```

use core::fmt;

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{Decoded, Decoder, Event, MAX_VALUES_BYTES, NameValuePairs, ProtocolStatus, name_value_pairs};
pub use encode::{
    ParamsEncoder, encode_abort, encode_begin, encode_end_of_params, encode_end_of_stdin, encode_get_values,
    encode_params, encode_stdin, stdin_header,
};

/// `FCGI_VERSION_1`, the only version there is (§3.3, §8).
pub const VERSION_1: u8 = 1;
/// Length of a record header, and of the fixed bodies of BEGIN_REQUEST,
/// END_REQUEST and UNKNOWN_TYPE (§3.3, §8: `FCGI_HEADER_LEN`).
pub const HEADER_LEN: usize = 8;
/// Most content one record can carry: its length is a 16-bit field (§3.3).
pub const MAX_CONTENT_LEN: usize = 0xFFFF;
/// The request id of management records (§3.3, §8: `FCGI_NULL_REQUEST_ID`).
pub const NULL_REQUEST_ID: u16 = 0;

/// `FCGI_BEGIN_REQUEST` (§5.1), web server to application.
pub const FCGI_BEGIN_REQUEST: u8 = 1;
/// `FCGI_ABORT_REQUEST` (§5.4), web server to application.
pub const FCGI_ABORT_REQUEST: u8 = 2;
/// `FCGI_END_REQUEST` (§5.5), application to web server.
pub const FCGI_END_REQUEST: u8 = 3;
/// `FCGI_PARAMS` (§5.2), a stream from web server to application.
pub const FCGI_PARAMS: u8 = 4;
/// `FCGI_STDIN` (§5.3), a stream from web server to application.
pub const FCGI_STDIN: u8 = 5;
/// `FCGI_STDOUT` (§5.3), a stream from application to web server.
pub const FCGI_STDOUT: u8 = 6;
/// `FCGI_STDERR` (§5.3), a stream from application to web server.
pub const FCGI_STDERR: u8 = 7;
/// `FCGI_DATA` (§5.3), the filter role's second input; wired never sends it.
pub const FCGI_DATA: u8 = 8;
/// `FCGI_GET_VALUES` (§4.1), a management record to the application.
pub const FCGI_GET_VALUES: u8 = 9;
/// `FCGI_GET_VALUES_RESULT` (§4.1), the application's answer.
pub const FCGI_GET_VALUES_RESULT: u8 = 10;
/// `FCGI_UNKNOWN_TYPE` (§4.2): the application did not understand a management record.
pub const FCGI_UNKNOWN_TYPE: u8 = 11;

/// `FCGI_RESPONDER` (§6.2), the only role wired asks for.
pub const FCGI_RESPONDER: u16 = 1;
/// `FCGI_KEEP_CONN` (§5.1): the application keeps the connection open after the request.
pub const FCGI_KEEP_CONN: u8 = 1;

/// What is wrong with the records an application sent.
///
/// Every one of them means the application cannot be understood, so the
/// client gets 502 Bad Gateway (RFC 9110 §15.6.3) — if no part of the
/// response has been sent yet — and the connection to the application is
/// closed rather than reused: its records can no longer be delimited.
///
/// ```
/// use wired_parser::fastcgi::Error;
/// assert_eq!(Error::Version.to_string(), "502 FastCGI record version is not 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A record header whose version is not `FCGI_VERSION_1` (§3.3).
    Version,
    /// An application record for another request, or a management record
    /// (§4) whose request id is not 0.
    RequestId,
    /// A record type a web server never receives: BEGIN_REQUEST, PARAMS,
    /// STDIN, DATA, GET_VALUES, ABORT_REQUEST or an unknown one (§8).
    RecordType,
    /// An END_REQUEST (§5.5) or UNKNOWN_TYPE (§4.2) whose content is not 8 bytes.
    BodyLength,
    /// An END_REQUEST whose protocolStatus is not one of the four of §5.5.
    UnknownProtocolStatus,
    /// A GET_VALUES_RESULT longer than [`MAX_VALUES_BYTES`].
    ValuesTooLarge,
    /// Name-value pairs (§3.4) whose lengths run past the content.
    NameValue,
    /// STDOUT or STDERR content after that stream's empty record (§3.3).
    AfterStreamEnd,
    /// Bytes after END_REQUEST: the application may send nothing more until
    /// the next BEGIN_REQUEST (§5.1, §5.5).
    AfterEnd,
}

impl Error {
    /// The status code the client should get: always 502 Bad Gateway.
    ///
    /// ```
    /// assert_eq!(wired_parser::fastcgi::Error::RequestId.status(), 502);
    /// ```
    pub fn status(self) -> u16 {
        502
    }

    /// A short, human-readable reason, for logs.
    ///
    /// ```
    /// assert_eq!(wired_parser::fastcgi::Error::AfterEnd.reason(), "FastCGI bytes after END_REQUEST");
    /// ```
    pub fn reason(self) -> &'static str {
        use Error::*;
        match self {
            Version => "FastCGI record version is not 1",
            RequestId => "FastCGI record for another request",
            RecordType => "unexpected FastCGI record type",
            BodyLength => "FastCGI END_REQUEST or UNKNOWN_TYPE body is not 8 bytes",
            UnknownProtocolStatus => "unknown FastCGI protocol status",
            ValuesTooLarge => "FastCGI GET_VALUES_RESULT too large",
            NameValue => "malformed FastCGI name-value pairs",
            AfterStreamEnd => "FastCGI stream data after its end",
            AfterEnd => "FastCGI bytes after END_REQUEST",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.reason())
    }
}

impl std::error::Error for Error {}
