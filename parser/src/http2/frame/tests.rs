//! The frame decoder's tables: streams of frames, valid and invalid, each
//! fed whole, cut at every boundary, byte by byte, and (the short ones) at
//! every pair of boundaries.

use super::*;
use crate::http2::settings::MAX_WINDOW_SIZE;

/// A frame as raw bytes, built by hand rather than by the encoder, so that
/// the decoder is tested against the RFC's layout and not against itself.
fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = head(payload.len() as u32, kind, flags, stream);
    v.extend_from_slice(payload);
    v
}

/// A frame header alone, announcing `len` bytes of payload.
fn head(len: u32, kind: u8, flags: u8, stream: u32) -> Vec<u8> {
    let mut v = len.to_be_bytes()[1..].to_vec();
    v.extend_from_slice(&[kind, flags]);
    v.extend_from_slice(&stream.to_be_bytes());
    v
}

fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

/// What the decoder produced, owned, so runs cut differently compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    /// A frame: its stream and its payload as `Debug` prints it.
    Frame(u32, String),
    /// A stream error, after which decoding went on.
    Reset(u32, Reason),
}

fn ev(stream: u32, payload: Payload<'_>) -> Ev {
    Ev::Frame(stream, format!("{payload:?}"))
}

/// How feeding a stream ended: waiting for `needed` bytes from the last
/// frame boundary, or a connection error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Partial(usize),
    Failed(Reason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<Ev>,
    end: End,
}

/// Feed `input` as a server would, the bytes becoming available up to each
/// of `cuts` in turn and then to the end, checking the decoder's promises
/// on every call.
fn feed(input: &[u8], max_frame_size: u32, cuts: &[usize]) -> Outcome {
    let mut dec = FrameDecoder::new();
    dec.set_max_frame_size(max_frame_size);
    let mut ends = cuts.iter().copied().chain([input.len()]);
    let mut end = ends.next().unwrap_or(input.len());
    let (mut events, mut pos) = (Vec::new(), 0);
    loop {
        let avail = &input[pos..end];
        match dec.decode(avail) {
            Ok(Decoded::Partial { needed }) => {
                assert!(needed > avail.len(), "partial, yet {needed} bytes are there");
                match ends.next() {
                    Some(next) => end = next.max(end),
                    None => return Outcome { events, end: End::Partial(needed) },
                }
            }
            Ok(Decoded::Frame { frame, consumed }) => {
                assert_eq!(consumed, frame.header.frame_len());
                assert!(consumed <= avail.len());
                assert!(frame.to_string().starts_with(frame.header.kind.name()));
                events.push(ev(frame.stream(), frame.payload));
                pos += consumed;
            }
            Err(Error::Stream { stream, reason, consumed }) => {
                assert!(consumed <= avail.len(), "a stream error comes once the frame is whole");
                assert_eq!(dec.open_field_block(), None);
                events.push(Ev::Reset(stream, reason));
                pos += consumed;
            }
            Err(Error::Connection(reason)) => {
                assert_eq!(dec.decode(input), Err(Error::Connection(reason)), "connection errors repeat");
                return Outcome { events, end: End::Failed(reason) };
            }
        }
    }
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    max: u32,
    expect: Outcome,
}

const DEFAULT_MAX: u32 = 16_384;

fn valid(name: &'static str, input: Vec<u8>, events: Vec<Ev>) -> Case {
    Case { name, input, max: DEFAULT_MAX, expect: Outcome { events, end: End::Partial(HEADER_LEN) } }
}

fn bad(name: &'static str, input: Vec<u8>, events: Vec<Ev>, reason: Reason) -> Case {
    Case { name, input, max: DEFAULT_MAX, expect: Outcome { events, end: End::Failed(reason) } }
}

/// A single frame refused with a connection error.
fn refused(name: &'static str, input: Vec<u8>, reason: Reason) -> Case {
    bad(name, input, vec![], reason)
}

fn setting(id: u16, value: u32) -> Vec<u8> {
    [&id.to_be_bytes()[..], &value.to_be_bytes()].concat()
}

