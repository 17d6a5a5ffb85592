//! The response head an upstream server sends back, read incrementally, for
//! a reverse proxy (RFC 9112 §4-§6).
//!
//! When wired forwards a request, the upstream's answer comes back on a
//! connection wired opened, and whatever wired accepts from it goes on to a
//! client. So the parser is as strict as the request side, and for the same
//! reason: a head that two recipients could read differently (two lengths,
//! a folded line, a bare CR) lets a broken or hostile upstream split one
//! response into two, and the second one would reach the next client on a
//! kept-alive connection (response splitting, RFC 9112 §11.1). Every such
//! head is refused with a [`ResponseError`], which a proxy answers with
//! `502 Bad Gateway` (RFC 9110 §15.6.3) and by closing the upstream
//! connection.
//!
//! [`ResponseParser`] works like [`HeadParser`](crate::HeadParser): it is fed
//! the whole buffer read so far, remembers how far it has looked for the
//! blank line, and refuses a head as soon as it passes
//! [`Limits::max_head_bytes`], so neither a dribbled head nor an endless one
//! costs more than one look per byte. Bytes that cannot begin an HTTP/1.x
//! status line (an HTTP/0.9 body, an HTTP/2 preface) are refused at the
//! first wrong byte. A complete head is then handed to `httparse`.
//!
//! The facts a proxy needs come with the head: how the body is delimited,
//! which depends on the request ([`ResponseTo`]) as well as the response
//! (RFC 9112 §6.3); whether the upstream connection may be used again;
//! whether it is an interim response, after which the real one follows; and
//! which fields are end-to-end, to be forwarded.
//!
//! ```
//! use wired_parser::{EMPTY_HEADER, Limits, ResponseBody, ResponseParser, ResponseTo, Status};
//!
//! let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
//! let mut fields = [EMPTY_HEADER; 16];
//! let Ok(Status::Complete(resp)) = ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
//! else {
//!     panic!()
//! };
//! assert_eq!((resp.status, resp.reason), (200, &b"OK"[..]));
//! assert_eq!(resp.body, ResponseBody::Length(5));
//! assert!(resp.keep_alive);
//! assert_eq!(&raw[resp.head_len..], b"hello");
//! // Connection and Keep-Alive stay on this hop; Content-Length goes on.
//! assert_eq!(resp.end_to_end().map(|f| f.name).collect::<Vec<_>>(), ["Content-Length"]);
//! ```

mod error;
mod parse;

pub use error::ResponseError;
pub use parse::ResponseParser;

use crate::Method;
use crate::Version;
use crate::connection;
use crate::head::Header;
#[cfg(doc)]
use crate::{Limits, Status};

/// What the request this response answers was, as far as the response's
/// framing depends on it (RFC 9112 §6.3 rules 1 and 2).
///
/// ```
/// use wired_parser::{Method, ResponseTo};
/// assert_eq!(ResponseTo::of(&Method::Head), ResponseTo::Head);
/// assert_eq!(ResponseTo::of(&Method::Post), ResponseTo::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseTo {
    /// A `HEAD` request: the response has no body, whatever its fields say.
    Head,
    /// A `CONNECT` request: a 2xx response turns the connection into a tunnel.
    Connect,
    /// Any other method.
    Other,
}

impl ResponseTo {
    /// The kind of request a method makes.
    ///
    /// ```
    /// use wired_parser::{Method, ResponseTo};
    /// assert_eq!(ResponseTo::of(&Method::Connect), ResponseTo::Connect);
    /// assert_eq!(ResponseTo::of(&Method::Other("head")), ResponseTo::Other); // methods are case-sensitive
    /// ```
    pub fn of(method: &Method<'_>) -> ResponseTo {
        match method {
            Method::Head => ResponseTo::Head,
            Method::Connect => ResponseTo::Connect,
            _ => ResponseTo::Other,
        }
    }
}

/// What follows a response head on the upstream connection (RFC 9112 §6.3).
///
/// ```
/// # use wired_parser::*;
/// let raw = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";
/// let mut fields = [EMPTY_HEADER; 4];
/// let Ok(Status::Complete(resp)) = ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
/// else { panic!() };
/// assert_eq!(resp.body, ResponseBody::UntilClose); // no length: the body ends when the upstream closes
/// assert!(!resp.keep_alive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// Nothing: the next response, if any, starts right after the head. A
    /// response to HEAD, a 1xx other than 101, 204 and 304 (rule 1), and
    /// `Content-Length: 0`.
    None,
    /// Exactly this many bytes (rule 6).
    Length(u64),
    /// A chunked body (rule 4), to read with [`ChunkedDecoder`](crate::ChunkedDecoder).
    Chunked,
    /// Everything until the upstream closes the connection (rule 8): neither
    /// `Content-Length` nor `Transfer-Encoding` was sent.
    UntilClose,
    /// No HTTP at all any more: from the end of the head the connection
    /// carries bytes both ways until either side closes. After a 101
    /// Switching Protocols (RFC 9110 §15.2.2), and after a 2xx to CONNECT
    /// (rule 2, whose `Content-Length` and `Transfer-Encoding` are ignored).
    Tunnel,
}

