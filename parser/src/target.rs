//! The request target (RFC 9112 §3.2) and the path a file server may trust.
//!
//! [`parse_target`] sorts a target into its four forms and splits it into
//! path, query and authority, all still raw. [`normalize_path`] then turns the
//! raw path into the one a handler maps onto the file system: percent-decoded,
//! dot segments removed (RFC 3986 §5.2.4), repeated slashes merged, and unable
//! to climb above `/`.
//!
//! The order matters: decoding comes first and dot-segment removal second,
//! so `/%2e%2e/` is a `..` like any other and no encoding smuggles one
//! through. An encoded slash (`%2F`) is refused rather than decoded, because
//! it would turn one segment into two after the `..` check had been made on
//! one, and an encoded NUL is refused because no file name holds one.
//!
//! ```
//! use wired_parser::Method;
//! use wired_parser::target::{Form, normalize_path, parse_target};
//!
//! let target = parse_target("/docs/../img/%63at.png?size=2", Method::Get)?;
//! assert_eq!(target.form, Form::Origin);
//! assert_eq!(target.query, Some(&b"size=2"[..]));
//! let mut path = Vec::new();
//! assert_eq!(normalize_path(target.path, &mut path)?, b"/img/cat.png");
//! # Ok::<(), wired_parser::Error>(())
//! ```

use crate::error::Error;
use crate::method::Method;

/// The four forms of request target (RFC 9112 §3.2).
///
/// ```
/// use wired_parser::{Method, target::{Form, parse_target}};
/// assert_eq!(parse_target("/a?b", Method::Get)?.form, Form::Origin);
/// assert_eq!(parse_target("http://h/a", Method::Get)?.form, Form::Absolute);
/// assert_eq!(parse_target("h:443", Method::Connect)?.form, Form::Authority);
/// assert_eq!(parse_target("*", Method::Options)?.form, Form::Asterisk);
/// # Ok::<(), wired_parser::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// `/path?query`, the usual form (RFC 9112 §3.2.1).
    Origin,
    /// `http://host/path?query`, sent to proxies and accepted by servers (RFC 9112 §3.2.2).
    Absolute,
    /// `host:port`, only for CONNECT (RFC 9112 §3.2.3).
    Authority,
    /// `*`, only for a server-wide OPTIONS (RFC 9112 §3.2.4).
    Asterisk,
}

/// A request target split into its parts, each borrowed from the request line.
///
/// ```
/// use wired_parser::{Method, target::parse_target};
/// let t = parse_target("/search?q=rust", Method::Get)?;
/// assert_eq!((t.path, t.query, t.authority), (&b"/search"[..], Some(&b"q=rust"[..]), None));
/// # Ok::<(), wired_parser::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'b> {
    /// Which of the four forms the target has.
    pub form: Form,
    /// The raw path, still percent-encoded; `/` when an absolute-form target
    /// has none, empty for the authority and asterisk forms.
    pub path: &'b [u8],
    /// The raw query, without the `?`; `None` when there is no `?`.
    pub query: Option<&'b [u8]>,
    /// `host[:port]` of the absolute and authority forms.
    pub authority: Option<&'b [u8]>,
}

