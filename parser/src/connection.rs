//! Connection semantics: persistence, `Expect`, `Upgrade`, and the token lists
//! those fields carry.
//!
//! ```
//! use wired_parser::{Version, connection::ConnectionOptions};
//! let mut options = ConnectionOptions::default();
//! options.add(b"keep-alive");
//! assert!(options.persistent(Version::Http10)); // HTTP/1.0 persists only when asked
//! ```

/// The fields that manage one connection and so never travel past it
/// (RFC 9110 §7.6.1, which names `Proxy-Connection`, `Keep-Alive`, `TE`,
/// `Transfer-Encoding` and `Upgrade` besides `Connection` itself; `Trailer`
/// announces fields of a chunked body, this hop's framing, RFC 9110 §6.6.2).
pub const HOP_BY_HOP: &[&str] =
    &["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/// True when the field `name` belongs to the connection a message came on,
/// not to the message (RFC 9110 §7.6.1): one of [`HOP_BY_HOP`], or a field
/// that a `Connection` field among `fields` names. Whoever passes a message
/// on (a gateway to CGI or FastCGI, a proxy in either direction) drops them:
/// their framing and options were this hop's, already acted on.
///
/// ```
/// use wired_parser::{Header, connection::is_hop_by_hop};
/// let fields = [Header { name: "Connection", value: b"X-Hop, close" }];
/// assert!(is_hop_by_hop("x-hop", &fields));
/// assert!(is_hop_by_hop("Keep-Alive", &fields));
/// assert!(!is_hop_by_hop("Content-Type", &fields));
/// ```
pub fn is_hop_by_hop(name: &str, fields: &[httparse::Header<'_>]) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
        || fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case("connection"))
            .any(|f| has_token(f.value, name.as_bytes()))
}

/// Split a comma-separated list into its elements (RFC 9110 §5.6.1).
///
/// Empty elements are skipped and optional whitespace around each element is
/// trimmed, so `"close,, keep-alive "` yields `close` and `keep-alive`.
///
/// ```
/// use wired_parser::connection::list_elements;
/// let items: Vec<&[u8]> = list_elements(b" close,,keep-alive ").collect();
/// assert_eq!(items, [&b"close"[..], &b"keep-alive"[..]]);
/// ```
pub fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|e| !e.is_empty())
}

/// True when the comma-separated `value` contains `token`, compared
/// case-insensitively (RFC 9110 §7.6.1: connection options are case-insensitive).
///
/// ```
/// use wired_parser::connection::has_token;
/// assert!(has_token(b"keep-alive, Upgrade", b"upgrade"));
/// assert!(!has_token(b"keep-alive-ish", b"keep-alive"));
/// ```
pub fn has_token(value: &[u8], token: &[u8]) -> bool {
    list_elements(value).any(|e| e.eq_ignore_ascii_case(token))
}

/// `value` is `lower` ignoring ASCII case; `lower` must be lower case.
/// Like `eq_ignore_ascii_case`, but without an early exit, which is faster
/// for the short values compared here.
#[inline]
fn eq_lower(value: &[u8], lower: &[u8]) -> bool {
    value.len() == lower.len()
        && value.iter().zip(lower).fold(true, |same, (a, b)| same & (a.to_ascii_lowercase() == *b))
}

/// Remove optional whitespace (SP and HTAB) from both ends (RFC 9110 §5.6.3).
///
/// ```
/// assert_eq!(wired_parser::connection::trim_ows(b" \tx \t"), b"x");
/// ```
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// What the `Connection`, `Expect` and `Upgrade` fields said, gathered while
/// the head parser walks the fields once.
///
/// ```
/// use wired_parser::{Version, connection::ConnectionOptions};
/// let mut options = ConnectionOptions::default();
/// options.add(b"Upgrade");
/// options.add(b"close");
/// assert!(options.upgrade && options.close && !options.persistent(Version::Http11));
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// `Connection: close` was present.
    pub close: bool,
    /// `Connection: keep-alive` was present (meaningful for HTTP/1.0).
    pub keep_alive: bool,
    /// `Connection: upgrade` was present.
    pub upgrade: bool,
}

impl ConnectionOptions {
    /// Record one `Connection` field value.
    ///
    /// ```
    /// let mut c = wired_parser::connection::ConnectionOptions::default();
    /// c.add(b"Keep-Alive, Upgrade");
    /// assert!(c.keep_alive && c.upgrade && !c.close);
    /// ```
    pub fn add(&mut self, value: &[u8]) {
        // The usual values, whole, without splitting a list.
        if eq_lower(value, b"keep-alive") {
            self.keep_alive = true;
            return;
        }
        if eq_lower(value, b"close") {
            self.close = true;
            return;
        }
        for token in list_elements(value) {
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if token.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            }
        }
    }

    /// Whether the connection persists after this request.
    ///
    /// RFC 9112 §9.3: HTTP/1.1 persists unless `close` is present; HTTP/1.0
    /// persists only when the client asked with `keep-alive` (and not `close`).
    ///
    /// ```
    /// use wired_parser::{Version, connection::ConnectionOptions};
    /// let none = ConnectionOptions::default();
    /// assert!(none.persistent(Version::Http11));
    /// assert!(!none.persistent(Version::Http10));
    /// ```
    pub fn persistent(&self, version: crate::Version) -> bool {
        match version {
            crate::Version::Http11 => !self.close,
            crate::Version::Http10 => self.keep_alive && !self.close,
            // RFC 9113 §8.2.2: HTTP/2 has no Connection field; its
            // connections persist until GOAWAY.
            crate::Version::Http2 => true,
        }
    }
}

/// Interpret an `Expect` field value (RFC 9110 §10.1.1).
///
/// Returns `Ok(true)` for `100-continue` (case-insensitive), and
/// `Err(UnknownExpectation)` for anything else, which deserves a 417.
///
/// ```
/// use wired_parser::connection::expect_continue;
/// assert_eq!(expect_continue(b"100-Continue"), Ok(true));
/// assert!(expect_continue(b"202-accepted").is_err());
/// ```
pub fn expect_continue(value: &[u8]) -> Result<bool, crate::Error> {
    let value = trim_ows(value);
    if value.eq_ignore_ascii_case(b"100-continue") { Ok(true) } else { Err(crate::Error::UnknownExpectation) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Version;

    #[test]
    fn token_lists_follow_rfc9110_5_6_1() {
        let items: Vec<&[u8]> = list_elements(b",, a ,\tb,,").collect();
        assert_eq!(items, [&b"a"[..], &b"b"[..]]);
        assert!(has_token(b"CLOSE", b"close"));
        assert!(!has_token(b"closed", b"close"));
        assert!(!has_token(b"", b"close"));
    }

    #[test]
    fn persistence_by_version() {
        let mut c = ConnectionOptions::default();
        c.add(b"keep-alive");
        assert!(c.persistent(Version::Http10));
        c.add(b"close");
        assert!(!c.persistent(Version::Http10));
        assert!(!c.persistent(Version::Http11));
    }
}
