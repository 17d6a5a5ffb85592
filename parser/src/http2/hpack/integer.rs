//! Prefix-coded integers (RFC 7541 §5.1).
//!
//! Every number in HPACK (an index, a string's length, a table size) starts
//! in the low N bits of a byte whose high bits say what the number is for.
//! A value below 2^N - 1 fits there; otherwise the prefix is all ones and
//! the rest, less 2^N - 1, follows seven bits at a time, least significant
//! group first, the top bit of each byte saying "more follows":
//!
//! ```text
//!  1337 with a 5-bit prefix (§C.1.2):
//!   xxx11111   prefix full: 31, and 1306 to go
//!   10011010   1306 % 128 = 26, more follows
//!   00001010   1306 / 128 = 10, the last
//! ```
//!
//! The encoding has no length limit of its own, so a decoder sets one
//! (§5.1: "excessively large integer decodings" MUST be treated as an
//! error). Nothing HPACK counts needs more than 32 bits, so wired refuses a
//! value above `u32::MAX`, and any encoding with more continuation bytes
//! than a 32-bit value needs (five), even if the extra ones are zeros: a
//! peer padding its integers is not one to keep reading.
//!
//! ```
//! use wired_parser::http2::hpack::integer;
//!
//! let mut out = Vec::new();
//! integer::encode(1337, 5, 0b1110_0000, &mut out);
//! assert_eq!(out, [0xff, 0x9a, 0x0a]); // the flag bits kept, the prefix full
//! assert_eq!(integer::decode(&out, 5), Ok((1337, 3)));
//! ```

use super::Error;

/// The most continuation bytes a 32-bit value needs: 7 × 5 = 35 ≥ 32.
pub const MAX_CONTINUATION_BYTES: usize = 5;

/// Reads an integer whose prefix is the low `prefix_bits` (1 to 8) bits of
/// `input[0]`, returning it and how many bytes it took.
///
/// [`Error::Truncated`] when the input ends before the last byte;
/// [`Error::IntegerOverflow`] past `u32::MAX` or past
/// [`MAX_CONTINUATION_BYTES`].
pub fn decode(input: &[u8], prefix_bits: u8) -> Result<(u32, usize), Error> {
    let max_prefix = prefix_max(prefix_bits);
    let first = input.first().ok_or(Error::Truncated)?;
    let prefix = u32::from(*first) & max_prefix;
    if prefix < max_prefix {
        return Ok((prefix, 1));
    }
    // u64, so that adding one more 7-bit group cannot wrap before the check.
    let mut value = u64::from(prefix);
    for (i, byte) in input.iter().skip(1).enumerate() {
        if i == MAX_CONTINUATION_BYTES {
            return Err(Error::IntegerOverflow);
        }
        value += u64::from(byte & 0x7f) << (7 * i);
        if value > u64::from(u32::MAX) {
            return Err(Error::IntegerOverflow);
        }
        if byte & 0x80 == 0 {
            return Ok((value as u32, i + 2));
        }
    }
    Err(Error::Truncated)
}

/// Appends `value` with a `prefix_bits` prefix; `flags` supplies the high
/// bits of the first byte (the representation's pattern, §6), and its low
/// `prefix_bits` bits are ignored.
pub fn encode(value: usize, prefix_bits: u8, flags: u8, out: &mut Vec<u8>) {
    let max_prefix = prefix_max(prefix_bits) as usize;
    // The mask keeps only the flag bits; max_prefix fits in a byte.
    let flags = flags & !(max_prefix as u8);
    if value < max_prefix {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max_prefix as u8);
    let mut rest = value - max_prefix;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// 2^N - 1 for a prefix of N bits, N clamped to 1..=8.
fn prefix_max(prefix_bits: u8) -> u32 {
    (1u32 << prefix_bits.clamp(1, 8)) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: usize, prefix_bits: u8) -> Vec<u8> {
        let mut out = Vec::new();
        encode(value, prefix_bits, 0, &mut out);
        out
    }

    #[test]
    fn the_rfc_examples() {
        // §C.1.1, §C.1.2, §C.1.3.
        assert_eq!(encoded(10, 5), [0x0a]);
        assert_eq!(encoded(1337, 5), [0x1f, 0x9a, 0x0a]);
        assert_eq!(encoded(42, 8), [0x2a]);
        assert_eq!(decode(&[0xea], 5), Ok((10, 1)), "flag bits above the prefix are not the value's");
        assert_eq!(decode(&[0x1f, 0x9a, 0x0a], 5), Ok((1337, 3)));
        assert_eq!(decode(&[0x2a], 8), Ok((42, 1)));
    }

    #[test]
    fn every_boundary_of_every_prefix_round_trips_in_the_fewest_bytes() {
        for prefix_bits in 1..=8u8 {
            let max_prefix = (1usize << prefix_bits) - 1;
            // Where one more byte is needed: the prefix fills, then each 7-bit group.
            let mut edges = vec![0, 1, max_prefix - 1, max_prefix, max_prefix + 1];
            for groups in 1..=5u32 {
                let top = max_prefix + (1usize << (7 * groups)) - 1;
                edges.extend([top - 1, top, top + 1]);
            }
            edges.push(u32::MAX as usize);
            for value in edges.into_iter().filter(|v| *v <= u32::MAX as usize) {
                let bytes = encoded(value, prefix_bits);
                let expected_len = if value < max_prefix {
                    1
                } else {
                    let mut rest = value - max_prefix;
                    let mut n = 2;
                    while rest >= 0x80 {
                        rest >>= 7;
                        n += 1;
                    }
                    n
                };
                assert_eq!(bytes.len(), expected_len, "{value} with a {prefix_bits}-bit prefix: {bytes:02x?}");
                assert_eq!(decode(&bytes, prefix_bits), Ok((value as u32, bytes.len())), "{value} / {prefix_bits}");
                // Trailing bytes belong to what follows.
                let mut longer = bytes.clone();
                longer.push(0xff);
                assert_eq!(decode(&longer, prefix_bits), Ok((value as u32, bytes.len())));
            }
        }
    }

    #[test]
    fn flags_are_kept_and_the_prefix_is_theirs_alone() {
        let mut out = Vec::new();
        encode(3, 4, 0b0001_1111, &mut out);
        assert_eq!(out, [0b0001_0011], "the flag byte's low bits must not leak into the value");
        out.clear();
        encode(200, 7, 0x80, &mut out);
        assert_eq!(out, [0xff, 0x49]);
    }

    #[test]
    fn truncation_anywhere_is_an_error() {
        let bytes = encoded(u32::MAX as usize, 5);
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut], 5), Err(Error::Truncated), "cut at {cut}");
        }
    }

    #[test]
    fn values_past_32_bits_are_refused() {
        assert_eq!(decode(&encoded(u32::MAX as usize + 1, 5), 5), Err(Error::IntegerOverflow));
        assert_eq!(decode(&encoded(usize::MAX, 8), 8), Err(Error::IntegerOverflow));
        // Refused when the value overflows, before the input runs out.
        assert_eq!(decode(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f], 5), Err(Error::IntegerOverflow));
        assert_eq!(decode(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff], 5), Err(Error::IntegerOverflow));
    }

    #[test]
    fn padded_encodings_are_allowed_up_to_five_continuation_bytes_and_no_further() {
        // 31 + 0: one zero group is redundant but within a 32-bit reader's reach.
        assert_eq!(decode(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x00], 5), Ok((31, 6)));
        assert_eq!(decode(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5), Err(Error::IntegerOverflow));
    }
}
