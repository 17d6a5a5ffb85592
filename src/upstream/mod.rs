//! Upstreams: the servers wired passes requests on to (a FastCGI application
//! such as php-fpm, or an HTTP app server behind the reverse proxy), and the
//! worker's connections to them.
//!
//! An upstream connection is a source in the worker's own poll, like a CGI
//! program's pipes: never a thread, never a blocking call. Its token names
//! a slot in [`Upstreams`]' own slab (role [`Role::Upstream`]), not a client
//! slot, because a connection outlives the exchange it served: when the
//! response is complete and both sides agree to keep it, it goes back to its
//! group's pool of idle connections, for the next request to any client of
//! this worker.
//!
//! ```text
//!   connect ──► Connecting ──► Busy (owned by one client exchange) ──► Idle (pooled)
//!                  │              │  ▲                                   │
//!                  │              │  └────────── checked out ────────────┘
//!                  └──────────────┴─► closed (error, timeout, upstream said close,
//!                                      a broken response, idle too long, pool full)
//! ```
//!
//! Servers in a group are taken in turn (round robin). A server that fails
//! `max_fails` times is left out for `fail_timeout` (nginx's passive health
//! check, under nginx's names); a group of one server never leaves it out,
//! since there is nothing else to try.

mod stream;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mio::{Interest, Registry};
use slab::Slab;

use crate::token::{self, Role};
pub use stream::Stream;

/// Where an upstream server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A TCP address (names are resolved at startup, never on the event loop).
    Tcp(SocketAddr),
    /// A Unix domain socket.
    Unix(PathBuf),
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp(a) => write!(f, "{a}"),
            Addr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// A group of servers that answer the same requests (`--upstream`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its name, for logs (an address when the group was made for one).
    pub name: String,
    /// Its servers, taken in turn.
    pub servers: Vec<Addr>,
}

/// How the pools and the failure marking behave (from the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Idle connections kept per group (`--upstream-keepalive`; 0: none kept).
    pub keepalive: usize,
    /// How long an idle connection is kept (`--upstream-keepalive-timeout`).
    pub keepalive_timeout: Duration,
    /// Failures that take a server out (`--upstream-max-fails`; 0: never).
    pub max_fails: u32,
    /// For how long, and the window the failures are counted in
    /// (`--upstream-fail-timeout`).
    pub fail_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            keepalive: 32,
            keepalive_timeout: Duration::from_secs(60),
            max_fails: 1,
            fail_timeout: Duration::from_secs(10),
        }
    }
}

/// Which client exchange a busy connection serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The client connection's slab slot.
    pub slot: usize,
    /// Its serial, to tell a reused slot apart.
    pub serial: u64,
}

/// One connection to an upstream server.
#[derive(Debug)]
pub struct UpConn {
    /// The socket.
    pub stream: Stream,
    /// The group and the server within it.
    pub group: usize,
    /// The server's index in its group.
    pub server: usize,
    /// The exchange using it; `None` while it sits in the pool.
    pub owner: Option<Owner>,
    /// The non-blocking connect has completed.
    pub connected: bool,
    /// An event said readable and no read has said `WouldBlock` since
    /// (edge-triggered: no new event comes until the socket is drained).
    pub readable: bool,
    /// The same for writing.
    pub writable: bool,
    /// An event said the server closed its side: read to the end, whatever
    /// a short read suggests (the FIN may have come with the last bytes).
    pub read_closed: bool,
    /// When it went idle (for the keep-alive timeout).
    idle_since: Instant,
    /// Opened under a configuration since reloaded: closed after its exchange.
    retired: bool,
}