/// A complete, validated response head. Everything borrows the caller's buffer.
///
/// ```
/// # use wired_parser::*;
/// let raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n";
/// let mut fields = [EMPTY_HEADER; 4];
/// let Ok(Status::Complete(resp)) = ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
/// else { panic!() };
/// assert_eq!((resp.version, resp.status), (Version::Http11, 404));
/// assert_eq!(resp.body, ResponseBody::Chunked);
/// assert_eq!(resp.head_len, raw.len());
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Response<'b, 'h> {
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The status code, 100 to 599.
    pub status: u16,
    /// The reason phrase, possibly empty. It means nothing (RFC 9112 §4: a
    /// client SHOULD ignore it) but is forwarded as it came.
    pub reason: &'b [u8],
    /// The header fields in the order received, hop-by-hop ones included.
    pub headers: &'h [Header<'b>],
    /// Bytes from the start of the buffer to the end of the blank line that
    /// ends the head. The body, or the next response, starts here.
    pub head_len: usize,
    /// What follows the head.
    pub body: ResponseBody,
    /// Whether the upstream connection may carry another request after this
    /// response (RFC 9112 §9.3): HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`, and never when the body
    /// runs until close or the connection becomes a tunnel. It is the final
    /// response's that counts, not an interim one's.
    pub keep_alive: bool,
    /// The `Upgrade` field of a 101 Switching Protocols: the protocol the
    /// connection speaks from the end of the head (RFC 9110 §7.8). `None`
    /// for every other status, where `Upgrade` only advertises. Whether the
    /// client asked for that protocol is for the proxy to check (RFC 9110
    /// §7.8: a server MUST NOT switch to a protocol the client did not offer).
    pub upgrade: Option<&'b [u8]>,
}

impl<'b, 'h> Response<'b, 'h> {
    /// An interim response (1xx other than 101, RFC 9110 §15.2): forward it
    /// if the client can take it, then parse the next head, the real answer,
    /// from [`Response::head_len`]. 101 is not interim here: it ends HTTP on
    /// the connection (its [`body`](Response::body) is a tunnel).
    ///
    /// ```
    /// # use wired_parser::*;
    /// let raw = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    /// let (limits, mut parser) = (Limits::default(), ResponseParser::new());
    /// let mut fields = [EMPTY_HEADER; 4];
    /// let Ok(Status::Complete(hints)) = parser.parse(raw, &limits, ResponseTo::Other, &mut fields) else { panic!() };
    /// assert!(hints.is_interim() && hints.body == ResponseBody::None);
    /// parser.reset();
    /// let mut fields = [EMPTY_HEADER; 4];
    /// let rest = &raw[hints.head_len..];
    /// let Ok(Status::Complete(done)) = parser.parse(rest, &limits, ResponseTo::Other, &mut fields) else { panic!() };
    /// assert!(!done.is_interim() && done.status == 200);
    /// ```
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// True when the field `name` belongs to the upstream connection, not to
    /// the response (RFC 9110 §7.6.1): see [`connection::is_hop_by_hop`].
    ///
    /// ```
    /// # use wired_parser::*;
    /// let raw = b"HTTP/1.1 200 OK\r\nConnection: X-Trace\r\nX-Trace: 1\r\nContent-Length: 0\r\n\r\n";
    /// let mut fields = [EMPTY_HEADER; 4];
    /// let Ok(Status::Complete(resp)) = ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
    /// else { panic!() };
    /// assert!(resp.is_hop_by_hop("x-trace") && resp.is_hop_by_hop("Connection"));
    /// assert!(!resp.is_hop_by_hop("content-length"));
    /// ```
    pub fn is_hop_by_hop(&self, name: &str) -> bool {
        connection::is_hop_by_hop(name, self.headers)
    }

    /// The end-to-end fields, in order: the ones a proxy forwards. What it
    /// leaves out is [`Response::is_hop_by_hop`].
    ///
    /// The framing a proxy writes for its own client is its own, decided
    /// from [`Response::body`]: `Transfer-Encoding` is never among these, and
    /// an upstream may even name `Content-Length` in `Connection`.
    ///
    /// ```
    /// # use wired_parser::*;
    /// let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\nETag: \"x\"\r\n\r\n";
    /// let mut fields = [EMPTY_HEADER; 4];
    /// let Ok(Status::Complete(resp)) = ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
    /// else { panic!() };
    /// let names: Vec<&str> = resp.end_to_end().map(|f| f.name).collect();
    /// assert_eq!(names, ["ETag"]);
    /// ```
    pub fn end_to_end(&self) -> impl Iterator<Item = &'h Header<'b>> {
        self.headers.iter().filter(|f| !self.is_hop_by_hop(f.name))
    }

    /// The value of the first field named `name` (case-insensitive).
    ///
    /// ```
    /// # use wired_parser::*;
    /// let raw = b"HTTP/1.1 204 No Content\r\nETag: \"v1\"\r\n\r\n";
    /// let mut fields = [EMPTY_HEADER; 4];
    /// let Ok(Status::Complete(resp)) = ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
    /// else { panic!() };
    /// assert_eq!(resp.header("etag"), Some(&b"\"v1\""[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }
}
