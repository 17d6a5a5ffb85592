//! The request head, read incrementally (RFC 9112 §2-§5).
//!
//! A server reads whatever the socket has and asks "is the head complete?".
//! [`HeadParser`] answers without re-reading what it already scanned: it
//! remembers where it stopped looking for the blank line that ends the head,
//! so a client that sends one byte at a time costs one byte of work per byte
//! (a slowloris defence, after picohttpparser). Only a complete head is handed
//! to `httparse`, which validates the grammar in one pass; then the fields the
//! server depends on (Host, framing, connection options) are read once.
//!
//! ```
//! use wired_parser::{EMPTY_HEADER, HeadParser, Limits, Status};
//!
//! let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
//! let mut parser = HeadParser::new();
//! // The bytes arrive one at a time; each call scans only what is new.
//! for end in 1..raw.len() {
//!     let mut fields = [EMPTY_HEADER; 4];
//!     assert_eq!(parser.parse(&raw[..end], &Limits::default(), &mut fields), Ok(Status::Partial));
//! }
//! let mut fields = [EMPTY_HEADER; 4];
//! assert!(matches!(parser.parse(raw, &Limits::default(), &mut fields), Ok(Status::Complete(_))));
//! ```

use memchr::memchr_iter;

use crate::connection::{self, ConnectionOptions};
use crate::framing::{Body, Framing};
use crate::{Error, Limits, Method};

/// A header field as it appears in the buffer: a name and a raw value.
pub use httparse::Header;

/// An empty header slot, to build the array the parser fills.
///
/// ```
/// let fields = [wired_parser::EMPTY_HEADER; 32]; // room for 32 fields, on the stack
/// assert_eq!(fields[0].name, "");
/// ```
pub const EMPTY_HEADER: Header<'static> = httparse::EMPTY_HEADER;

/// The protocol version of a request (RFC 9112 §2.3).
///
/// ```
/// # use wired_parser::*;
/// let mut fields = [EMPTY_HEADER; 4];
/// let raw = b"GET / HTTP/1.0\r\n\r\n";
/// let Ok(Status::Complete(req)) = HeadParser::new().parse(raw, &Limits::default(), &mut fields) else { panic!() };
/// assert_eq!(req.version, Version::Http10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
    /// HTTP/2 (RFC 9113): never parsed from a request line; a server's
    /// HTTP/2 connection gives its requests this version, so that what
    /// logs or passes on the version (the access log, CGI's
    /// SERVER_PROTOCOL) says how the request came.
    Http2,
}

impl Version {
    /// The version as written on the wire.
    ///
    /// ```
    /// assert_eq!(wired_parser::Version::Http10.as_str(), "HTTP/1.0");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
            Version::Http2 => "HTTP/2.0",
        }
    }
}

/// The answer to "is the head complete?".
///
/// ```
/// # use wired_parser::*;
/// let mut fields = [EMPTY_HEADER; 4];
/// let r = HeadParser::new().parse(b"GET / HTTP/1.1\r\n", &Limits::default(), &mut fields);
/// assert_eq!(r, Ok(Status::Partial)); // no blank line yet
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// Not yet: read more bytes and ask again with the whole buffer.
    Partial,
    /// Complete.
    Complete(T),
}

