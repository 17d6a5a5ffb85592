//! The conformance suite's client: frames built byte by byte, a reader that
//! decodes the server's field blocks, and the verdicts h2spec gives
//! (`spec/verifier.go` there): a connection error is a GOAWAY with one of
//! the codes and then the close, or a plain close; a stream error is also
//! a RST_STREAM with one of the codes on the stream. Unlike h2spec, the
//! first error frame decides: a RST_STREAM or GOAWAY with another code
//! fails the case even if the connection closes afterwards.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wired_parser::http2::hpack::{Decoder, Encoder};

use crate::common::Server;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 §6).
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PUSH_PROMISE: u8 = 0x5;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

// Flags.
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

// Settings (§6.5.2).
pub const HEADER_TABLE_SIZE: u16 = 0x1;
pub const ENABLE_PUSH: u16 = 0x2;
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const MAX_FRAME_SIZE: u16 = 0x5;

// Error codes (§7).
pub const NO_ERROR: u32 = 0x0;
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const FLOW_CONTROL_ERROR: u32 = 0x3;
pub const STREAM_CLOSED: u32 = 0x5;
pub const FRAME_SIZE_ERROR: u32 = 0x6;
pub const REFUSED_STREAM: u32 = 0x7;
pub const COMPRESSION_ERROR: u32 = 0x9;

/// How long a case waits for the answer it expects.
const PATIENCE: Duration = Duration::from_secs(5);

/// One frame as bytes: the 9-byte header of §4.1, then the payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A SETTINGS payload from (identifier, value) pairs.
pub fn settings(pairs: &[(u16, u32)]) -> Vec<u8> {
    pairs.iter().flat_map(|(id, v)| id.to_be_bytes().into_iter().chain(v.to_be_bytes())).collect()
}

/// A frame the server sent; a HEADERS frame's block (with its
/// CONTINUATIONs) already decoded.
#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
    pub fields: Vec<(String, String)>,
}

impl Frame {
    /// The error code of a RST_STREAM or GOAWAY.
    pub fn code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        self.payload.get(at..at + 4).map_or(u32::MAX, |w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the next read brought.
#[derive(Debug)]
pub enum Event {
    Frame(Frame),
    Closed,
    Timeout,
}

/// One client connection.
pub struct H2 {
    pub s: TcpStream,
    pub enc: Encoder,
    dec: Decoder,
    /// Why the last read found nothing.
    last_read_error: Option<ErrorKind>,
}

impl H2 {
    /// Connected, nothing sent.
    pub fn bare(server: &Server) -> H2 {
        let s = TcpStream::connect(server.plain_addr.unwrap_or(server.addr)).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        H2 { s, enc: Encoder::new(), dec: Decoder::new(), last_read_error: None }
    }

    /// The preface and a SETTINGS with these values (§3.4).
    pub fn with(server: &Server, pairs: &[(u16, u32)]) -> H2 {
        let mut c = H2::bare(server);
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &settings(pairs)));
        c.send(&hello);
        c
    }

    /// The preface and an empty SETTINGS.
    pub fn open(server: &Server) -> H2 {
        H2::with(server, &[])
    }

