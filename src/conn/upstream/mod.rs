//! The `Upstream` phase: a request passed to an upstream server (a FastCGI
//! application, or an HTTP app server behind the reverse proxy) and its
//! response passed back, inside the event loop.
//!
//! The client connection drives the exchange; the upstream connection is a
//! source in the same poll (`crate::upstream`), whose events wake this
//! connection. Each pass moves what can move, in this order, until nothing
//! does:
//!
//! ```text
//!   client socket ──body──► to_up ──► upstream socket      (request.rs)
//!   client socket ◄─output─ [framed for the client] ◄── from_up ◄── upstream socket
//!                            (proxy.rs: HTTP/1.1 heads and bodies; fastcgi.rs: records)
//! ```
//!
//! Bytes move with backpressure both ways: the client's body is read only
//! while `to_up` is empty, so a slow upstream slows the client; the
//! upstream is read only while the output buffer has room, so a slow client
//! slows the upstream. Memory per exchange is three pooled buffers whatever
//! the sizes.
//!
//! What the exchange waits on decides its timer ([`Waiting`]): the connect,
//! the upstream taking the request, the first response byte, the next
//! response byte, the client's body, or the client taking the response.

mod fastcgi;
mod proxy;
mod request;
mod timers;

use timers::Waiting;

use std::io::ErrorKind;

use wired_parser::values::accept_encoding::Coding;
use wired_parser::{Body, ChunkedDecoder, Method, Request, Version};

use super::cgi::AfterSpool;
use super::{Conn, Phase, Step};
use crate::buffer::Buffer;
use crate::handler::compress::Stream;
use crate::handler::upstream::{FastcgiTarget, ProxyTarget};
use crate::services::Services;
use crate::upstream::{NoConnection, Owner};

/// Bytes read from an upstream at a time.
const READ_CHUNK: usize = 16 * 1024;

/// The room the client's output buffer must have before a read from the
/// upstream: a read's bytes, and their framing (chunk lines, a head).
const OUTPUT_ROOM: usize = READ_CHUNK + 1024;

/// Passes over an exchange per event before other connections get a turn.
const MAX_PASSES: usize = 64;

/// `100 Continue` (RFC 9110 §15.2.1).
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// An exchange with an upstream, owned by the client connection.
#[derive(Debug)]
pub struct Exchange {
    /// How requests and responses look on this upstream.
    proto: Proto,
    /// The upstream group.
    group: usize,
    /// The connection (a key of `svc.upstreams`), once there is one.
    up: Option<usize>,
    /// Its server's index in the group.
    server: usize,
    /// Servers tried for this request, a bit each.
    tried: u64,
    /// The connection came from the pool: it may have been closed by its
    /// server while idle, so a failure before any response byte is retried.
    reused: bool,
    /// A retry on a fresh connection has been made.
    retried: bool,
    /// Safe to send again: an idempotent method without a body (RFC 9110
    /// §9.2.2). Never a POST.
    replayable: bool,
    /// The request head (FastCGI: BEGIN_REQUEST and PARAMS), kept whole until
    /// the response begins, for a retry.
    request: Vec<u8>,
    /// How much of `request` has been written.
    request_sent: usize,
    /// Body bytes framed for the upstream, waiting to be written.
    to_up: Option<Buffer>,
    /// What is left of the client's body.
    body: BodyIn,
    /// The body's end has been framed into `to_up` (or there is none).
    body_framed: bool,
    /// Upstream bytes read and not yet handled.
    from_up: Option<Buffer>,
    /// A response byte has arrived: no retry from now on.
    response_started: bool,
    /// The response head has been queued for the client: an error can now
    /// only close the connection.
    answered: bool,
    /// The upstream's response is complete.
    response_done: bool,
    /// The upstream connection may carry another request afterwards.
    reusable: bool,
    /// The client's HTTP version.
    version: Version,
    /// The request was HEAD.
    head_only: bool,
    /// The client sent `Expect: 100-continue`.
    expect_continue: bool,
    /// The access log's view of the request: method, target, referer, user agent.
    log: [Vec<u8>; 4],
    /// The client's chunked body broke its framing (or passed the size
    /// limit) midway: the exchange ends with this status.
    broken_body: Option<u16>,
    /// The client's body goes out chunked (HTTP upstreams).
    out_chunked: bool,
    /// The client's response has no body (HEAD, 204, 304).
    out_bodiless: bool,
    /// What the timer was last armed for.
    armed_for: Option<Waiting>,
    /// The client asked to switch protocols (RFC 9110 §7.8) and the
    /// `Upgrade` field went upstream with it.
    upgrade: bool,
    /// The upstream agreed (101): the exchange is a two-way byte pipe.
    tunnel: bool,
    /// The coding the client accepts for a compressed answer, if any.
    coding: Option<Coding>,
    /// The response body is being compressed, and the coded bytes not yet
    /// framed.
    compress: Option<(Box<Stream>, Vec<u8>)>,
}

