//! [`ResponseParser`]: finding the end of a response head, checking its
//! status line as it passes, then reading the fields a proxy relies on.

use memchr::memchr_iter;

use super::error::shared;
use super::{Response, ResponseBody, ResponseError, ResponseTo};
use crate::Limits;
use crate::connection::ConnectionOptions;
use crate::framing::{Body, Framing};
use crate::head::{Header, Status, Version, field_name_error, name_is};

/// Incremental response head parser. Keep one per upstream connection; call
/// [`ResponseParser::reset`] before the next head (after an interim
/// response, or for the next request's response).
///
/// Of the [`Limits`], `max_head_bytes` and `max_headers` apply;
/// `max_request_line` does not (the status line counts towards the head).
///
/// ```
/// # use wired_parser::*;
/// let raw = b"HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n";
/// let mut parser = ResponseParser::new();
/// // The bytes arrive one at a time; each call looks only at what is new.
/// for end in 0..raw.len() {
///     let mut fields = [EMPTY_HEADER; 4];
///     assert_eq!(parser.parse(&raw[..end], &Limits::default(), ResponseTo::Other, &mut fields), Ok(Status::Partial));
/// }
/// let mut fields = [EMPTY_HEADER; 4];
/// let r = parser.parse(raw, &Limits::default(), ResponseTo::Other, &mut fields);
/// assert!(matches!(r, Ok(Status::Complete(resp)) if resp.body == ResponseBody::None));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct ResponseParser {
    /// Every LF before this index has been checked.
    scanned: usize,
    /// The status line's LF has been seen, and the line checked.
    line_done: bool,
}

impl ResponseParser {
    /// A parser at the start of a response head.
    ///
    /// ```
    /// # use wired_parser::*;
    /// let mut fields = [EMPTY_HEADER; 4];
    /// let r = ResponseParser::new().parse(b"", &Limits::default(), ResponseTo::Other, &mut fields);
    /// assert_eq!(r, Ok(Status::Partial));
    /// ```
    pub fn new() -> Self {
        ResponseParser::default()
    }

    /// Forget the last head, ready for the next one.
    ///
    /// ```
    /// # use wired_parser::*;
    /// let mut parser = ResponseParser::new();
    /// let mut fields = [EMPTY_HEADER; 4];
    /// assert_eq!(parser.parse(b"HTTP/1.1 2", &Limits::default(), ResponseTo::Other, &mut fields), Ok(Status::Partial));
    /// parser.reset(); // a new head starts
    /// let raw = b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n";
    /// let r = parser.parse(raw, &Limits::default(), ResponseTo::Other, &mut fields);
    /// assert!(matches!(r, Ok(Status::Complete(resp)) if resp.status == 500));
    /// ```
    pub fn reset(&mut self) {
        *self = ResponseParser::default();
    }

    /// Look at `buf` (all the bytes of this response read so far, starting
    /// at its first byte) and say whether the head is complete. `to` says
    /// what the request was, which the body's framing depends on.
    ///
    /// `fields` is where header fields are written; at most
    /// `limits.max_headers` of its slots are used.
    ///
    /// ```
    /// # use wired_parser::*;
    /// let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    /// let mut fields = [EMPTY_HEADER; 4];
    /// // The same head answers a HEAD request: the length describes a body not sent.
    /// let r = ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Head, &mut fields);
    /// assert!(matches!(r, Ok(Status::Complete(resp)) if resp.body == ResponseBody::None && resp.keep_alive));
    /// ```
    pub fn parse<'b, 'h>(
        &mut self,
        buf: &'b [u8],
        limits: &Limits,
        to: ResponseTo,
        fields: &'h mut [Header<'b>],
    ) -> Result<Status<Response<'b, 'h>>, ResponseError> {
        let Some(end) = self.find_end(buf, limits)? else {
            return Ok(Status::Partial);
        };
        let head = buf.get(..end).unwrap_or_default();
        let max = limits.max_headers.min(fields.len());
        let mut parsed = httparse::Response::new(fields.get_mut(..max).unwrap_or_default());
        match parsed.parse(head) {
            Ok(httparse::Status::Complete(n)) if n == head.len() => {}
            // The scan found the blank line, so httparse cannot want more
            // or stop elsewhere; refusing is the safe answer if it does.
            Ok(_) => return Err(ResponseError::StatusLine),
            Err(e) => return Err(diagnose(head, e)),
        }
        // The scan has checked the status line already; read its values.
        let (version, status, reason) = status_line(head)?;
        let headers: &'h [Header<'b>] = parsed.headers;
        let (body, keep_alive, upgrade) = read_fields(headers, version, status, to)?;
        Ok(Status::Complete(Response { version, status, reason, headers, head_len: end, body, keep_alive, upgrade }))
    }

    /// Find the end of the head line by line, remembering progress between
    /// calls, and check the status line as soon as its LF arrives.
    ///
    /// As on the request side, nothing past the limit is looked at, so the
    /// answer is the same however the bytes are cut.
    fn find_end(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, ResponseError> {
        let scan_end = buf.len().min(limits.max_head_bytes);
        if !self.line_done {
            // An HTTP/0.9 body or an HTTP/2 preface is refused at its first
            // byte, not after the head limit's worth of waiting.
            check_version_prefix(buf.get(..scan_end.min(VERSIONS[0].len())).unwrap_or_default())?;
        }
        let from = self.scanned;
        let tail = buf.get(from..scan_end).unwrap_or_default();
        for i in memchr_iter(b'\n', tail) {
            let lf = from + i;
            // RFC 9112 §2.2: lines end in CRLF; a bare LF is something a
            // recipient MAY accept, wired does not: two parsers that disagree
            // about line ends are a response-splitting door.
            if lf == 0 || buf.get(lf - 1) != Some(&b'\r') {
                return Err(ResponseError::BareLf);
            }
            if !self.line_done {
                self.line_done = true;
                status_line(buf.get(..=lf).unwrap_or_default())?;
            }
            if lf >= 3 && buf.get(lf - 3..=lf) == Some(b"\r\n\r\n") {
                return Ok(Some(lf + 1));
            }
        }
        self.scanned = scan_end.max(from);
        // A flood of header bytes is refused once it passes the limit.
        if buf.len() > limits.max_head_bytes {
            return Err(ResponseError::HeadTooLarge);
        }
        Ok(None)
    }
}

