//! Phase 1: read bytes until a request head is complete, then answer it.
//!
//! Several pipelined requests may sit in one read. They are answered in order
//! and their responses queued together, so that one `write` can carry them
//! all (RFC 9112 §9.3.2) — but never more than [`MAX_BATCH`] at a time, and
//! never past a response whose body comes from a file, which must be sent
//! before anything after it.

use std::io::ErrorKind;

use wired_parser::{Body, ChunkedDecoder, EMPTY_HEADER, Error, Request, Status};

use super::{BodyLeft, Conn, Discard, Phase, Step, Tail};
use crate::buffer::Buffer;
use crate::handler::{Action, Dispatch};
use crate::response::Reply;
use crate::services::Services;

/// Most responses queued from one read before they are sent.
pub const MAX_BATCH: usize = 32;

/// Header slots on the stack for one parse; the configured limit is capped to it.
pub const HEADER_SLOTS: usize = 128;

/// Bodies up to this size that nobody wants are read and dropped, keeping
/// the connection; larger ones close it after the response (as nginx does).
/// A smaller `--max-body-bytes` lowers it: see [`discard_limit`].
const DISCARD_LIMIT: u64 = 1024 * 1024;

/// The output buffer must have this much room before another response is queued.
const BATCH_ROOM: usize = 16 * 1024;

/// What became of the bytes buffered.
pub(super) enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A response was queued; the request may have a body left to drop.
    Answered,
    /// An error response was queued and the connection will close.
    Refused,
}

impl Conn {
    pub(super) fn read_head(&mut self, slot: usize, svc: &mut Services) -> Step {
        let mut batched = 0;
        loop {
            // RFC 9113 §3.3: on a plain listener, a client with prior
            // knowledge opens with HTTP/2's preface instead of a request.
            let mut preface_partial = false;
            if self.requests == 0
                && svc.config.http2
                && !self.io.is_tls()
                && let Some(b) = self.input.as_ref().filter(|b| !b.is_empty())
            {
                match wired_parser::http2::preface::check(b.bytes()) {
                    wired_parser::http2::preface::Preface::Complete => return self.start_http2(slot, svc),
                    wired_parser::http2::preface::Preface::Partial => preface_partial = true,
                    wired_parser::http2::preface::Preface::Mismatch => {}
                }
            }
            if !preface_partial && self.input.as_ref().is_some_and(|b| !b.is_empty()) {
                match self.parse_one(slot, svc) {
                    Parsed::Answered => {
                        batched += 1;
                        if !matches!(self.phase, Phase::Head) {
                            return Step::Continue;
                        }
                        let room = self.output.as_ref().map_or(0, Buffer::remaining);
                        if self.close_after
                            || !matches!(self.tail, Tail::None)
                            || batched >= MAX_BATCH
                            || room < BATCH_ROOM
                        {
                            self.phase = Phase::Write;
                            return Step::Continue;
                        }
                        continue;
                    }
                    Parsed::Refused => {
                        self.phase = Phase::Write;
                        return Step::Continue;
                    }
                    Parsed::Partial => {
                        if !self.head_timer_set {
                            // The slowloris defence: the whole head must arrive in time.
                            self.head_timer_set = true;
                            self.set_deadline(slot, svc, svc.config.head_timeout);
                        }
                    }
                }
            }
            // Nothing complete is buffered: send what is queued before reading more.
            if self.output.as_ref().is_some_and(|b| !b.is_empty()) || !matches!(self.tail, Tail::None) {
                self.phase = Phase::Write;
                return Step::Continue;
            }
            if self.peer_closed {
                // The client finished sending; a partial head will never complete.
                return self.close_because("the client closed its side (read returned 0)");
            }
            if self.read_drained {
                return self.wait_for_request(slot, svc);
            }
            match self.fill(svc) {
                Ok(0) => self.peer_closed = true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.read_drained = true,
                // A signal, or a TLS session's read budget spent on records
                // that carried no data: let other connections run first.
                Err(e) if e.kind() == ErrorKind::Interrupted => return Step::Yield,
                Err(e) if e.kind() == ErrorKind::OutOfMemory => {
                    // The buffer is full of a head that is not complete: the
                    // parser's limits are smaller than the buffer, so it has
                    // already refused it; this is a safety net.
                    self.queue_error(svc, 431, true);
                    self.phase = Phase::Write;
                    return Step::Continue;
                }
                Err(_) => return self.close_because("recvfrom() failed: the connection was reset"),
            }
        }
    }

