//! The server's side of the opening handshake (RFC 6455 §4.2).
//!
//! [`check`] reads a parsed request against §4.2.1 and either returns the
//! [`Handshake`], whose `Sec-WebSocket-Accept` value goes into the 101
//! response (§4.2.2), or a [`HandshakeError`] that knows its status: 426
//! with `Sec-WebSocket-Version: 13` for a version wired does not speak
//! (§4.4), 400 for everything else. The 101 response itself is the
//! server's to write:
//!
//! ```text
//! HTTP/1.1 101 Switching Protocols
//! Upgrade: websocket
//! Connection: Upgrade
//! Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
//! Sec-WebSocket-Protocol: chat          (only if the client offered it)
//! ```
//!
//! ```
//! use wired_parser::{EMPTY_HEADER, HeadParser, Limits, Status, websocket::handshake};
//!
//! // RFC 6455 §1.3's example handshake.
//! let raw = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
//!             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!             Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
//!             Sec-WebSocket-Version: 13\r\n\r\n";
//! let mut fields = [EMPTY_HEADER; 16];
//! let Ok(Status::Complete(req)) = HeadParser::new().parse(raw, &Limits::default(), &mut fields) else { panic!() };
//! let shake = handshake::check(&req)?;
//! assert_eq!(shake.accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//! assert_eq!(handshake::choose_protocol(req.headers, &["superchat", "chat"]), Some("superchat"));
//! # Ok::<(), wired_parser::websocket::HandshakeError>(())
//! ```

use core::fmt;

use super::{base64, sha1::Sha1};
use crate::connection::{has_token, list_elements, trim_ows};
use crate::head::{Header, Request, Version};
use crate::method::Method;

/// The GUID every server appends to the client's key (§1.3, §4.2.2).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this server speaks (§4.1, §11.6).
pub const VERSION: &str = "13";

/// A valid opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake<'b> {
    /// The client's `Sec-WebSocket-Key`, as sent (whitespace trimmed).
    pub key: &'b [u8],
    /// The `Sec-WebSocket-Accept` value, base64 of a 20-byte digest.
    accept: [u8; 28],
}

impl Handshake<'_> {
    /// The value of the response's `Sec-WebSocket-Accept` field.
    pub fn accept(&self) -> &str {
        // Base64 output is ASCII.
        core::str::from_utf8(&self.accept).unwrap_or_default()
    }
}

/// Why a request is not a WebSocket opening handshake wired accepts.
///
/// ```
/// use wired_parser::websocket::HandshakeError;
/// assert_eq!(HandshakeError::Version.status(), 426);
/// assert_eq!(HandshakeError::MissingKey.to_string(), "400 missing Sec-WebSocket-Key");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Not a GET (§4.2.1 item 1).
    Method,
    /// Not HTTP/1.1 or later (§4.2.1 item 1).
    HttpVersion,
    /// No `Upgrade` field with the `websocket` token (§4.2.1 item 3).
    Upgrade,
    /// No `Connection` field with the `upgrade` token (§4.2.1 item 4).
    Connection,
    /// No `Sec-WebSocket-Key` field (§4.2.1 item 5).
    MissingKey,
    /// More than one `Sec-WebSocket-Key` field.
    DuplicateKey,
    /// A key that is not the base64 of 16 bytes (§4.1, §4.2.1 item 5).
    BadKey,
    /// `Sec-WebSocket-Version` is missing, repeated, or not 13 (§4.2.1 item 6):
    /// answer 426 with `Sec-WebSocket-Version: 13` (§4.4).
    Version,
}

impl HandshakeError {
    /// The status code to refuse the handshake with.
    pub fn status(self) -> u16 {
        match self {
            HandshakeError::Version => 426,
            _ => 400,
        }
    }

    /// A short reason, for error pages and logs.
    pub fn reason(self) -> &'static str {
        match self {
            HandshakeError::Method => "WebSocket handshake is not a GET",
            HandshakeError::HttpVersion => "WebSocket handshake needs HTTP/1.1",
            HandshakeError::Upgrade => "missing Upgrade: websocket",
            HandshakeError::Connection => "missing Connection: upgrade",
            HandshakeError::MissingKey => "missing Sec-WebSocket-Key",
            HandshakeError::DuplicateKey => "more than one Sec-WebSocket-Key",
            HandshakeError::BadKey => "Sec-WebSocket-Key is not 16 bytes in base64",
            HandshakeError::Version => "unsupported Sec-WebSocket-Version",
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.reason())
    }
}

impl std::error::Error for HandshakeError {}

/// Check a request against §4.2.1, in the order it lists the rules.
///
/// Field names are compared case-insensitively, the `Upgrade` and
/// `Connection` tokens too, and either field may be a list or repeated
/// (RFC 9110 §5.3, §7.6.1, §7.8). `Origin` is the caller's to judge
/// (§10.2); `Sec-WebSocket-Protocol` is read by [`choose_protocol`].
pub fn check<'b>(req: &Request<'b, '_>) -> Result<Handshake<'b>, HandshakeError> {
    if req.method != Method::Get {
        return Err(HandshakeError::Method);
    }
    if req.version != Version::Http11 {
        return Err(HandshakeError::HttpVersion);
    }
    let fields = |name: &'static str| req.headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name));
    if !fields("upgrade").any(|h| has_token(h.value, b"websocket")) {
        return Err(HandshakeError::Upgrade);
    }
    if !fields("connection").any(|h| has_token(h.value, b"upgrade")) {
        return Err(HandshakeError::Connection);
    }
    let mut keys = fields("sec-websocket-key");
    let key = trim_ows(keys.next().ok_or(HandshakeError::MissingKey)?.value);
    if keys.next().is_some() {
        return Err(HandshakeError::DuplicateKey);
    }
    let mut nonce = [0; 18];
    if base64::decode(key, &mut nonce) != Some(16) {
        return Err(HandshakeError::BadKey);
    }
    let mut versions = fields("sec-websocket-version");
    let version = versions.next().map(|h| trim_ows(h.value));
    if version != Some(VERSION.as_bytes()) || versions.next().is_some() {
        return Err(HandshakeError::Version);
    }
    Ok(Handshake { key, accept: accept_key(key) })
}

