//! What a handler answers: a status, header fields, and where the body comes from.
//!
//! Handlers never touch sockets. They write their header fields into a
//! [`Fields`] buffer (reused from request to request, so no allocation) and
//! return a [`Reply`] whose [`Body`] says where the bytes are: in memory, in a
//! file (sent with `sendfile`), or in several pieces (multipart ranges). The
//! connection code adds the status line, `Date`, `Server`, framing and
//! `Connection` fields, and does the I/O.

use std::fs::File;
use std::io::Write;
use std::rc::Rc;

/// Header fields written by a handler, as raw `Name: value\r\n` lines.
#[derive(Debug, Default)]
pub struct Fields {
    buf: Vec<u8>,
}

impl Fields {
    /// An empty field buffer with room for a typical head.
    pub fn new() -> Self {
        Fields { buf: Vec::with_capacity(512) }
    }

    /// Forget the previous response's fields, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Add `name: value`. Callers pass names and values that are already
    /// valid field syntax (RFC 9110 §5.5): values with CR or LF are dropped,
    /// so nothing a file name or script says can split the head.
    pub fn add(&mut self, name: &str, value: &[u8]) {
        if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
            log::warn!("dropped header field {name} with a control byte in its value");
            return;
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Add a field whose value is a decimal number.
    pub fn add_u64(&mut self, name: &str, value: u64) {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        let _ = write!(self.buf, "{value}");
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Add ready-made field lines (each ending in CRLF), such as a head
    /// precomputed by the open-file cache.
    pub fn add_raw(&mut self, lines: &[u8]) {
        self.buf.extend_from_slice(lines);
    }

    /// The field lines written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Each field line's name and value, in order.
    pub fn lines(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        field_lines(&self.buf)
    }

    /// The value of the first field named `name` (any case).
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.lines().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
    }

    /// Take out every field named `name`, returning the first one's value.
    pub fn remove(&mut self, name: &str) -> Option<Vec<u8>> {
        let mut first = None;
        let mut kept = Vec::with_capacity(self.buf.len());
        for (n, v) in self.lines() {
            if n.eq_ignore_ascii_case(name.as_bytes()) {
                first.get_or_insert_with(|| v.to_vec());
                continue;
            }
            kept.extend_from_slice(n);
            kept.extend_from_slice(b": ");
            kept.extend_from_slice(v);
            kept.extend_from_slice(b"\r\n");
        }
        if first.is_some() {
            self.buf = kept;
        }
        first
    }
}

/// Each `Name: value\r\n` line's name and value, in order.
/// (Lines not ending in CR, and lines without a colon, are skipped.)
/// `memchr` finds each line's end and its colon: every HTTP/2 response's
/// fields pass through here.
pub fn field_lines(buf: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let (line, tail) = match memchr::memchr(b'\n', rest) {
                Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i + 1..).unwrap_or_default()),
                None => (rest, &b""[..]),
            };
            rest = tail;
            let Some(line) = line.strip_suffix(b"\r") else { continue };
            let Some(colon) = memchr::memchr(b':', line) else { continue };
            if let (Some(name), Some(value)) = (line.get(..colon), line.get(colon + 1..)) {
                return Some((name, value.trim_ascii()));
            }
        }
        None
    })
}

/// A piece of a response body held in a file: `len` bytes from `offset`.
#[derive(Debug, Clone)]
pub struct FileSlice {
    /// The open file, shared with the open-file cache.
    pub file: Rc<File>,
    /// Where the slice starts in the file.
    pub offset: u64,
    /// How many bytes to send.
    pub len: u64,
    /// The whole file's bytes, for files small enough to keep in memory:
    /// `offset` and `len` then index into this, and the body is copied into
    /// the output buffer beside its head (one write, and pipelined responses
    /// batch) instead of costing a `sendfile` of its own.
    pub memory: Option<Rc<[u8]>>,
}

impl FileSlice {
    /// Mark `n` more bytes as sent.
    pub fn advance(&mut self, n: usize) {
        let n = (n as u64).min(self.len);
        self.offset += n;
        self.len -= n;
    }

    /// The slice's bytes, when the file is held in memory.
    pub fn in_memory(&self) -> Option<&[u8]> {
        let memory = self.memory.as_deref()?;
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.len).ok()?)?;
        memory.get(start..end)
    }
}

/// One part of a body sent in pieces (`multipart/byteranges`, RFC 9110 §14.6).
#[derive(Debug, Clone)]
pub enum Part {
    /// Bytes in memory (a part's boundary and header lines).
    Bytes(Vec<u8>),
    /// Bytes from a file.
    File(FileSlice),
}

impl Part {
    /// A part of a file not held in memory: read from disk as it is sent.
    pub fn reads_disk(&self) -> bool {
        matches!(self, Part::File(f) if f.memory.is_none())
    }
}

/// Where a response body comes from.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body: a zero-length one (`Content-Length: 0`), or none at all for
    /// 1xx, 204 and 304 (RFC 9110 §6.4.1).
    #[default]
    Empty,
    /// A body fixed at compile time (error pages, the built-in pages).
    Static(&'static [u8]),
    /// A body made for this request (a directory listing, an error page).
    Owned(Vec<u8>),
    /// A body in a file, sent with `sendfile`.
    File(FileSlice),
    /// A body in several pieces.
    Parts(Vec<Part>),
}

impl Body {
    /// The number of bytes this body holds.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Static(b) => b.len() as u64,
            Body::Owned(b) => b.len() as u64,
            Body::File(f) => f.len,
            Body::Parts(parts) => parts
                .iter()
                .map(|p| match p {
                    Part::Bytes(b) => b.len() as u64,
                    Part::File(f) => f.len,
                })
                .sum(),
        }
    }

    /// True when the body holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Some of the body is read from disk as it is sent (a file, or a part
    /// of one, not held in memory).
    pub fn reads_disk(&self) -> bool {
        match self {
            Body::File(f) => f.memory.is_none(),
            Body::Parts(parts) => parts.iter().any(Part::reads_disk),
            _ => false,
        }
    }

    /// The whole body as one slice, when it is in memory in one piece.
    pub fn in_memory(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Static(b) => Some(b),
            Body::Owned(b) => Some(b),
            Body::File(f) => f.in_memory(),
            Body::Parts(_) => None,
        }
    }
}

/// A handler's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Body,
    /// Close the connection after this response.
    pub close: bool,
}

impl Reply {
    /// A reply with a status and a body.
    pub fn new(status: u16, body: Body) -> Self {
        Reply { status, body, close: false }
    }
}

/// The reason phrase for a status code (RFC 9110 §15). Clients ignore it
/// (RFC 9112 §4), but people reading a trace do not.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Whether a response with this status to this method carries no body at all
/// (RFC 9110 §6.4.1: 1xx, 204 and 304 never do; a HEAD response never does).
pub fn bodiless(status: u16, head_request: bool) -> bool {
    head_request || status < 200 || status == 204 || status == 304
}
