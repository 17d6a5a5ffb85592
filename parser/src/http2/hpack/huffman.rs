//! The static Huffman code of RFC 7541 Appendix B, and §5.2's rules for it.
//!
//! A string literal may be sent Huffman-coded: each byte becomes a code of 5
//! to 30 bits, frequent header bytes (digits, lower-case letters, `-`, `/`)
//! getting the short ones, and the codes are packed most significant bit
//! first. The last byte is filled with the first bits of the end-of-string
//! code, which are all ones; EOS itself (symbol 256, thirty ones) is never
//! sent. So a decoder refuses (§5.2): EOS in the string, padding longer than
//! 7 bits (a whole byte of padding means the encoder padded, or cut a
//! symbol), and padding that is not all ones.
//!
//! The code is [`CODES`], written out as data exactly as the RFC lists it:
//! symbol by symbol, each code right-aligned with its length. Encoding reads
//! it directly. Decoding walks a binary tree built from it at compile time
//! ([`TREE`]): start at the root, take the branch each bit names, and a leaf
//! is a byte (or EOS). The tree is built by a `const fn` that stops the
//! build if any code is the prefix of another or any branch is left empty,
//! so a typing slip in [`CODES`] cannot compile; the tests check the RFC's
//! own examples on top.
//!
//! ```
//! use wired_parser::http2::hpack::huffman;
//!
//! // RFC 7541 §C.4.1: "www.example.com" in 12 bytes instead of 15.
//! let mut coded = Vec::new();
//! huffman::encode(b"www.example.com", &mut coded);
//! assert_eq!(coded, [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]);
//! assert_eq!(huffman::encoded_len(b"www.example.com"), 12);
//! let mut plain = Vec::new();
//! huffman::decode(&coded, &mut plain)?;
//! assert_eq!(plain, b"www.example.com");
//! # Ok::<(), wired_parser::http2::hpack::Error>(())
//! ```

use super::Error;