/// What is left of the client's request body.
#[derive(Debug)]
enum BodyIn {
    /// None, or all of it read.
    Done,
    /// This many bytes (Content-Length).
    Length(u64),
    /// A chunked body, decoded and framed again for the upstream.
    Chunked(Box<ChunkedDecoder>),
    /// A chunked body spooled to a file, this much of it still to send.
    File { file: std::fs::File, left: u64 },
    /// After a 101: whatever the client sends, as it comes, until it closes.
    Tunnel,
}

/// What an exchange keeps of the request head, which does not outlive
/// the read that brought it.
#[derive(Debug)]
pub struct Info {
    keep_alive: bool,
    /// GET, HEAD or OPTIONS: safe to send twice (RFC 9110 §9.2.2).
    idempotent: bool,
    version: Version,
    head_only: bool,
    expect_continue: bool,
    /// The access log's view of the request: method, target, referer, user agent.
    log: [Vec<u8>; 4],
    /// The `Upgrade` field is passed upstream.
    upgrade: bool,
    /// The coding the client accepts for a compressed answer, if any.
    coding: Option<Coding>,
}

impl Info {
    fn of(svc: &Services, req: &Request<'_, '_>, head_only: bool) -> Info {
        let log = crate::conn::observe::saved_log(svc, req);
        Info {
            keep_alive: req.keep_alive,
            idempotent: matches!(req.method, Method::Get | Method::Head | Method::Options),
            version: req.version,
            head_only,
            expect_continue: req.expect_continue && req.body != Body::None,
            log,
            upgrade: false,
            coding: crate::handler::compress::for_request(req, &svc.config.compress),
        }
    }
}

/// A FastCGI request waiting for its chunked body to be spooled.
#[derive(Debug)]
pub struct Spooled {
    fcgi: Box<fastcgi::FastCgi>,
    /// BEGIN_REQUEST and the PARAMS records so far: CONTENT_LENGTH and the
    /// end of the stream come once the body's length is known.
    request: Vec<u8>,
    info: Info,
    group: usize,
}

/// The protocol spoken to the upstream.
#[derive(Debug)]
enum Proto {
    Http(proxy::Http),
    FastCgi(Box<fastcgi::FastCgi>),
    /// Lent out while a pass works on it.
    Lent,
}

/// How a pass over the exchange went wrong.
#[derive(Debug)]
enum Fail {
    /// The client went away (or its socket failed): abort.
    Client(&'static str),
    /// The upstream failed; `status` is the answer if none has begun.
    /// `blame_server`: count it against the server. `retry`: the request
    /// may go to another connection if it never reached an application.
    Upstream { status: u16, why: String, blame_server: bool, retry: bool },
}

impl Fail {
    fn upstream(status: u16, why: impl Into<String>) -> Fail {
        Fail::Upstream { status, why: why.into(), blame_server: true, retry: true }
    }