    /// Write bytes; a server that already closed is the case's business,
    /// found when reading.
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.s.write_all(bytes);
    }

    pub fn send_frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        self.send(&frame(kind, flags, stream, payload));
    }

    /// An HPACK block of these fields, from this connection's encoder.
    pub fn block(&mut self, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        self.enc.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())), &mut out);
        out
    }

    /// A valid GET's block.
    pub fn get(&mut self, path: &str) -> Vec<u8> {
        self.block(&[(":method", "GET"), (":scheme", "http"), (":authority", "localhost"), (":path", path)])
    }

    /// HEADERS opening `stream` with a GET, in one frame.
    pub fn request(&mut self, stream: u32, path: &str, end_stream: bool) {
        let b = self.get(path);
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        self.send_frame(HEADERS, flags, stream, &b);
    }

    /// Decode the server's blocks as if we had announced this
    /// SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §4.2).
    pub fn set_table_limit(&mut self, size: u32) {
        self.dec.set_max_table_size(size);
    }

    /// The next frame, the close, or nothing within `wait`.
    pub fn next(&mut self, wait: Duration) -> Event {
        let deadline = Instant::now() + wait;
        let Some(head) = self.read_exactly(9, deadline) else { return self.ended() };
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let Some(payload) = self.read_exactly(len, deadline + PATIENCE) else { return Event::Closed };
        let mut f = Frame { kind, flags, stream, payload, fields: Vec::new() };
        if kind == HEADERS {
            f.fields = self.read_block(&f, deadline + PATIENCE);
        }
        Event::Frame(f)
    }

    /// A HEADERS frame's block, with the CONTINUATIONs §4.3 puts right
    /// after it, decoded (the server pads nothing and sends no priority).
    fn read_block(&mut self, f: &Frame, deadline: Instant) -> Vec<(String, String)> {
        let mut block = f.payload.clone();
        let mut end = f.flags & END_HEADERS != 0;
        while !end {
            let head = self.read_exactly(9, deadline).expect("a CONTINUATION");
            assert_eq!(head[3], CONTINUATION, "§4.3: only CONTINUATION may follow an open field block");
            let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
            block.extend(self.read_exactly(len, deadline).expect("its payload"));
            end = head[4] & END_HEADERS != 0;
        }
        let fields = self.dec.decode_to_vec(&block).expect("the server's HPACK decodes (RFC 7541)");
        fields
            .into_iter()
            .map(|f| (String::from_utf8_lossy(&f.name).into_owned(), String::from_utf8_lossy(&f.value).into_owned()))
            .collect()
    }

    /// A reset or a FIN is a close; a quiet socket is a timeout.
    fn ended(&mut self) -> Event {
        match self.last_read_error {
            Some(ErrorKind::WouldBlock | ErrorKind::TimedOut) => Event::Timeout,
            _ => Event::Closed,
        }
    }

    fn read_exactly(&mut self, n: usize, deadline: Instant) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        self.last_read_error = None;
        while got < n {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            self.s.set_read_timeout(Some(left)).ok()?;
            match self.s.read(&mut buf[got..]) {
                Ok(0) => return None,
                Ok(k) => got += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    if got == 0 {
                        self.last_read_error = Some(e.kind());
                    }
                    let quiet = matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
                    if got == 0 || !quiet || Instant::now() >= deadline {
                        return None;
                    }
                }
            }
        }
        Some(buf)
    }
}

/// A code's name, for failure messages.
fn name(code: u32) -> String {
    wired_parser::http2::ErrorCode::from_u32(code).name().to_string()
}

fn names(codes: &[u32]) -> String {
    codes.iter().map(|c| name(*c)).collect::<Vec<_>>().join(" or ")
}

