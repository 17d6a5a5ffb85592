//! One client connection: a state machine advanced by readiness events.
//!
//! The phases follow a request's life, one file each, in order. The
//! transitions, as the phase functions make them (`docs/architecture.md`
//! draws every one, CGI's included):
//!
//! ```text
//!              accept
//!                │
//!                ▼
//!     ┌──────► Head ───── body to drop ─────► Discard
//!     │          │  ◄──── body dropped ──────────┘ │
//!     │          │ responses queued                │ body framing broke
//!     │          ▼                                 │
//!     └─ keep ─ Write ◄────────────────────────────┘
//!       alive    │
//!                │ last response sent, and the client may still be sending
//!                ▼
//!             Linger ──► Closed
//! ```
//!
//! Any phase can end in `Closed` directly: the client went away, a timer ran
//! out, or the last response went out with nothing left to drain.
//!
//! * `read_head.rs`: read bytes, parse heads, ask a handler, queue the response.
//! * `read_body.rs`: read and drop a request body the handler did not want, so
//!   the next pipelined request starts at the right byte.
//! * `write.rs`: format response heads and send queued bytes, then files.
//! * `cgi/`: the `Spool` and `Cgi` phases, a CGI program run inside the loop.
//! * `close.rs`: half-close and drain briefly, so the client reads the last
//!   response before any reset (a "lingering close").
//!
//! Every phase function returns a [`Step`]; the socket is registered once for
//! both directions, edge-triggered, and each phase works until the kernel
//! says `WouldBlock`.

mod cgi;
mod close;
mod gateway;
mod handshake;
mod http2;
mod observe;
mod read_body;
mod read_head;
mod transport;
mod upstream;
mod websocket;
mod write;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use wired_parser::{ChunkedDecoder, HeadParser};

use crate::buffer::Buffer;
use crate::services::Services;
use crate::timer::TimerKey;

pub use read_head::HEADER_SLOTS;
pub use transport::Transport;
pub use write::{Framing, Tail};

/// What a phase function tells the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run the (possibly new) phase now.
    Continue,
    /// Nothing more to do until the next readiness event or timer.
    Wait,
    /// The step budget ran out with work left: come back after other connections.
    Yield,
    /// Close the connection.
    Close,
}

/// The protocol phase of a connection.
#[derive(Debug)]
pub enum Phase {
    /// TLS only: the handshake, before any HTTP byte (`first_byte_seen`:
    /// the first byte has been looked at for plain HTTP).
    Handshake { first_byte_seen: bool },
    /// Waiting for or reading a request head.
    Head,
    /// Reading and dropping a request body the handler did not want.
    Discard(Discard),
    /// Sending queued responses.
    Write,
    /// Spooling a chunked body to a file for a CGI program.
    Spool,
    /// A CGI program is running: body in, output out.
    Cgi,
    /// An exchange with an upstream server (FastCGI or HTTP): the request
    /// passed on, the response passed back.
    Upstream,
    /// After a 101: WebSocket frames both ways (`websocket/`).
    WebSocket,
    /// HTTP/2: frames both ways, many requests at once (`http2/`).
    Http2,
    /// Write side shut; dropping whatever the client still sends, briefly
    /// (`drained`: bytes dropped so far).
    Linger { drained: usize },
    /// Finished; the worker removes the connection.
    Closed,
}

/// A request body being read and dropped.
#[derive(Debug)]
pub struct Discard {
    /// What is left of it.
    pub left: BodyLeft,
    /// The body timer is armed for the whole of a chunked body. A
    /// Content-Length body has a known end, so its timer is re-armed while
    /// bytes arrive (`--body-timeout` bounds each pause); a chunked body can
    /// trickle in tiny chunks forever without ever passing the size limit,
    /// so its timer is armed once and bounds the whole discard, as nginx
    /// bounds discarding by a total time too (`lingering_time`).
    pub timer_set: bool,
}

/// What is left of a request body.
#[derive(Debug)]
pub enum BodyLeft {
    /// This many bytes (Content-Length).
    Length(u64),
    /// A chunked body, decoded to find its end.
    Chunked(ChunkedDecoder),
}

/// How many phase steps one event may run before yielding to others.
const MAX_STEPS: usize = 64;

