//! Bodies in and out: exact CONTENT_LENGTH for both framings, 100 Continue,
//! 100 MB each way with the server's memory bounded, and the framing of the
//! output for keep-alive and HTTP/1.0 clients.

use super::*;

#[test]
fn a_post_with_content_length_reaches_stdin() {
    let site = site("post-length");
    let server = start(&site, &[]);
    let r = exchange(
        &server,
        b"POST /cgi-bin/post.sh HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 13\r\nConnection: close\r\n\r\nname=value&x=",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "CONTENT_LENGTH=13\nCONTENT_TYPE=application/x-www-form-urlencoded\nname=value&x=");
}

#[test]
fn a_chunked_post_gets_its_exact_content_length() {
    let site = site("post-chunked");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(
        b"POST /cgi-bin/post.sh HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    // The body arrives in pieces, across several reads.
    for piece in [&b"5\r\nhello\r\n"[..], b"7;ext=1\r\n, world\r\n", b"1\r\n\n\r\n", b"0\r\n\r\n"] {
        std::thread::sleep(Duration::from_millis(30));
        s.write_all(piece).unwrap();
    }
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "CONTENT_LENGTH=13\nCONTENT_TYPE=unset\nhello, world\n");
}

#[test]
fn expect_100_continue_gets_100_then_the_program_s_answer() {
    if crate::h2_shim::h1_only(
        "100 Continue between the client and wired is HTTP/1.1's handshake; the shim's HTTP/2 client sends its body at once",
    ) {
        return;
    }
    let site = site("expect");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"POST /cgi-bin/post.sh HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let interim = read_response(&mut s, false).unwrap();
    assert_eq!(interim.status, 100, "the client waits for 100 Continue before sending");
    s.write_all(b"hello").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "CONTENT_LENGTH=5\nCONTENT_TYPE=unset\nhello");
    // The connection is still in step.
    s.write_all(b"GET /some/file.txt HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "a static file\n");
}

#[test]
fn a_100_mb_upload_streams_through_a_hashing_script_in_bounded_memory() {
    const LEN: usize = 100_000_000;
    let site = site("upload");
    let server = start(&site, &["--max-body-bytes", "200000000"]);
    let mut s = connect(&server);
    s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "POST /cgi-bin/sha256.sh HTTP/1.1\r\nHost: t\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut hasher = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut to_hasher = hasher.stdin.take().unwrap();
    let mut rng = Rng(0x5eed_cafe_f00d);
    let mut block = vec![0u8; 64 * 1024];
    let mut sent = 0;
    while sent < LEN {
        let n = block.len().min(LEN - sent);
        rng.fill(&mut block[..n]);
        s.write_all(&block[..n]).unwrap_or_else(|e| panic!("upload stopped after {sent} bytes: {e}"));
        to_hasher.write_all(&block[..n]).unwrap();
        sent += n;
    }
    drop(to_hasher);
    let hashed = hasher.wait_with_output().unwrap();
    let expected = String::from_utf8(hashed.stdout).unwrap();
    let expected = expected.split_whitespace().next().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), format!("{LEN} {expected}\n"), "the program saw other bytes than were sent");
    let peak = peak_rss_kib(server.pid());
    eprintln!("server peak RSS while streaming 100 MB in: {peak} KiB");
    assert!(peak < RSS_BOUND_KIB, "server peak RSS {peak} KiB while streaming 100 MB in");
}

/// A reader that returns at most `small` bytes a read, after a pause, for
/// its first `slow_reads` reads: a client that is slow to start.
struct SlowStart<R> {
    inner: R,
    slow_reads: usize,
    small: usize,
    pause: Duration,
}

impl<R: Read> Read for SlowStart<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.slow_reads == 0 {
            return self.inner.read(buf);
        }
        self.slow_reads -= 1;
        std::thread::sleep(self.pause);
        let n = buf.len().min(self.small);
        self.inner.read(&mut buf[..n])
    }
}

