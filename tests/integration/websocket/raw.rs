//! The handshake, the echo endpoint, fragmentation, control frames, the
//! close handshake, permessage-deflate and the idle Ping.

use super::*;

fn echo_server(name: &str, extra: &[&str]) -> (TempTree, Server) {
    let tree = site(name);
    let mut args = vec!["--ws-echo", "/echo"];
    args.extend_from_slice(extra);
    let server = Server::start(&tree.join("www"), &args);
    (tree, server)
}

#[test]
fn handshake_answers_101_with_the_accept_value() {
    let (_t, server) = echo_server("ws-handshake", &["--ws-protocol", "superchat", "--ws-protocol", "chat"]);
    let (_s, head) = open(&server, "/echo", "Sec-WebSocket-Protocol: chat, superchat\r\n");
    // §4.2.2: the server's preference among those offered.
    assert_eq!(head.header("sec-websocket-protocol"), Some("superchat"));
    // Nothing offered: nothing named.
    let (_s, head) = open(&server, "/echo", "");
    assert_eq!(head.header("sec-websocket-protocol"), None);
    assert_eq!(head.header("sec-websocket-extensions"), None);
    // Tokens are case-insensitive and may sit in lists (RFC 9110 §7.6.1, §7.8).
    let mut s = Client(server.connect());
    let req = format!(
        "GET /echo HTTP/1.1\r\nHost: t\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
         sec-websocket-key: {KEY}\r\nsec-websocket-version: 13\r\n\r\n"
    );
    send(&mut s, req.as_bytes());
    assert_eq!(read_head(&mut s).status, 101);
}

#[test]
fn bad_handshakes_are_refused_and_nothing_is_upgraded() {
    let (_t, server) = echo_server("ws-bad-handshake", &[]);
    let base = "Host: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    let cases = [
        // §4.4: an unknown version gets 426 and the version we speak.
        (format!("GET /echo HTTP/1.1\r\n{base}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n"), 426),
        (format!("GET /echo HTTP/1.1\r\n{base}Sec-WebSocket-Version: 13\r\n\r\n"), 400),
        (format!("GET /echo HTTP/1.1\r\n{base}Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n"), 400),
        (
            format!(
                "POST /echo HTTP/1.1\r\n{base}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
            ),
            400,
        ),
        (
            format!("GET /echo HTTP/1.1\r\nHost: t\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"),
            400,
        ),
        (
            format!(
                "GET /echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ),
            400,
        ),
        // HTTP/1.0 cannot upgrade (§4.1 asks for 1.1); asked to, it keeps
        // its connection for the next request.
        (
            format!(
                "GET /echo HTTP/1.0\r\n{base}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nConnection: keep-alive\r\n\r\n"
            ),
            400,
        ),
    ];
    for (req, status) in cases {
        let mut s = Client(server.connect());
        // The refusal keeps the connection (nothing was switched): a plain
        // request follows on the same socket.
        send(&mut s, req.as_bytes());
        send(&mut s, b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let bytes = read_to_close(&mut s.0);
        let responses = parse_all(&bytes, &[false, false]);
        assert_eq!(responses.len(), 2, "{req:?}: {}", String::from_utf8_lossy(&bytes));
        assert_eq!(responses[0].status, status, "{req:?}");
        if status == 426 {
            assert_eq!(responses[0].header("sec-websocket-version"), Some("13"));
        }
        assert_eq!(responses[1].status, 200);
    }
}

#[test]
fn origins_not_allowed_get_403() {
    let (_t, server) = echo_server("ws-origin", &["--ws-origin", "https://good.example"]);
    let (_s, _) = open(&server, "/echo", "Origin: https://good.example\r\n");
    for extra in ["Origin: https://evil.example\r\n", ""] {
        let mut s = Client(server.connect());
        send(&mut s, upgrade_request("/echo", extra).as_bytes());
        assert_eq!(read_head(&mut s).status, 403, "{extra:?}");
    }
}

#[test]
fn messages_echo_whatever_their_size_and_type() {
    let (_t, server) = echo_server("ws-echo", &[]);
    let (mut s, _) = open(&server, "/echo", "");
    let mut big = vec![0u8; 300_000];
    Rng(7).fill(&mut big);
    for (opcode, payload) in [(TEXT, b"Hello".to_vec()), (BINARY, vec![0, 255, 1]), (BINARY, big), (TEXT, vec![])] {
        send(&mut s, &frame(opcode, true, &payload));
        let f = read_frame(&mut s).unwrap();
        assert_eq!((f.opcode, f.fin, f.rsv1), (opcode, true, false));
        assert_eq!(f.payload, payload);
    }
}

#[test]
fn fragments_with_a_ping_between_them_make_one_message() {
    let (_t, server) = echo_server("ws-fragments", &[]);
    let (mut s, _) = open(&server, "/echo", "");
    // §5.4: control frames may come between a message's fragments, and are
    // answered at once (§5.5.2), before the message is whole.
    send(&mut s, &frame(TEXT, false, b"Hel"));
    send(&mut s, &frame(PING, true, b"are you there"));
    let pong = read_frame(&mut s).unwrap();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"are you there"[..]));
    send(&mut s, &frame(CONT, false, "lo, wö".as_bytes()));
    send(&mut s, &frame(CONT, true, b"rld"));
    let f = read_frame(&mut s).unwrap();
    assert_eq!((f.opcode, f.payload), (TEXT, "Hello, wörld".as_bytes().to_vec()));
    // An unsolicited Pong is not answered (§5.5.3); the next echo comes next.
    send(&mut s, &frame(PONG, true, b"beat"));
    send(&mut s, &frame(BINARY, true, b"after"));
    assert_eq!(read_frame(&mut s).unwrap().payload, b"after");
}

