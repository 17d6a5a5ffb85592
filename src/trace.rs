//! `--trace`: an annotated account of what crosses the wire, for people
//! learning HTTP.
//!
//! Every line starts with the connection it is about — `[w0 c3]` is the third
//! connection accepted by worker 0 — and, when it is an event on the
//! connection, the time since `accept()`. Bytes are shown one wire line per
//! text line, after a `|`, with CR, LF and control bytes made visible:
//!
//! ```text
//! [w0 c1 +0.21ms] <- recvfrom(): 40 bytes
//!     | GET /hello.txt HTTP/1.1\r\n
//!     | Host: a\r\n
//!     | \r\n
//! [w0 c1 +0.30ms] request 1: GET /hello.txt HTTP/1.1 (head 40 bytes, 1 field)
//!     body:       none: neither Content-Length nor Transfer-Encoding (RFC 9112 §6.3 rule 7)
//!     connection: keep-alive: HTTP/1.1 persists unless the client says close (RFC 9112 §9.3)
//! ```
//!
//! What is shown, in the order a request meets it: the bytes each
//! `recvfrom` brought (a long body abridged, with a count); what the parser
//! decided and why, with the RFC section (method, target, framing,
//! persistence, or the error and its status); the response head as queued;
//! where the body comes from; each system call that sent bytes (`sendto`,
//! `sendmsg`, `sendto(MSG_MORE)`, `sendfile`) with its byte count; and, last,
//! why the connection closed. The calls are named as `strace` shows them:
//! Rust's `read` and `write` on a socket, and libc's `send`, are `recvfrom`
//! and `sendto` on Linux.
//!
//! Each event is formatted into one block and written whole with one
//! `write_all`, so with several workers two connections' lines never
//! interleave inside a block. A tracer is fed plain records — a [`Who`],
//! bytes, a parsed head, numbers — never a connection; the helpers in
//! `conn/observe.rs` build them. When tracing is off, each of those helpers
//! is one `is_none` check and returns before anything is formatted; a note
//! that needs a message built passes `format_args!`, which formats nothing
//! until it is written.

use std::fmt::{self, Write as _};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Instant;

use wired_parser::{Body as ReqBody, Error, Request, Version};

use crate::config::TraceTarget;
use crate::response::{Body, Part, Reply};
use crate::tls::{HelloInfo, TlsInfo};

/// Which connection an event is about: the plain record a tracer is fed,
/// so it never sees a connection's insides.
#[derive(Debug, Clone, Copy)]
pub struct Who {
    /// The connection's number within its worker (`c3`).
    pub serial: u64,
    /// When it was accepted, for the `+1.25ms` stamps.
    pub accepted: Instant,
}

/// The system call that sent a response's bytes, as the trace names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `sendto(2)` of one buffer (what `write` on a socket, and libc's
    /// `send`, are on Linux).
    Write,
    /// `sendmsg(2)` of the output buffer and the body behind it; with
    /// `MSG_MORE` when the close follows.
    Sendmsg { closing: bool },
    /// `sendto(MSG_MORE)` of a head whose file body follows.
    SendBeforeFile,
    /// `sendto(MSG_MORE)` of the last bytes before the close.
    SendBeforeFin,
    /// `sendfile(2)` from a file.
    Sendfile,
    /// `pread(2)` then `sendto(2)`, for `--sendfile off`.
    PreadWrite,
    /// Plaintext encrypted into TLS records, written with `sendto(2)`.
    TlsWrite,
    /// A file read with `pread(2)` into the worker's buffer, encrypted, and
    /// written: TLS cannot use `sendfile`.
    TlsFile,
}

impl Call {
    /// The call as the trace names it, and why it was the one made.
    fn name_and_why(self) -> (&'static str, &'static str) {
        match self {
            Call::Write => ("sendto()", ""),
            Call::Sendmsg { closing: false } => ("sendmsg()", ": the buffer and the body behind it in one call"),
            Call::Sendmsg { closing: true } => (
                "sendmsg(MSG_MORE)",
                ": the buffer and the body behind it in one call; the last packet waits for the FIN of the close",
            ),
            Call::SendBeforeFile => {
                ("sendto(MSG_MORE)", ": the kernel holds them to share a packet with the file that follows")
            }
            Call::SendBeforeFin => ("sendto(MSG_MORE)", ": the last packet waits for the FIN of the close"),
            Call::Sendfile => ("sendfile()", " from the file, page cache to socket, no copy through wired"),
            Call::PreadWrite => {
                ("pread()+sendto()", " from the file, copied through the worker's buffer (--sendfile off)")
            }
            Call::TlsWrite => {
                ("encrypt+sendto()", " of plaintext, sent as TLS records (RFC 8446 §5; RFC 5246 §6.2 in TLS 1.2)")
            }
            Call::TlsFile => (
                "pread()+encrypt+sendto()",
                " of the file, read into the worker's buffer and encrypted: TLS cannot use sendfile()",
            ),
        }
    }

