//! Differential fuzzing of the WebSocket frame decoder: the same bytes fed
//! whole and cut at pseudo-random points must give the same events (payload
//! pieces merged) and the same error; each call keeps the decoder's promises
//! (bounds, one event, nothing past `consumed` changed); and every text
//! message and close frame the decoder lets through is one that
//! `std::str::from_utf8` and `parse_close` accept.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "cuts.rs"]
mod cuts;
use wired_parser::websocket::{Config, Error, Event, FrameDecoder, Header, Opcode, parse_close};

/// An event with payload pieces merged, so cut and whole runs compare equal.
#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Start(Header),
    Data(Vec<u8>),
    End(Header),
}

/// Feed `input` as a server would, the bytes becoming available up to each
/// of `cuts` in turn, then up to the end.
fn feed(input: &[u8], config: Config, cuts: &[usize]) -> (Vec<Ev>, Option<Error>) {
    let mut buf = input.to_vec();
    let mut dec = FrameDecoder::new(config);
    let mut ends = cuts.iter().copied().chain([input.len()]);
    let mut end = ends.next().unwrap_or(input.len());
    let (mut events, mut pos) = (Vec::new(), 0);
    // The open text message (uncompressed), the current frame and its payload.
    let (mut text, mut frame, mut payload): (Option<Vec<u8>>, Option<Header>, Vec<u8>) = (None, None, Vec::new());
    loop {
        let avail = &mut buf[pos..end];
        let step = match dec.decode(avail) {
            Ok(step) => step,
            Err(e) => {
                assert_eq!(dec.decode(avail), Err(e), "errors repeat");
                // What was handed out before a UTF-8 error is a valid prefix,
                // cut at most inside a character.
                let handed_out = match (e, frame.map(|h| h.opcode), &text) {
                    (Error::InvalidUtf8, Some(Opcode::Close), _) => payload.get(2..).map(<[u8]>::to_vec),
                    (Error::InvalidUtf8, Some(_), Some(text)) => Some([&text[..], &payload].concat()),
                    _ => None,
                };
                if let Some(bytes) = handed_out {
                    assert!(std::str::from_utf8(&bytes).map_or_else(|e| e.error_len().is_none(), |_| true));
                }
                return (events, Some(e));
            }
        };
        assert!(step.consumed <= avail.len());
        assert_eq!(&avail[step.consumed..], &input[pos + step.consumed..end], "bytes past consumed changed");
        match step.event {
            None => {
                assert_eq!(step.consumed, avail.len(), "no event, yet bytes left over");
                pos = end;
                match ends.next() {
                    Some(next) => end = next.max(end),
                    None => return (events, None),
                }
                continue;
            }
            Some(Event::Start(h)) => {
                assert!(h.len < 1 << 63 && h.len <= config.max_frame);
                assert!(!h.opcode.is_control() || (h.fin && h.len <= 125 && !h.rsv1));
                if h.opcode == Opcode::Text {
                    text = (!h.rsv1).then(Vec::new);
                }
                payload.clear();
                frame = Some(h);
                events.push(Ev::Start(h));
            }
            Some(Event::Payload(range)) => {
                assert!(!range.is_empty() && range.end <= step.consumed);
                let piece = &avail[range];
                payload.extend_from_slice(piece);
                match events.last_mut() {
                    Some(Ev::Data(data)) => data.extend_from_slice(piece),
                    _ => events.push(Ev::Data(piece.to_vec())),
                }
            }
            Some(Event::End(h)) => {
                assert_eq!(step.consumed, 0);
                assert_eq!(payload.len() as u64, h.len);
                match h.opcode {
                    Opcode::Close => assert!(parse_close(&payload).is_ok(), "decoder passed a bad close payload"),
                    Opcode::Text | Opcode::Continuation => {
                        if let Some(message) = &mut text {
                            message.extend_from_slice(&payload);
                            if h.fin {
                                assert!(std::str::from_utf8(message).is_ok(), "decoder passed bad UTF-8");
                                text = None;
                            }
                        }
                    }
                    _ => {}
                }
                if h.fin && !h.opcode.is_control() {
                    text = None;
                }
                events.push(Ev::End(h));
            }
        }
        pos += step.consumed;
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the configuration and how many cuts (7: byte
    // by byte), the next two seed the cuts; the rest is the stream.
    let (control, input) = data.split_at(data.len().min(3));
    let (flags, seed) = match control {
        [a, b, c] => (*a, u32::from(*b) << 8 | u32::from(*c)),
        _ => (0, 1),
    };
    let config = Config {
        // Small limits, so 1009 is reachable with short inputs.
        max_frame: if flags & 0x10 != 0 { 300 } else { 1 << 20 },
        max_message: if flags & 0x20 != 0 { 400 } else { 1 << 20 },
        rsv1: flags & 0x40 != 0,
    };
    let count = usize::from(flags % 8);
    let whole = feed(input, config, &[]);
    let cuts = cuts::points(seed, count, input.len());
    assert_eq!(feed(input, config, &cuts), whole, "cut at {cuts:?}");
});
