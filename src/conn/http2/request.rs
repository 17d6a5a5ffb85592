//! A stream's request: its fields checked (RFC 9113 §8.2–8.3), handed to
//! the handlers as a `wired_parser::Request`, and the answer's head encoded.

use wired_parser::http2::hpack::Field;
use wired_parser::http2::{ErrorCode, data_header, encode_field_block};
use wired_parser::{Body as ReqBody, EMPTY_HEADER, Header, Method, Request, Version};

use super::secondary::Secondary;
use super::*;
use crate::conn::Conn;
use crate::handler::Action;
use crate::services::Services;

impl Conn {
    /// Answer a request.
    pub(super) fn http2_request(&mut self, svc: &mut Services, h2: &mut Http2, id: u32, fields: &FieldList) {
        let end_stream = h2.block_end_stream;
        // Room for the request's fields: on the stack for the usual few,
        // a `Vec` for more. Not `HEADER_SLOTS` (128) on the stack every
        // time: filling those 4 KiB was 5% of a small request's CPU.
        let mut few = [EMPTY_HEADER; FEW_FIELDS];
        let mut many = Vec::new();
        let headers: &mut [Header<'_>] = if fields.len() <= FEW_FIELDS {
            &mut few
        } else {
            many.resize(fields.len().min(crate::conn::HEADER_SLOTS), EMPTY_HEADER);
            &mut many
        };
        let req = match request_view(fields, headers, end_stream) {
            Ok(r) => r,
            Err(why) => {
                // §8.1.1: a malformed request is a stream error.
                self.trace_fmt(svc, format_args!("h2: stream {id} malformed: {why}"));
                h2.reset(id, ErrorCode::ProtocolError);
                return;
            }
        };
        self.requests += 1;
        let expected = match req.body {
            ReqBody::Length(n) => Some(n),
            _ => None,
        };
        let stream = Stream {
            window: h2.peer_initial_window,
            body: None,
            secondary: None,
            draining: None,
            recv_window: i64::from(wired_parser::http2::settings::DEFAULT_WINDOW_SIZE),
            queued: false,
            remote_closed: end_stream,
            expected,
            received: 0,
        };
        if svc.trace.is_some() {
            self.trace_fmt(svc, format_args!("h2: stream {id}: {} {}", req.method.as_str(), req.target));
            self.trace_h2_fields(svc, h2, fields);
        }
        let head_only = req.method == Method::Head;
        let (reply, applied) = if req.method == Method::Connect {
            // No tunnels here (RFC 9113 §8.5).
            (svc.handlers.error_reply(405), None)
        } else if let ReqBody::Length(n) = req.body
            && n > svc.config.max_body_bytes
        {
            // RFC 9110 §15.5.14.
            (svc.handlers.error_reply(413), None)
        } else if svc.config.redirect_https
            && self.io.session().is_none()
            && let Some(port) = svc.config.listen_tls.first().map(|a| a.port())
        {
            (svc.handlers.redirect_https(&req, self.local, port), None)
        } else {
            let d = svc.handlers.dispatch(&req, svc.clock.secs(), self.peer, self.local);
            // The location's own body limit, as over HTTP/1.1 (RFC 9110 §15.5.14).
            let limit = d.applied.as_ref().and_then(|a| a.max_body_bytes());
            match d.action {
                _ if limit.is_some_and(|l| matches!(req.body, ReqBody::Length(n) if n > l)) => {
                    (svc.handlers.error_reply(413), d.applied)
                }
                Action::Reply(reply) => (reply, d.applied),
                _ => {
                    // A program or an upstream answers: through a secondary
                    // HTTP/1.1 connection (`secondary.rs`).
                    self.trace_fmt(
                        svc,
                        format_args!("h2: stream {id}: for a program or an upstream: a secondary HTTP/1.1 connection"),
                    );
                    let mut stream = stream;
                    stream.secondary = Some(Secondary::new(self, &req, end_stream, svc.now));
                    h2.streams.insert(id, stream);
                    return;
                }
            }
        };
        let status = reply.status;
        let no_body = crate::response::bodiless(status, head_only);
        let len = reply.body.len();
        if reply.body.reads_disk() && self.io.zero_copy() {
            // A large file (or parts of one), read from disk, on cleartext: the send queue
            // sized to the path, as for HTTP/1.1 (`Conn::size_send_buffer`).
            // h2c-10m with two workers: 384–425 req/s and 2.3–2.6 ms of CPU
            // each, against 286–335 and 2.9–3.4 ms without (h2o 387–443).
            // Under TLS, whose writes are larger, it measured no better.
            self.size_send_buffer(svc);
        }
        self.log_access(svc, &req, status, if no_body { 0 } else { len });
        // The fields an HTTP/1.1 response would carry, as HPACK wants them:
        // lower-case names (§8.2), no connection-specific ones (§8.2.2).
        let mut lines = std::mem::take(&mut svc.head);
        lines.clear();
        crate::conn::write::response_fields(svc, applied.as_deref(), self.io.session().is_some(), status, &mut lines);
        let ends = no_body || len == 0;
        // A head that repeats the last one, at the same encoder epoch, is
        // the last block again byte for byte, and sending it again moves
        // neither table (`hpack::Encoder::epoch`): the same resource asked
        // for again and again on one connection (a poll, a load test).
        // Encoding it took a tenth of a small response's CPU.
        let epoch = h2.hpack_out.epoch();
        let last = &h2.last_head;
        let repeat =
            last.kept && last.epoch == epoch && last.status == status && last.length == len && last.lines == lines;
        if repeat {
            encode_field_block(&mut h2.out, id, &h2.last_head.block, ends, h2.peer_max_frame);
        } else {
            h2.last_head.lines.clone_from(&lines);
            encode_head(h2, &mut lines, status, len);
            let last = &mut h2.last_head;
            last.kept = h2.hpack_out.epoch() == epoch;
            if last.kept {
                (last.epoch, last.status, last.length) = (epoch, status, len);
                last.block.clone_from(&h2.block_out);
            }
            encode_field_block(&mut h2.out, id, &h2.block_out, ends, h2.peer_max_frame);
        }
        svc.head = lines;
        if svc.trace.is_some() {
            let (size, again) = if repeat {
                (h2.last_head.block.len(), ", the last response's again")
            } else {
                (h2.block_out.len(), "")
            };
            self.trace_fmt(svc, format_args!("h2: stream {id}: {status}, HEADERS of {size} bytes (HPACK{again})"));
        }
        let mut stream = stream;
        if ends && stream.remote_closed {
            // Both sides are done: closed (§5.1), never kept.
            h2.answered += 1;
            return;
        }
        if ends {
            h2.streams.insert(id, stream);
            h2.response_done(id);
            return;
        }
        // A small body in memory, for a request already complete, goes
        // in one DATA frame right behind its HEADERS when the windows have
        // room for it (§6.9.1): the stream is closed here (§5.1), and never
        // waits in `ready` or takes a place in `streams`. Queued, a small
        // response paid for an insert, a turn, two searches and a removal.
        // Only while less than a write's worth is queued: the rest of a
        // burst waits its turn, and the output is written in the pieces
        // `write_unit` chose. (Up to `HIGH_WATER` instead, a burst of 100
        // small responses took 0.79 µs of CPU each, against 0.66.)
        if stream.remote_closed
            && let Some(bytes) = reply.body.in_memory()
            && bytes.len() <= h2.data_frame_max()
            && (bytes.len() as i64) <= stream.window.min(h2.send_window)
            && h2.pending() < h2.write_unit
        {
            h2.out.extend_from_slice(&data_header(id, bytes.len() as u32, true));
            h2.out.extend_from_slice(bytes);
            h2.send_window -= bytes.len() as i64;
            h2.answered += 1;
            return;
        }
        stream.body = Some(Cursor::new(reply.body));
        stream.queued = true;
        h2.streams.insert(id, stream);
        h2.ready.push_back(id);
    }
}

