//! `Accept-Encoding` (RFC 9110 §12.5.3): which content coding to send.
//!
//! Only the codings a static file server can serve precompressed are
//! recorded (`br`, `zstd`, `gzip` and its alias `x-gzip`), plus `identity`
//! and `*`; every other coding is parsed and skipped. Weights are kept as
//! thousandths, the precision of a qvalue (RFC 9110 §12.4.2), so there is no
//! floating point.
//!
//! An element that does not parse (a bad weight such as `q=2` or `q=0.1234`,
//! a parameter other than `q`, a name that is not a token) is ignored, as if
//! it had not been listed. That can only make a coding less acceptable, so
//! the worst outcome of a malformed header is an uncompressed response.
//!
//! A request *without* `Accept-Encoding` means, per RFC 9110 §12.5.3, that
//! any coding is acceptable; but some clients that cannot decode omit the
//! field, so a server should not compress at all in that case. Only call
//! [`AcceptEncoding::parse`] when the field is present.
//!
//! ```
//! use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};
//! let accept = AcceptEncoding::parse(b"gzip;q=0.5, br");
//! assert!(accept.q(Coding::Br) > accept.q(Coding::Gzip));
//! ```

use super::{is_token, list_elements, trim_ows};

/// A content coding the server may choose (RFC 9110 §8.4.1).
///
/// ```
/// use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};
/// assert_eq!(AcceptEncoding::parse(b"x-gzip").q(Coding::Gzip), 1000); // x-gzip is gzip
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// Brotli, `br` (RFC 7932).
    Br,
    /// Zstandard, `zstd` (RFC 8878).
    Zstd,
    /// `gzip`, also accepted as `x-gzip` (RFC 9110 §8.4.1.3).
    Gzip,
    /// No coding at all (RFC 9110 §12.5.3).
    Identity,
}

impl Coding {
    /// The coding's name as written in `Content-Encoding`.
    ///
    /// ```
    /// use wired_parser::values::accept_encoding::Coding;
    /// assert_eq!(Coding::Br.as_str(), "br");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
            Coding::Identity => "identity",
        }
    }
}

/// The weights an `Accept-Encoding` field gives to the codings the server
/// knows, in thousandths (0 = not acceptable, 1000 = most preferred).
///
/// If a coding is listed more than once, the first listing counts.
///
/// ```
/// use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};
/// let accept = AcceptEncoding::parse(b"br;q=0.2, br;q=0.9");
/// assert_eq!(accept.q(Coding::Br), 200); // the first listing counts
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptEncoding {
    br: Option<u16>,
    zstd: Option<u16>,
    gzip: Option<u16>,
    identity: Option<u16>,
    /// The weight of `*`: every coding not listed by name.
    any: Option<u16>,
}