/// A complete, validated request head. Everything borrows the caller's buffer.
///
/// ```
/// # use wired_parser::*;
/// let raw = b"POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=1";
/// let mut fields = [EMPTY_HEADER; 8];
/// let Ok(Status::Complete(req)) = HeadParser::new().parse(raw, &Limits::default(), &mut fields) else { panic!() };
/// assert_eq!((req.method, req.target), (Method::Post, "/form"));
/// assert_eq!(req.body, Body::Length(3));
/// assert!(!req.keep_alive);
/// assert_eq!(req.host, Some(&b"example.com"[..]));
/// assert_eq!(&raw[req.head_len..], b"a=1"); // the body starts where the head ends
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'b, 'h> {
    /// The method (RFC 9110 §9).
    pub method: Method<'b>,
    /// The request target exactly as sent (see [`crate::target`] to interpret it).
    pub target: &'b str,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields in the order received.
    pub headers: &'h [Header<'b>],
    /// Bytes from the start of the buffer to the end of the blank line that
    /// ends the head, including any empty lines skipped before the request line.
    /// The body, or the next pipelined request, starts here.
    pub head_len: usize,
    /// How the body is delimited.
    pub body: Body,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// The client sent `Expect: 100-continue` (HTTP/1.1 only).
    pub expect_continue: bool,
    /// The `Upgrade` field value, when `Connection: upgrade` accompanies it.
    pub upgrade: Option<&'b [u8]>,
    /// The `Host` field value (absent only in HTTP/1.0 requests).
    pub host: Option<&'b [u8]>,
}

impl<'b> Request<'b, '_> {
    /// True when the field `name` belongs to this connection, not to the
    /// message (RFC 9110 §7.6.1): the fields that manage a connection, and
    /// any field the client named in `Connection` (see
    /// [`connection::is_hop_by_hop`]).
    ///
    /// ```
    /// # use wired_parser::*;
    /// let mut fields = [EMPTY_HEADER; 8];
    /// let raw = b"POST / HTTP/1.1\r\nHost: a\r\nConnection: X-Hop\r\nTransfer-Encoding: chunked\r\n\r\n";
    /// let Ok(Status::Complete(req)) = HeadParser::new().parse(raw, &Limits::default(), &mut fields) else { panic!() };
    /// assert!(req.is_hop_by_hop("transfer-encoding"));
    /// assert!(req.is_hop_by_hop("x-hop"));
    /// assert!(!req.is_hop_by_hop("host"));
    /// ```
    pub fn is_hop_by_hop(&self, name: &str) -> bool {
        connection::is_hop_by_hop(name, self.headers)
    }

    /// The value of the first field named `name` (case-insensitive).
    ///
    /// ```
    /// # use wired_parser::*;
    /// let mut fields = [EMPTY_HEADER; 8];
    /// let raw = b"GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    /// let Ok(Status::Complete(req)) = HeadParser::new().parse(raw, &Limits::default(), &mut fields) else { panic!() };
    /// assert_eq!(req.header("accept"), Some(&b"*/*"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }
}

/// Incremental head parser. Keep one per connection; call [`HeadParser::reset`]
/// before the next request.
///
/// ```
/// # use wired_parser::*;
/// let two = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
/// let mut parser = HeadParser::new();
/// let mut fields = [EMPTY_HEADER; 4];
/// let Ok(Status::Complete(first)) = parser.parse(two, &Limits::default(), &mut fields) else { panic!() };
/// let next = first.head_len;
/// parser.reset(); // the second request is parsed from its own first byte
/// let mut fields = [EMPTY_HEADER; 4];
/// let Ok(Status::Complete(second)) = parser.parse(&two[next..], &Limits::default(), &mut fields) else { panic!() };
/// assert_eq!(second.target, "/2");
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct HeadParser {
    /// Where the request line starts, once leading empty lines are skipped.
    start: usize,
    /// Every LF before this index has been checked.
    scanned: usize,
    /// The first byte of the request line has been seen.
    started: bool,
    /// The request line's LF has been seen.
    line_done: bool,
}

impl HeadParser {
    /// A parser at the start of a request.
    ///
    /// ```
    /// # use wired_parser::*;
    /// let mut fields = [EMPTY_HEADER; 4];
    /// assert_eq!(HeadParser::new().parse(b"", &Limits::default(), &mut fields), Ok(Status::Partial));
    /// ```
    pub fn new() -> Self {
        HeadParser::default()
    }

