//! Running it for real: security headers, a JSON access log, dropping
//! root for another user, and systemd's socket activation and readiness
//! protocol (the variables set by the test, as systemd sets them).

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::*;

#[test]
fn security_headers_and_a_csp_on_every_response() {
    let site = Site::new("operate-security", &["www"]);
    site.write("www/index.html", "hi\n");
    site.config("[[server]]\nroot = \"@/www\"\n[[server.location]]\npath = \"/app/\"\nrespond = \"x\"\nadd_header = { \"X-Frame-Options\" = \"DENY\" }\n");
    let server = site.start(&["--security-headers", "--csp", "default-src 'self'"]);
    for path in ["/index.html", "/missing"] {
        let r = get(&server, "h", path);
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("strict-origin-when-cross-origin"));
        assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
        assert_eq!(r.header("content-security-policy"), Some("default-src 'self'"));
        // RFC 6797 §7.2: never over plain HTTP.
        assert_eq!(r.header("strict-transport-security"), None);
    }
    // A location's own choice is not contradicted by the preset.
    let app = get(&server, "h", "/app/");
    let frames: Vec<&str> = app
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-frame-options"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(frames, ["DENY"]);
}

#[test]
fn the_access_log_can_be_json() {
    if crate::h2_shim::h1_only(
        "its target holds a raw '\"', which the h2 client's URI type (the http crate's) refuses to send",
    ) {
        return;
    }
    let site = Site::new("operate-json-log", &["www"]);
    site.write("www/index.html", "hi\n");
    site.config("access_log = \"@/access.json\"\naccess_log_format = \"json\"\n[[server]]\nroot = \"@/www\"\n");
    let server = site.start(&[]);
    let mut s = server.connect();
    write!(s, "GET /index.html?q=\"x\" HTTP/1.1\r\nHost: h\r\nUser-Agent: tab\there é\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 200);
    let path = site.path("access.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let line = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(l) = text.lines().next() {
            break l.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no log line");
        std::thread::sleep(Duration::from_millis(50));
    };
    // A strict JSON parser reads it back (python3's json).
    let mut py = Command::new("python3");
    py.args(["-c", "import json,sys; d=json.loads(sys.argv[1]); print(d['method'], d['uri'], d['status'], d['bytes'], d['user_agent'], d['remote'], d['time'][:2], sep='|')", &line]);
    let out = run_bounded(&mut py, Duration::from_secs(10));
    assert!(out.status.success(), "not JSON: {line}: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "GET|/index.html?q=\"x\"|200|3|tab\there é|127.0.0.1|20");
}

#[test]
fn started_as_root_it_serves_as_another_user() {
    if !is_root() {
        panic!("this test checks the change from root: run make test as root (the suite's contract)");
    }
    let site = Site::new("operate-user", &["www"]);
    site.write("www/index.html", "hi\n");
    site.config("[[server]]\nroot = \"@/www\"\n");
    // The tree must be reachable by nobody (the temporary directory's parents are).
    let server = site.start(&["--user", "nobody", "--group", "nogroup"]);
    assert_eq!(get(&server, "h", "/index.html").status, 200);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let ids = |key: &str| {
        status.lines().find(|l| l.starts_with(key)).map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
    };
    assert_eq!(ids("Uid:").as_deref(), Some("65534"), "{status}");
    assert_eq!(ids("Gid:").as_deref(), Some("65534"), "{status}");
    let groups = status.lines().find_map(|l| l.strip_prefix("Groups:")).unwrap_or_default().trim().to_string();
    assert!(groups.is_empty() || groups == "65534", "supplementary groups kept: {groups:?}");
    // No user, or a user that does not exist: refused before serving.
    let (code, _, err) = check_start(&site, &["--user", "no-such-user-here"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no-such-user-here"), "{err}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// Start wired and wait for it to exit (it should refuse to start).
fn check_start(site: &Site, extra: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wired"));
    cmd.args(["--config", &site.path("wired.toml").display().to_string(), "--listen", "127.0.0.1:0"]).args(extra);
    let out = run_bounded(&mut cmd, Duration::from_secs(10));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn systemd_passes_the_socket_and_hears_ready_reloading_stopping() {
    let site = Site::new("operate-systemd", &["www"]);
    site.write("www/index.html", "activated\n");
    site.config("[[server]]\nroot = \"@/www\"\n");
    let notify_path = site.path("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = unused_port();
    // systemd-socket-activate binds the port, then starts wired with the
    // socket as descriptor 3 and LISTEN_FDS, LISTEN_PID set, as systemd does.
    let mut cmd = Command::new("systemd-socket-activate");
    // It passes only the variables named with -E.
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--fdname=http"])
        .arg(format!("--setenv=NOTIFY_SOCKET={}", notify_path.display()))
        .arg(env!("CARGO_BIN_EXE_wired"))
        .args(["--config", &site.path("wired.toml").display().to_string(), "--workers", "2"]);
    let mut activator = ChildGuard::spawn("systemd-socket-activate", cmd);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(wait_for_port(addr, Duration::from_secs(10)));
    // The first connection makes the activator start wired on the socket.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "activated\n"));
    let mut buf = [0u8; 256];
    let mut next = || {
        let n = notify.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(next(), "READY=1");
    // The activator exec()s wired: its PID is wired's.
    let pid = activator.pid();
    signal(pid, libc::SIGHUP);
    let reloading = next();
    assert!(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{reloading:?}");
    assert_eq!(next(), "READY=1");
    signal(pid, libc::SIGTERM);
    assert_eq!(next(), "STOPPING=1");
    activator.stop();
}

#[test]
fn compression_on_the_fly_by_accept_encoding() {
    let site = Site::new("operate-compress", &["www"]);
    let page = "<p>the quick brown fox jumps over the lazy dog</p>\n".repeat(400);
    site.write("www/page.html", &page).write("www/tiny.html", "<p>x</p>").write("www/logo.png", &page);
    site.config("[[server]]\nroot = \"@/www\"\n");
    let server = site.start(&["--compress"]);
    let fetch = |path: &str, extra: &str| {
        let mut s = server.connect();
        write!(s, "GET {path} HTTP/1.1\r\nHost: h\r\n{extra}Connection: close\r\n\r\n").unwrap();
        read_response(&mut s, false).unwrap()
    };
    for (accept, coding) in [("gzip", "gzip"), ("gzip, br", "br"), ("zstd, gzip;q=0.5", "zstd")] {
        // Twice: compressed the first time, served from the cache the second.
        for _ in 0..2 {
            let r = fetch("/page.html", &format!("Accept-Encoding: {accept}\r\n"));
            assert_eq!((r.status, r.header("content-encoding")), (200, Some(coding)), "{accept}");
            assert!(r.body.len() < page.len() / 10, "{coding}: {} bytes", r.body.len());
            assert_eq!(r.header("vary"), Some("Accept-Encoding"));
            assert!(r.header("etag").is_some_and(|e| e.starts_with("W/\"")), "a weak tag: {:?}", r.header("etag"));
            let back = match coding {
                "gzip" => {
                    let mut out = Vec::new();
                    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut out).unwrap();
                    out
                }
                "br" => {
                    let mut out = Vec::new();
                    brotli::BrotliDecompress(&mut &r.body[..], &mut out).unwrap();
                    out
                }
                _ => zstd::decode_all(&r.body[..]).unwrap(),
            };
            assert_eq!(back, page.as_bytes());
        }
    }
    // No Accept-Encoding, identity only, a range, a small file, an image: as they are.
    let plain = fetch("/page.html", "");
    assert_eq!((plain.header("content-encoding"), plain.body.len()), (None, page.len()));
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    assert_eq!(fetch("/page.html", "Accept-Encoding: identity\r\n").header("content-encoding"), None);
    let range = fetch("/page.html", "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n");
    assert_eq!((range.status, range.header("content-encoding"), range.body.len()), (206, None, 10));
    assert_eq!(fetch("/tiny.html", "Accept-Encoding: gzip\r\n").header("content-encoding"), None);
    assert_eq!(fetch("/logo.png", "Accept-Encoding: gzip\r\n").header("content-encoding"), None);
}

/// Decode a body in `coding` (gzip, br, zstd).
fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => {
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut out).unwrap();
        }
        "br" => brotli::BrotliDecompress(&mut &body[..], &mut out).unwrap(),
        _ => out = zstd::decode_all(body).unwrap(),
    }
    out
}

/// An upstream whose answer depends on the path: the page as HTML with a
/// strong tag and its own Vary, chunked or with a length, or the same bytes
/// as an image, already gzipped, or marked `no-transform`.
fn page_upstream(page: &'static str) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let head = read_head(&mut conn);
            let path = head.split(' ').nth(1).unwrap_or_default().to_string();
            let fields = match path.as_str() {
                "/png" => "Content-Type: image/png\r\n",
                "/coded" => "Content-Type: text/html\r\nContent-Encoding: gzip\r\n",
                "/no-transform" => "Content-Type: text/html\r\nCache-Control: public, no-transform\r\n",
                _ => "Content-Type: text/html\r\nETag: \"v1\"\r\nVary: Cookie\r\n",
            };
            let _ = if path == "/chunked" {
                let mut out =
                    format!("HTTP/1.1 200 OK\r\n{fields}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
                for piece in page.as_bytes().chunks(5000) {
                    out.push_str(&format!("{:x}\r\n{}\r\n", piece.len(), String::from_utf8_lossy(piece)));
                }
                out.push_str("0\r\n\r\n");
                conn.write_all(out.as_bytes())
            } else {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\n{fields}Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                )
            };
        }
    });
    addr
}

#[test]
fn compression_of_cgi_and_proxied_responses_as_they_stream() {
    const PAGE: &str = "<li>the quick brown fox jumps over the lazy dog</li>\n";
    let page: &'static str = PAGE.repeat(800).leak();
    let upstream = page_upstream(page);
    let site = Site::new("operate-compress-dynamic", &["www", "bin"]);
    // 800 lines in 8 writes, so the output comes in pieces.
    site.write(
        "bin/page.sh",
        &format!(
            "#!/bin/sh\nprintf 'Content-Type: text/html\\nETag: \"c1\"\\n\\n'\nfor i in 1 2 3 4 5 6 7 8; do\n  \
             j=0; while [ $j -lt 100 ]; do echo '{}'; j=$((j+1)); done\ndone\n",
            PAGE.trim_end()
        ),
    );
    std::fs::set_permissions(site.path("bin/page.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    site.config(&format!(
        "[[server]]\nroot = \"@/www\"\n[[server.location]]\npath = \"/cgi-bin/\"\ncgi = \"@/bin\"\n\
         [[server.location]]\npath = \"/app/\"\nproxy = \"http://{upstream}/\"\n"
    ));
    let server = site.start(&["--compress"]);
    let fetch = |request: &str| {
        let mut s = server.connect();
        write!(s, "{request}").unwrap();
        read_response(&mut s, request.starts_with("HEAD")).unwrap()
    };
    for (path, vary) in [
        ("/cgi-bin/page.sh", "Accept-Encoding"),
        ("/app/", "Cookie, Accept-Encoding"),
        ("/app/chunked", "Cookie, Accept-Encoding"),
    ] {
        for (accept, coding) in [("gzip", "gzip"), ("br, gzip", "br"), ("zstd", "zstd")] {
            let r = fetch(&format!(
                "GET {path} HTTP/1.1\r\nHost: h\r\nAccept-Encoding: {accept}\r\nConnection: close\r\n\r\n"
            ));
            assert_eq!((r.status, r.header("content-encoding")), (200, Some(coding)), "{path} {accept}");
            // RFC 9112 §6.1: a length known only at the end goes chunked.
            assert_eq!((r.header("transfer-encoding"), r.header("content-length")), (Some("chunked"), None), "{path}");
            assert_eq!(r.header("vary"), Some(vary), "{path}");
            assert!(r.header("etag").is_some_and(|e| e.starts_with("W/\"")), "{path}: {:?}", r.header("etag"));
            assert!(r.body.len() < page.len() / 5, "{path} {coding}: {} bytes", r.body.len());
            assert_eq!(decode(coding, &r.body), page.as_bytes(), "{path} {coding}");
        }
        // Without Accept-Encoding, and from an HTTP/1.0 client (which cannot
        // take chunked framing): as they come.
        let plain = fetch(&format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
        assert_eq!((plain.header("content-encoding"), plain.body.len()), (None, page.len()), "{path}");
        // (Over HTTP/2, the shim's run, there is no HTTP/1.0 client: DATA
        // frames carry a stream of unknown length to anyone.)
        if !crate::h2_shim::h2_mode() {
            let old = fetch(&format!("GET {path} HTTP/1.0\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n"));
            assert_eq!((old.header("content-encoding"), old.body.len()), (None, page.len()), "{path}");
        }
    }
    // HEAD: the fields a GET would get, and no body.
    let head = fetch("HEAD /app/ HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    assert_eq!((head.status, head.header("content-encoding"), head.body.len()), (200, Some("gzip"), 0));
    // Not compressible, already coded, or forbidden: untouched.
    for path in ["/app/png", "/app/coded", "/app/no-transform"] {
        let r = fetch(&format!("GET {path} HTTP/1.1\r\nHost: h\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n"));
        assert_eq!(r.body.len(), page.len(), "{path}");
        assert_ne!(r.header("content-encoding"), Some("br"), "{path}");
    }
}

/// A process the test did not start itself (the new wired of an upgrade,
/// a child of the old one): stopped by its pid when the test ends.
struct Adopted(u32);

impl Adopted {
    /// Whether it still runs (a zombie waiting for its reaper does not).
    fn running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.0))
            .is_ok_and(|s| s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z"))
    }
}

impl Drop for Adopted {
    fn drop(&mut self) {
        if self.running() {
            signal(self.0, libc::SIGKILL);
        }
    }
}

#[test]
fn sigusr2_hands_the_sockets_to_a_new_binary_without_refusing_a_connection() {
    let site = Site::new("operate-upgrade", &["www", "bin"]);
    site.write("www/index.html", "hello\n");
    site.write("bin/slow.sh", "#!/bin/sh\nsleep 1\nprintf 'Content-Type: text/plain\\n\\nslow and done\\n'\n");
    std::fs::set_permissions(site.path("bin/slow.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    site.config("[[server]]\nroot = \"@/www\"\n[[server.location]]\npath = \"/cgi-bin/\"\ncgi = \"@/bin\"\n");
    let config = site.path("wired.toml").display().to_string();
    let args = ["--config", &config, "--listen", "127.0.0.1:0", "--workers", "2"].map(String::from);
    let mut server = Server::start_args(&site.path(""), &args, None);
    let old = server.pid();
    let addr = server.addr;

    // Clients that open a new connection for every request, all along.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let outcome = TcpStream::connect(addr).map_err(|e| e.to_string()).and_then(|mut s| {
                        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                            .map_err(|e| e.to_string())?;
                        read_response(&mut s, false)
                    });
                    match outcome {
                        Ok(r) if r.status == 200 && r.body == b"hello\n" => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => failed.lock().unwrap().push(format!("status {}", r.status)),
                        Err(e) => failed.lock().unwrap().push(e),
                    }
                }
            })
        })
        .collect();
    // A response in flight across the upgrade: it finishes on the old process.
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /cgi-bin/slow.sh HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        read_response(&mut s, false)
    });
    std::thread::sleep(Duration::from_millis(300));
    let before = ok.load(Ordering::Relaxed);
    signal(old, libc::SIGUSR2);

    // The old process names its successor, then drains and exits 0.
    let started = Instant::now();
    let new = loop {
        let said = server.stderr.lock().unwrap().clone();
        if let Some(pid) = said
            .iter()
            .find_map(|l| l.split("SIGUSR2: process ").nth(1)?.split_whitespace().next()?.parse::<u32>().ok())
        {
            break Adopted(pid);
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no upgrade: {said:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_ne!(new.0, old);
    let status = server.wait_exit(Duration::from_secs(20)).expect("the old process exits once drained");
    assert!(status.success(), "{status:?}");
    let slow = slow.join().unwrap().expect("the in-flight response");
    assert_eq!((slow.status, slow.text().as_str()), (200, "slow and done\n"));
    let at_exit = ok.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    clients.into_iter().for_each(|c| c.join().unwrap());

    let failed = failed.lock().unwrap();
    let total = ok.load(Ordering::Relaxed);
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        total + failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(before > 0 && at_exit > before && total > at_exit, "served throughout: {before}, {at_exit}, {total}");
    // The new process serves alone now, and stops as any wired does.
    assert!(new.running());
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 200);
    signal(new.0, libc::SIGTERM);
    let started = Instant::now();
    while new.running() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!new.running(), "the new process stops on SIGTERM");
}

