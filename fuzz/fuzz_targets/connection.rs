//! A whole connection, in process: arbitrary bytes cut into arbitrary reads
//! go through the real state machine on a loopback socket
//! (`wired::harness`). Nothing may panic or livelock; every response must be
//! well framed (a strict parse: status line, CRLF, one Content-Length that
//! matches the body); there are never more responses than request heads
//! started; nothing follows a `Connection: close` response; and the status
//! codes must not depend on how the bytes were cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wired::harness::{Ending, Outcome, drive};

/// One response as a strict client reads it.
#[derive(Debug)]
struct Response {
    status: u16,
    close: bool,
}

/// Parse every response in `out`, panicking at the first framing error.
/// `heads` bounds how many responses may omit a body they announce (HEAD).
fn parse_all(mut out: &[u8], heads: usize) -> Vec<Response> {
    let mut responses = Vec::new();
    let mut bodiless_heads = 0;
    while !out.is_empty() {
        let end = find(out, b"\r\n\r\n").unwrap_or_else(|| panic!("head without end: {:?}", lossy(out)));
        let (head, rest) = out.split_at(end + 4);
        // Each line with its CRLF; the blank line that ends the head is left out.
        let head = &head[..end + 2];
        let mut lines = head[..head.len() - 1].split(|&b| b == b'\n');
        let status_line = lines.next().unwrap_or_default();
        let status_line = status_line.strip_suffix(b"\r").unwrap_or_else(|| panic!("bare LF: {:?}", lossy(head)));
        let status = parse_status_line(status_line);
        let (mut length, mut close, mut dates, mut servers) = (None, false, 0, 0);
        for line in lines {
            let line = line.strip_suffix(b"\r").unwrap_or_else(|| panic!("bare LF in {:?}", lossy(head)));
            let colon = line.iter().position(|&b| b == b':').unwrap_or_else(|| panic!("no colon: {:?}", lossy(line)));
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            assert!(!name.is_empty() && name.iter().all(|&b| is_tchar(b)), "field name {:?}", lossy(line));
            assert!(value.starts_with(b" "), "no space after colon: {:?}", lossy(line));
            assert!(!value.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f), "control byte: {:?}", lossy(line));
            let value = &value[1..];
            match name.to_ascii_lowercase().as_slice() {
                b"content-length" => {
                    assert!(length.is_none(), "two Content-Length: {:?}", lossy(head));
                    let text = std::str::from_utf8(value).unwrap_or_default();
                    length = Some(text.parse::<usize>().unwrap_or_else(|_| panic!("Content-Length {text:?}")));
                }
                b"transfer-encoding" => panic!("wired never sends Transfer-Encoding: {:?}", lossy(head)),
                b"connection" => close |= value.eq_ignore_ascii_case(b"close"),
                b"date" => dates += 1,
                b"server" => servers += 1,
                _ => {}
            }
        }
        assert_eq!((dates, servers), (1, 1), "Date and Server once each: {:?}", lossy(head));
        let bodiless = status < 200 || status == 204 || status == 304;
        assert_eq!(length.is_none(), bodiless, "Content-Length presence for {status}: {:?}", lossy(head));
        let length = length.unwrap_or(0);
        // A response to HEAD announces a length and sends no body; the
        // fixture's bodies never start with "HTTP/", so a next response (or
        // the end) right after the head means no body was sent.
        let no_body_sent = rest.is_empty() || rest.starts_with(b"HTTP/1.1 ");
        out = if length > 0 && no_body_sent && bodiless_heads < heads {
            bodiless_heads += 1;
            rest
        } else {
            assert!(rest.len() >= length, "body cut short: {} of {length} bytes after {:?}", rest.len(), lossy(head));
            &rest[length..]
        };
        responses.push(Response { status, close });
    }
    responses
}

/// `HTTP/1.1 DDD Reason`, strictly.
fn parse_status_line(line: &[u8]) -> u16 {
    let rest = line.strip_prefix(b"HTTP/1.1 ").unwrap_or_else(|| panic!("status line {:?}", lossy(line)));
    let (code, reason) = rest.split_at(3.min(rest.len()));
    assert!(code.len() == 3 && code.iter().all(u8::is_ascii_digit), "status code {:?}", lossy(line));
    assert!(reason.len() > 1 && reason[0] == b' ', "reason phrase {:?}", lossy(line));
    assert!(reason[1..].iter().all(|&b| b == b' ' || b.is_ascii_graphic()), "reason {:?}", lossy(line));
    let status = u16::from(code[0] - b'0') * 100 + u16::from(code[1] - b'0') * 10 + u16::from(code[2] - b'0');
    assert!((100..600).contains(&status), "status {status}");
    status
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Non-overlapping occurrences.
fn count(hay: &[u8], needle: &[u8]) -> usize {
    let (mut n, mut at) = (0, 0);
    while let Some(i) = find(&hay[at..], needle) {
        n += 1;
        at += i + needle.len();
    }
    n
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned()
}

/// Check one run; return its status codes.
fn check(input: &[u8], out: &Outcome) -> Vec<u16> {
    let responses = parse_all(&out.output, count(input, b"HEAD "));
    // Every response answers a head that ended with a blank line, except at
    // most one: a refusal (or a 408) that closes the connection.
    let heads = count(input, b"\r\n\r\n");
    assert!(responses.len() <= heads + 1, "{} responses for {heads} complete heads", responses.len());
    if let Some(i) = responses.iter().position(|r| r.close) {
        assert_eq!(i + 1, responses.len(), "a response after Connection: close");
        assert!(out.closed, "Connection: close said, connection left open");
    }
    responses.iter().map(|r| r.status).collect()
}

fuzz_target!(|data: &[u8]| {
    // The first byte: how the client ends (bits 0-1) and how many cuts (bits
    // 2-4, 7 meaning a cut after every byte); the next two seed the cuts.
    let Some((&control, rest)) = data.split_first() else { return };
    let (seed, input) = rest.split_at(rest.len().min(2));
    let ending = match control & 3 {
        0 => Ending::KeepOpen,
        1 | 2 => Ending::PeerClose,
        _ => Ending::Timeout,
    };
    let cuts = usize::from((control >> 2) & 7);
    let mut points: Vec<usize> = if cuts == 7 && input.len() <= 256 {
        (1..input.len()).collect()
    } else {
        let mut state = seed.iter().fold(0x9e37_79b9u32, |s, &b| s.rotate_left(8) ^ u32::from(b)) | 1;
        (0..cuts.min(6))
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as usize % (input.len() + 1)
            })
            .collect()
    };
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut from = 0;
    for &p in &points {
        chunks.push(&input[from..p]);
        from = p;
    }
    chunks.push(&input[from..]);
    chunks.retain(|c| !c.is_empty());

    let split = drive(&chunks, ending);
    let statuses = check(input, &split);
    if chunks.len() > 1 {
        let whole = drive(&[input], ending);
        assert_eq!(check(input, &whole), statuses, "the answer depends on how the bytes were cut: {points:?}");
        assert_eq!(whole.closed, split.closed, "closing depends on how the bytes were cut: {points:?}");
    }
});