/// A client connection.
#[derive(Debug)]
pub struct Conn {
    /// The socket, and the TLS session over it if any: every byte of the
    /// connection goes through it.
    pub io: Transport,
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address.
    pub local: SocketAddr,
    /// A number unique within the worker, to tell reused slab slots apart.
    pub serial: u64,
    /// Where the request is in its life.
    pub phase: Phase,
    /// Bytes read but not yet used (checked out of the pool only while needed).
    pub input: Option<Buffer>,
    /// Response bytes waiting to be sent.
    pub output: Option<Buffer>,
    /// A response body that follows `output` (a file, or a large memory body).
    pub tail: Tail,
    /// The head parser's progress on the current request.
    pub parser: HeadParser,
    /// Close after the queued responses are sent.
    pub close_after: bool,
    /// The last read drained the socket: the next bytes will bring an event.
    pub read_drained: bool,
    /// The peer closed its sending side.
    pub peer_closed: bool,
    /// An event said the peer closed its side: read until end of stream,
    /// whatever a short read suggests (the FIN may have come with the last
    /// bytes, and no later event would announce it).
    pub read_closed: bool,
    /// The head timer is armed for the request being read.
    pub head_timer_set: bool,
    /// Unread bytes may follow: close with a lingering close, not at once.
    pub linger_needed: bool,
    /// The deadline for the current phase, in wheel ticks (0: none).
    pub deadline: u64,
    /// The tick of this connection's live wheel entry (0: none).
    pub armed: u64,
    /// Requests answered on this connection.
    pub requests: u64,
    /// When the connection was accepted.
    pub accepted: Instant,
    /// The socket is in the worker's poll (registered lazily, on the first wait).
    pub registered: bool,
    /// TCP_NODELAY is set (see [`Conn::nodelay`]).
    pub nodelay: bool,
    /// The send buffer was sized for a large file (see [`Conn::size_send_buffer`]).
    pub send_buffer_sized: bool,
    /// The CGI program serving the current request, if any.
    pub cgi: Option<Box<cgi::Cgi>>,
    /// A chunked body being spooled for a CGI program.
    pub spool: Option<Box<cgi::Spool>>,
    /// The exchange with an upstream, in the Upstream phase.
    pub exchange: Option<Box<upstream::Exchange>>,
    /// The WebSocket, in the WebSocket phase.
    pub ws: Option<Box<websocket::WebSocket>>,
    /// The HTTP/2 connection, in the Http2 phase.
    pub h2: Option<Box<http2::Http2>>,
    /// Why the connection is closing, for `--trace` (empty until known).
    pub close_reason: &'static str,
    /// The current request's location rules, for its response head.
    pub applied: Option<Box<crate::handler::rules::Applied>>,
}

impl Conn {
    /// A freshly accepted connection.
    pub fn new(io: Transport, peer: SocketAddr, local: SocketAddr, serial: u64, now: Instant) -> Self {
        let phase = if io.handshaking() { Phase::Handshake { first_byte_seen: false } } else { Phase::Head };
        Conn {
            io,
            peer,
            local,
            serial,
            phase,
            input: None,
            output: None,
            tail: Tail::None,
            parser: HeadParser::new(),
            close_after: false,
            read_drained: false,
            peer_closed: false,
            read_closed: false,
            head_timer_set: false,
            linger_needed: false,
            deadline: 0,
            armed: 0,
            requests: 0,
            accepted: now,
            cgi: None,
            spool: None,
            exchange: None,
            ws: None,
            h2: None,
            nodelay: false,
            send_buffer_sized: false,
            registered: false,
            close_reason: "",
            applied: None,
        }
    }

    /// Close, saying why for `--trace` (the first reason given stands).
    pub(crate) fn close_because(&mut self, why: &'static str) -> Step {
        if self.close_reason.is_empty() {
            self.close_reason = why;
        }
        Step::Close
    }

    /// Run the state machine until it must wait for the kernel.
    pub fn drive(&mut self, slot: usize, svc: &mut Services) -> Step {
        for _ in 0..MAX_STEPS {
            let step = match self.phase {
                Phase::Handshake { .. } => self.handshake(slot, svc),
                Phase::Head => self.read_head(slot, svc),
                Phase::Discard(_) => self.read_body(slot, svc),
                Phase::Write => self.write(slot, svc),
                Phase::Spool => self.spool(slot, svc),
                Phase::Cgi => self.run_cgi(slot, svc),
                Phase::Upstream => self.run_upstream(slot, svc),
                Phase::WebSocket => self.run_websocket(slot, svc),
                Phase::Http2 => self.run_http2(slot, svc),
                Phase::Linger { .. } => self.linger(slot, svc),
                Phase::Closed => Step::Close,
            };
            match step {
                Step::Continue => continue,
                Step::Close => {
                    self.phase = Phase::Closed;
                    return Step::Close;
                }
                other => return other,
            }
        }
        Step::Yield
    }