    /// Forget the last request, ready for the next one.
    ///
    /// ```
    /// # use wired_parser::*;
    /// let mut parser = HeadParser::new();
    /// let mut fields = [EMPTY_HEADER; 4];
    /// assert_eq!(parser.parse(b"GET /a HT", &Limits::default(), &mut fields), Ok(Status::Partial));
    /// parser.reset(); // forget that prefix: a new request starts
    /// let mut fields = [EMPTY_HEADER; 4];
    /// let r = parser.parse(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n", &Limits::default(), &mut fields);
    /// assert!(matches!(r, Ok(Status::Complete(req)) if req.target == "/b"));
    /// ```
    pub fn reset(&mut self) {
        *self = HeadParser::default();
    }

    /// Look at `buf` (all the bytes of this request read so far, starting at
    /// its first byte) and say whether the head is complete.
    ///
    /// `fields` is where header fields are written; at most
    /// `limits.max_headers` of its slots are used.
    ///
    /// ```
    /// # use wired_parser::*;
    /// let mut p = HeadParser::new();
    /// let mut fields = [EMPTY_HEADER; 8];
    /// assert_eq!(p.parse(b"GET / HT", &Limits::default(), &mut fields), Ok(Status::Partial));
    /// let mut fields = [EMPTY_HEADER; 8];
    /// let r = p.parse(b"GET / HTTP/1.0\r\n\r\n", &Limits::default(), &mut fields);
    /// assert!(matches!(r, Ok(Status::Complete(_))));
    /// ```
    pub fn parse<'b, 'h>(
        &mut self,
        buf: &'b [u8],
        limits: &Limits,
        fields: &'h mut [Header<'b>],
    ) -> Result<Status<Request<'b, 'h>>, Error> {
        if !self.skip_empty_lines(buf, limits)? {
            return Ok(Status::Partial);
        }
        let max = limits.max_headers.min(fields.len());
        let fields = fields.get_mut(..max).unwrap_or_default();
        let mut parsed = httparse::Request::new(fields);

        // Fast path, on the first look at a head: most heads arrive whole in
        // one read, so let httparse find the end itself, then check, in the
        // same pass that reads the fields, the two things it is lenient about
        // (bare LF, line length). Anything not accepted here goes to the
        // precise scan below, so both paths give the same answer however the
        // bytes are split.
        let mut first_look = None;
        if self.scanned == self.start {
            let window_end = buf.len().min(self.start.saturating_add(limits.max_head_bytes));
            let window = buf.get(self.start..window_end).unwrap_or_default();
            match parsed.parse(window) {
                Ok(httparse::Status::Complete(n)) => {
                    let lines = Lines { head: window.get(..n).unwrap_or_default(), limits };
                    match read_fields(&parsed, lines) {
                        Ok(Some(fields)) => return Ok(Status::Complete(fields.into_request(parsed, self.start + n))),
                        // A bare LF or a long line: the scan below names it.
                        Ok(None) => first_look = Some(Ok(httparse::Status::Complete(n))),
                        // A field error may hide a bare LF in a later line;
                        // the precise path decides which one to report.
                        Err(_) => {}
                    }
                }
                outcome => first_look = Some(outcome),
            }
        }

        // Precise path: scan line by line from where the last call stopped.
        let Some(end) = self.find_end(buf, limits)? else {
            return Ok(Status::Partial);
        };
        let head = buf.get(self.start..end).unwrap_or_default();
        match first_look {
            // httparse already saw this whole head and refused it.
            Some(Err(e)) => Err(diagnose(head, e)),
            // httparse accepted what the scan refuses, or the reverse; cannot
            // happen, but refusing is the safe answer.
            Some(Ok(_)) => Err(Error::RequestLine),
            None => match parsed.parse(head) {
                // The scan has checked the lines already; checking again is cheap here.
                Ok(httparse::Status::Complete(n)) if n == head.len() => {
                    match read_fields(&parsed, Lines { head, limits })? {
                        Some(fields) => Ok(Status::Complete(fields.into_request(parsed, end))),
                        None => Err(Error::RequestLine),
                    }
                }
                Ok(_) => Err(Error::RequestLine),
                Err(e) => Err(diagnose(head, e)),
            },
        }
    }

    /// Skip empty lines before the request line; false while more bytes are
    /// needed to see where it starts.
    fn skip_empty_lines(&mut self, buf: &[u8], limits: &Limits) -> Result<bool, Error> {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF)
        // received before the request line.
        while !self.started {
            match buf.get(self.start..).unwrap_or_default() {
                [b'\r', b'\n', ..] => self.start += 2,
                [b'\r', _, ..] => return Err(Error::BareCr),
                [b'\n', ..] => return Err(Error::BareLf),
                [b'\r'] | [] => return Ok(false),
                [_, ..] => {
                    self.started = true;
                    self.scanned = self.start;
                }
            }
            if self.start > limits.max_head_bytes {
                return Err(Error::HeadersTooLarge);
            }
        }
        Ok(true)
    }

    /// Find the end of the head line by line, remembering progress between calls.
    ///
    /// Nothing past the limits is looked at: a line or head too long is
    /// refused as such whatever follows, so the answer is the same whether
    /// the bytes beyond the limit arrived in the same read or never.
    fn find_end(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
        let from = self.scanned;
        let scan_end = buf.len().min(self.start.saturating_add(limits.max_head_bytes));
        let tail = buf.get(from..scan_end).unwrap_or_default();
        for i in memchr_iter(b'\n', tail) {
            let lf = from + i;
            if !self.line_done {
                self.line_done = true;
                if lf + 1 - self.start > limits.max_request_line {
                    return Err(Error::UriTooLong);
                }
            }
            // RFC 9112 §2.2: lines end in CRLF. A bare LF is something a
            // recipient MAY accept; wired does not, because two parsers that
            // disagree about line ends are a smuggling door.
            if lf == 0 || buf.get(lf - 1) != Some(&b'\r') {
                return Err(Error::BareLf);
            }
            if lf >= self.start + 3 && buf.get(lf - 3..=lf) == Some(b"\r\n\r\n") {
                return Ok(Some(lf + 1));
            }
        }
        self.scanned = scan_end.max(from);
        let seen = buf.len().saturating_sub(self.start);
        if !self.line_done && seen > limits.max_request_line {
            return Err(Error::UriTooLong);
        }
        if seen > limits.max_head_bytes {
            return Err(Error::HeadersTooLarge);
        }
        Ok(None)
    }
}