impl AcceptEncoding {
    /// Parse the value of an `Accept-Encoding` field that is present.
    ///
    /// Coding names and the `q` parameter name are case-insensitive
    /// (RFC 9110 §8.4.1, §12.4.2); optional whitespace is allowed around
    /// commas and semicolons (RFC 9110 §5.6.1, §5.6.6). An empty value means
    /// "no coding but identity" (RFC 9110 §12.5.3).
    ///
    /// ```
    /// use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};
    /// let accept = AcceptEncoding::parse(b"gzip, deflate, br;q=0.8");
    /// assert_eq!(accept.q(Coding::Gzip), 1000);
    /// assert_eq!(accept.q(Coding::Br), 800);
    /// assert_eq!(accept.q(Coding::Zstd), 0);
    /// ```
    pub fn parse(value: &[u8]) -> AcceptEncoding {
        let mut accept = AcceptEncoding { br: None, zstd: None, gzip: None, identity: None, any: None };
        for element in list_elements(value) {
            let Some((name, q)) = parse_element(element) else {
                continue;
            };
            let slot = if name.eq_ignore_ascii_case(b"br") {
                &mut accept.br
            } else if name.eq_ignore_ascii_case(b"zstd") {
                &mut accept.zstd
            } else if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip") {
                // x-gzip is gzip (RFC 9110 §8.4.1.3).
                &mut accept.gzip
            } else if name.eq_ignore_ascii_case(b"identity") {
                &mut accept.identity
            } else if name == b"*" {
                &mut accept.any
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(q);
            }
        }
        accept
    }

    /// The weight of `coding`, in thousandths: its own listing if any, else
    /// that of `*`, else the default, which is 1000 for identity ("acceptable
    /// by default") and 0 for every real coding (RFC 9110 §12.5.3).
    ///
    /// ```
    /// use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};
    /// let accept = AcceptEncoding::parse(b"br, *;q=0");
    /// assert_eq!(accept.q(Coding::Br), 1000);
    /// assert_eq!(accept.q(Coding::Gzip), 0);
    /// assert_eq!(accept.q(Coding::Identity), 0); // excluded by *;q=0
    /// ```
    pub fn q(&self, coding: Coding) -> u16 {
        let (listed, default) = match coding {
            Coding::Br => (self.br, 0),
            Coding::Zstd => (self.zstd, 0),
            Coding::Gzip => (self.gzip, 0),
            Coding::Identity => (self.identity, 1000),
        };
        listed.or(self.any).unwrap_or(default)
    }

    /// The acceptable coding (weight above 0) with the highest weight among
    /// `available`; ties go to the one listed first in `available`, so the
    /// caller lists its own preference (typically `[Br, Zstd, Gzip]`).
    /// `None` when none is acceptable: send the response uncoded.
    ///
    /// Include [`Coding::Identity`] in `available` to honour a client that
    /// weights identity above the compressed codings; if it is chosen, send
    /// the response uncoded.
    ///
    /// ```
    /// use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};
    /// let accept = AcceptEncoding::parse(b"gzip, deflate, br, zstd");
    /// let available = [Coding::Br, Coding::Zstd, Coding::Gzip];
    /// assert_eq!(accept.preferred(&available), Some(Coding::Br));
    /// assert_eq!(AcceptEncoding::parse(b"identity").preferred(&available), None);
    /// ```
    pub fn preferred(&self, available: &[Coding]) -> Option<Coding> {
        let mut best: Option<(Coding, u16)> = None;
        for &coding in available {
            let q = self.q(coding);
            if q > 0 && best.is_none_or(|(_, best_q)| q > best_q) {
                best = Some((coding, q));
            }
        }
        best.map(|(coding, _)| coding)
    }
}