    /// Nothing to do until the client sends: give buffers back and arm the
    /// idle timer (keep-alive between requests, the head timer inside one).
    fn wait_for_request(&mut self, slot: usize, svc: &mut Services) -> Step {
        if self.input.as_ref().is_none_or(Buffer::is_empty) {
            self.release_idle_buffers(svc);
            let idle = if self.requests == 0 { svc.config.head_timeout } else { svc.config.keepalive_timeout };
            self.set_deadline(slot, svc, idle);
        }
        Step::Wait
    }

    /// One read into the input buffer. `Ok(0)` is end of stream.
    pub(super) fn fill(&mut self, svc: &mut Services) -> std::io::Result<usize> {
        let buf = self.input.get_or_insert_with(|| svc.pool.get());
        if buf.remaining() == 0 {
            buf.compact();
        }
        let spare = buf.spare();
        let want = spare.len();
        if want == 0 {
            return Err(ErrorKind::OutOfMemory.into());
        }
        let n = self.io.recv(spare)?;
        buf.filled(n);
        let total = buf.len();
        // A short read emptied the socket's receive queue; with edge-triggered
        // epoll the next arrival brings a new event, so there is no need for
        // another read that would only say WouldBlock. Not so for a FIN that
        // came in the same event: only a read returning 0 reports it.
        self.read_drained = n > 0 && n < want && !self.read_closed && self.io.short_read_drains();
        if n > 0 && svc.trace.is_some() {
            if matches!(self.phase, Phase::Handshake { .. }) && !self.io.handshaking() {
                // The request rode in behind the handshake's last flight:
                // say what was agreed before showing it.
                self.trace_handshake(svc);
            }
            let fresh = self.input.as_ref().and_then(|b| b.bytes().get(total - n..)).unwrap_or_default();
            self.trace_recv(svc, fresh);
        }
        Ok(n)
    }

    /// Parse one head from the input buffer and, when complete, answer it.
    fn parse_one(&mut self, slot: usize, svc: &mut Services) -> Parsed {
        let Some(mut input) = self.input.take() else { return Parsed::Partial };
        let (parsed, used) = self.parse_and_answer(slot, &input, svc);
        // The head is used; the body (or the next request) starts after it.
        input.consume(used);
        self.input = Some(input);
        parsed
    }

    fn parse_and_answer(&mut self, slot: usize, input: &Buffer, svc: &mut Services) -> (Parsed, usize) {
        let mut fields = [EMPTY_HEADER; HEADER_SLOTS];
        let limits = svc.config.limits;
        let req = match self.parser.parse(input.bytes(), &limits, &mut fields) {
            Ok(Status::Partial) => return (Parsed::Partial, 0),
            Ok(Status::Complete(req)) => req,
            Err(e) => {
                self.trace_parse_error(svc, e);
                self.requests += 1;
                self.refuse(svc, e);
                return (Parsed::Refused, 0);
            }
        };
        self.head_timer_set = false;
        self.parser.reset();
        let head_len = req.head_len;
        self.trace_request(svc, input.bytes().get(..head_len).unwrap_or_default(), &req);
        let rest = input.bytes().get(head_len..).unwrap_or_default();
        (self.answer(slot, svc, &req, rest), head_len)
    }

    /// Answer a complete request head: ask a handler, queue the response (or
    /// start a CGI program), and decide what happens to the body, of which
    /// `rest` holds the bytes already buffered.
    pub(super) fn answer(&mut self, slot: usize, svc: &mut Services, req: &Request<'_, '_>, rest: &[u8]) -> Parsed {
        self.requests += 1;
        self.applied = None;
        if self.requests > 1 {
            self.nodelay();
        }
        // RFC 9110 §8.6 / §15.5.14: refuse a body we would not accept before reading it.
        if let Body::Length(n) = req.body
            && n > svc.config.max_body_bytes
        {
            self.refuse(svc, Error::BodyTooLarge);
            return Parsed::Refused;
        }
        // `--redirect-https`: on a plain listener every request is sent to
        // the https URL, whatever it asks for.
        if svc.config.redirect_https
            && !self.io.is_tls()
            && let Some(port) = svc.config.listen_tls.first().map(|a| a.port())
        {
            self.trace_note(svc, "--redirect-https: a plain listener answers 308 with the https URL");
            let reply = svc.handlers.redirect_https(req, self.local, port);
            self.reply(svc, req, rest, reply, req.method == wired_parser::Method::Head);
            return Parsed::Answered;
        }
        let Dispatch { action, head_only, refused, applied } =
            svc.handlers.dispatch(req, svc.clock.secs(), self.peer, self.local);
        if let Some(e) = refused {
            self.trace_refused_target(svc, e);
        }
        self.applied = applied;
        // The location's own body limit (`max_body_bytes`), checked like
        // the server's above (RFC 9110 §15.5.14).
        if let Body::Length(n) = req.body
            && n > self.max_body_bytes(svc)
        {
            self.refuse(svc, Error::BodyTooLarge);
            return Parsed::Refused;
        }
        match action {
            Action::Reply(reply) => self.reply(svc, req, rest, reply, head_only),
            Action::Cgi(script) => self.start_cgi(slot, svc, req, rest, script, head_only),
            Action::Proxy(target) => self.start_proxy(slot, svc, req, target, head_only),
            Action::FastCgi(target) => self.start_fastcgi(slot, svc, req, target, head_only),
            Action::WebSocket(target) => self.start_websocket(slot, svc, req, rest, target, head_only),
        }
        Parsed::Answered
    }