/// A head httparse accepted, for the two checks it is lenient about.
#[derive(Clone, Copy)]
struct Lines<'a> {
    /// The whole head; the fields point into it.
    head: &'a [u8],
    limits: &'a Limits,
}

impl Lines<'_> {
    /// The request line fits its limit and the head ends in a blank line.
    ///
    /// The request line ends where the first field starts (or the head ends).
    fn request_line_ok(&self, fields: &[Header<'_>]) -> bool {
        let base = self.head.as_ptr() as usize;
        let line_len =
            fields.first().map_or(self.head.len().saturating_sub(2), |f| (f.name.as_ptr() as usize).wrapping_sub(base));
        line_len <= self.limits.max_request_line && self.head.ends_with(b"\r\n\r\n")
    }

    /// The line before this field ends in CRLF (RFC 9112 §2.2).
    ///
    /// httparse refuses an LF inside a request line or a field value, and
    /// starts a field name only right after an LF, so the only LFs in an
    /// accepted head are line ends: the one just before each field name, and
    /// the two at the very end. Looking for the CR before each of those is
    /// far cheaper than looking at every byte again.
    fn crlf_before(&self, field: &Header<'_>) -> bool {
        let at = (field.name.as_ptr() as usize).wrapping_sub(self.head.as_ptr() as usize);
        self.head.get(at.wrapping_sub(2)) == Some(&b'\r')
    }
}

/// What the server relies on in a head, read in one pass over its fields.
/// It borrows only the buffer, so the field slots stay free until the head
/// is known to be good.
struct Fields<'b> {
    method: Method<'b>,
    target: &'b str,
    version: Version,
    body: Body,
    keep_alive: bool,
    expect_continue: bool,
    upgrade: Option<&'b [u8]>,
    host: Option<&'b [u8]>,
}

