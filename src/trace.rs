//! `--trace`: an annotated account of what crosses the wire, for people
//! learning HTTP. Each call writes one block whole, so two connections' lines
//! never interleave. When tracing is off every hook is one `is_none` check:
//! nothing is formatted.

use std::fs::OpenOptions;
use std::io::{self, Write};

use wired_parser::{Body as ReqBody, Error, Request};

use crate::config::TraceTarget;
use crate::conn::Conn;
use crate::response::Body;
use crate::worker::Services;

/// Bytes of one read shown before the rest is abridged.
const SHOW_RECV: usize = 2048;

/// Where trace blocks go.
pub struct Tracer {
    out: Box<dyn Write + Send>,
    block: Vec<u8>,
}

impl Tracer {
    /// Open the trace output.
    pub fn open(target: &TraceTarget) -> io::Result<Tracer> {
        let out: Box<dyn Write + Send> = match target {
            TraceTarget::Stderr => Box::new(io::stderr()),
            TraceTarget::File(path) => Box::new(OpenOptions::new().create(true).append(true).open(path)?),
        };
        Ok(Tracer { out, block: Vec::with_capacity(4096) })
    }

    fn emit(&mut self) {
        let _ = self.out.write_all(&self.block).and_then(|()| self.out.flush());
        self.block.clear();
    }

    /// The response head as queued.
    pub fn response_head(&mut self, id: u64, head: &[u8]) {
        let _ = writeln!(self.block, "[conn {id}] -> response head queued, {} bytes", head.len());
        visible(&mut self.block, head);
        self.emit();
    }

    /// How a response body will go out.
    pub fn body_plan(&mut self, id: u64, body: &Body, no_body: bool) {
        let how = if no_body {
            "no body (HEAD, 1xx, 204 or 304: RFC 9110 §6.4.1)".to_string()
        } else {
            match body {
                Body::Empty => "an empty body".to_string(),
                Body::Static(b) => format!("{} body bytes from memory, behind the head in one write", b.len()),
                Body::Owned(b) => format!("{} body bytes from memory, behind the head in one write", b.len()),
                Body::File(f) => format!("{} body bytes from a file at offset {}, by sendfile", f.len, f.offset),
                Body::Parts(p) => format!("a multipart body in {} pieces, {} bytes; file parts by sendfile", p.len(), body.len()),
            }
        };
        let _ = writeln!(self.block, "[conn {id}]    body: {how}");
        self.emit();
    }
}

/// Write bytes with CR, LF and control bytes made visible, one wire line per text line.
fn visible(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(b"    | ");
    let mut at_line_start = false;
    for &b in bytes {
        if at_line_start {
            out.extend_from_slice(b"    | ");
            at_line_start = false;
        }
        match b {
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => {
                out.extend_from_slice(b"\\n\n");
                at_line_start = true;
            }
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if !at_line_start {
        out.push(b'\n');
    }
}

impl Services {
    fn tracer(&mut self) -> Option<&mut Tracer> {
        self.trace.as_mut()
    }

    fn elapsed_ms(&self, conn: &Conn) -> f64 {
        self.now.saturating_duration_since(conn.accepted).as_secs_f64() * 1000.0
    }

    /// A connection was accepted.
    pub fn trace_accept(&mut self, conn: &Conn) {
        let Some(t) = self.tracer() else { return };
        let _ = writeln!(t.block, "[conn {}] accepted from {} on {}", conn.serial, conn.peer, conn.local);
        t.emit();
    }

    /// Bytes arrived.
    pub fn trace_recv(&mut self, conn: &Conn, bytes: &[u8]) {
        let ms = self.elapsed_ms(conn);
        let Some(t) = self.tracer() else { return };
        let _ = writeln!(t.block, "[conn {}] <- read {} bytes (t+{ms:.1} ms)", conn.serial, bytes.len());
        let shown = bytes.get(..bytes.len().min(SHOW_RECV)).unwrap_or(bytes);
        visible(&mut t.block, shown);
        if shown.len() < bytes.len() {
            let _ = writeln!(t.block, "    ... {} more bytes not shown", bytes.len() - shown.len());
        }
        t.emit();
    }

    /// A head was parsed: what the parser decided, and why.
    pub fn trace_request(&mut self, conn: &Conn, head: &[u8], req: &Request<'_, '_>) {
        let Some(t) = self.tracer() else { return };
        let body = match req.body {
            ReqBody::None => "no body (neither Content-Length nor Transfer-Encoding: RFC 9112 §6.3)".to_string(),
            ReqBody::Length(n) => format!("a body of {n} bytes (Content-Length: RFC 9112 §6.3 rule 6)"),
            ReqBody::Chunked => "a chunked body (Transfer-Encoding: chunked, RFC 9112 §7.1)".to_string(),
        };
        let persist = match (req.version, req.keep_alive) {
            (wired_parser::Version::Http11, true) => "keep-alive (HTTP/1.1 default, RFC 9112 §9.3)",
            (wired_parser::Version::Http11, false) => "close (Connection: close, RFC 9112 §9.6)",
            (_, true) => "keep-alive (HTTP/1.0 asked with Connection: keep-alive)",
            (_, false) => "close (HTTP/1.0 without keep-alive, RFC 9112 §9.3)",
        };
        let _ = writeln!(
            t.block,
            "[conn {}] parsed request #{}: {} {} {} — head {} bytes, {} header fields; {body}; connection: {persist}{}",
            conn.serial,
            conn.requests,
            req.method.as_str(),
            req.target,
            req.version.as_str(),
            head.len(),
            req.headers.len(),
            if req.expect_continue { "; expects 100-continue" } else { "" },
        );
        t.emit();
    }

    /// A head was refused.
    pub fn trace_parse_error(&mut self, conn: &Conn, _bytes: &[u8], e: Error) {
        let Some(t) = self.tracer() else { return };
        let _ = writeln!(
            t.block,
            "[conn {}] refused: {} — answering {} and closing, since framing is in doubt",
            conn.serial,
            e.reason(),
            e.status()
        );
        t.emit();
    }

    /// Bytes went out.
    pub fn trace_sent(&mut self, conn: &Conn, n: usize) {
        let ms = self.elapsed_ms(conn);
        let Some(t) = self.tracer() else { return };
        if n > 0 {
            let _ = writeln!(t.block, "[conn {}] -> sent {n} bytes (t+{ms:.1} ms)", conn.serial);
            t.emit();
        }
    }

    /// Something worth saying.
    pub fn trace_note(&mut self, conn: &Conn, note: &str) {
        let Some(t) = self.tracer() else { return };
        let _ = writeln!(t.block, "[conn {}] {note}", conn.serial);
        t.emit();
    }

    /// The connection closed.
    pub fn trace_close(&mut self, conn: &Conn) {
        let ms = self.elapsed_ms(conn);
        let Some(t) = self.tracer() else { return };
        let _ = writeln!(t.block, "[conn {}] closed after {} request(s), {ms:.1} ms", conn.serial, conn.requests);
        t.emit();
    }
}