    /// Queue a handler's reply and settle the request body nobody wants
    /// (`rest`: its bytes already buffered).
    pub(super) fn reply(
        &mut self,
        svc: &mut Services,
        req: &Request<'_, '_>,
        rest: &[u8],
        reply: Reply,
        head_only: bool,
    ) {
        let mut close = !req.keep_alive || reply.close || svc.draining;
        let limit = discard_limit(svc);
        // What happens to a body the handler did not want (RFC 9112 §9.3,
        // RFC 9110 §10.1.1): a client waiting for 100 Continue will not send
        // it, so the connection closes; a small one is read and dropped to keep
        // the connection; a large one is not worth reading.
        let body_left = match req.body {
            Body::None => None,
            _ if req.expect_continue => {
                self.trace_note(svc, "unwanted body, and the client waits for 100 Continue: none is sent; close after");
                close = true;
                None
            }
            Body::Length(n) if n > limit => {
                self.trace_note(svc, "unwanted body too large to read and drop: close after the response");
                close = true;
                self.linger_needed = true;
                None
            }
            Body::Length(n) => Some(BodyLeft::Length(n)),
            Body::Chunked => {
                // A chunked body announces its size a chunk at a time. When
                // the chunk lines already here pass the limit, it is treated
                // like a Content-Length that does; otherwise the Discard
                // phase watches the rest (`drop_buffered_body`).
                let decoder = ChunkedDecoder::new(&svc.config.limits);
                if announced_in(decoder.clone(), rest) > limit {
                    self.trace_note(
                        svc,
                        "unwanted chunked body whose chunk sizes pass the discard limit: close after the response",
                    );
                    close = true;
                    self.linger_needed = true;
                    None
                } else {
                    Some(BodyLeft::Chunked(decoder))
                }
            }
        };
        self.close_after = self.close_after || close;
        self.log_access(svc, req, reply.status, if head_only { 0 } else { reply.body.len() });
        self.queue_response(svc, reply, head_only, req.version);
        if let Some(left) = body_left {
            self.trace_note(svc, "unwanted body: read and dropped, to find where the next request starts");
            self.phase = Phase::Discard(Discard { left, timer_set: false });
        }
    }

    /// Queue the error response for a request that cannot be parsed, and
    /// close after it: the framing of what follows is in doubt (RFC 9112 §9.6).
    fn refuse(&mut self, svc: &mut Services, e: Error) {
        self.log_refused(svc, e.status());
        // A location's fields are for its answers, not for refusals of the
        // request's framing (except a body too large for that location).
        if e != Error::BodyTooLarge {
            self.applied = None;
        }
        self.linger_needed = true;
        self.queue_error(svc, e.status(), true);
    }
}

/// The most of an unwanted body read and dropped to keep a connection:
/// [`DISCARD_LIMIT`], or `--max-body-bytes` if smaller, since a body wired
/// would refuse to accept is not worth reading to throw away either.
pub(super) fn discard_limit(svc: &Services) -> u64 {
    DISCARD_LIMIT.min(svc.config.max_body_bytes)
}

impl Conn {
    /// The largest body the current request may have: the server's
    /// `--max-body-bytes`, or its location's `max_body_bytes` if smaller.
    pub(super) fn max_body_bytes(&self, svc: &Services) -> u64 {
        let location = self.applied.as_ref().and_then(|a| a.max_body_bytes());
        location.map_or(svc.config.max_body_bytes, |l| l.min(svc.config.max_body_bytes))
    }
}

/// How large a chunked body says it is at least, from the bytes of it that
/// are here: the data so far plus the size of the chunk being announced.
/// A malformed start counts as nothing here; the Discard phase meets the
/// error again and closes.
fn announced_in(mut decoder: ChunkedDecoder, mut bytes: &[u8]) -> u64 {
    while let Ok(d) = decoder.decode(bytes) {
        bytes = bytes.get(d.consumed..).unwrap_or_default();
        if d.done || d.consumed == 0 {
            break;
        }
    }
    decoder.announced()
}