impl<'b> Fields<'b> {
    fn into_request<'h>(self, parsed: httparse::Request<'h, 'b>, head_len: usize) -> Request<'b, 'h> {
        Request {
            method: self.method,
            target: self.target,
            version: self.version,
            headers: parsed.headers,
            head_len,
            body: self.body,
            keep_alive: self.keep_alive,
            expect_continue: self.expect_continue,
            upgrade: self.upgrade,
            host: self.host,
        }
    }
}

/// Read the fields the server relies on, once, and settle framing; check
/// line ends and the request line's length on the way, and answer `None`
/// when they fail.
#[inline(always)]
fn read_fields<'b>(parsed: &httparse::Request<'_, 'b>, lines: Lines<'_>) -> Result<Option<Fields<'b>>, Error> {
    let headers: &[Header<'b>] = parsed.headers;
    if !lines.request_line_ok(headers) {
        return Ok(None);
    }
    let method = Method::from_token(parsed.method.ok_or(Error::Method)?);
    let target = parsed.path.ok_or(Error::Target)?;
    let version = match parsed.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(Error::VersionNotSupported),
    };
    let mut host = None;
    let mut framing = Framing::default();
    let mut options = ConnectionOptions::default();
    let mut expect_continue = false;
    let mut upgrade = None;
    for field in headers {
        if !lines.crlf_before(field) {
            return Ok(None);
        }
        let name = field.name.as_bytes();
        // Most fields are none of these: look at the first letter (folded to
        // lower case) before comparing whole names.
        match name.first().map_or(0, |b| b | 0x20) {
            b'h' if name_is(name, b"host") => {
                // RFC 9112 §3.2: exactly one Host.
                if host.is_some() {
                    return Err(Error::DuplicateHost);
                }
                host = Some(check_host(field.value)?);
            }
            b'c' if name_is(name, b"connection") => options.add(field.value),
            b'c' if name_is(name, b"content-length") => framing.content_length(field.value)?,
            b't' if name_is(name, b"transfer-encoding") => framing.transfer_encoding(field.value)?,
            // RFC 9110 §10.1.1: a server MUST ignore 100-continue in HTTP/1.0.
            b'e' if name_is(name, b"expect") && version == Version::Http11 => {
                expect_continue = connection::expect_continue(field.value)?;
            }
            b'u' if name_is(name, b"upgrade") => upgrade = Some(field.value),
            _ => {}
        }
    }
    // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
    if version == Version::Http11 && host.is_none() {
        return Err(Error::MissingHost);
    }
    let body = framing.finish(version)?;
    Ok(Some(Fields {
        method,
        target,
        version,
        body,
        keep_alive: options.persistent(version),
        expect_continue,
        // RFC 9110 §7.8: Upgrade only counts when listed in Connection.
        upgrade: upgrade.filter(|_| options.upgrade),
        host,
    }))
}

/// Bytes allowed in a Host value: unreserved, sub-delims, `%` for
/// pct-encoded, `:` for the port, `[` `]` for IP literals (RFC 3986 §3.2.2).
/// A comma is a sub-delim but never in a real host name; it is left out so
/// that two Host fields folded into one are caught.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let allowed = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%:[]!$&'()*+;=";
    let mut i = 0;
    while i < allowed.len() {
        table[allowed[i] as usize] = true;
        i += 1;
    }
    table
};

/// Whether a field name (a token, as httparse checked) is `lower`, ignoring
/// case (RFC 9110 §5.1). `lower` is lower-case letters and `-`; among token
/// characters only `X` and `x` fold to `x` under `| 0x20`, and `-` only to
/// itself, so one OR per byte is an exact case-insensitive comparison.
#[inline]
pub(crate) fn name_is(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).fold(true, |same, (a, b)| same & (a | 0x20 == *b))
}

