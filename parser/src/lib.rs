//! # wired-parser: HTTP/1.1 requests from bytes, with no I/O
//!
//! This crate turns the bytes a server has read from a socket into a request it
//! can trust (and, when wired is a proxy, the response an upstream sends
//! back). It never touches a socket, a clock or the allocator on the hot
//! path: the caller owns the buffer, and everything returned borrows it.
//!
//! ## A tour, in the order a request meets it
//!
//! 1. [`head`]: [`HeadParser`] is fed the bytes read so far. It remembers how far
//!    it has scanned, so a head that dribbles in one byte at a time is not
//!    re-parsed from the start (a slowloris defence), finds the blank line that
//!    ends the head with `memchr`, enforces the [`Limits`], and only then hands
//!    the complete head to `httparse`. The answer is [`Status::Partial`] (read
//!    more), [`Status::Complete`] with a [`Request`], or an [`Error`] that knows
//!    its status code.
//! 2. [`framing`]: from the header fields, decide how the body is delimited
//!    (RFC 9112 §6): no body, exactly N bytes, or chunked — or refuse the
//!    request, because ambiguous framing is how requests are smuggled.
//! 3. [`connection`]: keep-alive or close, `Expect: 100-continue`, `Upgrade`,
//!    and the `Host` rule; token lists parsed per RFC 9110 §5.6.1.
//! 4. [`chunked`]: a resumable decoder for chunked bodies that can be fed any
//!    slicing of the input and yields body bytes without copying.
//! 5. [`target`]: the request target's four forms, percent-decoding and
//!    dot-segment removal into a path that cannot climb above `/`.
//! 6. [`values`]: small parsers for the header values a file server needs:
//!    HTTP dates, `Range`, entity tags, `Accept-Encoding`.
//! 7. [`fastcgi`]: when a request is handed to an application such as
//!    php-fpm, the FastCGI 1.0 records that carry it there (an encoder into
//!    the caller's `Vec<u8>`) and the records that bring the answer back (a
//!    resumable decoder that hands out STDOUT and STDERR without copying).
//! 8. [`websocket`]: after an `Upgrade: websocket` request, the handshake
//!    check and `Sec-WebSocket-Accept` (RFC 6455 §4), then a resumable frame
//!    decoder that unmasks in place and enforces §5's rules, with UTF-8
//!    validation of text as it arrives, and the encoder for server frames.
//! 9. [`response`]: when wired is a reverse proxy, the upstream's answer
//!    comes back the other way. [`ResponseParser`] reads its head
//!    incrementally as [`HeadParser`] reads a request's, and as strictly,
//!    because what it accepts goes on to a client: any head two recipients
//!    could read differently is a [`ResponseError`] (always 502). A
//!    [`Response`] says how its body is delimited given the request
//!    ([`ResponseTo`], RFC 9112 §6.3), whether the upstream connection may be
//!    reused, whether it is interim (1xx) or a switch to a tunnel (101), and
//!    which of its fields are end-to-end and go on.
//! 10. [`http2`]: groundwork for HTTP/2 (RFC 9113): the connection preface
//!     that tells a cleartext HTTP/2 client from an HTTP/1.1 one, a decoder
//!     that reads whole frames as typed views of the caller's buffer and
//!     refuses any that break a rule of §4 or §6 with the §7 error code and
//!     whether the stream or the connection is lost, the encoder for the
//!     frames a server sends, and the header compression, HPACK (RFC 7541),
//!     in [`http2::hpack`]: a [`Decoder`] that reads a whole header block
//!     into fields, refusing any block that breaks §5 and §6 or expands past
//!     the header-list limit (the "HPACK bomb"), and an [`Encoder`] that
//!     writes a response's fields back as one.
//!
//! [`Decoder`]: http2::hpack::Decoder
//! [`Encoder`]: http2::hpack::Encoder
//!
//! ```
//! use wired_parser::{HeadParser, Limits, Status, Body};
//!
//! let bytes = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
//! let mut parser = HeadParser::new();
//! let mut fields = [wired_parser::EMPTY_HEADER; 16];
//! match parser.parse(bytes, &Limits::default(), &mut fields) {
//!     Ok(Status::Complete(req)) => {
//!         assert_eq!(req.target, "/index.html");
//!         assert_eq!(req.body, Body::None);
//!         assert!(req.keep_alive);
//!         assert_eq!(req.head_len, bytes.len());
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chunked;
pub mod connection;
pub mod error;
pub mod fastcgi;
pub mod framing;
pub mod head;
pub mod http2;
pub mod limits;
pub mod method;
pub mod response;
pub mod target;
pub mod values;
pub mod websocket;

pub use chunked::{ChunkedDecoder, Decoded};
pub use error::Error;
pub use framing::Body;
pub use head::{EMPTY_HEADER, HeadParser, Header, Request, Status, Version};
pub use limits::Limits;
pub use method::Method;
pub use response::{Response, ResponseBody, ResponseError, ResponseParser, ResponseTo};

/// Helpers the decoders' table tests share.
#[cfg(test)]
pub(crate) mod test_cuts {
    /// The cut points to try on an input of `len` bytes: all of them for a
    /// short input; for a long one, every point in the first and last 300
    /// bytes and every 997th between (each cut replays the whole input).
    pub fn cut_points(len: usize) -> Vec<usize> {
        if len <= 1000 {
            return (0..=len).collect();
        }
        (0..=len).filter(|&c| c < 300 || c > len - 300 || c % 997 == 0).collect()
    }
}
