//! RFC 9113 §6: each frame type's rules, DATA to CONTINUATION, with flow
//! control (§6.9) and its windows.

use std::time::Duration;

use super::conformance::{held_open, post};
use super::wire::*;

const MAX_WINDOW: u32 = (1 << 31) - 1;

fn server(name: &str) -> (crate::common::TempTree, crate::common::Server) {
    let (root, _) = super::site(name);
    let server = super::start(&root, &[]);
    (root, server)
}

#[test]
fn data_headers_priority_rst_stream_push_promise_and_continuation() {
    let (_root, server) = server("h2c-types");

    // §6.1 DATA.
    let mut c = H2::open(&server);
    c.send_frame(DATA, 0, 0, b"x");
    c.connection_error(&[PROTOCOL_ERROR], "§6.1 DATA on stream 0");
    let mut c = H2::open(&server);
    c.request(1, "/big.bin", true);
    c.send_frame(DATA, 0, 1, b"x");
    c.stream_error(1, &[STREAM_CLOSED], "§6.1 DATA on a stream not open or half-closed (local)");
    let mut c = H2::open(&server);
    post(&mut c, 1, "/index.html", None);
    c.send_frame(DATA, PADDED | END_STREAM, 1, &[5, b'a', b'b', 0, 0]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.1 padding longer than the payload");
    // Padding is flow-controlled but is not content (§8.1.1 counts the data).
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 0)]);
    post(&mut c, 1, "/index.html", Some("4"));
    c.send_frame(DATA, PADDED | END_STREAM, 1, &[3, b'a', b'b', b'c', b'd', 0, 0, 0]);
    c.response(1, "§6.1 a padded DATA frame");
    c.alive("§6.1 a padded DATA frame");

    // §6.2 HEADERS.
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 0, &b);
    c.connection_error(&[PROTOCOL_ERROR], "§6.2 HEADERS on stream 0");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b);
    c.send_frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.2 HEADERS without END_HEADERS, then PRIORITY");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 3, &b);
    c.connection_error(&[PROTOCOL_ERROR], "§6.2 HEADERS without END_HEADERS, then HEADERS on another stream");
    let mut c = H2::open(&server);
    let mut p = vec![200];
    p.extend(c.get("/index.html"));
    c.send_frame(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, &p);
    c.stream_error(1, &[PROTOCOL_ERROR], "§6.2 padding longer than the payload");
    let mut c = H2::open(&server);
    let mut p = vec![4, 0, 0, 0, 0, 16];
    p.extend(c.get("/index.html"));
    p.extend([0; 4]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS | PADDED | PRIORITY_FLAG, 1, &p);
    assert_eq!(c.status(1, "§6.2 HEADERS padded and with priority fields"), 200);

    // §6.3 PRIORITY.
    let mut c = H2::open(&server);
    c.send_frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.3 PRIORITY on stream 0");
    let mut c = H2::open(&server);
    c.send_frame(PRIORITY, 0, 1, &[0, 0, 0, 3, 16, 0]);
    c.stream_error(1, &[FRAME_SIZE_ERROR], "§6.3 PRIORITY not 5 bytes");
    c.alive("§6.3 PRIORITY not 5 bytes: a stream error only");

    // §6.4 RST_STREAM.
    let mut c = H2::open(&server);
    c.send_frame(RST_STREAM, 0, 0, &8u32.to_be_bytes());
    c.connection_error(&[PROTOCOL_ERROR], "§6.4 RST_STREAM on stream 0");
    let mut c = H2::open(&server);
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.connection_error(&[PROTOCOL_ERROR], "§6.4 RST_STREAM on an idle stream");
    let mut c = held_open(&server, true);
    c.send_frame(RST_STREAM, 0, 1, &[0, 0, 0, 8, 0]);
    c.connection_error(&[FRAME_SIZE_ERROR], "§6.4 RST_STREAM not 4 bytes");
    let mut c = held_open(&server, true);
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.send_frame(WINDOW_UPDATE, 0, 1, &1000u32.to_be_bytes());
    assert!(c.data_within(1, Duration::from_millis(300)).is_empty(), "§6.4 no DATA after RST_STREAM");

    // §6.6, §8.4: a client never sends PUSH_PROMISE.
    let mut c = H2::open(&server);
    c.request(1, "/big.bin", false);
    let mut p = 2u32.to_be_bytes().to_vec();
    p.extend(c.get("/index.html"));
    c.send_frame(PUSH_PROMISE, END_HEADERS, 1, &p);
    c.connection_error(&[PROTOCOL_ERROR], "§6.6 PUSH_PROMISE from a client");

    // §6.10 CONTINUATION.
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b[..1]);
    for byte in &b[1..b.len() - 1] {
        c.send_frame(CONTINUATION, 0, 1, &[*byte]);
    }
    c.send_frame(CONTINUATION, END_HEADERS, 1, &b[b.len() - 1..]);
    assert_eq!(c.status(1, "§6.10 a block over many CONTINUATION frames"), 200);
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b[..1]);
    c.send_frame(CONTINUATION, 0, 1, &b[1..]);
    c.send_frame(DATA, 0, 1, b"x");
    c.connection_error(&[PROTOCOL_ERROR], "§6.10 a CONTINUATION followed by DATA");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b[..1]);
    c.send_frame(CONTINUATION, END_HEADERS, 0, &b[1..]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.10 CONTINUATION on stream 0");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b[..1]);
    c.send_frame(CONTINUATION, END_HEADERS, 3, &b[1..]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.10 CONTINUATION on another stream");
    let mut c = H2::open(&server);
    let b = c.get("/big.bin");
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &[0x82]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.10 CONTINUATION after HEADERS with END_HEADERS");
    let mut c = H2::open(&server);
    let b = c.get("/big.bin");
    c.send_frame(HEADERS, END_STREAM, 1, &b[..1]);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &b[1..]);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &[0x82]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.10 CONTINUATION after CONTINUATION with END_HEADERS");
    let mut c = H2::open(&server);
    post(&mut c, 1, "/index.html", None);
    c.send_frame(DATA, 0, 1, b"x");
    c.send_frame(CONTINUATION, END_HEADERS, 1, &[0x82]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.10 CONTINUATION after DATA");
}

#[test]
fn settings_ping_and_goaway() {
    let (_root, server) = server("h2c-settings");

    // §6.5 SETTINGS.
    let mut c = H2::open(&server);
    c.send_frame(SETTINGS, ACK, 0, &settings(&[(INITIAL_WINDOW_SIZE, 1)]));
    c.connection_error(&[FRAME_SIZE_ERROR], "§6.5 SETTINGS ACK with a payload");
    let mut c = H2::open(&server);
    c.send_frame(SETTINGS, 0, 1, &[]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.5 SETTINGS on a stream");
    let mut c = H2::open(&server);
    c.send_frame(SETTINGS, 0, 0, &[0, 4, 0, 0, 0]);
    c.connection_error(&[FRAME_SIZE_ERROR], "§6.5 SETTINGS not a multiple of 6 bytes");
    let mut c = H2::open(&server);
    c.send_frame(SETTINGS, ACK, 0, &[]);
    c.alive("§6.5 the client's ACK of the server's SETTINGS");

    // §6.5.2: each value's range.
    let mut c = H2::with(&server, &[(ENABLE_PUSH, 2)]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.5.2 ENABLE_PUSH not 0 or 1");
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, MAX_WINDOW + 1)]);
    c.connection_error(&[FLOW_CONTROL_ERROR], "§6.5.2 INITIAL_WINDOW_SIZE above 2^31-1");
    let mut c = H2::with(&server, &[(MAX_FRAME_SIZE, 16383)]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.5.2 MAX_FRAME_SIZE below 2^14");
    let mut c = H2::with(&server, &[(MAX_FRAME_SIZE, 1 << 24)]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.5.2 MAX_FRAME_SIZE above 2^24-1");
    let mut c = H2::with(&server, &[(0x99, 1), (ENABLE_PUSH, 1)]);
    c.settings_ack("§6.5.2 an unknown setting is ignored");
    c.alive("§6.5.2 an unknown setting is ignored");
    // HEADER_TABLE_SIZE=0: the server's blocks must empty its table first
    // (RFC 7541 §4.2); the test's decoder refuses them otherwise.
    let mut c = H2::with(&server, &[(HEADER_TABLE_SIZE, 0)]);
    c.set_table_limit(0);
    c.request(1, "/index.html", true);
    assert_eq!(c.status(1, "§6.5.2 HEADER_TABLE_SIZE 0 is obeyed"), 200);

    // §6.5.3: answered at once, values applied in order.
    let mut c = H2::open(&server);
    c.settings_ack("§6.5.3 SETTINGS is acknowledged");
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 100), (INITIAL_WINDOW_SIZE, 1)]);
    c.request(1, "/big.bin", true);
    assert_eq!(c.data_within(1, Duration::from_millis(300)), [1], "§6.5.3 the last of two values holds");

    // §6.7 PING.
    let mut c = H2::open(&server);
    c.send_frame(PING, 0, 0, b"\x00\x01\x02\x03\xfc\xfd\xfe\xff");
    c.ping_ack(*b"\x00\x01\x02\x03\xfc\xfd\xfe\xff", "§6.7 PING is echoed with ACK");
    let mut c = H2::open(&server);
    c.send_frame(PING, ACK, 0, b"not me!!");
    c.send_frame(PING, 0, 0, b"but me!!");
    c.ping_ack(*b"but me!!", "§6.7 a PING ACK is not answered");
    let mut c = H2::open(&server);
    c.send_frame(PING, 0, 1, b"12345678");
    c.connection_error(&[PROTOCOL_ERROR], "§6.7 PING on a stream");
    let mut c = H2::open(&server);
    c.send_frame(PING, 0, 0, b"123456789");
    c.connection_error(&[FRAME_SIZE_ERROR], "§6.7 PING not 8 bytes");

    // §6.8 GOAWAY.
    let mut c = H2::open(&server);
    c.send_frame(GOAWAY, 0, 1, &[0; 8]);
    c.connection_error(&[PROTOCOL_ERROR], "§6.8 GOAWAY on a stream");
    let mut c = H2::open(&server);
    c.request(1, "/index.html", true);
    c.send_frame(GOAWAY, 0, 0, &[0; 8]);
    assert_eq!(c.status(1, "§6.8 the client's GOAWAY lets open streams finish"), 200);
    c.closed("§6.8 then the server closes");
    // After the client's GOAWAY the server still says why it ends.
    let mut c = held_open(&server, true);
    c.send_frame(GOAWAY, 0, 0, &[0; 8]);
    c.send_frame(PING, 0, 0, b"1234567");
    let got = loop {
        match c.next(Duration::from_secs(5)) {
            Event::Frame(f) if f.kind == GOAWAY => break f.code(),
            Event::Frame(_) => {}
            other => panic!("§6.8 a connection error after the client's GOAWAY: {other:?}"),
        }
    };
    assert_eq!(got, FRAME_SIZE_ERROR, "§6.8 a connection error after the client's GOAWAY");
}