/// Validate a Host value: `uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 3986 §3.2.2).
/// An empty value is allowed (RFC 9112 §3.2: sent when the target has no authority).
fn check_host(value: &[u8]) -> Result<&[u8], Error> {
    // No early exit: host names are short and a branch-free loop is faster.
    let ok = value.iter().fold(true, |ok, &b| ok & HOST_BYTES[usize::from(b)]);
    if !ok {
        // A comma means two values were folded into one field.
        return Err(if value.contains(&b',') { Error::DuplicateHost } else { Error::BadHost });
    }
    Ok(value)
}

/// Turn httparse's coarse error into the precise reason, looking at the bytes again.
/// This only runs on the error path, so the common case pays nothing for it.
fn diagnose(head: &[u8], e: httparse::Error) -> Error {
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let (line, rest) = head.split_at(line_end);
    // RFC 9112 §2.2: lines end in CRLF; the line-by-line scan would have
    // stopped at the first bare LF, so this is checked first to agree with it.
    if memchr_iter(b'\n', head).any(|i| i == 0 || head.get(i - 1) != Some(&b'\r')) {
        return Error::BareLf;
    }
    // RFC 9112 §2.2: a CR anywhere must be followed by LF.
    if memchr_iter(b'\r', head).any(|i| head.get(i + 1) != Some(&b'\n')) {
        return Error::BareCr;
    }
    match e {
        httparse::Error::HeaderName => field_name_error(rest.get(1..).unwrap_or_default()),
        httparse::Error::HeaderValue => Error::FieldValue,
        httparse::Error::TooManyHeaders => Error::HeadersTooLarge,
        httparse::Error::Version => version_error(line),
        // httparse says Token for both a bad method and a bad target.
        httparse::Error::Token => {
            let method = line.split(|&b| b == b' ').next().unwrap_or_default();
            if line.split(|&b| b == b' ').count() != 3 {
                Error::RequestLine
            } else if !method.is_empty() && method.len() < line.len() && method.iter().all(|&b| is_tchar(b)) {
                Error::Target
            } else {
                Error::Method
            }
        }
        _ => Error::RequestLine,
    }
}

/// Name what is wrong with field lines that httparse refused with
/// `HeaderName`. `field_lines` starts just after the start line's LF; the
/// response parser shares this, so both sides name a fault alike.
pub(crate) fn field_name_error(field_lines: &[u8]) -> Error {
    for field_line in field_lines.split(|&b| b == b'\n') {
        // RFC 9112 §5.2: obs-fold in a request MUST be rejected with 400
        // (and a proxy MUST reject or replace it in a response).
        if let Some(b' ' | b'\t') = field_line.first() {
            return Error::ObsFold;
        }
        let name_end = field_line.iter().position(|&b| b == b':');
        let name = name_end.and_then(|n| field_line.get(..n)).unwrap_or(field_line);
        // RFC 9112 §5.1: no whitespace between name and colon; MUST reject with 400.
        if name_end.is_some() && name.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
            return Error::SpaceBeforeColon;
        }
    }
    Error::FieldName
}

/// A token character (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §2.5 / §15.6.6: a well-formed version we do not speak is 505; a
/// malformed one is 400.
fn version_error(line: &[u8]) -> Error {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.split(|&b| b == b' ').count() != 3 {
        return Error::RequestLine;
    }
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Error::VersionNotSupported
        }
        _ => Error::Version,
    }
}

#[cfg(test)]
mod tests {
    use super::name_is;

    /// `name_is` folds case with one OR per byte; check that it agrees with
    /// `eq_ignore_ascii_case` for every token character (RFC 9110 §5.6.2)
    /// against every byte the known names are made of.
    #[test]
    fn name_is_is_exact_for_token_characters() {
        let tchars = (0u8..=255).filter(|&b| super::is_tchar(b));
        for b in tchars {
            for &t in b"abcdefghijklmnopqrstuvwxyz-" {
                assert_eq!(name_is(&[b], &[t]), [b].eq_ignore_ascii_case(&[t]), "{b:#x} against {t:#x}");
            }
        }
        assert!(name_is(b"Content-Length", b"content-length"));
        assert!(!name_is(b"Content-Lengt", b"content-length"));
    }
}
