//! Differential fuzzing of the chunked decoder: the same body fed in one piece
//! and in pieces cut at pseudo-random points must decode to the same bytes,
//! the same end and the same error, and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "cuts.rs"]
mod cuts;
use wired_parser::{ChunkedDecoder, Error, Limits};

/// Trailer bounds small enough for the fuzzer to reach.
const LIMITS: Limits = Limits { max_request_line: 8 * 1024, max_headers: 4, max_head_bytes: 256 };

/// How feeding a body ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Done { consumed: usize },
    Partial,
    Failed(Error),
}

/// Feed `input` as a server would, the bytes becoming available up to each
/// of `cuts` in turn, then up to the end; return the body and how it ended.
fn feed(input: &[u8], cuts: &[usize]) -> (Vec<u8>, End) {
    let mut dec = ChunkedDecoder::new(&LIMITS);
    let mut ends = cuts.iter().copied().chain([input.len()]);
    let mut end = ends.next().unwrap_or(input.len());
    let (mut body, mut pos) = (Vec::new(), 0);
    loop {
        let avail = &input[pos..end];
        let d = match dec.decode(avail) {
            Ok(d) => d,
            Err(e) => return (body, End::Failed(e)),
        };
        assert!(d.consumed <= avail.len() && d.data.end <= d.consumed);
        assert!(d.data.is_empty() || d.data.start < d.data.end);
        body.extend_from_slice(&avail[d.data.clone()]);
        pos += d.consumed;
        assert_eq!(dec.body_bytes(), body.len() as u64);
        if d.done {
            return (body, End::Done { consumed: pos });
        }
        if d.consumed == 0 {
            assert_eq!(pos, end, "asked for more while holding unread bytes");
            match ends.next() {
                Some(next) => end = next.max(end),
                None => return (body, End::Partial),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the cuts; the rest is the body.
    let (control, input) = data.split_at(data.len().min(2));
    let (seed, count) = match control {
        [a, b] => (u32::from(*a) << 8 | u32::from(*b), usize::from(*a % 8)),
        _ => (1, 0),
    };
    let whole = feed(input, &[]);
    let cuts = cuts::points(seed, count, input.len());
    assert_eq!(feed(input, &cuts), whole, "cut at {cuts:?}");
});
