//! SHA-1 (FIPS 180-4 §6.1), for `Sec-WebSocket-Accept` only.
//!
//! RFC 6455 §4.2.2 derives the accept value from the client's key with
//! SHA-1. Here it proves only that the server read the handshake (§1.3), not
//! anything secret, so SHA-1's broken collision resistance does not matter
//! (§10.8), and a small plain implementation, checked against the FIPS 180
//! example vectors below, serves better than a dependency.
//!
//! ```
//! use wired_parser::websocket::sha1::Sha1;
//! let mut hash = Sha1::new();
//! hash.update(b"a");
//! hash.update(b"bc");
//! assert_eq!(hash.finish()[..4], [0xa9, 0x99, 0x3e, 0x36]); // SHA-1("abc") = a9993e36...
//! ```

/// A SHA-1 computation fed in pieces.
#[derive(Debug, Clone)]
pub struct Sha1 {
    /// H0..H4 (FIPS 180-4 §5.3.1 gives their initial values).
    h: [u32; 5],
    /// The bytes of the current, incomplete 64-byte block.
    block: [u8; 64],
    /// How many of `block` are filled.
    filled: usize,
    /// Message length so far, in bytes.
    len: u64,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    /// A computation over the empty message.
    pub fn new() -> Self {
        Sha1 { h: [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0], block: [0; 64], filled: 0, len: 0 }
    }

    /// Append `data` to the message.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let n = (64 - self.filled).min(data.len());
            self.block[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled == 64 {
                self.compress();
                self.filled = 0;
            }
        }
    }

    /// Pad the message (FIPS 180-4 §5.1.1) and return its 20-byte digest.
    pub fn finish(mut self) -> [u8; 20] {
        let bits = self.len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.filled != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.h) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Fold the full `block` into the state (FIPS 180-4 §6.1.2).
    fn compress(&mut self) {
        let mut w = [0u32; 80];
        for (t, chunk) in self.block.chunks_exact(4).enumerate() {
            w[t] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = self.h;
        for (t, &word) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(word);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, temp);
        }
        for (h, v) in self.h.iter_mut().zip([a, b, c, d, e]) {
            *h = h.wrapping_add(v);
        }
    }
}

/// SHA-1 of one message.
///
/// ```
/// let digest = wired_parser::websocket::sha1::sha1(b"");
/// assert_eq!(digest[..4], [0xda, 0x39, 0xa3, 0xee]);
/// ```
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut hash = Sha1::new();
    hash.update(data);
    hash.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(digest: [u8; 20]) -> String {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The FIPS 180 examples (FIPS 180-2 appendix A; NIST's SHA1 example
    /// values), and the empty message.
    #[test]
    fn fips_180_vectors() {
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        let long = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
        assert_eq!(hex(sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(sha1(two_blocks)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
        assert_eq!(hex(sha1(long)), "a49b2446a02c645bf419f995b67091253a04a259");
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(sha1(&[b'a'; 1_000_000])), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }

    #[test]
    fn pieces_make_no_difference() {
        let data: Vec<u8> = (0..200u8).collect();
        for len in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200] {
            let whole = sha1(&data[..len]);
            for cut in 0..=len {
                let mut hash = Sha1::new();
                hash.update(&data[..cut]);
                hash.update(&data[cut..len]);
                assert_eq!(hash.finish(), whole, "{len} cut at {cut}");
            }
        }
    }
}
