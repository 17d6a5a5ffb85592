//! `Range: bytes=…` (RFC 9110 §14.1-§14.2), in two steps.
//!
//! 1. [`parse_range`] checks the syntax and keeps the range specs as written,
//!    without knowing the representation. Anything it cannot use is
//!    [`ParsedRange::Ignore`]: RFC 9110 §14.2 lets a server ignore a `Range`
//!    field, and requires it for a range unit it does not understand.
//! 2. [`RangeSet::resolve`] applies the specs to the representation's length:
//!    it drops the unsatisfiable ones, clamps the rest, sorts and coalesces
//!    them, and answers 206 ([`Resolved::Ranges`]), 416
//!    ([`Resolved::Unsatisfiable`]) or 200 ([`Resolved::Whole`]).
//!
//! ## The amplification guard
//!
//! Each range in a multipart response costs a boundary and two header lines,
//! and overlapping ranges send the same bytes again, so a short header such as
//! `bytes=0-,0-,0-,…` can make a server send a file many times over (the
//! attack behind CVE-2011-3192 in Apache). RFC 9110 §14.2 lets a server
//! coalesce ranges that overlap or are separated by a gap smaller than the
//! overhead of another part, and ignore a `Range` field made of many small or
//! overlapping ranges. Like Apache and nginx, this module therefore:
//!
//! - keeps at most [`MAX_RAW_SPECS`] specs from the header, and answers
//!   [`Resolved::Whole`] if there were more;
//! - sorts the satisfiable ranges and merges those that overlap, touch, or are
//!   less than [`COALESCE_GAP`] bytes apart, so the response never carries a
//!   byte twice and never carries more bytes than the file has;
//! - answers [`Resolved::Whole`] if more than [`MAX_RANGES`] ranges remain.
//!
//! Serving the whole representation with 200 is always a correct answer to a
//! range request, and it costs no more than a request without `Range`.
//!
//! ```
//! use wired_parser::values::range::{ByteRange, ParsedRange, parse_range};
//! let ParsedRange::Ranges(set) = parse_range(b"bytes=0-0,0-0,0-0") else { panic!() };
//! // The same byte asked for three times is sent once.
//! assert_eq!(set.resolve(100).ranges(), &[ByteRange { start: 0, end: 0 }]);
//! ```

use super::{list_elements, parse_u64, trim_ows};

/// Most ranges a 206 response may carry after coalescing; more and the
/// request is answered with the whole representation.
///
/// ```
/// use wired_parser::values::range::{MAX_RANGES, ParsedRange, Resolved, parse_range};
/// // 17 one-byte ranges 200 bytes apart stay apart: too many parts, so 200, not 206.
/// let specs: Vec<String> = (0..=MAX_RANGES as u64).map(|i| format!("{0}-{0}", i * 200)).collect();
/// let ParsedRange::Ranges(set) = parse_range(format!("bytes={}", specs.join(",")).as_bytes()) else { panic!() };
/// assert_eq!(set.resolve(10_000), Resolved::Whole);
/// ```
pub const MAX_RANGES: usize = 16;

/// Most range specs kept from one `Range` field. A header with more is still
/// checked for syntax, but [`RangeSet::resolve`] answers [`Resolved::Whole`].
///
/// ```
/// use wired_parser::values::range::{MAX_RAW_SPECS, ParsedRange, Resolved, parse_range};
/// let many = format!("bytes={}", vec!["0-0"; MAX_RAW_SPECS + 1].join(","));
/// let ParsedRange::Ranges(set) = parse_range(many.as_bytes()) else { panic!() };
/// assert_eq!(set.resolve(100), Resolved::Whole);
/// ```
pub const MAX_RAW_SPECS: usize = 64;