impl UpConn {
    /// Read, noting when the socket is drained: by `WouldBlock`, or by a
    /// short read, which on a stream socket empties its receive queue (the
    /// next bytes bring a new edge), unless a FIN was announced.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = io::Read::read(&mut self.stream, buf);
        match &r {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
            Ok(n) if *n > 0 && *n < buf.len() && !self.read_closed => self.readable = false,
            _ => {}
        }
        r
    }

    /// Shut the sending side: the client of a tunnel has finished, and the
    /// upstream reads the end of its stream (the connection is never pooled
    /// again).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown_write()
    }

    /// Write, noting when the socket is full.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let r = io::Write::write(&mut self.stream, bytes);
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.writable = false;
        }
        r
    }

    /// After a writable event on a connecting socket: `Ok(true)` once the
    /// connection is up, `Ok(false)` while it is still in progress, `Err`
    /// with why it failed (refused, unreachable).
    pub fn finish_connect(&mut self) -> io::Result<bool> {
        if self.connected {
            return Ok(true);
        }
        if let Some(e) = self.stream.take_error()? {
            return Err(e);
        }
        match self.stream.is_connected() {
            Ok(true) => {
                self.connected = true;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Why no connection could be had.
#[derive(Debug)]
pub enum NoConnection {
    /// Every server of the group is marked failed, or was tried already.
    NoLiveServer,
    /// `connect` failed at once (a Unix socket that is missing or refuses,
    /// a full backlog, out of descriptors), on this server.
    Failed { server: usize, error: io::Error },
}

/// A group's state in one worker.
#[derive(Debug)]
struct GroupState {
    /// Idle connections, the most recently used last (handed out first:
    /// its server is warm, and the oldest time out first from the front).
    idle: Vec<usize>,
    /// The next server in turn.
    next: usize,
    servers: Vec<ServerState>,
}

/// Passive failure marking of one server.
#[derive(Debug, Clone, Copy, Default)]
struct ServerState {
    /// Failures in the current window.
    fails: u32,
    /// When the first of them happened.
    first_fail: Option<Instant>,
    /// Left out until then.
    down_until: Option<Instant>,
}

/// One worker's upstream connections and pools.
#[derive(Debug)]
pub struct Upstreams {
    groups: Vec<Group>,
    state: Vec<GroupState>,
    conns: Slab<UpConn>,
    config: PoolConfig,
}

impl Upstreams {
    /// Empty pools for these groups.
    pub fn new(groups: Vec<Group>, config: PoolConfig) -> Upstreams {
        let state = groups
            .iter()
            .map(|g| GroupState { idle: Vec::new(), next: 0, servers: vec![ServerState::default(); g.servers.len()] })
            .collect();
        Upstreams { groups, state, conns: Slab::new(), config }
    }

    /// A group's name, for logs.
    pub fn name(&self, group: usize) -> &str {
        self.groups.get(group).map_or("?", |g| g.name.as_str())
    }

    /// The address of a server, for logs and `--trace`.
    pub fn addr(&self, group: usize, server: usize) -> Option<&Addr> {
        self.groups.get(group)?.servers.get(server)
    }

    /// How many servers a group has.
    pub fn servers(&self, group: usize) -> usize {
        self.groups.get(group).map_or(0, |g| g.servers.len())
    }

    /// A connection by key.
    pub fn get_mut(&mut self, key: usize) -> Option<&mut UpConn> {
        self.conns.get_mut(key)
    }

    /// A connection for `owner` to the group's next server in turn (round
    /// robin, as nginx: the server is chosen first, then a connection to
    /// it): an idle one from the pool unless `fresh` is asked, else a new
    /// one. Servers in `tried` (a bit per server index) are skipped.
    /// Returns the key, and whether it came from the pool.
    ///
    /// With `verify`, for a request that could not be sent again if the
    /// connection turned out dead (a POST), a pooled candidate is first
    /// asked with a `MSG_PEEK` read whether its server closed it since the
    /// last events were read: one system call that narrows the window of
    /// the race to the instant between this check and the write.
    #[allow(clippy::too_many_arguments)]
    pub fn acquire(
        &mut self,
        group: usize,
        owner: Owner,
        tried: u64,
        fresh: bool,
        verify: bool,
        registry: &Registry,
        now: Instant,
    ) -> Result<(usize, bool), NoConnection> {
        let server = self.pick(group, tried, now).ok_or(NoConnection::NoLiveServer)?;
        if !fresh && let Some(key) = self.take_idle(group, server, verify) {
            if let Some(c) = self.conns.get_mut(key) {
                c.owner = Some(owner);
            }
            return Ok((key, true));
        }
        self.connect(group, server, owner, registry, now).map(|key| (key, false))
    }

    /// The most recently used idle connection to `server`, if any.
    fn take_idle(&mut self, group: usize, server: usize, verify: bool) -> Option<usize> {
        let state = self.state.get_mut(group)?;
        loop {
            let at = state.idle.iter().rposition(|&k| self.conns.get(k).is_some_and(|c| c.server == server))?;
            let key = state.idle.remove(at);
            let Some(c) = self.conns.get(key) else { continue };
            if verify && !matches!(crate::sys::peek_byte(&c.stream), Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                // End of stream, stray bytes or an error: it is dead.
                self.conns.try_remove(key);
                continue;
            }
            return Some(key);
        }
    }

    /// Start a new connection to `server` of the group. The connect
    /// completes later: wait for writable, then [`UpConn::finish_connect`].
    fn connect(
        &mut self,
        group: usize,
        server: usize,
        owner: Owner,
        registry: &Registry,
        now: Instant,
    ) -> Result<usize, NoConnection> {
        let addr = self.addr(group, server).cloned().ok_or(NoConnection::NoLiveServer)?;
        let failed = |error| NoConnection::Failed { server, error };
        let mut stream = Stream::connect(&addr).map_err(failed)?;
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        // Registered once for both directions, edge-triggered, like clients.
        registry
            .register(&mut stream, token::slot(key, Role::Upstream), Interest::READABLE | Interest::WRITABLE)
            .map_err(failed)?;
        let connected = matches!(addr, Addr::Unix(_));
        entry.insert(UpConn {
            stream,
            group,
            server,
            owner: Some(owner),
            connected,
            readable: false,
            writable: connected,
            read_closed: false,
            idle_since: now,
            retired: false,
        });
        Ok(key)
    }

    /// The next server in turn that is live and not yet tried.
    fn pick(&mut self, group: usize, tried: u64, now: Instant) -> Option<usize> {
        let state = self.state.get_mut(group)?;
        let n = state.servers.len();
        let alone = n == 1;
        for i in 0..n {
            let server = (state.next + i) % n;
            let was_tried = server < 64 && tried & (1 << server) != 0;
            let s = state.servers.get_mut(server)?;
            if s.down_until.is_some_and(|t| now >= t) {
                // Its time out is over: try it again (one failure puts it back).
                s.down_until = None;
                s.fails = 0;
                s.first_fail = None;
            }
            if was_tried || (!alone && s.down_until.is_some()) {
                continue;
            }
            state.next = (server + 1) % n;
            return Some(server);
        }
        None
    }

    /// A request to this server failed (connect error or timeout, a broken
    /// response): count it, and leave the server out for a while once it
    /// failed `max_fails` times within `fail_timeout`.
    pub fn mark_failed(&mut self, group: usize, server: usize, now: Instant) {
        let PoolConfig { max_fails, fail_timeout, .. } = self.config;
        let Some(s) = self.state.get_mut(group).and_then(|g| g.servers.get_mut(server)) else { return };
        if max_fails == 0 {
            return;
        }
        if s.first_fail.is_none_or(|t| now.duration_since(t) > fail_timeout) {
            s.first_fail = Some(now);
            s.fails = 0;
        }
        s.fails += 1;
        if s.fails >= max_fails {
            s.down_until = Some(now + fail_timeout);
            log::warn!("upstream {} server {}: marked failed for {:?}", self.name(group), server, fail_timeout);
        }
    }

    /// A response came whole from this server: its failures are forgiven.
    pub fn mark_ok(&mut self, group: usize, server: usize) {
        if let Some(s) = self.state.get_mut(group).and_then(|g| g.servers.get_mut(server))
            && s.fails > 0
        {
            *s = ServerState::default();
        }
    }

    /// The exchange is over with this connection. With `reuse` it goes back
    /// to its group's pool (the oldest idle one is closed if the pool is
    /// full); otherwise, or with keep-alive off, it is closed.
    pub fn release(&mut self, key: usize, reuse: bool, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        let group = conn.group;
        let keep = self.config.keepalive;
        match self.state.get_mut(group) {
            Some(state) if reuse && keep > 0 && !conn.retired => {
                conn.owner = None;
                conn.idle_since = now;
                if state.idle.len() >= keep {
                    let oldest = state.idle.remove(0);
                    self.conns.try_remove(oldest);
                }
                state.idle.push(key);
            }
            // Dropping the stream closes it, which also takes it out of the poll.
            _ => {
                self.conns.try_remove(key);
            }
        }
    }

    /// A reloaded configuration's groups (SIGHUP). Idle connections are
    /// closed (their servers may be gone from the new groups), busy ones
    /// finish their exchange and are closed then, never pooled again.
    /// Returns, for each old group number, the new number of the group of
    /// the same name, if the new configuration has one: exchanges routed
    /// before the reload are renumbered with it (`Conn::regroup`), so a
    /// retry never goes to whatever group took their old number.
    pub fn reconfigure(&mut self, groups: Vec<Group>, config: PoolConfig) -> Vec<Option<usize>> {
        let moved = self.groups.iter().map(|old| groups.iter().position(|g| g.name == old.name)).collect();
        for state in &mut self.state {
            for key in state.idle.drain(..) {
                self.conns.try_remove(key);
            }
        }
        for (_, conn) in self.conns.iter_mut() {
            conn.retired = true;
        }
        *self = Upstreams { conns: std::mem::take(&mut self.conns), ..Upstreams::new(groups, config) };
        moved
    }

    /// Close a connection whoever holds it (an error, the client gone).
    pub fn close(&mut self, key: usize) {
        if let Some(conn) = self.conns.try_remove(key)
            && let Some(state) = self.state.get_mut(conn.group)
        {
            state.idle.retain(|&k| k != key);
        }
    }

    /// A readiness event for connection `key`. A busy connection's owner is
    /// returned, to be driven; an idle one can only be saying that the
    /// upstream closed it (or broke protocol by sending unasked bytes), so
    /// it is closed here and never handed a request.
    pub fn on_event(&mut self, key: usize, readable: bool, writable: bool, read_closed: bool) -> Option<Owner> {
        let conn = self.conns.get_mut(key)?;
        conn.readable |= readable || read_closed;
        conn.writable |= writable;
        conn.read_closed |= read_closed;
        if conn.owner.is_some() {
            return conn.owner;
        }
        if conn.readable {
            // Anything readable on an idle connection (end of stream, a
            // reset, stray bytes) ends it.
            let mut byte = [0u8; 1];
            let group = conn.group;
            match conn.read(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                _ => {
                    log::debug!("upstream {}: an idle connection was closed by its server", self.name(group));
                    self.close(key);
                }
            }
        }
        None
    }

    /// Close idle connections that have waited longer than the keep-alive timeout.
    pub fn sweep(&mut self, now: Instant) {
        let timeout = self.config.keepalive_timeout;
        for state in &mut self.state {
            // The front holds the oldest.
            while let Some(&key) = state.idle.first() {
                match self.conns.get(key) {
                    Some(c) if now.duration_since(c.idle_since) < timeout => break,
                    _ => {
                        state.idle.remove(0);
                        self.conns.try_remove(key);
                    }
                }
            }
        }
    }

    /// When the next idle connection times out, for the poll's timeout.
    pub fn next_expiry(&self) -> Option<Instant> {
        let timeout = self.config.keepalive_timeout;
        self.state
            .iter()
            .filter_map(|s| s.idle.first())
            .filter_map(|&k| self.conns.get(k))
            .map(|c| c.idle_since + timeout)
            .min()
    }
}

#[cfg(test)]
mod tests;