/// Sort a request target into its form and split it into path, query and authority.
///
/// The form must suit the method: `*` only with OPTIONS, `host:port` only with
/// CONNECT (which accepts nothing else), and an absolute target only with an
/// `http` or `https` scheme. A fragment, a control byte or a space is refused.
///
/// ```
/// use wired_parser::Method;
/// use wired_parser::target::{Form, parse_target};
///
/// let t = parse_target("http://example.com:8080/x?y", Method::Get)?;
/// assert_eq!((t.form, t.path), (Form::Absolute, &b"/x"[..]));
/// assert_eq!(t.authority, Some(&b"example.com:8080"[..]));
/// assert!(parse_target("*", Method::Get).is_err());
/// # Ok::<(), wired_parser::Error>(())
/// ```
pub fn parse_target<'b>(target: &'b str, method: Method<'_>) -> Result<Target<'b>, Error> {
    let bytes = target.as_bytes();
    // RFC 9112 §3.2: no fragment is sent in a request target; RFC 9110 §5.5
    // and RFC 3986 §2 leave no room for controls or spaces either.
    if bytes.iter().any(|&b| b == b'#' || b <= b' ' || b == 0x7f) {
        return Err(Error::Target);
    }
    if method == Method::Connect {
        // RFC 9110 §9.3.6: CONNECT names a host and port, and nothing else.
        check_authority(bytes, true)?;
        return Ok(Target { form: Form::Authority, path: b"", query: None, authority: Some(bytes) });
    }
    if bytes == b"*" {
        // RFC 9112 §3.2.4: the asterisk form is only used for OPTIONS.
        return match method {
            Method::Options => Ok(Target { form: Form::Asterisk, path: b"", query: None, authority: None }),
            _ => Err(Error::Target),
        };
    }
    if bytes.first() == Some(&b'/') {
        // RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ].
        let (path, query) = split_query(bytes);
        return Ok(Target { form: Form::Origin, path, query, authority: None });
    }
    parse_absolute(bytes)
}

/// The absolute form (RFC 9112 §3.2.2), for the schemes a server speaks.
fn parse_absolute(bytes: &[u8]) -> Result<Target<'_>, Error> {
    // RFC 3986 §3.1: schemes are case-insensitive.
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| {
            let head = bytes.get(..scheme.len())?;
            head.eq_ignore_ascii_case(scheme.as_bytes()).then(|| bytes.get(scheme.len()..)).flatten()
        })
        .ok_or(Error::Target)?;
    let authority_end = rest.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    // RFC 9110 §4.2.1: an http URI with an empty host MUST be rejected.
    check_authority(authority, false)?;
    let (path, query) = split_query(path_and_query);
    Ok(Target {
        form: Form::Absolute,
        // RFC 9112 §3.2.2 via RFC 3986 §6.2.3: an empty path is `/`.
        path: if path.is_empty() { b"/" } else { path },
        query,
        authority: Some(authority),
    })
}

/// Split `path?query` at the first `?` (RFC 3986 §3.4).
fn split_query(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    match bytes.iter().position(|&b| b == b'?') {
        Some(at) => {
            let (path, query) = bytes.split_at(at);
            (path, query.get(1..))
        }
        None => (bytes, None),
    }
}

