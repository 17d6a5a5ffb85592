//! The frame decoder's tables: valid client streams and invalid ones, each
//! fed whole, cut at every boundary, and (the short ones) at every pair.

use super::*;
use crate::websocket::encode::encode_header;

/// One frame of a test stream, as a client would send it.
#[derive(Clone)]
struct F {
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    payload: Vec<u8>,
}

fn f(fin: bool, opcode: Opcode, payload: impl AsRef<[u8]>) -> F {
    F { fin, rsv1: false, opcode, payload: payload.as_ref().to_vec() }
}

fn text(s: &str) -> F {
    f(true, Opcode::Text, s)
}

/// A key that varies with the payload, so every byte is really masked.
fn key_for(payload: &[u8]) -> [u8; 4] {
    let n = payload.len() as u8;
    [0x37 ^ n, 0xfa, 0x21 ^ n.rotate_left(3), 0x3d]
}

/// A client frame: the server's header with the MASK bit and a key
/// inserted, then the masked payload.
fn wire(frame: &F) -> Vec<u8> {
    let mut head = [0; 10];
    let n = encode_header(&mut head, frame.fin, frame.rsv1, frame.opcode, frame.payload.len() as u64).unwrap();
    head[1] |= 0x80;
    let key = key_for(&frame.payload);
    let mut payload = frame.payload.clone();
    apply_mask(&mut payload, key, 0);
    [&head[..n], &key, &payload].concat()
}

fn stream(frames: &[F]) -> Vec<u8> {
    frames.iter().flat_map(wire).collect()
}

/// An event with its payload pieces merged, so streams cut differently compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Start(Header),
    Data(Vec<u8>),
    End(Header),
}

/// How feeding a stream went: the events, and the error that ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<Ev>,
    error: Option<Error>,
}

/// The events a valid stream must give: per frame its start, its
/// payload (if any) and its end.
fn expected(frames: &[F]) -> Vec<Ev> {
    let mut events = Vec::new();
    for frame in frames {
        let header = Header { fin: frame.fin, rsv1: frame.rsv1, opcode: frame.opcode, len: frame.payload.len() as u64 };
        events.push(Ev::Start(header));
        if !frame.payload.is_empty() {
            events.push(Ev::Data(frame.payload.clone()));
        }
        events.push(Ev::End(header));
    }
    events
}

/// Feed `input` as a server would, the bytes becoming available up to
/// each of `cuts` in turn, then up to the end, checking the decoder's
/// promises on every call.
fn feed(input: &[u8], config: Config, cuts: &[usize]) -> Outcome {
    let mut buf = input.to_vec();
    let mut dec = FrameDecoder::new(config);
    let mut ends = cuts.iter().copied().chain([input.len()]);
    let mut end = ends.next().unwrap_or(input.len());
    let (mut events, mut pos) = (Vec::<Ev>::new(), 0);
    let error = loop {
        let avail = &mut buf[pos..end];
        let step = match dec.decode(avail) {
            Ok(step) => step,
            Err(e) => {
                assert_eq!(dec.decode(avail), Err(e), "errors repeat");
                break Some(e);
            }
        };
        assert!(step.consumed <= avail.len());
        assert_eq!(&avail[step.consumed..], &input[pos + step.consumed..end], "bytes past consumed untouched");
        match step.event {
            None => {
                assert_eq!(step.consumed, avail.len(), "no event, yet bytes left over");
                pos = end;
                match ends.next() {
                    Some(next) => end = next.max(end),
                    None => break None,
                }
                continue;
            }
            Some(Event::Payload(range)) => {
                assert!(!range.is_empty() && range.end <= step.consumed);
                let piece = &avail[range];
                match events.last_mut() {
                    Some(Ev::Data(data)) => data.extend_from_slice(piece),
                    _ => events.push(Ev::Data(piece.to_vec())),
                }
            }
            Some(Event::Start(h)) => events.push(Ev::Start(h)),
            Some(Event::End(h)) => {
                assert_eq!(step.consumed, 0);
                events.push(Ev::End(h));
            }
        }
        pos += step.consumed;
    };
    Outcome { events, error }
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    config: Config,
    expect: Outcome,
}

const DEFLATE: Config = Config { max_frame: 1 << 20, max_message: 1 << 20, rsv1: true };
const SMALL: Config = Config { max_frame: 100, max_message: 150, rsv1: false };

fn valid(name: &'static str, frames: &[F]) -> Case {
    valid_with(name, Config::default(), frames)
}

fn valid_with(name: &'static str, config: Config, frames: &[F]) -> Case {
    Case { name, input: stream(frames), config, expect: Outcome { events: expected(frames), error: None } }
}

