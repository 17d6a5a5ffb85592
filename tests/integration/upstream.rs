//! The upstream layer: wired as a FastCGI client of php-fpm and as a reverse
//! proxy (`--proxy`, `--upstream`) in front of real application servers,
//! checked from a raw client socket. Each test starts what it needs on
//! 127.0.0.1 (an ephemeral port, or a unix socket in its own temporary
//! directory) and stops it by PID:
//!
//! - [`php_fpm`]: PHP scripts run by php-fpm (`--fastcgi .php=…`).
//! - [`gunicorn`]: a Flask application behind gunicorn.
//! - [`app_servers`]: uvicorn (plain ASGI, on a unix socket), puma (Sinatra)
//!   and Node.js's `http` module.
//! - [`hostile`]: `hostile_upstream.py`, an upstream that breaks the
//!   protocol on purpose; after each broken response a clean request on the
//!   same client connection proves nothing stray reached it.
//! - [`pool`]: keep-alive to upstreams, retries, round robin and failure
//!   marking, counted from the upstream's side.
//!
//! The programs themselves are committed in `tests/upstream/`;
//! `tests/install-deps.sh` installs the servers.

use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::common::*;

mod app_servers;
mod gunicorn;
mod hostile;
mod http2;
mod php_fpm;
mod pool;

/// The committed programs: `tests/upstream/`.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream")
}

/// The interpreter behind `python3`: the one install-deps.sh gave Flask,
/// gunicorn and uvicorn.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 is needed by the upstream tests (tests/install-deps.sh)");
        String::from_utf8(out.stdout).expect("a UTF-8 path").trim().to_string()
    })
}

/// Start wired on `root`, on an ephemeral port, one worker, with `extra`
/// (the upstream options). In the TLS run (`WIRED_TEST_TLS=1`) every client
/// connection goes through the TLS shim: the handlers and upstreams must
/// not notice, but for what says how the client came (`X-Forwarded-Proto`,
/// `HTTPS`).
fn wired(root: &Path, extra: &[&str]) -> Server {
    Server::start(root, extra)
}

/// The scheme the client used, as the upstream should hear it.
fn client_scheme() -> &'static str {
    if crate::tls_shim::tls_mode() { "https" } else { "http" }
}

/// A document root with one static file, `static.txt`.
fn plain_root(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    fs::write(tree.join("static.txt"), "served by wired itself\n").unwrap();
    tree
}

/// The body of a response from an upstream whose connection was reused
/// after a broken response (`hostile_upstream.py`'s POISON_MARK).
const POISON_MARK: &str = "POISONED-UPSTREAM-CONNECTION-REUSED";

/// Bytes the hostile upstream sends after a response's end (STRAY_MARK).
const STRAY_MARK: &str = "STRAY-UPSTREAM-BYTES";

/// `tests/upstream/hostile_upstream.py`, listening on an ephemeral port.
struct Hostile {
    _proc: ChildGuard,
    port: u16,
}

impl Hostile {
    /// Routing by path (the default mode).
    fn start() -> Hostile {
        Hostile::with(&[])
    }

    /// With extra arguments: `--mode close`, `--name a`, …
    fn with(args: &[&str]) -> Hostile {
        let mut cmd = Command::new(python());
        cmd.arg(fixtures().join("hostile_upstream.py")).args(["--lifetime", "90"]).args(args);
        let mut proc = ChildGuard::spawn("hostile", cmd);
        let port = proc.wait_for_line(Duration::from_secs(10), |l| l.strip_prefix("PORT ")?.parse().ok());
        Hostile { _proc: proc, port }
    }

