//! Entity tags (RFC 9110 §8.8.3) and the `If-Match` / `If-None-Match`
//! preconditions that compare them (RFC 9110 §13.1.1, §13.1.2).
//!
//! Both preconditions are answered by one question, "does the field list the
//! current entity tag?", asked with the strong comparison for `If-Match` and
//! the weak one for `If-None-Match`. A malformed field lists nothing. That
//! makes `If-Match` fail (412: the client's assumption could not be checked,
//! so the change is refused) and `If-None-Match` pass (the full response is
//! sent instead of 304 or 412): both are the safe outcome.
//!
//! `If-Range` (RFC 9110 §13.1.5) needs no function of its own: parse its value
//! with [`EntityTag::parse`] and use [`EntityTag::strong_eq`].
//!
//! ```
//! use wired_parser::values::etag::{EntityTag, if_none_match_passes};
//! let current = EntityTag { weak: false, opaque: b"v2" };
//! assert!(!if_none_match_passes(br#"W/"v2""#, &current)); // a weak match: 304 Not Modified
//! ```

use super::{is_ows, trim_ows};

/// An entity tag: `[ W/ ] DQUOTE *etagc DQUOTE` (RFC 9110 §8.8.3).
///
/// The derived `==` compares the two fields; HTTP's comparisons are
/// [`EntityTag::strong_eq`] and [`EntityTag::weak_eq`].
///
/// ```
/// use wired_parser::values::etag::EntityTag;
/// let weak = EntityTag::parse(br#"W/"1""#).unwrap();
/// let strong = EntityTag::parse(br#""1""#).unwrap();
/// assert!(weak != strong && weak.weak_eq(&strong) && !weak.strong_eq(&strong));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntityTag<'a> {
    /// Whether the tag had the `W/` prefix (a weak validator).
    pub weak: bool,
    /// The bytes between the quotes.
    pub opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    /// Parse a single entity tag, such as the value of `ETag` or `If-Range`,
    /// with optional whitespace around it.
    ///
    /// `W/` is case-sensitive (RFC 9110 §8.8.3), and every byte between the
    /// quotes must be an `etagc`: `!`, `#` to `~`, or obs-text (0x80-0xFF).
    ///
    /// ```
    /// use wired_parser::values::etag::EntityTag;
    /// let tag = EntityTag::parse(br#"W/"xyzzy""#).unwrap();
    /// assert!(tag.weak);
    /// assert_eq!(tag.opaque, b"xyzzy");
    /// assert_eq!(EntityTag::parse(b"xyzzy"), None);
    /// ```
    pub fn parse(value: &'a [u8]) -> Option<EntityTag<'a>> {
        match parse_prefix(trim_ows(value))? {
            (tag, []) => Some(tag),
            _ => None,
        }
    }

    /// Strong comparison (RFC 9110 §8.8.3.2): both tags strong, and the same
    /// opaque bytes. Required for `If-Match` and `If-Range`.
    ///
    /// ```
    /// use wired_parser::values::etag::EntityTag;
    /// let strong = EntityTag { weak: false, opaque: b"1" };
    /// let weak = EntityTag { weak: true, opaque: b"1" };
    /// assert!(strong.strong_eq(&strong));
    /// assert!(!weak.strong_eq(&weak));
    /// ```
    pub fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (RFC 9110 §8.8.3.2): the same opaque bytes, whatever
    /// the `W/` prefixes. Used for `If-None-Match`.
    ///
    /// ```
    /// use wired_parser::values::etag::EntityTag;
    /// let strong = EntityTag { weak: false, opaque: b"1" };
    /// let weak = EntityTag { weak: true, opaque: b"1" };
    /// assert!(weak.weak_eq(&strong));
    /// assert!(!weak.weak_eq(&EntityTag { weak: true, opaque: b"2" }));
    /// ```
    pub fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// Evaluate `If-Match` (RFC 9110 §13.1.1) against the current representation:
/// `true` when the request may proceed, `false` for 412 Precondition Failed.
///
/// | field value                          | result  |
/// |--------------------------------------|---------|
/// | `*`                                  | `true`  |
/// | a list with a tag *strongly* equal   | `true`  |
/// | a list with only weakly equal tags   | `false` |
/// | a list with no equal tag, or empty   | `false` |
/// | malformed anywhere                   | `false` |
///
/// A weak `current` tag therefore only passes `*` (RFC 9110 §13.1.1: "An
/// origin server MUST use the strong comparison function").
///
/// ```
/// use wired_parser::values::etag::{if_match_passes, EntityTag};
/// let current = EntityTag { weak: false, opaque: b"v2" };
/// assert!(if_match_passes(br#""v1", "v2""#, &current));
/// assert!(!if_match_passes(br#"W/"v2""#, &current));
/// assert!(if_match_passes(b"*", &current));
/// ```
pub fn if_match_passes(field_value: &[u8], current: &EntityTag<'_>) -> bool {
    lists(field_value, current, |tag, current| tag.strong_eq(current))
}

/// Evaluate `If-None-Match` (RFC 9110 §13.1.2) against the current
/// representation: `true` when the request may proceed, `false` when the
/// client already has it (304 Not Modified for GET and HEAD, 412 Precondition
/// Failed otherwise; RFC 9110 §13.2.2 step 3).
///
/// | field value                          | result  |
/// |--------------------------------------|---------|
/// | `*`                                  | `false` |
/// | a list with a tag *weakly* equal     | `false` |
/// | a list with no equal tag, or empty   | `true`  |
/// | malformed anywhere                   | `true`  |
///
/// ```
/// use wired_parser::values::etag::{if_none_match_passes, EntityTag};
/// let current = EntityTag { weak: false, opaque: b"v2" };
/// assert!(!if_none_match_passes(br#"W/"v1", W/"v2""#, &current)); // 304
/// assert!(if_none_match_passes(br#""v1""#, &current)); // 200
/// assert!(!if_none_match_passes(b"*", &current));
/// ```
pub fn if_none_match_passes(field_value: &[u8], current: &EntityTag<'_>) -> bool {
    !lists(field_value, current, |tag, current| tag.weak_eq(current))
}

/// Whether `field_value`, `"*" / #entity-tag` (RFC 9110 §13.1.1, §13.1.2),
/// is `*` or lists a tag that is `same` as `current`. A malformed element
/// anywhere means the list is not understood, so it lists nothing.
///
/// The list is scanned tag by tag rather than split on commas, because an
/// opaque tag may itself contain a comma.
fn lists(field_value: &[u8], current: &EntityTag<'_>, same: impl Fn(&EntityTag<'_>, &EntityTag<'_>) -> bool) -> bool {
    let mut rest = trim_ows(field_value);
    if rest == b"*" {
        return true;
    }
    let mut found = false;
    loop {
        // Empty elements and OWS around commas are allowed (RFC 9110 §5.6.1).
        rest = skip_while(rest, |b| is_ows(b) || b == b',');
        let Some((tag, after)) = parse_prefix(rest) else {
            return rest.is_empty() && found;
        };
        found |= same(&tag, current);
        match skip_while(after, is_ows).split_first() {
            None => return found,
            Some((b',', tail)) => rest = tail,
            Some(_) => return false,
        }
    }
}

/// An entity tag at the start of `input`, and what follows it.
fn parse_prefix(input: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    // weak = %s"W/" — case-sensitive (RFC 9110 §8.8.3).
    let (weak, rest) = match input.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let rest = rest.strip_prefix(b"\"")?;
    // DQUOTE is not an etagc, so the first one closes the tag.
    let close = memchr::memchr(b'"', rest)?;
    let (opaque, after) = rest.split_at(close);
    if !opaque.iter().all(|&b| is_etagc(b)) {
        return None;
    }
    Some((EntityTag { weak, opaque }, after.get(1..)?))
}

/// `etagc = %x21 / %x23-7E / obs-text` (RFC 9110 §8.8.3).
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7E).contains(&b) || b >= 0x80
}

