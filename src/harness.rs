//! Driving one connection in process, without a worker thread, for fuzzing
//! and tests.
//!
//! [`drive`] makes a real loopback TCP pair (a `mio` stream on the server
//! side, a `std` stream as the client), hands the server side to a [`Conn`],
//! and feeds the chunks it is given as separate writes. After each write it
//! does what the worker's loop would do on a readiness event — run the
//! connection until it must wait — and reads whatever the server sent. So a
//! fuzz target chooses not only the bytes but how they arrive, and every
//! phase of the state machine (head, discarded body, write, lingering close,
//! a timeout) runs exactly as in the server, socket calls included.
//!
//! The document root is a small fixture made once per process in the system
//! temp directory (see [`fixture_root`]); none of its files starts with
//! `HTTP/`, so a checker can tell a body from the next response.

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use wired_parser::Limits;

use crate::config::Config;
use crate::conn::{Conn, Step};
use crate::services::Services;
use crate::timer::Wheel;

/// How the client ends, after its last chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It keeps the connection open and stops sending.
    KeepOpen,
    /// It shuts its sending side (the server reads end of stream).
    PeerClose,
    /// It stops sending and the current phase's timer fires.
    Timeout,
}

/// What the client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Every byte the server sent, in order.
    pub output: Vec<u8>,
    /// The server closed the connection or shut its sending side.
    pub closed: bool,
    /// Requests the connection counted (answered or refused).
    pub requests: u64,
}

/// The most times one event may ask to run again (`Step::Yield`) before the
/// harness calls it a livelock.
const MAX_YIELDS: usize = 10_000;

/// The token of the server side's socket in the harness's poll.
const SERVER_SIDE: Token = Token(1);

/// The longest the harness waits for written bytes to reach the server side.
const ARRIVAL: Duration = Duration::from_secs(1);

/// The most rounds of drive-then-read after one chunk: each round moves at
/// least one byte to the client, so this bounds a response to many megabytes.
const MAX_ROUNDS: usize = 100_000;

/// The fixture the harness serves: an index, a small text file with a gzip
/// sibling, an empty file, a 100 KiB file (held in memory by the open-file
/// cache, but larger than the output buffer: it goes out by `sendmsg`
/// behind its head), a 200 KiB file (larger than a socket buffer step, so it
/// goes out in several `sendfile` calls) and a directory without an index. Made once per process, under a name with the process id.
pub fn fixture_root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("wired-harness-{}", std::process::id()));
        let make = || -> std::io::Result<()> {
            std::fs::create_dir_all(root.join("d"))?;
            std::fs::write(root.join("index.html"), b"<h1>harness</h1>\n")?;
            std::fs::write(root.join("a.txt"), b"a small text file\n")?;
            std::fs::write(root.join("a.txt.gz"), b"\x1f\x8b\x08\x00not really gzip")?;
            std::fs::write(root.join("empty"), b"")?;
            let big: Vec<u8> = (0..200 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
            std::fs::write(root.join("big.bin"), &big)?;
            std::fs::write(root.join("mid.bin"), big.get(..100 * 1024).unwrap_or_default())?;
            std::fs::write(root.join("d").join("b.txt"), b"in a directory\n")?;
            Ok(())
        };
        if let Err(e) = make() {
            panic!("harness fixture {}: {e}", root.display());
        }
        root
    })
}

/// The configuration the harness runs with: the fixture as root, listings
/// on, and limits small enough for a fuzzer to reach (414, 431, 413).
pub fn fixture_config() -> Config {
    Config {
        root: fixture_root().clone(),
        workers: 1,
        autoindex: true,
        limits: Limits { max_request_line: 512, max_headers: 16, max_head_bytes: 1024 },
        max_body_bytes: 4096,
        // The wire trace on stderr, to read what a fuzzer's input did.
        trace: std::env::var_os("WIRED_HARNESS_TRACE").map(|_| crate::config::TraceTarget::Stderr),
        ..Config::default()
    }
}

/// A worker's services without the worker, and a listener to make pairs.
struct Harness {
    svc: Services,
    listener: TcpListener,
    serial: u64,
    /// Tells when written bytes have reached the server side (and owns the
    /// registry the services hold).
    poll: Poll,
    events: Events,
}

