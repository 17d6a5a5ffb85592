//! Hostile WebSocket clients: every broken frame fails the connection with
//! the status code RFC 6455 gives it, and nothing leaks.

use super::*;

fn echo(name: &str, extra: &[&str]) -> (TempTree, Server) {
    let tree = site(name);
    let mut args = vec!["--ws-echo", "/echo"];
    args.extend_from_slice(extra);
    let server = Server::start(&tree.join("www"), &args);
    (tree, server)
}

/// Send `bytes` on a fresh socket and expect a Close with `code`, then the
/// end of the connection.
fn expect_failure(server: &Server, bytes: &[u8], code: u16, what: &str) {
    let (mut s, _) = open(server, "/echo", "");
    // The server may close while this is still being written.
    let _ = s.write_all(bytes);
    assert_eq!(read_close(&mut s), Some(code), "{what}");
    assert_closed(&mut s);
}

#[test]
fn broken_frames_fail_with_their_codes() {
    let (_t, server) = echo("ws-broken", &["--ws-max-message", "100000"]);
    // §5.1: a client's frames must be masked.
    expect_failure(&server, &frame_with(TEXT, true, false, false, b"plain"), 1002, "unmasked");
    // §5.2: the 64-bit length's top bit must be 0 (a 2^63 length header).
    let mut huge = vec![0x82, 0xff];
    huge.extend_from_slice(&(1u64 << 63).to_be_bytes());
    huge.extend_from_slice(&[1, 2, 3, 4]);
    expect_failure(&server, &huge, 1002, "2^63 length");
    // §5.5: control frames carry at most 125 bytes.
    expect_failure(&server, &frame(PING, true, &[b'p'; 126]), 1002, "a 126-byte ping");
    // §5.5: and are never fragmented.
    expect_failure(&server, &frame(PING, false, b"x"), 1002, "a fragmented ping");
    // §5.2: reserved bits without an extension that defines them.
    expect_failure(&server, &frame_with(TEXT, true, true, true, b"x"), 1002, "RSV1 without deflate");
    // §5.2: reserved opcodes.
    expect_failure(&server, &frame(0x3, true, b"x"), 1002, "opcode 3");
    // §5.4: a continuation with nothing to continue, and a new message
    // inside an unfinished one.
    expect_failure(&server, &frame(CONT, true, b"x"), 1002, "a lone continuation");
    let mut two = frame(TEXT, false, b"a");
    two.extend_from_slice(&frame(TEXT, true, b"b"));
    expect_failure(&server, &two, 1002, "a text frame inside a text message");
    // §7.4.1: a message larger than the server takes is 1009, refused from
    // the header, before its payload arrives.
    let mut big = vec![0x82, 0xff];
    big.extend_from_slice(&200_000u64.to_be_bytes());
    big.extend_from_slice(&[1, 2, 3, 4]);
    expect_failure(&server, &big, 1009, "a frame over --ws-max-message");
    // §5.5.1, §7.4: close codes that may not be sent, and a bad reason.
    for code in [999u16, 1004, 1005, 1006, 1015, 2999, 5000] {
        expect_failure(&server, &frame(CLOSE, true, &code.to_be_bytes()), 1002, &format!("close code {code}"));
    }
    expect_failure(&server, &frame(CLOSE, true, &[0x03]), 1002, "a 1-byte close payload");
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(&[0xff, 0xfe]);
    expect_failure(&server, &frame(CLOSE, true, &bad_reason), 1007, "a close reason that is not UTF-8");
    still_serving(&server);
}

#[test]
fn invalid_utf8_split_across_fragments_fails_fast() {
    let (_t, server) = echo("ws-utf8", &[]);
    let (mut s, _) = open(&server, "/echo", "");
    // "κόσμε" then a byte that cannot continue it: the first fragment is
    // valid, the second makes the text impossible (0xc0 is never UTF-8).
    send(&mut s, &frame(TEXT, false, "κόσμε".as_bytes()));
    send(&mut s, &frame(CONT, false, &[0xce, 0xc0, b'x']));
    // §8.1: failed on that byte, without waiting for the message's end.
    assert_eq!(read_close(&mut s), Some(1007));
    assert_closed(&mut s);
    // A character cut between fragments is fine.
    let (mut s, _) = open(&server, "/echo", "");
    let bytes = "κόσμε".as_bytes();
    send(&mut s, &frame(TEXT, false, &bytes[..1]));
    send(&mut s, &frame(CONT, true, &bytes[1..]));
    assert_eq!(read_frame(&mut s).unwrap().payload, bytes);
}

#[test]
fn a_deflate_bomb_is_refused_with_1009() {
    let (_t, server) = echo("ws-bomb", &["--ws-max-message", "65536"]);
    let (mut s, _) = open(&server, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    // 10 MB of zeros compress to a few kilobytes: the limit is on what
    // comes out, not on the frame.
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut packed = Vec::with_capacity(64 * 1024);
    c.compress_vec(&vec![0u8; 10 << 20], &mut packed, flate2::FlushCompress::Sync).unwrap();
    assert!(packed.len() < 65536);
    let _ = s.write_all(&frame_with(BINARY, true, true, true, &packed));
    assert_eq!(read_close(&mut s), Some(1009));
    // Garbage that is not deflate: 1007.
    let (mut s, _) = open(&server, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    send(&mut s, &frame_with(TEXT, true, true, true, &[0xff, 0xff, 0xff, 0xff]));
    assert_eq!(read_close(&mut s), Some(1007));
}

#[test]
fn a_client_that_never_reads_stalls_itself_not_the_server() {
    let (_t, server) = echo("ws-no-read", &[]);
    let before = server.rss_kib();
    let (mut s, _) = open(&server, "/echo", "");
    // Echoes pile up toward a client that does not read: once the queue
    // passes its mark, wired stops reading, and our writes stall.
    s.0.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    let message = frame(BINARY, true, &[7u8; 60_000]);
    let mut sent = 0usize;
    while s.write_all(&message).is_ok() {
        sent += message.len();
        assert!(sent < 512 << 20, "wired kept reading: {sent} bytes taken without a byte read back");
    }
    let grown = server.rss_kib().saturating_sub(before);
    assert!(grown < 64 * 1024, "the server grew by {grown} KiB for one stalled client");
    // The server still serves others.
    still_serving(&server);
}

#[test]
fn thousands_of_sockets_dropped_mid_frame_leak_nothing() {
    let (_t, server) = echo("ws-churn", &[]);
    if crate::tls_shim::plain_only("counts sockets and descriptors of plain connections") {
        return;
    }
    // Warm up (the first connection allocates pools), then measure.
    drop(open(&server, "/echo", ""));
    std::thread::sleep(Duration::from_millis(200));
    let fds = server.open_fds();
    let rss = server.rss_kib();
    let half = &frame(BINARY, true, &[1u8; 1000])[..500];
    for round in 0..20 {
        let mut open_now = Vec::new();
        for i in 0..500 {
            let (mut s, _) = open(&server, "/echo", "");
            send(&mut s, half);
            if (round + i) % 2 == 0 {
                reset(s.0);
            } else {
                open_now.push(s);
            }
        }
        drop(open_now);
    }
    // Every socket closed by the client: the server notices each, and its
    // descriptors and memory come back to where they were.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.open_fds() > fds && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.open_fds(), fds, "descriptors after 10,000 dropped sockets");
    let grown = server.rss_kib().saturating_sub(rss);
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB after 10,000 dropped sockets");
    still_serving(&server);
}