#[rustfmt::skip]
fn table() -> Vec<Case> {
    use FrameType as T;
    use Reason::*;
    let (data, headers, priority, rst, settings, push, ping, goaway, window, cont) =
        (0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9);
    let big = |n: usize| -> Vec<u8> { (0..n).map(|i| (i * 7 % 251) as u8).collect() };
    let big_16k = big(16_384);
    let big_20k = big(20_000);
    let empty_settings = || ev(0, Payload::Settings { ack: false, settings: Settings { bytes: &[] } });
    let ping_frame = raw(ping, 0, 0, b"12345678");
    let ping_ev = || ev(0, Payload::Ping { ack: false, data: *b"12345678" });
    let open_block = raw(headers, 0, 1, b"\x82");
    let open_ev = || ev(1, Payload::Headers { fragment: b"\x82", end_stream: false, end_headers: false });
    let all_settings = cat(&[
        setting(0x1, 0), setting(0x2, 0), setting(0x2, 1), setting(0x3, 0), setting(0x4, MAX_WINDOW_SIZE),
        setting(0x5, 16_384), setting(0x5, 16_777_215), setting(0x6, u32::MAX), setting(0x8, 7), setting(0xffff, u32::MAX),
    ]);
    vec![
        // §6.1 DATA.
        valid("DATA", raw(data, 0x1, 1, b"hello"), vec![ev(1, Payload::Data { data: b"hello", end_stream: true })]),
        valid("empty DATA with END_STREAM", raw(data, 0x1, 3, b""), vec![ev(3, Payload::Data { data: b"", end_stream: true })]),
        valid("padded DATA", raw(data, 0x8, 1, b"\x02abc\0\0"), vec![ev(1, Payload::Data { data: b"abc", end_stream: false })]),
        valid("padded DATA, Pad Length 0", raw(data, 0x8, 1, b"\0abc"), vec![ev(1, Payload::Data { data: b"abc", end_stream: false })]),
        valid("padded DATA, only the Pad Length byte", raw(data, 0x9, 1, b"\0"), vec![ev(1, Payload::Data { data: b"", end_stream: true })]),
        valid("padded DATA, padding fills all but the Pad Length byte", raw(data, 0x8, 1, b"\x03\0\0\0"),
            vec![ev(1, Payload::Data { data: b"", end_stream: false })]),
        valid("DATA, undefined flags ignored", raw(data, 0xF6, 1, b"x"), vec![ev(1, Payload::Data { data: b"x", end_stream: false })]),
        valid("DATA, reserved stream bit ignored", raw(data, 0, 0x8000_0001, b"x"), vec![ev(1, Payload::Data { data: b"x", end_stream: false })]),
        valid("DATA of exactly the default limit", raw(data, 0, 1, &big_16k), vec![ev(1, Payload::Data { data: &big_16k, end_stream: false })]),
        Case { name: "DATA within a raised limit", input: raw(data, 0, 1, &big_20k), max: 20_000,
            expect: Outcome { events: vec![ev(1, Payload::Data { data: &big_20k, end_stream: false })], end: End::Partial(HEADER_LEN) } },
        // §6.2 HEADERS and §6.10 CONTINUATION.
        valid("HEADERS", raw(headers, 0x5, 1, b"\x82\x86\x84"),
            vec![ev(1, Payload::Headers { fragment: b"\x82\x86\x84", end_stream: true, end_headers: true })]),
        valid("HEADERS with priority fields skipped", raw(headers, 0x24, 3, b"\x80\0\0\x01\x0f\x82"),
            vec![ev(3, Payload::Headers { fragment: b"\x82", end_stream: false, end_headers: true })]),
        valid("HEADERS padded with priority", raw(headers, 0x2C, 3, b"\x02\0\0\0\x01\x0f\x82\x86\0\0"),
            vec![ev(3, Payload::Headers { fragment: b"\x82\x86", end_stream: false, end_headers: true })]),
        valid("HEADERS padded with priority, no fragment", raw(headers, 0x2C, 3, b"\x01\0\0\0\x01\x0f\0"),
            vec![ev(3, Payload::Headers { fragment: b"", end_stream: false, end_headers: true })]),
        valid("HEADERS, two CONTINUATIONs", cat(&[raw(headers, 0x1, 5, b"\x82"), raw(cont, 0, 5, b"\x86"), raw(cont, 0x4, 5, b"\x84")]), vec![
            ev(5, Payload::Headers { fragment: b"\x82", end_stream: true, end_headers: false }),
            ev(5, Payload::Continuation { fragment: b"\x86", end_headers: false }),
            ev(5, Payload::Continuation { fragment: b"\x84", end_headers: true }),
        ]),
        valid("empty CONTINUATION ends the block", cat(&[open_block.clone(), raw(cont, 0x4, 1, b"")]),
            vec![open_ev(), ev(1, Payload::Continuation { fragment: b"", end_headers: true })]),
        valid("after END_HEADERS any frame may follow", cat(&[open_block.clone(), raw(cont, 0x4, 1, b""), ping_frame.clone()]),
            vec![open_ev(), ev(1, Payload::Continuation { fragment: b"", end_headers: true }), ping_ev()]),
        // §6.3 PRIORITY.
        valid("PRIORITY", raw(priority, 0, 3, b"\x80\0\0\x01\x0f"),
            vec![ev(3, Payload::Priority { exclusive: true, dependency: 1, weight: 15 })]),
        // §6.4 RST_STREAM.
        valid("RST_STREAM", raw(rst, 0, 1, b"\0\0\0\x08"), vec![ev(1, Payload::RstStream { code: ErrorCode::Cancel })]),
        valid("RST_STREAM, unknown code", raw(rst, 0, 1, b"\0\0\x12\x34"), vec![ev(1, Payload::RstStream { code: ErrorCode::Unknown(0x1234) })]),
        // §6.5 SETTINGS.
        valid("empty SETTINGS", raw(settings, 0, 0, b""), vec![empty_settings()]),
        valid("SETTINGS ACK", raw(settings, 0x1, 0, b""), vec![ev(0, Payload::Settings { ack: true, settings: Settings { bytes: &[] } })]),
        valid("SETTINGS at every bound, and unknown ids", raw(settings, 0, 0, &all_settings),
            vec![ev(0, Payload::Settings { ack: false, settings: Settings { bytes: &all_settings } })]),
        // §6.6 PUSH_PROMISE.
        valid("PUSH_PROMISE", raw(push, 0x4, 1, b"\x80\0\0\x02\x82"),
            vec![ev(1, Payload::PushPromise { promised: 2, fragment: b"\x82", end_headers: true })]),
        valid("PUSH_PROMISE padded, then CONTINUATION", cat(&[raw(push, 0x8, 1, b"\x01\0\0\0\x04\x82\0"), raw(cont, 0x4, 1, b"\x84")]), vec![
            ev(1, Payload::PushPromise { promised: 4, fragment: b"\x82", end_headers: false }),
            ev(1, Payload::Continuation { fragment: b"\x84", end_headers: true }),
        ]),
        valid("PUSH_PROMISE padded, padding up to the promised stream", raw(push, 0xC, 1, b"\x02\0\0\0\x04\0\0"),
            vec![ev(1, Payload::PushPromise { promised: 4, fragment: b"", end_headers: true })]),
        // §6.7 PING.
        valid("PING", ping_frame.clone(), vec![ping_ev()]),
        valid("PING ACK", raw(ping, 0x1, 0, b"\0\0\0\0\0\0\0\x01"), vec![ev(0, Payload::Ping { ack: true, data: [0, 0, 0, 0, 0, 0, 0, 1] })]),
        // §6.8 GOAWAY.
        valid("GOAWAY", raw(goaway, 0, 0, b"\0\0\0\x05\0\0\0\0"),
            vec![ev(0, Payload::GoAway { last_stream: 5, code: ErrorCode::NoError, debug: b"" })]),
        valid("GOAWAY with debug data, reserved bit set", raw(goaway, 0, 0, b"\xff\xff\xff\xff\0\0\0\x0bslow down"),
            vec![ev(0, Payload::GoAway { last_stream: 0x7FFF_FFFF, code: ErrorCode::EnhanceYourCalm, debug: b"slow down" })]),
        // §6.9 WINDOW_UPDATE.
        valid("WINDOW_UPDATE on the connection", raw(window, 0, 0, b"\0\0\x01\0"), vec![ev(0, Payload::WindowUpdate { increment: 256 })]),
        valid("WINDOW_UPDATE on a stream, largest, reserved bit set", raw(window, 0, 7, b"\xff\xff\xff\xff"),
            vec![ev(7, Payload::WindowUpdate { increment: MAX_WINDOW_SIZE })]),
        // §4.1, §5.5: unknown types are handed out to be ignored.
        valid("unknown type", raw(0xfa, 0xff, 9, b"whatever"), vec![ev(9, Payload::Unknown { payload: b"whatever" })]),
        valid("unknown type between frames", cat(&[ping_frame.clone(), raw(0x10, 0, 0, b""), ping_frame.clone()]),
            vec![ping_ev(), ev(0, Payload::Unknown { payload: b"" }), ping_ev()]),
        // A client's first frames.
        valid("SETTINGS, WINDOW_UPDATE, HEADERS", cat(&[
            raw(settings, 0, 0, &setting(0x4, 1 << 20)), raw(window, 0, 0, b"\0\x0f\0\x01"), raw(headers, 0x5, 1, b"\x82\x84\x87"),
        ]), vec![
            ev(0, Payload::Settings { ack: false, settings: Settings { bytes: &setting(0x4, 1 << 20) } }),
            ev(0, Payload::WindowUpdate { increment: 0x000f_0001 }),
            ev(1, Payload::Headers { fragment: b"\x82\x84\x87", end_stream: true, end_headers: true }),
        ]),
        // Input that ends inside a frame.
        Case { name: "header only", input: head(5, data, 0, 1), max: DEFAULT_MAX, expect: Outcome { events: vec![], end: End::Partial(14) } },
        Case { name: "half a header", input: head(5, data, 0, 1)[..4].to_vec(), max: DEFAULT_MAX, expect: Outcome { events: vec![], end: End::Partial(9) } },
        Case { name: "a frame, then all but a byte of the next", input: cat(&[ping_frame.clone(), ping_frame[..16].to_vec()]), max: DEFAULT_MAX,
            expect: Outcome { events: vec![ping_ev()], end: End::Partial(17) } },
        // Stream errors: the stream is reset and decoding goes on.
        valid("PRIORITY of 4 bytes, then PING", cat(&[raw(priority, 0, 3, b"\0\0\0\x01"), ping_frame.clone()]),
            vec![Ev::Reset(3, WrongLength(T::Priority)), ping_ev()]),
        valid("PRIORITY of 6 bytes", raw(priority, 0, 5, b"\0\0\0\x01\x0f\0"), vec![Ev::Reset(5, WrongLength(T::Priority))]),
        valid("WINDOW_UPDATE of 0 on a stream, then PING", cat(&[raw(window, 0, 3, b"\0\0\0\0"), ping_frame.clone()]),
            vec![Ev::Reset(3, ZeroIncrement), ping_ev()]),
        valid("WINDOW_UPDATE of 0 but for the reserved bit", raw(window, 0, 3, b"\x80\0\0\0"), vec![Ev::Reset(3, ZeroIncrement)]),
        // §4.2: the frame size limit, checked on the header alone.
        refused("DATA one byte over the default limit", head(16_385, data, 0, 1), FrameTooLarge),
        refused("unknown type over the limit", head(16_385, 0xfa, 0, 1), FrameTooLarge),
        refused("the largest length", head(0xFF_FFFF, data, 0, 1), FrameTooLarge),
        Case { name: "over a raised limit", input: head(20_001, data, 0, 1), max: 20_000, expect: Outcome { events: vec![], end: End::Failed(FrameTooLarge) } },
        bad("over the limit after a good frame", cat(&[ping_frame.clone(), head(16_385, headers, 0x4, 1)]), vec![ping_ev()], FrameTooLarge),
        // Stream identifiers (§6.1-§6.10).
        refused("DATA on stream 0", raw(data, 0, 0, b"x"), StreamZero(T::Data)),
        refused("HEADERS on stream 0", raw(headers, 0x4, 0, b"\x82"), StreamZero(T::Headers)),
        refused("PRIORITY on stream 0", raw(priority, 0, 0, b"\0\0\0\x01\x0f"), StreamZero(T::Priority)),
        refused("PRIORITY on stream 0, wrong length too", raw(priority, 0, 0, b"\0"), StreamZero(T::Priority)),
        refused("RST_STREAM on stream 0", raw(rst, 0, 0, b"\0\0\0\0"), StreamZero(T::RstStream)),
        refused("PUSH_PROMISE on stream 0", raw(push, 0x4, 0, b"\0\0\0\x02"), StreamZero(T::PushPromise)),
        bad("CONTINUATION on stream 0", cat(&[open_block.clone(), raw(cont, 0x4, 0, b"")]), vec![open_ev()], StreamZero(T::Continuation)),
        refused("DATA on stream 0 but for the reserved bit", raw(data, 0, 0x8000_0000, b"x"), StreamZero(T::Data)),
        refused("SETTINGS on a stream", raw(settings, 0, 1, b""), StreamNonZero(T::Settings)),
        refused("PING on a stream", raw(ping, 0, 1, b"12345678"), StreamNonZero(T::Ping)),
        refused("GOAWAY on a stream", raw(goaway, 0, 1, b"\0\0\0\0\0\0\0\0"), StreamNonZero(T::GoAway)),
        // Fixed and minimum lengths (§4.2, §6.4, §6.7, §6.8, §6.9).
        refused("RST_STREAM of 3 bytes", raw(rst, 0, 1, b"\0\0\0"), WrongLength(T::RstStream)),
        refused("RST_STREAM of 5 bytes, refused on the header", head(5, rst, 0, 1), WrongLength(T::RstStream)),
        refused("PING of 7 bytes", raw(ping, 0, 0, b"1234567"), WrongLength(T::Ping)),
        refused("PING of 9 bytes", raw(ping, 0x1, 0, b"123456789"), WrongLength(T::Ping)),
        refused("WINDOW_UPDATE of 3 bytes", raw(window, 0, 0, b"\0\0\x01"), WrongLength(T::WindowUpdate)),
        refused("WINDOW_UPDATE of 5 bytes on a stream", raw(window, 0, 1, b"\0\0\0\x01\0"), WrongLength(T::WindowUpdate)),
        refused("GOAWAY of 7 bytes", raw(goaway, 0, 0, b"\0\0\0\0\0\0\0"), TooShort(T::GoAway)),
        refused("padded DATA without a Pad Length byte", raw(data, 0x8, 1, b""), TooShort(T::Data)),
        refused("padded HEADERS without a Pad Length byte", raw(headers, 0xC, 1, b""), TooShort(T::Headers)),
        refused("HEADERS too short for priority fields", raw(headers, 0x24, 1, b"\0\0\0\x01"), TooShort(T::Headers)),
        refused("padded HEADERS too short for priority fields", raw(headers, 0x2C, 1, b"\0\0\0\0\x01"), TooShort(T::Headers)),
        refused("PUSH_PROMISE too short for the promised stream", raw(push, 0x4, 1, b"\0\0\x02"), TooShort(T::PushPromise)),
        refused("padded PUSH_PROMISE too short for the promised stream", raw(push, 0xC, 1, b"\0\0\0\x02"), TooShort(T::PushPromise)),
        // §6.5 SETTINGS.
        refused("SETTINGS ACK with a payload", raw(settings, 0x1, 0, &setting(0x3, 100)), SettingsAckWithPayload),
        refused("SETTINGS of 5 bytes", raw(settings, 0, 0, b"\0\x03\0\0\0"), SettingsLength),
        refused("SETTINGS of 7 bytes", raw(settings, 0, 0, b"\0\x03\0\0\0\x64\0"), SettingsLength),
        refused("ENABLE_PUSH 2", raw(settings, 0, 0, &setting(0x2, 2)), EnablePush),
        refused("INITIAL_WINDOW_SIZE 2^31", raw(settings, 0, 0, &setting(0x4, 1 << 31)), InitialWindowSize),
        refused("MAX_FRAME_SIZE 2^14-1", raw(settings, 0, 0, &setting(0x5, 16_383)), MaxFrameSize),
        refused("MAX_FRAME_SIZE 2^24", raw(settings, 0, 0, &setting(0x5, 1 << 24)), MaxFrameSize),
        refused("a bad setting after good ones", raw(settings, 0, 0, &cat(&[setting(0x3, 100), setting(0x8, 9), setting(0x2, 5)])), EnablePush),
        // Padding (§6.1, §6.2, §6.6).
        refused("DATA padding as long as the payload", raw(data, 0x8, 1, b"\x01"), PaddingTooLong(T::Data)),
        refused("DATA padding longer than the payload", raw(data, 0x8, 1, b"\xffabc"), PaddingTooLong(T::Data)),
        refused("HEADERS padding as long as the payload", raw(headers, 0xC, 1, b"\x03\x82\0"), PaddingTooLong(T::Headers)),
        refused("HEADERS padding into the priority fields", raw(headers, 0x2C, 1, b"\x01\0\0\0\x01\x0f"), PaddingTooLong(T::Headers)),
        refused("PUSH_PROMISE padding into the promised stream", raw(push, 0xC, 1, b"\x01\0\0\0\x02"), PaddingTooLong(T::PushPromise)),
        // §6.9: a zero increment on the connection.
        refused("WINDOW_UPDATE of 0 on the connection", raw(window, 0, 0, b"\0\0\0\0"), ZeroIncrement),
        // §4.3, §5.5, §6.10: field blocks are contiguous.
        bad("DATA inside a field block", cat(&[open_block.clone(), raw(data, 0, 1, b"x")]), vec![open_ev()], ExpectedContinuation),
        bad("PING inside a field block", cat(&[open_block.clone(), ping_frame.clone()]), vec![open_ev()], ExpectedContinuation),
        bad("PRIORITY inside a field block", cat(&[open_block.clone(), raw(priority, 0, 1, b"\0\0\0\x03\x0f")]), vec![open_ev()], ExpectedContinuation),
        bad("unknown type inside a field block", cat(&[open_block.clone(), raw(0xfa, 0, 1, b"")]), vec![open_ev()], ExpectedContinuation),
        bad("CONTINUATION on another stream", cat(&[open_block.clone(), raw(cont, 0x4, 3, b"")]), vec![open_ev()], ExpectedContinuation),
        bad("HEADERS inside a field block", cat(&[open_block.clone(), raw(headers, 0x4, 1, b"")]), vec![open_ev()], ExpectedContinuation),
        bad("inside a PUSH_PROMISE's field block", cat(&[raw(push, 0, 1, b"\0\0\0\x02"), raw(headers, 0x4, 3, b"")]),
            vec![ev(1, Payload::PushPromise { promised: 2, fragment: b"", end_headers: false })], ExpectedContinuation),
        refused("CONTINUATION first", raw(cont, 0x4, 1, b"\x82"), UnexpectedContinuation),
        bad("CONTINUATION after END_HEADERS", cat(&[raw(headers, 0x4, 1, b"\x82"), raw(cont, 0x4, 1, b"")]),
            vec![ev(1, Payload::Headers { fragment: b"\x82", end_stream: false, end_headers: true })], UnexpectedContinuation),
        bad("CONTINUATION after DATA", cat(&[raw(data, 0, 1, b""), raw(cont, 0x4, 1, b"")]),
            vec![ev(1, Payload::Data { data: b"", end_stream: false })], UnexpectedContinuation),
    ]
}

