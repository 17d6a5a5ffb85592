//! CGI over HTTP/2 (`--http2`): a stream's request reaches the program
//! through a secondary HTTP/1.1 connection in memory, and the program's
//! output comes back as HEADERS and DATA. What the program sees, its body
//! under flow control, and its life: a timeout, and a stream the client
//! resets.

use super::*;
use crate::http2::{DATA, END_HEADERS, END_STREAM, HEADERS, RST_STREAM, block, frame, open, until};
use wired_parser::http2::hpack::Encoder;

/// curl over cleartext HTTP/2 (prior knowledge): what `-w` printed, and
/// the body.
fn curl_h2(args: &[&str], stdin: Option<&[u8]>) -> (String, Vec<u8>) {
    let out_file = temp_dir("cgi-h2-out").join("body");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--http2-prior-knowledge", "-o"]).arg(&out_file);
    cmd.args(["-w", "%{http_version} %{http_code}"]).args(args);
    let out = run_bounded_with_input(&mut cmd, stdin, Duration::from_secs(60));
    assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), fs::read(&out_file).unwrap())
}

fn sha_hex(bytes: &[u8]) -> String {
    crate::http2::sha256(bytes)
}

#[test]
fn a_program_over_h2_sees_http2_and_gets_its_body_whole_with_or_without_a_length() {
    let site = site("h2-env");
    let server = start(&site, &["--http2"]);
    let url = |path: &str| format!("http://{}{path}", server.addr);
    let (said, body) = curl_h2(&[&url("/cgi-bin/env.sh?x=1")], None);
    assert_eq!(said, "2 200");
    let text = String::from_utf8(body).unwrap();
    for want in ["SERVER_PROTOCOL=HTTP/2.0", "REQUEST_METHOD=GET", "QUERY_STRING=x=1"] {
        assert!(text.lines().any(|l| l == want), "{want} in {text}");
    }
    assert!(text.lines().any(|l| l.starts_with("HTTP_HOST=127.0.0.1:")), ":authority becomes Host: {text}");
    assert!(!text.contains("HTTP_CONNECTION="), "the secondary connection's own field reached the program");

    // 3 MB: far past the stream's 64 KiB window, which wired must open as
    // the program reads.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let file = temp_dir("cgi-h2-body").join("big");
    fs::write(&file, &big).unwrap();
    let at_file = format!("@{}", file.display());
    let (said, body) = curl_h2(&["--data-binary", &at_file, &url("/cgi-bin/sha256.sh")], None);
    assert_eq!(said, "2 200");
    assert_eq!(String::from_utf8(body).unwrap().trim(), format!("{} {}", big.len(), sha_hex(&big)), "with a length");
    // From stdin curl sends no content-length: the body's end is END_STREAM.
    let (said, body) = curl_h2(&["-T", "-", &url("/cgi-bin/sha256.sh")], Some(&big));
    assert_eq!(said, "2 200");
    assert_eq!(String::from_utf8(body).unwrap().trim(), format!("{} {}", big.len(), sha_hex(&big)), "without");
    assert_no_zombies(&server);
}

#[test]
fn a_program_past_its_timeout_is_a_504_on_its_stream_only() {
    let site = site("h2-timeout");
    let server = start(&site, &["--http2", "--cgi-timeout", "1s"]);
    let mut s = open(&server);
    let mut enc = Encoder::new();
    let get = |enc: &mut Encoder, path: &str| {
        block(enc, &[(":method", "GET"), (":scheme", "http"), (":authority", "t"), (":path", path)])
    };
    let started = Instant::now();
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &get(&mut enc, "/cgi-bin/hang.sh"))).unwrap();
    let pids = script_pids(&site, "hang.sh");
    // Another stream is answered meanwhile.
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 3, &get(&mut enc, "/some/file.txt"))).unwrap();
    let file = until(&mut s, |kind, _, id, p| (kind == DATA && id == 3).then(|| p.to_vec()));
    assert_eq!(file.as_deref(), Some(&b"a static file\n"[..]));
    assert!(started.elapsed() < Duration::from_millis(900), "the static file waited for the program");
    // The program's stream: its DATA is the 504 page, after the timeout.
    let page = until(&mut s, |kind, _, id, p| (kind == DATA && id == 1).then(|| p.to_vec())).unwrap();
    assert!(String::from_utf8_lossy(&page).contains("504"), "{}", String::from_utf8_lossy(&page));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "504 after {took:?}");
    assert_dead(&server, pids, Duration::from_secs(3), "outlived the timeout");
    assert_no_zombies(&server);
}

#[test]
fn a_stream_reset_by_the_client_takes_its_program_with_it_and_the_connection_goes_on() {
    let site = site("h2-reset");
    let server = start(&site, &["--http2"]);
    let mut s = open(&server);
    let mut enc = Encoder::new();
    let get = |enc: &mut Encoder, path: &str| {
        block(enc, &[(":method", "GET"), (":scheme", "http"), (":authority", "t"), (":path", path)])
    };
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &get(&mut enc, "/cgi-bin/hang.sh"))).unwrap();
    let pids = script_pids(&site, "hang.sh");
    // CANCEL (RFC 9113 §7).
    s.write_all(&frame(RST_STREAM, 0, 1, &8u32.to_be_bytes())).unwrap();
    assert_dead(&server, pids, Duration::from_secs(5), "outlived its reset stream");
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 3, &get(&mut enc, "/cgi-bin/length.sh"))).unwrap();
    let body = until(&mut s, |kind, _, id, p| (kind == DATA && id == 3).then(|| p.to_vec()));
    assert_eq!(body.as_deref(), Some(&b"sized\n"[..]), "the same connection still serves");
    assert_no_zombies(&server);
}

#[test]
fn a_client_past_its_stream_window_is_reset_and_cannot_fill_a_program_s_pipe() {
    let site = site("h2-window");
    let server = start(&site, &["--http2"]);
    let mut s = open(&server);
    let mut enc = Encoder::new();
    let post = block(
        &mut enc,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "t"),
            (":path", "/cgi-bin/hang.sh"),
            ("content-length", "1000000"),
        ],
    );
    s.write_all(&frame(HEADERS, END_HEADERS, 1, &post)).unwrap();
    let pids = script_pids(&site, "hang.sh");
    // hang.sh never reads: once its stdin pipe and wired's buffers are
    // full, no window comes back, and the client that sends on regardless
    // passes the stream's window (RFC 9113 §6.9.1).
    for _ in 0..16 {
        s.write_all(&frame(DATA, 0, 1, &[b'x'; 16384])).unwrap();
    }
    assert_eq!(crate::http2::reset_code(&mut s, 1), Some(FLOW_CONTROL_ERROR));
    assert_dead(&server, pids, Duration::from_secs(5), "outlived its reset stream");
    let get =
        block(&mut enc, &[(":method", "GET"), (":scheme", "http"), (":authority", "t"), (":path", "/some/file.txt")]);
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 3, &get)).unwrap();
    let body = until(&mut s, |kind, _, id, p| (kind == DATA && id == 3).then(|| p.to_vec()));
    assert_eq!(body.as_deref(), Some(&b"a static file\n"[..]), "the connection goes on");
}

/// RFC 9113 §7.
const FLOW_CONTROL_ERROR: u32 = 0x3;
