//! RFC 9113 §3.4 to §7 from raw frames, in h2spec's order: the preface,
//! the frame format and size, field blocks, stream states and
//! identifiers, priority, error handling, extensions, each frame type's
//! rules, and error codes. One server per test, a fresh connection per
//! case; each case names its section.

use std::io::Read;
use std::time::Duration;

use super::wire::*;
use crate::common::Server;

fn server(name: &str) -> (crate::common::TempTree, Server) {
    let (root, _) = super::site(name);
    let server = super::start(&root, &[]);
    (root, server)
}

/// Stream 1 half-closed (remote) and kept open: the client's window is 0,
/// so the 1 MiB response waits for a WINDOW_UPDATE (§6.9.2).
pub fn held_open(server: &Server, end_stream: bool) -> H2 {
    let mut c = H2::with(server, &[(INITIAL_WINDOW_SIZE, 0)]);
    c.request(1, "/big.bin", end_stream);
    c.response(1, "setup: the held response's HEADERS");
    c
}

/// A POST's HEADERS (no END_STREAM), with a content-length if given.
pub fn post(c: &mut H2, stream: u32, path: &str, length: Option<&str>) {
    let mut fields = vec![(":method", "POST"), (":scheme", "http"), (":authority", "localhost"), (":path", path)];
    if let Some(n) = length {
        fields.push(("content-length", n));
    }
    let b = c.block(&fields);
    c.send_frame(HEADERS, END_HEADERS, stream, &b);
}

#[test]
fn preface_frame_format_frame_size_and_field_blocks() {
    let (_root, server) = server("h2c-frames");

    // §3.4: the server's preface is a SETTINGS frame, its first frame.
    let mut c = H2::open(&server);
    match c.next(Duration::from_secs(5)) {
        Event::Frame(f) => assert!(f.kind == SETTINGS && f.flags & ACK == 0, "§3.4 first frame: {f:?}"),
        other => panic!("§3.4 server preface: {other:?}"),
    }
    c.settings_ack("§3.4 the client's SETTINGS is acknowledged");

    let mut c = H2::bare(&server);
    c.send(PREFACE);
    c.send_frame(PING, 0, 0, b"12345678");
    c.connection_error(&[PROTOCOL_ERROR], "§3.4 a first frame other than SETTINGS");

    // An invalid preface: on a plain listener wired reads it as HTTP/1.1,
    // refuses it and closes; no HTTP/2 frame comes back.
    let mut c = H2::bare(&server);
    c.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
    c.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    c.s.read_to_end(&mut answer).expect("§3.4 an invalid preface: the connection is closed");
    assert!(answer.starts_with(b"HTTP/1.1 "), "§3.4 an invalid preface: {:?}", String::from_utf8_lossy(&answer));

    // §4.1: an unknown type, undefined flags and the reserved bit are ignored.
    let mut c = H2::open(&server);
    c.send_frame(0xfa, 0xff, 0, b"anything");
    c.send_frame(0xfb, 0, 1, b"on a stream");
    c.alive("§4.1 frames of unknown type are ignored");
    let mut c = H2::open(&server);
    c.send_frame(PING, 0x16, 0, b"flags!!!");
    c.ping_ack(*b"flags!!!", "§4.1 undefined flags are ignored");
    let mut c = H2::open(&server);
    c.send_frame(PING, 0, 0x8000_0000, b"reserved");
    c.ping_ack(*b"reserved", "§4.1 the reserved bit of a PING's stream field is ignored");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 0x8000_0001, &b);
    assert_eq!(c.status(1, "§4.1 the reserved bit of a HEADERS's stream field"), 200);

    // §4.2: 2^14 bytes must be accepted; more than SETTINGS_MAX_FRAME_SIZE is FRAME_SIZE_ERROR.
    let mut c = H2::open(&server);
    post(&mut c, 1, "/index.html", None);
    c.send_frame(DATA, END_STREAM, 1, &[b'x'; 16384]);
    c.response(1, "§4.2 a DATA frame of 2^14 bytes");
    c.alive("§4.2 a DATA frame of 2^14 bytes");
    let mut c = H2::open(&server);
    post(&mut c, 1, "/index.html", None);
    c.send_frame(DATA, END_STREAM, 1, &[b'x'; 16385]);
    c.stream_error(1, &[FRAME_SIZE_ERROR], "§4.2 a DATA frame over 2^14 bytes");
    let mut c = H2::open(&server);
    let mut b = c.get("/index.html");
    b.extend(std::iter::repeat_n(0x82, 16385 - b.len()));
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.connection_error(&[FRAME_SIZE_ERROR], "§4.2 a HEADERS frame over 2^14 bytes");
    // The client's MAX_FRAME_SIZE is what the server may send, not what it accepts.
    let mut c = H2::with(&server, &[(MAX_FRAME_SIZE, 1 << 20)]);
    c.send_frame(0xfa, 0, 0, &[0; 16385]);
    c.connection_error(&[FRAME_SIZE_ERROR], "§4.2 the client's MAX_FRAME_SIZE does not raise the server's");

    // §4.3: a broken block is COMPRESSION_ERROR; nothing may come between a
    // block's frames; a block split across frames is one block.
    let mut c = H2::open(&server);
    // A literal (§6.2.2, new name) whose name claims 10 bytes and has 1.
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &[0x82, 0x86, 0x84, 0x00, 0x0a, b'x']);
    c.connection_error(&[COMPRESSION_ERROR], "§4.3 an invalid field block fragment");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b);
    c.send_frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]);
    c.connection_error(&[PROTOCOL_ERROR], "§4.3 a PRIORITY inside a field block");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 3, &b);
    c.connection_error(&[PROTOCOL_ERROR], "§4.3 a HEADERS for another stream inside a field block");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    let (first, rest) = b.split_at(2);
    c.send_frame(HEADERS, END_STREAM, 1, first);
    c.send_frame(CONTINUATION, END_HEADERS, 1, rest);
    assert_eq!(c.status(1, "§4.3 a block split over HEADERS and CONTINUATION"), 200);
    // A refused request's block is still decoded, so the dynamic table
    // stays in step (RFC 7541 §2.2): the next block refers to its entries.
    let mut c = H2::open(&server);
    let b = c.block(&[(":method", "GET"), (":scheme", "http"), (":path", "/index.html"), ("Bad-Case", "1")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], "§4.3 setup: a malformed request");
    let b = c.block(&[(":method", "GET"), (":scheme", "http"), (":path", "/index.html")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 3, &b);
    assert_eq!(c.status(3, "§4.3 the table after a refused block is in step"), 200);
}