/// Appendix B: for each symbol (the 256 byte values, then EOS), its code,
/// right-aligned, and the code's length in bits.
#[rustfmt::skip]
pub const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13),      (0x7fffd8, 23),    (0xfffffe2, 28),   (0xfffffe3, 28),    // 00 01 02 03
    (0xfffffe4, 28),   (0xfffffe5, 28),   (0xfffffe6, 28),   (0xfffffe7, 28),    // 04 05 06 07
    (0xfffffe8, 28),   (0xffffea, 24),    (0x3ffffffc, 30),  (0xfffffe9, 28),    // 08 09 0a 0b
    (0xfffffea, 28),   (0x3ffffffd, 30),  (0xfffffeb, 28),   (0xfffffec, 28),    // 0c 0d 0e 0f
    (0xfffffed, 28),   (0xfffffee, 28),   (0xfffffef, 28),   (0xffffff0, 28),    // 10 11 12 13
    (0xffffff1, 28),   (0xffffff2, 28),   (0x3ffffffe, 30),  (0xffffff3, 28),    // 14 15 16 17
    (0xffffff4, 28),   (0xffffff5, 28),   (0xffffff6, 28),   (0xffffff7, 28),    // 18 19 1a 1b
    (0xffffff8, 28),   (0xffffff9, 28),   (0xffffffa, 28),   (0xffffffb, 28),    // 1c 1d 1e 1f
    (0x14, 6),         (0x3f8, 10),       (0x3f9, 10),       (0xffa, 12),        // ' ' ! " #
    (0x1ff9, 13),      (0x15, 6),         (0xf8, 8),         (0x7fa, 11),        // $ % & '
    (0x3fa, 10),       (0x3fb, 10),       (0xf9, 8),         (0x7fb, 11),        // ( ) * +
    (0xfa, 8),         (0x16, 6),         (0x17, 6),         (0x18, 6),          // , - . /
    (0x0, 5),          (0x1, 5),          (0x2, 5),          (0x19, 6),          // 0 1 2 3
    (0x1a, 6),         (0x1b, 6),         (0x1c, 6),         (0x1d, 6),          // 4 5 6 7
    (0x1e, 6),         (0x1f, 6),         (0x5c, 7),         (0xfb, 8),          // 8 9 : ;
    (0x7ffc, 15),      (0x20, 6),         (0xffb, 12),       (0x3fc, 10),        // < = > ?
    (0x1ffa, 13),      (0x21, 6),         (0x5d, 7),         (0x5e, 7),          // @ A B C
    (0x5f, 7),         (0x60, 7),         (0x61, 7),         (0x62, 7),          // D E F G
    (0x63, 7),         (0x64, 7),         (0x65, 7),         (0x66, 7),          // H I J K
    (0x67, 7),         (0x68, 7),         (0x69, 7),         (0x6a, 7),          // L M N O
    (0x6b, 7),         (0x6c, 7),         (0x6d, 7),         (0x6e, 7),          // P Q R S
    (0x6f, 7),         (0x70, 7),         (0x71, 7),         (0x72, 7),          // T U V W
    (0xfc, 8),         (0x73, 7),         (0xfd, 8),         (0x1ffb, 13),       // X Y Z [
    (0x7fff0, 19),     (0x1ffc, 13),      (0x3ffc, 14),      (0x22, 6),          // \ ] ^ _
    (0x7ffd, 15),      (0x3, 5),          (0x23, 6),         (0x4, 5),           // ` a b c
    (0x24, 6),         (0x5, 5),          (0x25, 6),         (0x26, 6),          // d e f g
    (0x27, 6),         (0x6, 5),          (0x74, 7),         (0x75, 7),          // h i j k
    (0x28, 6),         (0x29, 6),         (0x2a, 6),         (0x7, 5),           // l m n o
    (0x2b, 6),         (0x76, 7),         (0x2c, 6),         (0x8, 5),           // p q r s
    (0x9, 5),          (0x2d, 6),         (0x77, 7),         (0x78, 7),          // t u v w
    (0x79, 7),         (0x7a, 7),         (0x7b, 7),         (0x7ffe, 15),       // x y z {
    (0x7fc, 11),       (0x3ffd, 14),      (0x1ffd, 13),      (0xffffffc, 28),    // | } ~ 7f
    (0xfffe6, 20),     (0x3fffd2, 22),    (0xfffe7, 20),     (0xfffe8, 20),      // 80 81 82 83
    (0x3fffd3, 22),    (0x3fffd4, 22),    (0x3fffd5, 22),    (0x7fffd9, 23),     // 84 85 86 87
    (0x3fffd6, 22),    (0x7fffda, 23),    (0x7fffdb, 23),    (0x7fffdc, 23),     // 88 89 8a 8b
    (0x7fffdd, 23),    (0x7fffde, 23),    (0xffffeb, 24),    (0x7fffdf, 23),     // 8c 8d 8e 8f
    (0xffffec, 24),    (0xffffed, 24),    (0x3fffd7, 22),    (0x7fffe0, 23),     // 90 91 92 93
    (0xffffee, 24),    (0x7fffe1, 23),    (0x7fffe2, 23),    (0x7fffe3, 23),     // 94 95 96 97
    (0x7fffe4, 23),    (0x1fffdc, 21),    (0x3fffd8, 22),    (0x7fffe5, 23),     // 98 99 9a 9b
    (0x3fffd9, 22),    (0x7fffe6, 23),    (0x7fffe7, 23),    (0xffffef, 24),     // 9c 9d 9e 9f
    (0x3fffda, 22),    (0x1fffdd, 21),    (0xfffe9, 20),     (0x3fffdb, 22),     // a0 a1 a2 a3
    (0x3fffdc, 22),    (0x7fffe8, 23),    (0x7fffe9, 23),    (0x1fffde, 21),     // a4 a5 a6 a7
    (0x7fffea, 23),    (0x3fffdd, 22),    (0x3fffde, 22),    (0xfffff0, 24),     // a8 a9 aa ab
    (0x1fffdf, 21),    (0x3fffdf, 22),    (0x7fffeb, 23),    (0x7fffec, 23),     // ac ad ae af
    (0x1fffe0, 21),    (0x1fffe1, 21),    (0x3fffe0, 22),    (0x1fffe2, 21),     // b0 b1 b2 b3
    (0x7fffed, 23),    (0x3fffe1, 22),    (0x7fffee, 23),    (0x7fffef, 23),     // b4 b5 b6 b7
    (0xfffea, 20),     (0x3fffe2, 22),    (0x3fffe3, 22),    (0x3fffe4, 22),     // b8 b9 ba bb
    (0x7ffff0, 23),    (0x3fffe5, 22),    (0x3fffe6, 22),    (0x7ffff1, 23),     // bc bd be bf
    (0x3ffffe0, 26),   (0x3ffffe1, 26),   (0xfffeb, 20),     (0x7fff1, 19),      // c0 c1 c2 c3
    (0x3fffe7, 22),    (0x7ffff2, 23),    (0x3fffe8, 22),    (0x1ffffec, 25),    // c4 c5 c6 c7
    (0x3ffffe2, 26),   (0x3ffffe3, 26),   (0x3ffffe4, 26),   (0x7ffffde, 27),    // c8 c9 ca cb
    (0x7ffffdf, 27),   (0x3ffffe5, 26),   (0xfffff1, 24),    (0x1ffffed, 25),    // cc cd ce cf
    (0x7fff2, 19),     (0x1fffe3, 21),    (0x3ffffe6, 26),   (0x7ffffe0, 27),    // d0 d1 d2 d3
    (0x7ffffe1, 27),   (0x3ffffe7, 26),   (0x7ffffe2, 27),   (0xfffff2, 24),     // d4 d5 d6 d7
    (0x1fffe4, 21),    (0x1fffe5, 21),    (0x3ffffe8, 26),   (0x3ffffe9, 26),    // d8 d9 da db
    (0xffffffd, 28),   (0x7ffffe3, 27),   (0x7ffffe4, 27),   (0x7ffffe5, 27),    // dc dd de df
    (0xfffec, 20),     (0xfffff3, 24),    (0xfffed, 20),     (0x1fffe6, 21),     // e0 e1 e2 e3
    (0x3fffe9, 22),    (0x1fffe7, 21),    (0x1fffe8, 21),    (0x7ffff3, 23),     // e4 e5 e6 e7
    (0x3fffea, 22),    (0x3fffeb, 22),    (0x1ffffee, 25),   (0x1ffffef, 25),    // e8 e9 ea eb
    (0xfffff4, 24),    (0xfffff5, 24),    (0x3ffffea, 26),   (0x7ffff4, 23),     // ec ed ee ef
    (0x3ffffeb, 26),   (0x7ffffe6, 27),   (0x3ffffec, 26),   (0x3ffffed, 26),    // f0 f1 f2 f3
    (0x7ffffe7, 27),   (0x7ffffe8, 27),   (0x7ffffe9, 27),   (0x7ffffea, 27),    // f4 f5 f6 f7
    (0x7ffffeb, 27),   (0xffffffe, 28),   (0x7ffffec, 27),   (0x7ffffed, 27),    // f8 f9 fa fb
    (0x7ffffee, 27),   (0x7ffffef, 27),   (0x7fffff0, 27),   (0x3ffffee, 26),    // fc fd fe ff
    (0x3fffffff, 30), // EOS
];

