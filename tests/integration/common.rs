//! Test support: start the real `wired` binary on an ephemeral loopback port,
//! talk raw bytes to it, read responses exactly as a strict client would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server, stopped (by its PID) when dropped.
pub struct Server {
    pub child: Child,
    /// The first plain listener (or, with only `--listen-tls`, the first TLS one).
    pub addr: SocketAddr,
    /// The first `--listen-tls` listener, if any.
    pub tls_addr: Option<SocketAddr>,
    /// In the TLS and HTTP/2 runs, wired's own plain listener (`addr` is
    /// then the shim's).
    pub plain_addr: Option<SocketAddr>,
    pub root: PathBuf,
    /// Every line the server has written to stderr so far (they are echoed
    /// too, so a failing test shows them).
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Start wired serving `root` with extra arguments, one worker unless the
    /// arguments say otherwise.
    pub fn start(root: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<String> =
            vec!["--listen".into(), "127.0.0.1:0".into(), "--root".into(), root.display().to_string()];
        if !extra.iter().any(|a| *a == "-w" || *a == "--workers") {
            args.extend(["--workers".into(), "1".into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        if crate::h2_shim::h2_mode() && !extra.contains(&"--http2") {
            let tls = crate::tls_shim::tls_mode() && !extra.contains(&"--listen-tls");
            return Server::start_h2(root, args, tls);
        }
        if crate::tls_shim::tls_mode() && !extra.contains(&"--listen-tls") {
            // The second run: the same test, through a TLS client.
            args.extend(crate::tls_shim::tls_args());
            let mut server = Server::start_args(root, &args, None);
            if let Some(tls) = server.tls_addr {
                server.plain_addr = Some(server.addr);
                server.addr = crate::tls_shim::start(tls);
            }
            return server;
        }
        Server::start_args(root, &args, None)
    }

    /// The HTTP/2 run (`WIRED_TEST_H2=1`): wired with these arguments and
    /// `--http2`, and `addr` the HTTP/2 shim's (`h2_shim.rs`), so that every
    /// request the test writes reaches wired as an HTTP/2 stream; with `tls`,
    /// over a TLS listener added with the test certificate, by ALPN h2.
    /// `start` comes here unless the test passes `--http2` itself (it
    /// speaks HTTP/2 already); a test that writes its own command line may too.
    pub fn start_h2(root: &Path, mut args: Vec<String>, tls: bool) -> Server {
        args.push("--http2".into());
        if tls {
            args.extend(crate::tls_shim::tls_args());
        }
        let mut server = Server::start_args(root, &args, None);
        let target = if tls { server.tls_addr } else { Some(server.addr) };
        if let Some(target) = target {
            server.plain_addr = Some(server.addr);
            server.addr = crate::h2_shim::start(target, tls);
        }
        server
    }

    /// Start with exactly these arguments, and optionally a file descriptor limit.
    pub fn start_args(root: &Path, args: &[String], nofile: Option<u64>) -> Server {
        let bin = env!("CARGO_BIN_EXE_wired");
        let cmd = if let Some(n) = nofile {
            let mut c = Command::new("sh");
            c.arg("-c").arg(format!("ulimit -n {n} && exec \"$0\" \"$@\"")).arg(bin).args(args);
            c
        } else {
            let mut c = Command::new(bin);
            c.args(args);
            c
        };
        Server::spawn(cmd, root)
    }

    /// Start a prepared command (the wired binary with its arguments and
    /// environment) and wait for the line that says where it listens.
    pub fn spawn(mut cmd: Command, root: &Path) -> Server {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).env("RUST_LOG", "warn");
        // One startup line per listening address: count them from the arguments.
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        let plain = args.iter().filter(|a| *a == "--listen" || *a == "-l").count();
        let tls = args.iter().filter(|a| *a == "--listen-tls").count();
        let lines = if plain + tls == 0 { 1 } else { plain + tls };
        let mut child = cmd.spawn().expect("start wired");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let (mut addr, mut tls_addr) = (None, None);
        for _ in 0..lines {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read startup line");
            let parse = |scheme: &str| -> Option<SocketAddr> {
                line.split(scheme).nth(1)?.split_whitespace().next()?.parse().ok()
            };
            if let Some(a) = parse("https://") {
                tls_addr = tls_addr.or(Some(a));
            } else if let Some(a) = parse("http://") {
                addr = addr.or(Some(a));
            } else {
                panic!("wired did not say where it listens: {line:?}");
            }
        }
        let addr = addr.or(tls_addr).expect("a listening address");
        // Keep draining stdout and stderr so the server never blocks writing
        // to them (a CGI program's stderr lines are logged there); stderr is
        // echoed so a failing test shows what the server said.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let said = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let said = Arc::clone(&said);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("wired: {line}");
                    said.lock().unwrap().push(line);
                }
            });
        }
        Server { child, addr, tls_addr, plain_addr: None, root: root.to_path_buf(), stderr: said }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        s.set_nodelay(true).expect("nodelay");
        s
    }

    /// Send raw bytes on a new connection and read until the server closes.
    pub fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(bytes).expect("write");
        read_to_close(&mut s)
    }

    /// One request on a new connection; the parsed response.
    pub fn get(&self, path: &str) -> Response {
        let mut s = self.connect();
        write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("write");
        read_response(&mut s, false).expect("response")
    }

    /// Number of open file descriptors of the server process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map(|d| d.count()).unwrap_or(0)
    }

    /// Resident set size in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Send SIGTERM and wait (bounded) for the exit status.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        signal(self.pid(), libc::SIGTERM);
        self.wait_exit(within)
    }

    /// Wait up to `within` for the server to exit by itself; its status.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn signal(pid: u32, sig: i32) {
    // Tests may use libc through the dev-dependency; the server keeps its unsafe in sys.
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wired-test-{}-{}-{}",
        name,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A fresh temporary directory, removed with all it holds when dropped
