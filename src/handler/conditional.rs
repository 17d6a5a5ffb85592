//! Conditional and range requests for files: validators (RFC 9110 §8.8),
//! preconditions in the order of RFC 9110 §13.2.2, and byte ranges
//! (RFC 9110 §14) answered with 206, 416 or `multipart/byteranges`.
//!
//! Everything here is pure: the handler passes the request's fields and the
//! file's validators and gets back what to answer. The header values are
//! parsed by `wired_parser::values`, which fails safe on malformed input.

use std::io::Write;

use wired_parser::values::date::parse_http_date;
use wired_parser::values::etag::{self, EntityTag};
use wired_parser::values::range::{ByteRange, ParsedRange, Resolved, parse_range};
use wired_parser::{Header, Method};

use crate::response::{FileSlice, Part};

/// The request fields a file response depends on, found in one pass over
/// the head so the common request (none of them) costs one scan.
#[derive(Debug, Default, Clone, Copy)]
pub struct Conditions<'b> {
    /// `If-Match` (first line; every line is read when evaluating).
    pub if_match: Option<&'b [u8]>,
    /// `If-None-Match` (first line; every line is read when evaluating).
    pub if_none_match: Option<&'b [u8]>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'b [u8]>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'b [u8]>,
    /// `If-Range`.
    pub if_range: Option<&'b [u8]>,
    /// `Range`.
    pub range: Option<&'b [u8]>,
    /// `Accept-Encoding`.
    pub accept_encoding: Option<&'b [u8]>,
}

impl<'b> Conditions<'b> {
    /// Collect the fields from a request's header list.
    pub fn scan(headers: &[Header<'b>]) -> Conditions<'b> {
        let mut found = Conditions::default();
        for header in headers {
            let name = header.name.as_bytes();
            // Every field of interest is at least 5 bytes long; most names
            // in a request (Host, Accept, Cookie, User-Agent) are ruled out
            // by their first byte.
            let slot = match name.first().map(u8::to_ascii_lowercase) {
                Some(b'i') => match name.len() {
                    8 if name.eq_ignore_ascii_case(b"if-match") => &mut found.if_match,
                    8 if name.eq_ignore_ascii_case(b"if-range") => &mut found.if_range,
                    13 if name.eq_ignore_ascii_case(b"if-none-match") => &mut found.if_none_match,
                    17 if name.eq_ignore_ascii_case(b"if-modified-since") => &mut found.if_modified_since,
                    19 if name.eq_ignore_ascii_case(b"if-unmodified-since") => &mut found.if_unmodified_since,
                    _ => continue,
                },
                Some(b'r') if name.eq_ignore_ascii_case(b"range") => &mut found.range,
                Some(b'a') if name.eq_ignore_ascii_case(b"accept-encoding") => &mut found.accept_encoding,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(header.value);
            }
        }
        found
    }

    /// Whether any precondition field is present.
    pub fn has_preconditions(&self) -> bool {
        self.if_match.is_some()
            || self.if_none_match.is_some()
            || self.if_modified_since.is_some()
            || self.if_unmodified_since.is_some()
    }
}

/// The current validators of a representation (RFC 9110 §8.8).
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// The strong entity tag's opaque bytes (between the quotes).
    pub etag: &'a [u8],
    /// The modification time, Unix seconds, as sent in `Last-Modified`.
    pub last_modified: u64,
}

impl Validators<'_> {
    fn tag(&self) -> EntityTag<'_> {
        EntityTag { weak: false, opaque: self.etag }
    }
}

