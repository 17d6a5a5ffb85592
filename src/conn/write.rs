//! Phase 3: format response heads and send them, with their bodies.
//!
//! A response head and a small body are copied into the connection's output
//! buffer; several pipelined responses can share it and leave in one `write`.
//! A body in a file follows as the buffer's [`Tail`]: the head goes out with
//! `MSG_MORE` so that it shares a packet with the file's first bytes, and the
//! file goes out with `sendfile`, straight from the page cache.

use std::io::ErrorKind;

use wired_parser::Version;

use super::{Conn, Phase, Step};
use crate::response::{Body, FileSlice, Part, Reply, bodiless, reason};
use crate::services::Services;
use crate::trace::Call;

/// How a response's end is marked (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body can follow (1xx, 204, 304).
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// The body ends when the connection closes (HTTP/1.0 only).
    UntilClose,
}

/// A response body waiting behind the output buffer.
#[derive(Debug, Default)]
pub enum Tail {
    /// Nothing.
    #[default]
    None,
    /// Bytes in memory too large for the output buffer, from `pos` on.
    Static(&'static [u8], usize),
    /// The same, owned.
    Owned(Vec<u8>, usize),
    /// A file slice; `offset` and `len` advance as bytes go out.
    File(FileSlice),
    /// Parts still to send, in reverse order (the next part is last).
    Parts(Vec<Part>),
}

impl Tail {
    /// Whether bytes of a file not held in memory are still to go out (with
    /// `sendfile`, or copied with `--sendfile off`).
    fn reads_disk(&self) -> bool {
        match self {
            Tail::File(f) => f.memory.is_none(),
            Tail::Parts(parts) => parts.iter().any(Part::reads_disk),
            _ => false,
        }
    }
}

impl Conn {
    /// Format a response into the output buffer (and tail).
    pub fn queue_response(&mut self, svc: &mut Services, reply: Reply, head_only: bool, version: Version) {
        let no_body = bodiless(reply.status, head_only);
        // RFC 9110 §8.6: Content-Length on every response with content, and on
        // HEAD the length a GET would have had. Never on 1xx/204 (§8.6), nor 304
        // (where it would have to be the full representation's length; omitted).
        let framing = if reply.status < 200 || reply.status == 204 || reply.status == 304 {
            Framing::None
        } else {
            Framing::Length(reply.body.len())
        };
        if !self.queue_head(svc, reply.status, framing, version) {
            return;
        }
        self.trace_body(svc, &reply, head_only);
        if no_body {
            return;
        }
        let Some(out) = self.output.as_mut() else { return };
        self.tail = match reply.body {
            Body::Empty => Tail::None,
            Body::Static(b) if out.push(b) => Tail::None,
            Body::Static(b) => Tail::Static(b, 0),
            Body::Owned(v) if out.push(&v) => Tail::None,
            Body::Owned(v) => Tail::Owned(v, 0),
            Body::File(f) if f.len == 0 => Tail::None,
            Body::File(f) if f.in_memory().is_some_and(|b| out.push(b)) => Tail::None,
            Body::File(f) => Tail::File(f),
            Body::Parts(mut parts) => {
                // Copy the leading parts that are in memory and fit; the rest
                // (large file parts) go out with sendfile.
                parts.reverse();
                while let Some(part) = parts.last() {
                    let copied = match part {
                        Part::Bytes(b) => out.push(b),
                        Part::File(f) => f.in_memory().is_some_and(|b| out.push(b)),
                    };
                    if !copied {
                        break;
                    }
                    parts.pop();
                }
                if parts.is_empty() { Tail::None } else { Tail::Parts(parts) }
            }
        };
        if !matches!(self.tail, Tail::None) {
            self.nodelay();
        }
        if self.tail.reads_disk() {
            self.size_send_buffer(svc);
        }
    }