#[test]
fn stream_states_identifiers_priority_errors_and_extensions() {
    let (_root, server) = server("h2c-streams");

    // §5.1 idle: only HEADERS and PRIORITY.
    let mut c = H2::open(&server);
    c.send_frame(DATA, 0, 1, b"x");
    c.stream_error(1, &[PROTOCOL_ERROR, STREAM_CLOSED], "§5.1 idle: DATA");
    let mut c = H2::open(&server);
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.connection_error(&[PROTOCOL_ERROR], "§5.1 idle: RST_STREAM");
    let mut c = H2::open(&server);
    c.send_frame(WINDOW_UPDATE, 0, 1, &100u32.to_be_bytes());
    c.connection_error(&[PROTOCOL_ERROR], "§5.1 idle: WINDOW_UPDATE");
    let mut c = H2::open(&server);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &[0x82]);
    c.connection_error(&[PROTOCOL_ERROR], "§5.1 idle: CONTINUATION");

    // §5.1 half-closed (remote): the client may send only WINDOW_UPDATE,
    // PRIORITY and RST_STREAM.
    let mut c = held_open(&server, true);
    c.send_frame(DATA, 0, 1, b"x");
    c.stream_error(1, &[STREAM_CLOSED], "§5.1 half-closed (remote): DATA");
    c.send_frame(WINDOW_UPDATE, 0, 1, &10u32.to_be_bytes());
    assert!(c.data_within(1, Duration::from_millis(300)).is_empty(), "§5.4.2 no DATA after the server's RST_STREAM");
    let mut c = held_open(&server, true);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[STREAM_CLOSED], "§5.1 half-closed (remote): HEADERS");
    let mut c = held_open(&server, true);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &[0x82]);
    c.stream_error(1, &[STREAM_CLOSED, PROTOCOL_ERROR], "§5.1 half-closed (remote): CONTINUATION");
    let mut c = held_open(&server, true);
    c.send_frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]);
    c.send_frame(WINDOW_UPDATE, 0, 1, &10u32.to_be_bytes());
    assert_eq!(
        c.data_within(1, Duration::from_millis(300)),
        [10],
        "§5.1 half-closed (remote): PRIORITY, WINDOW_UPDATE"
    );
    let mut c = held_open(&server, true);
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.send_frame(WINDOW_UPDATE, 0, 1, &10u32.to_be_bytes());
    assert!(c.data_within(1, Duration::from_millis(300)).is_empty(), "§5.1 half-closed (remote): RST_STREAM ends it");
    c.alive("§5.1 half-closed (remote): RST_STREAM");

    // §5.1 closed, by the client's RST_STREAM: a stream error STREAM_CLOSED.
    let mut c = held_open(&server, false);
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.send_frame(DATA, 0, 1, b"x");
    c.stream_error(1, &[STREAM_CLOSED], "§5.1 closed by RST_STREAM: DATA");
    let mut c = held_open(&server, false);
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[STREAM_CLOSED], "§5.1 closed by RST_STREAM: HEADERS");
    let mut c = held_open(&server, false);
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.send_frame(CONTINUATION, END_HEADERS, 1, &[0x82]);
    c.stream_error(1, &[STREAM_CLOSED, PROTOCOL_ERROR], "§5.1 closed by RST_STREAM: CONTINUATION");

    // §5.1 closed, after END_STREAM both ways: a connection error STREAM_CLOSED
    // (for DATA h2spec accepts a stream error too).
    let ended = |server: &Server| {
        let mut c = H2::open(server);
        c.request(1, "/index.html", true);
        c.response(1, "setup: a whole response");
        c.data_within(1, Duration::from_millis(100));
        c
    };
    let mut c = ended(&server);
    c.send_frame(DATA, 0, 1, b"x");
    c.stream_error(1, &[STREAM_CLOSED], "§5.1 closed: DATA");
    let mut c = ended(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.connection_error(&[STREAM_CLOSED], "§5.1 closed: HEADERS");
    let mut c = ended(&server);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &[0x82]);
    c.connection_error(&[STREAM_CLOSED, PROTOCOL_ERROR], "§5.1 closed: CONTINUATION");
    let mut c = ended(&server);
    c.send_frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]);
    c.send_frame(WINDOW_UPDATE, 0, 1, &10u32.to_be_bytes());
    c.send_frame(RST_STREAM, 0, 1, &8u32.to_be_bytes());
    c.alive("§5.1 closed: PRIORITY, WINDOW_UPDATE and RST_STREAM are ignored");

    // §5.1 closed by the server's RST_STREAM: the client's frames in flight
    // are ignored. Here wired answered a POST before reading its body,
    // dropped 1 MiB more of that body, and then reset the stream with
    // NO_ERROR (§8.1).
    let mut c = H2::open(&server);
    post(&mut c, 1, "/index.html", None);
    c.response(1, "setup: an early answer");
    for _ in 0..65 {
        c.send_frame(DATA, 0, 1, &[b'x'; 16384]);
    }
    c.stream_error(1, &[NO_ERROR], "setup: the early answer's RST_STREAM NO_ERROR, past 1 MiB of body");
    c.send_frame(DATA, 0, 1, b"late body");
    let b = c.block(&[("x-trailer", "1")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.alive("§5.1 frames on a stream the server reset are ignored");

    // §5.1.1: client ids are odd and only grow.
    let mut c = H2::open(&server);
    c.request(2, "/index.html", true);
    c.connection_error(&[PROTOCOL_ERROR], "§5.1.1 an even stream id");
    let mut c = H2::open(&server);
    c.request(5, "/index.html", true);
    c.response(5, "setup: stream 5");
    c.request(3, "/index.html", true);
    c.connection_error(&[PROTOCOL_ERROR], "§5.1.1 a stream id lower than the last");
    let mut c = H2::open(&server);
    c.request(1, "/index.html", true);
    c.request(7, "/index.html", true);
    c.status(7, "setup: streams 1 and 7");
    c.request(5, "/index.html", true);
    c.connection_error(&[PROTOCOL_ERROR], "§5.1.1 a skipped id is closed, not openable");

    // §5.3: PRIORITY is read and ignored (RFC 9113 §5.3.2), in any state,
    // even depending on itself (RFC 7540 §5.3.1 made that an error; RFC
    // 9113 keeps only the frame's format).
    let mut c = H2::open(&server);
    c.send_frame(PRIORITY, 0, 9, &[0, 0, 0, 1, 200]);
    c.request(1, "/index.html", true);
    assert_eq!(c.status(1, "§5.3 PRIORITY on an idle stream does not open it"), 200);
    let mut c = H2::open(&server);
    c.send_frame(PRIORITY, 0, 1, &[0x80, 0, 0, 1, 16]);
    c.request(1, "/index.html", true);
    assert_eq!(c.status(1, "§5.3 a PRIORITY depending on its own stream is ignored"), 200);
    let mut c = H2::open(&server);
    let mut p = vec![0, 0, 0, 1, 16];
    p.extend(c.get("/index.html"));
    c.send_frame(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1, &p);
    assert_eq!(c.status(1, "§5.3 HEADERS with priority fields, depending on itself"), 200);

    // §5.4.1: a connection error is a GOAWAY, then the close.
    let mut c = H2::open(&server);
    c.send_frame(PING, 0, 0, b"1234567");
    let goaway = loop {
        match c.next(Duration::from_secs(5)) {
            Event::Frame(f) if f.kind == GOAWAY => break f,
            Event::Frame(_) => {}
            other => panic!("§5.4.1 no GOAWAY before {other:?}"),
        }
    };
    assert_eq!(goaway.code(), FRAME_SIZE_ERROR, "§5.4.1 GOAWAY first");
    assert_eq!(u32::from_be_bytes(goaway.payload[..4].try_into().unwrap()), 0, "§5.4.1 last stream: none");
    c.closed("§5.4.1 then the TCP connection is closed");
    // §5.4.2: a stream error leaves the connection and other streams.
    let mut c = H2::open(&server);
    let b = c.block(&[(":method", "GET"), (":scheme", "http"), (":path", "")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], "§5.4.2 setup");
    c.request(3, "/index.html", true);
    assert_eq!(c.status(3, "§5.4.2 the connection outlives a stream error"), 200);

    // §5.5: unknown extensions are ignored, but not inside a field block.
    let mut c = H2::with(&server, &[(0xf00d, 7)]);
    c.send_frame(0x42, 0, 0, b"ext");
    c.alive("§5.5 an unknown frame and an unknown setting");
    let mut c = H2::open(&server);
    let b = c.get("/index.html");
    c.send_frame(HEADERS, END_STREAM, 1, &b);
    c.send_frame(0x42, 0, 1, b"ext");
    c.connection_error(&[PROTOCOL_ERROR], "§5.5 an unknown frame inside a field block");

    // §7: unknown error codes trigger nothing special.
    let mut c = held_open(&server, true);
    c.send_frame(RST_STREAM, 0, 1, &0xdead_beefu32.to_be_bytes());
    c.alive("§7 RST_STREAM with an unknown code");
    let mut c = H2::open(&server);
    c.send_frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
    c.send_frame(PING, 0, 0, b"unknown!");
    match c.next(Duration::from_secs(5)) {
        Event::Frame(f) if f.kind == SETTINGS => {}
        other => panic!("§7 GOAWAY with an unknown code: {other:?}"),
    }
    loop {
        match c.next(Duration::from_secs(5)) {
            Event::Frame(f) if f.kind == PING => break assert_eq!(f.payload, b"unknown!"),
            Event::Frame(f) => assert_ne!(f.kind, GOAWAY, "§7 GOAWAY with an unknown code: {f:?}"),
            Event::Closed => break,
            Event::Timeout => panic!("§7 GOAWAY with an unknown code: nothing"),
        }
    }
}
