//! One worker thread: a poll, its listeners, a slab of connections, a buffer
//! pool, a timer wheel and a clock. Nothing here is shared with other workers
//! except the read-only configuration and the shutdown flag.
//!
//! The loop, once per wake-up: read the clock; accept new connections
//! (bounded); drive each connection that has an event until it must wait;
//! run connections that yielded; fire due timers; flush the access log.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll};
use slab::Slab;

use crate::access_log::AccessLog;
use crate::config::Config;
use crate::conn::{Conn, Step, Transport};
use crate::control::Control;
use crate::services::Services;
use crate::timer::TimerKey;
use crate::tls::TlsStream;
use crate::token::{self, Role, Source};

/// Connections accepted per listener per wake-up, so a flood of new
/// connections cannot starve the ones already open.
const ACCEPT_BATCH: usize = 64;

/// The shared stop flag's values, set by the signal thread (`src/main.rs`).
pub use crate::control::stop;

/// How long to stop accepting after running out of file descriptors.
const FD_BACKOFF: Duration = Duration::from_millis(100);

/// A worker and its event loop.
pub struct Worker {
    id: usize,
    poll: Poll,
    /// Each listening socket, its address, and whether it speaks TLS.
    listeners: Vec<(TcpListener, SocketAddr, bool)>,
    conns: Slab<Conn>,
    svc: Services,
    serial: u64,
    max_conns: usize,
    /// Accepting is paused until this instant (descriptors ran out).
    accept_backoff: Option<Instant>,
    /// Accepting is paused because the connection limit is reached.
    at_capacity: bool,
    /// Connections that yielded with work left.
    runnable: Vec<usize>,
    /// Stop, reopen logs, a new configuration: from the signal thread.
    control: Arc<Control>,
    /// The log reopens and configuration generation this worker has seen.
    reopens_seen: u64,
    generation_seen: u64,
    drain_deadline: Option<Instant>,
    emfile_logged: bool,
}

impl Worker {
    /// Set a worker up around a poll made by the caller (who keeps its waker).
    pub fn new(
        id: usize,
        poll: Poll,
        listeners: Vec<(std::net::TcpListener, bool)>,
        config: Arc<Config>,
        control: Arc<Control>,
    ) -> io::Result<Worker> {
        let mut mio_listeners = Vec::new();
        for (i, (l, tls)) in listeners.into_iter().enumerate() {
            let addr = l.local_addr()?;
            let mut l = TcpListener::from_std(l);
            poll.registry().register(&mut l, token::listener(i), Interest::READABLE)?;
            mio_listeners.push((l, addr, tls));
        }
        let max_conns = (config.max_connections / config.workers.max(1)).max(1);
        let registry = poll.registry().try_clone()?;
        Ok(Worker {
            id,
            poll,
            listeners: mio_listeners,
            conns: Slab::with_capacity(1024),
            svc: Services::new(config, registry)?,
            serial: 0,
            max_conns,
            accept_backoff: None,
            at_capacity: false,
            runnable: Vec::new(),
            reopens_seen: control.reopens(),
            generation_seen: control.generation(),
            control,
            drain_deadline: None,
            emfile_logged: false,
        })
    }

    /// Run until shut down.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut expired = Vec::new();
        let mut runnable = Vec::new();
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != ErrorKind::Interrupted
            {
                return Err(e);
            }
            self.svc.now = Instant::now();
            self.svc.clock.update();

            for event in events.iter() {
                match token::decode(event.token()) {
                    Source::Waker => {}
                    Source::Listener(i) => self.accept(i),
                    Source::Slot(slot, Role::Client) => {
                        let Some(conn) = self.conns.get_mut(slot) else { continue };
                        if event.is_readable() || event.is_read_closed() {
                            conn.read_drained = false;
                        }
                        conn.read_closed |= event.is_read_closed();
                        self.drive(slot);
                    }
                    // An upstream connection: the exchange it serves does the
                    // work; an idle one is checked by the pool itself.
                    Source::Slot(key, Role::Upstream) => {
                        let trouble = event.is_error() || event.is_write_closed();
                        let readable = event.is_readable() || trouble;
                        let writable = event.is_writable() || trouble;
                        let closed = event.is_read_closed();
                        if let Some(owner) = self.svc.upstreams.on_event(key, readable, writable, closed)
                            && self.conns.get(owner.slot).is_some_and(|c| c.serial == owner.serial)
                        {
                            self.drive(owner.slot);
                        }
                    }
                    // A CGI program's pipe or exit: its connection does the work.
                    Source::Slot(slot, _) => self.drive(slot),
                }
            }

