//! Differential fuzzing of the FastCGI record decoder: the same records fed
//! in one piece and in pieces cut at pseudo-random points must give the same
//! events (stream data compared as bytes), the same end and the same error;
//! nothing may panic, and no range may leave the input it indexes. After an
//! END_REQUEST the decoder is reset for request id 1 again, as on a kept
//! connection, so one input can hold several responses.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "cuts.rs"]
mod cuts;
use wired_parser::fastcgi::{Decoder, Error, Event, ProtocolStatus};

/// An event with its bytes copied out, adjacent pieces of one stream merged.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Stdout(Vec<u8>),
    StdoutEnd,
    Stderr(Vec<u8>),
    StderrEnd,
    Values(Vec<u8>),
    UnknownType(u8),
    End(u32, ProtocolStatus),
}

/// How feeding the records ended.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    Partial,
    Failed(Error),
}

/// Feed `input` as a server would, the bytes becoming available up to each
/// of `cuts` in turn, then up to the end.
fn feed(input: &[u8], cuts: &[usize]) -> (Vec<Seen>, Stop) {
    let mut dec = Decoder::new(1);
    let mut ends = cuts.iter().copied().chain([input.len()]);
    let mut end = ends.next().unwrap_or(input.len());
    let (mut seen, mut pos) = (Vec::new(), 0);
    loop {
        let avail = &input[pos..end];
        let d = match dec.decode(avail) {
            Ok(d) => d,
            Err(e) => {
                assert_eq!(dec.decode(avail), Err(e), "errors repeat");
                return (seen, Stop::Failed(e));
            }
        };
        assert!(d.consumed <= avail.len(), "consumed more than the input");
        let within = &avail[..d.consumed];
        let need_more = d.event == Event::NeedMore;
        let ended = matches!(d.event, Event::End { .. });
        let event = match d.event {
            Event::NeedMore => None,
            Event::Stdout(r) => Some(Seen::Stdout(within[r].to_vec())),
            Event::Stderr(r) => Some(Seen::Stderr(within[r].to_vec())),
            Event::StdoutEnd => Some(Seen::StdoutEnd),
            Event::StderrEnd => Some(Seen::StderrEnd),
            Event::Values(r) => Some(Seen::Values(within[r].to_vec())),
            Event::UnknownType(t) => Some(Seen::UnknownType(t)),
            Event::End { app_status, protocol_status } => Some(Seen::End(app_status, protocol_status)),
        };
        pos += d.consumed;
        match (event, seen.last_mut()) {
            (Some(Seen::Stdout(more)), Some(Seen::Stdout(so_far)))
            | (Some(Seen::Stderr(more)), Some(Seen::Stderr(so_far))) => {
                assert!(!more.is_empty(), "an empty piece of stream data");
                so_far.extend_from_slice(&more);
            }
            (Some(Seen::Stdout(more) | Seen::Stderr(more)), _) if more.is_empty() => {
                panic!("an empty piece of stream data")
            }
            (Some(event), _) => seen.push(event),
            (None, _) => {}
        }
        if ended {
            // A kept connection: the next response may follow.
            assert!(dec.is_done());
            dec.reset(1);
        }
        if need_more {
            match ends.next() {
                Some(next) => end = next.max(end),
                None => return (seen, Stop::Partial),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the cuts; the rest is the records.
    let (control, input) = data.split_at(data.len().min(2));
    let (seed, count) = match control {
        [a, b] => (u32::from(*a) << 8 | u32::from(*b), usize::from(*a % 8)),
        _ => (1, 0),
    };
    let whole = feed(input, &[]);
    let cuts = cuts::points(seed, count, input.len());
    assert_eq!(feed(input, &cuts), whole, "cut at {cuts:?}");
});
