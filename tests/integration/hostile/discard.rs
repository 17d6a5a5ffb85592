//! Bodies wired answers without reading (RFC 9112 §9.3): a chunked one is
//! bounded like a Content-Length one. Regression for round 1, finding 1: a
//! 405 to a chunked body whose first chunk announced 2^64-1 bytes kept the
//! connection open until the body timeout, waiting to drop 18 exabytes.
//!
//! Every path that answers before the body (405, 404, 403, a 400 for the
//! path, a 501 for the method, a CGI script that does not exist) meets four
//! bodies: a chunk size over the limit in the first packet, a chunk size
//! over the limit after the answer went out, small chunks whose total passes
//! the limit, and a trickle of small chunks that never ends.

use super::*;

/// The server's discard limit here: `--max-body-bytes`, below the 1 MiB default.
const LIMIT: usize = 1000;

/// Requests that wired answers without wanting their body, each with the
/// status it gets. The body follows the head.
const PATHS: &[(&str, &str, u16)] = &[
    ("405 (POST to a file)", "POST /index.html HTTP/1.1", 405),
    ("404 (GET of a missing file)", "GET /missing HTTP/1.1", 404),
    ("403 (GET of a folder without an index)", "GET /empty/ HTTP/1.1", 403),
    ("400 (a path that climbs out)", "GET /%2e%2e/etc/passwd HTTP/1.1", 400),
    ("501 (an unknown method)", "BREW /index.html HTTP/1.1", 501),
    ("404 from the CGI directory (no such program)", "POST /cgi-bin/nothing.sh HTTP/1.1", 404),
];

fn start(name: &str) -> Server {
    let root = site(name);
    std::fs::create_dir(root.join("empty")).unwrap();
    let cgi = root.join("cgi");
    std::fs::create_dir(&cgi).unwrap();
    let cgi_arg = format!("/cgi-bin={}", cgi.display());
    Server::start(&root, &["--max-body-bytes", &LIMIT.to_string(), "--body-timeout", "1s", "--cgi", &cgi_arg])
}

fn head(line: &str) -> Vec<u8> {
    format!("{line}\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes()
}

/// The answer is the expected one, the only one, and the server closed.
fn check_closed(what: &str, got: &[u8], end: End, status: u16) {
    assert_eq!(first_status(got), Some(status), "{what}: {:?}", lossy(got));
    assert_eq!(count_responses(got), 1, "{what}: one answer, nothing smuggled: {:?}", lossy(got));
    assert!(!contains(got, SMUGGLED_MARK), "{what}: a smuggled request was answered");
    assert_eq!(end, End::Closed, "{what}: closed by the server");
}

#[test]
fn a_chunk_size_over_the_limit_in_the_first_packet_gets_connection_close_at_once() {
    let server = start("discard-first");
    for &(what, line, status) in PATHS {
        let mut s = server.connect();
        let mut bytes = head(line);
        bytes.extend_from_slice(b"FFFFFFFFFFFFFFFF\r\n");
        bytes.extend_from_slice(&[b'x'; 100]);
        let _ = s.write_all(&bytes);
        let start = Instant::now();
        let (got, end) = read_until_closed(&mut s, Duration::from_secs(5));
        check_closed(what, &got, end, status);
        let parsed = parse_all(&got, &[false]);
        let connection = parsed.first().and_then(|r| r.header("connection")).unwrap_or_default().to_string();
        assert_eq!(connection, "close", "{what}: the answer says it closes");
        assert!(start.elapsed() < Duration::from_millis(800), "{what}: took {:?}, not cut at once", start.elapsed());
    }
    assert_eq!(server.get("/n/1").text(), "file number 1\n");
}

#[test]
fn a_chunk_size_over_the_limit_after_the_answer_closes_at_once() {
    let server = start("discard-later");
    for &(what, line, status) in PATHS {
        let mut s = server.connect();
        s.write_all(&head(line)).unwrap();
        // The answer goes out before any of the body is here.
        let r = read_response(&mut s, false).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r.status, status, "{what}");
        let start = Instant::now();
        let _ = s.write_all(format!("{:x}\r\n", LIMIT + 1).as_bytes());
        let (got, end) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(got.is_empty(), "{what}: nothing more was owed: {:?}", lossy(&got));
        assert_eq!(end, End::Closed, "{what}");
        assert!(start.elapsed() < Duration::from_millis(800), "{what}: took {:?}", start.elapsed());
    }
    assert_eq!(server.get("/n/2").text(), "file number 2\n");
}

#[test]
fn small_chunks_whose_total_passes_the_limit_close_after_the_answer() {
    let server = start("discard-total");
    for &(what, line, status) in PATHS {
        let mut s = server.connect();
        let mut bytes = head(line);
        // 100 bytes a chunk, 11 of them: each under the limit, the total over.
        for _ in 0..=LIMIT / 100 {
            bytes.extend_from_slice(b"64\r\n");
            bytes.extend_from_slice(&[b'c'; 100]);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        bytes.extend_from_slice(SMUGGLED.as_bytes());
        let _ = s.write_all(&bytes);
        let (got, end) = read_until_closed(&mut s, Duration::from_secs(5));
        check_closed(what, &got, end, status);
    }
    // Under the limit, the body is dropped and the connection kept: the
    // request after it is answered.
    let mut s = server.connect();
    let mut bytes = head("POST /index.html HTTP/1.1");
    bytes.extend_from_slice(b"64\r\n");
    bytes.extend_from_slice(&[b'c'; 100]);
    bytes.extend_from_slice(b"\r\n0\r\n\r\nGET /n/4 HTTP/1.1\r\nHost: t\r\n\r\n");
    s.write_all(&bytes).unwrap();
    let mut reader = BufReader::new(&s);
    assert_eq!(read_response(&mut reader, false).unwrap().status, 405);
    assert_eq!(read_response(&mut reader, false).unwrap().text(), "file number 4\n");
}

#[test]
fn a_trickle_of_chunks_that_never_ends_is_cut_at_the_body_timeout() {
    let server = Arc::new(start("discard-trickle"));
    let threads: Vec<_> = PATHS
        .iter()
        .map(|&(what, line, status)| {
            let server = server.clone();
            std::thread::spawn(move || {
                let mut s = server.connect();
                s.write_all(&head(line)).unwrap();
                let r = read_response(&mut s, false).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(r.status, status, "{what}");
                // A one-byte chunk every 100 ms: never a pause as long as the
                // body timeout (1 s), never near the size limit.
                let start = Instant::now();
                let cut = loop {
                    if s.write_all(b"1\r\nx\r\n").is_err() {
                        break start.elapsed();
                    }
                    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
                    match s.read(&mut [0u8; 64]) {
                        Ok(0) => break start.elapsed(),
                        Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                            break start.elapsed();
                        }
                        Ok(n) => panic!("{what}: {n} unexpected bytes"),
                        Err(_) => {}
                    }
                    assert!(start.elapsed() < Duration::from_secs(4), "{what}: still open after 4 s of trickle");
                };
                assert!(cut >= Duration::from_millis(900), "{what}: cut after {cut:?}, before the body timeout");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(server.get("/n/5").text(), "file number 5\n");
}
