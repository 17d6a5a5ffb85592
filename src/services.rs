//! What a connection uses besides itself: the worker's buffer pool, timers,
//! clock and scratch space, the handlers that answer requests, and the
//! observers (access log, trace) that watch. One per worker, lent to each
//! connection for the length of a step; split from the slab so that a
//! connection (borrowed from the slab) and the services can be borrowed at
//! once.
//!
//! It sits between the worker, which owns it, and the layers it holds: it
//! names the handlers and the observers, and none of them names it or a
//! connection (`.ci/module-cycles` checks that the modules stay layered).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use crate::access_log::AccessLog;
use crate::buffer::Pool;
use crate::config::Config;
use crate::date::Clock;
use crate::handler::Handlers;
use crate::timer::Wheel;
use crate::trace::Tracer;
use crate::upstream::Upstreams;

/// Everything a connection may use besides itself.
pub struct Services {
    /// The configuration.
    pub config: Arc<Config>,
    /// Buffers for reading and writing.
    pub pool: Pool,
    /// Timers.
    pub wheel: Wheel,
    /// The wall clock and its formatted Date.
    pub clock: Clock,
    /// The monotonic time of this wake-up.
    pub now: Instant,
    /// Who answers requests: handlers and their scratch.
    pub handlers: Handlers,
    /// Scratch: a response head being formatted.
    pub head: Vec<u8>,
    /// Scratch: file bytes on their way to a socket, with `--sendfile off`
    /// (empty otherwise). One per worker: what a socket takes is copied
    /// into the kernel at once, so no connection keeps it.
    pub copy: Vec<u8>,
    /// Scratch: file bytes on their way into TLS records (TLS cannot use
    /// `sendfile`); allocated only when a TLS listener is configured. One
    /// per worker: a TLS write takes what it is given into the session.
    pub tls_copy: Vec<u8>,
    /// Shutting down: no more keep-alive.
    pub draining: bool,
    /// The access log, if on.
    pub access: Option<AccessLog>,
    /// The wire trace, if on.
    pub trace: Option<Tracer>,
    /// The poll's registry, to register CGI pipes.
    pub registry: mio::Registry,
    /// CGI programs started and not yet reaped.
    pub cgi_running: usize,
    /// `--ws-program` processes running (bounded by `--ws-program-max`).
    pub ws_programs: usize,
    /// Killed CGI programs waiting to be reaped.
    pub zombies: Vec<std::process::Child>,
    /// Connections to upstream servers, busy and pooled.
    pub upstreams: Upstreams,
    /// The top-level document root made absolute once, for DOCUMENT_ROOT:
    /// as configured, symbolic links not resolved (nginx's `$document_root`),
    /// so a root that is a link switched by a deploy is followed per request
    /// by the script lookup, never frozen here.
    pub document_root: std::path::PathBuf,
}

impl Services {
    /// The services of one worker (or of the in-process harness): a buffer
    /// pool sized for the largest head, a timer wheel, the handlers for the
    /// configuration, the access log and trace if on.
    pub fn new(config: Arc<Config>, registry: mio::Registry) -> io::Result<Services> {
        let buffer_size = (config.limits.max_head_bytes + 4096).max(32 * 1024);
        let access = AccessLog::open(&config.access_log, config.access_log_json)?;
        let trace = match &config.trace {
            Some(target) => Some(Tracer::open(target)?),
            None => None,
        };
        let now = Instant::now();
        let copy = if config.sendfile { Vec::new() } else { vec![0; COPY_BUFFER] };
        let tls_copy = if config.tls.is_some() { vec![0; TLS_COPY_BUFFER] } else { Vec::new() };
        let (config_upstreams, pool_config) = (config.upstreams.clone(), config.upstream_pool);
        let document_root = config.root.clone();
        Ok(Services {
            handlers: Handlers::new(config.clone())?,
            config,
            pool: Pool::new(buffer_size, 64, 1024),
            wheel: Wheel::new(1024, now),
            clock: Clock::new(),
            now,
            head: Vec::with_capacity(1024),
            copy,
            tls_copy,
            draining: false,
            access,
            trace,
            registry,
            cgi_running: 0,
            ws_programs: 0,
            zombies: Vec::new(),
            upstreams: Upstreams::new(config_upstreams, pool_config),
            document_root: std::path::absolute(&document_root).unwrap_or(document_root),
        })
    }
}

/// The size of the `--sendfile off` copy buffer. Measured on loopback with a
/// 10 MiB file, before send buffers were sized to the path: 64 KiB gave 390
/// requests/s, 256 KiB 430-456; a larger buffer copies more again when a
/// socket takes less.
const COPY_BUFFER: usize = 128 * 1024;

/// The TLS file buffer: four full records (RFC 8446 §5.1: at most 16 KiB of
/// plaintext each), the most a session takes in one write before its
/// pending ciphertext reaches `crate::tls::PENDING_LIMIT`.
const TLS_COPY_BUFFER: usize = 64 * 1024;
