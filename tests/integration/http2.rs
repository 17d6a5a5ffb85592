//! HTTP/2 (RFC 9113, `--http2`): real clients (curl over TLS with ALPN and
//! with prior knowledge; Python's `h2` library, hyper-h2, an independent
//! implementation, many streams on one connection under tight flow-control
//! windows), and raw frames written by the test for the rules and the
//! known attacks: each sends exactly the bytes it means to and checks the
//! GOAWAY or RST_STREAM code the RFC requires. The submodules are a
//! conformance suite in h2spec's order, one case per rule.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use wired_parser::http2::hpack::Encoder;

use crate::common::*;

// The conformance suite, after h2spec's sections (no h2spec on this machine).
mod conformance;
mod frame_types;
mod limits;
mod semantics;
mod trace;
mod wire;

pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (§6) and error codes (§7).
pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
pub(crate) const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;
const PROTOCOL_ERROR: u32 = 0x1;
const STREAM_CLOSED: u32 = 0x5;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// A document root: a small page, a 1 MiB file of known bytes, 40 small files.
fn site(name: &str) -> (TempTree, Vec<u8>) {
    let tree = TempTree::new(name);
    std::fs::write(tree.join("index.html"), "<h1>hello over h2</h1>\n").unwrap();
    let mut big = vec![0u8; 1 << 20];
    Rng(0x4832).fill(&mut big);
    std::fs::write(tree.join("big.bin"), &big).unwrap();
    for i in 0..40 {
        std::fs::write(tree.join(&format!("asset{i}.css")), format!("/* asset {i} */\n").repeat(i + 1)).unwrap();
    }
    (tree, big)
}

fn start(root: &TempTree, extra: &[&str]) -> Server {
    let mut args = vec!["--http2"];
    args.extend_from_slice(extra);
    Server::start(&root.0, &args)
}

/// One frame as bytes.
pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A request's field block (HPACK), from (name, value) pairs.
pub(crate) fn block(enc: &mut Encoder, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    enc.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())), &mut out);
    out
}

fn get_fields(path: &str) -> Vec<(&'static str, String)> {
    vec![
        (":method", "GET".into()),
        (":scheme", "http".into()),
        (":authority", "localhost".into()),
        (":path", path.into()),
    ]
}

/// A connection that has sent the preface and an empty SETTINGS.
pub(crate) fn open(server: &Server) -> TcpStream {
    let mut s = TcpStream::connect(server.plain_addr.unwrap_or(server.addr)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(PREFACE).unwrap();
    s.write_all(&frame(SETTINGS, 0, 0, &[])).unwrap();
    s
}

/// Read frames until `want` says stop (returning its value), or the
/// connection ends (None).
pub(crate) fn until<T>(s: &mut TcpStream, mut want: impl FnMut(u8, u8, u32, &[u8]) -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut head = [0u8; 9];
        if s.read_exact(&mut head).is_err() {
            return None;
        }
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        if s.read_exact(&mut payload).is_err() {
            return None;
        }
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if let Some(v) = want(head[3], head[4], stream, &payload) {
            return Some(v);
        }
    }
    None
}

/// The GOAWAY's error code, when one comes.
fn goaway_code(s: &mut TcpStream) -> Option<u32> {
    until(s, |kind, _, _, p| (kind == GOAWAY).then(|| u32::from_be_bytes([p[4], p[5], p[6], p[7]])))
}

/// The RST_STREAM code for `stream`, when one comes.
pub(crate) fn reset_code(s: &mut TcpStream, stream: u32) -> Option<u32> {
    until(s, |kind, _, id, p| {
        (kind == RST_STREAM && id == stream).then(|| u32::from_be_bytes([p[0], p[1], p[2], p[3]]))
    })
}