    /// The exchange must end with this answer, retry or not.
    fn end(status: u16, why: impl Into<String>) -> Fail {
        Fail::Upstream { status, why: why.into(), blame_server: false, retry: false }
    }
}

impl Conn {
    /// Start an exchange with an HTTP upstream (`--proxy`).
    pub(super) fn start_proxy(
        &mut self,
        slot: usize,
        svc: &mut Services,
        req: &Request<'_, '_>,
        target: ProxyTarget,
        head_only: bool,
    ) {
        let chunked = req.body == Body::Chunked;
        let websocket_only = svc.config.proxy.get(target.route).is_some_and(|r| r.websocket_only);
        if websocket_only && let Err(e) = wired_parser::websocket::handshake::check(req) {
            // `--ws-proxy`: a bad handshake is refused here, the upstream never asked.
            self.trace_fmt(svc, format_args!("WebSocket handshake refused: {} (RFC 6455 §4.2.1)", e.reason()));
            let reply = svc.handlers.error_reply(e.status());
            if e.status() == 426 {
                svc.handlers.fields.add("Sec-WebSocket-Version", b"13");
            }
            self.reply(svc, req, &[], reply, head_only);
            return;
        }
        let upgrade = proxy::upgrade_asked(req);
        let request = proxy::request_head(svc, req, &target, self.peer, self.io.is_tls(), chunked, upgrade);
        let proto = Proto::Http(proxy::Http::new(req.method == Method::Head, chunked));
        let body = match req.body {
            Body::None | Body::Length(0) => BodyIn::Done,
            Body::Length(n) => BodyIn::Length(n),
            Body::Chunked => BodyIn::Chunked(Box::new(ChunkedDecoder::new(&svc.config.limits))),
        };
        let mut info = Info::of(svc, req, head_only);
        info.upgrade = upgrade.is_some();
        self.start_exchange(slot, svc, info, target.group, proto, request, body);
    }

    /// Start an exchange with a FastCGI server (`--fastcgi`). A chunked
    /// body is spooled to a file first: a FastCGI application reads its
    /// body by CONTENT_LENGTH (RFC 3875 §4.1.2), which must be exact, so
    /// it is known only once the last chunk is in (nginx buffers such a
    /// body too).
    pub(super) fn start_fastcgi(
        &mut self,
        slot: usize,
        svc: &mut Services,
        req: &Request<'_, '_>,
        target: FastcgiTarget,
        head_only: bool,
    ) {
        let group = target.group;
        let (fcgi, mut request) = fastcgi::FastCgi::start(svc, req, target, self, head_only);
        let info = Info::of(svc, req, head_only);
        if req.body == Body::Chunked {
            let spooled = Spooled { fcgi, request, info, group };
            self.start_spool(slot, svc, AfterSpool::FastCgi(Box::new(spooled)));
            return;
        }
        let length = match req.body {
            Body::Length(n) => n,
            _ => 0,
        };
        fastcgi::end_request_head(&mut request, length, false);
        self.trace_fastcgi_request(svc, &request, length);
        let body = if length > 0 { BodyIn::Length(length) } else { BodyIn::Done };
        self.start_exchange(slot, svc, info, group, Proto::FastCgi(fcgi), request, body);
    }

    /// A spooled chunked body is complete: send the FastCGI request, its
    /// body read from the file.
    pub(super) fn resume_fastcgi(
        &mut self,
        slot: usize,
        svc: &mut Services,
        spooled: Spooled,
        file: std::fs::File,
        length: u64,
    ) {
        let Spooled { fcgi, mut request, info, group } = spooled;
        fastcgi::end_request_head(&mut request, length, true);
        self.trace_fastcgi_request(svc, &request, length);
        let body = if length > 0 { BodyIn::File { file, left: length } } else { BodyIn::Done };
        self.start_exchange(slot, svc, info, group, Proto::FastCgi(fcgi), request, body);
    }