    /// `127.0.0.1:PORT`, for `--upstream`.
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`, for `--proxy PREFIX=URL`.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What it has seen, asked directly (not through wired).
    fn stats(&self) -> Stats {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the hostile upstream");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /_stats HTTP/1.1\r\nHost: stats\r\n\r\n").unwrap();
        let r = read_response(&mut s, false).expect("stats");
        let mut stats = Stats { accepted: 0, endless_sent: 0, requests: Vec::new() };
        for line in r.text().lines() {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["accepted", n] => stats.accepted = n.parse().unwrap(),
                ["endless_sent", n] => stats.endless_sent = n.parse().unwrap(),
                ["request", conn, seq, method, target] => stats.requests.push(Seen {
                    conn: conn.parse().unwrap(),
                    seq: seq.parse().unwrap(),
                    method: method.to_string(),
                    target: target.to_string(),
                }),
                _ => panic!("stats line {line:?}"),
            }
        }
        stats
    }
}

/// The hostile upstream's counts.
#[derive(Debug)]
struct Stats {
    /// Connections accepted (not counting those that asked for stats).
    accepted: usize,
    /// Bytes `/endless` managed to write.
    endless_sent: u64,
    /// Every request received, in order.
    requests: Vec<Seen>,
}

/// One request the hostile upstream received: on which connection (from 1),
/// the how-manieth on it (from 1), and its request line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    conn: u32,
    seq: u32,
    method: String,
    target: String,
}

impl Stats {
    /// The requests for `path` (the target without its query).
    fn for_path(&self, path: &str) -> Vec<&Seen> {
        self.requests.iter().filter(|r| r.target.split('?').next() == Some(path)).collect()
    }
}

/// Large transfers (100 MB, 10 MB) take turns, so that on a small machine
/// they neither slow each other past their timeouts nor starve the rest.
fn big_transfer() -> MutexGuard<'static, ()> {
    static BIG: Mutex<()> = Mutex::new(());
    BIG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Connect to wired; reads retry when interrupted (a signal while blocked
/// in a timed read says nothing about the server).
fn connect(server: &Server) -> Client {
    Client(server.connect())
}

/// One request on an open connection, its response (a HEAD's without body).
fn roundtrip(s: &mut Client, request: &str) -> Response {
    s.write_all(request.as_bytes()).unwrap();
    let head = request.starts_with("HEAD ");
    read_response(s, head).unwrap_or_else(|e| panic!("{}: {e}", first_line(request)))
}

/// `GET target` on an open, kept-alive connection.
fn get_on(s: &mut Client, target: &str) -> Response {
    roundtrip(s, &format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n"))
}

/// `GET target` on a new connection, with `Connection: close`.
fn get(server: &Server, target: &str) -> Response {
    let mut s = connect(server);
    roundtrip(&mut s, &format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
}

fn first_line(request: &str) -> &str {
    request.split("\r\n").next().unwrap_or_default()
}

/// Read until the peer closes or `limit` passes: the bytes, and whether it
/// closed (a reset counts as closed).
fn read_until_closed(s: &mut Client, limit: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, false);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

/// Nothing arrives on `s` for `within`, and it stays open.
fn assert_quiet(s: &mut Client, within: Duration, what: &str) {
    let (bytes, closed) = read_until_closed(s, within);
    assert!(bytes.is_empty(), "{what}: stray bytes {:?}", String::from_utf8_lossy(&bytes));
    assert!(!closed, "{what}: the connection was closed");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
}

/// Write `len` pseudo-random bytes to `s` (chunked when `chunked`, in
/// pieces of 64 KiB); the SHA-256 of the bytes, as `sha256sum` computes it.
fn send_random_body(s: &mut Client, len: usize, chunked: bool) -> String {
    let mut hasher = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut to_hasher = hasher.stdin.take().unwrap();
    let mut rng = Rng(0x5eed_cafe_f00d ^ len as u64);
    let mut block = vec![0u8; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        let n = block.len().min(len - sent);
        rng.fill(&mut block[..n]);
        if chunked {
            write!(s, "{n:x}\r\n").unwrap();
        }
        s.write_all(&block[..n]).unwrap_or_else(|e| panic!("upload stopped after {sent} bytes: {e}"));
        if chunked {
            s.write_all(b"\r\n").unwrap();
        }
        to_hasher.write_all(&block[..n]).unwrap();
        sent += n;
    }
    if chunked {
        s.write_all(b"0\r\n\r\n").unwrap();
    }
    drop(to_hasher);
    let out = hasher.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

/// Peak resident set size of a process, KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The most memory wired may use while 100 MB stream through it (as for CGI).
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// POST `len` random bytes to `target` with a Content-Length (or chunked),
/// and `Connection: close`; the response and the SHA-256 of what was sent.
/// The application answers `LENGTH SHA256`.
fn upload(server: &Server, target: &str, len: usize, chunked: bool) -> (Response, String) {
    let mut s = connect(server);
    s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    let framing = if chunked { "Transfer-Encoding: chunked".to_string() } else { format!("Content-Length: {len}") };
    write!(
        s,
        "POST {target} HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n{framing}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let sha = send_random_body(&mut s, len, chunked);
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let r = read_response(&mut s, false).unwrap_or_else(|e| panic!("{target}: {e}"));
    (r, sha)
}

/// The value of a flat string field in a JSON object (`"key": "value"`),
/// with `\"` and `\\` unescaped; enough for the applications' echoes.
fn json_string(text: &str, key: &str) -> Option<String> {
    let start = text.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let mut out = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// The fields of a request head as an upstream received it, names
/// lowercased, in order (for `/echo-head`, and the `name: value` lines the
/// applications' `/headers` send back).
fn fields_of(head: &str) -> Vec<(String, String)> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

/// The one value of field `name` (repeats joined with ", " as RFC 9110
/// §5.3 allows).
fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = fields.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// What a proxy in front of `client_host` must have told the upstream about
/// the client (127.0.0.1 over plain HTTP): X-Forwarded-For ending with the
/// client after `earlier_for`, X-Forwarded-Proto, X-Forwarded-Host, a
/// Forwarded element of its own (RFC 7239) and a Via element of its own
/// (RFC 9110 §7.6.3). `fields` is the upstream's view, names lowercased.
fn assert_forwarding_fields(fields: &[(String, String)], client_host: &str, earlier_for: Option<&str>) {
    let xff = field(fields, "x-forwarded-for");
    let expected_xff = match earlier_for {
        Some(earlier) => format!("{earlier}, 127.0.0.1"),
        None => "127.0.0.1".to_string(),
    };
    assert_eq!(xff.as_deref(), Some(expected_xff.as_str()), "X-Forwarded-For in {fields:#?}");
    assert_eq!(field(fields, "x-forwarded-proto").as_deref(), Some(client_scheme()), "X-Forwarded-Proto");
    assert_eq!(field(fields, "x-forwarded-host").as_deref(), Some(client_host), "X-Forwarded-Host");
    let forwarded = field(fields, "forwarded").unwrap_or_else(|| panic!("no Forwarded field in {fields:#?}"));
    let ours = forwarded.rsplit(',').next().unwrap().to_ascii_lowercase();
    let params: Vec<(String, String)> = ours
        .split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // `for` may carry the client's port too (RFC 7239 §6).
    let for_ = param("for").unwrap_or_default();
    assert!(for_ == "127.0.0.1" || for_.starts_with("127.0.0.1:"), "Forwarded {forwarded:?}: for=");
    assert_eq!(param("proto").as_deref(), Some(client_scheme()), "Forwarded {forwarded:?}: proto=");
    assert_eq!(param("host").as_deref(), Some(client_host), "Forwarded {forwarded:?}: host=");
    if let Some(earlier) = earlier_for {
        assert!(forwarded.to_ascii_lowercase().starts_with(&format!("for={earlier}")), "Forwarded {forwarded:?}");
    }
    let via = field(fields, "via").unwrap_or_else(|| panic!("no Via field in {fields:#?}"));
    assert!(via.rsplit(',').next().unwrap().trim().starts_with("1.1 "), "Via {via:?}: ours must say 1.1");
}

/// None of the hop-by-hop fields a client sent (RFC 9110 §7.6.1) reached
/// the upstream: `fields` is the upstream's view, names lowercased.
/// Connection itself may be there only as the proxy's own (close or
/// keep-alive), never naming the client's fields.
fn assert_no_hop_by_hop(fields: &[(String, String)], named: &[&str]) {
    for name in ["keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"].iter().chain(named)
    {
        assert!(field(fields, name).is_none(), "hop-by-hop {name} reached the upstream: {fields:#?}");
    }
    if let Some(connection) = field(fields, "connection") {
        for token in connection.split(',').map(|t| t.trim().to_ascii_lowercase()) {
            assert!(token == "close" || token == "keep-alive", "Connection: {connection} reached the upstream");
        }
    }
}

/// A request carrying every kind of hop-by-hop field, and forwarding fields
/// from an earlier proxy (203.0.113.7), for `target` on `host`.
fn request_with_hop_by_hop(target: &str, host: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\n\
         Connection: keep-alive, X-Hop\r\nX-Hop: only for the next hop\r\n\
         Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n\
         Trailer: X-Never\r\nUpgrade: h2c\r\n\
         X-Forwarded-For: 203.0.113.7\r\nForwarded: for=203.0.113.7\r\nVia: 1.0 fred\r\n\
         X-End-To-End: kept\r\n\r\n"
    )
}

/// The next chunk of a chunked body on `r`; `None` after the last chunk
/// (and its trailer section) has been read.
fn next_chunk(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let size = line.strip_suffix("\r\n").unwrap_or_else(|| panic!("chunk size line {line:?}"));
    let size = usize::from_str_radix(size.split(';').next().unwrap(), 16).unwrap_or_else(|_| panic!("{line:?}"));
    if size == 0 {
        loop {
            let mut trailer = String::new();
            r.read_line(&mut trailer).unwrap();
            if trailer == "\r\n" {
                return None;
            }
            assert!(trailer.ends_with("\r\n"), "trailer line {trailer:?}");
        }
    }
    let mut chunk = vec![0u8; size + 2];
    r.read_exact(&mut chunk).unwrap();
    assert!(chunk.ends_with(b"\r\n"), "a chunk not followed by CRLF");
    chunk.truncate(size);
    Some(chunk)
}