use crate::test_cuts::cut_points;

#[test]
fn table_in_one_piece() {
    let rows = table();
    assert!(rows.len() >= 80);
    for row in &rows {
        assert_eq!(feed(&row.input, row.max, &[]), row.expect, "{}", row.name);
    }
}

#[test]
fn table_split_at_every_boundary() {
    for row in table() {
        for cut in cut_points(row.input.len()) {
            assert_eq!(feed(&row.input, row.max, &[cut]), row.expect, "{} cut at {cut}", row.name);
        }
        let every: Vec<usize> = (0..=row.input.len()).collect();
        assert_eq!(feed(&row.input, row.max, &every), row.expect, "{} byte by byte", row.name);
    }
}

#[test]
fn short_rows_split_at_every_pair_of_boundaries() {
    for row in table().iter().filter(|row| row.input.len() <= 64) {
        let len = row.input.len();
        for first in 0..=len {
            for second in first..=len {
                assert_eq!(
                    feed(&row.input, row.max, &[first, second]),
                    row.expect,
                    "{} cut at {first}, {second}",
                    row.name
                );
            }
        }
    }
}

#[test]
fn partial_says_how_many_bytes_complete_the_frame() {
    let frame = raw(0x0, 0x1, 1, b"hello");
    let mut dec = FrameDecoder::new();
    for cut in 0..HEADER_LEN {
        assert_eq!(dec.decode(&frame[..cut]), Ok(Decoded::Partial { needed: 9 }), "cut at {cut}");
    }
    for cut in HEADER_LEN..frame.len() {
        assert_eq!(dec.decode(&frame[..cut]), Ok(Decoded::Partial { needed: 14 }), "cut at {cut}");
    }
    let Ok(Decoded::Frame { frame: got, consumed: 14 }) = dec.decode(&frame) else { panic!("whole frame") };
    assert_eq!(got.header, FrameHeader { len: 5, kind: FrameType::Data, flags: 0x1, stream: 1 });
}

