//! Hostile TLS clients, written here with rustls so that each byte is under
//! the test's control: a ClientHello dribbled a byte at a time, handshakes
//! that stall, garbage where a ClientHello belongs, plain HTTP on the TLS
//! port, a reset in the middle of a record, and a churn of handshakes most
//! of which are reset part-way. After each, a clean request must be served,
//! and after the churn the server's descriptors and memory must be back.

use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::thread;
use std::time::Instant;

use super::*;

/// The request the hostile clients send once their handshake is done.
const GET_HELLO: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// The ClientHello a fresh session would send first.
fn client_hello(conn: &mut ClientConnection) -> Vec<u8> {
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    assert_eq!(hello.first(), Some(&0x16), "a handshake record");
    hello
}

/// Read until the server closes; how long that took. Fails after `limit`.
fn time_to_close(sock: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    sock.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return start.elapsed(),
            Err(e) => panic!("the server kept the connection open for {:?} ({e})", start.elapsed()),
        }
    }
}

/// Wait (up to 5 s) for the server's descriptors to come back to `baseline`.
fn fds_return_to(server: &Server, baseline: usize) {
    let start = Instant::now();
    while server.open_fds() > baseline && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(50));
    }
    // At most: a connection counted in the baseline may since have ended
    // its lingering close.
    let now = server.open_fds();
    assert!(now <= baseline, "descriptors leaked: {now} open, {baseline} before");
}

#[test]
fn a_client_hello_dribbled_a_byte_at_a_time_completes() {
    let site = Site::new("dribble");
    let server = site.start(&[]);
    let (mut conn, mut sock) = tls_session(&site, &server);
    let hello = client_hello(&mut conn);
    for byte in &hello {
        sock.write_all(std::slice::from_ref(byte)).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(GET_HELLO).expect("the handshake after a dribbled ClientHello");
    let response = read_response(&mut tls, false).expect("an answer after a dribbled hello");
    assert_eq!((response.status, response.text().as_str()), (200, HELLO));
}

#[test]
fn a_stalled_handshake_is_cut_at_the_handshake_timeout() {
    let site = Site::new("stall");
    let server = site.start(&["--handshake-timeout", "1s"]);
    // Half a ClientHello, then silence; then a whole one and silence where
    // the client's Finished should come.
    for whole in [false, true] {
        let (mut conn, mut sock) = tls_session(&site, &server);
        let hello = client_hello(&mut conn);
        let sent = if whole { &hello[..] } else { &hello[..hello.len() / 2] };
        sock.write_all(sent).unwrap();
        let took = time_to_close(&mut sock, Duration::from_secs(5));
        assert!(
            (Duration::from_millis(800)..Duration::from_millis(2500)).contains(&took),
            "whole hello {whole}: closed after {took:?}, not at the 1 s handshake timeout"
        );
    }
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200);
}

#[test]
fn garbage_instead_of_a_client_hello_is_closed() {
    let site = Site::new("garbage");
    let server = site.start(&[]);
    let mut handshake_of_noise = b"\x16\x03\x01\x00\x20".to_vec();
    handshake_of_noise.extend([0xff; 32]);
    let mut early_data = b"\x17\x03\x03\x00\x20".to_vec();
    early_data.extend([0x41; 32]);
    let oversized = b"\x16\x03\x01\xff\xff\x01\x00\xff\xfb".to_vec();
    for garbage in [b"\x00\xff\x13\x37 not TLS at all \x01\x02\x03".to_vec(), handshake_of_noise, early_data, oversized]
    {
        let mut sock = TcpStream::connect(server.tls_addr.unwrap()).unwrap();
        sock.write_all(&garbage).unwrap();
        // The default handshake timeout is 10 s: closing sooner is the server's decision.
        let took = time_to_close(&mut sock, Duration::from_secs(5));
        assert!(took < Duration::from_secs(3), "{garbage:?}: closed after {took:?}");
    }
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200, "still serving");
}