/// Ranges separated by fewer than this many bytes are merged into one. A
/// multipart part costs about 80 bytes of boundary and header lines, so
/// sending the gap is cheaper than starting another part (RFC 9110 §14.2).
///
/// ```
/// use wired_parser::values::range::{ByteRange, COALESCE_GAP, ParsedRange, parse_range};
/// let ParsedRange::Ranges(set) = parse_range(b"bytes=0-9,50-59") else { panic!() };
/// assert!(50 - 9 < COALESCE_GAP); // closer than a part costs: one range
/// assert_eq!(set.resolve(1000).ranges(), &[ByteRange { start: 0, end: 59 }]);
/// ```
pub const COALESCE_GAP: u64 = 80;

/// One `range-spec` of the `bytes` unit, as written (RFC 9110 §14.1.1).
///
/// ```
/// use wired_parser::values::range::{ParsedRange, RangeSpec, parse_range};
/// let ParsedRange::Ranges(set) = parse_range(b"bytes=0-99,100-,-50") else { panic!() };
/// assert_eq!(set.specs(), &[RangeSpec::FromTo(0, 99), RangeSpec::From(100), RangeSpec::Suffix(50)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last`: bytes `first` to `last` inclusive; `last >= first`.
    FromTo(u64, u64),
    /// `first-`: from `first` to the end.
    From(u64),
    /// `-length`: the last `length` bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The bytes this spec selects from a representation of
    /// `complete_length > 0` bytes, or `None` if it selects none
    /// (RFC 9110 §14.1.1: unsatisfiable).
    fn satisfiable_part(self, complete_length: u64) -> Option<ByteRange> {
        let last = complete_length.checked_sub(1)?;
        match self {
            // A last-pos past the end means "to the end" (RFC 9110 §14.1.1).
            RangeSpec::FromTo(first, end) if first <= last => Some(ByteRange { start: first, end: end.min(last) }),
            RangeSpec::From(first) if first <= last => Some(ByteRange { start: first, end: last }),
            // A suffix longer than the representation selects all of it, and
            // an empty suffix selects nothing (RFC 9110 §14.1.1).
            RangeSpec::Suffix(length) if length > 0 => {
                Some(ByteRange { start: complete_length.saturating_sub(length), end: last })
            }
            _ => None,
        }
    }
}

/// The result of [`parse_range`].
///
/// ```
/// use wired_parser::values::range::{ParsedRange, parse_range};
/// assert!(matches!(parse_range(b"bytes=0-1"), ParsedRange::Ranges(_)));
/// assert_eq!(parse_range(b"bytes=abc"), ParsedRange::Ignore);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "the specs live inline so parsing never allocates; one per request, on the stack"
)]
pub enum ParsedRange {
    /// A syntactically valid `bytes=` range set; [`RangeSet::resolve`] it.
    Ranges(RangeSet),
    /// Another range unit, or invalid syntax: serve the request as if it had
    /// no `Range` field (RFC 9110 §14.2).
    Ignore,
}

/// The range specs of a valid `Range: bytes=…` field, in the order written.
///
/// Holds up to [`MAX_RAW_SPECS`] specs inline, so parsing never allocates. A
/// field with more is still a valid `RangeSet`, marked
/// [truncated](RangeSet::is_truncated), and resolves to [`Resolved::Whole`]:
/// the choice is between 200 and 206, not between 200 and 400, so there is
/// no reason to reject such a request outright.
///
/// ```
/// use wired_parser::values::range::{ParsedRange, parse_range};
/// let ParsedRange::Ranges(set) = parse_range(b"bytes=-1") else { panic!() };
/// assert_eq!(set.specs().len(), 1);
/// assert!(!set.is_truncated());
/// ```
#[derive(Clone)]
pub struct RangeSet {
    specs: [RangeSpec; MAX_RAW_SPECS],
    len: usize,
    truncated: bool,
}