impl Harness {
    fn new() -> std::io::Result<Harness> {
        let poll = Poll::new()?;
        let config = Arc::new(fixture_config());
        let svc = Services::new(config, poll.registry().try_clone()?)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        Ok(Harness { svc, listener, serial: 0, poll, events: Events::with_capacity(4) })
    }

    /// A connected pair: the server side as a connection, the client side.
    fn pair(&mut self) -> std::io::Result<(Conn, TcpStream)> {
        let client = TcpStream::connect(self.listener.local_addr()?)?;
        let (server, peer) = self.listener.accept()?;
        server.set_nonblocking(true)?;
        server.set_nodelay(true)?;
        // Without it Nagle holds a small chunk back until the last is acknowledged.
        client.set_nodelay(true)?;
        client.set_nonblocking(true)?;
        let local = server.local_addr()?;
        self.serial += 1;
        let now = Instant::now();
        self.svc.now = now;
        // A fresh wheel per connection: the harness never fires it, so old
        // entries would only pile up.
        self.svc.wheel = Wheel::new(8, now);
        let mut sock = mio::net::TcpStream::from_std(server);
        self.poll.registry().register(&mut sock, SERVER_SIDE, Interest::READABLE)?;
        let conn = Conn::new(crate::conn::Transport::plain(sock), peer, local, self.serial, now);
        Ok((conn, client))
    }
}

impl Harness {
    /// Wait (bounded) for the event that says bytes or a FIN reached the
    /// server side, as the worker would before driving the connection.
    /// Loopback usually delivers within the write call; this makes sure.
    fn await_arrival(&mut self) {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.poll.poll(&mut self.events, Some(left)) {
                Ok(()) if self.events.iter().any(|e| e.token() == SERVER_SIDE) => return,
                Err(e) if e.kind() != ErrorKind::Interrupted => return,
                _ if left.is_zero() => return,
                _ => {}
            }
        }
    }
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

/// Feed `chunks` as separate writes, then shut the client's sending side;
/// return every byte the server sent.
pub fn drive_bytes(chunks: &[&[u8]]) -> Vec<u8> {
    drive(chunks, Ending::PeerClose).output
}

/// Feed `chunks` as separate writes on a fresh connection, running the
/// connection after each one, then end as `ending` says.
///
/// Panics if the connection livelocks (asks to run again without end) or if
/// the loopback socket itself fails, which would be a harness problem.
pub fn drive(chunks: &[&[u8]], ending: Ending) -> Outcome {
    HARNESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Harness::new().unwrap_or_else(|e| panic!("harness: {e}")));
        }
        let Some(h) = slot.as_mut() else { unreachable!("set just above") };
        run(h, chunks, ending)
    })
}

fn run(h: &mut Harness, chunks: &[&[u8]], ending: Ending) -> Outcome {
    let (conn, mut client) = h.pair().unwrap_or_else(|e| panic!("harness: loopback pair: {e}"));
    let mut conn = Some(conn);
    let mut out = Outcome { output: Vec::new(), closed: false, requests: 0 };
    for chunk in chunks {
        if conn.is_none() {
            break;
        }
        if !write_chunk(&mut client, chunk, &mut conn, h, &mut out) {
            break;
        }
        h.await_arrival();
        pump(&mut conn, h, &mut client, &mut out, false);
    }
    if conn.is_some() {
        match ending {
            Ending::KeepOpen => {}
            Ending::PeerClose => {
                let _ = client.shutdown(Shutdown::Write);
                h.await_arrival();
                // What the worker learns from the event's read-closed flag.
                if let Some(c) = conn.as_mut() {
                    c.read_closed = true;
                }
                pump(&mut conn, h, &mut client, &mut out, false);
            }
            Ending::Timeout => pump(&mut conn, h, &mut client, &mut out, true),
        }
    }
    // Collect what is left, and whether the server closed or shut its side,
    // before the harness drops a connection the server kept open.
    read_available(&mut client, &mut out);
    if let Some(mut c) = conn.take() {
        out.requests = c.requests;
        c.release_buffers(&mut h.svc);
    }
    out
}

