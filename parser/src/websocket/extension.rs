//! permessage-deflate negotiation (RFC 7692 §5, §7.1), the one extension
//! wired speaks.
//!
//! The client lists what it offers in `Sec-WebSocket-Extensions` (RFC 6455
//! §9.1): extensions separated by commas, each a name followed by
//! `; parameter` or `; parameter=value`, the value a token or a quoted
//! string. It may offer permessage-deflate several times with different
//! parameters, in its order of preference; the server takes the first offer
//! it can honour and answers with the parameters it agreed to (§5.1). An
//! offer with an unknown or repeated parameter, or a bad value, is declined
//! (§7.1: "the server MUST decline"), and the next one is tried.
//!
//! ```
//! use wired_parser::websocket::extension::negotiate_deflate;
//! let fields = [wired_parser::Header {
//!     name: "Sec-WebSocket-Extensions",
//!     value: b"permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate",
//! }];
//! let agreed = negotiate_deflate(&fields).unwrap();
//! assert_eq!(agreed.server_max_window_bits, 10);
//! assert_eq!(agreed.response(), "permessage-deflate; server_max_window_bits=10");
//! ```

use crate::connection::trim_ows;
use crate::head::Header;

/// The extension's registered name (RFC 7692 §7).
pub const NAME: &str = "permessage-deflate";

/// What the server agreed to for permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    /// The server compresses each message afresh (§7.1.1.1): it may not
    /// refer back to earlier messages.
    pub server_no_context_takeover: bool,
    /// The client was asked (and agreed) to compress each message afresh
    /// (§7.1.1.2); the server may then forget its inflate window too.
    pub client_no_context_takeover: bool,
    /// The largest LZ77 window the server may use, as a power of two,
    /// 8 to 15 (§7.1.2.1); 15 unless the client asked for less.
    pub server_max_window_bits: u8,
    /// The client said it would use a window of at most this many bits
    /// (§7.1.2.2); informational, since an inflater with the full 32 KiB
    /// window reads any smaller one.
    pub client_max_window_bits: Option<u8>,
}

impl Deflate {
    /// The response's `Sec-WebSocket-Extensions` value: the parameters the
    /// server agrees to. `server_no_context_takeover` and
    /// `server_max_window_bits` are echoed when offered (§7.1.1.1, §7.1.2.1
    /// make the server include them); `client_no_context_takeover` too, so
    /// the client's choice is confirmed. `client_max_window_bits` is never
    /// sent back: the server does not limit the client (§7.1.2.2).
    pub fn response(&self) -> String {
        let mut s = String::from(NAME);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            s.push_str("; server_max_window_bits=");
            s.push_str(match self.server_max_window_bits {
                8 => "8",
                9 => "9",
                10 => "10",
                11 => "11",
                12 => "12",
                13 => "13",
                _ => "14",
            });
        }
        s
    }
}

/// The first permessage-deflate offer in the request's
/// `Sec-WebSocket-Extensions` fields (all of them, in order: RFC 6455
/// §9.1 lets the list span several fields) that wired can accept.
pub fn negotiate_deflate(headers: &[Header<'_>]) -> Option<Deflate> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-extensions"))
        .flat_map(|h| split_outside_quotes(h.value, b','))
        .find_map(accept_offer)
}

/// One offer, `name; param[=value]; …`, accepted or declined (`None`).
fn accept_offer(offer: &[u8]) -> Option<Deflate> {
    let mut parts = split_outside_quotes(offer, b';');
    if !trim_ows(parts.next()?).eq_ignore_ascii_case(NAME.as_bytes()) {
        return None;
    }
    let mut agreed = Deflate {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: None,
    };
    let mut seen = [false; 4];
    for param in parts {
        let param = trim_ows(param);
        let (name, value) = match param.iter().position(|&b| b == b'=') {
            Some(eq) => (trim_ows(&param[..eq]), Some(unquote(trim_ows(&param[eq + 1..]))?)),
            None => (param, None),
        };
        let index = PARAMS.iter().position(|p| name.eq_ignore_ascii_case(p.as_bytes()))?;
        // §7.1: a parameter named twice declines the offer.
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
        match (index, value) {
            (0, None) => agreed.server_no_context_takeover = true,
            (1, None) => agreed.client_no_context_takeover = true,
            // §7.1.2.1: a value is required, 8 to 15, no leading zero.
            (2, Some(v)) => agreed.server_max_window_bits = window_bits(v)?,
            // §7.1.2.2: the value is optional; without one the client
            // only says it understands the parameter.
            (3, None) => {}
            (3, Some(v)) => agreed.client_max_window_bits = Some(window_bits(v)?),
            _ => return None,
        }
    }
    Some(agreed)
}

/// The parameters RFC 7692 §7.1 defines, by index in [`accept_offer`].
const PARAMS: [&str; 4] =
    ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"];

/// A window size: one of the decimal integers 8 to 15, written without a
/// leading zero (§7.1.2.1's ABNF: `%x38-39 / "1" %x30-35`).
fn window_bits(v: &[u8]) -> Option<u8> {
    match v {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// A value without its quotes, if it was a quoted string (RFC 6455 §9.1:
/// "when using the quoted-string syntax variant, the value after
/// quoted-string unescaping MUST conform to the 'token' ABNF"): the
/// window sizes never need escapes, so one is refused.
fn unquote(v: &[u8]) -> Option<&[u8]> {
    match v {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') && !inner.contains(&b'"') => Some(inner),
        [b'"', ..] => None,
        _ => Some(v),
    }
}

/// Split on `sep` where it is not inside a quoted string.
fn split_outside_quotes(s: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (i, &b) in s.iter().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                _ if b == sep && !quoted => {
                    rest = Some(&s[i + 1..]);
                    return Some(&s[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(value: &str) -> Option<Deflate> {
        negotiate_deflate(&[Header { name: "Sec-WebSocket-Extensions", value: value.as_bytes() }])
    }

    #[test]
    fn plain_offer() {
        let d = offer("permessage-deflate").unwrap();
        assert_eq!(d.response(), "permessage-deflate");
        assert_eq!(d.server_max_window_bits, 15);
    }

    #[test]
    fn parameters_are_echoed() {
        let d = offer("permessage-deflate; server_no_context_takeover; client_no_context_takeover").unwrap();
        assert_eq!(d.response(), "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
        let d = offer("permessage-deflate; server_max_window_bits=\"9\"; client_max_window_bits=12").unwrap();
        assert_eq!((d.server_max_window_bits, d.client_max_window_bits), (9, Some(12)));
        assert_eq!(d.response(), "permessage-deflate; server_max_window_bits=9");
    }

    #[test]
    fn bad_offers_are_declined_and_the_next_tried() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; client_max_window_bits=\"1\\5\"",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; x-unknown",
            "x-webkit-deflate-frame",
        ] {
            assert_eq!(offer(bad), None, "{bad}");
            let fallback = offer(&format!("{bad}, permessage-deflate; client_max_window_bits")).unwrap();
            assert_eq!(fallback.response(), "permessage-deflate", "{bad}");
        }
    }

    #[test]
    fn offers_span_fields() {
        let fields = [
            Header { name: "Sec-WebSocket-Extensions", value: b"foo; bar=\"a,b\"" },
            Header { name: "sec-websocket-extensions", value: b"PERMESSAGE-DEFLATE ; SERVER_NO_CONTEXT_TAKEOVER" },
        ];
        assert!(negotiate_deflate(&fields).unwrap().server_no_context_takeover);
        assert_eq!(negotiate_deflate(&[]), None);
    }
}