/// Encodes a response head, given as the field lines an HTTP/1.1 response
/// would carry, into `h2.block_out` as HPACK wants it: `:status` first,
/// lower-case names (§8.2), no connection-specific fields (§8.2.2), and a
/// content-length.
fn encode_head(h2: &mut Http2, lines: &mut [u8], status: u16, len: u64) {
    // §8.2: field names in lower case; the lines are our own scratch,
    // so each name is lowered where it lies, with no copy, in the same
    // one pass that finds where each name and value lie (`memchr` for
    // a line's end; a byte-by-byte walk through every value was 4% of
    // a small request's CPU, and a second pass to split the lines 3%).
    let mut spans = std::mem::take(&mut h2.spans);
    spans.clear();
    let mut at = 0;
    while let Some(rest) = lines.get_mut(at..).filter(|r| !r.is_empty()) {
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let line = rest.get_mut(..end).unwrap_or_default();
        let text = line.strip_suffix(b"\n").and_then(|l| l.strip_suffix(b"\r")).map_or(0, <[u8]>::len);
        if let Some(colon) = line.get(..text).and_then(|l| l.iter().position(|&b| b == b':')) {
            line.get_mut(..colon).unwrap_or_default().make_ascii_lowercase();
            let value = line.get(colon + 1..text).unwrap_or_default();
            let start = at + colon + 1 + (value.len() - value.trim_ascii_start().len());
            spans.push((at, at + colon, start, start + value.trim_ascii().len()));
        }
        at += end;
    }
    let mut status_digits = [0u8; 3];
    let mut length_digits = [0u8; 20];
    let status_text = digits(u64::from(status), &mut status_digits);
    let length_text = digits(len, &mut length_digits);
    let lines = &*lines;
    let fields = spans
        .iter()
        .map(|&(n, n_end, v, v_end)| (lines.get(n..n_end).unwrap_or_default(), lines.get(v..v_end).unwrap_or_default()))
        .filter(|(name, _)| !connection_specific(name));
    // RFC 9110 §8.6, as for HTTP/1.1: a length on every response with content.
    let length = (!(status < 200 || status == 204 || status == 304)).then_some((&b"content-length"[..], length_text));
    let list = std::iter::once((&b":status"[..], status_text)).chain(fields).chain(length);
    h2.block_out.clear();
    h2.hpack_out.encode(list, &mut h2.block_out);
    h2.spans = spans;
}