    /// The timer for the current phase ran out.
    pub fn on_timeout(&mut self, slot: usize, svc: &mut Services) -> Step {
        match self.phase {
            Phase::Cgi => self.cgi_timeout(slot, svc),
            Phase::Upstream => self.upstream_timeout(slot, svc),
            Phase::WebSocket => self.websocket_timeout(slot, svc),
            Phase::Http2 => self.http2_timeout(slot, svc),
            Phase::Head if self.input.as_ref().is_some_and(|b| !b.is_empty()) => {
                // RFC 9110 §15.5.9: 408 tells the client why before closing.
                self.trace_note(svc, "head timeout: answering 408 and closing");
                self.applied = None;
                self.queue_error(svc, 408, true);
                self.phase = Phase::Write;
                self.drive(slot, svc)
            }
            _ => self.close_because(self.timeout_reason()),
        }
    }

    /// Why a timer closed a connection in this phase (for `Conn::close_reason`).
    fn timeout_reason(&self) -> &'static str {
        match self.phase {
            Phase::Handshake { .. } => "handshake timeout: the TLS handshake did not finish in time",
            Phase::Head if self.requests == 0 => "head timeout: no request arrived in time",
            Phase::Head => "keep-alive timeout: idle too long between requests",
            Phase::Discard(_) | Phase::Spool => "body timeout: the request body stalled",
            Phase::Write => "send timeout: the client stopped reading its response",
            Phase::Cgi => "CGI timeout",
            Phase::Upstream => "upstream timeout",
            Phase::WebSocket => "WebSocket timeout",
            Phase::Http2 => "HTTP/2 timeout: idle, or a client that stopped reading",
            Phase::Linger { .. } => "lingering close over: its time ran out",
            Phase::Closed => "timeout",
        }
    }

    /// Set the deadline for the current phase, arming the wheel only when
    /// the new deadline is earlier than the live entry.
    pub fn set_deadline(&mut self, slot: usize, svc: &mut Services, after: Duration) {
        let tick = svc.wheel.tick_of(svc.now + after);
        self.deadline = tick;
        if self.io.is_http2_stream() {
            // A secondary connection: its HTTP/2 connection arms the timer.
            return;
        }
        if self.armed == 0 || tick < self.armed {
            svc.wheel.insert(TimerKey { slot, serial: self.serial }, tick);
            self.armed = tick;
        }
    }

    /// Turn Nagle's algorithm off once a response may take more than one
    /// write: a second request on the connection, a body sent after its
    /// head, a CGI stream. Nagle holds a small write back while earlier bytes
    /// are unacknowledged, and the client may delay its ACK by up to 40 ms.
    /// A one-write response on a fresh connection cannot be held back, so a
    /// `Connection: close` request never pays for the system call (nginx
    /// sets it lazily too).
    pub fn nodelay(&mut self) {
        if !self.nodelay {
            self.nodelay = true;
            if let Some(sock) = self.io.sock()
                && let Err(e) = crate::sys::set_nodelay(sock)
            {
                log::debug!("TCP_NODELAY: {e}");
            }
        }
    }

    /// Before the first large file goes out on this connection, size its
    /// send buffer to the path (see [`send_buffer_for`]). Costs at most two
    /// system calls, once per connection, and only for large files.
    pub fn size_send_buffer(&mut self, svc: &mut Services) {
        if self.send_buffer_sized {
            return;
        }
        self.send_buffer_sized = true;
        let Some(sock) = self.io.sock() else { return };
        let path = if same_host(self.peer, self.local) {
            Path::SameHost
        } else {
            match crate::sys::tcp_rtt_us(sock) {
                Ok(rtt_us) => Path::RoundTrip(rtt_us),
                Err(_) => return,
            }
        };
        let Some(bytes) = send_buffer_for(path) else { return };
        match crate::sys::set_send_buffer(sock, bytes) {
            Ok(()) => {
                self.trace_fmt(svc, format_args!("send buffer: {bytes} bytes, {path} (a deeper queue only delays)"))
            }
            Err(e) => log::debug!("SO_SNDBUF: {e}"),
        }
    }

    /// Give buffers back to the pool when they hold nothing.
    pub fn release_idle_buffers(&mut self, svc: &mut Services) {
        if self.input.as_ref().is_some_and(Buffer::is_empty)
            && let Some(b) = self.input.take()
        {
            svc.pool.put(b);
        }
        if self.output.as_ref().is_some_and(Buffer::is_empty)
            && let Some(b) = self.output.take()
        {
            svc.pool.put(b);
        }
    }

    /// Return every buffer to the pool (the connection is closing).
    pub fn release_buffers(&mut self, svc: &mut Services) {
        self.drop_cgi(svc);
        self.drop_exchange(svc);
        self.drop_websocket(svc);
        if let Some(mut h2) = self.h2.take() {
            h2.release_all(svc);
        }
        if let Some(b) = self.input.take() {
            svc.pool.put(b);
        }
        if let Some(b) = self.output.take() {
            svc.pool.put(b);
        }
    }

    /// True when the connection sits between requests with nothing buffered.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Head)
            && self.input.as_ref().is_none_or(Buffer::is_empty)
            && self.output.as_ref().is_none_or(Buffer::is_empty)
            && matches!(self.tail, Tail::None)
    }
}