/// Parse a `Range` field value.
///
/// The unit `bytes` is matched case-insensitively (RFC 9110 §14.1), optional
/// whitespace is allowed around commas and empty list elements are skipped
/// (RFC 9110 §5.6.1). Anything else is strict: `first-last` with
/// `last < first`, a number that does not fit in 64 bits, whitespace inside
/// a spec, an empty set, or another unit all give [`ParsedRange::Ignore`].
///
/// ```
/// use wired_parser::values::range::{parse_range, ParsedRange, RangeSpec};
/// let ParsedRange::Ranges(set) = parse_range(b"bytes=0-499, -500") else { panic!() };
/// assert_eq!(set.specs(), &[RangeSpec::FromTo(0, 499), RangeSpec::Suffix(500)]);
/// assert_eq!(parse_range(b"bytes=500-100"), ParsedRange::Ignore);
/// assert_eq!(parse_range(b"items=0-1"), ParsedRange::Ignore);
/// ```
pub fn parse_range(value: &[u8]) -> ParsedRange {
    // ranges-specifier = range-unit "=" range-set (RFC 9110 §14.1.1)
    let value = trim_ows(value);
    let Some(eq) = memchr::memchr(b'=', value) else {
        return ParsedRange::Ignore;
    };
    let (unit, set) = value.split_at(eq);
    // An origin server must ignore a unit it does not know (RFC 9110 §14.2).
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return ParsedRange::Ignore;
    }
    let mut ranges = RangeSet { specs: [RangeSpec::From(0); MAX_RAW_SPECS], len: 0, truncated: false };
    for element in list_elements(set.get(1..).unwrap_or_default()) {
        let Some(spec) = parse_spec(element) else {
            return ParsedRange::Ignore;
        };
        match ranges.specs.get_mut(ranges.len) {
            Some(slot) => {
                *slot = spec;
                ranges.len += 1;
            }
            None => ranges.truncated = true,
        }
    }
    // range-set = 1#range-spec: at least one (RFC 9110 §14.1.1).
    if ranges.len == 0 {
        return ParsedRange::Ignore;
    }
    ParsedRange::Ranges(ranges)
}

/// `int-range / suffix-range` (RFC 9110 §14.1.1). An `other-range` is not
/// valid for the bytes unit, so it fails here too.
fn parse_spec(element: &[u8]) -> Option<RangeSpec> {
    let dash = memchr::memchr(b'-', element)?;
    let (first, rest) = element.split_at(dash);
    let last = rest.get(1..)?;
    if first.is_empty() {
        return parse_u64(last).map(RangeSpec::Suffix);
    }
    let first = parse_u64(first)?;
    if last.is_empty() {
        return Some(RangeSpec::From(first));
    }
    let last = parse_u64(last)?;
    // last-pos < first-pos makes the whole set invalid (RFC 9110 §14.1.1).
    (last >= first).then_some(RangeSpec::FromTo(first, last))
}

impl RangeSet {
    /// The specs as written, in header order (at most [`MAX_RAW_SPECS`]).
    ///
    /// ```
    /// use wired_parser::values::range::{parse_range, ParsedRange, RangeSpec};
    /// let ParsedRange::Ranges(set) = parse_range(b"bytes=9500-") else { panic!() };
    /// assert_eq!(set.specs(), &[RangeSpec::From(9500)]);
    /// ```
    pub fn specs(&self) -> &[RangeSpec] {
        self.specs.get(..self.len).unwrap_or_default()
    }