#[test]
fn window_update_and_flow_control() {
    let (_root, server) = server("h2c-flow");

    // §6.9 WINDOW_UPDATE.
    let mut c = H2::open(&server);
    c.send_frame(WINDOW_UPDATE, 0, 0, &0u32.to_be_bytes());
    c.connection_error(&[PROTOCOL_ERROR], "§6.9 an increment of 0 on the connection");
    let mut c = held_open(&server, true);
    c.send_frame(WINDOW_UPDATE, 0, 1, &0u32.to_be_bytes());
    c.stream_error(1, &[PROTOCOL_ERROR], "§6.9 an increment of 0 on a stream");
    let mut c = H2::open(&server);
    c.send_frame(WINDOW_UPDATE, 0, 0, &[0, 0, 0, 1, 0]);
    c.connection_error(&[FRAME_SIZE_ERROR], "§6.9 WINDOW_UPDATE not 4 bytes");
    let mut c = held_open(&server, true);
    c.send_frame(WINDOW_UPDATE, 0, 1, &0x8000_0007u32.to_be_bytes());
    assert_eq!(c.data_within(1, Duration::from_millis(300)), [7], "§6.9 the increment's reserved bit is ignored");

    // §6.9.1: the windows.
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 1)]);
    c.request(1, "/big.bin", true);
    assert_eq!(c.data_within(1, Duration::from_millis(300)), [1], "§6.9.1 a window of 1 byte");
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 1 << 20)]);
    c.request(1, "/big.bin", true);
    let sent: usize = c.data_within(1, Duration::from_millis(500)).iter().sum();
    assert_eq!(sent, 65535, "§6.9.1 the connection's window holds the stream's back");
    c.send_frame(WINDOW_UPDATE, 0, 0, &1000u32.to_be_bytes());
    assert_eq!(c.data_within(1, Duration::from_millis(300)), [1000], "§6.9.1 the connection window opened by 1000");
    let mut c = H2::open(&server);
    c.send_frame(WINDOW_UPDATE, 0, 0, &MAX_WINDOW.to_be_bytes());
    c.send_frame(WINDOW_UPDATE, 0, 0, &MAX_WINDOW.to_be_bytes());
    c.connection_error(&[FLOW_CONTROL_ERROR], "§6.9.1 the connection window past 2^31-1");
    // In one write, so that no DATA goes out between the two.
    let mut c = held_open(&server, false);
    let mut both = frame(WINDOW_UPDATE, 0, 1, &MAX_WINDOW.to_be_bytes());
    both.extend(frame(WINDOW_UPDATE, 0, 1, &MAX_WINDOW.to_be_bytes()));
    c.send(&both);
    c.stream_error(1, &[FLOW_CONTROL_ERROR], "§6.9.1 a stream window past 2^31-1");
    c.alive("§6.9.1 a stream window past 2^31-1: a stream error only");

    // §6.9.2: INITIAL_WINDOW_SIZE moves the open streams' windows, even below 0.
    let mut c = held_open(&server, true);
    c.send_frame(SETTINGS, 0, 0, &settings(&[(INITIAL_WINDOW_SIZE, 10)]));
    assert_eq!(
        c.data_within(1, Duration::from_millis(300)),
        [10],
        "§6.9.2 a new initial window applies to open streams"
    );
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 3)]);
    c.request(1, "/big.bin", true);
    assert_eq!(c.data_within(1, Duration::from_millis(300)), [3], "§6.9.2 setup: 3 bytes");
    c.send_frame(SETTINGS, 0, 0, &settings(&[(INITIAL_WINDOW_SIZE, 2)]));
    c.send_frame(WINDOW_UPDATE, 0, 1, &2u32.to_be_bytes());
    assert_eq!(c.data_within(1, Duration::from_millis(300)), [1], "§6.9.2 a window made negative is tracked");
    let mut c = held_open(&server, true);
    let mut both = frame(WINDOW_UPDATE, 0, 1, &MAX_WINDOW.to_be_bytes());
    both.extend(frame(SETTINGS, 0, 0, &settings(&[(INITIAL_WINDOW_SIZE, 1)])));
    c.send(&both);
    c.connection_error(&[FLOW_CONTROL_ERROR], "§6.9.2 a SETTINGS that pushes a stream window past 2^31-1");
}