/// What the send buffer is sized for.
#[derive(Clone, Copy, Debug)]
pub enum Path {
    /// Both ends on this host: the bytes cross the loopback device.
    SameHost,
    /// A network path with this smoothed round-trip time (`TCP_INFO`).
    RoundTrip(u32),
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::SameHost => f.write_str("for a client on this host"),
            Path::RoundTrip(us) => write!(f, "for a {us} µs round trip"),
        }
    }
}

/// True when the peer is this host: a loopback address, or one of the
/// host's own addresses (which Linux routes over the loopback device too).
fn same_host(peer: SocketAddr, local: SocketAddr) -> bool {
    let to_canonical = |a: SocketAddr| a.ip().to_canonical();
    to_canonical(peer).is_loopback() || to_canonical(peer) == to_canonical(local)
}

/// The send buffer for a connection on `path`, or `None` to leave it to
/// the kernel's autotuning.
///
/// A sender needs no more buffer than the path's bandwidth-delay product:
/// what is in flight during one round trip. Linux grows the send buffer
/// from the congestion window, up to 4 MiB (`tcp_wmem`), and on loopback,
/// with its 64 KiB segments, it gets there at once. A queue that deep on a
/// fast path only delays the sending: the receiver's window closes, and the
/// rest goes out later from the receiver's ACKs, in its own softirq time
/// (docs/benchmarks.md, "10 MiB").
///
/// - On a network path, when even a 25 Gbit/s line would need less than the
///   autotuning maximum, the buffer is fixed at that need (at least
///   256 KiB). A long path (20 ms: 62 MB at that rate) is left alone, where
///   a fixed buffer would cap its throughput.
/// - On this host nothing is in flight: a segment lands in the reader's
///   receive queue within the sender's own system call, and the round-trip
///   time `TCP_INFO` reports is only how long the reader took to be
///   scheduled. So the buffer is 64 KiB, which the kernel doubles to room
///   for two 64 KiB loopback segments; with less, a lone unacknowledged
///   segment can wait out the reader's delayed ACK. Measured again at 1, 8
///   and 64 connections (docs/benchmarks.md, "Large files at few and many
///   connections"): a deeper buffer, with or without `TCP_NOTSENT_LOWAT`,
///   sometimes helped 8 connections but lost at 1 or 64, so 64 KiB stays.
pub fn send_buffer_for(path: Path) -> Option<usize> {
    /// 25 Gbit/s in bytes per microsecond.
    const LINE_BYTES_PER_US: usize = 25_000 / 8;
    const FLOOR: usize = 256 * 1024;
    const SAME_HOST: usize = 64 * 1024;
    const AUTOTUNE_MAX: usize = 4 * 1024 * 1024;
    let rtt_us = match path {
        Path::SameHost => return Some(SAME_HOST),
        Path::RoundTrip(us) => us,
    };
    let need = (rtt_us as usize).saturating_mul(LINE_BYTES_PER_US);
    (need < AUTOTUNE_MAX).then_some(need.max(FLOOR))
}

#[cfg(test)]
mod tests {
    use super::{Path, same_host, send_buffer_for};

    #[test]
    fn send_buffer_follows_the_bandwidth_delay_product() {
        let rtt = |us| send_buffer_for(Path::RoundTrip(us));
        // A rack: the floor.
        assert_eq!(rtt(0), Some(256 * 1024));
        assert_eq!(rtt(40), Some(256 * 1024));
        // 1 ms: what 25 Gbit/s keeps in flight.
        assert_eq!(rtt(1_000), Some(3_125_000));
        // Past the autotuning maximum, and a long path: left to the kernel.
        assert_eq!(rtt(1_343), None);
        assert_eq!(rtt(20_000), None);
        assert_eq!(rtt(u32::MAX), None);
        // This host, whatever the round trip under load says.
        assert_eq!(send_buffer_for(Path::SameHost), Some(64 * 1024));
    }

    #[test]
    fn same_host_is_loopback_or_our_own_address() {
        let pair = |p: &str, l: &str| same_host(p.parse().unwrap(), l.parse().unwrap());
        assert!(pair("127.0.0.1:50000", "127.0.0.1:8080"));
        assert!(pair("127.0.0.2:50000", "127.0.0.1:8080"));
        assert!(pair("[::1]:50000", "[::1]:8080"));
        assert!(pair("[::ffff:127.0.0.1]:50000", "[::]:8080"));
        assert!(pair("192.0.2.7:50000", "192.0.2.7:8080"));
        assert!(!pair("192.0.2.8:50000", "192.0.2.7:8080"));
        assert!(!pair("[2001:db8::2]:50000", "[2001:db8::1]:8080"));
    }
}