/// A stream whose `good` frames are decoded, then `bad` bytes refused
/// with `error` after `prefix` of its payload has been handed out.
fn invalid(name: &'static str, config: Config, good: &[F], bad: &[u8], prefix: &[Ev], error: Error) -> Case {
    let input = [stream(good), bad.to_vec()].concat();
    let mut events = expected(good);
    events.extend_from_slice(prefix);
    Case { name, input, config, expect: Outcome { events, error: Some(error) } }
}

fn bad(name: &'static str, good: &[F], bad_bytes: &[u8], error: Error) -> Case {
    invalid(name, Config::default(), good, bad_bytes, &[], error)
}

fn header(fin: bool, opcode: Opcode, len: u64) -> Header {
    Header { fin, rsv1: false, opcode, len }
}

/// The first frames of a text message whose payload holds a bad byte:
/// the events up to that byte.
fn bad_text(name: &'static str, good: &[F], last: F, valid_prefix: usize) -> Case {
    let h = Header { fin: last.fin, rsv1: false, opcode: last.opcode, len: last.payload.len() as u64 };
    let mut prefix = vec![Ev::Start(h)];
    if valid_prefix > 0 {
        prefix.push(Ev::Data(last.payload[..valid_prefix].to_vec()));
    }
    invalid(name, Config::default(), good, &wire(&last), &prefix, Error::InvalidUtf8)
}

