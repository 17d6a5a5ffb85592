//! Running a CGI program inside the event loop (RFC 3875).
//!
//! The program's stdin, stdout and stderr are non-blocking pipes registered
//! in the worker's poll under the connection's slab slot, next to the client
//! socket, and its exit arrives as a pidfd event: nothing here ever blocks the
//! worker. Bytes flow with backpressure both ways: the request body moves from
//! the socket to stdin only as fast as the program reads it, and the program's
//! output moves to the socket only as fast as the client reads it — a full
//! output buffer means stdout is simply not read, and the program blocks.
//!
//! A chunked request body is first spooled to an unnamed temporary file,
//! because CONTENT_LENGTH must be exact (RFC 3875 §4.1.2); the program then
//! reads the file as its stdin.

use std::ffi::OsString;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use mio::Interest;
use mio::unix::SourceFd;
use mio::unix::pipe::{Receiver, Sender};
use wired_parser::{Body, ChunkedDecoder, HeadParser, Request, Status, Version};

use super::gateway::{Gateway, Who};
use super::read_head::{HEADER_SLOTS, Parsed};
use super::{Conn, Phase, Step};
use crate::handler::cgi::{self, Meta, Script};
use crate::services::Services;
use crate::sys;
use crate::token::{self, Role};

/// Bytes read from a program's stdout at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Most local redirects followed for one request (RFC 3875 §6.2.2).
const MAX_REDIRECTS: u8 = 8;

/// What is known before the program starts.
#[derive(Debug)]
pub struct Launch {
    script: Script,
    env: Vec<(OsString, OsString)>,
    head_only: bool,
    version: Version,
    host: Vec<u8>,
    /// The access log's view of the request: method, target, referer, user agent.
    log: [Vec<u8>; 4],
    /// The coding the output may be compressed with.
    coding: Option<wired_parser::values::accept_encoding::Coding>,
}

/// A chunked request body being written to a temporary file.
#[derive(Debug)]
pub struct Spool {
    pub(in crate::conn) next: AfterSpool,
    decoder: ChunkedDecoder,
    file: File,
}

/// Who gets a spooled body once its length is known.
#[derive(Debug)]
pub enum AfterSpool {
    /// A CGI program, started then.
    Cgi(Box<Launch>),
    /// A FastCGI server (`conn/upstream/`), sent the request then.
    FastCgi(Box<super::upstream::Spooled>),
}

/// A running CGI program attached to a connection.
#[derive(Debug)]
pub struct Cgi {
    /// The process; handed to the worker to reap once killed.
    child: Option<Child>,
    /// Its PID, which is also its process group's ID.
    pid: u32,
    stdin: Option<Sender>,
    stdout: Option<Receiver>,
    stderr: Option<Receiver>,
    pidfd: Option<OwnedFd>,
    exited: bool,
    /// Request body bytes still to come from the client.
    body_left: u64,
    /// The program's output on its way to the client.
    gw: Gateway,
    redirects: u8,
    stderr_line: Vec<u8>,
    launch: Launch,
}

impl Cgi {
    fn kill(&mut self) {
        if !self.exited && self.child.is_some() {
            sys::kill_group(self.pid);
        }
    }
}

impl Drop for Cgi {
    /// A program still running when its connection is dropped without
    /// `drop_cgi` (a worker that ends with connections in its slab) must
    /// not outlive the server: its group is killed, and init reaps it once
    /// wired exits. `Worker::cut_all` closes connections through `drop_cgi`,
    /// so this is the safety net, not the usual path.
    fn drop(&mut self) {
        self.kill();
    }
}

