//! Slow peers: slowloris, slow bodies, slow readers, and the worker's
//! latency for everyone else meanwhile; peers that half-close.

use super::*;

#[test]
fn slowloris_is_cut_off_at_the_head_timeout() {
    let root = site("slowloris");
    let server = Server::start(&root, &["--head-timeout", "1s"]);
    let mut s = server.connect();
    let start = Instant::now();
    let head = [&b"GET /index.html HTTP/1.1\r\nHost: t\r\nX-Slow: "[..], &[b'a'; 100]].concat();
    let mut cut = None;
    for b in head {
        if s.write_all(&[b]).is_err() {
            cut = Some(start.elapsed());
            break;
        }
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(_) => {
                cut = Some(start.elapsed());
                assert_eq!(first_status(&buf), Some(408), "{:?}", lossy(&buf));
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                cut = Some(start.elapsed());
                break;
            }
        }
    }
    let cut = cut.expect("never cut off");
    assert!(cut >= Duration::from_millis(900) && cut < Duration::from_millis(1800), "cut after {cut:?}");
}

#[test]
fn a_slow_body_lives_while_it_moves_and_dies_at_the_body_timeout() {
    let root = site("slowbody");
    let server = Server::start(&root, &["--body-timeout", "500ms"]);
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n").unwrap();
    // The answer does not wait for a body nobody wants.
    assert_eq!(read_response(&mut s, false).unwrap().status, 405);
    // One byte every 100 ms for 1.5 s: three body timeouts long, never a 500 ms pause.
    for _ in 0..15 {
        s.write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    let still_open = matches!(s.read(&mut buf), Err(e) if e.kind() == ErrorKind::WouldBlock);
    s.set_nonblocking(false).unwrap();
    assert!(still_open, "cut off while the body was still moving");
    // Then a pause: closed at the body timeout.
    let start = Instant::now();
    let (_, end) = read_until_closed(&mut s, Duration::from_secs(3));
    let took = start.elapsed();
    assert_ne!(end, End::Open, "never closed");
    assert!(took < Duration::from_millis(1200), "closed after {took:?}");
}

#[test]
fn a_reader_that_keeps_the_window_moving_is_not_cut_one_that_takes_a_byte_a_second_is() {
    // wired's send timeout, like nginx's, bounds the time between two
    // successive writes, not the whole response. A client that reads at a
    // steady pace lets the kernel take more bytes before the timeout, however
    // long the download; a client that takes one byte a second never frees
    // enough window for the kernel to wake the writer (receive-side silly
    // window avoidance), so to the server it is a stalled client.
    let root = site("slowreader");
    big_file(&root, "big", 10);
    let server = Server::start(&root, &["--send-timeout", "1s"]);
    let size = 10 * 1024 * 1024;

    let mut steady = server.connect();
    set_rcvbuf(&steady, 256 * 1024);
    steady.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let start = Instant::now();
    let mut got = 0usize;
    let mut buf = vec![0u8; 128 * 1024];
    let mut head_left = true;
    while got < size {
        let n = match steady.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut body = n;
        if head_left {
            let end = buf[..n].windows(4).position(|w| w == b"\r\n\r\n").expect("head in the first read") + 4;
            body -= end;
            head_left = false;
        }
        got += body;
        std::thread::sleep(Duration::from_millis(25));
    }
    let took = start.elapsed();
    eprintln!("steady reader: {got} bytes in {took:?}");
    assert_eq!(got, size, "the steady reader was cut off after {took:?}");
    assert!(took > Duration::from_millis(1500), "the download should outlast the send timeout ({took:?})");

    std::thread::sleep(Duration::from_millis(200));
    let baseline = server.open_fds();
    let mut trickle = server.connect();
    trickle.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let with_trickle = server.open_fds();
    let start = Instant::now();
    let mut one = [0u8; 1];
    let mut freed = None;
    while start.elapsed() < Duration::from_secs(4) {
        let _ = trickle.read(&mut one);
        if server.open_fds() < with_trickle {
            freed = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let freed = freed.expect("a one-byte-a-second reader held its connection past the send timeout");
    eprintln!("trickle reader: fds {baseline} -> {with_trickle}, freed after {freed:?}");
    assert!(freed < Duration::from_secs(3), "{freed:?}");
}

#[test]
fn the_worker_serves_others_at_full_speed_while_slow_peers_hang_on() {
    let root = site("slowpeers");
    big_file(&root, "big", 10);
    let server = Arc::new(Server::start(&root, &[]));
    let stop = Arc::new(AtomicBool::new(false));
    let mut peers = Vec::new();
    // Slowloris heads, a byte every 100 ms.
    for _ in 0..4 {
        let (server, stop) = (server.clone(), stop.clone());
        peers.push(std::thread::spawn(move || {
            let mut s = server.connect();
            let head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ";
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let b = head.get(i).copied().unwrap_or(b'a');
                if s.write_all(&[b]).is_err() {
                    break;
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    // Slow bodies.
    for _ in 0..2 {
        let (server, stop) = (server.clone(), stop.clone());
        peers.push(std::thread::spawn(move || {
            let mut s = server.connect();
            s.write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n").unwrap();
            while !stop.load(Ordering::Relaxed) && s.write_all(b"x").is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    // Downloads that are never read, and one read a byte at a time.
    let mut stalled: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut s = server.connect();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut latencies = Vec::with_capacity(200);
    for i in 0..200 {
        let start = Instant::now();
        write!(s, "GET /n/{} HTTP/1.1\r\nHost: t\r\n\r\n", i % 100).unwrap();
        let r = read_response(&mut reader, false).unwrap();
        latencies.push(start.elapsed());
        assert_eq!(r.text(), format!("file number {}\n", i % 100));
        if i % 20 == 0 {
            let _ = stalled[0].read(&mut [0u8; 1]);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for p in peers {
        p.join().unwrap();
    }
    stalled.clear();
    latencies.sort();
    let p50 = latencies[100];
    let p99 = latencies[197];
    eprintln!("200 requests beside 9 slow peers: p50 {p50:?}, p99 {p99:?}, max {:?}", latencies[199]);
    assert!(p99 < Duration::from_millis(50), "p99 {p99:?}");
}

/// Regression: bytes and the FIN behind them often arrive in one edge-
/// triggered event; a short read was taken to mean "drained", so the end of
/// stream was never read and the connection sat until the head or keep-alive
/// timeout (10 s, 75 s) instead of closing at once.
#[test]
fn a_half_close_arriving_with_the_request_is_seen_at_once() {
    let root = site("halfclose");
    let server = Server::start(&root, &[]);
    for i in 0..20 {
        // A whole request then FIN: answered, then closed (not kept alive).
        let mut s = server.connect();
        s.write_all(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let start = Instant::now();
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(3));
        assert_eq!(first_status(&bytes), Some(200), "round {i}");
        assert_eq!(end, End::Closed, "round {i}: still open after {:?}", start.elapsed());
        // Part of a head then FIN: closed without an answer.
        let mut s = server.connect();
        s.write_all(b"GET /n/1 HTTP/1.1\r\nHo").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(3));
        assert_eq!((bytes.len(), end), (0, End::Closed), "round {i}: a partial head then FIN");
    }
}

/// Regression (found by the connection fuzzer): a client that pipelines
/// requests and half-closes in the middle of a body got no answers at all:
/// the responses queued before the body were dropped with the connection.
#[test]
fn answers_queued_before_a_cut_off_body_are_sent_when_the_client_half_closes() {
    let root = site("halfclosebody");
    let server = Server::start(&root, &[]);
    for i in 0..10 {
        let mut s = server.connect();
        s.write_all(
            b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /n/2 HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc",
        )
        .unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(3));
        assert_eq!(end, End::Closed, "round {i}");
        let all = parse_all(&bytes, &[]);
        let statuses: Vec<u16> = all.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 405], "round {i}: {:?}", lossy(&bytes));
        assert_eq!(all[0].text(), "file number 1\n");
    }
}

/// Regression (found by the connection fuzzer): the answers to requests
/// pipelined ahead of a slow body waited for the whole body, and were lost
/// with the connection if the body timed out.
#[test]
fn answers_before_a_slow_body_are_not_held_back_by_it() {
    let root = site("slowbodyorder");
    let server = Server::start(&root, &["--body-timeout", "2s"]);
    let mut s = server.connect();
    s.write_all(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /n/2 HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let first = read_response(&mut reader, false).expect("the GET is answered while the POST body is incomplete");
    assert_eq!(first.text(), "file number 1\n");
    assert_eq!(read_response(&mut reader, false).unwrap().status, 405);
    // The rest of the body, then another request: the framing held.
    s.write_all(b"defghijGET /n/3 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut reader, false).unwrap().text(), "file number 3\n");
}

/// Regression (found by the connection fuzzer): after the answer to a request
/// that closes the connection was sent, the server waited for the rest of
/// the request's body (up to the body timeout) before closing.
#[test]
fn a_close_answer_ends_the_connection_without_waiting_for_the_body() {
    let root = site("closebeforebody");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    s.write_all(b"POST /n/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 1000\r\n\r\nabc").unwrap();
    let start = Instant::now();
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(3));
    assert_eq!(first_status(&bytes), Some(405));
    assert_eq!(end, End::Closed, "the connection stayed open after `Connection: close`");
    assert!(start.elapsed() < Duration::from_secs(1), "closed after {:?}", start.elapsed());
    // The rest of the body is still drained, so it causes no reset.
    assert!(s.write_all(&[b'x'; 997]).is_ok());
}
