//! Small parsers for the header field values a static file server needs.
//!
//! Each parser takes the bytes of one field value, borrows from them, never
//! allocates, and answers in a way that is safe to act on when the value is
//! malformed: a bad date or entity tag makes a precondition false or absent, a
//! bad `Range` is ignored (the full representation is served), and a bad
//! `Accept-Encoding` element is skipped (so the response is less likely to
//! be compressed, never more).
//!
//! - [`date`]: HTTP dates in their three formats (RFC 9110 §5.6.7), for
//!   `If-Modified-Since` and `If-Unmodified-Since`, and the formatter for
//!   `Date` and `Last-Modified`.
//! - [`range`]: `Range: bytes=…` (RFC 9110 §14.1-§14.2), resolved against a
//!   length into sorted, coalesced byte ranges, with a guard against
//!   many-range amplification.
//! - [`etag`]: entity tags and the `If-Match` / `If-None-Match` lists
//!   (RFC 9110 §8.8.3, §13.1.1, §13.1.2).
//! - [`accept_encoding`]: which content coding the client prefers
//!   (RFC 9110 §12.5.3).
//!
//! Field values handed to these functions may still carry optional
//! whitespace at either end; every parser trims it.
//!
//! ```
//! use wired_parser::values::{date::parse_http_date, etag::EntityTag, range::{ParsedRange, parse_range}};
//! assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
//! assert!(EntityTag::parse(b"\"v1\"").is_some());
//! assert_eq!(parse_range(b"lines=1-2"), ParsedRange::Ignore); // unknown unit: send it all
//! ```

pub mod accept_encoding;
pub mod date;
pub mod etag;
pub mod range;

/// Optional whitespace, `OWS = *( SP / HTAB )` (RFC 9110 §5.6.3).
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `value` without leading and trailing optional whitespace (RFC 9110 §5.6.3).
pub(crate) fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|&b| !is_ows(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    value.get(start..end).unwrap_or_default()
}

/// `tchar` (RFC 9110 §5.6.2): the characters a token is made of.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// `token = 1*tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_token(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(|&b| is_tchar(b))
}

/// `1*DIGIT` as a `u64`; `None` when empty, not all digits, or too large.
pub(crate) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1), trimmed of the
/// optional whitespace around each comma, with empty elements skipped as the
/// RFC asks recipients to do (`a, , b` is the list `a`, `b`).
///
/// Splitting ignores quoting: only lists whose elements cannot contain a
/// comma should use it (entity tags can, so [`etag`] scans its own way).
pub(crate) fn list_elements(value: &[u8]) -> ListElements<'_> {
    ListElements { rest: Some(value) }
}

/// Iterator returned by [`list_elements`].
pub(crate) struct ListElements<'a> {
    /// What has not been split yet; `None` once the last element is out.
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for ListElements<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let rest = self.rest?;
            let element = match memchr::memchr(b',', rest) {
                Some(comma) => {
                    let (element, tail) = rest.split_at(comma);
                    self.rest = tail.get(1..);
                    element
                }
                None => {
                    self.rest = None;
                    rest
                }
            };
            let element = trim_ows(element);
            if !element.is_empty() {
                return Some(element);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_ows_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b" ", b""),
            (b" \t ", b""),
            (b"a", b"a"),
            (b" a", b"a"),
            (b"a\t", b"a"),
            (b" \ta b\t ", b"a b"),
            (b"\r a", b"\r a"),
        ];
        for (input, want) in cases {
            assert_eq!(trim_ows(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn token_table() {
        let cases: &[(&[u8], bool)] = &[
            (b"gzip", true),
            (b"x-gzip", true),
            (b"*", true),
            (b"!#$%&'*+-.^_`|~09azAZ", true),
            (b"", false),
            (b"a b", false),
            (b"a,b", false),
            (b"a;b", false),
            (b"\"a\"", false),
            (b"a=b", false),
            (b"\x80", false),
        ];
        for (input, want) in cases {
            assert_eq!(is_token(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn parse_u64_table() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"007", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"99999999999999999999999", None),
            (b"", None),
            (b"-1", None),
            (b"+1", None),
            (b"1a", None),
            (b" 1", None),
            (b"1.0", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_u64(input), *want, "input {input:?}");
        }
    }

    /// Random bytes from an alphabet that reaches deep into every parser:
    /// none may panic, and what they accept must keep their invariants.
    #[test]
    fn random_inputs_keep_invariants() {
        const ALPHABET: &[u8] = b"0123456789-=,; \t\"W/*qQ.bytesBYTgzipbrzstdidentyGMTSunNovFeb:\x80\xff\x00";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let prefixes: [&[u8]; 5] = [b"", b"bytes=", b"W/\"", b"Sun, 06 Nov ", b"gzip;q="];
        for _ in 0..50_000 {
            let mut input = Vec::new();
            input.extend_from_slice(prefixes[(next() % 5) as usize]);
            for _ in 0..next() % 40 {
                input.push(ALPHABET[(next() % ALPHABET.len() as u64) as usize]);
            }

            if let range::ParsedRange::Ranges(set) = range::parse_range(&input) {
                assert!(!set.specs().is_empty());
                for length in [0, 1, 2, 100, 10_000, u64::MAX] {
                    let resolved = set.resolve(length);
                    let ranges = resolved.ranges();
                    assert!(ranges.len() <= range::MAX_RANGES);
                    assert!(ranges.iter().all(|r| r.start <= r.end && r.end < length));
                    assert!(ranges.windows(2).all(|w| w[0].end < w[1].start));
                }
            }

            if let Some(secs) = date::parse_http_date(&input) {
                let mut out = [0; date::HTTP_DATE_LEN];
                date::format_http_date(secs, &mut out);
                assert_eq!(date::parse_http_date(&out), Some(secs), "{input:?}");
            }

            if let Some(tag) = etag::EntityTag::parse(&input) {
                assert!(tag.weak_eq(&tag));
                assert_eq!(tag.strong_eq(&tag), !tag.weak);
                assert!(etag::if_match_passes(&input, &tag) || tag.weak);
                assert!(!etag::if_none_match_passes(&input, &tag));
            }
            let current = etag::EntityTag { weak: false, opaque: b"1" };
            etag::if_match_passes(&input, &current);
            etag::if_none_match_passes(&input, &current);

            let accept = accept_encoding::AcceptEncoding::parse(&input);
            for coding in [
                accept_encoding::Coding::Br,
                accept_encoding::Coding::Zstd,
                accept_encoding::Coding::Gzip,
                accept_encoding::Coding::Identity,
            ] {
                assert!(accept.q(coding) <= 1000);
            }
        }
    }

    #[test]
    fn list_elements_table() {
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"", &[]),
            (b" ", &[]),
            (b",", &[]),
            (b" , ,\t, ", &[]),
            (b"a", &[b"a"]),
            (b"a,b", &[b"a", b"b"]),
            (b"a , b", &[b"a", b"b"]),
            (b"a,\tb ,c", &[b"a", b"b", b"c"]),
            (b", a, , b,", &[b"a", b"b"]),
            (b"a;q=1 ,b", &[b"a;q=1", b"b"]),
            (b"a b, c", &[b"a b", b"c"]),
        ];
        for (input, want) in cases {
            let got: Vec<&[u8]> = list_elements(input).collect();
            assert_eq!(got, *want, "input {input:?}");
        }
    }
}