/// The verdicts. Each reads frames until it can decide, within
/// [`PATIENCE`], and panics with the case's name when the server did
/// something else.
impl H2 {
    fn until_decided(&mut self, case: &str, mut decide: impl FnMut(&Frame) -> bool) -> Event {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Event::Frame(f) if !decide(&f) => {}
                Event::Timeout => panic!("{case}: no answer within {PATIENCE:?}"),
                other => return other,
            }
        }
    }

    /// §5.4.1: a connection error with one of `codes`: a GOAWAY with it,
    /// then the close; or the close alone.
    pub fn connection_error(&mut self, codes: &[u32], case: &str) {
        if let Event::Frame(f) = self.until_decided(case, |f| f.kind == GOAWAY) {
            assert!(codes.contains(&f.code()), "{case}: GOAWAY {}, not {}", name(f.code()), names(codes));
            self.closed(case);
        }
    }

    /// §5.4.2: a stream error on `stream` with one of `codes` (a RST_STREAM),
    /// or a connection error with one of them, which §5.4.1 allows instead.
    pub fn stream_error(&mut self, stream: u32, codes: &[u32], case: &str) {
        // A RST_STREAM NO_ERROR, unless asked for, is no error: wired
        // answered the request before its body was all sent, and asks for
        // no more of it (§8.1).
        let early_answer_ok = !codes.contains(&0);
        let decided = self.until_decided(case, |f| {
            f.kind == GOAWAY || (f.kind == RST_STREAM && f.stream == stream && !(early_answer_ok && f.code() == 0))
        });
        if let Event::Frame(f) = decided {
            let what = if f.kind == GOAWAY { "GOAWAY" } else { "RST_STREAM" };
            assert!(codes.contains(&f.code()), "{case}: {what} {}, not {}", name(f.code()), names(codes));
            if f.kind == GOAWAY {
                self.closed(case);
            }
        }
    }

    /// The server closes the connection (frames before it are ignored).
    pub fn closed(&mut self, case: &str) {
        self.until_decided(&format!("{case} (the close)"), |_| false);
    }

    /// The connection still works: a PING is answered with its own bytes
    /// (§6.7), and nothing before the answer is an error.
    pub fn alive(&mut self, case: &str) {
        self.send_frame(PING, 0, 0, b"alive?!!");
        self.ping_ack(*b"alive?!!", case);
    }

    /// Wait for a PING ACK carrying `data`; a GOAWAY, an error RST_STREAM
    /// or the close before it fails the case.
    pub fn ping_ack(&mut self, data: [u8; 8], case: &str) {
        let got = self.until_decided(case, |f| {
            f.kind == GOAWAY || (f.kind == RST_STREAM && f.code() != NO_ERROR) || (f.kind == PING && f.flags & ACK != 0)
        });
        match got {
            Event::Frame(f) if f.kind == PING => assert_eq!(f.payload, data, "{case}: the PING ACK's payload"),
            Event::Frame(f) => {
                panic!("{case}: {} {} on stream {} instead", kind_name(f.kind), name(f.code()), f.stream)
            }
            _ => panic!("{case}: the connection closed"),
        }
    }

    /// Wait for the server's SETTINGS ACK (§6.5.3).
    pub fn settings_ack(&mut self, case: &str) {
        let got = self.until_decided(case, |f| f.kind == GOAWAY || (f.kind == SETTINGS && f.flags & ACK != 0));
        match got {
            Event::Frame(f) if f.kind == SETTINGS => assert!(f.payload.is_empty(), "{case}: an ACK is empty"),
            Event::Frame(f) => panic!("{case}: GOAWAY {}", name(f.code())),
            _ => panic!("{case}: the connection closed"),
        }
    }

    /// The response's HEADERS on `stream`; an error before it fails the case.
    pub fn response(&mut self, stream: u32, case: &str) -> Frame {
        let got = self.until_decided(case, |f| {
            f.kind == GOAWAY || (f.stream == stream && (f.kind == HEADERS || f.kind == RST_STREAM))
        });
        match got {
            Event::Frame(f) if f.kind == HEADERS => f,
            Event::Frame(f) => panic!("{case}: {} {} on stream {}", kind_name(f.kind), name(f.code()), f.stream),
            _ => panic!("{case}: the connection closed"),
        }
    }

    /// The response's status on `stream`.
    pub fn status(&mut self, stream: u32, case: &str) -> u16 {
        let f = self.response(stream, case);
        f.field(":status").and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{case}: no :status"))
    }

    /// The DATA payload lengths on `stream` that arrive within `wait`.
    pub fn data_within(&mut self, stream: u32, wait: Duration) -> Vec<usize> {
        let deadline = Instant::now() + wait;
        let mut sizes = Vec::new();
        while let Event::Frame(f) = self.next(deadline.saturating_duration_since(Instant::now())) {
            assert_ne!(f.kind, GOAWAY, "GOAWAY {} while waiting for DATA", name(f.code()));
            if f.kind == DATA && f.stream == stream {
                sizes.push(f.payload.len());
            }
        }
        sizes
    }
}

fn kind_name(kind: u8) -> String {
    wired_parser::http2::FrameType::from_u8(kind).to_string()
}
