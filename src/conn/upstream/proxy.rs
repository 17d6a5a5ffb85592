//! The reverse proxy on the wire (RFC 9110 §7.6, RFC 9112): the request
//! head written for the upstream, and the upstream's response head and
//! body read and framed again for the client.
//!
//! Nothing of the upstream's framing reaches the client as it came: the
//! head is parsed and checked (`wired_parser::response`), the body is
//! counted (Content-Length), decoded (chunked) or read to the close, and
//! the client gets a head of ours with framing of ours. So a broken
//! upstream — a body longer than it said, two lengths, a header with a CR
//! in it — can cost its own exchange, but never put bytes in front of the
//! next response on the client's connection.

use std::net::SocketAddr;

use wired_parser::response::{ResponseBody, ResponseParser, ResponseTo};
use wired_parser::{ChunkedDecoder, EMPTY_HEADER, Request, Status, Version};

use super::{Exchange, Fail};
use crate::buffer::Buffer;
use crate::config::ProxyHost;
use crate::conn::gateway::{hex_line, push_chunk};
use crate::conn::{Conn, Framing};
use crate::handler::compress;
use crate::handler::upstream::ProxyTarget;
use crate::services::Services;

/// Header slots for an upstream's response head.
const RESPONSE_FIELDS: usize = 128;

/// Our name in `Via` (RFC 9110 §7.6.3: received-protocol received-by).
const VIA: &[u8] = b"1.1 wired";

/// The HTTP side of an exchange.
#[derive(Debug)]
pub struct Http {
    parser: ResponseParser,
    /// Where the response is.
    state: Resp,
    /// The request was HEAD (the response has no body, whatever it says).
    to: ResponseTo,
    /// The request body goes upstream chunked.
    pub chunked_body: bool,
}

/// Where the upstream's response is.
#[derive(Debug)]
enum Resp {
    /// Reading heads (interim ones forwarded).
    Head,
    /// This many body bytes left.
    Length(u64),
    /// A chunked body being decoded.
    Chunked(Box<ChunkedDecoder>),
    /// A body that ends when the upstream closes.
    UntilClose,
    /// Complete.
    Done,
}

impl Http {
    /// Before the response.
    pub fn new(head_request: bool, chunked_body: bool) -> Http {
        let to = if head_request { ResponseTo::Head } else { ResponseTo::Other };
        Http { parser: ResponseParser::new(), state: Resp::Head, to, chunked_body }
    }

    /// Start over on a new connection.
    pub fn restart(&mut self) {
        self.parser.reset();
        self.state = Resp::Head;
    }
}