    #[allow(clippy::too_many_arguments)]
    fn start_exchange(
        &mut self,
        slot: usize,
        svc: &mut Services,
        info: Info,
        group: usize,
        proto: Proto,
        request: Vec<u8>,
        body: BodyIn,
    ) {
        self.close_after = self.close_after || !info.keep_alive || svc.draining;
        // A bodiless GET, HEAD or OPTIONS may be sent again, over HTTP or
        // FastCGI alike; and needs no liveness check of a pooled connection
        // (a MSG_PEEK per request), since a dead one costs only a retry.
        let replayable = matches!(body, BodyIn::Done) && info.idempotent;
        // Without a body the request is whole already (FastCGI's empty
        // STDIN record is part of it).
        let body_framed = matches!(body, BodyIn::Done);
        let ex = Exchange {
            proto,
            group,
            up: None,
            server: 0,
            tried: 0,
            reused: false,
            retried: false,
            replayable,
            request,
            request_sent: 0,
            to_up: None,
            body,
            body_framed,
            from_up: None,
            response_started: false,
            answered: false,
            response_done: false,
            reusable: false,
            version: info.version,
            head_only: info.head_only,
            expect_continue: info.expect_continue,
            log: info.log,
            broken_body: None,
            out_chunked: false,
            out_bodiless: false,
            armed_for: None,
            upgrade: info.upgrade,
            coding: info.coding,
            compress: None,
            tunnel: false,
        };
        if svc.trace.is_some()
            && let Proto::Http(_) = ex.proto
        {
            let head = String::from_utf8_lossy(&ex.request);
            self.trace_fmt(svc, format_args!("request for the upstream:\n{}", head.trim_end()));
        }
        self.nodelay();
        self.exchange = Some(Box::new(ex));
        self.phase = Phase::Upstream;
        self.set_deadline(slot, svc, svc.config.upstream_timeouts.connect);
    }

    /// The Upstream phase: move bytes until nothing moves.
    pub(super) fn run_upstream(&mut self, slot: usize, svc: &mut Services) -> Step {
        let Some(mut ex) = self.exchange.take() else { return Step::Close };
        let step = self.pump(slot, svc, &mut ex);
        if matches!(self.phase, Phase::Upstream) {
            self.exchange = Some(ex);
        } else {
            self.end_exchange(svc, ex);
        }
        step
    }

    fn pump(&mut self, slot: usize, svc: &mut Services, ex: &mut Exchange) -> Step {
        for _ in 0..MAX_PASSES {
            let progress = match self.pass(slot, svc, ex) {
                Ok(p) => p,
                Err(Fail::Client(why)) => {
                    self.phase = Phase::Closed;
                    return self.close_because(why);
                }
                Err(Fail::Upstream { status, why, blame_server, retry }) => {
                    if let Some(step) = self.upstream_failed(svc, ex, status, &why, blame_server, retry) {
                        return step;
                    }
                    true
                }
            };
            if ex.response_done && ex.body_sent() {
                return self.exchange_done(svc, ex);
            }
            if ex.response_done && !ex.body_sent() {
                // The upstream answered before taking the whole body (an
                // early 413, say): that connection is out of step, and the
                // client's unread body means closing after the response.
                ex.reusable = false;
                self.close_after = true;
                self.linger_needed = true;
                return self.exchange_done(svc, ex);
            }
            self.arm_upstream_timer(slot, svc, ex, progress);
            if !progress {
                if ex.tunnel {
                    // A piped WebSocket may idle for hours: its four pooled
                    // buffers go back while they are empty, as a keep-alive
                    // connection's do, and come back with the next bytes.
                    self.release_idle_buffers(svc);
                    for b in [&mut ex.to_up, &mut ex.from_up] {
                        if b.as_ref().is_some_and(Buffer::is_empty)
                            && let Some(buf) = b.take()
                        {
                            svc.pool.put(buf);
                        }
                    }
                }
                return Step::Wait;
            }
        }
        Step::Yield
    }