/// The symbol the decoder must never see (§5.2).
pub const EOS: usize = 256;

/// Where one bit leads from a node of the decode tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch {
    /// Another node: more bits are needed.
    Node(u8),
    /// A leaf: this byte is decoded, and the next bit starts from the root.
    Symbol(u8),
    /// The leaf of the end-of-string code.
    Eos,
}

/// The decode tree: node 0 is the root, and each node has the branch taken
/// on a 0 bit and the one taken on a 1. A complete prefix code with 257
/// leaves has exactly 256 inner nodes, so a `u8` names any of them and
/// indexing the tree with one cannot fail.
pub static TREE: [[Branch; 2]; 256] = build_tree();

/// Grows the tree one code at a time, making inner nodes as the code's
/// bits first reach them.
const fn build_tree() -> [[Branch; 2]; 256] {
    let mut slots: [[Option<Branch>; 2]; 256] = [[None; 2]; 256];
    let mut nodes = 1; // the root exists
    let mut symbol = 0;
    while symbol < CODES.len() {
        let (code, len) = CODES[symbol];
        let mut node = 0;
        let mut depth = len;
        // Every bit but the last leads to an inner node.
        while depth > 1 {
            depth -= 1;
            let bit = ((code >> depth) & 1) as usize;
            node = match slots[node][bit] {
                Some(Branch::Node(next)) => next as usize,
                None => {
                    assert!(nodes < 256, "more inner nodes than a complete code has");
                    slots[node][bit] = Some(Branch::Node(nodes as u8));
                    nodes += 1;
                    nodes - 1
                }
                Some(_) => panic!("a code continues past another code's leaf"),
            };
        }
        let bit = (code & 1) as usize;
        assert!(slots[node][bit].is_none(), "a code is the prefix of another");
        slots[node][bit] = Some(if symbol == EOS { Branch::Eos } else { Branch::Symbol(symbol as u8) });
        symbol += 1;
    }
    let mut tree = [[Branch::Eos; 2]; 256];
    let mut node = 0;
    while node < 256 {
        let mut bit = 0;
        while bit < 2 {
            tree[node][bit] = match slots[node][bit] {
                Some(branch) => branch,
                None => panic!("a bit pattern no code starts with: the code is not complete"),
            };
            bit += 1;
        }
        node += 1;
    }
    tree
}

