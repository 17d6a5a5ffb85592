//! Hostile clients: request smuggling, size limits, floods, slow peers,
//! descriptor exhaustion, filesystem faults and panics, each as raw bytes
//! against the real binary on an ephemeral loopback port. One file per kind
//! of hostility: [`smuggling`] (the matrix, and regressions in response
//! framing), [`limits`] (sizes and floods), [`slow`] (slow and half-closing
//! peers), [`faults`] (descriptor exhaustion, the filesystem, panics).
//!
//! The smuggling matrix is a table: each row is a request that hides a
//! second one (`GET /smuggled`, whose body is recognisable) behind framing
//! that two parsers could read differently. For each row the test checks the
//! status wired gives, that the connection is closed when the framing is in
//! doubt, that `/smuggled` is never answered, and that a clean request on a
//! new connection still works. Rows whose framing is valid keep the
//! connection, and a probe sent after them on the same connection must be
//! answered as the next request — proving the body was skipped exactly.

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;

mod discard;
mod faults;
mod limits;
mod slow;
mod smuggling;

/// The body of `/smuggled`: if it ever shows up, a smuggled request was answered.
const SMUGGLED_MARK: &str = "SMUGGLED-7f3a-answered";

/// The request hidden in each smuggling row.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

const INDEX: &str = "<h1>hostile</h1>\n";

/// A root with an index, the smuggled file and 100 numbered files.
fn site(name: &str) -> PathBuf {
    let root = temp_dir(name);
    std::fs::write(root.join("index.html"), INDEX).unwrap();
    std::fs::write(root.join("smuggled"), SMUGGLED_MARK).unwrap();
    std::fs::create_dir(root.join("n")).unwrap();
    for i in 0..100 {
        std::fs::write(root.join("n").join(i.to_string()), format!("file number {i}\n")).unwrap();
    }
    root
}

/// A file of `mib` MiB of a repeating, position-dependent pattern.
fn big_file(root: &Path, name: &str, mib: usize) -> PathBuf {
    let path = root.join(name);
    let block: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 23) as u8).collect();
    let mut f = std::fs::File::create(&path).unwrap();
    for _ in 0..mib {
        f.write_all(&block).unwrap();
    }
    path
}

/// How a read-to-the-end finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The server closed cleanly (FIN).
    Closed,
    /// The server reset the connection.
    Reset,
    /// Still open when the time ran out.
    Open,
}

/// Read until the server closes or `limit` passes.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, End) {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, End::Open);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, End::Closed),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return (out, End::Open),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return (out, End::Reset),
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(400)]).into_owned()
}

/// A small, fixed receive buffer (no autotuning), so the kernel cannot
/// swallow a whole large response on the client's behalf.
fn set_rcvbuf(s: &TcpStream, bytes: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: `bytes` lives for the call and its exact size is passed.
    let ret = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0, "SO_RCVBUF");
}

/// Wait (bounded) until the server's descriptor count is at most `target`.
fn fds_settle(server: &Server, target: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let n = server.open_fds();
        if n <= target || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU time (user + system) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name is in parentheses and may hold spaces: count from after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime) are the 12th and 13th after the name.
    let get = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf takes no pointers.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if n > 0 { n as u64 } else { 100 }
}