/// What the preconditions decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Answer normally (then look at `Range`).
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluate the preconditions in the order of RFC 9110 §13.2.2. The caller
/// only asks for an existing file whose answer would otherwise be 2xx
/// (RFC 9110 §13.2.1).
pub fn evaluate(
    method: Method<'_>,
    headers: &[Header<'_>],
    found: &Conditions<'_>,
    current: &Validators<'_>,
) -> Precondition {
    let get_or_head = matches!(method, Method::Get | Method::Head);
    let tag = current.tag();
    // Step 1: If-Match, strong comparison (RFC 9110 §13.1.1). Its lines form
    // one list (RFC 9110 §5.3), so a match on any line passes.
    if found.if_match.is_some() {
        let passes = values(headers, "if-match").any(|v| etag::if_match_passes(v, &tag));
        if !passes {
            return Precondition::Failed;
        }
    } else if let Some(since) = found.if_unmodified_since {
        // Step 2, only without If-Match; a bad date is ignored
        // (RFC 9110 §13.1.4).
        if parse_http_date(since).is_some_and(|since| current.last_modified > since) {
            return Precondition::Failed;
        }
    }
    // Step 3: If-None-Match, weak comparison (RFC 9110 §13.1.2).
    if found.if_none_match.is_some() {
        let passes = values(headers, "if-none-match").all(|v| etag::if_none_match_passes(v, &tag));
        if !passes {
            return if get_or_head { Precondition::NotModified } else { Precondition::Failed };
        }
    } else if let Some(since) = found.if_modified_since {
        // Step 4, only without If-None-Match and only for GET or HEAD; a bad
        // date is ignored (RFC 9110 §13.1.3).
        let unmodified = parse_http_date(since).is_some_and(|s| current.last_modified <= s);
        if get_or_head && unmodified {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// The values of every field line named `name`.
fn values<'h, 'b>(headers: &'h [Header<'b>], name: &'h str) -> impl Iterator<Item = &'b [u8]> + 'h {
    headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
}

/// Which bytes to send of a representation of `len` bytes (RFC 9110 §14):
/// `Whole` for a 200, `Ranges` for a 206, `Unsatisfiable` for a 416.
pub fn ranges(method: Method<'_>, found: &Conditions<'_>, current: &Validators<'_>, len: u64) -> Resolved {
    // Range is defined for GET only; other methods ignore it (RFC 9110 §14.2).
    let (Method::Get, Some(range)) = (method, found.range) else {
        return Resolved::Whole;
    };
    // If-Range (RFC 9110 §13.1.5, step 5 of §13.2.2): a validator that does
    // not match means "send me all of it".
    if let Some(if_range) = found.if_range
        && !if_range_matches(if_range, current)
    {
        return Resolved::Whole;
    }
    match parse_range(range) {
        ParsedRange::Ranges(set) => set.resolve(len),
        ParsedRange::Ignore => Resolved::Whole,
    }
}

/// Whether an `If-Range` value names the current representation: an entity
/// tag by strong comparison, or a date exactly equal to `Last-Modified`
/// (RFC 9110 §13.1.5). Anything unparsable does not match.
fn if_range_matches(value: &[u8], current: &Validators<'_>) -> bool {
    if let Some(tag) = EntityTag::parse(value) {
        return tag.strong_eq(&current.tag());
    }
    parse_http_date(value) == Some(current.last_modified)
}

/// Longest `Content-Range` value: `bytes ` and three 20-digit numbers.
pub const CONTENT_RANGE_MAX: usize = 6 + 3 * 20 + 2;

/// Write `bytes first-last/complete` (RFC 9110 §14.4) into `out`, returning
/// the bytes written; no allocation.
pub fn content_range(range: ByteRange, complete: u64, out: &mut [u8; CONTENT_RANGE_MAX]) -> &[u8] {
    let capacity = out.len();
    let mut cursor = &mut out[..];
    // Cannot fail: the buffer holds the longest value.
    let _ = write!(cursor, "bytes {}-{}/{}", range.start, range.end, complete);
    let written = capacity - cursor.len();
    out.get(..written).unwrap_or_default()
}

/// Write `bytes */complete`, the `Content-Range` of a 416 (RFC 9110 §14.4).
pub fn unsatisfied_range(complete: u64, out: &mut [u8; CONTENT_RANGE_MAX]) -> &[u8] {
    let capacity = out.len();
    let mut cursor = &mut out[..];
    let _ = write!(cursor, "bytes */{complete}");
    let written = capacity - cursor.len();
    out.get(..written).unwrap_or_default()
}

/// The body of a `multipart/byteranges` response (RFC 9110 §14.6, RFC 2046
/// §5.1.1): each part is a delimiter line, its `Content-Type` and
/// `Content-Range`, a blank line and the bytes; the body ends with the close
/// delimiter. The CRLF before each delimiter belongs to the delimiter, so a
/// part's data is followed by `\r\n--boundary`.
pub fn multipart(file: &FileSlice, ranges: &[ByteRange], content_type: &[u8], boundary: &[u8]) -> Vec<Part> {
    let mut parts = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut head = Vec::with_capacity(128);
    for (i, range) in ranges.iter().enumerate() {
        if i > 0 {
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"--");
        head.extend_from_slice(boundary);
        head.extend_from_slice(b"\r\nContent-Type: ");
        head.extend_from_slice(content_type);
        head.extend_from_slice(b"\r\nContent-Range: ");
        let mut value = [0; CONTENT_RANGE_MAX];
        head.extend_from_slice(content_range(*range, file.len, &mut value));
        head.extend_from_slice(b"\r\n\r\n");
        parts.push(Part::Bytes(std::mem::replace(&mut head, Vec::with_capacity(128))));
        parts.push(Part::File(FileSlice {
            file: file.file.clone(),
            offset: file.offset.saturating_add(range.start),
            len: range.len(),
            memory: file.memory.clone(),
        }));
    }
    head.extend_from_slice(b"\r\n--");
    head.extend_from_slice(boundary);
    head.extend_from_slice(b"--\r\n");
    parts.push(Part::Bytes(head));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use wired_parser::values::date::{HTTP_DATE_LEN, format_http_date};

    const MTIME: u64 = 1_700_000_000;

    fn http_date(secs: u64) -> String {
        let mut out = [0; HTTP_DATE_LEN];
        format_http_date(secs, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn headers<'a>(fields: &'a [(&'a str, &'a str)]) -> Vec<Header<'a>> {
        fields.iter().map(|(name, value)| Header { name, value: value.as_bytes() }).collect()
    }

    fn current() -> Validators<'static> {
        Validators { etag: b"abc-10", last_modified: MTIME }
    }

    fn eval(method: Method<'_>, fields: &[(&str, &str)]) -> Precondition {
        let list = headers(fields);
        evaluate(method, &list, &Conditions::scan(&list), &current())
    }

    #[test]
    fn scan_finds_fields_case_insensitively() {
        let list = headers(&[
            ("Host", "x"),
            ("IF-MATCH", "\"a\""),
            ("if-none-match", "\"b\""),
            ("If-Modified-Since", "m"),
            ("If-Unmodified-Since", "u"),
            ("if-range", "r"),
            ("RANGE", "bytes=0-1"),
            ("Accept-Encoding", "gzip"),
            ("Range", "bytes=5-6"),
        ]);
        let found = Conditions::scan(&list);
        assert_eq!(found.if_match, Some(&b"\"a\""[..]));
        assert_eq!(found.if_none_match, Some(&b"\"b\""[..]));
        assert_eq!(found.if_modified_since, Some(&b"m"[..]));
        assert_eq!(found.if_unmodified_since, Some(&b"u"[..]));
        assert_eq!(found.if_range, Some(&b"r"[..]));
        assert_eq!(found.range, Some(&b"bytes=0-1"[..]), "first line wins");
        assert_eq!(found.accept_encoding, Some(&b"gzip"[..]));
        assert!(found.has_preconditions());
        assert!(!Conditions::scan(&headers(&[("Accept", "*/*")])).has_preconditions());
    }

    #[test]
    fn precedence_of_rfc_9110_13_2_2() {
        use Precondition::{Failed, NotModified, Proceed};
        let before = http_date(MTIME - 1);
        let at = http_date(MTIME);
        let after = http_date(MTIME + 1);
        type Case<'a> = (Method<'a>, Vec<(&'a str, &'a str)>, Precondition);
        let cases: Vec<Case<'_>> = vec![
            (Method::Get, vec![], Proceed),
            // Step 1: If-Match is strong.
            (Method::Get, vec![("If-Match", "\"abc-10\"")], Proceed),
            (Method::Get, vec![("If-Match", "*")], Proceed),
            (Method::Get, vec![("If-Match", "W/\"abc-10\"")], Failed),
            (Method::Get, vec![("If-Match", "\"other\"")], Failed),
            (Method::Get, vec![("If-Match", "garbage")], Failed),
            // Lines of one list.
            (Method::Get, vec![("If-Match", "\"x\""), ("If-Match", "\"abc-10\"")], Proceed),
            // Step 2: If-Unmodified-Since, ignored when If-Match is present.
            (Method::Get, vec![("If-Unmodified-Since", &before)], Failed),
            (Method::Get, vec![("If-Unmodified-Since", &at)], Proceed),
            (Method::Get, vec![("If-Unmodified-Since", "not a date")], Proceed),
            (Method::Get, vec![("If-Match", "*"), ("If-Unmodified-Since", &before)], Proceed),
            // Step 3: If-None-Match is weak; 304 for GET/HEAD, 412 otherwise.
            (Method::Get, vec![("If-None-Match", "\"abc-10\"")], NotModified),
            (Method::Head, vec![("If-None-Match", "W/\"abc-10\"")], NotModified),
            (Method::Get, vec![("If-None-Match", "*")], NotModified),
            (Method::Get, vec![("If-None-Match", "\"x\", \"y\"")], Proceed),
            (Method::Post, vec![("If-None-Match", "\"abc-10\"")], Failed),
            (Method::Get, vec![("If-None-Match", "\"x\""), ("If-None-Match", "\"abc-10\"")], NotModified),
            // Step 4: If-Modified-Since only without If-None-Match, GET/HEAD.
            (Method::Get, vec![("If-Modified-Since", &at)], NotModified),
            (Method::Head, vec![("If-Modified-Since", &after)], NotModified),
            (Method::Get, vec![("If-Modified-Since", &before)], Proceed),
            (Method::Get, vec![("If-Modified-Since", "yesterday")], Proceed),
            (Method::Post, vec![("If-Modified-Since", &at)], Proceed),
            (Method::Get, vec![("If-None-Match", "\"x\""), ("If-Modified-Since", &at)], Proceed),
            // Step 1 before step 3.
            (Method::Get, vec![("If-Match", "\"x\""), ("If-None-Match", "\"abc-10\"")], Failed),
            (Method::Get, vec![("If-Unmodified-Since", &before), ("If-Modified-Since", &at)], Failed),
        ];
        for (method, fields, want) in cases {
            assert_eq!(eval(method, &fields), want, "{method:?} {fields:?}");
        }
    }

    fn resolve(method: Method<'_>, fields: &[(&str, &str)], len: u64) -> Result<Vec<(u64, u64)>, &'static str> {
        let list = headers(fields);
        match ranges(method, &Conditions::scan(&list), &current(), len) {
            Resolved::Whole => Err("whole"),
            Resolved::Unsatisfiable => Err("416"),
            r @ Resolved::Ranges { .. } => Ok(r.ranges().iter().map(|r| (r.start, r.end)).collect()),
        }
    }

    #[test]
    fn range_and_if_range() {
        let at = http_date(MTIME);
        let after = http_date(MTIME + 1);
        type Case<'a> = (Method<'a>, Vec<(&'a str, &'a str)>, Result<Vec<(u64, u64)>, &'static str>);
        let cases: Vec<Case<'_>> = vec![
            (Method::Get, vec![], Err("whole")),
            (Method::Get, vec![("Range", "bytes=0-9")], Ok(vec![(0, 9)])),
            (Method::Get, vec![("Range", "bytes=-5")], Ok(vec![(95, 99)])),
            (Method::Get, vec![("Range", "bytes=0-0,-1")], Ok(vec![(0, 0), (99, 99)])),
            (Method::Get, vec![("Range", "bytes=100-")], Err("416")),
            (Method::Get, vec![("Range", "items=0-1")], Err("whole")),
            (Method::Get, vec![("Range", "bytes=5-1")], Err("whole")),
            // GET only (RFC 9110 §14.2).
            (Method::Head, vec![("Range", "bytes=0-9")], Err("whole")),
            (Method::Post, vec![("Range", "bytes=0-9")], Err("whole")),
            // If-Range with an entity tag: strong comparison.
            (Method::Get, vec![("Range", "bytes=0-9"), ("If-Range", "\"abc-10\"")], Ok(vec![(0, 9)])),
            (Method::Get, vec![("Range", "bytes=0-9"), ("If-Range", "W/\"abc-10\"")], Err("whole")),
            (Method::Get, vec![("Range", "bytes=0-9"), ("If-Range", "\"old\"")], Err("whole")),
            // With a date: an exact match only.
            (Method::Get, vec![("Range", "bytes=0-9"), ("If-Range", &at)], Ok(vec![(0, 9)])),
            (Method::Get, vec![("Range", "bytes=0-9"), ("If-Range", &after)], Err("whole")),
            (Method::Get, vec![("Range", "bytes=0-9"), ("If-Range", "nonsense")], Err("whole")),
            // If-Range without Range is ignored.
            (Method::Get, vec![("If-Range", "\"old\"")], Err("whole")),
        ];
        for (method, fields, want) in cases {
            assert_eq!(resolve(method, &fields, 100), want, "{method:?} {fields:?}");
        }
    }

    #[test]
    fn content_range_values() {
        let mut out = [0; CONTENT_RANGE_MAX];
        let r = ByteRange { start: 0, end: 499 };
        assert_eq!(content_range(r, 1234, &mut out), b"bytes 0-499/1234");
        let r = ByteRange { start: u64::MAX - 1, end: u64::MAX - 1 };
        assert_eq!(
            content_range(r, u64::MAX, &mut out),
            b"bytes 18446744073709551614-18446744073709551614/18446744073709551615"
        );
        assert_eq!(unsatisfied_range(77, &mut out), b"bytes */77");
    }

    #[test]
    fn multipart_layout() {
        let file = std::rc::Rc::new(std::fs::File::open("/dev/null").unwrap());
        let slice = FileSlice { file, offset: 0, len: 1000, memory: None };
        let ranges = [ByteRange { start: 0, end: 9 }, ByteRange { start: 500, end: 599 }];
        let parts = multipart(&slice, &ranges, b"text/plain", b"BOUND");
        let mut shown = String::new();
        for part in &parts {
            match part {
                Part::Bytes(b) => shown.push_str(std::str::from_utf8(b).unwrap()),
                Part::File(f) => shown.push_str(&format!("<{}+{}>", f.offset, f.len)),
            }
        }
        assert_eq!(
            shown,
            "--BOUND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-9/1000\r\n\r\n<0+10>\
             \r\n--BOUND\r\nContent-Type: text/plain\r\nContent-Range: bytes 500-599/1000\r\n\r\n<500+100>\
             \r\n--BOUND--\r\n"
        );
    }
}