#[test]
fn oversized_frames_are_refused_before_their_payload_arrives() {
    // The header alone announces 16 MiB: refused with nothing buffered.
    let mut dec = FrameDecoder::new();
    assert_eq!(dec.decode(&head(0xFF_FFFF, 0x0, 0, 1)), Err(Error::Connection(Reason::FrameTooLarge)));
    assert_eq!(Reason::FrameTooLarge.code(), ErrorCode::FrameSizeError);
    // And the error sticks, even for a good frame.
    assert_eq!(dec.decode(&raw(0x6, 0, 0, b"12345678")), Err(Error::Connection(Reason::FrameTooLarge)));
}

#[test]
fn the_limit_follows_the_setting_within_its_legal_range() {
    let mut dec = FrameDecoder::new();
    assert_eq!(dec.max_frame_size(), 16_384);
    dec.set_max_frame_size(0);
    assert_eq!(dec.max_frame_size(), 16_384);
    dec.set_max_frame_size(u32::MAX);
    assert_eq!(dec.max_frame_size(), 16_777_215);
    assert!(matches!(dec.decode(&head(0xFF_FFFF, 0x0, 0, 1)), Ok(Decoded::Partial { needed: 16_777_224 })));
}

#[test]
fn stream_errors_tell_which_stream_and_how_far_to_skip() {
    let input = raw(0x8, 0, 7, b"\0\0\0\0");
    let err = FrameDecoder::new().decode(&input).unwrap_err();
    assert_eq!(err, Error::Stream { stream: 7, reason: Reason::ZeroIncrement, consumed: 13 });
    assert_eq!((err.code(), err.stream()), (ErrorCode::ProtocolError, Some(7)));
    // The same rule on stream 0 is the connection's (§6.9).
    let err = FrameDecoder::new().decode(&raw(0x8, 0, 0, b"\0\0\0\0")).unwrap_err();
    assert_eq!((err, err.stream()), (Error::Connection(Reason::ZeroIncrement), None));
    // §6.3: PRIORITY's length is a stream error of type FRAME_SIZE_ERROR.
    let err = FrameDecoder::new().decode(&raw(0x2, 0, 3, b"\0")).unwrap_err();
    assert_eq!((err.code(), err.stream()), (ErrorCode::FrameSizeError, Some(3)));
}