/// `codings [ weight ]` (RFC 9110 §12.5.3) as the coding name and its weight
/// in thousandths (1000 when no weight is given); `None` if malformed.
fn parse_element(element: &[u8]) -> Option<(&[u8], u16)> {
    let Some(semicolon) = memchr::memchr(b';', element) else {
        return is_token(element).then_some((element, 1000));
    };
    let (name, weight) = element.split_at(semicolon);
    let name = trim_ows(name);
    if !is_token(name) {
        return None;
    }
    // weight = OWS ";" OWS "q=" qvalue, "q" case-insensitive (RFC 9110 §12.4.2);
    // no other parameter is defined for Accept-Encoding.
    let weight = trim_ows(weight.get(1..)?);
    let (q, value) = weight.split_at_checked(2)?;
    if !q.eq_ignore_ascii_case(b"q=") {
        return None;
    }
    Some((name, parse_qvalue(value)?))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`
/// (RFC 9110 §12.4.2), in thousandths.
fn parse_qvalue(value: &[u8]) -> Option<u16> {
    match value.split_first()? {
        (b'0', fraction) => thousandths(fraction),
        (b'1', fraction) => (thousandths(fraction)? == 0).then_some(1000),
        _ => None,
    }
}

/// `[ "." 0*3DIGIT ]` after the units digit, in thousandths.
fn thousandths(fraction: &[u8]) -> Option<u16> {
    let Some(digits) = fraction.strip_prefix(b".") else {
        return fraction.is_empty().then_some(0);
    };
    if digits.len() > 3 {
        return None;
    }
    let mut value = 0u16;
    for place in 0..3 {
        let digit = match digits.get(place) {
            Some(&b) if b.is_ascii_digit() => u16::from(b - b'0'),
            Some(_) => return None,
            None => 0,
        };
        value = value * 10 + digit;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::{Br, Gzip, Identity, Zstd};

    const COMPRESSED: [Coding; 3] = [Br, Zstd, Gzip];

    /// `[br, zstd, gzip, identity]` weights.
    fn weights(value: &str) -> [u16; 4] {
        let accept = AcceptEncoding::parse(value.as_bytes());
        [Br, Zstd, Gzip, Identity].map(|c| accept.q(c))
    }

    #[test]
    fn weights_table() {
        let cases: &[(&str, [u16; 4])] = &[
            // Typical browsers and tools.
            ("gzip, deflate, br, zstd", [1000, 1000, 1000, 1000]),
            ("gzip, deflate, br", [1000, 0, 1000, 1000]),
            ("gzip, deflate", [0, 0, 1000, 1000]),
            ("gzip", [0, 0, 1000, 1000]),
            ("deflate, gzip;q=1.0, *;q=0.5", [500, 500, 1000, 500]),
            ("br;q=1.0, gzip;q=0.8, *;q=0.1", [1000, 100, 800, 100]),
            // RFC 9110 §12.5.3 examples.
            ("compress, gzip", [0, 0, 1000, 1000]),
            ("", [0, 0, 0, 1000]),
            ("*", [1000, 1000, 1000, 1000]),
            ("compress;q=0.5, gzip;q=1.0", [0, 0, 1000, 1000]),
            ("gzip;q=1.0, identity; q=0.5, *;q=0", [0, 0, 1000, 500]),
            // Exclusions.
            ("gzip;q=0", [0, 0, 0, 1000]),
            ("identity;q=0", [0, 0, 0, 0]),
            ("*;q=0", [0, 0, 0, 0]),
            ("*;q=0, identity", [0, 0, 0, 1000]),
            ("br, *;q=0", [1000, 0, 0, 0]),
            // Aliases, case, whitespace.
            ("x-gzip", [0, 0, 1000, 1000]),
            ("X-GZIP;Q=0.3", [0, 0, 300, 1000]),
            ("GZIP;Q=0.5, BR, Zstd;q=0.25", [1000, 250, 500, 1000]),
            ("gzip ; q=0.5", [0, 0, 500, 1000]),
            ("gzip;\tq=0.5 ,br", [1000, 0, 500, 1000]),
            (" , gzip,, ,br , ", [1000, 0, 1000, 1000]),
            // qvalue forms (RFC 9110 §12.4.2).
            ("gzip;q=0", [0, 0, 0, 1000]),
            ("gzip;q=0.", [0, 0, 0, 1000]),
            ("gzip;q=0.5", [0, 0, 500, 1000]),
            ("gzip;q=0.05", [0, 0, 50, 1000]),
            ("gzip;q=0.005", [0, 0, 5, 1000]),
            ("gzip;q=0.999", [0, 0, 999, 1000]),
            ("gzip;q=1", [0, 0, 1000, 1000]),
            ("gzip;q=1.", [0, 0, 1000, 1000]),
            ("gzip;q=1.000", [0, 0, 1000, 1000]),
            // The first listing of a coding counts.
            ("gzip;q=0, gzip", [0, 0, 0, 1000]),
            ("gzip, x-gzip;q=0", [0, 0, 1000, 1000]),
            ("*;q=0.2, *", [200, 200, 200, 200]),
        ];
        for (input, want) in cases {
            assert_eq!(weights(input), *want, "{input:?}");
        }
    }

    #[test]
    fn malformed_elements_are_ignored() {
        // Each is followed by `*;q=0.3`, which then supplies gzip's weight.
        let bad = [
            "gzip;q=2",
            "gzip;q=1.5",
            "gzip;q=1.001",
            "gzip;q=1.0000",
            "gzip;q=0.1234",
            "gzip;q=abc",
            "gzip;q=",
            "gzip;q=.5",
            "gzip;q=-0",
            "gzip;q=+1",
            "gzip;q=00.5",
            "gzip;q=0.5x",
            "gzip;q= 0.5",
            "gzip;q =0.5",
            "gzip;q",
            "gzip;",
            "gzip;;q=1",
            "gzip;level=9",
            "gzip;q=0.5;level=9",
            "gzip;x=1;q=0.5",
            "gzip;q=\"0.5\"",
            "\"gzip\"",
            "gz ip",
            "gzip/1",
            "gzip\u{e9}",
        ];
        for element in bad {
            let header = format!("{element}, *;q=0.3");
            assert_eq!(weights(&header), [300, 300, 300, 300], "{header:?}");
        }
        // Malformed elements never make a coding more acceptable.
        assert_eq!(weights(";q=1"), [0, 0, 0, 1000]);
        assert_eq!(weights("br;q=2, gzip"), [0, 0, 1000, 1000]);
        assert_eq!(weights("identity;q=abc"), [0, 0, 0, 1000]);
    }

    #[test]
    fn preferred_table() {
        type Case = (&'static str, &'static [Coding], Option<Coding>);
        let cases: &[Case] = &[
            ("gzip, deflate, br, zstd", &COMPRESSED, Some(Br)),
            ("gzip, deflate, br", &COMPRESSED, Some(Br)),
            ("gzip, deflate", &COMPRESSED, Some(Gzip)),
            ("zstd, gzip", &COMPRESSED, Some(Zstd)),
            // The highest weight wins over the server's order.
            ("br;q=0.5, gzip", &COMPRESSED, Some(Gzip)),
            ("br;q=0.5, zstd;q=0.6, gzip;q=0.4", &COMPRESSED, Some(Zstd)),
            // Ties go to the server's order.
            ("gzip, br", &COMPRESSED, Some(Br)),
            ("gzip, br", &[Gzip, Br], Some(Gzip)),
            ("*", &COMPRESSED, Some(Br)),
            ("*;q=0.5, gzip;q=0.5", &COMPRESSED, Some(Br)),
            // Only available codings are considered.
            ("br", &[Gzip], None),
            ("br, gzip;q=0.1", &[Gzip], Some(Gzip)),
            ("gzip", &[], None),
            // Nothing acceptable.
            ("", &COMPRESSED, None),
            ("identity", &COMPRESSED, None),
            ("deflate, compress", &COMPRESSED, None),
            ("gzip;q=0", &COMPRESSED, None),
            ("*;q=0", &COMPRESSED, None),
            ("br;q=0, gzip;q=0, zstd;q=0, *", &COMPRESSED, None),
            ("gzip;q=2", &COMPRESSED, None),
            // Identity as a candidate.
            ("gzip;q=0.5", &[Br, Zstd, Gzip, Identity], Some(Identity)),
            ("gzip;q=0.5, identity;q=0.1", &[Br, Zstd, Gzip, Identity], Some(Gzip)),
            ("*;q=0", &[Br, Zstd, Gzip, Identity], None),
            ("", &[Br, Zstd, Gzip, Identity], Some(Identity)),
        ];
        for (input, available, want) in cases {
            let accept = AcceptEncoding::parse(input.as_bytes());
            assert_eq!(accept.preferred(available), *want, "{input:?} of {available:?}");
        }
    }

    #[test]
    fn qvalue_table() {
        let cases: &[(&[u8], Option<u16>)] = &[
            (b"0", Some(0)),
            (b"0.", Some(0)),
            (b"0.000", Some(0)),
            (b"0.1", Some(100)),
            (b"0.12", Some(120)),
            (b"0.123", Some(123)),
            (b"1", Some(1000)),
            (b"1.0", Some(1000)),
            (b"1.00", Some(1000)),
            (b"1.000", Some(1000)),
            (b"", None),
            (b".", None),
            (b"1.1", None),
            (b"1.0001", None),
            (b"0.1234", None),
            (b"2", None),
            (b"01", None),
            (b"0..1", None),
            (b"0.1.", None),
            (b"0 ", None),
            (b"0.a", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_qvalue(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn coding_names() {
        for (coding, name) in [(Br, "br"), (Zstd, "zstd"), (Gzip, "gzip"), (Identity, "identity")] {
            assert_eq!(coding.as_str(), name);
            let accept = AcceptEncoding::parse(format!("{name};q=0.7").as_bytes());
            assert_eq!(accept.q(coding), 700, "{name}");
        }
    }
}