/// How many request fields fit the stack array `http2_request` starts
/// with: more than browsers send (15 to 20, pseudo-headers included).
const FEW_FIELDS: usize = 32;

/// A field block's decoded fields, their bytes in one buffer kept from
/// block to block. HPACK lends each field only for the length of a callback
/// (`hpack::Decoder::decode`); a name and a value copied into two `Vec`s
/// of their own cost four calls to the allocator per field, a tenth of
/// the CPU a small request took.
#[derive(Debug, Default)]
pub(super) struct FieldList {
    bytes: Vec<u8>,
    fields: Vec<FieldAt>,
}

/// Where one field lies in `FieldList::bytes`: its name from `start` to
/// `name_end`, its value from there to `end`.
#[derive(Debug, Clone, Copy)]
struct FieldAt {
    start: usize,
    name_end: usize,
    end: usize,
    never_indexed: bool,
}

impl FieldList {
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.fields.len()
    }

    pub(super) fn push(&mut self, field: Field<'_>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(field.name);
        let name_end = self.bytes.len();
        self.bytes.extend_from_slice(field.value);
        let end = self.bytes.len();
        self.fields.push(FieldAt { start, name_end, end, never_indexed: field.never_indexed });
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = Field<'_>> {
        self.fields.iter().map(|at| Field {
            name: self.bytes.get(at.start..at.name_end).unwrap_or_default(),
            value: self.bytes.get(at.name_end..at.end).unwrap_or_default(),
            never_indexed: at.never_indexed,
        })
    }
}