/// The two versions a status line may start with, followed by their SP.
const VERSIONS: [&[u8]; 2] = [b"HTTP/1.1 ", b"HTTP/1.0 "];

/// Refuse `start` (the first bytes of a response) as soon as it cannot begin
/// `HTTP/1.0 ` or `HTTP/1.1 `. The first byte that differs decides the
/// error, so it is the same however many bytes have arrived.
fn check_version_prefix(start: &[u8]) -> Result<(), ResponseError> {
    // Where `start` first differs from the version it matches longest.
    let mut at = 0;
    for version in VERSIONS {
        match start.iter().zip(version).position(|(a, b)| a != b) {
            None => return Ok(()),
            Some(i) => at = at.max(i),
        }
    }
    // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT. A well-formed
    // version other than 1.0 and 1.1 (HTTP/2, HTTP/1.2) is named apart from
    // bytes that are not a status line at all (HTTP/0.9 has none).
    let byte = start.get(at).copied().unwrap_or_default();
    Err(match at {
        5 | 7 if byte.is_ascii_digit() => ResponseError::Version,
        _ => ResponseError::StatusLine,
    })
}

/// Check a status line, CRLF included, whose first nine bytes
/// [`check_version_prefix`] accepted: `HTTP-version SP 3DIGIT SP
/// [ reason-phrase ]` (RFC 9112 §4).
///
/// The SP before the reason is required, as the grammar says, though
/// httparse (and nginx) accept `HTTP/1.1 200` alone.
fn status_line(line: &[u8]) -> Result<(Version, u16, &[u8]), ResponseError> {
    let Some([b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor @ (b'0' | b'1'), b' ', d1, d2, d3, b' ', rest @ ..]) =
        line.get(..memchr::memchr(b'\n', line).map_or(0, |lf| lf + 1))
    else {
        return Err(ResponseError::StatusLine);
    };
    let version = if *minor == b'1' { Version::Http11 } else { Version::Http10 };
    if ![d1, d2, d3].iter().all(|d| d.is_ascii_digit()) {
        return Err(ResponseError::StatusLine);
    }
    let status = [d1, d2, d3].iter().fold(0u16, |n, d| n * 10 + u16::from(**d - b'0'));
    // RFC 9110 §15: status codes are 100 to 599; anything else is not HTTP.
    if !(100..=599).contains(&status) {
        return Err(ResponseError::Status);
    }
    let reason = rest.strip_suffix(b"\r\n").unwrap_or(rest);
    // RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
    for &b in reason {
        match b {
            b'\t' | b' '..=b'~' | 0x80.. => {}
            b'\r' => return Err(ResponseError::BareCr),
            _ => return Err(ResponseError::StatusLine),
        }
    }
    Ok((version, status, reason))
}