/// Write one chunk, running the server whenever the socket is full (a
/// chunk larger than the buffers). False when the server stopped reading.
fn write_chunk(
    client: &mut TcpStream,
    chunk: &[u8],
    conn: &mut Option<Conn>,
    h: &mut Harness,
    out: &mut Outcome,
) -> bool {
    let mut rest = chunk;
    let mut stalls = 0;
    while !rest.is_empty() {
        match client.write(rest) {
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if conn.is_none() || stalls > MAX_ROUNDS {
                    return false;
                }
                stalls += 1;
                let before = out.output.len();
                pump(conn, h, client, out, false);
                if out.output.len() == before && conn.is_none() {
                    return false;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // The server closed (a reset after a refused request).
            Err(_) => return false,
        }
    }
    true
}

/// Run the connection as the worker would after an event (and, with
/// `fire_timer`, after its timer fired), reading what it sends, until it
/// waits with nothing more for the client or closes.
fn pump(conn: &mut Option<Conn>, h: &mut Harness, client: &mut TcpStream, out: &mut Outcome, fire_timer: bool) {
    let mut fire = fire_timer;
    for _ in 0..MAX_ROUNDS {
        let Some(c) = conn.as_mut() else { return };
        h.svc.now = Instant::now();
        c.read_drained = false;
        let mut step = if fire {
            fire = false;
            c.deadline = 0;
            c.on_timeout(0, &mut h.svc)
        } else {
            c.drive(0, &mut h.svc)
        };
        let mut yields = 0;
        while step == Step::Yield {
            yields += 1;
            assert!(yields < MAX_YIELDS, "connection livelock: yields without end");
            step = c.drive(0, &mut h.svc);
        }
        let got = read_available(client, out);
        if step == Step::Close {
            out.requests = c.requests;
            c.release_buffers(&mut h.svc);
            *conn = None;
            return;
        }
        if got == 0 {
            return;
        }
    }
    panic!("connection livelock: {MAX_ROUNDS} rounds without waiting");
}

/// Read everything the client can read now; note end of stream.
fn read_available(client: &mut TcpStream, out: &mut Outcome) -> usize {
    let mut buf = [0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match client.read(&mut buf) {
            Ok(0) => {
                out.closed = true;
                return total;
            }
            Ok(n) => {
                out.output.extend_from_slice(buf.get(..n).unwrap_or_default());
                total += n;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return total,
            Err(_) => {
                out.closed = true;
                return total;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_one_response() {
        let out = drive(&[b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"], Ending::KeepOpen);
        assert!(out.output.starts_with(b"HTTP/1.1 200 OK\r\n"), "{:?}", String::from_utf8_lossy(&out.output));
        assert!(out.output.ends_with(b"\r\n\r\na small text file\n"));
        assert!(!out.closed);
        assert_eq!(out.requests, 1);
    }

    #[test]
    fn a_head_split_across_reads_and_a_large_file() {
        let out = drive_bytes(&[b"GET /big", b".bin HTTP/1.1\r\nHo", b"st: h\r\n\r\n"]);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 204800\r\n"));
        let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |i| i + 4);
        assert_eq!(out.len() - head_end, 200 * 1024);
    }

    #[test]
    fn a_refused_request_closes() {
        let out =
            drive(&[b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"], Ending::KeepOpen);
        assert!(out.output.starts_with(b"HTTP/1.1 400 "));
        assert!(out.closed);
    }

    #[test]
    fn a_timeout_inside_a_head_answers_408() {
        let out = drive(&[b"GET / HTTP/1.1\r\n"], Ending::Timeout);
        assert!(out.output.starts_with(b"HTTP/1.1 408 "), "{:?}", String::from_utf8_lossy(&out.output));
        assert!(out.closed);
    }

    /// Regression (in the harness): the client side had Nagle on, so a
    /// small chunk after an unacknowledged one stayed in the client's
    /// kernel, and a request split over reads after a keep-alive response
    /// looked unanswered. The fuzzer saw the answer change with the cuts.
    #[test]
    fn a_second_request_split_over_reads_is_answered() {
        let chunks: [&[u8]; 4] =
            [b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n", b"GET /a.txt HTTP/1.1\r\n", b"Host: h\r\n", b"\r\n"];
        let out = drive(&chunks, Ending::KeepOpen);
        let text = String::from_utf8_lossy(&out.output);
        assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
        assert_eq!(out.requests, 2);
    }

    /// Regression (found by the fuzzer): after a request that closes the
    /// connection (HTTP/1.0, `Connection: close`) had its small body read and
    /// dropped, the bytes after the body were parsed and answered, after a
    /// response that said `Connection: close`.
    #[test]
    fn nothing_after_a_closing_request_body_is_answered() {
        let input: &[u8] = b"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhelloGET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n";
        let out = drive(&[input], Ending::KeepOpen);
        let text = String::from_utf8_lossy(&out.output);
        assert!(text.starts_with("HTTP/1.1 405 "), "{text}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
        assert!(out.closed);
    }

    /// Regression (found by the fuzzer): when a request with a body to drop
    /// was answered from a file, the next pipelined response was queued over
    /// the file still waiting to be sent: its body was lost, and the next
    /// response took its place under the first one's Content-Length.
    #[test]
    fn a_file_body_is_not_lost_when_its_request_had_a_body_to_drop() {
        let input = [
            &b"GET /big.bin HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx"[..],
            b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n",
        ]
        .concat();
        let out = drive(&[&input], Ending::KeepOpen);
        let text = String::from_utf8_lossy(&out.output);
        let second = text.find("\r\n\r\n").map_or(0, |i| i + 4) + 200 * 1024;
        assert!(text.get(second..).is_some_and(|rest| rest.starts_with("HTTP/1.1 200 OK\r\n")), "{}", &text[..600]);
        assert!(text.ends_with("\r\n\r\na small text file\n"));
    }

    /// Regression: responses to requests with bodies were queued without
    /// checking the output buffer's room, so a long pipeline of them ran out
    /// of room and the connection was closed with answers missing.
    #[test]
    fn a_hundred_pipelined_requests_with_bodies_are_all_answered() {
        let input = b"POST /a.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx".repeat(100);
        let out = drive(&[&input], Ending::KeepOpen);
        let text = String::from_utf8_lossy(&out.output);
        assert_eq!(text.matches("HTTP/1.1 405 ").count(), 100);
        assert!(!out.closed);
    }

    /// Regression (found by the fuzzer): a half-close in the middle of a
    /// body dropped the answers queued before it.
    #[test]
    fn answers_queued_before_a_cut_off_body_are_sent_on_half_close() {
        let input: &[u8] =
            b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\nPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc";
        let out = drive(&[input], Ending::PeerClose);
        let text = String::from_utf8_lossy(&out.output);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 2, "{text}");
        assert!(out.closed);
    }

    /// Regression (found by the fuzzer): answers queued before a body that
    /// was still arriving waited for the whole body (and were lost with the
    /// connection at the body timeout).
    #[test]
    fn answers_before_a_trickling_body_are_not_held_back_by_it() {
        let input: &[u8] =
            b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\nPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc";
        let out = drive(&[input], Ending::KeepOpen);
        let text = String::from_utf8_lossy(&out.output);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 2, "{text}");
        assert!(!out.closed);
    }

    /// Regression (found by the fuzzer): once the answer to a request that
    /// closes the connection was out, the connection stayed open until the
    /// rest of its body arrived (or the body timeout).
    #[test]
    fn a_close_answer_ends_the_connection_without_waiting_for_the_body() {
        let input: &[u8] = b"POST / HTTP/1.0\r\nContent-Length: 9\r\n\r\nabc";
        let out = drive(&[input], Ending::KeepOpen);
        let text = String::from_utf8_lossy(&out.output);
        assert!(text.starts_with("HTTP/1.1 405 "), "{text}");
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert!(out.closed, "still open after the last answer");
    }

    /// Regression: the closing boundary of a multipart body went out with
    /// MSG_MORE and nothing after it, so the kernel held it for its 200 ms
    /// cork timeout; a keep-alive client saw the response end that late.
    #[test]
    fn multipart_range_response_is_not_held_back_by_msg_more() {
        let req: &[u8] = b"GET /big.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9,100-199,-5\r\n\r\n";
        let out = drive(&[req], Ending::KeepOpen);
        let text = String::from_utf8_lossy(&out.output);
        let head_end = text.find("\r\n\r\n").map_or(0, |i| i + 4);
        let length: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        assert!(length > 0, "{text}");
        assert_eq!(out.output.len() - head_end, length, "the whole multipart body at once: {text}");
        assert!(text.ends_with("--\r\n"), "{text}");
    }
}