#[test]
fn the_open_field_block_is_tracked() {
    let input = cat(&[raw(0x1, 0x1, 5, b"\x82"), raw(0x9, 0, 5, b"\x86"), raw(0x9, 0x4, 5, b"\x84")]);
    let mut dec = FrameDecoder::new();
    let (mut pos, mut open) = (0, Vec::new());
    while let Ok(Decoded::Frame { consumed, .. }) = dec.decode(&input[pos..]) {
        open.push(dec.open_field_block());
        pos += consumed;
    }
    assert_eq!(open, [Some(5), Some(5), None]);
}

#[test]
fn every_reason_has_the_code_the_rfc_gives() {
    use ErrorCode::*;
    use FrameType as T;
    use Reason::*;
    let table = [
        (FrameTooLarge, FrameSizeError),
        (WrongLength(T::Ping), FrameSizeError),
        (TooShort(T::GoAway), FrameSizeError),
        (SettingsAckWithPayload, FrameSizeError),
        (SettingsLength, FrameSizeError),
        (StreamZero(T::Data), ProtocolError),
        (StreamNonZero(T::Settings), ProtocolError),
        (PaddingTooLong(T::Data), ProtocolError),
        (EnablePush, ProtocolError),
        (InitialWindowSize, FlowControlError),
        (MaxFrameSize, ProtocolError),
        (ZeroIncrement, ProtocolError),
        (ExpectedContinuation, ProtocolError),
        (UnexpectedContinuation, ProtocolError),
    ];
    for (reason, code) in table {
        assert_eq!(reason.code(), code, "{reason:?}");
        assert!(reason.to_string().contains("RFC 9113 §"), "{reason} cites its section");
    }
}

#[test]
fn error_codes_round_trip_with_their_names() {
    let names = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    for (value, name) in (0u32..).zip(names) {
        let code = ErrorCode::from_u32(value);
        assert_eq!((code.as_u32(), code.name(), code.to_string()), (value, name, name.to_string()));
    }
    assert_eq!(ErrorCode::from_u32(0xe), ErrorCode::Unknown(0xe));
    assert_eq!(ErrorCode::Unknown(0xe).to_string(), "0xe");
}

#[test]
fn frame_types_round_trip() {
    for value in 0..=u8::MAX {
        let kind = FrameType::from_u8(value);
        assert_eq!(kind.as_u8(), value);
        assert_eq!(matches!(kind, FrameType::Unknown(_)), value > 0x9);
    }
}
