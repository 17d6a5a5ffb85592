//! What a client can make the server hold: streams at once (§5.1.2),
//! answers it does not read (SETTINGS and PING floods, §10.5), idle
//! streams it names without opening, and the end of the stream ids
//! (§5.1.1).

use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

use super::wire::*;
use crate::common::Server;

fn server(name: &str) -> (crate::common::TempTree, Server) {
    let (root, _) = super::site(name);
    let server = super::start(&root, &[]);
    (root, server)
}

#[test]
fn the_101st_concurrent_stream_is_refused_and_the_others_go_on() {
    let (_root, server) = server("h2c-concurrency");
    // Window 0: every response waits, so every stream stays open.
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 0)]);
    let mut burst = Vec::new();
    for i in 0..101 {
        let b = c.get("/big.bin");
        burst.extend(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, &b));
    }
    c.send(&burst);
    c.stream_error(201, &[REFUSED_STREAM, PROTOCOL_ERROR], "§5.1.2 the 101st stream");
    // A stream that ends makes room for another.
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.request(203, "/index.html", true);
    assert_eq!(c.status(203, "§5.1.2 a stream after one closed"), 200);
    c.send_frame(WINDOW_UPDATE, 0, 199, &10u32.to_be_bytes());
    assert_eq!(c.data_within(199, Duration::from_millis(300)), [10], "§5.1.2 the held streams still work");
}

/// Write `unit` again and again without reading, until the server stops
/// taking it; then read every answer. The server stops reading while its
/// own answers wait (`src/conn/http2/mod.rs::HIGH_WATER`), so what it accepts
/// is bounded by the sockets' buffers, and its memory does not grow.
fn flood(server: &Server, unit: &[u8], answer: u8, case: &str) {
    let mut c = H2::open(server);
    c.settings_ack(&format!("{case}: setup"));
    let before = server.rss_kib();
    let limit = 64 << 20;
    let batch: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * 4096).collect();
    c.s.set_write_timeout(Some(Duration::from_millis(1500))).unwrap();
    let mut written = 0;
    let mut at = 0;
    while written < limit {
        match c.s.write(&batch[at..]) {
            Ok(n) => {
                written += n;
                at = (at + n) % batch.len();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("{case}: write: {e}"),
        }
    }
    assert!(written < limit / 2, "{case}: the server took {written} bytes without their answers being read");
    std::thread::sleep(Duration::from_millis(200));
    let grown = server.rss_kib().saturating_sub(before);
    assert!(grown < 8 * 1024, "{case}: the server grew by {grown} KiB");
    // Finish the frame a write cut, then read every answer.
    let whole = written.div_ceil(unit.len());
    let rest = whole * unit.len() - written;
    let mut reader = c.s.try_clone().unwrap();
    let finisher = std::thread::spawn(move || {
        reader.set_write_timeout(None).unwrap();
        let tail: Vec<u8> = unit_tail(rest, &batch, at);
        reader.write_all(&tail).unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut answers = 0;
    while answers < whole {
        match c.next(deadline.saturating_duration_since(Instant::now())) {
            Event::Frame(f) if f.kind == answer && f.flags & ACK != 0 => answers += 1,
            Event::Frame(f) => assert_ne!(f.kind, GOAWAY, "{case}: GOAWAY after {answers} answers"),
            other => panic!("{case}: {other:?} after {answers} of {whole} answers"),
        }
    }
    finisher.join().unwrap();
    c.alive(&format!("{case}: every one answered once, and the connection goes on"));
}

/// The `n` bytes of `batch` from `at`: the end of a frame a write cut.
fn unit_tail(n: usize, batch: &[u8], at: usize) -> Vec<u8> {
    batch.iter().cycle().skip(at).take(n).copied().collect()
}

#[test]
fn ping_and_settings_floods_are_slowed_by_tcp_not_buffered() {
    let (_root, server) = server("h2c-floods");
    flood(&server, &frame(PING, 0, 0, b"flood!!!"), PING, "§6.7, §10.5 a PING flood");
    flood(&server, &frame(SETTINGS, 0, 0, &[]), SETTINGS, "§6.5, §10.5 a SETTINGS flood");
    flood(
        &server,
        &frame(SETTINGS, 0, 0, &settings(&[(INITIAL_WINDOW_SIZE, 1), (INITIAL_WINDOW_SIZE, 2)])),
        SETTINGS,
        "§6.5, §10.5 a flood of SETTINGS with values",
    );
}

#[test]
fn idle_streams_hold_nothing_and_the_last_stream_id_still_works() {
    let (_root, server) = server("h2c-idle");
    // §5.3, §5.1: PRIORITY names idle streams without opening them.
    let mut c = H2::open(&server);
    c.settings_ack("setup");
    let before = server.rss_kib();
    let mut many = Vec::new();
    for i in 0..100_000u32 {
        many.extend(frame(PRIORITY, 0, 3 + 2 * i, &[0, 0, 0, 1, 16]));
    }
    c.send(&many);
    c.alive("§5.3 100,000 PRIORITY frames on idle streams");
    let grown = server.rss_kib().saturating_sub(before);
    assert!(grown < 4 * 1024, "§5.3 100,000 idle streams named: the server grew by {grown} KiB");
    c.request(1, "/index.html", true);
    assert_eq!(c.status(1, "§5.1 stream 1 was still idle"), 200);

    // Streams opened with gaps between their ids, then finished: nothing
    // stays for them, and a long-skipped id still cannot be opened.
    let mut c = H2::open(&server);
    let mut burst = Vec::new();
    for i in 0..2000u32 {
        let b = c.get("/index.html");
        burst.extend(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 4 * i, &b));
        if i % 50 == 49 {
            c.send(&burst);
            burst.clear();
            c.status(1 + 4 * i, "setup: a batch of streams with gaps");
        }
    }
    c.request(3, "/index.html", true);
    c.connection_error(&[PROTOCOL_ERROR, STREAM_CLOSED], "§5.1.1 an id skipped 2,000 streams ago");

    // §5.1.1: 2^31-1 is the last id a client may use; below it, nothing.
    let mut c = H2::open(&server);
    c.request(0x7fff_ffff, "/index.html", true);
    assert_eq!(c.status(0x7fff_ffff, "§5.1.1 the largest stream id"), 200);
    c.request(1, "/index.html", true);
    let goaway = loop {
        match c.next(Duration::from_secs(5)) {
            Event::Frame(f) if f.kind == GOAWAY => break f,
            Event::Frame(_) => {}
            other => panic!("§5.1.1 after the largest id: {other:?}"),
        }
    };
    assert_eq!(goaway.code(), PROTOCOL_ERROR, "§5.1.1 a lower id after the largest");
    assert_eq!(&goaway.payload[..4], &[0x7f, 0xff, 0xff, 0xff], "§6.8 GOAWAY names the last stream");
}