/// Run tests/http2/client.py: the JSON it prints.
pub(crate) fn python_client(args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http2/client.py");
    let out = run_bounded(Command::new("python3").arg(script).args(args), Duration::from_secs(60));
    assert!(out.status.success(), "client.py: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

#[test]
fn curl_speaks_h2_by_alpn_and_by_prior_knowledge_and_http1_still_works() {
    let (root, big) = site("h2-curl");
    let tls = crate::tls_shim::tls_args();
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let server = start(&root, &tls);
    let plain = server.plain_addr.unwrap_or(server.addr);
    let tls_addr = server.tls_addr.expect("a TLS listener");
    let out_file = root.join("out.bin");
    let curl = |args: &[&str]| {
        let out = run_bounded(
            Command::new("curl")
                .args(["-sS", "-o"])
                .arg(&out_file)
                .args(["-w", "%{http_version} %{http_code}"])
                .args(args),
            Duration::from_secs(30),
        );
        assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8(out.stdout).unwrap(), std::fs::read(&out_file).unwrap())
    };
    let (said, body) = curl(&["--http2-prior-knowledge", &format!("http://{plain}/index.html")]);
    assert_eq!((said.as_str(), body.as_slice()), ("2 200", &b"<h1>hello over h2</h1>\n"[..]));
    let (said, body) = curl(&["--http2", "-k", &format!("https://localhost:{}/big.bin", tls_addr.port())]);
    assert_eq!(said, "2 200");
    assert!(body == big, "the 1 MiB file over h2 and TLS: {} bytes", body.len());
    let (said, _) = curl(&["--http2-prior-knowledge", &format!("http://{plain}/missing")]);
    assert_eq!(said, "2 404");
    // The same port still speaks HTTP/1.1 to everyone else.
    let (said, _) = curl(&["--http1.1", &format!("http://{plain}/index.html")]);
    assert_eq!(said, "1.1 200");
    let (said, _) = curl(&["--http1.1", "-k", &format!("https://localhost:{}/index.html", tls_addr.port())]);
    assert_eq!(said, "1.1 200");
}

#[test]
fn python_h2_gets_forty_files_and_a_large_one_on_one_connection_through_tiny_windows() {
    let (root, big) = site("h2-python");
    let tls = crate::tls_shim::tls_args();
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let server = start(&root, &tls);
    let plain = server.plain_addr.unwrap_or(server.addr);
    let tls_port = server.tls_addr.expect("a TLS listener").port().to_string();
    let mut paths: Vec<String> = (0..40).map(|i| format!("/asset{i}.css")).collect();
    paths.push("/big.bin".into());
    paths.push("/nothing-here".into());
    for (tls, window) in [(false, "65535"), (false, "1000"), (true, "4096")] {
        let port = if tls { tls_port.clone() } else { plain.port().to_string() };
        let mut args = vec!["--window", window];
        if tls {
            args.push("--tls");
        }
        args.extend(["127.0.0.1", &port]);
        args.extend(paths.iter().map(String::as_str));
        let json = python_client(&args);
        if tls {
            assert!(json.contains(r#""alpn": "h2""#), "{json}");
        }
        assert!(json.contains(r#""goaway": null"#), "{json}");
        let max_frame: usize =
            json.split(r#""max_data_frame": "#).nth(1).and_then(|r| r.split(',').next()).unwrap().parse().unwrap();
        assert!(max_frame <= window.parse().unwrap(), "a DATA frame of {max_frame} bytes through a window of {window}");
        for i in 0..40 {
            let body = format!("/* asset {i} */\n").repeat(i + 1);
            let want = format!(r#""path": "/asset{i}.css", "status": 200"#);
            assert!(json.contains(&want), "{want} in {json}");
            assert!(json.contains(&sha256(body.as_bytes())), "asset {i}'s bytes");
        }
        assert!(json.contains(r#""path": "/big.bin", "status": 200"#), "{json}");
        assert!(
            json.contains(&format!(r#""length": {}, "sha256": "{}""#, big.len(), sha256(&big))),
            "the large file whole"
        );
        assert!(json.contains(r#""path": "/nothing-here", "status": 404"#), "{json}");
    }
}

#[test]
fn settings_and_ping_are_answered_and_a_zero_window_holds_data_back() {
    let (root, _) = site("h2-flow");
    let server = start(&root, &[]);
    let mut s = TcpStream::connect(server.plain_addr.unwrap_or(server.addr)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(PREFACE).unwrap();
    // INITIAL_WINDOW_SIZE = 0: no DATA until a WINDOW_UPDATE (§6.9.2).
    s.write_all(&frame(SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 0])).unwrap();
    assert!(until(&mut s, |k, f, _, _| (k == SETTINGS && f & 1 == 1).then_some(())).is_some(), "SETTINGS ACK");
    s.write_all(&frame(PING, 0, 0, b"12345678")).unwrap();
    let pong = until(&mut s, |k, f, _, p| (k == PING).then(|| (f, p.to_vec())));
    assert_eq!(pong, Some((1, b"12345678".to_vec())), "PING ACK with the same bytes (§6.7)");
    let mut enc = Encoder::new();
    let fields = get_fields("/big.bin");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &block(&mut enc, &fields))).unwrap();
    assert!(until(&mut s, |k, _, id, _| (k == HEADERS && id == 1).then_some(())).is_some(), "the response head");
    // Nothing more while the window is shut.
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut byte = [0u8; 1];
    assert!(s.read(&mut byte).is_err(), "no DATA through a zero window");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&frame(WINDOW_UPDATE, 0, 1, &100u32.to_be_bytes())).unwrap();
    let got = until(&mut s, |k, _, id, p| (k == DATA && id == 1).then_some(p.len()));
    assert_eq!(got, Some(100), "exactly the window's 100 bytes");
}

#[test]
fn broken_frames_and_requests_get_the_codes_the_rfc_names() {
    let (root, _) = site("h2-rules");
    let server = start(&root, &["--proxy", "/app/=http://127.0.0.1:9/"]);
    let mut enc = Encoder::new();
    // §3.4: the first frame must be SETTINGS.
    let mut s = TcpStream::connect(server.plain_addr.unwrap_or(server.addr)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(PREFACE).unwrap();
    s.write_all(&frame(PING, 0, 0, b"12345678")).unwrap();
    assert_eq!(goaway_code(&mut s), Some(PROTOCOL_ERROR));
    // §8.2: an upper-case field name makes the request malformed: the stream is reset.
    let mut s = open(&server);
    let b = block(
        &mut enc,
        &[(":method", "GET"), (":scheme", "http"), (":authority", "h"), (":path", "/"), ("User-Agent", "x")],
    );
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &b)).unwrap();
    assert_eq!(reset_code(&mut s, 1), Some(PROTOCOL_ERROR));
    // §8.3.1: no :path.
    let mut enc = Encoder::new();
    let mut s = open(&server);
    let b = block(&mut enc, &[(":method", "GET"), (":scheme", "http"), (":authority", "h")]);
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &b)).unwrap();
    assert_eq!(reset_code(&mut s, 1), Some(PROTOCOL_ERROR));
    // §8.2.2: a connection-specific field.
    let mut enc = Encoder::new();
    let mut s = open(&server);
    let b = block(
        &mut enc,
        &[(":method", "GET"), (":scheme", "http"), (":authority", "h"), (":path", "/"), ("connection", "close")],
    );
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &b)).unwrap();
    assert_eq!(reset_code(&mut s, 1), Some(PROTOCOL_ERROR));
    // §5.1.1: a client's stream id is odd.
    let mut enc = Encoder::new();
    let mut s = open(&server);
    let b = block(&mut enc, &[(":method", "GET"), (":scheme", "http"), (":authority", "h"), (":path", "/")]);
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 2, &b)).unwrap();
    assert_eq!(goaway_code(&mut s), Some(PROTOCOL_ERROR));
    // §5.1: DATA on a stream that was never opened.
    let mut s = open(&server);
    s.write_all(&frame(DATA, 0, 7, b"x")).unwrap();
    assert_eq!(goaway_code(&mut s), Some(PROTOCOL_ERROR));
    // §5.1: DATA after the stream's END_STREAM: STREAM_CLOSED.
    let mut enc = Encoder::new();
    let mut s = open(&server);
    let b = block(&mut enc, &[(":method", "GET"), (":scheme", "http"), (":authority", "h"), (":path", "/big.bin")]);
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &b)).unwrap();
    s.write_all(&frame(DATA, 0, 1, b"late")).unwrap();
    assert_eq!(reset_code(&mut s, 1), Some(STREAM_CLOSED));
    // A proxied location whose upstream is down: its 502 comes over h2 too.
    let plain = server.plain_addr.unwrap_or(server.addr);
    let out = run_bounded(
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--http2-prior-knowledge"])
            .arg(format!("http://{plain}/app/x")),
        Duration::from_secs(30),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 502");
    // The server is still there for everyone else.
    assert_eq!(server.get("/index.html").status, 200);
}

#[test]
fn the_known_http2_attacks_end_in_goaway() {
    let (root, _) = site("h2-attacks");
    let server = start(&root, &[]);
    // Rapid reset (CVE-2023-44487): streams opened and cancelled at once.
    let mut enc = Encoder::new();
    let mut s = open(&server);
    let mut burst = Vec::new();
    for i in 0..300u32 {
        let id = 1 + 2 * i;
        let b = block(&mut enc, &[(":method", "GET"), (":scheme", "http"), (":authority", "h"), (":path", "/big.bin")]);
        burst.extend(frame(HEADERS, END_STREAM | END_HEADERS, id, &b));
        burst.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes()));
    }
    let _ = s.write_all(&burst);
    assert_eq!(goaway_code(&mut s), Some(ENHANCE_YOUR_CALM), "rapid reset");
    // The CONTINUATION flood (2024): a field block that never ends.
    let mut s = open(&server);
    let mut flood = frame(HEADERS, 0, 1, &[0x82]);
    for _ in 0..20 {
        flood.extend(frame(CONTINUATION, 0, 1, &[0x40; 4096]));
    }
    let _ = s.write_all(&flood);
    assert_eq!(goaway_code(&mut s), Some(ENHANCE_YOUR_CALM), "CONTINUATION flood");
    // An HPACK bomb: one 4 KiB field added to the table, then referred to
    // by one byte, again and again: a small block, a huge header list.
    let mut s = open(&server);
    let mut b = vec![0x82, 0x86, 0x84, 0x41, 0x01, b'h'];
    // Literal with incremental indexing, new name "x", a 4,000-byte value
    // (RFC 7541 §6.2.1; 4,000 = 127 + 33 + 30 × 128, §5.1).
    b.extend([0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e]);
    b.extend(std::iter::repeat_n(b'v', 4000));
    b.extend(std::iter::repeat_n(0xbe, 60)); // index 62: that field, 60 times over
    s.write_all(&frame(HEADERS, END_STREAM | END_HEADERS, 1, &b)).unwrap();
    assert_eq!(goaway_code(&mut s), Some(ENHANCE_YOUR_CALM), "HPACK bomb");
    assert_eq!(server.get("/index.html").status, 200);
}

#[test]
fn shutdown_sends_goaway_and_finishes() {
    let (root, _) = site("h2-shutdown");
    let mut server = start(&root, &[]);
    let mut s = open(&server);
    assert!(until(&mut s, |k, f, _, _| (k == SETTINGS && f & 1 == 0).then_some(())).is_some(), "the server's SETTINGS");
    signal(server.pid(), libc::SIGTERM);
    let goaway = until(&mut s, |k, _, _, p| (k == GOAWAY).then(|| u32::from_be_bytes([p[4], p[5], p[6], p[7]])));
    assert_eq!(goaway, Some(0), "GOAWAY NO_ERROR (§6.8)");
    let status = server.wait_exit(Duration::from_secs(10)).expect("the server exits");
    assert!(status.success());
}
