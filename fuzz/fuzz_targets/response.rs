//! The response head parser on arbitrary bytes, whole and cut: the answer
//! (the same head, partial, or the same error) must not depend on how the
//! bytes arrived; nothing may panic; and whatever it accepts must be safe to
//! forward: no bare CR or LF anywhere in the head, nothing but CRLF ending
//! it, framing consistent with the status and the request, no hop-by-hop
//! field among the end-to-end ones, and a head httparse reads the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "cuts.rs"]
mod cuts;
use wired_parser::connection::HOP_BY_HOP;
use wired_parser::{EMPTY_HEADER, Limits, ResponseBody, ResponseError, ResponseParser, ResponseTo, Status, Version};

/// Small enough for the fuzzer to reach both limits.
const TIGHT: Limits = Limits { max_request_line: 64, max_headers: 4, max_head_bytes: 256 };

/// Everything about an answer that must not depend on how the bytes arrived.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Complete {
        version: Version,
        status: u16,
        reason: Vec<u8>,
        head_len: usize,
        body: ResponseBody,
        keep_alive: bool,
        upgrade: Option<Vec<u8>>,
        fields: Vec<(String, Vec<u8>)>,
        end_to_end: Vec<String>,
    },
    Partial,
    Failed(ResponseError),
}

fn parse(parser: &mut ResponseParser, buf: &[u8], limits: &Limits, to: ResponseTo) -> Outcome {
    let mut fields = [EMPTY_HEADER; 100];
    match parser.parse(buf, limits, to, &mut fields) {
        Ok(Status::Complete(r)) => Outcome::Complete {
            version: r.version,
            status: r.status,
            reason: r.reason.to_vec(),
            head_len: r.head_len,
            body: r.body,
            keep_alive: r.keep_alive,
            upgrade: r.upgrade.map(<[u8]>::to_vec),
            fields: r.headers.iter().map(|f| (f.name.to_owned(), f.value.to_vec())).collect(),
            end_to_end: r.end_to_end().map(|f| f.name.to_owned()).collect(),
        },
        Ok(Status::Partial) => Outcome::Partial,
        Err(e) => {
            assert_eq!(e.status(), 502);
            Outcome::Failed(e)
        }
    }
}

/// Feed `input` as a proxy would, the whole buffer read so far each time,
/// the reads ending at each of `cuts` and then at the end.
fn feed(input: &[u8], cuts: &[usize], limits: &Limits, to: ResponseTo) -> Outcome {
    let mut parser = ResponseParser::new();
    for end in cuts.iter().copied().chain([input.len()]) {
        match parse(&mut parser, &input[..end], limits, to) {
            Outcome::Partial => {}
            done => return done,
        }
    }
    Outcome::Partial
}

/// What an accepted head must be, whatever the input was.
fn check_accepted(input: &[u8], outcome: &Outcome, limits: &Limits, to: ResponseTo) {
    let Outcome::Complete { status, reason, head_len, body, keep_alive, upgrade, fields, end_to_end, .. } = outcome
    else {
        return;
    };
    let head = &input[..*head_len];
    assert!(head.len() <= limits.max_head_bytes);
    assert!(head.starts_with(b"HTTP/1.0 ") || head.starts_with(b"HTTP/1.1 "));
    assert!(head.ends_with(b"\r\n\r\n"));
    // Every line ends in CRLF, and CR appears nowhere else.
    for (i, &b) in head.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(head.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' => assert_eq!(head[i - 1], b'\r', "bare LF at {i}"),
            _ => {}
        }
    }
    assert!((100..=599).contains(status));
    let clean = |v: &[u8]| !v.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0);
    assert!(clean(reason));
    assert!(fields.iter().all(|(name, value)| !name.is_empty() && clean(name.as_bytes()) && clean(value)));
    // Framing agrees with the status and the request (RFC 9112 §6.3).
    let tunnel = *status == 101 || (to == ResponseTo::Connect && (200..300).contains(status));
    assert_eq!(*body == ResponseBody::Tunnel, tunnel);
    assert_eq!(upgrade.is_some(), *status == 101);
    if !tunnel && (to == ResponseTo::Head || matches!(status, 100..=199 | 204 | 304)) {
        assert_eq!(*body, ResponseBody::None);
    }
    if matches!(body, ResponseBody::UntilClose | ResponseBody::Tunnel) {
        assert!(!keep_alive);
    }
    assert!(end_to_end.iter().all(|name| !HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))));
    // httparse, lenient where this parser is strict, reads the same head.
    let mut slots = [httparse::EMPTY_HEADER; 100];
    let mut theirs = httparse::Response::new(&mut slots);
    assert_eq!(theirs.parse(input), Ok(httparse::Status::Complete(*head_len)));
    assert_eq!(theirs.code, Some(*status));
    assert_eq!(theirs.headers.len(), fields.len());
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the request, the limits and the cuts (% 8 cuts,
    // 7 meaning byte by byte); the next two seed the cuts; the rest is the stream.
    let Some(([control, a, b], input)) = data.split_first_chunk::<3>() else {
        return;
    };
    let to = [ResponseTo::Other, ResponseTo::Head, ResponseTo::Connect][usize::from(control % 3)];
    let count = usize::from(control / 3 % 8);
    let limits = if control / 24 % 2 == 1 { TIGHT } else { Limits::default() };
    let whole = feed(input, &[], &limits, to);
    check_accepted(input, &whole, &limits, to);
    if whole == Outcome::Partial {
        assert!(input.len() <= limits.max_head_bytes, "a head past the limit is refused, not awaited");
    }
    let cuts = cuts::points(u32::from(*a) << 8 | u32::from(*b), count, input.len());
    assert_eq!(feed(input, &cuts, &limits, to), whole, "cut at {cuts:?}");
});