#[test]
fn plain_http_to_the_tls_port_gets_a_plain_400() {
    let site = Site::new("plain-to-tls");
    let server = site.start(&[]);
    let mut sock = TcpStream::connect(server.tls_addr.unwrap()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sock.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let bytes = read_to_close(&mut sock);
    assert!(bytes.starts_with(b"HTTP/1.1 400 "), "{:?}", String::from_utf8_lossy(&bytes));
    let responses = parse_all(&bytes, &[]);
    assert_eq!(responses.len(), 1, "one response, then close: {:?}", String::from_utf8_lossy(&bytes));
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200, "still serving");
}

#[test]
fn a_reset_in_the_middle_of_a_record_leaves_the_server_fine() {
    let site = Site::new("reset-mid-record");
    let server = site.start(&[]);
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200);
    let baseline = server.open_fds();
    let (mut conn, mut sock) = tls_session(&site, &server);
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).expect("handshake");
    }
    conn.writer().write_all(GET_HELLO).unwrap();
    let mut record = Vec::new();
    conn.write_tls(&mut record).unwrap();
    assert_eq!(record.first(), Some(&0x17), "an application data record");
    sock.write_all(&record[..record.len() / 2]).unwrap();
    thread::sleep(Duration::from_millis(100));
    reset(sock);
    fds_return_to(&server, baseline);
    assert_eq!(tls_get(&site, &server, "/hello.txt").text(), HELLO, "still serving");
}

/// How far one churning client goes before it resets: nowhere, part of
/// its ClientHello, part of the server's first flight, the whole
/// handshake, half a request record; one in ten finishes a request.
fn churn_client(config: &Arc<ClientConfig>, addr: SocketAddr, roll: u64) -> Option<bool> {
    let mut conn = ClientConnection::new(Arc::clone(config), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let hello = client_hello(&mut conn);
    let at = (roll / 10) as usize;
    let sent = match roll % 10 {
        0 => Ok(()),
        1..=3 => sock.write_all(&hello[..1 + at % (hello.len() - 1)]),
        4 | 5 => sock.write_all(&hello).and_then(|()| sock.read(&mut vec![0; 1 + at % 2000]).map(drop)),
        stage => {
            sock.write_all(&hello).unwrap();
            while conn.is_handshaking() {
                conn.complete_io(&mut sock).expect("handshake");
            }
            if stage == 9 {
                let mut tls = StreamOwned::new(conn, sock);
                tls.write_all(GET_HELLO).unwrap();
                let response = read_response(&mut tls, false);
                return Some(response.is_ok_and(|r| r.status == 200 && r.text() == HELLO));
            }
            if stage == 8 {
                conn.writer().write_all(GET_HELLO).unwrap();
                let mut record = Vec::new();
                conn.write_tls(&mut record).unwrap();
                sock.write_all(&record[..1 + at % (record.len() - 1)]).unwrap();
            }
            Ok(())
        }
    };
    // The server may have closed first (a partial record it judged bad).
    drop(sent);
    reset(sock);
    None
}

#[test]
fn a_churn_of_reset_handshakes_leaks_nothing() {
    // `WIRED_TLS_CHURN=20000 cargo test --test integration churn` for more.
    let total: u64 = std::env::var("WIRED_TLS_CHURN").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let site = Site::new("churn");
    let server = site.start(&[]);
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200);
    let (fds, rss) = (server.open_fds(), server.rss_kib());
    let config = site.client_config();
    let addr = server.tls_addr.unwrap();
    let start = Instant::now();
    let threads = 4;
    let finished: Vec<bool> = (0..threads)
        .map(|t| {
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let mut x = 0x2545_F491_4F6C_DD1D_u64 ^ (t + 1);
                (0..total / threads)
                    .filter_map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        churn_client(&config, addr, x)
                    })
                    .collect::<Vec<bool>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|h| h.join().expect("a churn thread"))
        .collect();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(60), "{total} handshakes took {took:?}");
    let answered = finished.iter().filter(|ok| **ok).count();
    assert!(finished.len() as u64 > total / 20, "only {} clients finished a request", finished.len());
    assert_eq!(answered, finished.len(), "requests that finished their handshake were all answered");
    fds_return_to(&server, fds);
    let grown = server.rss_kib().saturating_sub(rss);
    assert!(grown < 32 * 1024, "RSS grew by {grown} KiB over {total} handshakes");
    assert_eq!(tls_get(&site, &server, "/hello.txt").text(), HELLO, "a clean request after the churn");
}