#[rustfmt::skip]
fn table() -> Vec<Case> {
    use Error::*;
    use Opcode::*;
    let big = |n: usize| -> Vec<u8> { (0..n).map(|i| (i * 7 % 251) as u8).collect() };
    let close = |code: u16, reason: &str| [&code.to_be_bytes()[..], reason.as_bytes()].concat();
    let frag = [f(false, Text, "Hel"), f(true, Ping, "p"), f(true, Continuation, "lo")];
    vec![
        // RFC 6455 §5.7: a single-frame masked text message.
        Case {
            name: "RFC 6455 §5.7 masked Hello",
            input: b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58".to_vec(),
            config: Config::default(),
            expect: Outcome { events: expected(&[text("Hello")]), error: None },
        },
        valid("empty input", &[]),
        valid("empty text", &[text("")]),
        valid("125 bytes, 7-bit length", &[f(true, Binary, big(125))]),
        valid("126 bytes, 16-bit length", &[f(true, Binary, big(126))]),
        valid("65535 bytes, 16-bit length", &[f(true, Binary, big(65535))]),
        valid("65536 bytes, 64-bit length", &[f(true, Binary, big(65536))]),
        valid("utf-8 text", &[text("κόσμε € 𝄞")]),
        valid("binary need not be utf-8", &[f(true, Binary, b"\xFF\xC0\x80")]),
        valid("two messages", &[text("a"), f(true, Binary, "b")]),
        valid("fragments with a ping between", &frag),
        valid("fragments, every control frame between", &[
            f(false, Binary, "a"), f(true, Ping, ""), f(false, Continuation, ""), f(true, Pong, "x"),
            f(true, Close, close(1000, "")), f(true, Continuation, "b"),
        ]),
        valid("a character split across fragments", &[f(false, Text, b"\xE2"), f(false, Continuation, b"\x82"), f(true, Continuation, b"\xAC!")]),
        valid("empty first and last fragments", &[f(false, Text, ""), f(false, Continuation, "x"), f(true, Continuation, "")]),
        valid("ping, pong, close with code and reason", &[f(true, Ping, "hi"), f(true, Pong, ""), f(true, Close, close(1001, "going away"))]),
        valid("close without payload", &[f(true, Close, "")]),
        valid("close with a code only", &[f(true, Close, close(4999, ""))]),
        valid("close reason in utf-8", &[f(true, Close, close(3000, "café"))]),
        valid("125-byte ping", &[f(true, Ping, big(125))]),
        valid("125-byte close", &[f(true, Close, [close(1000, ""), vec![b'a'; 123]].concat())]),
        valid_with("compressed message: RSV1, no utf-8 check", DEFLATE, &[
            F { fin: false, rsv1: true, opcode: Text, payload: b"\xF2\x48\xCD".to_vec() },
            f(true, Ping, ""),
            f(true, Continuation, b"\xC9\xC9\x07\x00"),
        ]),
        valid_with("message at the limit", SMALL, &[f(false, Binary, big(100)), f(true, Continuation, big(50))]),
        valid_with("control frames do not count toward the message", SMALL, &[
            f(false, Binary, big(100)), f(true, Ping, big(100)), f(true, Continuation, big(50)),
        ]),
        // Partial streams: a frame whose payload has not all arrived.
        Case {
            name: "65536-byte frame, first bytes only",
            input: stream(&[f(true, Binary, big(65536))])[..30].to_vec(),
            config: Config::default(),
            expect: Outcome { events: vec![Ev::Start(header(true, Binary, 65536)), Ev::Data(big(16))], error: None },
        },
        Case {
            name: "header only",
            input: stream(&[text("abc")])[..6].to_vec(),
            config: Config::default(),
            expect: Outcome { events: vec![Ev::Start(header(true, Text, 3))], error: None },
        },
        Case {
            name: "half a header",
            input: stream(&[f(true, Binary, big(300))])[..5].to_vec(),
            config: Config::default(),
            expect: Outcome { events: vec![], error: None },
        },
        // §5.1: client frames are masked.
        bad("unmasked", &[], b"\x81\x05Hello", Unmasked),
        bad("unmasked after a good frame", &[text("ok")], b"\x82\x00", Unmasked),
        // §5.2: reserved bits and opcodes.
        bad("RSV1 without an extension", &[], b"\xC1\x80\0\0\0\0", ReservedBits),
        bad("RSV2", &[], b"\xA1\x80\0\0\0\0", ReservedBits),
        bad("RSV3", &[], b"\x91\x80\0\0\0\0", ReservedBits),
        invalid("RSV1 on a continuation", DEFLATE, &[f(false, Text, "a")], b"\xC0\x80\0\0\0\0", &[], ReservedBits),
        invalid("RSV1 on a ping", DEFLATE, &[], b"\xC9\x80\0\0\0\0", &[], ReservedBits),
        bad("opcode 3", &[], b"\x83\x80\0\0\0\0", UnknownOpcode),
        bad("opcode 7", &[], b"\x87\x80\0\0\0\0", UnknownOpcode),
        bad("opcode B", &[], b"\x8B\x80\0\0\0\0", UnknownOpcode),
        bad("opcode F", &[], b"\x8F\x80\0\0\0\0", UnknownOpcode),
        // §5.5: control frames.
        bad("fragmented ping", &[], b"\x09\x80\0\0\0\0", FragmentedControl),
        bad("fragmented close", &[], b"\x08\x82\0\0\0\0\x03\xE8", FragmentedControl),
        bad("ping of 126 bytes", &[], b"\x89\xFE\x00\x7E", ControlTooLong),
        bad("close of 127-form length", &[], b"\x88\xFF", ControlTooLong),
        // §5.2: lengths.
        bad("64-bit length, top bit set", &[], b"\x82\xFF\x80\0\0\0\0\0\0\0", LengthTopBit),
        bad("16-bit form for 125", &[], b"\x82\xFE\x00\x7D", NonMinimalLength),
        bad("64-bit form for 65535", &[], b"\x82\xFF\0\0\0\0\0\0\xFF\xFF", NonMinimalLength),
        // 1009.
        invalid("frame over the limit", SMALL, &[], b"\x82\xFE\x00\x7E", &[], FrameTooLarge),
        invalid("64-bit frame over the limit", SMALL, &[], b"\x82\xFF\0\0\0\x01\0\0\0\0", &[], FrameTooLarge),
        invalid("message over the limit", SMALL, &[f(false, Binary, big(100))], &wire(&f(true, Continuation, big(51))), &[], MessageTooLarge),
        // §5.4: fragmentation.
        bad("continuation first", &[], &wire(&f(true, Continuation, "x")), UnexpectedContinuation),
        bad("continuation after the last fragment", &[f(false, Text, "a"), f(true, Continuation, "b")], &wire(&f(true, Continuation, "c")), UnexpectedContinuation),
        bad("text while a message is open", &[f(false, Text, "a")], &wire(&text("b")), ExpectedContinuation),
        bad("binary while a message is open", &[f(false, Text, "a"), f(true, Ping, "")], &wire(&f(true, Binary, "b")), ExpectedContinuation),
        // §8.1: text must be UTF-8, checked as it arrives.
        bad_text("bad byte in one frame", &[], text("ab\u{FF}cd").clone_with(b"ab\xFFcd"), 2),
        bad_text("bad first byte", &[], f(true, Text, b"\x80abc"), 0),
        bad_text("surrogate", &[], f(true, Text, b"a\xED\xA0\x80"), 2),
        bad_text("overlong", &[], f(true, Text, b"\xC0\xAF"), 0),
        bad_text("past U+10FFFF", &[], f(true, Text, b"\xF4\x90\x80\x80"), 1),
        bad_text("bad byte in a later fragment", &[f(false, Text, "ok "), f(true, Ping, "")], f(true, Continuation, b"fine\xFE"), 4),
        bad_text("character broken across fragments", &[f(false, Text, b"\xE2\x82")], f(true, Continuation, b"A"), 0),
        invalid("text ends inside a character", Config::default(), &[], &wire(&f(true, Text, b"a\xE2\x82")),
            &[Ev::Start(header(true, Text, 3)), Ev::Data(b"a\xE2\x82".to_vec())], InvalidUtf8),
        // §5.5.1, §7.4: close payloads.
        bad("close with one byte", &[], b"\x88\x81\0\0\0\0\x03", CloseLength),
        invalid("close code 1005", Config::default(), &[], &wire(&f(true, Close, close(1005, ""))),
            &[Ev::Start(header(true, Close, 2)), Ev::Data(vec![0x03])], CloseCode),
        invalid("close code 2999", Config::default(), &[], &wire(&f(true, Close, close(2999, "x"))),
            &[Ev::Start(header(true, Close, 3)), Ev::Data(vec![0x0B])], CloseCode),
        invalid("close reason not utf-8", Config::default(), &[], &wire(&f(true, Close, [close(1000, "a"), vec![0xFF]].concat())),
            &[Ev::Start(header(true, Close, 4)), Ev::Data(b"\x03\xE8a".to_vec())], InvalidUtf8),
        invalid("close reason ends inside a character", Config::default(), &[], &wire(&f(true, Close, [close(1000, ""), vec![0xC3]].concat())),
            &[Ev::Start(header(true, Close, 3)), Ev::Data(b"\x03\xE8\xC3".to_vec())], InvalidUtf8),
    ]
}

