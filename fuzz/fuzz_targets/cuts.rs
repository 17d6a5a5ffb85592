//! Where the targets that compare "cut" with "whole" cut their input: shared
//! by `chunked`, `fastcgi` and `websocket` (included with `#[path]`; not a
//! target itself).

/// Cut points into an input of `len` bytes, sorted: every point when
/// `count` is 7 (byte by byte), else `count` points from a xorshift seeded
/// by `seed`: cheap, deterministic, spread over the input.
pub fn points(seed: u32, count: usize, len: usize) -> Vec<usize> {
    if count == 7 {
        return (0..=len).collect();
    }
    let mut state = seed | 1;
    let mut cuts: Vec<usize> = (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as usize % (len + 1)
        })
        .collect();
    cuts.sort_unstable();
    cuts
}
