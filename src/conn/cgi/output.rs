//! The CGI program's output on its way to the client: the header block read
//! (RFC 3875 §6), the response head queued, the body framed as decided —
//! Content-Length, chunked (RFC 9112 §7.1) or until close.

use wired_parser::Version;

use super::Out;
use crate::conn::{Conn, Framing};
use crate::handler::cgi::{self, HeadStatus};
use crate::services::Services;

impl Conn {
    /// Bytes from the program's stdout.
    pub(super) fn cgi_output(&mut self, svc: &mut Services, bytes: &[u8]) {
        let Some(cgi) = self.cgi.as_mut() else { return };
        match cgi.out {
            Out::Head => {
                cgi.head.extend_from_slice(bytes);
                match cgi::parse_output_head(&cgi.head) {
                    HeadStatus::Partial => {}
                    HeadStatus::Malformed(why) => {
                        log::warn!("cgi {}: malformed output: {why}", cgi.launch.script.filename.display());
                        cgi.out = Out::Discard;
                        cgi.answered = true;
                        let body_unread = cgi.body_left > 0;
                        self.queue_error(svc, 502, body_unread);
                    }
                    HeadStatus::Complete(head, used) => {
                        let rest = cgi.head.split_off(used.min(cgi.head.len()));
                        cgi.head.clear();
                        self.cgi_head(svc, head);
                        if !rest.is_empty() {
                            self.cgi_output(svc, &rest);
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
                if let Out::Body { left: Some(l), .. } = &mut cgi.out {
                    *l -= bytes.len() as u64;
                }
                self.trace_cgi_body(svc, chunked, bytes);
            }
            Out::Discard => {}
        }
    }

    /// The program's header block is complete: queue the response head.
    fn cgi_head(&mut self, svc: &mut Services, head: cgi::OutputHead) {
        let Some(cgi) = self.cgi.as_mut() else { return };
        cgi.answered = true;
        if let Some(location) = head.local_redirect {
            // RFC 3875 §6.2.2: the server serves the new path itself, once
            // the program is done; its output is not part of the response.
            cgi.redirect = Some(location);
            cgi.out = Out::Discard;
            cgi.answered = false;
            return;
        }
        let version = cgi.launch.version;
        let no_body = crate::response::bodiless(head.status, cgi.launch.head_only);
        let framing = match head.content_length {
            _ if head.status < 200 || head.status == 204 || head.status == 304 => Framing::None,
            Some(n) => Framing::Length(n),
            None if cgi.launch.head_only => Framing::None,
            // RFC 9112 §7.1: length unknown — chunked keeps the connection.
            None if version == Version::Http11 => Framing::Chunked,
            // RFC 9112 §6.3 rule 8: an HTTP/1.0 client reads until close.
            None => Framing::UntilClose,
        };
        if framing == Framing::UntilClose {
            self.close_after = true;
        }
        cgi.out = match framing {
            _ if no_body => Out::Discard,
            Framing::Chunked => Out::Body { chunked: true, left: None },
            Framing::Length(n) => Out::Body { chunked: false, left: Some(n) },
            Framing::UntilClose => Out::Body { chunked: false, left: None },
            Framing::None => Out::Discard,
        };
        svc.handlers.fields.clear();
        svc.handlers.fields.add_raw(&head.fields);
        let [method, target, referer, user_agent] = &cgi.launch.log;
        let entry =
            crate::access_log::Entry { method, target, version: version.as_str().as_bytes(), referer, user_agent };
        let bytes = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        // Logged now that the status is known, from the request's saved pieces.
        if let Some(log) = svc.access.as_mut() {
            let tls = svc.config.access_log_tls.then(|| self.io.log_fields());
            log.entry(self.peer.ip(), svc.clock.http_date(), &entry, head.status, bytes, tls);
        }
        self.queue_head(svc, head.status, framing, version);
    }

    /// The program closed its stdout.
    pub(super) fn cgi_output_end(&mut self, svc: &mut Services) {
        let Some(cgi) = self.cgi.as_mut() else { return };
        match cgi.out {
            Out::Head => {
                // RFC 3875 §6.2: a response needs a header block.
                log::warn!("cgi {}: output ended before its header block", cgi.launch.script.filename.display());
                cgi.answered = true;
                cgi.out = Out::Discard;
                let body_unread = cgi.body_left > 0;
                self.queue_error(svc, 502, body_unread);
            }
            Out::Body { chunked: true, .. } => {
                // RFC 9112 §7.1: the last chunk, and no trailers.
                if let Some(out) = self.output.as_mut() {
                    out.push(b"0\r\n\r\n");
                }
                self.trace_queued(svc, "last chunk", b"0\r\n\r\n");
            }
            Out::Body { chunked: false, left: Some(l) } if l > 0 => {
                // The program promised more than it wrote: the client will see
                // a short body, and only a close can tell it so.
                self.close_after = true;
            }
            _ => {}
        }
    }
}

/// `len` in hex followed by CRLF: a chunk-size line (RFC 9112 §7.1).
fn hex_line(len: usize, buf: &mut [u8; 20]) -> &[u8] {
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