/// Appends the decoded form of `input` to `out`.
///
/// On an error, `out` holds what was decoded before it; the caller drops it.
pub fn decode(input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let mut node = 0u8;
    // The bits read since the last symbol ended, and whether all were ones:
    // if the input ends here, they are the padding.
    let mut pending = 0u32;
    let mut all_ones = true;
    for byte in input {
        for shift in (0..8).rev() {
            let one = (byte >> shift) & 1 == 1;
            pending += 1;
            all_ones &= one;
            let [on_zero, on_one] = TREE[usize::from(node)];
            match if one { on_one } else { on_zero } {
                Branch::Node(next) => node = next,
                Branch::Symbol(symbol) => {
                    out.push(symbol);
                    (node, pending, all_ones) = (0, 0, true);
                }
                Branch::Eos => return Err(Error::HuffmanEos),
            }
        }
    }
    if pending > 7 {
        Err(Error::HuffmanPaddingTooLong)
    } else if !all_ones {
        Err(Error::HuffmanPaddingNotOnes)
    } else {
        Ok(())
    }
}

/// Appends the Huffman code of `input` to `out`, padded with ones.
pub fn encode(input: &[u8], out: &mut Vec<u8>) {
    // Bits not yet written, right-aligned: fewer than 8 between symbols, so
    // a 30-bit code on top still fits in 64.
    let mut bits: u64 = 0;
    let mut count = 0u32;
    for byte in input {
        // A byte is below 256, so always one of the 257 entries.
        let (code, len) = CODES[usize::from(*byte)];
        bits = (bits << len) | u64::from(code);
        count += u32::from(len);
        while count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
        bits &= (1 << count) - 1;
    }
    if count > 0 {
        // The padding: the most significant bits of EOS, all ones.
        out.push(((bits << (8 - count)) | (0xff >> count)) as u8);
    }
}