/// (after the server, which is declared later and so dropped first).
pub struct TempTree(pub PathBuf);

impl TempTree {
    pub fn new(name: &str) -> TempTree {
        TempTree(temp_dir(name))
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run a program, killing it (by its PID) if it outlives `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    run_bounded_with_input(cmd, None, limit)
}

/// Run a program with `input` on its stdin (or /dev/null), killing it (by
/// its PID) if it outlives `limit`. Stdin is closed once `input` is written.
pub fn run_bounded_with_input(cmd: &mut Command, input: Option<&[u8]>, limit: Duration) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); tests/install-deps.sh installs it"));
    let start = Instant::now();
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        let input = input.to_vec();
        std::thread::spawn(move || stdin.write_all(&input));
    }
    // Drain the pipes on threads so a chatty child never blocks.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

/// Headless Chromium on a fresh profile, with the flags that keep it off the
/// network and quiet; `home` replaces `$HOME` (where Chromium on Linux finds
/// the NSS database of trusted certificates, `.pki/nssdb`).
pub fn chromium(profile: &Path, home: Option<&Path>, extra: &[&str], url: &str) -> Output {
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url);
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    assert!(out.status.success(), "chromium {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Close with a reset (RST) instead of a FIN: `SO_LINGER` on with a zero
/// timeout, then close. The client is gone for certain.
pub fn reset(s: TcpStream) {
    reset_on_close(&s);
    drop(s);
}

/// Make the socket's close a reset (RST) instead of a FIN: `SO_LINGER` on
/// with a zero timeout.
pub fn reset_on_close(s: &TcpStream) {
    let fd = std::os::fd::AsRawFd::as_raw_fd(s);
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: `linger` lives for the call and its exact size is passed.
    let ret = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0, "SO_LINGER");
}

/// Read until the peer closes (or 10 s pass).
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    out
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Read exactly one response from a stream, strictly: CRLF line ends, framing
/// by Content-Length or chunked, or by close when neither.
pub fn read_response(s: &mut impl Read, head_request: bool) -> Result<Response, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) => return Err(format!("closed inside a head after {:?}", String::from_utf8_lossy(&head))),
            Ok(_) => head.push(byte[0]),
            // A signal (glibc's SIGSETXID among them) interrupts a timed read.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read error {e} after {:?}", String::from_utf8_lossy(&head))),
        }
        if head.len() > 65536 {
            return Err("head too long".into());
        }
    }
    let text = String::from_utf8(head).map_err(|_| "head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if version != "HTTP/1.1" {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status: u16 = parts.next().and_then(|c| c.parse().ok()).ok_or(format!("bad status {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (n, v) = line.split_once(':').ok_or(format!("bad field line {line:?}"))?;
        headers.push((n.to_string(), v.trim().to_string()));
    }
    let mut resp = Response { status, headers, body: Vec::new() };
    if head_request || status < 200 || status == 204 || status == 304 {
        return Ok(resp);
    }
    if resp.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        resp.body = read_chunked(s)?;
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().map_err(|_| "bad content-length")?;
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).map_err(|e| format!("body: {e}"))?;
        resp.body = body;
    } else {
        let mut body = Vec::new();
        let _ = s.read_to_end(&mut body);
        resp.body = body;
    }
    Ok(resp)
}

fn read_line(s: &mut impl Read) -> Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        match s.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            _ => return Err("eof in chunked body".into()),
        }
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| "non-UTF-8 chunk line".into())
}

fn read_chunked(s: &mut impl Read) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line = read_line(s)?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {line:?}"))?;
        if size == 0 {
            while !read_line(s)?.is_empty() {}
            return Ok(body);
        }
        let mut chunk = vec![0u8; size];
        s.read_exact(&mut chunk).map_err(|e| e.to_string())?;
        body.extend_from_slice(&chunk);
        if !read_line(s)?.is_empty() {
            return Err("chunk not followed by CRLF".into());
        }
    }
}

/// Parse every response in a byte string (for pipelining and raw tests).
pub fn parse_all(bytes: &[u8], head_requests: &[bool]) -> Vec<Response> {
    let mut cursor = std::io::Cursor::new(bytes);
    let mut out = Vec::new();
    let mut i = 0;
    while (cursor.position() as usize) < bytes.len() {
        let head = head_requests.get(i).copied().unwrap_or(false);
        match read_response(&mut cursor, head) {
            Ok(r) => out.push(r),
            Err(_) => break,
        }
        i += 1;
    }
    out
}

/// The status code of the first response in raw bytes, if any.
pub fn first_status(bytes: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(bytes.get(..bytes.len().min(64))?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// How many responses (status lines) appear in raw bytes.
pub fn count_responses(bytes: &[u8]) -> usize {
    bytes.windows(9).filter(|w| *w == b"HTTP/1.1 ").count()
}

/// A program a test started beside wired (an application server, php-fpm,
/// a hostile upstream), in a process group of its own whose id is its PID;
/// the whole group is stopped, by that id, when the guard is dropped.
pub struct ChildGuard {
    name: String,
    child: Child,
    /// Every line it has written to stdout or stderr so far (echoed too,
    /// so a failing test shows them).
    output: Arc<Mutex<Vec<String>>>,
}

impl ChildGuard {
    /// Start `cmd` with stdin closed and its output collected. It is killed
    /// if the thread that started it ends first (`PR_SET_PDEATHSIG`), so a
    /// test binary that dies leaves no server behind.
    pub fn spawn(name: &str, mut cmd: Command) -> ChildGuard {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child =
            cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({e}); tests/install-deps.sh installs it"));
        let output = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>);
        for pipe in [stdout, stderr].into_iter().flatten() {
            let (output, name) = (Arc::clone(&output), name.to_string());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    eprintln!("{name}: {line}");
                    output.lock().unwrap().push(line);
                }
            });
        }
        ChildGuard { name: name.to_string(), child, output }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines it has written so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    /// Wait up to `within` for an output line that `find` picks something
    /// out of (a port, a "ready"); panic, with the output, if the program
    /// exits or the time runs out first.
    pub fn wait_for_line<T>(&mut self, within: Duration, find: impl Fn(&str) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = self.output.lock().unwrap().iter().find_map(|l| find(l)) {
                return found;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before it was ready: {:#?}", self.name, self.output());
            }
            assert!(start.elapsed() < within, "{} not ready after {within:?}: {:#?}", self.name, self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it is still running (a zombie is not).
    pub fn running(&self) -> bool {
        matches!(proc_state(self.pid()), Some(state) if state != 'Z')
    }

    /// SIGTERM to its group; up to 3 s for it to exit; then SIGKILL to
    /// whatever is left of the group (workers it forked), and reap it. The
    /// unreaped leader keeps the group id from being reused meanwhile.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        signal_group(self.pid(), "TERM");
        let start = Instant::now();
        while self.running() && start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group(self.pid(), "KILL");
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Send `sig` (a name: TERM, KILL) to the process group `pgid`.
fn signal_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill").args(["-s", sig, "--", &format!("-{pgid}")]).stderr(Stdio::null()).status();
}

/// The state letter of a process in `/proc/PID/stat` (`Z` for a zombie).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    stat.get(stat.rfind(')')? + 2..)?.chars().next()
}

/// Wait up to `within` until something accepts connections at `addr`.
pub fn wait_for_port(addr: SocketAddr, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Wait up to `within` until something accepts connections on the unix
/// socket at `path`.
pub fn wait_for_unix_socket(path: &Path, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A loopback port nothing listens on: bound, read, released. Only for a
/// peer that must be absent (a refused connection); servers the tests start
/// bind port 0 themselves and say which port they got.
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A client socket whose reads retry when interrupted. A blocking read with
/// a timeout fails with EINTR when the test process is stopped and continued
/// (signal(7)), which says nothing about the server.
pub struct Client(pub TcpStream);

impl Read for Client {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }
}

impl Write for Client {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl std::ops::Deref for Client {
    type Target = TcpStream;
    fn deref(&self) -> &TcpStream {
        &self.0
    }
}

/// A seeded xorshift64* generator: reproducible upload data, made on the fly.
pub struct Rng(pub u64);

impl Rng {
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let word = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}