    /// Format a status line, `Server`, `Date`, the handler's fields
    /// (`svc.handlers.fields`) and the framing fields into the output buffer.
    /// False when it did not fit (the connection is then closed).
    pub fn queue_head(&mut self, svc: &mut Services, status: u16, framing: Framing, version: Version) -> bool {
        let mut head = std::mem::take(&mut svc.head);
        head.clear();
        // RFC 9110 §2.5, RFC 9112 §4: we speak HTTP/1.1, whatever minor version the client sent.
        head.extend_from_slice(b"HTTP/1.1 ");
        push_u64(&mut head, u64::from(status));
        head.push(b' ');
        head.extend_from_slice(reason(status).as_bytes());
        head.extend_from_slice(b"\r\n");
        response_fields(svc, self.applied.as_deref(), self.io.is_tls(), status, &mut head);
        match framing {
            Framing::None | Framing::UntilClose => {}
            Framing::Length(n) => {
                head.extend_from_slice(b"Content-Length: ");
                push_u64(&mut head, n);
                head.extend_from_slice(b"\r\n");
            }
            // RFC 9112 §7.1: chunked lets a body of unknown length keep the connection.
            Framing::Chunked => head.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        }
        // RFC 9112 §9.6: say so when this is the last response; an HTTP/1.0
        // client that asked for keep-alive needs to hear it was granted (§9.3).
        if self.close_after {
            head.extend_from_slice(b"Connection: close\r\n");
        } else if version == Version::Http10 {
            head.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let out = self.output.get_or_insert_with(|| svc.pool.get());
        let pushed = out.push(&head) || {
            out.compact();
            out.push(&head)
        };
        svc.head = head;
        self.trace_response_head(svc);
        if !pushed {
            log::error!("response head of {} bytes does not fit the output buffer", svc.head.len());
            self.close_after = true;
        }
        pushed
    }

    /// Queue a built-in error response.
    pub fn queue_error(&mut self, svc: &mut Services, status: u16, close: bool) {
        let reply = svc.handlers.error_reply(status);
        if close {
            self.close_after = true;
        }
        self.queue_response(svc, reply, false, Version::Http11);
    }

    pub(super) fn write(&mut self, slot: usize, svc: &mut Services) -> Step {
        // RFC 9112 §9.6: the response that says `close` is the last, and the
        // close follows its last byte at once. Everything left of it is
        // queued, so its FIN can ride in the same packet.
        let closing = self.close_after;
        let mut how = Call::Write;
        loop {
            let sent = match self.send_some(svc, closing, &mut how) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // The client is not reading fast enough: wait, but not forever.
                    self.set_deadline(slot, svc, svc.config.send_timeout);
                    return Step::Wait;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.trace_fmt(svc, format_args!("{how} failed: {e}"));
                    return self.close_because("a write failed: the client went away (or a file shrank)");
                }
            };
            self.trace_sent(svc, sent, how);
        }
        // Under TLS the last records may still wait in the session.
        match self.io.flush() {
            Ok(true) => {}
            Ok(false) => {
                self.set_deadline(slot, svc, svc.config.send_timeout);
                return Step::Wait;
            }
            Err(_) => return self.close_because("a write failed: the client went away"),
        }
        // Everything queued has gone out.
        if self.close_after {
            return self.finish(slot, svc);
        }
        self.phase = Phase::Head;
        Step::Continue
    }