    /// Whether the field had more than [`MAX_RAW_SPECS`] specs, of which only
    /// the first ones were kept.
    ///
    /// ```
    /// use wired_parser::values::range::{parse_range, ParsedRange};
    /// let many = format!("bytes={}", vec!["0-0"; 65].join(","));
    /// let ParsedRange::Ranges(set) = parse_range(many.as_bytes()) else { panic!() };
    /// assert!(set.is_truncated());
    /// ```
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Apply the specs to a representation of `complete_length` bytes.
    ///
    /// - [`Resolved::Unsatisfiable`] (416) when no spec selects a byte
    ///   (RFC 9110 §14.1.1, §15.5.17).
    /// - [`Resolved::Ranges`] (206) with the satisfiable ranges clamped to the
    ///   representation, sorted by start, and merged where they overlap, touch
    ///   or are closer than [`COALESCE_GAP`] (RFC 9110 §14.2 allows both the
    ///   reordering and the merging). One range means a single-part 206; a
    ///   server must not send multipart for one range (RFC 9110 §15.3.7.2).
    /// - [`Resolved::Whole`] (200 with the full representation) when the field
    ///   had more than [`MAX_RAW_SPECS`] specs or more than [`MAX_RANGES`]
    ///   ranges remain after merging; see the module docs.
    ///
    /// A zero-length representation has no byte to select, so every spec is
    /// unsatisfiable except a non-zero suffix, which RFC 9110 §14.1.2 counts as
    /// satisfiable. No `Content-Range` can describe zero bytes, so that case is
    /// [`Resolved::Whole`], using RFC 9110 §14.2's permission to ignore `Range`
    /// for a representation with no content.
    ///
    /// A range covering the whole representation (`bytes=0-`) is still
    /// answered with 206, as nginx and Apache do: media players send it to
    /// learn that ranges work.
    ///
    /// ```
    /// use wired_parser::values::range::{parse_range, ByteRange, ParsedRange, Resolved};
    /// let ParsedRange::Ranges(set) = parse_range(b"bytes=-500,0-99,50-199") else { panic!() };
    /// let resolved = set.resolve(10_000);
    /// assert_eq!(
    ///     resolved.ranges(),
    ///     &[ByteRange { start: 0, end: 199 }, ByteRange { start: 9500, end: 9999 }]
    /// );
    /// assert_eq!(set.resolve(0), Resolved::Whole);
    /// ```
    pub fn resolve(&self, complete_length: u64) -> Resolved {
        if self.truncated {
            return Resolved::Whole;
        }
        if complete_length == 0 {
            let suffix = |spec: &RangeSpec| matches!(spec, RangeSpec::Suffix(n) if *n > 0);
            return if self.specs().iter().any(suffix) { Resolved::Whole } else { Resolved::Unsatisfiable };
        }

        let mut parts = [ByteRange::default(); MAX_RAW_SPECS];
        let mut count = 0;
        let satisfiable = self.specs().iter().filter_map(|spec| spec.satisfiable_part(complete_length));
        for (slot, part) in parts.iter_mut().zip(satisfiable) {
            *slot = part;
            count += 1;
        }
        let parts = parts.get_mut(..count).unwrap_or_default();
        if parts.is_empty() {
            return Resolved::Unsatisfiable;
        }
        parts.sort_unstable_by_key(|part| part.start);

        let mut ranges = [ByteRange::default(); MAX_RANGES];
        let mut len: usize = 0;
        for &part in parts.iter() {
            // Sorted by start, so a part can only merge with the last range
            // kept, and a kept range never merges again later.
            if let Some(previous) = len.checked_sub(1).and_then(|i| ranges.get_mut(i))
                && part.start <= previous.end.saturating_add(COALESCE_GAP)
            {
                previous.end = previous.end.max(part.end);
                continue;
            }
            let Some(slot) = ranges.get_mut(len) else {
                return Resolved::Whole;
            };
            *slot = part;
            len += 1;
        }
        Resolved::Ranges { ranges, len }
    }
}

impl PartialEq for RangeSet {
    fn eq(&self, other: &Self) -> bool {
        self.specs() == other.specs() && self.truncated == other.truncated
    }
}

impl Eq for RangeSet {}

impl core::fmt::Debug for RangeSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RangeSet").field("specs", &self.specs()).field("truncated", &self.truncated).finish()
    }
}

/// A satisfiable byte range, both ends inclusive, as in `Content-Range`
/// (RFC 9110 §14.4).
///
/// ```
/// use wired_parser::values::range::ByteRange;
/// let r = ByteRange { start: 500, end: 999 }; // Content-Range: bytes 500-999/...
/// assert_eq!(r.len(), 500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteRange {
    /// Offset of the first byte.
    pub start: u64,
    /// Offset of the last byte (inclusive).
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range; 0 if `end < start`, which
    /// [`RangeSet::resolve`] never produces.
    ///
    /// ```
    /// use wired_parser::values::range::ByteRange;
    /// assert_eq!(ByteRange { start: 0, end: 499 }.len(), 500);
    /// ```
    pub fn len(&self) -> u64 {
        self.end.checked_sub(self.start).map_or(0, |span| span.saturating_add(1))
    }

    /// Whether the range holds no byte (only if built with `end < start`).
    ///
    /// ```
    /// use wired_parser::values::range::ByteRange;
    /// assert!(!ByteRange { start: 7, end: 7 }.is_empty());
    /// assert!(ByteRange { start: 8, end: 7 }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What to send for a range request; see [`RangeSet::resolve`].