    /// Read the upstream's response and pass it on, while the client's
    /// output has room.
    fn read_response(&mut self, svc: &mut Services, ex: &mut Exchange) -> Result<bool, Fail> {
        let mut progress = false;
        loop {
            if ex.response_done {
                return Ok(progress);
            }
            let out = self.output.get_or_insert_with(|| svc.pool.get());
            if out.remaining() < OUTPUT_ROOM {
                out.compact();
                if out.remaining() < OUTPUT_ROOM {
                    // Backpressure: the client is behind; the upstream waits.
                    return Ok(progress);
                }
            }
            let Some(up) = ex.up.and_then(|k| svc.upstreams.get_mut(k)) else { return Ok(progress) };
            if !up.readable || !up.connected {
                return Ok(progress);
            }
            let buf = ex.from_up.get_or_insert_with(|| svc.pool.get());
            if buf.remaining() < READ_CHUNK {
                buf.compact();
            }
            let spare = buf.spare();
            let want = spare.len().min(READ_CHUNK);
            let Some(spare) = spare.get_mut(..want).filter(|s| !s.is_empty()) else {
                return Err(Fail::upstream(502, "a response head larger than the buffer"));
            };
            match up.read(spare) {
                Ok(0) => {
                    self.response_eof(svc, ex)?;
                    return Ok(true);
                }
                Ok(n) => {
                    buf.filled(n);
                    ex.response_started = true;
                    progress = true;
                    self.handle_response(svc, ex)?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(progress),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Fail::upstream(502, format!("reading the response failed: {e}"))),
            }
        }
    }

    /// Hand the bytes read to the protocol's response code.
    fn handle_response(&mut self, svc: &mut Services, ex: &mut Exchange) -> Result<(), Fail> {
        let Some(mut buf) = ex.from_up.take() else { return Ok(()) };
        let mut proto = std::mem::replace(&mut ex.proto, Proto::Lent);
        let r = match &mut proto {
            Proto::Http(h) => self.proxy_response(svc, ex, h, &mut buf),
            Proto::FastCgi(f) => self.fastcgi_response(svc, ex, f, &mut buf),
            Proto::Lent => Ok(()),
        };
        ex.proto = proto;
        ex.from_up = Some(buf);
        r
    }

    /// The upstream closed its side.
    fn response_eof(&mut self, svc: &mut Services, ex: &mut Exchange) -> Result<(), Fail> {
        let mut proto = std::mem::replace(&mut ex.proto, Proto::Lent);
        let r = match &mut proto {
            Proto::Http(h) => self.proxy_eof(svc, ex, h),
            Proto::FastCgi(f) => self.fastcgi_eof(ex, f),
            Proto::Lent => Ok(()),
        };
        ex.proto = proto;
        r
    }

    /// Queue a `100 Continue` for a client that waits for one.
    pub(super) fn queue_continue(&mut self, svc: &mut Services) {
        let out = self.output.get_or_insert_with(|| svc.pool.get());
        out.push(CONTINUE);
        self.trace_queued(svc, "interim response", CONTINUE);
    }

    /// One pass: connect, send, read the client, read the upstream, flush.
    fn pass(&mut self, slot: usize, svc: &mut Services, ex: &mut Exchange) -> Result<bool, Fail> {
        let mut progress = false;
        if ex.up.is_none() {
            self.upstream_connect(slot, svc, ex)?;
            progress = true;
        }
        let Some(key) = ex.up else { return Ok(progress) };
        let Some(up) = svc.upstreams.get_mut(key) else {
            return Err(Fail::upstream(502, "the upstream connection vanished"));
        };
        if !up.connected {
            if !up.writable {
                return Ok(progress);
            }
            match up.finish_connect() {
                Ok(true) => {
                    progress = true;
                    if svc.trace.is_some() {
                        let name = self.server_name(svc, ex);
                        self.trace_fmt(svc, format_args!("upstream: connected to {name}"));
                    }
                }
                Ok(false) => return Ok(progress),
                Err(e) => {
                    return Err(Fail::upstream(502, format!("connect to {} failed: {e}", self.server_name(svc, ex))));
                }
            }
        }
        progress |= self.send_request(svc, ex)?;
        if let Some(status) = ex.broken_body.take() {
            return Err(Fail::end(status, "the client's chunked body is malformed or too large"));
        }
        progress |= self.read_client_body(svc, ex)?;
        progress |= self.read_response(svc, ex)?;
        progress |= self.flush_output(svc).map_err(|()| Fail::Client("a write failed: the client went away"))?;
        Ok(progress)
    }

