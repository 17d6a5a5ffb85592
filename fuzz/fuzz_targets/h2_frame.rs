//! Differential fuzzing of the HTTP/2 frame decoder: the same bytes fed
//! whole and cut at pseudo-random points must give the same frames, the
//! same stream errors and the same end (waiting for the same number of
//! bytes, or the same connection error); each call keeps the decoder's
//! promises (a partial answer asks for more than is there, a frame is
//! exactly its header's length, every value within RFC 9113's bounds);
//! and every frame the server also knows how to send reads back the same
//! once re-encoded.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "cuts.rs"]
mod cuts;
use wired_parser::http2::{
    Decoded, Error, Frame, FrameDecoder, FrameHeader, FrameType, Payload, Reason, SettingId, data_header, encode_frame,
    encode_goaway, encode_ping, encode_rst_stream, encode_settings, encode_window_update, flags,
};

/// What the decoder produced, owned, so cut and whole runs compare equal.
#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Frame(FrameHeader, String),
    Reset(u32, Reason),
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    Partial(usize),
    Failed(Reason),
}

/// Feed `input` as a server would, the bytes becoming available up to
/// each of `cuts` in turn, then up to the end.
fn feed(input: &[u8], max: u32, cuts: &[usize]) -> (Vec<Ev>, End) {
    let mut dec = FrameDecoder::new();
    dec.set_max_frame_size(max);
    let mut ends = cuts.iter().copied().chain([input.len()]);
    let mut end = ends.next().unwrap_or(input.len());
    let (mut events, mut pos) = (Vec::new(), 0);
    loop {
        let avail = &input[pos..end];
        match dec.decode(avail) {
            Ok(Decoded::Partial { needed }) => {
                assert!(needed > avail.len(), "partial with {needed} bytes there");
                match avail.first_chunk::<9>() {
                    None => assert_eq!(needed, 9),
                    Some(head) => assert_eq!(needed, FrameHeader::parse(head).frame_len()),
                }
                match ends.next() {
                    Some(next) => end = next.max(end),
                    None => return (events, End::Partial(needed)),
                }
            }
            Ok(Decoded::Frame { frame, consumed }) => {
                assert_eq!(consumed, frame.header.frame_len());
                assert!(consumed <= avail.len());
                check(&frame, max);
                round_trip(&frame);
                events.push(Ev::Frame(frame.header, format!("{:?}", frame.payload)));
                pos += consumed;
            }
            Err(Error::Stream { stream, reason, consumed }) => {
                assert!(stream != 0 && consumed <= avail.len());
                assert_eq!(consumed, FrameHeader::parse(avail.first_chunk::<9>().unwrap()).frame_len());
                events.push(Ev::Reset(stream, reason));
                pos += consumed;
            }
            Err(Error::Connection(reason)) => {
                assert_eq!(dec.decode(avail), Err(Error::Connection(reason)), "errors repeat");
                return (events, End::Failed(reason));
            }
        }
    }
}

/// What RFC 9113 promises of a frame the decoder accepted.
fn check(frame: &Frame<'_>, max: u32) {
    let h = frame.header;
    assert!(h.len <= max && h.stream < 1 << 31);
    assert!(frame.to_string().starts_with(h.kind.name()));
    let on_stream = h.stream != 0;
    match frame.payload {
        Payload::Data { data, .. } => assert!(on_stream && data.len() <= h.len as usize),
        Payload::Headers { fragment, .. } | Payload::Continuation { fragment, .. } => {
            assert!(on_stream && fragment.len() <= h.len as usize)
        }
        Payload::Priority { dependency, .. } => assert!(on_stream && h.len == 5 && dependency < 1 << 31),
        Payload::RstStream { .. } => assert!(on_stream && h.len == 4),
        Payload::Settings { ack, settings } => {
            assert!(!on_stream && h.len as usize == settings.len() * 6 && (!ack || settings.is_empty()));
            for s in settings {
                match s.id {
                    SettingId::EnablePush => assert!(s.value <= 1),
                    SettingId::InitialWindowSize => assert!(s.value < 1 << 31),
                    SettingId::MaxFrameSize => assert!((1 << 14..1 << 24).contains(&s.value)),
                    _ => {}
                }
            }
        }
        Payload::PushPromise { promised, .. } => assert!(on_stream && promised < 1 << 31),
        Payload::Ping { .. } => assert!(!on_stream && h.len == 8),
        Payload::GoAway { last_stream, debug, .. } => {
            assert!(!on_stream && last_stream < 1 << 31 && debug.len() + 8 == h.len as usize)
        }
        Payload::WindowUpdate { increment } => assert!(h.len == 4 && (1..1 << 31).contains(&increment)),
        Payload::Unknown { payload } => {
            assert!(matches!(h.kind, FrameType::Unknown(_)) && payload.len() == h.len as usize)
        }
    }
}

/// Re-encode what the server could send itself, and read it back.
fn round_trip(frame: &Frame<'_>) {
    let mut out = Vec::new();
    let stream = frame.stream();
    match frame.payload {
        Payload::Data { data, end_stream } => {
            out.extend_from_slice(&data_header(stream, data.len() as u32, end_stream));
            out.extend_from_slice(data);
        }
        Payload::Headers { fragment, end_stream, end_headers } => {
            let flags = u8::from(end_stream) * flags::END_STREAM | u8::from(end_headers) * flags::END_HEADERS;
            encode_frame(&mut out, FrameType::Headers, flags, stream, fragment);
        }
        Payload::RstStream { code } => encode_rst_stream(&mut out, stream, code),
        Payload::Settings { ack: false, settings } => encode_settings(&mut out, &settings.iter().collect::<Vec<_>>()),
        Payload::Ping { ack, data } => encode_ping(&mut out, ack, data),
        Payload::GoAway { last_stream, code, debug } => encode_goaway(&mut out, last_stream, code, debug),
        Payload::WindowUpdate { increment } => encode_window_update(&mut out, stream, increment),
        Payload::Unknown { payload } => encode_frame(&mut out, frame.header.kind, frame.header.flags, stream, payload),
        _ => return,
    }
    let mut dec = FrameDecoder::new();
    dec.set_max_frame_size(20_000);
    match dec.decode(&out) {
        Ok(Decoded::Frame { frame: again, consumed }) => {
            assert_eq!((again.payload, again.stream(), consumed), (frame.payload, stream, out.len()))
        }
        other => panic!("{frame} re-encoded reads as {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the frame size limit and how many cuts (7:
    // byte by byte), the next two seed the cuts; the rest is the stream.
    let (control, input) = data.split_at(data.len().min(3));
    let (choice, seed) = match control {
        [a, b, c] => (*a, u32::from(*b) << 8 | u32::from(*c)),
        _ => (0, 1),
    };
    let max = if choice & 0x10 != 0 { 20_000 } else { 16_384 };
    let count = usize::from(choice % 8);
    let whole = feed(input, max, &[]);
    let cuts = cuts::points(seed, count, input.len());
    assert_eq!(feed(input, max, &cuts), whole, "cut at {cuts:?}");
});