    /// Send queued output to the client while a CGI program or an upstream
    /// produces more; `Ok(true)` when bytes went, `Err` when the client is gone.
    pub(super) fn flush_output(&mut self, svc: &mut Services) -> Result<bool, ()> {
        // TLS records a write left in the session go first.
        if !self.io.flush().map_err(|_| ())? {
            return Ok(false);
        }
        let Some(out) = self.output.as_mut() else { return Ok(false) };
        if out.is_empty() {
            return Ok(false);
        }
        match self.io.send(out.bytes(), false) {
            Ok(n) => {
                out.consume(n);
                self.trace_sent(svc, n, Call::Write);
                Ok(n > 0)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(_) => Err(()),
        }
    }

    /// Send what is queued as far as the socket takes it now, staying in the
    /// current phase (a body being dropped). `Err` only for a failed write.
    pub(super) fn send_queued(&mut self, svc: &mut Services) -> std::io::Result<()> {
        let mut how = Call::Write;
        loop {
            match self.send_some(svc, false, &mut how) {
                Ok(Some(n)) => self.trace_sent(svc, n, how),
                Ok(None) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Send the next piece. `Ok(None)` when nothing is left. `closing`: the
    /// connection closes as soon as this is all sent, so the last bytes go
    /// with `MSG_MORE` and leave with the FIN, in one packet instead of two.
    /// `made` names the system call made, for `--trace`.
    fn send_some(&mut self, svc: &mut Services, closing: bool, made: &mut Call) -> std::io::Result<Option<usize>> {
        let plain = if closing { Call::SendBeforeFin } else { Call::Write };
        let from_file = if svc.copy.is_empty() { Call::Sendfile } else { Call::PreadWrite };
        let zero_copy = self.io.zero_copy();
        let out_len = self.output.as_ref().map_or(0, |b| b.len());
        if out_len > 0 {
            let out = self.output.as_mut().map(|b| b.bytes()).unwrap_or_default();
            *made = match &self.tail {
                Tail::File(f) if f.memory.is_some() => Call::Sendmsg { closing },
                Tail::Static(..) | Tail::Owned(..) => Call::Sendmsg { closing },
                Tail::File(_) => Call::SendBeforeFile,
                Tail::Parts(parts) if !parts.is_empty() => Call::SendBeforeFile,
                Tail::Parts(_) | Tail::None => plain,
            };
            let n = match &mut self.tail {
                // MSG_MORE only when something follows at once, a body part
                // or the FIN of the close: bytes sent with it and nothing
                // after wait in the kernel for the 200 ms cork timeout (the
                // closing boundary of a multipart body did).
                // A file held in memory leaves with its head in one sendmsg.
                Tail::File(f) if f.memory.is_some() => {
                    self.io.send2(out, f.in_memory().unwrap_or_default(), closing)?
                }
                Tail::File(_) => self.io.send(out, true)?,
                Tail::Parts(parts) if !parts.is_empty() => self.io.send(out, true)?,
                Tail::Parts(_) | Tail::None => self.io.send(out, closing)?,
                Tail::Static(b, pos) => self.io.send2(out, b.get(*pos..).unwrap_or_default(), closing)?,
                Tail::Owned(v, pos) => self.io.send2(out, v.get(*pos..).unwrap_or_default(), closing)?,
            };
            let from_out = n.min(out_len);
            if let Some(b) = self.output.as_mut() {
                b.consume(from_out);
            }
            // A sendmsg that went past the buffer went into the tail.
            let into_tail = n - from_out;
            match &mut self.tail {
                Tail::Static(b, pos) => {
                    *pos += into_tail;
                    if *pos >= b.len() {
                        self.tail = Tail::None;
                    }
                }
                Tail::Owned(v, pos) => {
                    *pos += into_tail;
                    if *pos >= v.len() {
                        self.tail = Tail::None;
                    }
                }
                Tail::File(f) if into_tail > 0 => {
                    f.advance(into_tail);
                    if f.len == 0 {
                        self.tail = Tail::None;
                    }
                }
                _ => {}
            }
            return Ok(Some(n));
        }
        match &mut self.tail {
            Tail::None => Ok(None),
            Tail::Static(b, pos) => {
                *made = plain;
                let n = self.io.send(b.get(*pos..).unwrap_or_default(), closing)?;
                *pos += n;
                if *pos >= b.len() {
                    self.tail = Tail::None;
                }
                Ok(Some(n))
            }
            Tail::Owned(v, pos) => {
                *made = plain;
                let n = self.io.send(v.get(*pos..).unwrap_or_default(), closing)?;
                *pos += n;
                if *pos >= v.len() {
                    self.tail = Tail::None;
                }
                Ok(Some(n))
            }
            Tail::File(f) => {
                let n = match f.in_memory() {
                    Some(bytes) => {
                        *made = plain;
                        let n = self.io.send(bytes, closing)?;
                        f.advance(n);
                        n
                    }
                    None => {
                        *made = from_file;
                        self.io.send_file(f, if zero_copy { &mut svc.copy } else { &mut svc.tls_copy })?
                    }
                };
                if f.len == 0 {
                    self.tail = Tail::None;
                }
                Ok(Some(n))
            }
            Tail::Parts(parts) => {
                // Only reached with the output buffer empty (see above).
                match parts.last_mut() {
                    None => self.tail = Tail::None,
                    Some(Part::File(f)) if f.memory.is_none() => {
                        *made = from_file;
                        let n = self.io.send_file(f, if zero_copy { &mut svc.copy } else { &mut svc.tls_copy })?;
                        if f.len == 0 {
                            parts.pop();
                        }
                        return Ok(Some(n));
                    }
                    Some(part) => {
                        // Bytes in memory (a part head, or a small file's
                        // bytes): into the output buffer if they fit, which
                        // the next round sends; else written from where they are.
                        let bytes = match part {
                            Part::Bytes(b) => b.as_slice(),
                            Part::File(f) => f.in_memory().unwrap_or_default(),
                        };
                        let out = self.output.get_or_insert_with(|| svc.pool.get());
                        if out.push(bytes) {
                            parts.pop();
                            return Ok(Some(0));
                        }
                        *made = Call::Write;
                        let n = self.io.send(bytes, false)?;
                        let rest = bytes.get(n..).unwrap_or_default().to_vec();
                        parts.pop();
                        if !rest.is_empty() {
                            parts.push(Part::Bytes(rest));
                        }
                        return Ok(Some(n));
                    }
                }
                Ok(Some(0))
            }
        }
    }
}

/// Append a decimal number.
/// `--security-headers`: the fields most sites want on every response,
/// each left out when the response already has it (an application's own
/// choice wins). HSTS only over TLS: RFC 6797 §7.2 says a host must not
/// send it over plain HTTP, where an attacker could forge or strip it.
fn security_headers(head: &mut Vec<u8>, tls: bool) {
    const PRESET: [(&[u8], &[u8]); 3] = [
        // Browsers must not guess a type other than Content-Type's.
        (b"X-Content-Type-Options", b"nosniff"),
        // Full URLs to this origin only; to others, the origin alone.
        (b"Referrer-Policy", b"strict-origin-when-cross-origin"),
        // Pages framed only by this origin (clickjacking).
        (b"X-Frame-Options", b"SAMEORIGIN"),
    ];
    for (name, value) in PRESET {
        if !has_field(head, name) {
            head.extend_from_slice(name);
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
    }
    if tls && !has_field(head, b"strict-transport-security") {
        // A year: what hstspreload.org asks for.
        head.extend_from_slice(b"Strict-Transport-Security: max-age=31536000\r\n");
    }
}

/// The field lines every response carries, in the HTTP/1.1 form
/// (`Name: value\r\n`), appended to `head`: `Server`, `Date`, the
/// handler's fields (`svc.handlers.fields`), the location's (`applied`),
/// the security preset and the CSP. HTTP/2 sends the same fields, turned
/// into HPACK (`conn/http2`).
pub(super) fn response_fields(
    svc: &Services,
    applied: Option<&crate::handler::rules::Applied>,
    tls: bool,
    status: u16,
    head: &mut Vec<u8>,
) {
    // RFC 9110 §6.6.1: an origin server with a clock MUST send Date.
    head.extend_from_slice(b"Server: wired\r\nDate: ");
    head.extend_from_slice(svc.clock.http_date());
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(svc.handlers.fields.as_bytes());
    if let Some(applied) = applied {
        applied.write_fields(status, head);
    }
    if svc.config.security_headers {
        security_headers(head, tls);
    }
    if let Some(csp) = &svc.config.csp
        && !has_field(head, b"content-security-policy")
    {
        head.extend_from_slice(b"Content-Security-Policy: ");
        head.extend_from_slice(csp.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
}

/// Whether the head so far (the handler's and the location's field lines)
/// holds a field of this name.
fn has_field(fields: &[u8], name: &[u8]) -> bool {
    fields.split(|&b| b == b'\n').any(|line| {
        line.len() > name.len() && line.get(name.len()) == Some(&b':') && line[..name.len()].eq_ignore_ascii_case(name)
    })
}

pub fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.extend_from_slice(digits.get(i..).unwrap_or_default());
}