/// The request head for the upstream.
///
/// The request line carries the rewritten target; the client's fields
/// follow except the hop-by-hop ones (RFC 9110 §7.6.1: Connection and the
/// fields it names, Keep-Alive, Proxy-Connection, TE, Trailer,
/// Transfer-Encoding, Upgrade), its framing (ours replaces it) and the
/// forwarding fields, which are written afresh: `X-Forwarded-For` with the
/// client's address appended, `X-Forwarded-Proto`, `X-Forwarded-Host`,
/// `Forwarded` (RFC 7239 §4) and `Via` (RFC 9110 §7.6.3) appended to.
pub fn request_head(
    svc: &Services,
    req: &Request<'_, '_>,
    target: &ProxyTarget,
    peer: SocketAddr,
    https: bool,
    chunked: bool,
    upgrade: Option<&[u8]>,
) -> Vec<u8> {
    let mut h = Vec::with_capacity(512 + req.head_len);
    h.extend_from_slice(req.method.as_str().as_bytes());
    h.push(b' ');
    h.extend_from_slice(&target.target);
    // RFC 9110 §7.6.3 (and §2.5): we forward as HTTP/1.1, whatever the client spoke.
    h.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    let client_host = req
        .target
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest).as_bytes())
        .or(req.host)
        .filter(|h| !h.is_empty());
    let authority = svc.config.proxy.get(target.route).map_or("localhost", |r| r.authority.as_str());
    match &svc.config.proxy_host {
        ProxyHost::Pass => h.extend_from_slice(client_host.unwrap_or(authority.as_bytes())),
        ProxyHost::Upstream => h.extend_from_slice(authority.as_bytes()),
        ProxyHost::Fixed(v) => h.extend_from_slice(v.as_bytes()),
    }
    h.extend_from_slice(b"\r\n");
    let mut xff: Vec<u8> = Vec::new();
    let mut forwarded: Vec<u8> = Vec::new();
    let mut via: Vec<u8> = Vec::new();
    for f in req.headers {
        let name = f.name;
        if req.is_hop_by_hop(name)
            || name.eq_ignore_ascii_case("host")
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("x-forwarded-proto")
            || name.eq_ignore_ascii_case("x-forwarded-host")
        {
            continue;
        }
        let list = if name.eq_ignore_ascii_case("x-forwarded-for") {
            &mut xff
        } else if name.eq_ignore_ascii_case("forwarded") {
            &mut forwarded
        } else if name.eq_ignore_ascii_case("via") {
            &mut via
        } else {
            h.extend_from_slice(name.as_bytes());
            h.extend_from_slice(b": ");
            h.extend_from_slice(f.value);
            h.extend_from_slice(b"\r\n");
            continue;
        };
        if !list.is_empty() {
            list.extend_from_slice(b", ");
        }
        list.extend_from_slice(f.value);
    }
    let ip = peer.ip().to_canonical();
    let proto: &[u8] = if https { b"https" } else { b"http" };
    append_field(&mut h, "X-Forwarded-For", &xff, ip.to_string().as_bytes());
    push_field(&mut h, "X-Forwarded-Proto", proto);
    if let Some(host) = client_host {
        push_field(&mut h, "X-Forwarded-Host", host);
    }
    // RFC 7239 §6: an IPv6 address is quoted and bracketed; a host with a
    // port is not a token, so it is quoted too (§4: value = token / quoted-string).
    let mut element = match ip {
        std::net::IpAddr::V4(v4) => format!("for={v4}").into_bytes(),
        std::net::IpAddr::V6(v6) => format!("for=\"[{v6}]\"").into_bytes(),
    };
    if let Some(host) = client_host {
        element.extend_from_slice(b";host=");
        if host.iter().all(|&b| b.is_ascii_alphanumeric() || b"-.".contains(&b)) {
            element.extend_from_slice(host);
        } else {
            element.push(b'"');
            element.extend(host.iter().filter(|&&b| b != b'"' && b != b'\\'));
            element.push(b'"');
        }
    }
    element.extend_from_slice(b";proto=");
    element.extend_from_slice(proto);
    append_field(&mut h, "Forwarded", &forwarded, &element);
    append_field(&mut h, "Via", &via, VIA);
    // RFC 9110 §7.8: Upgrade is hop-by-hop, so a proxy that passes an
    // upgrade on names it again, with the Connection option it needs.
    if let Some(protocols) = upgrade {
        push_field(&mut h, "Upgrade", protocols);
        h.extend_from_slice(b"Connection: upgrade\r\n");
    }
    // The body is framed afresh: the same length, or chunks of ours.
    match req.body {
        wired_parser::Body::Length(n) if n > 0 => {
            h.extend_from_slice(b"Content-Length: ");
            h.extend_from_slice(n.to_string().as_bytes());
            h.extend_from_slice(b"\r\n");
        }
        _ if chunked => h.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        _ => {}
    }
    h.extend_from_slice(b"\r\n");
    h
}

/// The protocols a request asks to switch to (RFC 9110 §7.8), if it does so
/// in a way that can be passed on: HTTP/1.1, `Upgrade` named in
/// `Connection`, and no body (the switch happens after the request, and a
/// body would stand between).
pub fn upgrade_asked<'b>(req: &Request<'b, '_>) -> Option<&'b [u8]> {
    if req.version != Version::Http11 || !matches!(req.body, wired_parser::Body::None | wired_parser::Body::Length(0)) {
        return None;
    }
    let upgrade = req.headers.iter().find(|h| h.name.eq_ignore_ascii_case("upgrade"))?;
    let named = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .any(|h| wired_parser::connection::has_token(h.value, b"upgrade"));
    named.then_some(upgrade.value)
}

fn push_field(h: &mut Vec<u8>, name: &str, value: &[u8]) {
    h.extend_from_slice(name.as_bytes());
    h.extend_from_slice(b": ");
    h.extend_from_slice(value);
    h.extend_from_slice(b"\r\n");
}