/// `Sec-WebSocket-Accept` for a key (§4.2.2 item 5.4): the base64 of the
/// SHA-1 of the key, as sent, followed by [`GUID`].
///
/// ```
/// let accept = wired_parser::websocket::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(&accept, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); // RFC 6455 §1.3
/// ```
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    let mut hash = Sha1::new();
    hash.update(key);
    hash.update(GUID.as_bytes());
    let mut out = [0; 28];
    // 20 bytes encode to exactly 28 characters.
    let _ = base64::encode(&hash.finish(), &mut out);
    out
}

/// The subprotocols the client offered, in its order of preference, across
/// every `Sec-WebSocket-Protocol` field (§4.1: a comma-separated list of
/// tokens, possibly in several fields; §11.3.4).
///
/// ```
/// use wired_parser::{EMPTY_HEADER, websocket::handshake::offered_protocols};
/// let mut fields = [EMPTY_HEADER; 2];
/// fields[0] = wired_parser::Header { name: "Sec-WebSocket-Protocol", value: b"chat, v2.chat" };
/// fields[1] = wired_parser::Header { name: "sec-websocket-protocol", value: b" mqtt " };
/// let offered: Vec<&[u8]> = offered_protocols(&fields).collect();
/// assert_eq!(offered, [&b"chat"[..], b"v2.chat", b"mqtt"]);
/// ```
pub fn offered_protocols<'b>(headers: &[Header<'b>]) -> impl Iterator<Item = &'b [u8]> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol"))
        .flat_map(|h| list_elements(h.value))
}

/// The first of the server's `supported` subprotocols (in the server's
/// order of preference) that the client offered, for the response's
/// `Sec-WebSocket-Protocol` (§4.2.2 item 5.4); `None` means the response
/// names none. Subprotocol names are compared exactly: RFC 6455 §11.3.4
/// does not make them case-insensitive.
pub fn choose_protocol<'s>(headers: &[Header<'_>], supported: &[&'s str]) -> Option<&'s str> {
    supported.iter().copied().find(|s| offered_protocols(headers).any(|o| o == s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EMPTY_HEADER, HeadParser, Limits, Status};

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    /// Parse `head` (without its blank line) and check it.
    fn shake(head: &str) -> Result<String, HandshakeError> {
        let raw = format!("{head}\r\n\r\n");
        let mut fields = [EMPTY_HEADER; 16];
        let Ok(Status::Complete(req)) = HeadParser::new().parse(raw.as_bytes(), &Limits::default(), &mut fields) else {
            panic!("{head:?} does not parse");
        };
        check(&req).map(|h| h.accept().to_string())
    }

    #[rustfmt::skip]
    #[test]
    fn table() {
        use HandshakeError::*;
        let ok = Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_string());
        let base = "Host: a\r\nUpgrade: websocket\r\nConnection: Upgrade";
        let rows: Vec<(String, Result<String, HandshakeError>)> = vec![
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13"), ok.clone()),
            (format!("GET / HTTP/1.1\r\nHost: a\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\nsec-websocket-key: {KEY} \r\nsec-websocket-version: 13"), ok.clone()),
            (format!("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c, websocket\r\nConnection: keep-alive\r\nConnection: upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13"), ok.clone()),
            (format!("POST / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0"), Err(Method)),
            (format!("GET / HTTP/1.0\r\n{base}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13"), Err(HttpVersion)),
            (format!("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13"), Err(Upgrade)),
            (format!("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket2\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13"), Err(Upgrade)),
            (format!("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13"), Err(Connection)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Version: 13"), Err(MissingKey)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13"), Err(DuplicateKey)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\nSec-WebSocket-Version: 13"), Err(BadKey)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\nSec-WebSocket-Version: 13"), Err(BadKey)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Version: 13"), Err(BadKey)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: \r\nSec-WebSocket-Version: 13"), Err(BadKey)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: {KEY}"), Err(Version)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8"), Err(Version)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13, 8"), Err(Version)),
            (format!("GET / HTTP/1.1\r\n{base}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13"), Err(Version)),
        ];
        for (head, expect) in rows {
            assert_eq!(shake(&head), expect, "{head:?}");
        }
    }

    #[test]
    fn accept_depends_on_the_key_as_sent() {
        assert_eq!(&accept_key(KEY.as_bytes()), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_ne!(accept_key(b"AAAAAAAAAAAAAAAAAAAAAA=="), accept_key(KEY.as_bytes()));
    }

    #[test]
    fn protocols_are_chosen_by_server_preference() {
        let fields = [Header { name: "Sec-WebSocket-Protocol", value: b"chat,, superchat" }];
        assert_eq!(choose_protocol(&fields, &["superchat", "chat"]), Some("superchat"));
        assert_eq!(choose_protocol(&fields, &["Chat"]), None);
        assert_eq!(choose_protocol(&[], &["chat"]), None);
    }
}