    /// The same call made through a TLS session.
    pub fn under_tls(self) -> Call {
        match self {
            Call::Sendfile | Call::PreadWrite | Call::TlsFile => Call::TlsFile,
            _ => Call::TlsWrite,
        }
    }

    fn why(self) -> &'static str {
        self.name_and_why().1
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_and_why().0)
    }
}

/// Bytes of a read shown past the last blank line (the end of a head) before
/// the rest is abridged. Heads are shown whole; bodies are not the point.
const SHOW_BODY: usize = 256;

/// Most bytes of one read shown at all.
const SHOW_MAX: usize = 16 * 1024;

/// Where trace blocks go, and the block being built.
pub struct Tracer {
    out: Box<dyn Write + Send>,
    block: String,
    /// The worker's number, from its thread's name (`wired-worker-N`).
    worker: usize,
}

impl Tracer {
    /// Open the trace output. Called on the worker's own thread, whose name
    /// gives the worker's number.
    pub fn open(target: &TraceTarget) -> io::Result<Tracer> {
        let out: Box<dyn Write + Send> = match target {
            TraceTarget::Stderr => Box::new(io::stderr()),
            TraceTarget::File(path) => Box::new(OpenOptions::new().create(true).append(true).open(path)?),
        };
        let worker = std::thread::current()
            .name()
            .and_then(|n| n.strip_prefix("wired-worker-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Ok(Tracer { out, block: String::with_capacity(4096), worker })
    }

    /// Start a block: `[w0 c3 +1.25ms] `, or without the time.
    fn start(&mut self, who: Who, timed: bool) {
        let _ = write!(self.block, "[w{} c{}", self.worker, who.serial);
        if timed {
            let ms = who.accepted.elapsed().as_secs_f64() * 1000.0;
            let _ = write!(self.block, " +{ms:.2}ms");
        }
        self.block.push_str("] ");
    }

    /// Write the block whole, in one call, and clear it.
    fn emit(&mut self) {
        let _ = self.out.write_all(self.block.as_bytes()).and_then(|()| self.out.flush());
        self.block.clear();
    }
}

impl Tracer {
    /// A connection was accepted.
    pub fn accept(&mut self, who: Who, peer: SocketAddr, local: SocketAddr) {
        self.start(who, false);
        let _ = writeln!(self.block, "accepted from {peer} on {local}");
        self.emit();
    }

    /// Bytes arrived: shown as they came, a head whole, a body abridged.
    /// `heads`: they were read while waiting for a request head; `tls`:
    /// they are plaintext, decrypted from TLS records.
    pub fn recv(&mut self, who: Who, bytes: &[u8], heads: bool, tls: bool) {
        let t = self.at(who);
        match tls {
            true => {
                let _ = writeln!(t.block, "<- recvfrom() + decrypt: {} bytes of plaintext", bytes.len());
            }
            false => {
                let _ = writeln!(t.block, "<- recvfrom(): {} bytes", bytes.len());
            }
        }
        // Show up to the last blank line of a head read in the Head phase,
        // and a little past it; in a body phase, a little.
        let heads_end = match heads {
            true => memchr::memmem::rfind(bytes, b"\r\n\r\n").map_or(bytes.len(), |i| i + 4),
            false => 0,
        };
        abridged(&mut t.block, bytes, heads_end.saturating_add(SHOW_BODY).min(SHOW_MAX));
        t.emit();
    }

    /// The TLS handshake is done: what the client offered and what was agreed.
    pub fn handshake(&mut self, who: Who, info: &TlsInfo, hello: Option<&HelloInfo>) {
        let t = self.at(who);
        let _ = writeln!(
            t.block,
            "TLS handshake done: {} with {}, {} ({})",
            info.version,
            info.suite,
            if info.resumed { "resumed from an earlier session: no certificate sent" } else { "a full handshake" },
            if info.version == "TLSv1.2" { "RFC 5246 §7.3" } else { "RFC 8446 §4" }
        );
        if let Some(hello) = hello {
            let _ = writeln!(
                t.block,
                "    ClientHello: SNI {} (RFC 6066 §3), ALPN offered {} (RFC 7301 §3.1)",
                hello.sni.as_deref().unwrap_or("none"),
                alpn_list(&hello.alpn)
            );
        }
        let chosen = info.alpn.as_deref().map(|p| String::from_utf8_lossy(p).into_owned());
        let _ = writeln!(
            t.block,
            "    ALPN chosen: {}; from here the bytes shown are the decrypted HTTP exchange",
            chosen.as_deref().unwrap_or("none (HTTP/1.1 by default)")
        );
        t.emit();
    }

    /// The TLS handshake failed, and why.
    pub fn handshake_failed(&mut self, who: Who, hello: Option<&HelloInfo>, e: &io::Error) {
        let t = self.at(who);
        let _ = writeln!(t.block, "TLS handshake failed: {e}");
        if let Some(hello) = hello {
            let _ = writeln!(
                t.block,
                "    ClientHello: SNI {}, ALPN offered {}",
                hello.sni.as_deref().unwrap_or("none"),
                alpn_list(&hello.alpn)
            );
        }
        t.emit();
    }

    /// Request number `number` on its connection was parsed: what the
    /// parser decided, and why.
    pub fn request(&mut self, who: Who, number: u64, head: &[u8], req: &Request<'_, '_>) {
        let t = self.at(who);
        let fields = req.headers.len();
        let _ = writeln!(
            t.block,
            "request {}: {} {} {} (head {} bytes, {fields} field{})",
            number,
            req.method.as_str(),
            req.target,
            req.version.as_str(),
            head.len(),
            if fields == 1 { "" } else { "s" },
        );
        let body = match req.body {
            ReqBody::None if req.header("content-length").is_some() => {
                "none: Content-Length: 0 (RFC 9112 §6.3 rule 6)".to_string()
            }
            ReqBody::None => "none: neither Content-Length nor Transfer-Encoding (RFC 9112 §6.3 rule 7)".to_string(),
            ReqBody::Length(n) => format!("{n} bytes follow the head, as Content-Length says (RFC 9112 §6.3 rule 6)"),
            ReqBody::Chunked => {
                "chunked: it ends with a chunk of size 0 (Transfer-Encoding, RFC 9112 §6.3 rule 4, §7.1)".to_string()
            }
        };
        let _ = writeln!(t.block, "    body:       {body}");
        let persist = match (req.version, req.keep_alive) {
            (Version::Http11, true) => "keep-alive: HTTP/1.1 persists unless the client says close (RFC 9112 §9.3)",
            (Version::Http11, false) => "close: the client sent `Connection: close` (RFC 9112 §9.6)",
            (_, true) => "keep-alive: an HTTP/1.0 client asked with `Connection: keep-alive` (RFC 9112 §9.3)",
            (_, false) => "close: HTTP/1.0 closes unless the client asks for keep-alive (RFC 9112 §9.3)",
        };
        let _ = writeln!(t.block, "    connection: {persist}");
        if req.expect_continue {
            let _ = writeln!(
                t.block,
                "    expect:     100-continue: the client waits for `100 Continue` before sending the body (RFC 9110 §10.1.1)"
            );
        }
        t.emit();
    }

    /// A head was refused: why, by which rule, and what is answered.
    pub fn parse_error(&mut self, who: Who, e: Error) {
        let t = self.at(who);
        refusal(&mut t.block, "refused", e);
        let _ = writeln!(
            t.block,
            "    after a bad head the next request's first byte is unknown: answer, then close (RFC 9112 §9.6)"
        );
        t.emit();
    }

    /// A request whose head parsed, but whose target cannot be served:
    /// the rule it breaks. The connection stays, since its framing is sound.
    pub fn refused_target(&mut self, who: Who, e: Error) {
        let t = self.at(who);
        refusal(&mut t.block, "refused target", e);
        t.emit();
    }

    /// The response head as queued in the output buffer.
    pub fn response_head(&mut self, who: Who, head: &[u8]) {
        self.start(who, false);
        let _ = writeln!(self.block, "-> response head queued, {} bytes", head.len());
        visible(&mut self.block, head);
        self.emit();
    }

    /// Where a response body comes from, queued after its head.
    /// `zero_copy`: the transport can `sendfile` (plain TCP); else a file
    /// goes through the worker's buffer (TLS, or `--sendfile off`).
    pub fn body(&mut self, who: Who, reply: &Reply, head_only: bool, zero_copy: bool) {
        let how = if zero_copy { "sendfile()" } else { "pread() through the worker's buffer" };
        self.start(who, false);
        let why_none = match reply.status {
            _ if head_only => {
                Some("this answers HEAD: the head alone, its Content-Length that of a GET (RFC 9110 §9.3.2)")
            }
            100..=199 => Some("a 1xx response never has one (RFC 9110 §15.2)"),
            204 => Some("a 204 never has one (RFC 9110 §15.3.5)"),
            304 => Some("a 304 never has one (RFC 9110 §15.4.5)"),
            _ => None,
        };
        match (why_none, &reply.body) {
            (Some(why), _) => {
                let _ = writeln!(self.block, "   body: none: {why}");
            }
            (None, Body::Empty) => {
                let _ = writeln!(self.block, "   body: empty");
            }
            (None, Body::Static(b)) => memory_body(&mut self.block, "from memory", b),
            (None, Body::Owned(b)) => memory_body(&mut self.block, "made for this response", b),
            (None, Body::File(f)) => match f.in_memory() {
                Some(bytes) => memory_body(&mut self.block, "of a small file the cache holds in memory", bytes),
                None => {
                    let _ =
                        writeln!(self.block, "   body: {} bytes of a file from offset {}, by {how}", f.len, f.offset);
                }
            },
            (None, Body::Parts(parts)) => {
                let _ = writeln!(self.block, "   body: {} bytes in {} pieces:", reply.body.len(), parts.len());
                // Bytes in memory run together as they will on the wire; a
                // file piece sent by sendfile() is a placeholder line.
                let mut wire = Vec::new();
                for part in parts {
                    match part {
                        Part::Bytes(b) => wire.extend_from_slice(b),
                        Part::File(f) => match f.in_memory() {
                            Some(b) => wire.extend_from_slice(b),
                            None => {
                                abridged(&mut self.block, &wire, SHOW_BODY * 4);
                                wire.clear();
                                let _ = writeln!(
                                    self.block,
                                    "    [{} bytes of the file from offset {}, by {how}]",
                                    f.len, f.offset
                                );
                            }
                        },
                    }
                }
                abridged(&mut self.block, &wire, SHOW_BODY * 4);
            }
        }
        self.emit();
    }

    /// An interim or framing piece queued outside a response head (such as
    /// `100 Continue`, or a CGI body chunk), shown as it will go out.
    pub fn queued(&mut self, who: Who, what: &str, bytes: &[u8]) {
        let t = self.at(who);
        let _ = writeln!(t.block, "-> {what} queued, {} bytes", bytes.len());
        abridged(&mut t.block, bytes, SHOW_BODY);
        t.emit();
    }

    /// A piece of a body from a CGI program or an upstream (`from` says
    /// which), queued for the client: as a chunk (size in hex, CRLF, data,
    /// CRLF: RFC 9112 §7.1), or as it is when its length was given.
    pub fn relayed_body(&mut self, who: Who, from: &str, chunked: bool, data: &[u8]) {
        let t = self.at(who);
        let shown = data.len().min(SHOW_BODY);
        let mut wire = Vec::with_capacity(shown + 24);
        if chunked {
            let _ = writeln!(t.block, "-> {from}: {} bytes, queued as one chunk", data.len());
            let _ = write!(wire, "{:x}\r\n", data.len());
        } else {
            let _ = writeln!(t.block, "-> {from}: {} bytes, queued as they are", data.len());
        }
        wire.extend_from_slice(data.get(..shown).unwrap_or(data));
        if shown < data.len() {
            visible(&mut t.block, &wire);
            let _ = writeln!(
                t.block,
                "    ... {} more bytes not shown{}",
                data.len() - shown,
                if chunked { ", then \\r\\n" } else { "" }
            );
        } else {
            if chunked {
                wire.extend_from_slice(b"\r\n");
            }
            visible(&mut t.block, &wire);
        }
        t.emit();
    }

    /// Bytes went out, by the call `Conn::send_some` named.
    pub fn sent(&mut self, who: Who, n: usize, how: Call) {
        if n == 0 {
            return;
        }
        let t = self.at(who);
        let _ = writeln!(t.block, "-> {how} {n} bytes{}", how.why());
        t.emit();
    }

    /// A note worth reading beside the bytes.
    pub fn note(&mut self, who: Who, note: &str) {
        let t = self.at(who);
        let _ = writeln!(t.block, "{note}");
        t.emit();
    }

    /// A note built from `format_args!`, formatted only when tracing is on.
    pub fn note_fmt(&mut self, who: Who, note: fmt::Arguments<'_>) {
        let t = self.at(who);
        let _ = t.block.write_fmt(note);
        t.block.push('\n');
        t.emit();
    }

    /// The connection closed after `requests` requests, and why.
    pub fn close(&mut self, who: Who, requests: u64, why: &str) {
        let t = self.at(who);
        let n = requests;
        let _ = writeln!(t.block, "closed after {n} request{}: {why}", if n == 1 { "" } else { "s" });
        t.emit();
    }

    /// Start a timed block for `who`.
    fn at(&mut self, who: Who) -> &mut Tracer {
        self.start(who, true);
        self
    }
}

/// `what: reason (rule) -> status Reason`, one line.
fn refusal(block: &mut String, what: &str, e: Error) {
    let status = e.status();
    let _ = writeln!(block, "{what}: {} ({}) -> {status} {}", e.reason(), rfc_of(e), crate::response::reason(status));
}

/// ALPN protocol names as a list: `h2, http/1.1`, or `none`.
fn alpn_list(names: &[Vec<u8>]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names.iter().map(|n| String::from_utf8_lossy(n).into_owned()).collect::<Vec<_>>().join(", ")
}

/// The rule an error breaks.
fn rfc_of(e: Error) -> &'static str {
    use Error::*;
    match e {
        RequestLine => "RFC 9112 §3",
        Method => "RFC 9112 §3.1",
        Version => "RFC 9112 §2.3",
        FieldName => "RFC 9110 §5.1",
        FieldValue => "RFC 9110 §5.5",
        SpaceBeforeColon => "RFC 9112 §5.1",
        ObsFold => "RFC 9112 §5.2",
        BareCr | BareLf => "RFC 9112 §2.2",
        MissingHost | DuplicateHost | BadHost => "RFC 9112 §3.2",
        Target => "RFC 9112 §3.2",
        BadEscape => "RFC 3986 §2.1",
        PathEscapesRoot => "RFC 3986 §5.2.4",
        TransferEncodingAndLength => "RFC 9112 §6.1, §6.3 rule 3",
        ChunkedNotLast => "RFC 9112 §6.3 rule 4",
        TransferEncodingHttp10 => "RFC 9112 §6.1",
        ConflictingLength | BadLength => "RFC 9112 §6.3 rule 5",
        ChunkSize | ChunkExtension | ChunkFraming => "RFC 9112 §7.1",
        Trailer => "RFC 9112 §7.1.2",
        BodyTooLarge => "RFC 9110 §15.5.14",
        UriTooLong => "RFC 9110 §15.5.15",
        HeadersTooLarge => "RFC 6585 §5",
        UnknownTransferCoding => "RFC 9112 §6.1",
        UnknownExpectation => "RFC 9110 §10.1.1",
        VersionNotSupported => "RFC 9110 §15.6.6",
        _ => "RFC 9112",
    }
}

/// Bytes made visible, the first `limit` of them, then a count of the rest.
fn abridged(out: &mut String, bytes: &[u8], limit: usize) {
    let shown = bytes.len().min(limit);
    visible(out, bytes.get(..shown).unwrap_or(bytes));
    if shown < bytes.len() {
        let _ = writeln!(out, "    ... {} more bytes not shown", bytes.len() - shown);
    }
}

/// A body held in memory: its size and its first bytes.
fn memory_body(out: &mut String, source: &str, bytes: &[u8]) {
    let _ = writeln!(out, "   body: {} bytes {source}", bytes.len());
    abridged(out, bytes, SHOW_BODY);
}

/// Write bytes with CR, LF and control bytes made visible, one wire line per
/// text line: `\r`, `\n`, `\t`, and `\xNN` for any other byte outside
/// printable ASCII.
fn visible(out: &mut String, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    out.push_str("    | ");
    let mut at_line_start = false;
    for &b in bytes {
        if at_line_start {
            out.push_str("    | ");
            at_line_start = false;
        }
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => {
                out.push_str("\\n\n");
                at_line_start = true;
            }
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if !at_line_start {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn line_ends_and_controls_are_visible() {
        let mut out = String::new();
        visible(&mut out, b"GET / HTTP/1.1\r\nX: a\tb\x00\\\r\n\r\nbody");
        assert_eq!(out, "    | GET / HTTP/1.1\\r\\n\n    | X: a\\tb\\x00\\\\\\r\\n\n    | \\r\\n\n    | body\n");
    }
}