/// Check a request's fields by RFC 9113 §8.2–8.3 and make the request
/// view the handlers take. `end_stream`: the HEADERS frame ended the
/// stream (no body).
pub fn request_view<'f, 'h>(
    fields: &'f FieldList,
    headers: &'h mut [Header<'f>],
    end_stream: bool,
) -> Result<Request<'f, 'h>, &'static str> {
    let (mut method, mut scheme, mut path, mut authority) = (None, None, None, None);
    let mut regular = false;
    let mut count = 0;
    let mut host = None;
    let mut length = None;
    for f in fields.iter() {
        let (name, value) = (f.name, f.value);
        check_value(value)?;
        if let Some(pseudo) = name.strip_prefix(b":") {
            // §8.3: pseudo-headers first, each once, only the request ones.
            if regular {
                return Err("a pseudo-header after a regular field (RFC 9113 §8.3)");
            }
            let slot = match pseudo {
                b"method" => &mut method,
                b"scheme" => &mut scheme,
                b"path" => &mut path,
                b"authority" => &mut authority,
                _ => return Err("an unknown or response pseudo-header (RFC 9113 §8.3)"),
            };
            if slot.replace(value).is_some() {
                return Err("a pseudo-header twice (RFC 9113 §8.3)");
            }
            continue;
        }
        regular = true;
        check_regular(name, value)?;
        if name == b"host" {
            host = Some(value);
        }
        if name == b"content-length" {
            let n = std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok());
            match (n, length) {
                (Some(n), None) => length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => return Err("an invalid content-length (RFC 9110 §8.6)"),
            }
        }
        let name = std::str::from_utf8(name).map_err(|_| "a field name not a token")?;
        let Some(slot) = headers.get_mut(count) else { return Err("too many fields") };
        *slot = Header { name, value };
        count += 1;
    }
    let method = method.ok_or("no :method (RFC 9113 §8.3.1)")?;
    let method = Method::from_token(std::str::from_utf8(method).map_err(|_| "a :method not a token")?);
    let target = if method == Method::Connect {
        // §8.5: CONNECT names only an authority.
        if scheme.is_some() || path.is_some() {
            return Err("CONNECT with :scheme or :path (RFC 9113 §8.5)");
        }
        authority.ok_or("CONNECT without :authority (RFC 9113 §8.5)")?
    } else {
        if scheme.is_none() {
            return Err("no :scheme (RFC 9113 §8.3.1)");
        }
        let p = path.ok_or("no :path (RFC 9113 §8.3.1)")?;
        if p.is_empty() {
            return Err("an empty :path (RFC 9113 §8.3.1)");
        }
        p
    };
    if !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err("a :path with bytes outside VCHAR (RFC 9113 §8.3.1)");
    }
    let target = std::str::from_utf8(target).map_err(|_| "a :path not ASCII")?;
    // §8.3.1: :authority and Host must agree when both are sent.
    if let (Some(a), Some(h)) = (authority, host)
        && !a.eq_ignore_ascii_case(h)
    {
        return Err(":authority and Host differ (RFC 9113 §8.3.1)");
    }
    if end_stream && length.is_some_and(|n| n != 0) {
        return Err("a content-length but no DATA (RFC 9113 §8.1.1)");
    }
    let body = if end_stream {
        ReqBody::None
    } else {
        match length {
            Some(n) => ReqBody::Length(n),
            // A body whose length is known only at its end, like chunked.
            None => ReqBody::Chunked,
        }
    };
    let headers: &'h [Header<'f>] = headers;
    let headers = headers.get(..count).unwrap_or_default();
    Ok(Request {
        method,
        target,
        version: Version::Http2,
        headers,
        head_len: 0,
        body,
        keep_alive: true,
        expect_continue: false,
        upgrade: None,
        host: authority.or(host),
    })
}

/// Check a trailer section (§8.1): it ends the stream, holds no
/// pseudo-header, obeys §8.2 like any field, and the DATA before it add up
/// to the request's content-length (§8.1.1).
pub(super) fn trailers(fields: &FieldList, end_stream: bool, st: &Stream) -> Result<(), &'static str> {
    if !end_stream {
        return Err("trailers without END_STREAM (RFC 9113 §8.1)");
    }
    for f in fields.iter() {
        check_value(f.value)?;
        if f.name.starts_with(b":") {
            return Err("a pseudo-header in trailers (RFC 9113 §8.1)");
        }
        check_regular(f.name, f.value)?;
    }
    if st.expected.is_some_and(|e| e != st.received) {
        return Err("content-length differs from the DATA received (RFC 9113 §8.1.1)");
    }
    Ok(())
}