    /// After a reload (`src/worker.rs::Worker::reload`): renumber the
    /// upstream group of an exchange under way, or of a request whose body
    /// is being spooled, by `moved` (old number to new, by name). A group
    /// the new configuration lacks becomes a number that names none: the
    /// next connection it needs fails with 502.
    pub fn regroup(&mut self, moved: &[Option<usize>]) {
        let renumber = |group: &mut usize| *group = moved.get(*group).copied().flatten().unwrap_or(usize::MAX);
        if let Some(ex) = self.exchange.as_mut() {
            renumber(&mut ex.group);
            // Its servers' numbers were the old group's.
            ex.tried = 0;
            ex.server = usize::MAX;
        }
        if let Some(spool) = self.spool.as_mut()
            && let AfterSpool::FastCgi(spooled) = &mut spool.next
        {
            renumber(&mut spooled.group);
        }
        // An HTTP/2 connection's streams have exchanges of their own.
        self.regroup_http2(moved);
    }

    /// Get a connection: an idle one from the pool, or a new one to the
    /// next live server.
    fn upstream_connect(&mut self, slot: usize, svc: &mut Services, ex: &mut Exchange) -> Result<(), Fail> {
        let owner = Owner { slot, serial: self.serial };
        loop {
            let (fresh, verify) = (ex.retried, !ex.replayable);
            match svc.upstreams.acquire(ex.group, owner, ex.tried, fresh, verify, &svc.registry, svc.now) {
                Ok((key, pooled)) => {
                    ex.up = Some(key);
                    ex.reused = pooled;
                    ex.server = svc.upstreams.get_mut(key).map_or(0, |c| c.server);
                    if !pooled {
                        // A fresh connection carries the request to this
                        // server: it is not tried twice for one request.
                        ex.tried |= bit(ex.server);
                    }
                    // The server's name is written out only for a trace:
                    // formatting an address costs more than the rest of this.
                    if svc.trace.is_some() {
                        let name = self.server_name(svc, ex);
                        let how = if pooled { "a pooled connection to" } else { "connecting to" };
                        self.trace_fmt(svc, format_args!("upstream: {how} {name}"));
                    }
                    return Ok(());
                }
                Err(NoConnection::NoLiveServer) => {
                    let why = format!("upstream {}: no live server left to try", svc.upstreams.name(ex.group));
                    return Err(Fail::end(502, why));
                }
                Err(NoConnection::Failed { server, error }) => {
                    // Refused at once (a Unix socket nobody listens on):
                    // the request never left, so the next server may have it.
                    let name = svc.upstreams.addr(ex.group, server).map(|a| a.to_string()).unwrap_or_default();
                    log::warn!("upstream {}: connect to {name} failed: {error}", svc.upstreams.name(ex.group));
                    svc.upstreams.mark_failed(ex.group, server, svc.now);
                    ex.tried |= bit(server);
                }
            }
        }
    }

    /// An upstream failure. Returns the step to take, or `None` to go on
    /// (a retry was set up).
    #[allow(clippy::too_many_arguments)]
    fn upstream_failed(
        &mut self,
        svc: &mut Services,
        ex: &mut Exchange,
        status: u16,
        why: &str,
        blame_server: bool,
        retry: bool,
    ) -> Option<Step> {
        let stale = ex.reused && !ex.response_started && status == 502;
        if let Some(key) = ex.up.take() {
            svc.upstreams.close(key);
            // A pooled connection that turned out closed is no fault of its server.
            if blame_server && !stale {
                svc.upstreams.mark_failed(ex.group, ex.server, svc.now);
            }
        }
        // The request never reached the application (no byte of it written
        // on a fresh connection that failed to connect), or a pooled
        // connection was stale and the request may be sent again: try again.
        let unsent = !ex.reused && ex.request_sent == 0 && !ex.response_started;
        let can_retry = retry
            && ((stale && ex.replayable && !ex.retried)
                || (unsent && ex.tried.count_ones() < svc.upstreams.servers(ex.group) as u32));
        if can_retry {
            self.trace_fmt(svc, format_args!("upstream: {why}; trying again on a fresh connection"));
            if stale {
                ex.retried = true;
            }
            ex.restart();
            return None;
        }
        log::warn!("upstream {}: {why}", svc.upstreams.name(ex.group));
        self.trace_fmt(svc, format_args!("upstream failed: {why}"));
        if ex.answered {
            // The response is under way: only a close can tell the client
            // it is incomplete (RFC 9112 §6.3).
            self.close_after = true;
            ex.response_done = true;
            ex.reusable = false;
            ex.body = BodyIn::Done;
            ex.body_framed = true;
            self.phase = Phase::Write;
            return Some(Step::Continue);
        }
        // RFC 9110 §15.6.3 (502) and §15.6.5 (504).
        let unread = ex.body.still_in_client();
        self.linger_needed |= unread;
        self.log_saved(svc, &ex.log, ex.version, status, 0);
        self.queue_error(svc, status, unread || self.close_after);
        ex.answered = true;
        ex.response_done = true;
        ex.body = BodyIn::Done;
        ex.body_framed = true;
        self.phase = Phase::Write;
        Some(Step::Continue)
    }