/// Check `uri-host [ ":" port ]` (RFC 3986 §3.2.2, §3.2.3); the port is
/// required for CONNECT (RFC 9112 §3.2.3). Userinfo is refused
/// (RFC 9110 §4.2.4) because `@` is not a host byte.
fn check_authority(authority: &[u8], port_required: bool) -> Result<(), Error> {
    let (host_ok, port) = match authority.strip_prefix(b"[") {
        // RFC 3986 §3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]".
        Some(literal) => {
            let close = literal.iter().position(|&b| b == b']').ok_or(Error::Target)?;
            let (inside, after) = literal.split_at(close);
            let inside_ok =
                !inside.is_empty() && inside.iter().all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':');
            match after.get(1..) {
                Some([]) | None => (inside_ok, None),
                Some([b':', port @ ..]) => (inside_ok, Some(port)),
                Some(_) => return Err(Error::Target),
            }
        }
        None => {
            let (host, port) = match authority.iter().rposition(|&b| b == b':') {
                Some(colon) => {
                    let (host, port) = authority.split_at(colon);
                    (host, port.get(1..))
                }
                None => (authority, None),
            };
            (!host.is_empty() && is_reg_name(host), port)
        }
    };
    let port_ok = match port {
        // RFC 3986 §3.2.3: port = *DIGIT; an empty port means the default.
        Some([]) | None => !port_required,
        Some(digits) => {
            digits.iter().all(u8::is_ascii_digit)
                && core::str::from_utf8(digits).is_ok_and(|d| d.parse::<u16>().is_ok())
        }
    };
    if host_ok && port_ok { Ok(()) } else { Err(Error::Target) }
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )` (RFC 3986 §3.2.2),
/// which also covers an IPv4 address.
fn is_reg_name(host: &[u8]) -> bool {
    let mut rest = host;
    while let Some((&b, tail)) = rest.split_first() {
        rest = match (b, tail) {
            (b'%', [high, low, tail @ ..]) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => tail,
            _ if is_unreserved(b) || is_sub_delim(b) => tail,
            _ => return false,
        };
    }
    true
}

/// `unreserved` (RFC 3986 §2.3).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// `sub-delims` (RFC 3986 §2.2).
fn is_sub_delim(b: u8) -> bool {
    b"!$&'()*+,;=".contains(&b)
}

/// Percent-decode `raw_path` and remove dot segments (RFC 3986 §5.2.4) into `out`.
///
/// `out` is cleared first and can be reused across requests, so nothing is
/// allocated once it has grown to fit. The result always starts with `/`,
/// never holds a `.` or `..` segment nor an empty one (`//` is merged, as
/// nginx does), keeps a trailing slash (`/a/.` gives `/a/`), and cannot climb
/// above `/`: such a `..` is [`Error::PathEscapesRoot`]. A malformed escape,
/// `%00` and `%2F` are [`Error::BadEscape`]; a backslash is an ordinary byte.
/// A path that does not start with `/`, or holds a raw control byte, is
/// [`Error::Target`].
///
/// ```
/// use wired_parser::{Error, target::normalize_path};
///
/// let mut out = Vec::new();
/// assert_eq!(normalize_path(b"//a/./b/../c%20d/", &mut out)?, b"/a/c d/");
/// assert_eq!(normalize_path(b"/%2e%2e/etc/passwd", &mut out), Err(Error::PathEscapesRoot));
/// assert_eq!(normalize_path(b"/a%2fb", &mut out), Err(Error::BadEscape));
/// # Ok::<(), Error>(())
/// ```
pub fn normalize_path<'o>(raw_path: &[u8], out: &'o mut Vec<u8>) -> Result<&'o [u8], Error> {
    out.clear();
    let Some((b'/', rest)) = raw_path.split_first() else {
        return Err(Error::Target);
    };
    out.push(b'/');
    // `out` ends with `/` before each segment. A `/` follows a segment only
    // when another comes after it, so a trailing slash survives.
    let mut segments = rest.split(|&b| b == b'/').peekable();
    while let Some(raw) = segments.next() {
        let more = segments.peek().is_some();
        if raw.is_empty() {
            continue;
        }
        let start = out.len();
        decode_segment(raw, out)?;
        match out.get(start..) {
            Some(b".") => out.truncate(start),
            Some(b"..") => {
                out.truncate(start);
                // Drop the previous segment: everything after the `/` before it.
                let parent = start
                    .checked_sub(1)
                    .and_then(|slash| out.get(..slash))
                    .and_then(|before| before.iter().rposition(|&b| b == b'/'))
                    .ok_or(Error::PathEscapesRoot)?;
                out.truncate(parent + 1);
            }
            _ if more => out.push(b'/'),
            _ => {}
        }
    }
    Ok(out.as_slice())
}

/// Append one raw path segment to `out`, percent-decoded (RFC 3986 §2.1).
fn decode_segment(raw: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let mut rest = raw;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        let byte = match b {
            b'%' => {
                let [high, low, tail @ ..] = rest else {
                    return Err(Error::BadEscape);
                };
                rest = tail;
                let value = hex(*high).zip(hex(*low)).map(|(h, l)| h << 4 | l).ok_or(Error::BadEscape)?;
                // NUL ends a C string, and a decoded `/` would be a separator
                // the dot-segment pass never saw.
                if value == 0 || value == b'/' {
                    return Err(Error::BadEscape);
                }
                value
            }
            // RFC 9112 §3.2 leaves no room for controls in a target.
            _ if b < b' ' || b == 0x7f => return Err(Error::Target),
            _ => b,
        };
        out.push(byte);
    }
    Ok(())
}