/// §8.2.1: no NUL, CR or LF anywhere in a value, nor whitespace at its ends.
fn check_value(value: &[u8]) -> Result<(), &'static str> {
    if has_nul_cr_lf(value)
        || value.first().is_some_and(|b| *b == b' ' || *b == b'\t')
        || value.last().is_some_and(|b| *b == b' ' || *b == b'\t')
    {
        return Err("a field value with NUL, CR, LF or surrounding whitespace (RFC 9113 §8.2.1)");
    }
    Ok(())
}

/// Whether a value holds NUL, CR or LF, eight bytes at a time. In a word
/// `w`, `(w - 0x0101..01) & !w & 0x8080..80` is non-zero exactly when some
/// byte of `w` is zero, and XOR with a byte repeated eight times zeroes the
/// places that held that byte. A byte-by-byte walk over every value of
/// every request was 3% of a small request's CPU, and `memchr3`, whose
/// setup outweighs values this short, 4%.
fn has_nul_cr_lf(value: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let any_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let bad = |w: u64| any_zero(w) | any_zero(w ^ (ONES * u64::from(b'\r'))) | any_zero(w ^ (ONES * u64::from(b'\n')));
    let mut words = value.chunks_exact(8);
    let mut found = false;
    for word in &mut words {
        found |= bad(u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    // The last few bytes, padded with spaces.
    let mut tail = [b' '; 8];
    let rest = words.remainder();
    tail.get_mut(..rest.len()).unwrap_or_default().copy_from_slice(rest);
    found | bad(u64::from_le_bytes(tail))
}

/// A regular (not pseudo) field's name, by §8.2 and §8.2.2.
fn check_regular(name: &[u8], value: &[u8]) -> Result<(), &'static str> {
    // §8.2: names are lower case tokens.
    if name.is_empty() || !name.iter().all(|&b| is_token(b) && !b.is_ascii_uppercase()) {
        return Err("a field name not a lower-case token (RFC 9113 §8.2)");
    }
    // §8.2.2: connection-specific fields are malformed; TE only "trailers".
    if connection_specific(name) || (name == b"te" && value != b"trailers") {
        return Err("a connection-specific field (RFC 9113 §8.2.2)");
    }
    Ok(())
}

/// §8.2.2: the fields HTTP/1.1 uses for its connection, which HTTP/2 does
/// not carry (a request with one is malformed; a response loses them on
/// the way to HTTP/2). Any case, for HTTP/1.1 heads.
pub(super) fn connection_specific(name: &[u8]) -> bool {
    [&b"connection"[..], b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

/// RFC 9110 §5.6.2's tchar: a table, as it is asked of every byte of
/// every field name of every request.
fn is_token(b: u8) -> bool {
    TCHAR.get(usize::from(b)).copied().unwrap_or(false)
}

const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    table
};

/// `n` in decimal, in `buf` (a status, a length).
pub(super) fn digits(mut n: u64, buf: &mut [u8]) -> &[u8] {
    let mut i = buf.len();
    while let Some(slot) = i.checked_sub(1).and_then(|j| buf.get_mut(j)) {
        i -= 1;
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_digits() {
        let mut buf = [0u8; 20];
        assert_eq!(super::digits(0, &mut buf), b"0");
        assert_eq!(super::digits(200, &mut buf), b"200");
        assert_eq!(super::digits(u64::MAX, &mut buf), b"18446744073709551615");
        let mut three = [0u8; 3];
        assert_eq!(super::digits(404, &mut three), b"404");
    }

    /// Every place and every byte value, against the plain definition.
    #[test]
    fn nul_cr_lf_found_wherever_they_are() {
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut value = vec![b'x'; len];
                    value[at] = b;
                    let expected = b == 0 || b == b'\r' || b == b'\n';
                    assert_eq!(super::has_nul_cr_lf(&value), expected, "{b:#x} at {at} of {len}");
                }
            }
            assert!(!super::has_nul_cr_lf(&vec![0xff; len]));
        }
    }
}
