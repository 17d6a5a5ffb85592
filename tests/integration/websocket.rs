//! WebSockets (issue 16, RFC 6455, RFC 7692) from a raw socket: the opening
//! handshake, frames written byte by byte by the test (masked, as a client
//! must), and what comes back checked against the RFC. The frames are built
//! here, not by a library, so a test can send exactly the broken frame it
//! means to. Python and browser clients are in `websocket_clients`.

use std::io::{Read, Write};
use std::time::Duration;

use crate::common::*;

mod hostile;
mod program;
mod raw;

/// RFC 6455 §1.3's example key and the accept value it must produce.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The opcodes of §5.2.
const CONT: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A site with the test programs' directory, and a server on it.
fn site(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    std::fs::create_dir_all(tree.join("www")).unwrap();
    std::fs::write(tree.join("www/index.html"), "<p>hello</p>\n").unwrap();
    tree
}

/// The request head of an opening handshake for `path`, with `extra` fields.
fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Open a WebSocket: the handshake, checked to be a 101 with the right
/// accept value; returns the socket and the response head.
fn open(server: &Server, path: &str, extra: &str) -> (Client, Response) {
    let mut s = Client(server.connect());
    s.write_all(upgrade_request(path, extra).as_bytes()).unwrap();
    let head = read_head(&mut s);
    assert_eq!(head.status, 101, "{head:?}");
    assert_eq!(head.header("sec-websocket-accept"), Some(ACCEPT));
    assert!(head.header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")));
    assert!(head.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("upgrade")));
    (s, head)
}

/// Read a response head only (a 101 has no body), byte by byte so no frame
/// byte after it is taken.
fn read_head(s: &mut impl Read) -> Response {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "closed inside the head: {:?}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let text = String::from_utf8(head).unwrap();
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Response { status, headers, body: Vec::new() }
}

/// A client frame (§5.2): masked with a fixed key unless `mask` is false.
fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame_with(opcode, fin, false, true, payload)
}

fn frame_with(opcode: u8, fin: bool, rsv1: bool, mask: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
    let m = if mask { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n <= 0xffff => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0x37, 0xfa, 0x21, 0x3d];
    if mask {
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// A frame the server sent.
#[derive(Debug, PartialEq, Eq)]
struct Frame {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    payload: Vec<u8>,
}

/// Read one frame; `None` when the server closed the connection first.
fn read_frame(s: &mut impl Read) -> Option<Frame> {
    let mut h = [0u8; 2];
    if s.read_exact(&mut h).is_err() {
        return None;
    }
    assert_eq!(h[1] & 0x80, 0, "a server's frames are never masked (RFC 6455 §5.1)");
    let len = match h[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).unwrap();
            u16::from_be_bytes(l) as usize
        }
        127 => {
            let mut l = [0u8; 8];
            s.read_exact(&mut l).unwrap();
            u64::from_be_bytes(l) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).unwrap();
    Some(Frame { fin: h[0] & 0x80 != 0, rsv1: h[0] & 0x40 != 0, opcode: h[0] & 0x0f, payload })
}

/// Read frames until a Close; its status code (None: empty payload).
fn read_close(s: &mut impl Read) -> Option<u16> {
    loop {
        let f = read_frame(s).expect("a Close frame before the connection closed");
        if f.opcode == CLOSE {
            return f.payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
        }
    }
}

/// After the close handshake the server closes TCP first (§7.1.1): the
/// next read sees the end of the stream.
fn assert_closed(s: &mut Client) {
    s.0.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    let n = s.read_to_end(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "nothing after the Close: {rest:?}");
}

/// Write all of `bytes`, the way a client might trickle them.
fn send(s: &mut Client, bytes: &[u8]) {
    s.write_all(bytes).unwrap();
}

/// A plain request on a new connection works: nothing earlier broke the server.
fn still_serving(server: &Server) {
    assert_eq!(server.get("/index.html").status, 200);
}
