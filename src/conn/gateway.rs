//! A gateway's response on its way to the client: the output of a CGI
//! program, or the STDOUT stream of a FastCGI server, which is the same
//! thing (FastCGI 1.0 §6.2: a Responder's STDOUT is a CGI response). The
//! header block is read (RFC 3875 §6), the response head queued, the body
//! framed as decided — Content-Length, chunked (RFC 9112 §7.1) or until
//! close.

use std::fmt;
use std::path::PathBuf;

use wired_parser::Version;

use wired_parser::values::accept_encoding::Coding;

use crate::conn::{Conn, Framing};
use crate::handler::cgi::{self, HeadStatus};
use crate::handler::compress::{self, Stream};
use crate::services::Services;

/// Where the gateway's output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    /// Still reading the header block.
    Head,
    /// Passing the body on, framed as decided.
    Body { chunked: bool, left: Option<u64> },
    /// Reading and dropping (HEAD, 304, a local redirect, an error sent).
    Discard,
}

/// The state of one gateway response.
#[derive(Debug)]
pub struct Gateway {
    /// The header block read so far.
    head: Vec<u8>,
    /// Where the output is.
    pub out: Out,
    /// The response head has been queued (a 504 is no longer possible).
    pub answered: bool,
    /// A local redirect the program asked for (CGI only, RFC 3875 §6.2.2).
    pub redirect: Option<Vec<u8>>,
    /// Whether a local `Location` alone is served by the server itself
    /// (CGI), or sent to the client as a 302 (FastCGI, as nginx does).
    local_redirects: bool,
    /// The client's HTTP version.
    version: Version,
    /// The request was HEAD.
    head_only: bool,
    /// Who answers, for the error log.
    pub name: Who,
    /// The coding the client accepts for a compressed answer, if any.
    coding: Option<Coding>,
    /// The body is being compressed, and the coded bytes not yet framed.
    compress: Option<(Box<Stream>, Vec<u8>)>,
}

/// Who answers a gateway request, for the error log: `cgi PATH` or
/// `fastcgi PATH`. Kept in pieces and written out only when a line is
/// logged, not formatted for every request.
#[derive(Debug, Default)]
pub struct Who {
    /// "cgi" or "fastcgi".
    pub kind: &'static str,
    /// The script's path.
    pub path: PathBuf,
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.path.display())
    }
}

impl Gateway {
    /// A response not yet begun.
    pub fn new(version: Version, head_only: bool, name: Who, local_redirects: bool, coding: Option<Coding>) -> Self {
        Gateway {
            coding,
            compress: None,
            head: Vec::new(),
            out: Out::Head,
            answered: false,
            redirect: None,
            local_redirects,
            version,
            head_only,
            name,
        }
    }

    /// An empty stand-in, while the real one is lent out.
    pub fn placeholder() -> Self {
        Gateway::new(Version::Http11, false, Who::default(), false, None)
    }
}