/// `name: earlier, ours` (or only ours).
fn append_field(h: &mut Vec<u8>, name: &str, earlier: &[u8], ours: &[u8]) {
    h.extend_from_slice(name.as_bytes());
    h.extend_from_slice(b": ");
    if !earlier.is_empty() {
        h.extend_from_slice(earlier);
        h.extend_from_slice(b", ");
    }
    h.extend_from_slice(ours);
    h.extend_from_slice(b"\r\n");
}

impl Conn {
    /// Handle the response bytes read so far.
    pub(super) fn proxy_response(
        &mut self,
        svc: &mut Services,
        ex: &mut Exchange,
        http: &mut Http,
        buf: &mut Buffer,
    ) -> Result<(), Fail> {
        loop {
            match &mut http.state {
                Resp::Head => {
                    if buf.is_empty() {
                        return Ok(());
                    }
                    let used = self.proxy_head(svc, ex, http, buf)?;
                    if used == 0 {
                        return Ok(());
                    }
                    buf.consume(used);
                }
                Resp::Length(left) => {
                    let n = (buf.len() as u64).min(*left) as usize;
                    let data = buf.bytes().get(..n).unwrap_or_default();
                    self.relay(svc, ex, data);
                    buf.consume(n);
                    *left -= n as u64;
                    if *left > 0 {
                        return Ok(());
                    }
                    http.state = Resp::Done;
                }
                Resp::Chunked(decoder) => {
                    if buf.is_empty() {
                        return Ok(());
                    }
                    let d = decoder
                        .decode(buf.bytes())
                        .map_err(|e| Fail::upstream(502, format!("the upstream's chunked body is malformed: {e}")))?;
                    let data = buf.bytes().get(d.data.clone()).unwrap_or_default();
                    self.relay(svc, ex, data);
                    buf.consume(d.consumed);
                    if d.done {
                        http.state = Resp::Done;
                    } else if d.consumed == 0 {
                        return Ok(());
                    }
                }
                Resp::UntilClose => {
                    self.relay(svc, ex, buf.bytes());
                    buf.clear();
                    return Ok(());
                }
                Resp::Done => {
                    self.proxy_body_end(svc, ex);
                    ex.response_done = true;
                    // Bytes after the end (a body longer than its length):
                    // the upstream is out of step, its connection is dropped.
                    if !buf.is_empty() {
                        log::warn!(
                            "upstream {}: {} bytes after the end of the response; dropping the connection",
                            svc.upstreams.name(ex.group),
                            buf.len()
                        );
                        ex.reusable = false;
                        buf.clear();
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Parse a response head from `buf`: forward an interim one, queue the
    /// client's head for the final one. Returns the bytes used (0: partial).
    fn proxy_head(
        &mut self,
        svc: &mut Services,
        ex: &mut Exchange,
        http: &mut Http,
        buf: &Buffer,
    ) -> Result<usize, Fail> {
        let mut fields = [EMPTY_HEADER; RESPONSE_FIELDS];
        let resp = match http.parser.parse(buf.bytes(), &svc.config.limits, http.to, &mut fields) {
            Ok(Status::Partial) => return Ok(0),
            Ok(Status::Complete(r)) => r,
            Err(e) => return Err(Fail::upstream(e.status(), format!("a malformed response: {}", e.reason()))),
        };
        http.parser.reset();
        self.trace_fmt(
            svc,
            format_args!(
                "upstream response: {}",
                String::from_utf8_lossy(buf.bytes().get(..resp.head_len).unwrap_or_default()).trim_end()
            ),
        );
        if resp.is_interim() {
            // RFC 9110 §15.2: 1xx go on to an HTTP/1.1 client (an HTTP/1.0
            // one cannot take them, §15.2); a 100 only to a client that
            // asked for it.
            let forward = ex.version == Version::Http11 && (resp.status != 100 || ex.expect_continue);
            if forward {
                let out = self.output.get_or_insert_with(|| svc.pool.get());
                let mut head =
                    format!("HTTP/1.1 {} {}\r\n", resp.status, crate::response::reason(resp.status)).into_bytes();
                for f in resp.end_to_end() {
                    head.extend_from_slice(f.name.as_bytes());
                    head.extend_from_slice(b": ");
                    head.extend_from_slice(f.value);
                    head.extend_from_slice(b"\r\n");
                }
                head.extend_from_slice(b"\r\n");
                if out.push(&head) {
                    self.trace_queued(svc, "interim response, forwarded", &head);
                }
                if resp.status == 100 {
                    ex.expect_continue = false;
                }
            }
            return Ok(resp.head_len);
        }
        if let (Some(protocol), true) = (resp.upgrade, ex.upgrade) {
            return Ok(self.start_tunnel(svc, ex, http, &resp, protocol));
        }
        if resp.upgrade.is_some() || resp.body == ResponseBody::Tunnel {
            // Upgrade was not passed on: a 101 is a broken answer.
            return Err(Fail::upstream(502, "a 101 Switching Protocols nobody asked for"));
        }
        ex.reusable = resp.keep_alive;
        // RFC 9112 §6.3: the client's framing, decided here.
        let framing = match resp.body {
            _ if resp.status == 204 || resp.status == 304 => Framing::None,
            ResponseBody::None if http.to == ResponseTo::Head => match content_length(&resp) {
                Some(n) => Framing::Length(n),
                None => Framing::None,
            },
            ResponseBody::None => Framing::Length(0),
            ResponseBody::Length(n) => Framing::Length(n),
            ResponseBody::Chunked | ResponseBody::UntilClose | ResponseBody::Tunnel => {
                if ex.version == Version::Http11 { Framing::Chunked } else { Framing::UntilClose }
            }
        };
        if framing == Framing::UntilClose {
            self.close_after = true;
        }
        http.state = match resp.body {
            ResponseBody::None | ResponseBody::Tunnel => Resp::Done,
            ResponseBody::Length(0) => Resp::Done,
            ResponseBody::Length(n) => Resp::Length(n),
            ResponseBody::Chunked => Resp::Chunked(Box::new(ChunkedDecoder::new(&svc.config.limits))),
            ResponseBody::UntilClose => Resp::UntilClose,
        };
        ex.out_chunked = framing == Framing::Chunked;
        ex.out_bodiless = ex.head_only || matches!(framing, Framing::None);
        // The fields the client gets: the end-to-end ones, without Date and
        // Server (ours are sent, as nginx does) and the framing (ours too);
        // Via gets our name (RFC 9110 §7.6.3).
        let fields_out = &mut svc.handlers.fields;
        fields_out.clear();
        let mut via = Vec::new();
        for f in resp.end_to_end() {
            let n = f.name;
            if n.eq_ignore_ascii_case("content-length")
                || n.eq_ignore_ascii_case("date")
                || n.eq_ignore_ascii_case("server")
            {
                continue;
            }
            if n.eq_ignore_ascii_case("via") {
                if !via.is_empty() {
                    via.extend_from_slice(b", ");
                }
                via.extend_from_slice(f.value);
                continue;
            }
            fields_out.add(n, f.value);
        }
        if !via.is_empty() {
            via.extend_from_slice(b", ");
        }
        via.extend_from_slice(VIA);
        fields_out.add("Via", &via);
        let status = resp.status;
        let mut framing = framing;
        if let (Some(coding), false) = (ex.coding, framing == Framing::None && !ex.head_only) {
            let length = match resp.body {
                ResponseBody::Length(n) => Some(n),
                _ => content_length(&resp),
            };
            if let Some(stream) = compress::begin(fields_out, status, coding, length, &svc.config.compress) {
                // The coded length is known only at the end (RFC 9112 §7.1).
                framing = Framing::Chunked;
                ex.out_chunked = true;
                ex.compress = Some((stream, Vec::new()));
            }
        }
        let length = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        let head_len = resp.head_len;
        self.log_saved(svc, &ex.log, ex.version, status, if ex.head_only { 0 } else { length });
        self.queue_head(svc, status, framing, ex.version);
        ex.answered = true;
        Ok(head_len)
    }

    /// The upstream switched protocols (RFC 9110 §15.2.2): its 101 goes to
    /// the client, and from the end of that head on the exchange is a
    /// two-way byte pipe (§7.8): the client's bytes go up as they come
    /// (`BodyIn::Tunnel`), the upstream's come down as they come (a body
    /// that ends with the upstream's close), until both sides have closed.
    /// Returns the head's length.
    fn start_tunnel(
        &mut self,
        svc: &mut Services,
        ex: &mut Exchange,
        http: &mut Http,
        resp: &wired_parser::response::Response<'_, '_>,
        protocol: &[u8],
    ) -> usize {
        let mut head = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        for f in resp.end_to_end() {
            head.extend_from_slice(f.name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(f.value);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"Upgrade: ");
        head.extend_from_slice(protocol);
        head.extend_from_slice(b"\r\nConnection: Upgrade\r\n\r\n");
        let out = self.output.get_or_insert_with(|| svc.pool.get());
        out.push(&head);
        self.trace_queued(svc, "response head", &head);
        self.trace_note(svc, "tunnel: the connection is now a two-way byte pipe to the upstream (RFC 9110 §7.8)");
        self.log_saved(svc, &ex.log, ex.version, 101, 0);
        http.state = Resp::UntilClose;
        ex.tunnel = true;
        ex.answered = true;
        ex.reusable = false;
        ex.out_chunked = false;
        ex.out_bodiless = false;
        ex.body = super::BodyIn::Tunnel;
        ex.body_framed = false;
        // Whatever happens after the pipe, the connection ends with it.
        self.close_after = true;
        resp.head_len
    }

    /// Body bytes for the client, framed as decided.
    fn relay(&mut self, svc: &mut Services, ex: &mut Exchange, data: &[u8]) {
        if data.is_empty() || ex.out_bodiless {
            return;
        }
        let Some(out) = self.output.as_mut() else { return };
        if let Some((stream, packed)) = ex.compress.as_mut() {
            if let Err(e) = stream.write(data, packed) {
                log::warn!("upstream {}: compressing: {e}", svc.upstreams.name(ex.group));
            }
            if !packed.is_empty() {
                push_chunk(out, packed);
                self.trace_relayed_body(svc, "upstream body, compressed", true, packed);
                packed.clear();
            }
            return;
        }
        if ex.out_chunked {
            // RFC 9112 §7.1: chunk-size in hex, CRLF, data, CRLF.
            let mut line = [0u8; 20];
            out.push(hex_line(data.len(), &mut line));
            out.push(data);
            out.push(b"\r\n");
        } else {
            out.push(data);
        }
        self.trace_relayed_body(svc, "upstream body", ex.out_chunked, data);
    }

    /// The response body is over: the last chunk, if chunked.
    fn proxy_body_end(&mut self, svc: &mut Services, ex: &mut Exchange) {
        if ex.out_chunked && !ex.out_bodiless {
            ex.out_chunked = false;
            if let Some(out) = self.output.as_mut() {
                if let Some((stream, mut packed)) = ex.compress.take() {
                    match stream.finish(&mut packed) {
                        Ok(()) => push_chunk(out, &packed),
                        Err(e) => log::warn!("upstream {}: compressing: {e}", svc.upstreams.name(ex.group)),
                    }
                }
                // RFC 9112 §7.1: the last chunk, and no trailers.
                out.push(b"0\r\n\r\n");
            }
            self.trace_queued(svc, "last chunk", b"0\r\n\r\n");
        }
    }

    /// The upstream closed the connection.
    pub(super) fn proxy_eof(&mut self, svc: &mut Services, ex: &mut Exchange, http: &mut Http) -> Result<(), Fail> {
        match http.state {
            Resp::UntilClose => {
                // RFC 9112 §6.3 rule 8: the close ends this body.
                self.proxy_body_end(svc, ex);
                http.state = Resp::Done;
                ex.response_done = true;
                ex.reusable = false;
                Ok(())
            }
            Resp::Done => {
                ex.response_done = true;
                ex.reusable = false;
                Ok(())
            }
            Resp::Head => Err(Fail::upstream(502, "the upstream closed the connection without a response")),
            Resp::Length(_) | Resp::Chunked(_) => {
                Err(Fail::upstream(502, "the upstream closed the connection in the middle of the body"))
            }
        }
    }
}

/// The Content-Length of a response to HEAD, passed on as the length a GET
/// would get (RFC 9110 §8.6).
fn content_length(resp: &wired_parser::response::Response<'_, '_>) -> Option<u64> {
    let v = resp.header("content-length")?;
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}