#[test]
fn a_new_binary_that_cannot_start_leaves_the_old_one_serving() {
    let site = Site::new("operate-upgrade-fails", &["www"]);
    site.write("www/index.html", "hello\n");
    site.config("[[server]]\nroot = \"@/www\"\n");
    let server = site.start(&[]);
    // The new process reads the same file, now broken.
    site.config("[[server]]\nroot = \"@/www\"\nno_such_key = 1\n");
    signal(server.pid(), libc::SIGUSR2);
    let started = Instant::now();
    loop {
        let said = server.stderr.lock().unwrap().clone();
        if let Some(line) = said.iter().find(|l| l.contains("SIGUSR2: upgrade failed")) {
            assert!(line.contains("exited before it was ready"), "{line}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no word of the upgrade: {said:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..3 {
        assert_eq!(get(&server, "h", "/index.html").text(), "hello\n");
    }
}

/// A large page is compressed on the compression thread, not in the
/// worker: the first answers are the file as it is (the worker never waits
/// for the encoder), and once the thread is done the coded form is served.
#[test]
fn a_large_page_is_compressed_on_the_side_and_served_coded_once_ready() {
    let site = Site::new("operate-compress-large", &["www"]);
    let mut rng = Rng(0x51de);
    let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"];
    let mut page = String::new();
    while page.len() < 600 * 1024 {
        let mut pick = [0u8; 4];
        rng.fill(&mut pick);
        page.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>\n", words[pick[0] as usize % 10], pick[1]));
    }
    site.write("www/big.html", &page);
    site.config("[[server]]\nroot = \"@/www\"\n");
    let server = site.start(&["--compress"]);
    let fetch = || {
        let mut s = server.connect();
        write!(s, "GET /big.html HTTP/1.1\r\nHost: h\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n").unwrap();
        read_response(&mut s, false).unwrap()
    };
    let first = fetch();
    assert_eq!((first.status, first.header("content-encoding"), first.body.len()), (200, None, page.len()));
    assert_eq!(first.header("vary"), Some("Accept-Encoding"));
    let started = Instant::now();
    let coded = loop {
        let r = fetch();
        if r.header("content-encoding") == Some("br") {
            break r;
        }
        assert_eq!(r.body.len(), page.len(), "until then, the file as it is");
        assert!(started.elapsed() < Duration::from_secs(10), "never compressed");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(coded.body.len() < page.len() / 3, "{} bytes", coded.body.len());
    assert_eq!(decode("br", &coded.body), page.as_bytes());
    assert!(coded.header("etag").is_some_and(|e| e.starts_with("W/\"")));
}
