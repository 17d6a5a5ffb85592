//! What surrounds the TLS listener: `--redirect-https` on the plain one,
//! `--access-log-tls` (the TLS version and SNI name on each line), and
//! `--trace` showing the handshake and the decrypted exchange.

use std::net::TcpStream;
use std::process::Command;
use std::time::Instant;

use super::*;

/// Send `request` on `s`; the 308's Location with the TLS port (whatever
/// it is) replaced by `PORT`.
fn redirect(s: &mut TcpStream, request: &str, head: bool) -> String {
    s.write_all(request.as_bytes()).unwrap();
    let r = read_response(s, head).unwrap();
    assert_eq!(r.status, 308, "{request:?}: {r:?}");
    let location = r.header("location").expect("a Location").to_string();
    let (start, rest) = location.split_at(location.find("localhost:").expect("the host asked for") + 10);
    let path = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    format!("{start}PORT{path}")
}

#[test]
fn redirect_https_answers_308_and_keeps_the_connection() {
    let site = Site::new("redirect");
    let server = site.start(&["--redirect-https"]);
    let host = format!("Host: localhost:{}\r\n", server.addr.port());
    let mut s = server.connect();
    let want = "https://localhost:PORT/a/b?c=1";
    assert_eq!(redirect(&mut s, &format!("GET /a/b?c=1 HTTP/1.1\r\n{host}\r\n"), false), want);
    assert_eq!(redirect(&mut s, &format!("HEAD /a/b?c=1 HTTP/1.1\r\n{host}\r\n"), true), want);
    let post =
        format!("POST /form HTTP/1.1\r\n{host}Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello there");
    assert_eq!(redirect(&mut s, &post, false), "https://localhost:PORT/form");
    // The body was read past: the next request on the connection is answered as one.
    let last = format!("GET /next HTTP/1.1\r\n{host}Connection: close\r\n\r\n");
    assert_eq!(redirect(&mut s, &last, false), "https://localhost:PORT/next");
    assert!(read_to_close(&mut s).is_empty(), "nothing after the last response");
    // The TLS listener itself serves, not redirects.
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200);
}

#[test]
fn redirect_https_names_the_tls_port_it_listens_on() {
    let site = Site::new("redirect");
    let server = site.start(&["--redirect-https"]);
    let (plain, tls) = (server.addr.port(), tls_port(&server));
    let mut s = server.connect();
    let host = format!("Host: localhost:{plain}\r\n");

    write!(s, "GET /a/b?c=1 HTTP/1.1\r\n{host}\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 308, "{r:?}");
    assert_eq!(r.header("location"), Some(format!("https://localhost:{tls}/a/b?c=1").as_str()));

    write!(s, "HEAD /a/b?c=1 HTTP/1.1\r\n{host}\r\n").unwrap();
    let r = read_response(&mut s, true).unwrap();
    assert_eq!(r.status, 308, "{r:?}");
    assert_eq!(r.header("location"), Some(format!("https://localhost:{tls}/a/b?c=1").as_str()));

    write!(s, "POST /form HTTP/1.1\r\n{host}Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello there")
        .unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 308, "{r:?}");
    assert_eq!(r.header("location"), Some(format!("https://localhost:{tls}/form").as_str()));

    // The body was read past: the next request on the connection is answered as one.
    write!(s, "GET /next HTTP/1.1\r\n{host}Connection: close\r\n\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.header("location"), Some(format!("https://localhost:{tls}/next").as_str()), "{r:?}");
    assert!(read_to_close(&mut s).is_empty(), "nothing after the last response");

    // A user's check: curl follows the redirect to the page over TLS.
    let mut curl = Command::new("curl");
    curl.args(["-sS", "-L", "--cacert", &path(&site.ca)])
        .arg("--resolve")
        .arg(format!("localhost:{tls}:127.0.0.1"))
        .arg(format!("http://localhost:{plain}/hello.txt"));
    let out = run_bounded(&mut curl, Duration::from_secs(10));
    assert_eq!(String::from_utf8_lossy(&out.stdout), HELLO, "{}", String::from_utf8_lossy(&out.stderr));
    // The TLS listener itself serves, not redirects.
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200);
}

#[test]
fn access_log_tls_appends_the_version_and_the_name() {
    let site = Site::new("access-log");
    let log = site.tree.join("access.log");
    let mut server = site.start(&["--access-log", &path(&log), "--access-log-tls"]);
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200);
    assert_eq!(server.get("/hello.txt").status, 200);
    assert!(server.terminate(Duration::from_secs(10)).is_some_and(|s| s.success()), "a clean exit flushes the log");
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("\"GET /hello.txt HTTP/1.1\" 200 13"), "{text}");
    assert!(lines[0].ends_with(" \"TLSv1.3\" \"localhost\""), "the TLS request: {text}");
    assert!(lines[1].ends_with(" \"-\" \"-\""), "the plain request: {text}");
}

#[test]
fn trace_shows_the_handshake_and_the_decrypted_exchange() {
    let site = Site::new("trace");
    let trace = site.tree.join("trace.txt");
    let server = site.start(&[&format!("--trace={}", trace.display())]);
    assert_eq!(tls_get(&site, &server, "/hello.txt").text(), HELLO);
    let start = Instant::now();
    let read = || fs::read_to_string(&trace).unwrap_or_default();
    while !read().contains("closed") && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = read();
    for expected in [
        "TLS handshake done: TLSv1.3 with TLS13_",
        "ClientHello: SNI localhost (RFC 6066 §3), ALPN offered http/1.1 (RFC 7301 §3.1)",
        "ALPN chosen: http/1.1",
        "<- recvfrom() + decrypt: 63 bytes of plaintext",
        "GET /hello.txt HTTP/1.1",
        "encrypt+sendto()",
    ] {
        assert!(text.contains(expected), "{expected:?} not in the trace:\n{text}");
    }
    assert!(!text.contains("sendfile("), "TLS cannot use sendfile:\n{text}");
}