/// How many bytes [`encode`] would write for `input`.
pub fn encoded_len(input: &[u8]) -> usize {
    let bits: usize = input.iter().map(|byte| usize::from(CODES[usize::from(*byte)].1)).sum();
    bits.div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(input, &mut out);
        out
    }

    fn decoded(input: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        decode(input, &mut out).map(|()| out)
    }

    /// The Huffman-coded strings of Appendix C.4 and C.6, from the RFC's hex dumps.
    const RFC_STRINGS: &[(&[u8], &str)] = &[
        (b"www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"),
        (b"no-cache", "a8eb10649cbf"),
        (b"custom-key", "25a849e95ba97d7f"),
        (b"custom-value", "25a849e95bb8e8b4bf"),
        (b"302", "6402"),
        (b"307", "640eff"),
        (b"private", "aec3771a4b"),
        (b"Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"),
        (b"Mon, 21 Oct 2013 20:13:22 GMT", "d07abe941054d444a8200595040b8166e084a62d1bff"),
        (b"https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"),
        (b"gzip", "9bd9ab"),
        (
            b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        ),
    ];

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn the_rfc_examples_encode_and_decode() {
        for (plain, hex) in RFC_STRINGS {
            let wire = unhex(hex);
            assert_eq!(coded(plain), wire, "{}", String::from_utf8_lossy(plain));
            assert_eq!(encoded_len(plain), wire.len());
            assert_eq!(decoded(&wire).as_deref(), Ok(*plain));
        }
    }

    #[test]
    fn every_byte_value_round_trips_alone_and_together() {
        for byte in 0..=255u8 {
            assert_eq!(decoded(&coded(&[byte])), Ok(vec![byte]), "{byte:#04x}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decoded(&coded(&all)), Ok(all.clone()));
        let reversed: Vec<u8> = all.iter().rev().copied().collect();
        assert_eq!(decoded(&coded(&reversed)), Ok(reversed));
        assert_eq!(coded(b""), b"");
        assert_eq!(decoded(b""), Ok(vec![]));
    }

    #[test]
    fn the_table_is_the_complete_canonical_code_of_the_rfc() {
        // Kraft: a complete prefix code's 2^-len add up to exactly 1.
        let kraft: u64 = CODES.iter().map(|(_, len)| 1u64 << (30 - len)).sum();
        assert_eq!(kraft, 1 << 30);
        // Canonical: by (length, symbol), each code is the last one plus one,
        // shifted left as the length grows.
        let mut order: Vec<usize> = (0..CODES.len()).collect();
        order.sort_by_key(|s| (CODES[*s].1, *s));
        let (mut next, mut len) = (0u32, CODES[order[0]].1);
        for s in order {
            next <<= CODES[s].1 - len;
            len = CODES[s].1;
            assert_eq!(CODES[s].0, next, "symbol {s}");
            next += 1;
        }
        assert_eq!(CODES[EOS], (0x3fff_ffff, 30));
    }

    #[test]
    fn eos_in_the_string_is_refused() {
        // Thirty ones, then the padding of two.
        assert_eq!(decoded(&[0xff, 0xff, 0xff, 0xff]), Err(Error::HuffmanEos));
        // After a symbol: 'a' (00011), then EOS.
        assert_eq!(decoded(&[0x1f, 0xff, 0xff, 0xff, 0xff]), Err(Error::HuffmanEos));
    }

    #[test]
    fn padding_longer_than_seven_bits_is_refused() {
        // '0' is 00000: 5 bits, then 11 bits of ones.
        assert_eq!(decoded(&[0x07, 0xff]), Err(Error::HuffmanPaddingTooLong));
        assert_eq!(decoded(&[0xff]), Err(Error::HuffmanPaddingTooLong), "a whole byte of padding");
        assert_eq!(decoded(&[0x07]), Ok(b"0".to_vec()), "three bits of padding are fine");
    }

    #[test]
    fn padding_that_is_not_ones_is_refused() {
        // '0' then 000: zeros where the ones of EOS belong, though they are a prefix of '0' itself.
        assert_eq!(decoded(&[0x00]), Err(Error::HuffmanPaddingNotOnes));
        assert_eq!(decoded(&[0x06]), Err(Error::HuffmanPaddingNotOnes));
    }

    #[test]
    fn the_tree_has_a_leaf_for_every_symbol() {
        let mut seen = [false; 257];
        for node in &TREE {
            for branch in node {
                match branch {
                    Branch::Symbol(s) => seen[usize::from(*s)] = true,
                    Branch::Eos => seen[EOS] = true,
                    Branch::Node(_) => {}
                }
            }
        }
        assert!(seen.iter().all(|s| *s));
    }
}