impl Conn {
    /// Bytes of the gateway's output. `body_unread`: the request body is
    /// not all read, so an error answer must close the connection. `saved`:
    /// the access log's view of the request (method, target, referer, user
    /// agent), logged once the status is known.
    pub(super) fn gateway_output(
        &mut self,
        svc: &mut Services,
        gw: &mut Gateway,
        bytes: &[u8],
        body_unread: bool,
        saved: &[Vec<u8>; 4],
    ) {
        match gw.out {
            Out::Head => {
                // Usually the whole header block comes in the first piece of
                // output: it is read where it lies. Only a block that comes
                // in pieces is gathered in `gw.head`.
                let gathered = !gw.head.is_empty();
                let status = if gathered {
                    gw.head.extend_from_slice(bytes);
                    cgi::parse_output_head(&gw.head)
                } else {
                    cgi::parse_output_head(bytes)
                };
                match status {
                    HeadStatus::Partial => {
                        if !gathered {
                            gw.head.extend_from_slice(bytes);
                        }
                    }
                    HeadStatus::Malformed(why) => {
                        log::warn!("{}: malformed output: {why}", gw.name);
                        gw.out = Out::Discard;
                        gw.answered = true;
                        self.queue_error(svc, 502, body_unread);
                    }
                    HeadStatus::Complete(head, used) if gathered => {
                        let rest = gw.head.split_off(used.min(gw.head.len()));
                        gw.head.clear();
                        self.gateway_head(svc, gw, head, saved);
                        if !rest.is_empty() {
                            self.gateway_output(svc, gw, &rest, body_unread, saved);
                        }
                    }
                    HeadStatus::Complete(head, used) => {
                        self.gateway_head(svc, gw, head, saved);
                        let rest = bytes.get(used..).unwrap_or_default();
                        if !rest.is_empty() {
                            self.gateway_output(svc, gw, rest, body_unread, saved);
                        }
                    }
                }
            }
            Out::Body { chunked, left } => {
                let Some(out) = self.output.as_mut() else { return };
                let bytes = match left {
                    Some(l) => bytes.get(..(l.min(bytes.len() as u64) as usize)).unwrap_or_default(),
                    None => bytes,
                };
                if bytes.is_empty() {
                    return;
                }
                if let Out::Body { left: Some(l), .. } = &mut gw.out {
                    *l -= bytes.len() as u64;
                }
                let from = if gw.local_redirects { "CGI output" } else { "FastCGI output" };
                if let Some((stream, packed)) = gw.compress.as_mut() {
                    if let Err(e) = stream.write(bytes, packed) {
                        log::warn!("{}: compressing: {e}", gw.name);
                    }
                    if !packed.is_empty() {
                        push_chunk(out, packed);
                        self.trace_relayed_body(svc, from, true, packed);
                        packed.clear();
                    }
                    return;
                }
                if chunked {
                    // RFC 9112 §7.1: chunk-size in hex, CRLF, data, CRLF.
                    let mut size = [0u8; 20];
                    let size = hex_line(bytes.len(), &mut size);
                    out.push(size);
                    out.push(bytes);
                    out.push(b"\r\n");
                } else {
                    out.push(bytes);
                }
                self.trace_relayed_body(svc, from, chunked, bytes);
            }
            Out::Discard => {}
        }
    }

    /// The header block is complete: queue the response head.
    fn gateway_head(&mut self, svc: &mut Services, gw: &mut Gateway, mut head: cgi::OutputHead, saved: &[Vec<u8>; 4]) {
        gw.answered = true;
        if let Some(location) = head.local_redirect.take() {
            if gw.local_redirects {
                // RFC 3875 §6.2.2: the server serves the new path itself, once
                // the program is done; its output is not part of the response.
                gw.redirect = Some(location);
                gw.out = Out::Discard;
                gw.answered = false;
                return;
            }
            // A FastCGI application's local Location is a redirect for the
            // client (nginx: 302 when no Status was given).
            head.status = 302;
            head.fields.extend_from_slice(b"Location: ");
            head.fields.extend_from_slice(&location);
            head.fields.extend_from_slice(b"\r\n");
        }
        let version = gw.version;
        let no_body = crate::response::bodiless(head.status, gw.head_only);
        svc.handlers.fields.clear();
        svc.handlers.fields.add_raw(&head.fields);
        if let (Some(coding), false) = (gw.coding, head.status < 200 || head.status == 204 || head.status == 304) {
            let settings = &svc.config.compress;
            if let Some(stream) =
                compress::begin(&mut svc.handlers.fields, head.status, coding, head.content_length, settings)
            {
                // The coded length is known only at the end: chunked, and
                // the program's length now counts what comes in.
                gw.compress = Some((stream, Vec::new()));
                gw.out = if no_body { Out::Discard } else { Out::Body { chunked: true, left: head.content_length } };
                self.log_gateway(svc, gw, &head, saved, 0);
                self.queue_head(svc, head.status, Framing::Chunked, version);
                return;
            }
        }
        let framing = match head.content_length {
            _ if head.status < 200 || head.status == 204 || head.status == 304 => Framing::None,
            Some(n) => Framing::Length(n),
            None if gw.head_only => Framing::None,
            // RFC 9112 §7.1: length unknown — chunked keeps the connection.
            None if version == Version::Http11 => Framing::Chunked,
            // RFC 9112 §6.3 rule 8: an HTTP/1.0 client reads until close.
            None => Framing::UntilClose,
        };
        if framing == Framing::UntilClose {
            self.close_after = true;
        }
        gw.out = match framing {
            _ if no_body => Out::Discard,
            Framing::Chunked => Out::Body { chunked: true, left: None },
            Framing::Length(n) => Out::Body { chunked: false, left: Some(n) },
            Framing::UntilClose => Out::Body { chunked: false, left: None },
            Framing::None => Out::Discard,
        };
        let bytes = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        self.log_gateway(svc, gw, &head, saved, bytes);
        self.queue_head(svc, head.status, framing, version);
    }