/// The value of one hex digit.
fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a target becomes: form, normalized path, query, authority.
    type Parts = (Form, &'static str, Option<&'static str>, Option<&'static str>);

    fn origin(path: &'static str, query: Option<&'static str>) -> Result<Parts, Error> {
        Ok((Form::Origin, path, query, None))
    }

    fn absolute(path: &'static str, query: Option<&'static str>, authority: &'static str) -> Result<Parts, Error> {
        Ok((Form::Absolute, path, query, Some(authority)))
    }

    /// What a target became: the same, with the path normalized and owned.
    type Got<'t> = (Form, Vec<u8>, Option<&'t [u8]>, Option<&'t [u8]>);

    /// Parse, then normalize the path as a file server would.
    fn run<'t>(target: &'t str, method: Method<'_>) -> Result<Got<'t>, Error> {
        let t = parse_target(target, method)?;
        let mut out = Vec::new();
        let path = match t.form {
            Form::Origin | Form::Absolute => normalize_path(t.path, &mut out)?.to_vec(),
            Form::Authority | Form::Asterisk => t.path.to_vec(),
        };
        Ok((t.form, path, t.query, t.authority))
    }

    #[test]
    fn table() {
        use Error::{BadEscape, PathEscapesRoot, Target};
        use Method::{Connect, Get, Options};
        #[rustfmt::skip] // one row per line reads as a table
        let rows: &[(&str, Method<'_>, Result<Parts, Error>)] = &[
            ("/", Get, origin("/", None)),
            ("/index.html", Get, origin("/index.html", None)),
            ("/a/b/", Get, origin("/a/b/", None)),
            ("/a/.", Get, origin("/a/", None)),
            ("/a/./", Get, origin("/a/", None)),
            ("/a/..", Get, origin("/", None)),
            ("/a//..", Get, origin("/", None)),
            ("/a/b/../c", Get, origin("/a/c", None)),
            ("/a/b/c/../../..", Get, origin("/", None)),
            ("/./a/./b", Get, origin("/a/b", None)),
            ("//etc//passwd", Get, origin("/etc/passwd", None)),
            ("/a/.../b", Get, origin("/a/.../b", None)),
            ("/a/..b/.c/b..", Get, origin("/a/..b/.c/b..", None)),
            ("/%2e/a", Get, origin("/a", None)),
            ("/a/%2E%2e", Get, origin("/", None)),
            ("/caf%C3%A9", Get, origin("/caf\u{e9}", None)),
            ("/a%20b%3f", Get, origin("/a b?", None)),
            ("/a\\..\\b", Get, origin("/a\\..\\b", None)),
            ("/a%5C..%5cb", Get, origin("/a\\..\\b", None)),
            ("/..", Get, Err(PathEscapesRoot)),
            ("/../", Get, Err(PathEscapesRoot)),
            ("/a/../../b", Get, Err(PathEscapesRoot)),
            ("/a/b/c/../../../..", Get, Err(PathEscapesRoot)),
            ("/%2e%2e/etc/passwd", Get, Err(PathEscapesRoot)),
            ("/.%2E/", Get, Err(PathEscapesRoot)),
            ("/%2E%2e%2f", Get, Err(BadEscape)),
            ("/a%2fb", Get, Err(BadEscape)),
            ("/a%2Fb", Get, Err(BadEscape)),
            ("/a%00b", Get, Err(BadEscape)),
            ("/a%zz", Get, Err(BadEscape)),
            ("/a%", Get, Err(BadEscape)),
            ("/a%2", Get, Err(BadEscape)),
            ("/a%%32%65", Get, Err(BadEscape)),
            ("/p?q=1", Get, origin("/p", Some("q=1"))),
            ("/p?", Get, origin("/p", Some(""))),
            ("/p?a?b/../c", Get, origin("/p", Some("a?b/../c"))),
            ("/a/../b?x=%2f", Get, origin("/b", Some("x=%2f"))),
            ("/p?q=1#frag", Get, Err(Target)),
            ("/p#frag", Get, Err(Target)),
            ("/a b", Get, Err(Target)),
            ("/a\tb", Get, Err(Target)),
            ("/a\0b", Get, Err(Target)),
            ("", Get, Err(Target)),
            ("index.html", Get, Err(Target)),
            ("*", Options, Ok((Form::Asterisk, "", None, None))),
            ("*", Get, Err(Target)),
            ("/*", Options, origin("/*", None)),
            ("example.com:443", Connect, Ok((Form::Authority, "", None, Some("example.com:443")))),
            ("[::1]:8443", Connect, Ok((Form::Authority, "", None, Some("[::1]:8443")))),
            ("example.com:443", Get, Err(Target)),
            ("example.com", Connect, Err(Target)),
            ("example.com:", Connect, Err(Target)),
            ("example.com:99999", Connect, Err(Target)),
            ("user@example.com:443", Connect, Err(Target)),
            ("/x", Connect, Err(Target)),
            ("http://example.com:443/", Connect, Err(Target)),
            ("http://Example.com:8080/x?y", Get, absolute("/x", Some("y"), "Example.com:8080")),
            ("HTTP://h", Get, absolute("/", None, "h")),
            ("hTtPs://h?q", Get, absolute("/", Some("q"), "h")),
            ("http://h:/a/../b", Get, absolute("/b", None, "h:")),
            ("http://[::1]/", Options, absolute("/", None, "[::1]")),
            ("http://h/..", Get, Err(PathEscapesRoot)),
            ("http:///x", Get, Err(Target)),
            ("http://u@h/", Get, Err(Target)),
            ("http://h:99999/", Get, Err(Target)),
            ("http://[::1/", Get, Err(Target)),
            ("http:/h/", Get, Err(Target)),
            ("ftp://h/x", Get, Err(Target)),
        ];
        assert!(rows.len() >= 40);
        for (target, method, expect) in rows {
            let got = run(target, *method);
            let want = expect.map(|(form, path, query, authority)| {
                (form, path.as_bytes().to_vec(), query.map(str::as_bytes), authority.map(str::as_bytes))
            });
            assert_eq!(got, want, "{target:?} with {method:?}");
        }
    }

    #[test]
    fn normalize_refuses_what_parse_target_would() {
        let mut out = Vec::new();
        assert_eq!(normalize_path(b"", &mut out), Err(Error::Target));
        assert_eq!(normalize_path(b"a/b", &mut out), Err(Error::Target));
        assert_eq!(normalize_path(b"/a\0b", &mut out), Err(Error::Target));
        assert_eq!(normalize_path(b"/a\rb", &mut out), Err(Error::Target));
    }

    #[test]
    fn normalize_reuses_its_buffer() {
        let mut out = Vec::with_capacity(64);
        let capacity = out.capacity();
        for raw in [&b"/a/b/c"[..], b"/x/../y/", b"/"] {
            assert!(normalize_path(raw, &mut out).is_ok());
        }
        assert_eq!(normalize_path(b"/x/../y/", &mut out), Ok(&b"/y/"[..]));
        assert_eq!(out.capacity(), capacity);
    }

    /// Every path built from these pieces, up to six of them, either fails or
    /// normalizes to a path that keeps the promises and is already normal.
    #[test]
    fn normalized_paths_keep_their_promises() {
        const PIECES: [&str; 6] = ["/", ".", "a", "%2e", "%2E", "\\"];
        let mut out = Vec::new();
        let mut again = Vec::new();
        let mut stack = vec![(String::from("/"), 0)];
        while let Some((raw, pieces)) = stack.pop() {
            if let Ok(path) = normalize_path(raw.as_bytes(), &mut out) {
                assert!(path.starts_with(b"/") && !path.contains(&0), "{raw}");
                let segments: Vec<&[u8]> = path.split(|&b| b == b'/').skip(1).collect();
                for (i, segment) in segments.iter().enumerate() {
                    let trailing_slash = segment.is_empty() && i + 1 == segments.len();
                    let bad = [&b""[..], b".", b".."].contains(segment) && !trailing_slash;
                    assert!(!bad, "{raw} gave {:?}", String::from_utf8_lossy(path));
                }
                assert_eq!(normalize_path(path, &mut again), Ok(path), "{raw} is not idempotent");
            }
            if pieces < 6 {
                stack.extend(PIECES.iter().map(|piece| (format!("{raw}{piece}"), pieces + 1)));
            }
        }
    }
}
