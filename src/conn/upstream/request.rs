//! The request's way to the upstream: its head (or FastCGI's BEGIN_REQUEST
//! and PARAMS), then the body, framed again for the upstream: as it came
//! for a Content-Length body, as fresh chunks for a chunked one (RFC 9112
//! §7.1: the client's chunk boundaries, extensions and trailers stop here),
//! as STDIN records for FastCGI (FastCGI 1.0 §5.3).

use std::io::ErrorKind;

use wired_parser::fastcgi;

use super::{BodyIn, Exchange, Fail, Proto};
use crate::buffer::Buffer;
use crate::conn::Conn;
use crate::conn::gateway::hex_line;
use crate::services::Services;

/// Bytes a framed piece of body may take beyond its data: a chunk-size
/// line and CRLF, or a FastCGI record header and padding.
const FRAMING: usize = 32;

/// Most body bytes in one STDIN record (§3.3: contentLength is 16 bits).
const MAX_RECORD: usize = 65535;

/// A FastCGI record header's length (§3.3).
const HEADER: usize = 8;

impl Conn {
    /// Write the request head and framed body bytes to the upstream, and
    /// frame more of the body from the client's buffered bytes.
    pub(super) fn send_request(&mut self, svc: &mut Services, ex: &mut Exchange) -> Result<bool, Fail> {
        let mut progress = false;
        loop {
            let Some(up) = ex.up.and_then(|k| svc.upstreams.get_mut(k)) else { return Ok(progress) };
            let pending: &[u8] = if ex.request_sent < ex.request.len() {
                ex.request.get(ex.request_sent..).unwrap_or_default()
            } else if let Some(b) = ex.to_up.as_ref().filter(|b| !b.is_empty()) {
                b.bytes()
            } else {
                if self.frame_body(svc, ex) {
                    progress = true;
                    continue;
                }
                return Ok(progress);
            };
            if !up.writable {
                return Ok(progress);
            }
            match up.write(pending) {
                Ok(n) => {
                    progress = true;
                    if ex.request_sent < ex.request.len() {
                        ex.request_sent += n;
                    } else if let Some(b) = ex.to_up.as_mut() {
                        b.consume(n);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(progress),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A pooled connection its server closed shows here as a
                // reset or a broken pipe: retried if the request allows.
                Err(e) => return Err(Fail::upstream(502, format!("writing the request failed: {e}"))),
            }
        }
    }

    /// Move body bytes from the client's buffer into `to_up`, framed. True
    /// when something was framed.
    fn frame_body(&mut self, svc: &mut Services, ex: &mut Exchange) -> bool {
        if ex.body_framed {
            return false;
        }
        let fcgi = matches!(ex.proto, Proto::FastCgi(_));
        let chunked_up = ex.chunked_up();
        let limit = self.max_body_bytes(svc);
        let to_up = ex.to_up.get_or_insert_with(|| svc.pool.get());
        if to_up.is_empty() {
            to_up.clear();
        }
        let mut framed = false;
        loop {
            let room = to_up.remaining().saturating_sub(FRAMING).min(MAX_RECORD);
            let input = self.input.as_mut();
            match &mut ex.body {
                BodyIn::Done => {
                    if to_up.remaining() < FRAMING {
                        return framed;
                    }
                    // The body's end: FastCGI's empty STDIN record (§5.3);
                    // a chunked body's last chunk. A Content-Length body
                    // simply stops.
                    if fcgi {
                        push_stdin(to_up, &[]);
                    } else if chunked_up {
                        to_up.push(b"0\r\n\r\n");
                    }
                    ex.body_framed = true;
                    return true;
                }
                BodyIn::Tunnel => {
                    let Some(input) = input.filter(|b| !b.is_empty()) else { return framed };
                    let n = input.len().min(room);
                    if n == 0 {
                        return framed;
                    }
                    to_up.push(input.bytes().get(..n).unwrap_or_default());
                    input.consume(n);
                    framed = true;
                }
                BodyIn::Length(left) => {
                    let Some(input) = input.filter(|b| !b.is_empty()) else { return framed };
                    let n = (input.len() as u64).min(*left).min(room as u64) as usize;
                    if n == 0 {
                        return framed;
                    }
                    let data = input.bytes().get(..n).unwrap_or_default();
                    frame(to_up, data, fcgi, chunked_up);
                    input.consume(n);
                    *left -= n as u64;
                    framed = true;
                    if *left == 0 {
                        ex.body = BodyIn::Done;
                    }
                }
                BodyIn::File { file, left } => {
                    // A spooled body: STDIN records read straight from the
                    // file into the buffer, after room for their header.
                    let want = (*left).min(room as u64) as usize;
                    let spare = to_up.spare();
                    let Some(dst) = spare.get_mut(HEADER..HEADER + want).filter(|d| !d.is_empty()) else {
                        return framed;
                    };
                    let n = match std::io::Read::read(file, dst) {
                        Ok(n) if n > 0 => n,
                        _ => {
                            log::error!("upstream request: the spooled body could not be read back");
                            ex.body = BodyIn::Done;
                            ex.body_framed = true;
                            ex.broken_body = Some(500);
                            return true;
                        }
                    };
                    let header = fastcgi::stdin_header(super::fastcgi::REQUEST_ID, n as u16);
                    if let Some(h) = spare.get_mut(..HEADER) {
                        h.copy_from_slice(&header);
                    }
                    to_up.filled(HEADER + n);
                    *left -= n as u64;
                    framed = true;
                    if *left == 0 {
                        ex.body = BodyIn::Done;
                    }
                }
                BodyIn::Chunked(decoder) => {
                    let Some(input) = input.filter(|b| !b.is_empty()) else { return framed };
                    if room == 0 {
                        return framed;
                    }
                    // Decode no more than fits, so no data is lost.
                    let window = input.bytes().get(..input.len().min(room)).unwrap_or_default();
                    let d = match decoder.decode(window) {
                        Ok(d) => d,
                        Err(e) => {
                            // The framing is broken: nothing more can be
                            // trusted; the client is answered and closed.
                            log::info!("upstream request: chunked body refused: {e}");
                            self.close_after = true;
                            self.linger_needed = true;
                            ex.body = BodyIn::Done;
                            ex.body_framed = true;
                            ex.broken_body = Some(e.status());
                            return true;
                        }
                    };
                    if d.data.len() as u64 > limit || decoder.announced() > limit {
                        self.close_after = true;
                        self.linger_needed = true;
                        ex.body = BodyIn::Done;
                        ex.body_framed = true;
                        ex.broken_body = Some(413);
                        return true;
                    }
                    let data = window.get(d.data.clone()).unwrap_or_default();
                    if !data.is_empty() {
                        frame(to_up, data, fcgi, chunked_up);
                    }
                    input.consume(d.consumed);
                    framed |= d.consumed > 0;
                    if d.done {
                        ex.body = BodyIn::Done;
                    } else if d.consumed == 0 {
                        return framed;
                    }
                }
            }
        }
    }

    /// Read more of the client's body, and notice a client that leaves.
    pub(super) fn read_client_body(&mut self, svc: &mut Services, ex: &mut Exchange) -> Result<bool, Fail> {
        let body_wanted = ex.body.still_in_client();
        let room = self.input.as_ref().map_or(usize::MAX, |b| b.capacity() - b.len());
        let worth_reading = body_wanted || !self.read_drained;
        if !worth_reading || room == 0 || self.peer_closed {
            return Ok(false);
        }
        // Backpressure: while framed bytes wait for the upstream, the
        // client's body waits in its socket.
        if body_wanted && ex.to_up.as_ref().is_some_and(|b| !b.is_empty()) && room < READ_ROOM {
            return Ok(false);
        }
        match self.fill(svc) {
            Ok(0) if matches!(ex.body, BodyIn::Tunnel) => {
                // The client finished sending through the tunnel: the
                // upstream reads the end too, and answers until it closes.
                self.peer_closed = true;
                ex.body = BodyIn::Done;
                ex.body_framed = true;
                if let Some(up) = ex.up.and_then(|k| svc.upstreams.get_mut(k)) {
                    let _ = up.shutdown_write();
                }
                Ok(true)
            }
            Ok(0) if body_wanted => {
                self.peer_closed = true;
                Err(Fail::Client("the client closed its side in the middle of a request body"))
            }
            Ok(0) => {
                // A half-close after the whole request: answered in full,
                // then closed (as for CGI, RFC 9112 §9.6).
                self.peer_closed = true;
                self.close_after = true;
                Ok(true)
            }
            Ok(_) => Ok(body_wanted),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.read_drained = true;
                Ok(false)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(_) => Err(Fail::Client("recvfrom() failed: the connection was reset")),
        }
    }
}

/// The room the client's buffer must keep before more body is read while
/// the upstream is behind.
const READ_ROOM: usize = 16 * 1024;

impl BodyIn {
    /// More of the body is to come from the client's socket.
    pub(super) fn still_in_client(&self) -> bool {
        matches!(self, BodyIn::Length(_) | BodyIn::Chunked(_) | BodyIn::Tunnel)
    }
}

impl Exchange {
    /// The body goes to an HTTP upstream in chunks.
    fn chunked_up(&self) -> bool {
        matches!(&self.proto, Proto::Http(h) if h.chunked_body)
    }
}

/// Frame `data` for the upstream: a FastCGI STDIN record, a chunk, or as is.
fn frame(to_up: &mut Buffer, data: &[u8], fcgi: bool, chunked: bool) {
    if fcgi {
        push_stdin(to_up, data);
    } else if chunked {
        // RFC 9112 §7.1: chunk-size in hex, CRLF, data, CRLF.
        let mut line = [0u8; 20];
        to_up.push(hex_line(data.len(), &mut line));
        to_up.push(data);
        to_up.push(b"\r\n");
    } else {
        to_up.push(data);
    }
}

/// One STDIN record (an empty one ends the stream).
fn push_stdin(to_up: &mut Buffer, data: &[u8]) {
    // Lossless: callers frame at most MAX_RECORD bytes at a time.
    to_up.push(&fastcgi::stdin_header(super::fastcgi::REQUEST_ID, data.len() as u16));
    to_up.push(data);
}