#[test]
fn a_frame_split_at_every_byte_still_echoes() {
    let (_t, server) = echo_server("ws-dribble", &[]);
    let (mut s, _) = open(&server, "/echo", "");
    let f = frame(TEXT, true, "dribbled ünïcode".as_bytes());
    for b in &f {
        send(&mut s, std::slice::from_ref(b));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(read_frame(&mut s).unwrap().payload, "dribbled ünïcode".as_bytes());
}

#[test]
fn the_close_handshake_echoes_the_code_and_the_server_closes_tcp() {
    let (_t, server) = echo_server("ws-close", &[]);
    let (mut s, _) = open(&server, "/echo", "");
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    send(&mut s, &frame(CLOSE, true, &payload));
    assert_eq!(read_close(&mut s), Some(1000));
    assert_closed(&mut s);
    // An empty Close is answered with an empty one (§5.5.1: no code to echo).
    let (mut s, _) = open(&server, "/echo", "");
    send(&mut s, &frame(CLOSE, true, b""));
    assert_eq!(read_close(&mut s), None);
    assert_closed(&mut s);
    still_serving(&server);
}

#[test]
fn permessage_deflate_is_negotiated_and_compressed_messages_echo() {
    let (_t, server) = echo_server("ws-deflate", &[]);
    let (mut s, head) =
        open(&server, "/echo", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    assert_eq!(head.header("sec-websocket-extensions"), Some("permessage-deflate"));
    // RFC 7692 §7.2.3.1: "Hello", compressed, with RSV1.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    send(&mut s, &frame_with(TEXT, true, true, true, &hello));
    let f = read_frame(&mut s).unwrap();
    // Short answers go uncompressed (RSV1 clear, §6.1 allows either).
    assert_eq!((f.rsv1, f.payload.as_slice()), (false, &b"Hello"[..]));
    // §7.2.3.2: the same again, referring back to the first (context takeover).
    send(&mut s, &frame_with(TEXT, true, true, true, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    assert_eq!(read_frame(&mut s).unwrap().payload, b"Hello");
    // A long, repetitive message comes back compressed: inflate it here.
    let text = "the quick brown fox jumps over the lazy dog ".repeat(500);
    send(&mut s, &frame(TEXT, true, text.as_bytes()));
    let f = read_frame(&mut s).unwrap();
    assert!(f.rsv1 && f.payload.len() < text.len() / 10, "{} bytes", f.payload.len());
    let mut inflater = flate2::Decompress::new(false);
    let mut wire = f.payload.clone();
    wire.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(text.len() + 64);
    inflater.decompress_vec(&wire, &mut out, flate2::FlushDecompress::Sync).unwrap();
    assert_eq!(out, text.as_bytes());
}

#[test]
fn deflate_parameters_are_honoured_or_the_offer_declined() {
    let (_t, server) = echo_server("ws-deflate-params", &[]);
    let ext = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10\r\n";
    let (mut s, head) = open(&server, "/echo", ext);
    assert_eq!(
        head.header("sec-websocket-extensions"),
        Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
    );
    // Without context takeover every message inflates on its own.
    let text = "abcabcabcabc".repeat(100);
    for _ in 0..2 {
        send(&mut s, &frame(TEXT, true, text.as_bytes()));
        let f = read_frame(&mut s).unwrap();
        assert!(f.rsv1);
        let mut wire = f.payload;
        wire.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(text.len() + 64);
        flate2::Decompress::new(false).decompress_vec(&wire, &mut out, flate2::FlushDecompress::Sync).unwrap();
        assert_eq!(out, text.as_bytes());
    }
    // §7.1: an offer with an unknown parameter is declined, the next taken.
    let ext = "Sec-WebSocket-Extensions: permessage-deflate; x-bogus, permessage-deflate\r\n";
    let (_s, head) = open(&server, "/echo", ext);
    assert_eq!(head.header("sec-websocket-extensions"), Some("permessage-deflate"));
    // --ws-no-deflate: never accepted.
    let (_t2, plain) = echo_server("ws-no-deflate", &["--ws-no-deflate"]);
    let (_s, head) = open(&plain, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_eq!(head.header("sec-websocket-extensions"), None);
}

#[test]
fn a_quiet_socket_gets_a_ping_then_a_close() {
    let (_t, server) = echo_server("ws-idle", &["--ws-idle-timeout", "1"]);
    let (mut s, _) = open(&server, "/echo", "");
    s.0.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ping = read_frame(&mut s).unwrap();
    assert_eq!(ping.opcode, PING, "§5.5.2: a Ping checks the client is there");
    // Answered: the socket lives on, and the next quiet spell pings again.
    send(&mut s, &frame(PONG, true, &ping.payload));
    assert_eq!(read_frame(&mut s).unwrap().opcode, PING);
    // Not answered: closed with 1001 (going away).
    assert_eq!(read_close(&mut s), Some(1001));
}

#[test]
fn requests_pipelined_before_the_upgrade_are_answered_first() {
    let (_t, server) = echo_server("ws-pipelined", &[]);
    let mut s = Client(server.connect());
    let mut bytes = b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n".to_vec();
    bytes.extend_from_slice(upgrade_request("/echo", "").as_bytes());
    // The first frame may ride with the handshake: it is kept for the socket.
    bytes.extend_from_slice(&frame(TEXT, true, b"early"));
    send(&mut s, &bytes);
    let first = read_response(&mut s, false).unwrap();
    assert_eq!((first.status, first.text().as_str()), (200, "<p>hello</p>\n"));
    assert_eq!(read_head(&mut s).status, 101);
    assert_eq!(read_frame(&mut s).unwrap().payload, b"early");
}

#[test]
fn a_configuration_file_routes_websocket_locations() {
    let tree = site("ws-config");
    let config = tree.join("wired.toml");
    std::fs::write(
        &config,
        format!(
            "ws_protocols = [\"chat\"]\nws_deflate = false\n\n[[server]]\nroot = \"{}\"\n\n\
             [[server.location]]\npath = \"/live/echo\"\nws_echo = true\n",
            tree.join("www").display()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let server = Server::start(&tree.join("www"), &["--config", &config]);
    let (mut s, head) =
        open(&server, "/live/echo", "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n");
    assert_eq!(head.header("sec-websocket-protocol"), Some("chat"));
    assert_eq!(head.header("sec-websocket-extensions"), None, "ws_deflate = false");
    send(&mut s, &frame(TEXT, true, b"from the file"));
    assert_eq!(read_frame(&mut s).unwrap().payload, b"from the file");
    // Other paths are the server's files, not sockets.
    assert_eq!(server.get("/index.html").status, 200);
}