    /// The access log's line, now that the status is known, from the
    /// request's saved pieces.
    fn log_gateway(
        &mut self,
        svc: &mut Services,
        gw: &Gateway,
        head: &cgi::OutputHead,
        saved: &[Vec<u8>; 4],
        bytes: u64,
    ) {
        let [method, target, referer, user_agent] = saved;
        let entry =
            crate::access_log::Entry { method, target, version: self.log_version(gw.version), referer, user_agent };
        if let Some(access) = svc.access.as_mut() {
            let tls = svc.config.access_log_tls.then(|| self.io.log_fields());
            access.entry(self.peer.ip(), svc.clock.http_date(), &entry, head.status, bytes, tls);
        }
    }

    /// The gateway's output ended (the program closed its stdout; the
    /// FastCGI server closed STDOUT or ended the request).
    pub(super) fn gateway_end(&mut self, svc: &mut Services, gw: &mut Gateway, body_unread: bool) {
        match gw.out {
            Out::Head => {
                // RFC 3875 §6.2: a response needs a header block.
                log::warn!("{}: output ended before its header block", gw.name);
                gw.answered = true;
                gw.out = Out::Discard;
                self.queue_error(svc, 502, body_unread);
            }
            Out::Body { left: Some(l), .. } if l > 0 => {
                // The program promised more than it wrote: the client will see
                // a short body, and only a close can tell it so (a chunked
                // one ends without its last chunk).
                self.close_after = true;
                gw.out = Out::Discard;
            }
            Out::Body { chunked: true, .. } => {
                if let (Some((stream, mut packed)), Some(out)) = (gw.compress.take(), self.output.as_mut()) {
                    match stream.finish(&mut packed) {
                        Ok(()) => push_chunk(out, &packed),
                        Err(e) => log::warn!("{}: compressing: {e}", gw.name),
                    }
                }
                // RFC 9112 §7.1: the last chunk, and no trailers.
                if let Some(out) = self.output.as_mut() {
                    out.push(b"0\r\n\r\n");
                }
                self.trace_queued(svc, "last chunk", b"0\r\n\r\n");
                gw.out = Out::Discard;
            }
            _ => {}
        }
    }
}

/// `data` as one chunk (RFC 9112 §7.1: chunk-size in hex, CRLF, data, CRLF).
pub(super) fn push_chunk(out: &mut crate::buffer::Buffer, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut size = [0u8; 20];
    out.push(hex_line(data.len(), &mut size));
    out.push(data);
    out.push(b"\r\n");
}

/// `len` in hex followed by CRLF: a chunk-size line (RFC 9112 §7.1).
pub(super) fn hex_line(len: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len() - 2;
    buf[i] = b'\r';
    buf[i + 1] = b'\n';
    let mut n = len;
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[n % 16];
        n /= 16;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunk_size_lines() {
        let mut buf = [0u8; 20];
        assert_eq!(super::hex_line(0, &mut buf), b"0\r\n");
        assert_eq!(super::hex_line(16384, &mut buf), b"4000\r\n");
        assert_eq!(super::hex_line(255, &mut buf), b"ff\r\n");
    }
}