    /// The response is complete: the upstream connection goes back to its
    /// pool (or closes), and the client's output is sent by the Write phase.
    fn exchange_done(&mut self, svc: &mut Services, ex: &mut Exchange) -> Step {
        if let Some(key) = ex.up.take() {
            let reuse = ex.reusable && ex.to_up.as_ref().is_none_or(Buffer::is_empty);
            svc.upstreams.mark_ok(ex.group, ex.server);
            svc.upstreams.release(key, reuse, svc.now);
            self.trace_fmt(
                svc,
                format_args!(
                    "upstream response complete; the upstream connection is {}",
                    if reuse { "kept for the next request" } else { "closed" }
                ),
            );
        }
        self.phase = Phase::Write;
        Step::Continue
    }

    /// Give the exchange's buffers back and close a connection still held.
    fn end_exchange(&mut self, svc: &mut Services, mut ex: Box<Exchange>) {
        if let Some(key) = ex.up.take() {
            svc.upstreams.close(key);
        }
        for b in [ex.to_up.take(), ex.from_up.take()].into_iter().flatten() {
            svc.pool.put(b);
        }
    }

    /// Drop the exchange (the connection is closing).
    pub fn drop_exchange(&mut self, svc: &mut Services) {
        if let Some(ex) = self.exchange.take() {
            self.end_exchange(svc, ex);
        }
    }

    /// The server of the exchange, for logs.
    fn server_name(&self, svc: &Services, ex: &Exchange) -> String {
        svc.upstreams.addr(ex.group, ex.server).map(|a| a.to_string()).unwrap_or_default()
    }

    /// Log a request from its saved pieces, once its status is known.
    pub(super) fn log_saved(&self, svc: &mut Services, log: &[Vec<u8>; 4], version: Version, status: u16, bytes: u64) {
        let [method, target, referer, user_agent] = log;
        let entry =
            crate::access_log::Entry { method, target, version: self.log_version(version), referer, user_agent };
        if let Some(access) = svc.access.as_mut() {
            let tls = svc.config.access_log_tls.then(|| self.io.log_fields());
            access.entry(self.peer.ip(), svc.clock.http_date(), &entry, status, bytes, tls);
        }
    }
}

impl Exchange {
    /// The whole body has gone to the upstream (or there was none).
    fn body_sent(&self) -> bool {
        matches!(self.body, BodyIn::Done)
            && self.body_framed
            && self.request_sent >= self.request.len()
            && self.to_up.as_ref().is_none_or(Buffer::is_empty)
    }

    /// Start over on a new connection (nothing of the response has come).
    fn restart(&mut self) {
        self.up = None;
        self.request_sent = 0;
        self.reused = false;
        if let Some(b) = self.from_up.as_mut() {
            b.clear();
        }
        match &mut self.proto {
            Proto::Http(h) => h.restart(),
            Proto::FastCgi(f) => f.restart(),
            Proto::Lent => {}
        }
    }
}

/// The bit for server `i` in a tried set.
fn bit(i: usize) -> u64 {
    if i < 64 { 1 << i } else { 0 }
}
