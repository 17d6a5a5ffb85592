//! Base64 with the standard alphabet and padding (RFC 4648 §4), for the
//! WebSocket handshake: decoding checks `Sec-WebSocket-Key`, encoding
//! writes `Sec-WebSocket-Accept` (RFC 6455 §4.2.2). Written here rather than
//! taken as a dependency for the reasons in [`super::sha1`]; the RFC 4648
//! §10 vectors below prove it.
//!
//! ```
//! use wired_parser::websocket::base64;
//! let mut text = [0; 8];
//! assert_eq!(base64::encode(b"foob", &mut text), Some(8));
//! assert_eq!(&text, b"Zm9vYg==");
//! let mut bytes = [0; 6];
//! assert_eq!(base64::decode(b"Zm9vYg==", &mut bytes), Some(4));
//! assert_eq!(&bytes[..4], b"foob");
//! ```

/// RFC 4648 §4, Table 1.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// How many characters `len` bytes encode to, padding included.
pub const fn encoded_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Encode `input` into the start of `out`; `None` if `out` is shorter than
/// [`encoded_len`]`(input.len())`.
pub fn encode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let n = encoded_len(input.len());
    let out = out.get_mut(..n)?;
    for (group, text) in input.chunks(3).zip(out.chunks_exact_mut(4)) {
        let [a, b, c] = [0, 1, 2].map(|i| group.get(i).copied().unwrap_or(0));
        let bits = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        for (i, slot) in text.iter_mut().enumerate() {
            *slot = if i <= group.len() { ALPHABET[(bits >> (18 - 6 * i) & 0x3F) as usize] } else { b'=' };
        }
    }
    Some(n)
}

/// Decode `input` into the start of `out` and return the number of bytes.
///
/// Strict, as a check of a client's key should be: the length is a multiple
/// of 4, `=` appears only as the last one or two characters, no whitespace
/// or other alphabet, and the bits that padding leaves over are zero (RFC
/// 4648 §3.5: so each byte string has exactly one encoding). `None` if the
/// input breaks any of these or `out` is too short.
pub fn decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    if !input.len().is_multiple_of(4) {
        return None;
    }
    let groups = input.len() / 4;
    let mut n = 0;
    for (g, text) in input.chunks_exact(4).enumerate() {
        let last = g + 1 == groups;
        let pad = match text {
            [_, _, b'=', b'='] if last => 2,
            [_, _, _, b'='] if last => 1,
            _ => 0,
        };
        let mut bits = 0u32;
        for &c in &text[..4 - pad] {
            bits = bits << 6 | u32::from(value(c)?);
        }
        bits <<= 6 * pad;
        let bytes = bits.to_be_bytes();
        let (data, spare) = bytes[1..].split_at(3 - pad);
        if spare.iter().any(|&b| b != 0) {
            return None;
        }
        out.get_mut(n..n + data.len())?.copy_from_slice(data);
        n += data.len();
    }
    Some(n)
}

/// The 6-bit value of one alphabet character.
fn value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10.
    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc_4648_section_10() {
        for (bytes, text) in VECTORS {
            let mut out = [0; 8];
            assert_eq!(encode(bytes.as_bytes(), &mut out), Some(text.len()));
            assert_eq!(&out[..text.len()], text.as_bytes());
            let mut back = [0; 6];
            assert_eq!(decode(text.as_bytes(), &mut back), Some(bytes.len()), "{text}");
            assert_eq!(&back[..bytes.len()], bytes.as_bytes());
        }
    }

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..=all.len() {
            let mut text = vec![0; encoded_len(len)];
            assert_eq!(encode(&all[..len], &mut text), Some(text.len()));
            let mut back = vec![0; len];
            assert_eq!(decode(&text, &mut back), Some(len));
            assert_eq!(back, &all[..len]);
        }
    }

    #[test]
    fn refuses_what_is_not_canonical() {
        let mut out = [0; 16];
        for bad in [
            &b"Zg="[..], // not a multiple of 4
            b"Zh==",     // spare bits set: "Zg==" is the only encoding of "f"
            b"Zm9=",     // likewise for "fo"
            b"Z===",     // three pads
            b"Zg==Zg==", // padding before the end
            b"Zm9v\n",   // whitespace
            b"Zm-v",     // the URL-safe alphabet
            b"Zm9 ",
        ] {
            assert_eq!(decode(bad, &mut out), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(decode(b"Zm9vYmFy", &mut [0; 5]), None, "out too short");
        assert_eq!(encode(b"foo", &mut [0; 3]), None, "out too short");
    }
}