/// Read a chunked body without keeping it; its length. Each data byte is
/// handed to `check`.
fn read_chunked_streaming(r: &mut impl BufRead, mut check: impl FnMut(&[u8])) -> Result<u64, String> {
    let mut total = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).map_err(|e| format!("after {total} bytes: {e}"))?;
        let size = line.strip_suffix("\r\n").ok_or_else(|| format!("after {total} bytes: chunk line {line:?}"))?;
        let size = u64::from_str_radix(size.split(';').next().unwrap_or_default(), 16)
            .map_err(|_| format!("after {total} bytes: chunk size {size:?}"))?;
        if size == 0 {
            let mut trailer = String::new();
            r.read_line(&mut trailer).map_err(|e| e.to_string())?;
            return if trailer == "\r\n" { Ok(total) } else { Err(format!("trailer {trailer:?}")) };
        }
        let mut left = size;
        while left > 0 {
            let buf = r.fill_buf().map_err(|e| format!("after {total} bytes: {e}"))?;
            if buf.is_empty() {
                return Err(format!("closed inside a chunk after {total} bytes"));
            }
            let n = buf.len().min(left as usize);
            check(&buf[..n]);
            r.consume(n);
            left -= n as u64;
            total += n as u64;
        }
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).map_err(|e| e.to_string())?;
        if &crlf != b"\r\n" {
            return Err(format!("chunk not followed by CRLF after {total} bytes"));
        }
    }
}

