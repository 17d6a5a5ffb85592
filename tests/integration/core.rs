//! The server core: keep-alive, pipelining, dribbled heads, HEAD, HTTP/1.0,
//! timeouts, connection limits, graceful shutdown, descriptor hygiene.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A root with an index, 100 numbered files, and a large file.
fn site(name: &str) -> std::path::PathBuf {
    let root = temp_dir(name);
    std::fs::write(root.join("index.html"), b"<h1>hello</h1>\n").unwrap();
    std::fs::create_dir(root.join("n")).unwrap();
    for i in 0..100 {
        std::fs::write(root.join("n").join(i.to_string()), format!("file number {i}\n")).unwrap();
    }
    root
}

#[test]
fn keep_alive_over_1000_requests_on_one_connection() {
    let root = site("keepalive");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    for i in 0..1000 {
        write!(s, "GET /n/{} HTTP/1.1\r\nHost: t\r\n\r\n", i % 100).unwrap();
        let r = read_response(&mut s, false).unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(r.status, 200, "request {i}");
        assert_eq!(r.text(), format!("file number {}\n", i % 100));
        assert!(r.header("connection").is_none(), "HTTP/1.1 keep-alive needs no Connection field");
        assert!(r.header("date").is_some());
    }
}

#[test]
fn hundred_pipelined_requests_in_one_write_are_answered_in_order() {
    let root = site("pipeline");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend_from_slice(format!("GET /n/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    s.write_all(&batch).unwrap();
    for i in 0..100 {
        let r = read_response(&mut s, false).unwrap_or_else(|e| panic!("response {i}: {e}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("file number {i}\n"), "responses out of order at {i}");
    }
    // The connection is still good afterwards.
    s.write_all(b"GET /n/7 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "file number 7\n");
}

#[test]
fn pipelined_requests_with_bodies_keep_their_boundaries() {
    let root = site("pipebody");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    // A POST with a body the static handler does not want, then a GET: the
    // body must be skipped exactly, or the GET would be misread.
    s.write_all(b"POST /n/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 27\r\n\r\nGET /n/666 HTTP/1.1\r\nX: y\r\n").unwrap();
    s.write_all(b"GET /n/2 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    s.write_all(b"POST /n/1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").unwrap();
    s.write_all(b"GET /n/3 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(read_response(&mut s, false).unwrap().text(), "file number 2\n");
    assert_eq!(read_response(&mut s, false).unwrap().status, 405);
    assert_eq!(read_response(&mut s, false).unwrap().text(), "file number 3\n");
}

#[test]
fn a_request_dribbled_one_byte_at_a_time() {
    let root = site("dribble");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    for b in b"GET /n/42 HTTP/1.1\r\nHost: t\r\nUser-Agent: slow\r\n\r\n" {
        s.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "file number 42\n");
}

#[test]
fn head_sends_the_get_headers_and_no_body() {
    let root = site("head");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    s.write_all(b"HEAD /index.html HTTP/1.1\r\nHost: t\r\n\r\nGET /n/5 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let head = read_response(&mut s, true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("15"), "HEAD advertises the GET length");
    assert!(head.body.is_empty());
    // If a body had been sent after the HEAD response, this would read it as a status line.
    let next = read_response(&mut s, false).unwrap();
    assert_eq!(next.text(), "file number 5\n");
}

#[test]
fn http_1_0_without_keep_alive_closes() {
    let root = site("http10");
    let server = Server::start(&root, &[]);
    let bytes = server.raw(b"GET /n/1 HTTP/1.0\r\n\r\n");
    let all = parse_all(&bytes, &[]);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, 200);
    assert_eq!(all[0].text(), "file number 1\n");
    assert!(all[0].header("transfer-encoding").is_none(), "never chunked to HTTP/1.0");
}

#[test]
fn http_1_0_with_keep_alive_stays_open() {
    let root = site("http10ka");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    for i in 0..3 {
        write!(s, "GET /n/{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        let r = read_response(&mut s, false).unwrap();
        assert_eq!(r.text(), format!("file number {i}\n"));
        assert_eq!(r.header("connection").map(str::to_ascii_lowercase).as_deref(), Some("keep-alive"));
    }
}

#[test]
fn connection_close_is_honoured() {
    let root = site("close");
    let server = Server::start(&root, &[]);
    // A second request after Connection: close must not be answered.
    let bytes =
        server.raw(b"GET /n/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /n/2 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(count_responses(&bytes), 1);
    let r = &parse_all(&bytes, &[])[0];
    assert_eq!(r.header("connection"), Some("close"));
}

/// Watched with tcpdump, a small last response and the server's FIN travel
/// in one packet: no FIN-only segment follows the data. (A response larger
/// than the client's window goes out as the window opens, and its FIN may
/// then travel alone.)
#[test]
fn a_small_last_response_and_the_fin_share_a_packet() {
    if crate::tls_shim::plain_only("counts TCP packets with tcpdump") {
        return;
    }
    let root = site("close-fin");
    let server = Server::start(&root, &[]);
    let port = server.addr.port();
    // `timeout` stops tcpdump even if this test dies first; `Capture`
    // stops it as soon as the test is done.
    let mut dump = Capture(
        Command::new("timeout")
            .args(["30", "tcpdump", "-i", "lo", "-n", "-l", &format!("tcp and src port {port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tcpdump (tests/install-deps.sh installs it)"),
    );
    // tcpdump says "listening on lo" once it captures.
    let mut err = BufReader::new(dump.0.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening on") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "tcpdump ended before capturing");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let out = BufReader::new(dump.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });

    let requests: [(&[u8], u16, &str); 3] = [
        (b"GET /n/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 200, "file number 1\n"),
        (b"GET /n/2 HTTP/1.0\r\n\r\n", 200, "file number 2\n"),
        (b"GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 404, ""),
    ];
    for (request, status, body) in requests {
        let r = &parse_all(&server.raw(request), &[false])[0];
        assert_eq!(r.status, status);
        if status == 200 {
            assert_eq!(r.text(), body);
        }
    }

    // Every FIN seen, each on a segment that carries data.
    let mut fins = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while fins.len() < requests.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let l = rx.recv_timeout(left).unwrap_or_else(|_| panic!("tcpdump saw {} FINs: {fins:?}", fins.len()));
        if l.contains("Flags [F") {
            fins.push(l);
        }
    }
    drop(dump);
    for fin in &fins {
        let length: usize = fin.rsplit("length ").next().and_then(|n| n.trim().parse().ok()).unwrap_or(0);
        assert!(length > 0, "a FIN on its own, after the data: {fin}");
    }
}

/// A packet capture under `timeout`, stopped when dropped: SIGTERM to
/// `timeout`, which passes it on to tcpdump and exits when tcpdump has.
struct Capture(std::process::Child);

impl Drop for Capture {
    fn drop(&mut self) {
        signal(self.0.id(), libc::SIGTERM);
        let _ = self.0.wait();
    }
}

/// Wait until the server closes `s`, failing after `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    s.set_read_timeout(Some(limit + Duration::from_secs(2))).unwrap();
    let start = Instant::now();
    let data = read_to_close(s);
    (start.elapsed(), data)
}

#[test]
fn head_timeout_cuts_off_a_slow_head_with_408() {
    let root = site("headtimeout");
    let server = Server::start(&root, &["--head-timeout", "500ms"]);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
    let (took, data) = closed_within(&mut s, Duration::from_secs(2));
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    assert_eq!(first_status(&data), Some(408));
}

#[test]
fn keepalive_timeout_closes_an_idle_connection() {
    let root = site("katimeout");
    let server = Server::start(&root, &["--keepalive-timeout", "500ms"]);
    let mut s = server.connect();
    s.write_all(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    read_response(&mut s, false).unwrap();
    let (took, data) = closed_within(&mut s, Duration::from_secs(2));
    assert!(data.is_empty(), "nothing more is sent on an idle close");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "closed after {took:?}");
}

#[test]
fn body_timeout_closes_a_stalled_body() {
    let root = site("bodytimeout");
    let server = Server::start(&root, &["--body-timeout", "500ms"]);
    let mut s = server.connect();
    s.write_all(b"POST /n/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly some").unwrap();
    let (took, _) = closed_within(&mut s, Duration::from_secs(2));
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
}

#[test]
fn send_timeout_frees_a_client_that_never_reads() {
    let root = site("sendtimeout");
    std::fs::write(root.join("big"), vec![b'x'; 64 * 1024 * 1024]).unwrap();
    let server = Server::start(&root, &["--send-timeout", "500ms"]);
    let mut s = server.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    // Do not read: the socket buffers fill, the server stalls, then gives up.
    std::thread::sleep(Duration::from_millis(1500));
    let deadline = Instant::now() + Duration::from_secs(5);
    let fds_closed = loop {
        // The server's socket for us is gone once fd count falls back.
        let mut probe = server.connect();
        probe.write_all(b"GET /n/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        assert_eq!(first_status(&read_to_close(&mut probe)), Some(200), "the worker still serves others");
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut eof = false;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                eof = true;
                break;
            }
            total += n;
        }
        if eof || Instant::now() > deadline {
            break eof && total < 64 * 1024 * 1024;
        }
    };
    assert!(fds_closed, "the stalled download was cut off");
}

#[test]
fn max_connections_refuses_beyond_the_limit_and_recovers() {
    let root = site("maxconn");
    let server = Server::start(&root, &["--max-connections", "4"]);
    let mut held: Vec<TcpStream> = (0..4).map(|_| server.connect()).collect();
    for s in held.iter_mut() {
        s.write_all(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        assert_eq!(read_response(s, false).unwrap().status, 200);
    }
    // A fifth connection waits in the backlog, unanswered.
    let mut extra = server.connect();
    extra.write_all(b"GET /n/2 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    extra.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = [0u8; 64];
    assert!(extra.read(&mut buf).is_err(), "served beyond --max-connections");
    // Free a slot: the waiting connection is then served.
    drop(held.pop());
    extra.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = read_response(&mut extra, false).unwrap();
    assert_eq!(r.text(), "file number 2\n");
}

#[test]
fn graceful_shutdown_lets_a_large_download_finish() {
    let root = site("shutdown");
    let size = 32 * 1024 * 1024;
    std::fs::write(root.join("big"), vec![b'y'; size]).unwrap();
    let mut server = Server::start(&root, &["--drain-timeout", "20s"]);
    let mut s = server.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    // Read the head and a little, then ask the server to stop.
    let mut first = vec![0u8; 4096];
    let n = s.read(&mut first).unwrap();
    assert!(n > 0);
    signal(server.pid(), libc::SIGTERM);
    // A new connection is refused once the listener is closed.
    std::thread::sleep(Duration::from_millis(300));
    // (Over TLS, `addr` is the test's shim: ask wired's own TLS port.)
    let listener = server.tls_addr.unwrap_or(server.addr);
    assert!(TcpStream::connect(listener).is_err(), "still accepting after SIGTERM");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    let mut all = first[..n].to_vec();
    all.extend_from_slice(&rest);
    let r = read_response(&mut std::io::Cursor::new(all), false).unwrap();
    assert_eq!(r.body.len(), size, "the download completed");
    let status = server.terminate(Duration::from_secs(10)).expect("exited");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn a_download_unfinished_at_the_drain_deadline_is_cut_and_the_trace_says_why() {
    let root = site("drain-cut");
    let size = 32 * 1024 * 1024;
    std::fs::write(root.join("big"), vec![b'y'; size]).unwrap();
    let trace = root.join("trace.txt");
    let trace_arg = format!("--trace={}", trace.display());
    let mut server = Server::start(&root, &["--drain-timeout", "500ms", &trace_arg]);
    let mut s = server.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut first = vec![0u8; 4096];
    let n = s.read(&mut first).unwrap();
    assert!(n > 0);
    // Stop reading; ask the server to stop; it waits 500 ms, then cuts.
    let asked = Instant::now();
    signal(server.pid(), libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(5)).expect("exited after the drain timeout");
    let took = asked.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(took >= Duration::from_millis(400), "exited after {took:?}, before the drain timeout");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(n + rest.len() < size, "the download was cut short");
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(
        text.contains("closed after 1 request: drain timeout: the server stopped before this response was finished"),
        "no trace line for the cut: {}",
        &text[text.len().saturating_sub(600)..]
    );
}

#[test]
fn ten_thousand_hit_and_run_clients_leave_no_descriptor_behind() {
    let root = site("fds");
    let server = Server::start(&root, &[]);
    // Warm up: the open-file cache holds a descriptor per hot file.
    for i in 0..100 {
        assert_eq!(server.get(&format!("/n/{i}")).status, 200);
    }
    let before = server.open_fds();
    // Over TLS each client is also a handshake through the shim: fewer.
    let clients = if crate::tls_shim::tls_mode() { 1_000 } else { 10_000 };
    for i in 0..clients {
        let mut s = server.connect();
        let _ = s.write_all(format!("GET /n/{} HTTP/1.1\r\nHost: t\r\n\r\n", i % 100).as_bytes());
        drop(s);
    }
    // Every connection is closed by the client; the server must notice all of them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = server.open_fds();
    while after > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = server.open_fds();
    }
    assert!(after <= before, "descriptors leaked: {before} before, {after} after");
    assert_eq!(server.get("/n/1").status, 200, "still serving");
}

#[test]
fn expect_100_continue_for_an_unwanted_body_gets_the_final_status() {
    let root = site("expect");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    s.write_all(b"POST /n/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 405, "no 100 Continue for a body nobody wants");
    assert_eq!(r.header("connection"), Some("close"));
}

#[test]
fn every_response_has_date_and_content_length() {
    let root = site("framing");
    let server = Server::start(&root, &[]);
    for path in ["/n/1", "/missing", "/n"] {
        let r = server.get(path);
        assert!(r.header("date").is_some(), "{path}: Date");
        assert!(r.header("content-length").is_some(), "{path}: Content-Length");
        assert_eq!(r.header("content-length").unwrap().parse::<usize>().unwrap(), r.body.len());
    }
}

#[test]
fn command_line_mistakes_exit_2_with_usage() {
    let bin = env!("CARGO_BIN_EXE_wired");
    for args in [&["--workers", "zero"][..], &["--bogus"], &["--listen", "nowhere"], &["--head-timeout", "soon"]] {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Usage: wired"), "{args:?}: {err}");
        assert_eq!(err.lines().next().map(|l| l.starts_with("wired: ")), Some(true), "{args:?}: one-line error first");
    }
    let out = std::process::Command::new(bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("wired "));
}

#[test]
fn a_port_in_use_is_reported_plainly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wired"))
        .args(["--listen", &addr, "--root", "www"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already in use"), "{err}");
}

#[test]
fn access_log_writes_combined_log_format_lines() {
    let root = site("accesslog");
    let log = root.join("access.log");
    let mut server = Server::start(&root, &["--access-log", log.to_str().unwrap()]);
    let mut s = server.connect();
    s.write_all(b"GET /n/3?x=1 HTTP/1.1\r\nHost: t\r\nReferer: http://r/\r\nUser-Agent: test \"agent\"\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 200);
    s.write_all(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 404);
    drop(s);
    // The log is buffered per worker and flushed at exit.
    assert!(server.terminate(Duration::from_secs(10)).expect("exited").success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // host ident user [date] "request" status bytes "referer" "user-agent"
    assert!(lines[0].starts_with("127.0.0.1 - - ["), "{}", lines[0]);
    assert!(
        lines[0].contains("+0000] \"GET /n/3?x=1 HTTP/1.1\" 200 14 \"http://r/\" \"test \\\"agent\\\"\""),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("\"GET /missing HTTP/1.1\" 404 "), "{}", lines[1]);
    assert!(lines[1].ends_with("\"-\" \"-\""), "{}", lines[1]);
}

/// A target refused after the head parsed (a path that climbs out, an
/// escape that cannot be in a path) is explained in the trace with its rule,
/// like a refused head.
#[test]
fn the_trace_names_the_rule_a_refused_path_breaks() {
    let root = site("trace-path");
    let trace = root.join("trace.txt");
    let trace_arg = format!("--trace={}", trace.display());
    let server = Server::start(&root, &[&trace_arg]);
    for (target, why) in [
        ("/%2e%2e/etc/passwd", "refused target: path climbs above the root (RFC 3986 §5.2.4) -> 400 Bad Request"),
        ("/a%00b", "refused target: forbidden percent-escape in path (RFC 3986 §2.1) -> 400 Bad Request"),
    ] {
        let r = server.get(target);
        assert_eq!(r.status, 400, "{target}");
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let text = std::fs::read_to_string(&trace).unwrap_or_default();
            if text.contains(why) {
                break;
            }
            assert!(Instant::now() < deadline, "{target}: no line {why:?} in:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Regression: the signal thread printed with `eprintln!`, which panics when
/// stderr is a closed pipe (the program that started wired has gone); the
/// thread died, SIGINT and SIGTERM stayed blocked everywhere, and nothing
/// but SIGKILL could stop the server.
#[test]
fn a_server_whose_stderr_is_gone_still_stops_on_sigterm() {
    let root = site("stderr-gone");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wired"))
        .args(["--listen", "127.0.0.1:0", "--root", &root.display().to_string(), "--workers", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert!(line.contains("listening on"), "{line:?}");
    drop(child.stderr.take());
    signal(child.id(), libc::SIGTERM);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running 5 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}