impl Conn {
    /// Start a CGI program for a request (or queue why it cannot start).
    pub(super) fn start_cgi(
        &mut self,
        slot: usize,
        svc: &mut Services,
        req: &Request<'_, '_>,
        rest: &[u8],
        script: Script,
        head_only: bool,
    ) {
        self.close_after = self.close_after || !req.keep_alive || svc.draining;
        if svc.cgi_running >= svc.config.cgi_max {
            // RFC 9110 §15.6.4: overloaded for now; say when to come back.
            let mut reply = svc.handlers.error_reply(503);
            svc.handlers.fields.add("Retry-After", b"1");
            reply.close = false;
            self.reply(svc, req, rest, reply, head_only);
            return;
        }
        let content_length = match req.body {
            Body::None => None,
            Body::Length(n) => Some(n),
            Body::Chunked => None,
        };
        let query = req.target.split_once('?').map_or("", |(_, q)| q);
        let meta = Meta {
            script: &script,
            query: query.as_bytes(),
            content_length,
            peer: self.peer,
            local: self.local,
            document_root: &svc.document_root,
            https: self.io.is_tls(),
            http2: self.io.is_http2_stream(),
        };
        let env = cgi::environment_list(req, &meta);
        // RFC 9110 §10.1.1: the client waits for 100 Continue before sending a
        // body the server wants.
        if req.expect_continue && req.body != Body::None {
            let out = self.output.get_or_insert_with(|| svc.pool.get());
            out.push(b"HTTP/1.1 100 Continue\r\n\r\n");
            self.trace_queued(svc, "interim response", b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let log = crate::conn::observe::saved_log(svc, req);
        let coding = crate::handler::compress::for_request(req, &svc.config.compress);
        let host = req.host.unwrap_or_default().to_vec();
        let launch = Launch { script, env, head_only, version: req.version, host, log, coding };
        match req.body {
            Body::Chunked => self.start_spool(slot, svc, AfterSpool::Cgi(Box::new(launch))),
            _ => self.spawn(slot, svc, launch, None, content_length.unwrap_or(0), 0),
        }
    }

    /// Spool a chunked body to a temporary file for `next`.
    pub(super) fn start_spool(&mut self, slot: usize, svc: &mut Services, next: AfterSpool) {
        match spool_file() {
            Ok(file) => {
                let decoder = ChunkedDecoder::new(&svc.config.limits);
                self.spool = Some(Box::new(Spool { next, decoder, file }));
                self.phase = Phase::Spool;
                self.set_deadline(slot, svc, svc.config.body_timeout);
            }
            Err(e) => {
                log::error!("cannot create a spool file for a chunked body: {e}");
                self.linger_needed = true;
                self.queue_error(svc, 500, true);
                self.phase = Phase::Write;
            }
        }
    }

    /// Spool phase: decode a chunked body into the temporary file.
    pub(super) fn spool(&mut self, slot: usize, svc: &mut Services) -> Step {
        // A queued 100 Continue must go out, or the client never sends the body.
        if self.flush_output(svc).is_err() {
            self.spool = None;
            return self.close_because("a write failed: the client went away");
        }
        loop {
            let limit = self.max_body_bytes(svc);
            let Some(spool) = self.spool.as_mut() else { return Step::Close };
            let mut done = false;
            if let Some(input) = self.input.as_mut() {
                loop {
                    let d = match spool.decoder.decode(input.bytes()) {
                        Ok(d) => d,
                        Err(e) => {
                            self.spool = None;
                            self.linger_needed = true;
                            self.queue_error(svc, e.status(), true);
                            self.phase = Phase::Write;
                            return Step::Continue;
                        }
                    };
                    let data = input.bytes().get(d.data.clone()).unwrap_or_default();
                    if !data.is_empty() && spool.file.write_all(data).is_err() {
                        self.spool = None;
                        self.linger_needed = true;
                        self.queue_error(svc, 500, true);
                        self.phase = Phase::Write;
                        return Step::Continue;
                    }
                    input.consume(d.consumed);
                    // RFC 9110 §15.5.14: refused at the chunk size that
                    // announces too much, before its data is spooled.
                    if spool.decoder.announced() > limit {
                        self.spool = None;
                        self.linger_needed = true;
                        self.queue_error(svc, 413, true);
                        self.phase = Phase::Write;
                        return Step::Continue;
                    }
                    if d.done {
                        done = true;
                        break;
                    }
                    if d.consumed == 0 {
                        break;
                    }
                }
            }
            if done {
                let Some(spool) = self.spool.take() else { return Step::Close };
                let Spool { next, decoder, mut file } = *spool;
                let length = decoder.body_bytes();
                if file.rewind().is_err() {
                    self.queue_error(svc, 500, true);
                    self.phase = Phase::Write;
                    return Step::Continue;
                }
                match next {
                    AfterSpool::Cgi(mut launch) => {
                        // RFC 3875 §4.1.2: now the exact length is known.
                        launch.env.push(("CONTENT_LENGTH".into(), length.to_string().into()));
                        self.spawn(slot, svc, *launch, Some(file), 0, 0);
                    }
                    AfterSpool::FastCgi(spooled) => self.resume_fastcgi(slot, svc, *spooled, file, length),
                }
                return Step::Continue;
            }
            if self.peer_closed {
                return self.close_because("the client closed its side in the middle of a request body");
            }
            match self.fill(svc) {
                Ok(0) => return self.close_because("the client closed its side in the middle of a request body"),
                Ok(_) => self.set_deadline(slot, svc, svc.config.body_timeout),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                // Interrupted: a signal, or a TLS session's read budget spent on
                // records without data: let other connections run first.
                Err(e) if e.kind() == ErrorKind::Interrupted => return Step::Yield,
                Err(_) => return self.close_because("recvfrom() failed: the connection was reset"),
            }
        }
    }

    /// Start the program: pipes, process group, registration in the poll.
    fn spawn(
        &mut self,
        slot: usize,
        svc: &mut Services,
        launch: Launch,
        stdin_file: Option<File>,
        body: u64,
        redirects: u8,
    ) {
        let script = &launch.script;
        let mut cmd = Command::new(&script.program);
        if script.interpreted {
            cmd.arg(&script.filename);
        }
        // RFC 3875 §7.2: the working directory is the script's own.
        if let Some(dir) = script.filename.parent() {
            cmd.current_dir(dir);
        }
        // A clean environment: only the meta-variables, nothing of ours.
        cmd.env_clear().envs(launch.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(match stdin_file {
            Some(f) => Stdio::from(f),
            None if body > 0 => Stdio::piped(),
            None => Stdio::null(),
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group, so a timeout kills everything it started.
        cmd.process_group(0);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                log::error!("cgi {}: cannot start: {e}", script.filename.display());
                self.linger_needed = body > 0;
                self.queue_error(svc, 502, body > 0);
                self.phase = Phase::Write;
                return;
            }
        };
        svc.cgi_running += 1;
        self.nodelay();
        let mut cgi = Box::new(Cgi {
            pid: child.id(),
            child: Some(child),
            stdin: None,
            stdout: None,
            stderr: None,
            pidfd: None,
            exited: false,
            body_left: body,
            gw: Gateway::new(
                launch.version,
                launch.head_only,
                Who { kind: "cgi", path: launch.script.filename.clone() },
                true,
                launch.coding,
            ),
            redirects,
            stderr_line: Vec::new(),
            launch,
        });
        if let Err(e) = register(&mut cgi, slot, svc) {
            log::error!("cgi: cannot watch the program's pipes: {e}");
            cgi.kill();
            svc.zombies.extend(cgi.child.take());
            self.queue_error(svc, 500, true);
            self.phase = Phase::Write;
            return;
        }
        self.trace_fmt(
            svc,
            format_args!("started CGI program {} (pid {})", cgi.launch.script.filename.display(), cgi.pid),
        );
        self.cgi = Some(cgi);
        self.phase = Phase::Cgi;
        self.arm_cgi_timer(slot, svc);
    }

    /// The CGI phase: move bytes between the client and the program until
    /// nothing moves, then wait for the next event.
    pub(super) fn run_cgi(&mut self, slot: usize, svc: &mut Services) -> Step {
        loop {
            let mut progress = false;
            match self.cgi_body(svc) {
                Ok(p) => progress |= p,
                Err(()) => return self.abort_cgi(svc),
            }
            match self.cgi_stdout(svc) {
                Ok(p) => progress |= p,
                Err(()) => return self.abort_cgi(svc),
            }
            match self.flush_output(svc) {
                Ok(p) => progress |= p,
                Err(()) => return self.abort_cgi(svc),
            }
            progress |= self.cgi_stderr();
            progress |= self.cgi_reap(svc);
            if progress {
                self.arm_cgi_timer(slot, svc);
            }
            if let Some(step) = self.cgi_finished(slot, svc) {
                return step;
            }
            if !progress {
                return Step::Wait;
            }
        }
    }

    /// Arm the timer for what the exchange now waits on. Output queued and
    /// not sent means the client is not reading: `--send-timeout`, as for a
    /// file. Otherwise it waits on the program, which must make progress
    /// (read its body, write output) within `--cgi-timeout`.
    fn arm_cgi_timer(&mut self, slot: usize, svc: &mut Services) {
        let after = match self.waiting_on_client() {
            true => svc.config.send_timeout,
            false => svc.config.cgi_timeout,
        };
        self.set_deadline(slot, svc, after);
    }

    /// Output is queued that the client has not taken yet.
    fn waiting_on_client(&self) -> bool {
        self.output.as_ref().is_some_and(|b| !b.is_empty())
    }

    /// Request body: buffered bytes to stdin, and more from the socket.
    fn cgi_body(&mut self, svc: &mut Services) -> Result<bool, ()> {
        let Some(cgi) = self.cgi.as_mut() else { return Ok(false) };
        let mut progress = false;
        if cgi.body_left > 0
            && let Some(input) = self.input.as_mut()
            && !input.is_empty()
        {
            let n = (input.len() as u64).min(cgi.body_left) as usize;
            let bytes = input.bytes().get(..n).unwrap_or_default();
            let written = match cgi.stdin.as_mut() {
                Some(pipe) => match pipe.write(bytes) {
                    Ok(w) => w,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                    Err(e) if e.kind() == ErrorKind::Interrupted => 0,
                    // The program stopped reading (EPIPE): the rest of the body
                    // is read and dropped, so the connection stays in step.
                    Err(_) => {
                        cgi.stdin = None;
                        n
                    }
                },
                None => n,
            };
            if written > 0 {
                input.consume(written);
                cgi.body_left -= written as u64;
                progress = true;
            }
        }
        if cgi.body_left == 0 && cgi.stdin.is_some() {
            // End of the body: closing the pipe is the program's end of file.
            if let Some(mut pipe) = cgi.stdin.take() {
                let _ = svc.registry.deregister(&mut pipe);
            }
            progress = true;
        }
        // Read the rest of the body; once it is all in, read only when the
        // socket says something happened, to notice the client leaving while
        // the program is quiet (anything pipelined meanwhile waits its turn
        // in the buffer).
        let body_wanted = cgi.body_left > 0;
        let room = self.input.as_ref().map_or(usize::MAX, |b| b.capacity() - b.len());
        if (body_wanted || !self.read_drained) && room > 0 && !self.peer_closed {
            match self.fill(svc) {
                Ok(0) if body_wanted => {
                    // The body will never be complete, so the program can
                    // never be answered: stop it.
                    self.peer_closed = true;
                    return Err(());
                }
                Ok(0) => {
                    // The whole request is in and the client shut its sending
                    // side: a half-close (RFC 9112 §9.6 lets a client close
                    // its side and still read the response), answered in full
                    // as a file would be, then closed. A client that is
                    // really gone shows itself when a write fails (EPIPE or a
                    // reset), or the program meets --cgi-timeout. nginx takes
                    // the FIN for an abort instead; here CGI and static files
                    // behave alike.
                    self.peer_closed = true;
                    self.close_after = true;
                    progress = true;
                }
                Ok(_) => progress |= body_wanted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.read_drained = true,
                Err(e) if e.kind() == ErrorKind::Interrupted => progress = true,
                Err(_) => return Err(()),
            }
        }
        Ok(progress)
    }

    /// Program output: the header block, then the body, framed for the client.
    fn cgi_stdout(&mut self, svc: &mut Services) -> Result<bool, ()> {
        let room = self.output.as_ref().map_or(usize::MAX, |b| b.remaining());
        let Some(cgi) = self.cgi.as_mut() else { return Ok(false) };
        let Some(pipe) = cgi.stdout.as_mut() else { return Ok(false) };
        // Backpressure: no room for another framed chunk, so leave it in the pipe.
        if room < READ_CHUNK + 32 {
            return Ok(false);
        }
        let mut chunk = [0u8; READ_CHUNK];
        let read = pipe.read(&mut chunk);
        if let Ok(0) = read
            && let Some(mut p) = cgi.stdout.take()
        {
            let _ = svc.registry.deregister(&mut p);
        }
        let body_unread = cgi.body_left > 0;
        // The gateway state (and the access log's view of the request) is
        // taken out while the connection queues the response, and put back.
        let mut gw = std::mem::replace(&mut cgi.gw, Gateway::placeholder());
        let saved = std::mem::take(&mut cgi.launch.log);
        let result = match read {
            Ok(0) => {
                self.gateway_end(svc, &mut gw, body_unread);
                Ok(true)
            }
            Ok(n) => {
                self.gateway_output(svc, &mut gw, chunk.get(..n).unwrap_or_default(), body_unread, &saved);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(_) => Err(()),
        };
        if let Some(cgi) = self.cgi.as_mut() {
            cgi.gw = gw;
            cgi.launch.log = saved;
        }
        result
    }

    /// The program's stderr, a line at a time, to the error log.
    fn cgi_stderr(&mut self) -> bool {
        let Some(cgi) = self.cgi.as_mut() else { return false };
        let Some(pipe) = cgi.stderr.as_mut() else { return false };
        let mut buf = [0u8; 4096];
        match pipe.read(&mut buf) {
            Ok(0) => {
                cgi.stderr = None;
                flush_stderr_line(cgi);
                true
            }
            Ok(n) => {
                for &b in buf.get(..n).unwrap_or_default() {
                    if b == b'\n' || cgi.stderr_line.len() >= 4096 {
                        flush_stderr_line(cgi);
                    } else {
                        cgi.stderr_line.push(b);
                    }
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Collect the program's exit status once its pidfd says it ended.
    fn cgi_reap(&mut self, svc: &mut Services) -> bool {
        let Some(cgi) = self.cgi.as_mut() else { return false };
        // Only worth asking once its output is over.
        if cgi.exited || cgi.stdout.is_some() {
            return false;
        }
        match cgi.child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => {
                cgi.exited = true;
                svc.cgi_running = svc.cgi_running.saturating_sub(1);
                if let Some(fd) = cgi.pidfd.take() {
                    let _ = svc.registry.deregister(&mut SourceFd(&fd.as_raw_fd()));
                }
                if !status.success() {
                    log::info!("cgi {}: exited with {status}", cgi.launch.script.filename.display());
                }
                true
            }
            _ => false,
        }
    }

    /// When the program is done and its response sent, move on.
    fn cgi_finished(&mut self, slot: usize, svc: &mut Services) -> Option<Step> {
        let cgi = self.cgi.as_ref()?;
        let drained = self.output.as_ref().is_none_or(|b| b.is_empty());
        if !(cgi.exited && cgi.stdout.is_none() && cgi.body_left == 0 && drained) {
            return None;
        }
        let mut cgi = self.cgi.take()?;
        if let Some(location) = cgi.gw.redirect.take() {
            return Some(self.local_redirect(slot, svc, &cgi.launch, &location, cgi.redirects));
        }
        if self.close_after {
            return Some(self.finish(slot, svc));
        }
        self.phase = Phase::Head;
        Some(Step::Continue)
    }

    /// Serve the path a program named in a local `Location` (RFC 3875 §6.2.2),
    /// as a GET (or HEAD), by parsing a request made up for it.
    fn local_redirect(
        &mut self,
        slot: usize,
        svc: &mut Services,
        launch: &Launch,
        location: &[u8],
        redirects: u8,
    ) -> Step {
        if redirects >= MAX_REDIRECTS {
            log::warn!("cgi: too many local redirects");
            self.queue_error(svc, 500, false);
            self.phase = Phase::Write;
            return Step::Continue;
        }
        // The client's HEAD stays a HEAD: it must get no body.
        let mut raw = if launch.head_only { b"HEAD ".to_vec() } else { b"GET ".to_vec() };
        raw.extend_from_slice(location);
        raw.extend_from_slice(b" ");
        raw.extend_from_slice(launch.version.as_str().as_bytes());
        raw.extend_from_slice(b"\r\nHost: ");
        raw.extend_from_slice(&launch.host);
        if launch.version == Version::Http10 && !self.close_after {
            raw.extend_from_slice(b"\r\nConnection: keep-alive");
        }
        raw.extend_from_slice(b"\r\n\r\n");
        let mut fields = [wired_parser::EMPTY_HEADER; HEADER_SLOTS];
        let req = match HeadParser::new().parse(&raw, &svc.config.limits, &mut fields) {
            Ok(Status::Complete(req)) => req,
            _ => {
                self.queue_error(svc, 502, false);
                self.phase = Phase::Write;
                return Step::Continue;
            }
        };
        self.trace_fmt(svc, format_args!("CGI local redirect to {}", location.escape_ascii()));
        self.phase = Phase::Write;
        self.requests = self.requests.saturating_sub(1);
        match self.answer(slot, svc, &req, &[]) {
            Parsed::Answered | Parsed::Refused | Parsed::Partial => {}
        }
        if let Some(cgi) = self.cgi.as_mut() {
            cgi.redirects = redirects + 1;
        }
        if matches!(self.phase, Phase::Head) {
            self.phase = Phase::Write;
        }
        Step::Continue
    }

    /// Stop the program and its group; the connection cannot go on.
    fn abort_cgi(&mut self, svc: &mut Services) -> Step {
        self.drop_cgi(svc);
        self.close_because("CGI aborted: the client went away, or a pipe failed")
    }

    /// Kill the program (if running) and leave it for the worker to reap.
    pub fn drop_cgi(&mut self, svc: &mut Services) {
        self.spool = None;
        if let Some(mut cgi) = self.cgi.take() {
            cgi.kill();
            if !cgi.exited {
                svc.zombies.extend(cgi.child.take());
            }
        }
    }

    /// The CGI deadline passed.
    pub(super) fn cgi_timeout(&mut self, slot: usize, svc: &mut Services) -> Step {
        if self.waiting_on_client() {
            // The send timeout (see `arm_cgi_timer`): the program is not to
            // blame, but its response can go nowhere.
            self.drop_cgi(svc);
            return self.close_because("send timeout: the client stopped reading its response");
        }
        let answered = self.cgi.as_ref().is_some_and(|c| c.gw.answered);
        let name = self.cgi.as_ref().map(|c| c.launch.script.filename.display().to_string()).unwrap_or_default();
        log::warn!("cgi {name}: timed out; killing its process group");
        self.drop_cgi(svc);
        if answered {
            return self.close_because("CGI timeout after the response began: only a close can end it");
        }
        // RFC 9110 §15.6.5: the program did not answer in time.
        self.linger_needed = true;
        self.queue_error(svc, 504, true);
        self.phase = Phase::Write;
        self.drive(slot, svc)
    }
}

/// Register the program's pipes and pidfd under the connection's slot.
fn register(cgi: &mut Cgi, slot: usize, svc: &mut Services) -> std::io::Result<()> {
    let Some(child) = cgi.child.as_mut() else { return Err(ErrorKind::NotFound.into()) };
    let pipes = register_child(child, slot, svc)?;
    (cgi.stdin, cgi.stdout, cgi.stderr, cgi.pidfd) = (pipes.stdin, pipes.stdout, pipes.stderr, Some(pipes.pidfd));
    Ok(())
}

/// A child's pipes, non-blocking and in the worker's poll, and its pidfd.
pub(super) struct ChildPipes {
    pub stdin: Option<Sender>,
    pub stdout: Option<Receiver>,
    pub stderr: Option<Receiver>,
    pub pidfd: OwnedFd,
}

/// Register a child's piped stdin, stdout and stderr, and its exit (a
/// pidfd, readable once it ends), under the connection's slot: each wakes
/// the connection, never the worker blocking on it. Used by CGI and by
/// `--ws-program` (`conn/websocket/program.rs`).
pub(super) fn register_child(child: &mut Child, slot: usize, svc: &mut Services) -> std::io::Result<ChildPipes> {
    let mut stdin = None;
    if let Some(pipe) = child.stdin.take() {
        let mut pipe = Sender::from(pipe);
        pipe.set_nonblocking(true)?;
        svc.registry.register(&mut pipe, token::slot(slot, Role::ChildStdin), Interest::WRITABLE)?;
        stdin = Some(pipe);
    }
    let mut stdout = None;
    if let Some(pipe) = child.stdout.take() {
        let mut pipe = Receiver::from(pipe);
        pipe.set_nonblocking(true)?;
        svc.registry.register(&mut pipe, token::slot(slot, Role::ChildStdout), Interest::READABLE)?;
        stdout = Some(pipe);
    }
    let mut stderr = None;
    if let Some(pipe) = child.stderr.take() {
        let mut pipe = Receiver::from(pipe);
        pipe.set_nonblocking(true)?;
        svc.registry.register(&mut pipe, token::slot(slot, Role::ChildStderr), Interest::READABLE)?;
        stderr = Some(pipe);
    }
    let pidfd = sys::pidfd_open(child.id())?;
    svc.registry.register(&mut SourceFd(&pidfd.as_raw_fd()), token::slot(slot, Role::ChildExit), Interest::READABLE)?;
    Ok(ChildPipes { stdin, stdout, stderr, pidfd })
}

fn flush_stderr_line(cgi: &mut Cgi) {
    if !cgi.stderr_line.is_empty() {
        log::warn!("cgi {}: {}", cgi.launch.script.filename.display(), String::from_utf8_lossy(&cgi.stderr_line));
        cgi.stderr_line.clear();
    }
}

/// An unnamed temporary file (O_TMPFILE): gone as soon as it is closed.
pub(super) fn spool_file() -> std::io::Result<File> {
    std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).open(std::env::temp_dir())
}