#[test]
fn a_100_mb_output_reaches_a_slow_reader_chunked_in_bounded_memory() {
    let site = site("download");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"GET /cgi-bin/zeros.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    // Two seconds of 1 KiB sips, then reads as fast as the client can.
    let slow = SlowStart { inner: s, slow_reads: 20, small: 1024, pause: Duration::from_millis(100) };
    let mut r = BufReader::with_capacity(256 * 1024, slow);
    let head = read_response(&mut r, true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"), "length unknown: chunked");
    assert_eq!(head.header("content-type"), Some("application/octet-stream"));
    let mut all_zero = true;
    let total = read_chunked_streaming(&mut r, |bytes| all_zero &= bytes.iter().all(|&b| b == 0)).unwrap();
    assert_eq!(total, 100_000_000);
    assert!(all_zero, "the output was changed on the way");
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{} bytes after the last chunk", rest.len());
    let peak = peak_rss_kib(server.pid());
    eprintln!("server peak RSS while streaming 100 MB out: {peak} KiB");
    assert!(peak < RSS_BOUND_KIB, "server peak RSS {peak} KiB while streaming 100 MB out");
    assert_no_zombies(&server);
}

#[test]
fn keep_alive_carries_on_after_cgi_responses() {
    let site = site("keepalive");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    let requests: [&[u8]; 5] = [
        b"GET /cgi-bin/env.sh HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /cgi-bin/env.sh?second HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /cgi-bin/length.sh HTTP/1.1\r\nHost: t\r\n\r\n",
        b"POST /cgi-bin/post.sh HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
        b"GET /some/file.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    ];
    for (i, request) in requests.iter().enumerate() {
        s.write_all(request).unwrap();
        let r = read_response(&mut s, false).unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(r.status, 200, "request {i}");
        assert!(r.header("connection").is_none(), "request {i}: the connection stays open");
        match i {
            0 | 1 => assert_eq!(r.header("transfer-encoding"), Some("chunked")),
            2 => assert_eq!((r.header("content-length"), r.text().as_str()), (Some("6"), "sized\n")),
            3 => assert!(r.text().ends_with("\nhi"), "{}", r.text()),
            _ => assert_eq!(r.text(), "a static file\n"),
        }
        if i == 1 {
            assert!(r.text().contains("QUERY_STRING=second\n"), "the second answer is the second program's");
        }
    }
    // A body and the next request in one write: the body ends where it says.
    s.write_all(b"POST /cgi-bin/post.sh HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nokGET /some/file.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut s, false).unwrap().text().ends_with("\nok"));
    assert_eq!(read_response(&mut s, false).unwrap().text(), "a static file\n");
    // Two requests in one write: each program's output is framed apart.
    s.write_all(b"GET /cgi-bin/length.sh HTTP/1.1\r\nHost: t\r\n\r\nGET /cgi-bin/env.sh?x HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "sized\n");
    assert!(read_response(&mut s, false).unwrap().text().contains("QUERY_STRING=x\n"));
}

#[test]
fn http_1_0_gets_close_delimited_or_sized_output_never_chunked() {
    if crate::h2_shim::h1_only(
        "HTTP/1.0 framing (the close, never chunked) has no HTTP/2 counterpart: DATA frames carry any body",
    ) {
        return;
    }
    let site = site("http10");
    let server = start(&site, &[]);
    // Length unknown: the body ends when the connection does.
    let bytes = raw(&server, b"GET /cgi-bin/env.sh HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let all = parse_all(&bytes, &[]);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, 200);
    assert!(all[0].header("transfer-encoding").is_none(), "never chunked to HTTP/1.0");
    assert!(all[0].header("content-length").is_none());
    assert!(all[0].text().contains("SERVER_PROTOCOL=HTTP/1.0\n"));
    // Length given by the program: a keep-alive HTTP/1.0 client keeps its connection.
    let mut s = connect(&server);
    for _ in 0..2 {
        s.write_all(b"GET /cgi-bin/length.sh HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        let r = read_response(&mut s, false).unwrap();
        assert_eq!(r.status, 200);
        assert!(r.header("transfer-encoding").is_none(), "never chunked to HTTP/1.0");
        assert_eq!((r.header("content-length"), r.text().as_str()), (Some("6"), "sized\n"));
    }
}

#[test]
fn expect_100_continue_with_a_chunked_body() {
    if crate::h2_shim::h1_only(
        "100 Continue between the client and wired is HTTP/1.1's handshake; the shim's HTTP/2 client sends its body at once",
    ) {
        return;
    }
    let site = site("expect-chunked");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(
        b"POST /cgi-bin/post.sh HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let interim = read_response(&mut s, false).expect("100 Continue before the chunked body is sent");
    assert_eq!(interim.status, 100);
    s.write_all(b"3\r\nabc\r\n0\r\n\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.text(), "CONTENT_LENGTH=3\nCONTENT_TYPE=unset\nabc");
}

#[test]
fn head_gets_the_program_s_head_and_no_body() {
    let site = site("head");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"HEAD /cgi-bin/env.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let r = read_response(&mut s, true).unwrap();
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/plain")));
    s.write_all(b"HEAD /cgi-bin/length.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let r = read_response(&mut s, true).unwrap();
    assert_eq!((r.status, r.header("content-length")), (200, Some("6")));
    // A body after either head would be misread here as a status line.
    s.write_all(b"GET /some/file.txt HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "a static file\n");
}

#[test]
fn a_body_the_program_never_reads_keeps_the_connection_in_step() {
    let site = site("unread-body");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    let body = vec![b'x'; 2_000_000];
    write!(s, "POST /cgi-bin/length.sh HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    s.write_all(&body).unwrap();
    s.write_all(b"GET /cgi-bin/env.sh?after HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "sized\n");
    assert!(read_response(&mut s, false).unwrap().text().contains("QUERY_STRING=after\n"));
}

#[test]
fn a_204_from_a_program_carries_no_body() {
    let site = site("no-content");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/nocontent.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!((r.status, r.header("x-done")), (204, Some("yes")));
    assert!(r.header("transfer-encoding").is_none() && r.header("content-length").is_none());
    s.write_all(b"GET /some/file.txt HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "a static file\n", "the 204's body leaked");
}

#[test]
fn a_program_s_content_length_is_held_to() {
    if crate::h2_shim::h1_only(
        "a program's short body can only end an HTTP/1.1 response by the close; over HTTP/2 its stream is reset instead",
    ) {
        return;
    }
    let site = site("program-length");
    let server = start(&site, &[]);
    // More than promised: cut at the promise, the connection goes on.
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/long.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "hel");
    s.write_all(b"GET /some/file.txt HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "a static file\n");
    // Less than promised: the only honest end is closing, at once.
    let started = Instant::now();
    let bytes = raw(&server, b"GET /cgi-bin/short.sh HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(started.elapsed() < Duration::from_secs(3), "a short body left the client waiting");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("Content-Length: 100\r\n") && text.ends_with("\r\n\r\nshort\n"), "{text}");
}

#[test]
fn a_flood_on_stderr_does_not_stall_the_answer() {
    let site = site("stderr");
    let server = start(&site, &[]);
    let r = get(&server, "/cgi-bin/noisy.sh");
    assert_eq!((r.status, r.text().as_str()), (200, "quiet now\n"));
}