            std::mem::swap(&mut runnable, &mut self.runnable);
            for slot in runnable.drain(..) {
                self.drive(slot);
            }

            self.fire_timers(&mut expired);
            self.svc.upstreams.sweep(self.svc.now);
            self.reap();
            if let Some(until) = self.accept_backoff
                && self.svc.now >= until
            {
                self.accept_backoff = None;
                self.accept_all();
            }
            if let Some(log) = self.svc.access.as_mut() {
                log.flush_if_due(self.svc.clock.secs());
            }
            if self.control.reopens() != self.reopens_seen {
                self.reopens_seen = self.control.reopens();
                self.reopen_log();
            }
            if self.control.generation() != self.generation_seen {
                self.generation_seen = self.control.generation();
                self.reload();
            }
            match self.control.shutdown.load(Ordering::Relaxed) {
                stop::RUN => {}
                stop::DRAIN if !self.drain() => {}
                // The drain is over, or a second signal came: whatever is
                // still open is cut.
                _ => {
                    self.cut_all();
                    break;
                }
            }
        }
        if let Some(log) = self.svc.access.as_mut() {
            log.flush();
        }
        log::debug!("worker {} stopped", self.id);
        Ok(())
    }

    /// How long poll may sleep: not past the next timer tick, not at all when
    /// connections are waiting to run.
    fn poll_timeout(&self) -> Option<Duration> {
        if !self.runnable.is_empty() {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        let mut timeout = self.svc.wheel.until_next(now);
        if let Some(until) = self.accept_backoff {
            let d = until.saturating_duration_since(now);
            timeout = Some(timeout.map_or(d, |t| t.min(d)));
        }
        if let Some(at) = self.svc.upstreams.next_expiry() {
            // An idle upstream connection is closed when its time is up.
            let d = at.saturating_duration_since(now);
            timeout = Some(timeout.map_or(d, |t| t.min(d)));
        }
        if self.drain_deadline.is_some() {
            let d = Duration::from_millis(100);
            timeout = Some(timeout.map_or(d, |t| t.min(d)));
        }
        if !self.svc.zombies.is_empty() {
            // A program whose exit had not been seen when its connection let
            // it go (its output ended first): look again soon, not only at
            // the next event, which on a quiet worker may be far away.
            let d = Duration::from_millis(50);
            timeout = Some(timeout.map_or(d, |t| t.min(d)));
        }
        timeout
    }

    /// Run a connection's state machine. A panic, if one ever happens, is a
    /// bug: it costs that connection only, never the worker and the
    /// thousands of other connections it serves.
    fn drive(&mut self, slot: usize) {
        let Some(conn) = self.conns.get_mut(slot) else { return };
        let svc = &mut self.svc;
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.drive(slot, svc)));
        match step {
            Ok(step) => self.after(slot, step),
            Err(_) => {
                log::error!("worker {}: a panic while serving connection {slot}; closing it", self.id);
                self.close(slot);
            }
        }
    }

    /// Act on what a connection's step said.
    fn after(&mut self, slot: usize, step: Step) {
        if step != Step::Close
            && let Some(conn) = self.conns.get_mut(slot)
            && !conn.registered
        {
            // Registered once, for both directions, edge-triggered. Adding a
            // socket that is already readable reports it at once, so nothing
            // that arrived before this call is missed.
            let interest = Interest::READABLE | Interest::WRITABLE;
            let Some(sock) = conn.io.sock_mut() else { return };
            match self.poll.registry().register(sock, token::slot(slot, Role::Client), interest) {
                Ok(()) => conn.registered = true,
                Err(e) => {
                    log::warn!("register: {e}");
                    self.close(slot);
                    return;
                }
            }
        }
        match step {
            Step::Close => self.close(slot),
            Step::Yield => self.runnable.push(slot),
            Step::Wait | Step::Continue => {}
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut conn) = self.conns.try_remove(slot) {
            // RFC 8446 §6.1: a TLS connection says close_notify before its
            // FIN, whoever closed first (nothing for plain TCP).
            conn.io.close_notify();
            conn.release_buffers(&mut self.svc);
            conn.trace_close(&mut self.svc);
            // Dropping the stream closes the descriptor, which also removes
            // it from the epoll set: no deregister call needed.
        }
        if self.at_capacity && self.conns.len() < self.max_conns {
            self.at_capacity = false;
            self.accept_all();
        }
    }

    fn accept_all(&mut self) {
        for i in 0..self.listeners.len() {
            self.accept(i);
        }
    }

    /// Accept pending connections on listener `i`, a bounded number at a time.
    fn accept(&mut self, i: usize) {
        if self.accept_backoff.is_some() || self.svc.draining {
            return;
        }
        for _ in 0..ACCEPT_BATCH {
            if self.conns.len() >= self.max_conns {
                // Leave the rest in the kernel's backlog until a slot frees.
                self.at_capacity = true;
                return;
            }
            let Some((listener, bound, tls)) = self.listeners.get(i) else { return };
            let (bound, tls) = (*bound, *tls);
            match listener.accept() {
                Ok((sock, peer)) => {
                    let local = if bound.ip().is_unspecified() { sock.local_addr().unwrap_or(bound) } else { bound };
                    let (io, first_timeout) = match (tls, &self.svc.config.tls) {
                        (true, Some(config)) => match TlsStream::new(config.clone()) {
                            Ok(session) => (Transport::tls(sock, Box::new(session)), self.svc.config.handshake_timeout),
                            Err(e) => {
                                log::warn!("tls: {e}");
                                continue;
                            }
                        },
                        _ => (Transport::plain(sock), self.svc.config.head_timeout),
                    };
                    let entry = self.conns.vacant_entry();
                    let slot = entry.key();
                    self.serial += 1;
                    let conn = entry.insert(Conn::new(io, peer, local, self.serial, self.svc.now));
                    conn.trace_accept(&mut self.svc);
                    conn.set_deadline(slot, &mut self.svc, first_timeout);
                    // With TCP_DEFER_ACCEPT the request is usually here already:
                    // read and answer it now. A connection that is done at once
                    // (Connection: close) never meets the poll at all; one that
                    // must wait is registered then (see `after`).
                    self.drive(slot);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // Out of descriptors: stop accepting for a moment instead
                    // of spinning on a listener that stays readable.
                    if !self.emfile_logged {
                        log::error!("worker {}: out of file descriptors ({e}); pausing accept", self.id);
                        self.emfile_logged = true;
                    }
                    self.accept_backoff = Some(self.svc.now + FD_BACKOFF);
                    return;
                }
                Err(e) => {
                    log::debug!("accept: {e}");
                }
            }
        }
        // The batch ran out with connections possibly still pending: come back soon.
        self.accept_backoff = Some(self.svc.now);
    }

    /// Fire the timers that are due.
    fn fire_timers(&mut self, expired: &mut Vec<(TimerKey, u64)>) {
        self.svc.wheel.expire(self.svc.now, expired);
        let now_tick = self.svc.wheel.tick_of(self.svc.now);
        for (key, tick) in expired.drain(..) {
            let Some(conn) = self.conns.get_mut(key.slot) else { continue };
            if conn.serial != key.serial || conn.armed != tick {
                continue; // an entry for an earlier deadline, or a closed connection
            }
            conn.armed = 0;
            if conn.deadline == 0 {
                continue;
            }
            if conn.deadline <= now_tick {
                conn.deadline = 0;
                let svc = &mut self.svc;
                let slot = key.slot;
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.on_timeout(slot, svc))) {
                    Ok(step) => self.after(slot, step),
                    Err(_) => self.close(slot),
                }
            } else {
                // The deadline moved later since this entry was armed.
                self.svc.wheel.insert(key, conn.deadline);
                conn.armed = conn.deadline;
            }
        }
    }

    /// Reap killed CGI programs (their process groups got SIGKILL).
    fn reap(&mut self) {
        if self.svc.zombies.is_empty() {
            return;
        }
        let before = self.svc.zombies.len();
        self.svc.zombies.retain_mut(|child| !matches!(child.try_wait(), Ok(Some(_)) | Err(_)));
        let reaped = before - self.svc.zombies.len();
        self.svc.cgi_running = self.svc.cgi_running.saturating_sub(reaped);
    }

    /// Close every connection still open when the worker stops: a download
    /// in progress ends short, a CGI program's process group is killed; each
    /// gets its trace line. Then reap the killed programs, briefly: any left
    /// are reaped by init once the process exits.
    fn cut_all(&mut self) {
        let open: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for slot in open {
            if let Some(conn) = self.conns.get_mut(slot) {
                let _ = conn.close_because("drain timeout: the server stopped before this response was finished");
            }
            self.close(slot);
        }
        let until = Instant::now() + Duration::from_millis(200);
        while !self.svc.zombies.is_empty() && Instant::now() < until {
            self.reap();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGUSR1: write what is buffered to the old file, then open the
    /// configured path afresh (logrotate has moved the old one away).
    fn reopen_log(&mut self) {
        if let Some(log) = self.svc.access.as_mut() {
            log.flush();
        }
        match AccessLog::open(&self.svc.config.access_log, self.svc.config.access_log_json) {
            Ok(log) => self.svc.access = log,
            Err(e) => log::error!("worker {}: cannot reopen the access log: {e}", self.id),
        }
    }

    /// SIGHUP: take the configuration the signal thread checked and
    /// published. Connections stay open: an exchange already under way
    /// finishes as it was decided (its route, its handler, its upstream
    /// connection), and every request read from now on, on new and old
    /// connections alike, is routed by the new table. Listening addresses,
    /// workers and the connection limit are the process's; they change
    /// with a restart (the signal thread says so).
    fn reload(&mut self) {
        let config = self.control.current();
        let handlers = match crate::handler::Handlers::new(Arc::clone(&config)) {
            Ok(h) => h,
            Err(e) => {
                log::error!("worker {}: the new configuration cannot be used ({e}); keeping the old", self.id);
                return;
            }
        };
        if (&config.access_log, config.access_log_json)
            != (&self.svc.config.access_log, self.svc.config.access_log_json)
        {
            if let Some(log) = self.svc.access.as_mut() {
                log.flush();
            }
            match AccessLog::open(&config.access_log, config.access_log_json) {
                Ok(log) => self.svc.access = log,
                Err(e) => log::error!("worker {}: cannot open the new access log: {e}", self.id),
            }
        }
        self.svc.handlers = handlers;
        let moved = self.svc.upstreams.reconfigure(config.upstreams.clone(), config.upstream_pool);
        for (_, conn) in self.conns.iter_mut() {
            conn.regroup(&moved);
        }
        let root = config.root.clone();
        self.svc.document_root = std::path::absolute(&root).unwrap_or(root);
        self.svc.config = config;
        log::info!("worker {}: configuration reloaded", self.id);
    }

    /// Graceful shutdown: stop accepting, close idle connections, let the
    /// others finish their responses until the drain timeout. True when done.
    fn drain(&mut self) -> bool {
        if self.drain_deadline.is_none() {
            self.drain_deadline = Some(self.svc.now + self.svc.config.drain_timeout);
            self.svc.draining = true;
            for (mut l, _, _) in self.listeners.drain(..) {
                let _ = self.poll.registry().deregister(&mut l);
            }
            // Open WebSockets are told the server is going (RFC 6455
            // §7.4.1: 1001) and closed once the client answers.
            // HTTP/2 connections get GOAWAY (RFC 9113 §6.8) and close once
            // their streams are done.
            let sockets: Vec<usize> =
                self.conns.iter().filter(|(_, c)| c.is_websocket() || c.is_http2()).map(|(k, _)| k).collect();
            for slot in sockets {
                if let Some(conn) = self.conns.get_mut(slot) {
                    conn.going_away();
                }
                self.drive(slot);
            }
        }
        let idle: Vec<usize> = self.conns.iter().filter(|(_, c)| c.is_idle()).map(|(k, _)| k).collect();
        for slot in idle {
            self.close(slot);
        }
        self.conns.is_empty() || self.drain_deadline.is_some_and(|d| self.svc.now >= d)
    }
}