fn skip_while(input: &[u8], skip: impl Fn(u8) -> bool) -> &[u8] {
    let start = input.iter().position(|&b| !skip(b)).unwrap_or(input.len());
    input.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn strong(opaque: &[u8]) -> EntityTag<'_> {
        EntityTag { weak: false, opaque }
    }

    const fn weak(opaque: &[u8]) -> EntityTag<'_> {
        EntityTag { weak: true, opaque }
    }

    #[test]
    fn parse_table() {
        let cases: &[(&[u8], Option<EntityTag<'_>>)] = &[
            (br#""xyzzy""#, Some(strong(b"xyzzy"))),
            (br#"W/"xyzzy""#, Some(weak(b"xyzzy"))),
            (br#""""#, Some(strong(b""))),
            (br#"W/"""#, Some(weak(b""))),
            (br#" "xyzzy"	"#, Some(strong(b"xyzzy"))),
            (br#""a,b""#, Some(strong(b"a,b"))),
            (br#""W/""#, Some(strong(b"W/"))),
            (b"\"!#~\\\"", Some(strong(b"!#~\\"))),
            (b"\"\x80\xff\"", Some(strong(b"\x80\xff"))),
            (br#""5f3a-1b2c""#, Some(strong(b"5f3a-1b2c"))),
            // Malformed.
            (b"", None),
            (b"*", None),
            (b"xyzzy", None),
            (br#""xyzzy"#, None),
            (br#"xyzzy""#, None),
            (br#"w/"xyzzy""#, None),
            (br#"W/ "xyzzy""#, None),
            (br#"W"xyzzy""#, None),
            (b"W/", None),
            (b"W/xyzzy", None),
            (br#""a b""#, None),
            (b"\"a\tb\"", None),
            (b"\"a\x7fb\"", None),
            (b"\"a\x00b\"", None),
            (br#""a"b"#, None),
            (br#""a""b""#, None),
            (br#""a", "b""#, None),
            (br#""a","#, None),
            (br#"'a'"#, None),
        ];
        for (input, want) in cases {
            assert_eq!(EntityTag::parse(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn rfc_9110_comparison_table() {
        // RFC 9110 §8.8.3.2: ETag 1, ETag 2, strong, weak.
        let cases = [
            (weak(b"1"), weak(b"1"), false, true),
            (weak(b"1"), weak(b"2"), false, false),
            (weak(b"1"), strong(b"1"), false, true),
            (strong(b"1"), strong(b"1"), true, true),
            // And the rest of the square.
            (strong(b"1"), weak(b"1"), false, true),
            (strong(b"1"), strong(b"2"), false, false),
            (strong(b"1"), weak(b"2"), false, false),
            (strong(b""), strong(b""), true, true),
            (strong(b"a"), strong(b"A"), false, false),
        ];
        for (a, b, strong_eq, weak_eq) in cases {
            assert_eq!(a.strong_eq(&b), strong_eq, "{a:?} strong {b:?}");
            assert_eq!(b.strong_eq(&a), strong_eq, "{b:?} strong {a:?}");
            assert_eq!(a.weak_eq(&b), weak_eq, "{a:?} weak {b:?}");
            assert_eq!(b.weak_eq(&a), weak_eq, "{b:?} weak {a:?}");
        }
    }

    /// Each row: field value, then `if_match_passes` and
    /// `if_none_match_passes` for the current tags `"abc"` and `W/"abc"`.
    type Row = (&'static [u8], [bool; 2], [bool; 2]);

    const LIST_TABLE: &[Row] = &[
        // `*` matches any current representation.
        (b"*", [true, true], [false, false]),
        (b" * ", [true, true], [false, false]),
        // A single tag.
        (br#""abc""#, [true, false], [false, false]),
        (br#"W/"abc""#, [false, false], [false, false]),
        (br#""xyz""#, [false, false], [true, true]),
        (br#"W/"xyz""#, [false, false], [true, true]),
        (br#""ABC""#, [false, false], [true, true]),
        // Lists, with OWS and empty elements (RFC 9110 §5.6.1).
        (br#""xyz", "abc""#, [true, false], [false, false]),
        (br#""xyz","abc""#, [true, false], [false, false]),
        (br#""xyz" ,	W/"abc""#, [false, false], [false, false]),
        (br#""abc", "xyz""#, [true, false], [false, false]),
        (br#",, "xyz" ,, "abc" ,,"#, [true, false], [false, false]),
        (br#""x", "y", "z""#, [false, false], [true, true]),
        (br#"W/"abc", "abc""#, [true, false], [false, false]),
        // A comma inside an opaque tag is not a separator.
        (br#""a,bc", "abc""#, [true, false], [false, false]),
        (br#""xyz,abc""#, [false, false], [true, true]),
        (br#""abc,", ",abc""#, [false, false], [true, true]),
        // An empty list lists nothing.
        (b"", [false, false], [true, true]),
        (b" , ,", [false, false], [true, true]),
        // Malformed anywhere: lists nothing, even with a match before it.
        (br#""abc", xyz"#, [false, false], [true, true]),
        (br#""abc" "xyz""#, [false, false], [true, true]),
        (br#""abc""xyz""#, [false, false], [true, true]),
        (br#""abc";q=1"#, [false, false], [true, true]),
        (br#"*, "abc""#, [false, false], [true, true]),
        (br#""abc", *"#, [false, false], [true, true]),
        (b"**", [false, false], [true, true]),
        (br#""abc"#, [false, false], [true, true]),
        (br#""abc", "xyz"#, [false, false], [true, true]),
        (b"abc", [false, false], [true, true]),
        (br#"w/"abc""#, [false, false], [true, true]),
        (br#"W/ "abc""#, [false, false], [true, true]),
        (b"\"abc\", \"a b\"", [false, false], [true, true]),
        (b"\"abc\", \"\x01\"", [false, false], [true, true]),
    ];

    #[test]
    fn precondition_truth_table() {
        let currents = [strong(b"abc"), weak(b"abc")];
        for (field, if_match, if_none_match) in LIST_TABLE {
            let shown = String::from_utf8_lossy(field);
            for (i, current) in currents.iter().enumerate() {
                assert_eq!(if_match_passes(field, current), if_match[i], "If-Match: {shown} against {current:?}");
                assert_eq!(
                    if_none_match_passes(field, current),
                    if_none_match[i],
                    "If-None-Match: {shown} against {current:?}"
                );
            }
        }
    }
}