/// Read the fields a proxy relies on, once, and settle framing and
/// persistence: `(body, keep_alive, upgrade)`.
fn read_fields<'b>(
    headers: &[Header<'b>],
    version: Version,
    status: u16,
    to: ResponseTo,
) -> Result<(ResponseBody, bool, Option<&'b [u8]>), ResponseError> {
    let mut framing = Framing::default();
    let mut options = ConnectionOptions::default();
    let mut upgrade = None;
    for field in headers {
        let name = field.name.as_bytes();
        match name.first().map_or(0, |b| b | 0x20) {
            b'c' if name_is(name, b"connection") => options.add(field.value),
            b'c' if name_is(name, b"content-length") => framing.content_length(field.value).map_err(shared)?,
            b't' if name_is(name, b"transfer-encoding") => framing.transfer_encoding(field.value).map_err(shared)?,
            b'u' if name_is(name, b"upgrade") => upgrade = Some(field.value),
            _ => {}
        }
    }
    let delimited = framing.is_delimited();
    // The framing fields are checked even where they cannot delimit a body
    // (HEAD, 204, 304): Content-Length is forwarded, and a recipient further
    // on may read it. RFC 9112 §6.1: Transfer-Encoding with Content-Length
    // "ought to be handled as an error", and a proxy that forwarded it would
    // hand the next recipient the same ambiguity. Transfer-Encoding in
    // HTTP/1.0 is faulty framing (§6.1). Any coding but a single, final
    // `chunked` is refused (as nginx does) rather than read until close as
    // §6.3 rule 4 allows: wired can remove no other coding, and forwarding
    // a transfer-coded body without its Transfer-Encoding would corrupt it.
    let framed = framing.finish(version).map_err(shared)?;
    let body = match (status, to) {
        // RFC 9110 §15.2.2: the server MUST send Upgrade with 101; without
        // it nobody knows what the tunnel speaks.
        (101, _) if upgrade.is_none() => return Err(ResponseError::SwitchWithoutUpgrade),
        (101, _) => ResponseBody::Tunnel,
        // RFC 9112 §6.3 rule 2: a 2xx to CONNECT is a tunnel from the blank
        // line on; a 204 too (RFC 9110 §9.3.6: "any 2xx"), though rule 1
        // also says it has no body.
        (200..=299, ResponseTo::Connect) => ResponseBody::Tunnel,
        // Rule 1: no body after HEAD, 1xx, 204 or 304.
        (_, ResponseTo::Head) | (100..=199 | 204 | 304, _) => ResponseBody::None,
        // Rule 8: no length and not chunked: the body ends at close.
        _ if !delimited => ResponseBody::UntilClose,
        // Rules 4 and 6.
        _ => match framed {
            Body::None => ResponseBody::None,
            Body::Length(n) => ResponseBody::Length(n),
            Body::Chunked => ResponseBody::Chunked,
        },
    };
    let keep_alive = match body {
        // RFC 9112 §9.3: the connection persists unless closing it is what
        // ends the body, or it stops carrying HTTP.
        ResponseBody::UntilClose | ResponseBody::Tunnel => false,
        _ => options.persistent(version),
    };
    Ok((body, keep_alive, upgrade.filter(|_| status == 101)))
}

/// Turn httparse's coarse error into the precise reason, looking at the
/// bytes again; only on the error path. The scan has refused bare LFs and
/// checked the status line already, so what is left is in the fields.
fn diagnose(head: &[u8], e: httparse::Error) -> ResponseError {
    // RFC 9112 §2.2: a CR anywhere must be followed by LF.
    if memchr_iter(b'\r', head).any(|i| head.get(i + 1) != Some(&b'\n')) {
        return ResponseError::BareCr;
    }
    match e {
        httparse::Error::HeaderName => {
            let fields = memchr::memchr(b'\n', head).and_then(|lf| head.get(lf + 1..)).unwrap_or_default();
            shared(field_name_error(fields))
        }
        httparse::Error::HeaderValue => ResponseError::FieldValue,
        httparse::Error::TooManyHeaders => ResponseError::TooManyFields,
        _ => ResponseError::StatusLine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first differing byte decides, so a prefix refused early is
    /// refused for the same reason however much more arrives.
    #[test]
    fn version_prefix_is_decided_by_its_first_wrong_byte() {
        let cases: &[(&[u8], Result<(), ResponseError>)] = &[
            (b"", Ok(())),
            (b"HTTP/1.", Ok(())),
            (b"HTTP/1.1 ", Ok(())),
            (b"HTTP/1.0 ", Ok(())),
            (b"<html>", Err(ResponseError::StatusLine)),
            (b"http/1.1 ", Err(ResponseError::StatusLine)),
            (b"HTTP/2", Err(ResponseError::Version)),
            (b"HTTP/2 200", Err(ResponseError::Version)),
            (b"HTTP/0.9", Err(ResponseError::Version)),
            (b"HTTP/1.2", Err(ResponseError::Version)),
            (b"HTTP/1.x", Err(ResponseError::StatusLine)),
            (b"HTTP/11.", Err(ResponseError::StatusLine)),
            (b"HTTP/1.1\t", Err(ResponseError::StatusLine)),
        ];
        for (start, want) in cases {
            assert_eq!(check_version_prefix(start), *want, "{:?}", String::from_utf8_lossy(start));
        }
    }
}