impl F {
    fn clone_with(&self, payload: &[u8]) -> F {
        F { payload: payload.to_vec(), ..self.clone() }
    }
}

use crate::test_cuts::cut_points;

#[test]
fn table_in_one_piece() {
    let rows = table();
    assert!(rows.len() >= 50);
    for row in &rows {
        assert_eq!(feed(&row.input, row.config, &[]), row.expect, "{}", row.name);
    }
}

#[test]
fn table_split_at_every_boundary() {
    for row in table() {
        for cut in cut_points(row.input.len()) {
            assert_eq!(feed(&row.input, row.config, &[cut]), row.expect, "{} cut at {cut}", row.name);
        }
        if row.input.len() <= 1000 {
            let every: Vec<usize> = (0..=row.input.len()).collect();
            assert_eq!(feed(&row.input, row.config, &every), row.expect, "{} byte by byte", row.name);
        }
    }
}

#[test]
fn short_rows_split_at_every_pair_of_boundaries() {
    for row in table().iter().filter(|row| row.input.len() <= 64) {
        let len = row.input.len();
        for first in 0..=len {
            for second in first..=len {
                let got = feed(&row.input, row.config, &[first, second]);
                assert_eq!(got, row.expect, "{} cut at {first}, {second}", row.name);
            }
        }
    }
}

#[test]
fn one_event_per_call() {
    let mut input = stream(&[text("ab"), f(true, Opcode::Ping, "")]);
    let mut dec = FrameDecoder::new(Config::default());
    let start = dec.decode(&mut input).unwrap();
    assert_eq!(start, Step { consumed: 6, event: Some(Event::Start(header(true, Opcode::Text, 2))) });
    let piece = dec.decode(&mut input[6..]).unwrap();
    assert_eq!(piece, Step { consumed: 2, event: Some(Event::Payload(0..2)) });
    assert_eq!(&input[6..8], b"ab");
    let end = dec.decode(&mut input[8..]).unwrap();
    assert_eq!(end, Step { consumed: 0, event: Some(Event::End(header(true, Opcode::Text, 2))) });
    assert_eq!(dec.decode(&mut input[8..]).unwrap().event, Some(Event::Start(header(true, Opcode::Ping, 0))));
    assert_eq!(dec.decode(&mut input[14..]).unwrap().event, Some(Event::End(header(true, Opcode::Ping, 0))));
    assert_eq!(dec.decode(&mut input[14..]).unwrap(), Step { consumed: 0, event: None });
}

#[test]
fn open_message_follows_the_fragments() {
    let mut input =
        stream(&[f(false, Opcode::Binary, "a"), f(true, Opcode::Ping, ""), f(true, Opcode::Continuation, "b")]);
    let mut dec = FrameDecoder::new(Config::default());
    let (mut pos, mut seen) = (0, Vec::new());
    loop {
        let step = dec.decode(&mut input[pos..]).unwrap();
        let Some(event) = step.event else { break };
        if let Event::End(h) = event {
            seen.push((h.opcode, dec.open_message()));
        }
        pos += step.consumed;
    }
    use Opcode::*;
    assert_eq!(seen, [(Binary, Some(Binary)), (Ping, Some(Binary)), (Continuation, None)]);
}

#[test]
fn limits_are_checked_before_the_payload_arrives() {
    // A header alone announcing 2 GiB fails at once, with nothing buffered.
    let mut input = *b"\x82\xFF\0\0\0\0\x80\0\0\0";
    let mut dec = FrameDecoder::new(Config::default());
    assert_eq!(dec.decode(&mut input), Err(Error::FrameTooLarge));
    assert_eq!(Error::FrameTooLarge.close_code(), 1009);
}