///
/// ```
/// use wired_parser::values::range::{ParsedRange, Resolved, parse_range};
/// let ParsedRange::Ranges(set) = parse_range(b"bytes=200-") else { panic!() };
/// assert_eq!(set.resolve(100), Resolved::Unsatisfiable); // 416
/// assert!(matches!(set.resolve(1000), Resolved::Ranges { len: 1, .. })); // 206
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "the ranges live inline so resolving never allocates; one per request, on the stack"
)]
pub enum Resolved {
    /// 416 Range Not Satisfiable, with `Content-Range: bytes */length`
    /// (RFC 9110 §15.5.17).
    Unsatisfiable,
    /// 206 Partial Content with these ranges: sorted, disjoint, and more than
    /// [`COALESCE_GAP`] bytes apart.
    Ranges {
        /// The ranges; only the first `len` are meaningful (see
        /// [`Resolved::ranges`]).
        ranges: [ByteRange; MAX_RANGES],
        /// How many of `ranges` are in use, 1 to [`MAX_RANGES`].
        len: usize,
    },
    /// 200 OK with the whole representation, ignoring `Range`.
    Whole,
}

impl Resolved {
    /// The ranges to send; empty unless this is [`Resolved::Ranges`].
    ///
    /// ```
    /// use wired_parser::values::range::{parse_range, ByteRange, ParsedRange};
    /// let ParsedRange::Ranges(set) = parse_range(b"bytes=0-0,-1") else { panic!() };
    /// let resolved = set.resolve(10_000);
    /// assert_eq!(
    ///     resolved.ranges(),
    ///     &[ByteRange { start: 0, end: 0 }, ByteRange { start: 9999, end: 9999 }]
    /// );
    /// ```
    pub fn ranges(&self) -> &[ByteRange] {
        match self {
            Resolved::Ranges { ranges, len } => ranges.get(..*len).unwrap_or_default(),
            Resolved::Unsatisfiable | Resolved::Whole => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeSpec::{From, FromTo, Suffix};

    fn specs(value: &str) -> Option<Vec<RangeSpec>> {
        match parse_range(value.as_bytes()) {
            ParsedRange::Ranges(set) => Some(set.specs().to_vec()),
            ParsedRange::Ignore => None,
        }
    }

    /// What `value` resolves to against `length`: `Err` with the variant name
    /// for 416 and 200, `Ok` with `(start, end)` pairs for 206.
    fn resolve(value: &str, length: u64) -> Result<Vec<(u64, u64)>, &'static str> {
        let ParsedRange::Ranges(set) = parse_range(value.as_bytes()) else {
            return Err("Ignore");
        };
        match set.resolve(length) {
            Resolved::Unsatisfiable => Err("Unsatisfiable"),
            Resolved::Whole => Err("Whole"),
            resolved @ Resolved::Ranges { .. } => Ok(resolved.ranges().iter().map(|r| (r.start, r.end)).collect()),
        }
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<&[RangeSpec]>)] = &[
            ("bytes=0-499", Some(&[FromTo(0, 499)])),
            ("bytes=500-999", Some(&[FromTo(500, 999)])),
            ("bytes=-500", Some(&[Suffix(500)])),
            ("bytes=9500-", Some(&[From(9500)])),
            ("bytes=0-0,-1", Some(&[FromTo(0, 0), Suffix(1)])),
            ("bytes=5-5", Some(&[FromTo(5, 5)])),
            ("bytes=-0", Some(&[Suffix(0)])),
            ("bytes=007-010", Some(&[FromTo(7, 10)])),
            // Unit names are case-insensitive (RFC 9110 §14.1).
            ("BYTES=1-2", Some(&[FromTo(1, 2)])),
            ("Bytes=1-2", Some(&[FromTo(1, 2)])),
            // OWS around commas and empty elements (RFC 9110 §5.6.1).
            ("bytes= 0-1 , 3-4", Some(&[FromTo(0, 1), FromTo(3, 4)])),
            ("bytes=0-1,\t3-4", Some(&[FromTo(0, 1), FromTo(3, 4)])),
            ("bytes=,0-1,,3-4,", Some(&[FromTo(0, 1), FromTo(3, 4)])),
            (" bytes=0-1 ", Some(&[FromTo(0, 1)])),
            // Order and duplicates are kept as written.
            ("bytes=3-4,0-1,0-1", Some(&[FromTo(3, 4), FromTo(0, 1), FromTo(0, 1)])),
            ("bytes=18446744073709551615-", Some(&[From(u64::MAX)])),
            ("bytes=0-18446744073709551615", Some(&[FromTo(0, u64::MAX)])),
            // Invalid: ignored (RFC 9110 §14.2).
            ("bytes=1-0", None),
            ("bytes=0-1,5-4", None),
            ("bytes=a-b", None),
            ("bytes=0-b", None),
            ("bytes=a-", None),
            ("bytes=-a", None),
            ("items=0-1", None),
            ("byte=0-1", None),
            ("bytes 0-1", None),
            ("bytes =0-1", None),
            ("bytes= =0-1", None),
            ("=0-1", None),
            ("bytes=", None),
            ("bytes=,", None),
            ("bytes= , ", None),
            ("bytes=-", None),
            ("bytes=--1", None),
            ("bytes=1--2", None),
            ("bytes=1-2-3", None),
            ("bytes=0", None),
            ("bytes=0 - 1", None),
            ("bytes=0-1;q=1", None),
            ("bytes=+0-1", None),
            ("bytes=0-1 2-3", None),
            ("bytes=18446744073709551616-", None),
            ("bytes=0-18446744073709551616", None),
            ("bytes=-99999999999999999999999", None),
            ("", None),
            ("0-1", None),
            ("bytes=0-1,x", None),
            ("bytes=\u{e9}-1", None),
        ];
        for (input, want) in cases {
            assert_eq!(specs(input), want.map(|w| w.to_vec()), "{input:?}");
        }
    }

    #[test]
    fn rfc_9110_examples() {
        // RFC 9110 §14.1.2, a representation of 10000 bytes.
        type Case = (&'static str, &'static [(u64, u64)]);
        let cases: &[Case] = &[
            ("bytes=0-499", &[(0, 499)]),
            ("bytes=500-999", &[(500, 999)]),
            ("bytes=-500", &[(9500, 9999)]),
            ("bytes=9500-", &[(9500, 9999)]),
            ("bytes=0-0,-1", &[(0, 0), (9999, 9999)]),
            ("bytes= 0-999, 4500-5499, -1000", &[(0, 999), (4500, 5499), (9000, 9999)]),
            // Listed as equivalent, and coalesced here.
            ("bytes=500-600,601-999", &[(500, 999)]),
            ("bytes=500-700,601-999", &[(500, 999)]),
        ];
        for (input, want) in cases {
            assert_eq!(resolve(input, 10_000), Ok(want.to_vec()), "{input:?}");
        }
    }

    #[test]
    fn resolve_table() {
        type Case = (&'static str, u64, Result<&'static [(u64, u64)], &'static str>);
        let cases: &[Case] = &[
            // Clamping to the representation.
            ("bytes=0-", 10, Ok(&[(0, 9)])),
            ("bytes=0-9", 10, Ok(&[(0, 9)])),
            ("bytes=0-1000", 10, Ok(&[(0, 9)])),
            ("bytes=9-", 10, Ok(&[(9, 9)])),
            ("bytes=9-9", 10, Ok(&[(9, 9)])),
            ("bytes=-1", 10, Ok(&[(9, 9)])),
            ("bytes=-10", 10, Ok(&[(0, 9)])),
            ("bytes=-11", 10, Ok(&[(0, 9)])),
            ("bytes=-18446744073709551615", 10, Ok(&[(0, 9)])),
            ("bytes=0-18446744073709551615", 10, Ok(&[(0, 9)])),
            ("bytes=0-0", 1, Ok(&[(0, 0)])),
            ("bytes=0-", u64::MAX, Ok(&[(0, u64::MAX - 1)])),
            ("bytes=-5", u64::MAX, Ok(&[(u64::MAX - 5, u64::MAX - 1)])),
            // Unsatisfiable specs are dropped; none left is 416.
            ("bytes=10-", 10, Err("Unsatisfiable")),
            ("bytes=10-20", 10, Err("Unsatisfiable")),
            ("bytes=-0", 10, Err("Unsatisfiable")),
            ("bytes=10-,-0,11-12", 10, Err("Unsatisfiable")),
            ("bytes=18446744073709551615-", u64::MAX, Err("Unsatisfiable")),
            ("bytes=10-,2-3,-0", 10, Ok(&[(2, 3)])),
            // A zero-length representation.
            ("bytes=0-", 0, Err("Unsatisfiable")),
            ("bytes=0-0", 0, Err("Unsatisfiable")),
            ("bytes=-0", 0, Err("Unsatisfiable")),
            ("bytes=-1", 0, Err("Whole")),
            ("bytes=0-0,-5", 0, Err("Whole")),
            // Sorting, overlap and adjacency.
            ("bytes=50-59,0-9", 1000, Ok(&[(0, 59)])),
            ("bytes=900-909,0-9", 1000, Ok(&[(0, 9), (900, 909)])),
            ("bytes=0-9,5-20", 1000, Ok(&[(0, 20)])),
            ("bytes=0-100,10-20", 1000, Ok(&[(0, 100)])),
            ("bytes=0-9,10-19", 1000, Ok(&[(0, 19)])),
            ("bytes=0-,0-,0-,0-", 1000, Ok(&[(0, 999)])),
            ("bytes=-1,-1,-1", 1000, Ok(&[(999, 999)])),
            ("bytes=990-,-20", 1000, Ok(&[(980, 999)])),
            // The coalescing gap: 79 bytes between is merged, 80 is not.
            ("bytes=0-9,89-99", 1000, Ok(&[(0, 99)])),
            ("bytes=0-9,90-99", 1000, Ok(&[(0, 9), (90, 99)])),
            ("bytes=0-9,90-99,89-89", 1000, Ok(&[(0, 99)])),
        ];
        for &(input, length, want) in cases {
            let want = want.map(|w| w.to_vec());
            assert_eq!(resolve(input, length), want, "{input:?} of {length}");
        }
    }

    /// `count` one-byte ranges, `stride` bytes apart, in the given order.
    fn spaced(count: u64, stride: u64, descending: bool) -> String {
        let mut specs: Vec<String> = (0..count).map(|i| format!("{0}-{0}", i * stride)).collect();
        if descending {
            specs.reverse();
        }
        format!("bytes={}", specs.join(","))
    }

    #[test]
    fn many_tiny_ranges_coalesce_or_are_refused() {
        let header = spaced(64, 2, true);
        assert_eq!(resolve(&header, 1_000_000), Ok(vec![(0, 126)]));
        // 79 bytes between neighbours: still one range.
        let header = spaced(64, 80, false);
        assert_eq!(resolve(&header, 1_000_000), Ok(vec![(0, 63 * 80)]));
        // 80 bytes between neighbours: 64 parts, so the whole file.
        let header = spaced(64, 81, false);
        assert_eq!(resolve(&header, 1_000_000), Err("Whole"));
    }

    #[test]
    fn more_than_max_ranges_after_merging_is_whole() {
        let header = spaced(MAX_RANGES as u64, 1000, true);
        let got = resolve(&header, 1_000_000).unwrap();
        assert_eq!(got.len(), MAX_RANGES);
        assert_eq!(got.first(), Some(&(0, 0)));
        assert_eq!(got.last(), Some(&(15_000, 15_000)));

        let header = spaced(MAX_RANGES as u64 + 1, 1000, false);
        assert_eq!(resolve(&header, 1_000_000), Err("Whole"));
        // Unsatisfiable extras do not count.
        let header = format!("{},2000000-", spaced(MAX_RANGES as u64, 1000, false));
        assert_eq!(resolve(&header, 1_000_000).map(|r| r.len()), Ok(MAX_RANGES));
    }

    #[test]
    fn more_than_max_raw_specs_is_whole() {
        let header = spaced(MAX_RAW_SPECS as u64, 1, false);
        let ParsedRange::Ranges(set) = parse_range(header.as_bytes()) else {
            panic!("{header}");
        };
        assert!(!set.is_truncated());
        assert_eq!(set.specs().len(), MAX_RAW_SPECS);
        assert_eq!(set.resolve(1000).ranges(), &[ByteRange { start: 0, end: 63 }]);

        let header = spaced(MAX_RAW_SPECS as u64 + 1, 1, false);
        let ParsedRange::Ranges(set) = parse_range(header.as_bytes()) else {
            panic!("{header}");
        };
        assert!(set.is_truncated());
        assert_eq!(set.specs().len(), MAX_RAW_SPECS);
        assert_eq!(set.resolve(1000), Resolved::Whole);
        // Even for a representation no spec could satisfy.
        assert_eq!(set.resolve(0), Resolved::Whole);

        // The specs past the limit are still checked for syntax.
        let header = format!("{},9-8", spaced(MAX_RAW_SPECS as u64 + 5, 1, false));
        assert_eq!(parse_range(header.as_bytes()), ParsedRange::Ignore);
    }

    #[test]
    fn the_amplification_attack_sends_each_byte_once() {
        // CVE-2011-3192: many overlapping ranges of a large file.
        let header = format!("bytes={}", vec!["0-"; 60].join(","));
        assert_eq!(resolve(&header, 1 << 30), Ok(vec![(0, (1 << 30) - 1)]));
        let header: Vec<String> = (0..60).map(|i| format!("{i}-")).collect();
        let header = format!("bytes={}", header.join(","));
        assert_eq!(resolve(&header, 1 << 30), Ok(vec![(0, (1 << 30) - 1)]));
    }

    #[test]
    fn resolved_ranges_are_sorted_disjoint_and_inside() {
        let headers = [
            "bytes=-500,0-99,50-199,9000-9100,300-400,200-299",
            "bytes=9999-,0-0,5000-5000,4000-4100,4050-4300,-1",
            "bytes=1-1,3-3,5-5,200-300,100-150",
        ];
        for header in headers {
            let ParsedRange::Ranges(set) = parse_range(header.as_bytes()) else {
                panic!("{header}");
            };
            let resolved = set.resolve(10_000);
            let ranges = resolved.ranges();
            assert!(!ranges.is_empty(), "{header}");
            for r in ranges {
                assert!(r.start <= r.end && r.end < 10_000, "{header}: {r:?}");
            }
            for pair in ranges.windows(2) {
                assert!(pair[0].end + COALESCE_GAP < pair[1].start, "{header}: {pair:?}");
            }
            let total: u64 = ranges.iter().map(ByteRange::len).sum();
            assert!(total <= 10_000, "{header}");
        }
    }

    #[test]
    fn byte_range_len() {
        let cases = [
            ((0, 0), 1),
            ((0, 499), 500),
            ((9500, 9999), 500),
            ((0, u64::MAX), u64::MAX),
            ((5, 4), 0),
            ((u64::MAX, 0), 0),
        ];
        for ((start, end), want) in cases {
            let range = ByteRange { start, end };
            assert_eq!(range.len(), want, "{range:?}");
            assert_eq!(range.is_empty(), want == 0, "{range:?}");
        }
    }

    #[test]
    fn ranges_accessor_is_empty_for_200_and_416() {
        assert_eq!(Resolved::Whole.ranges(), &[]);
        assert_eq!(Resolved::Unsatisfiable.ranges(), &[]);
    }
}
