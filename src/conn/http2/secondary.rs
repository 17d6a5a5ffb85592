//! Streams answered by CGI, FastCGI or an upstream: each through a
//! secondary HTTP/1.1 connection in memory.
//!
//! A static file is answered from a `Reply` in one call, so a stream can
//! take it directly (`request.rs`). A program or an upstream answers over
//! time: the request body goes in as it comes, the response comes out as
//! the program writes it, and the HTTP/1.1 connection already does all of
//! that (`conn/cgi/`, `conn/upstream/`), with its timers, retries, spools
//! and backpressure. So a stream whose handler is not a `Reply` gets a
//! connection of its own, a [`Conn`] whose transport is memory
//! ([`Pipe`]) instead of a socket (Apache's mod_http2 does the same with
//! its secondary connections):
//!
//! ```text
//!   client ══ HTTP/2 ══► stream N ──"POST /app HTTP/1.1 …"──► Pipe.request  ──► secondary Conn
//!                                                                          (Head → Upstream/Cgi → Write)
//!   client ◄═ HEADERS, DATA ═ stream N ◄── response head, body ── Pipe.response ◄──┘
//! ```
//!
//! * The request is written as HTTP/1.1 (RFC 9113 §8.3.1: `:authority`
//!   becomes `Host`; §8.2.3: split `cookie` fields are joined again), with
//!   `Content-Length` if the client sent one, else chunked framing for a
//!   body, and `Connection: close`: one request per secondary connection.
//! * DATA frames are appended to the pipe as they come. The stream's
//!   receive window (§6.9) is given back only as the secondary connection
//!   reads them, so a program that reads slowly slows its client, and the
//!   pipe holds at most one window (64 KiB) of body.
//! * The response is parsed as an HTTP/1.1 response (the proxy's parser);
//!   its head becomes HEADERS without the connection-specific fields
//!   (§8.2.2), its body, whatever its framing, DATA frames as the
//!   stream's send window allows. The pipe holds at most
//!   `PIPE_RESPONSE_MAX` (64 KiB) of it: when the client does not read, the
//!   secondary connection's writes would block, and so it stops reading its
//!   program or upstream, as over a socket.
//! * The secondary connection lives inside its stream, not in the worker's
//!   slab: its upstream and pipe events wake the HTTP/2 connection (same
//!   slot, same serial), which drives every secondary connection it holds;
//!   its deadline is folded into the HTTP/2 connection's timer.
//! * Its own `--trace` lines are not shown: they would describe HTTP/1.1
//!   bytes that never crossed a wire. The trace shows the frames.

use std::time::Instant;

use wired_parser::http2::{encode_field_block, encode_window_update};
use wired_parser::response::{ResponseBody, ResponseParser, ResponseTo};
use wired_parser::{ChunkedDecoder, EMPTY_HEADER, Request, Status};

use super::*;
use crate::conn::transport::Pipe;
use crate::conn::{Conn, Transport};
use crate::services::Services;

/// A stream's secondary connection, and what has been made of its output.
#[derive(Debug)]
pub(super) struct Secondary {
    conn: Box<Conn>,
    /// The request was HEAD: the response has no body whatever it says.
    to: ResponseTo,
    /// The request body goes into the pipe chunked (no content-length).
    chunked_in: bool,
    /// DATA payload bytes put into the pipe, and how many of them have
    /// been given back to the client as window.
    appended: u64,
    credited: u64,
    /// Where the response is.
    out: Out,
    parser: ResponseParser,
    /// The secondary connection has ended.
    closed: bool,
}

/// The response, as read from the pipe.
#[derive(Debug)]
enum Out {
    /// Its head has not been read yet.
    Head,
    /// HEADERS sent; body bytes still to come.
    Body(BodyOut),
    /// Complete: everything has been framed.
    Done,
}

/// The response body's HTTP/1.1 framing, undone before DATA.
#[derive(Debug)]
enum BodyOut {
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
    UntilClose,
}

impl Secondary {
    /// A secondary connection for this request, its HTTP/1.1 form already
    /// in the pipe.
    pub(super) fn new(parent: &Conn, req: &Request<'_, '_>, end_stream: bool, now: Instant) -> Box<Secondary> {
        let mut pipe = Box::<Pipe>::default();
        pipe.tls = parent.io.session().map(|s| {
            let (v, sni) = s.version_and_sni();
            (v, sni.map(str::to_owned))
        });
        let chunked_in = !end_stream && !matches!(req.body, wired_parser::Body::Length(_));
        write_request(&mut pipe.request, req, chunked_in);
        let mut conn = Conn::new(Transport::memory(pipe), parent.peer, parent.local, parent.serial, now);
        conn.accepted = parent.accepted;
        Box::new(Secondary {
            conn: Box::new(conn),
            to: ResponseTo::of(&req.method),
            chunked_in,
            appended: 0,
            credited: 0,
            out: Out::Head,
            parser: ResponseParser::new(),
            closed: false,
        })
    }

    fn pipe(&mut self) -> Option<&mut Pipe> {
        self.conn.io.pipe_mut()
    }

    /// A DATA frame's payload: into the pipe, framed as the head said.
    pub(super) fn body(&mut self, data: &[u8], end_stream: bool) {
        let chunked = self.chunked_in;
        self.appended += data.len() as u64;
        let Some(pipe) = self.pipe() else { return };
        if chunked {
            if !data.is_empty() {
                let mut line = [0u8; 20];
                pipe.request.extend_from_slice(crate::conn::gateway::hex_line(data.len(), &mut line));
                pipe.request.extend_from_slice(data);
                pipe.request.extend_from_slice(b"\r\n");
            }
            if end_stream {
                // RFC 9112 §7.1: the last chunk, and no trailer section.
                pipe.request.extend_from_slice(b"0\r\n\r\n");
            }
        } else {
            pipe.request.extend_from_slice(data);
        }
    }

    /// The client's trailers ended the stream: a chunked body ends here.
    pub(super) fn end_body(&mut self) {
        self.body(&[], true);
    }

    /// Run the secondary connection until it waits.
    pub(super) fn drive(&mut self, slot: usize, svc: &mut Services) {
        if self.closed {
            return;
        }
        self.conn.read_drained = false;
        let trace = svc.trace.take();
        let step = self.conn.drive(slot, svc);
        svc.trace = trace;
        self.after(step, svc);
    }

    /// Its timer ran out.
    pub(super) fn timeout(&mut self, slot: usize, svc: &mut Services, now_tick: u64) {
        if self.closed || self.conn.deadline == 0 || self.conn.deadline > now_tick {
            return;
        }
        self.conn.deadline = 0;
        let trace = svc.trace.take();
        let step = self.conn.on_timeout(slot, svc);
        svc.trace = trace;
        self.after(step, svc);
    }

    fn after(&mut self, step: Step, svc: &mut Services) {
        if step == Step::Close || matches!(self.conn.phase, Phase::Linger { .. } | Phase::Closed) {
            // The response is all in the pipe (or never will be).
            self.closed = true;
            self.conn.release_buffers(svc);
            if let Some(pipe) = self.pipe() {
                pipe.response_shut = true;
            }
        }
    }

    /// Its deadline, in wheel ticks (0: none).
    pub(super) fn deadline(&self) -> u64 {
        if self.closed { 0 } else { self.conn.deadline }
    }

    /// Window to give back to the client: the body bytes the secondary
    /// connection has read (what is still in the pipe is not given back).
    pub(super) fn window_to_credit(&mut self) -> u32 {
        let Some(pipe) = self.conn.io.pipe() else { return 0 };
        // What is still unread holds no more payload than its length (it
        // may hold chunk lines too, or the end of the head), so this
        // undercounts until the pipe is empty, never overcounts.
        let unread = (pipe.request.len() - pipe.request_read) as u64;
        let consumed = self.appended.saturating_sub(unread);
        let due = consumed.saturating_sub(self.credited);
        let due = u32::try_from(due).unwrap_or(u32::MAX);
        self.credited += u64::from(due);
        due
    }

    /// The response is complete and framed.
    pub(super) fn is_done(&self) -> bool {
        matches!(self.out, Out::Done)
    }

    /// Body bytes are waiting in the pipe.
    pub(super) fn has_body_bytes(&self) -> bool {
        matches!(self.out, Out::Body(_))
            && self.conn.io.pipe().is_some_and(|p| !p.response.is_empty() || p.response_shut)
    }

    /// After a reload: see `Conn::regroup`.
    pub(super) fn regroup(&mut self, moved: &[Option<usize>]) {
        self.conn.regroup(moved);
    }

    /// Give the connection's buffers back (the stream is gone).
    pub(super) fn release(&mut self, svc: &mut Services) {
        if !self.closed {
            self.closed = true;
            self.conn.release_buffers(svc);
        }
    }

    /// Read response heads from the pipe: interim ones (1xx) go out as
    /// HEADERS of their own (RFC 9113 §8.1), the final one as the stream's
    /// HEADERS. Returns whether a final head was framed, and whether it
    /// ended the stream.
    pub(super) fn heads(
        &mut self,
        svc: &mut Services,
        h2: &mut Http2,
        id: u32,
        trace: &mut Vec<String>,
    ) -> Result<bool, ErrorCode> {
        while matches!(self.out, Out::Head) {
            let Some(pipe) = self.conn.io.pipe_mut() else { return Err(ErrorCode::InternalError) };
            let mut fields = [EMPTY_HEADER; crate::conn::HEADER_SLOTS];
            let resp = match self.parser.parse(&pipe.response, &svc.config.limits, self.to, &mut fields) {
                Ok(Status::Complete(resp)) => resp,
                Ok(Status::Partial) if pipe.response_shut => return Err(ErrorCode::InternalError),
                Ok(Status::Partial) => return Ok(false),
                Err(_) => return Err(ErrorCode::InternalError),
            };
            let body = match resp.body {
                _ if resp.is_interim() => None,
                ResponseBody::None => None,
                ResponseBody::Length(0) => None,
                ResponseBody::Length(n) => Some(BodyOut::Length(n)),
                ResponseBody::Chunked => Some(BodyOut::Chunked(Box::new(ChunkedDecoder::new(&svc.config.limits)))),
                ResponseBody::UntilClose => Some(BodyOut::UntilClose),
                // No upgrade can be asked for over HTTP/2 (§8.6).
                ResponseBody::Tunnel => return Err(ErrorCode::InternalError),
            };
            let ends = body.is_none() && !resp.is_interim();
            let mut status_digits = [0u8; 3];
            let status = super::request::digits(u64::from(resp.status), &mut status_digits);
            // §8.2: lower-case names; §8.2.2: no connection-specific fields.
            let mut names = std::mem::take(&mut h2.names);
            names.clear();
            let kept: Vec<_> =
                resp.end_to_end().filter(|f| !super::request::connection_specific(f.name.as_bytes())).collect();
            let mut spans = Vec::with_capacity(kept.len());
            for f in &kept {
                let start = names.len();
                names.extend(f.name.bytes().map(|b| b.to_ascii_lowercase()));
                spans.push((start, names.len()));
            }
            let list = std::iter::once((&b":status"[..], status))
                .chain(kept.iter().zip(&spans).map(|(f, &(a, b))| (names.get(a..b).unwrap_or_default(), f.value)));
            h2.block_out.clear();
            h2.hpack_out.encode(list, &mut h2.block_out);
            encode_field_block(&mut h2.out, id, &h2.block_out, ends, h2.peer_max_frame);
            let (status, interim, used) = (resp.status, resp.is_interim(), resp.head_len);
            h2.names = names;
            if svc.trace.is_some() {
                trace.push(format!(
                    "h2: stream {id}: {status}{}, HEADERS of {} bytes (HPACK), from its secondary HTTP/1.1 connection",
                    if interim { " (interim)" } else { "" },
                    h2.block_out.len()
                ));
            }
            pipe.response.drain(..used.min(pipe.response.len()));
            self.parser.reset();
            if interim {
                continue;
            }
            self.out = match body {
                Some(b) => Out::Body(b),
                None => Out::Done,
            };
            return Ok(true);
        }
        Ok(false)
    }

    /// Append up to `max` body bytes to `out`, their HTTP/1.1 framing
    /// undone. Returns the count, or the error that ends the stream.
    pub(super) fn fill(&mut self, max: usize, out: &mut Vec<u8>) -> Result<usize, ErrorCode> {
        let closed = self.closed;
        let Some(pipe) = self.conn.io.pipe_mut() else { return Err(ErrorCode::InternalError) };
        let Out::Body(framing) = &mut self.out else { return Ok(0) };
        let mut n = 0;
        let mut used = 0;
        let mut done = false;
        match framing {
            BodyOut::Length(left) => {
                let take = pipe.response.len().min(max).min(usize::try_from(*left).unwrap_or(usize::MAX));
                out.extend_from_slice(pipe.response.get(..take).unwrap_or_default());
                used = take;
                n = take;
                *left -= take as u64;
                done = *left == 0;
            }
            BodyOut::UntilClose => {
                let take = pipe.response.len().min(max);
                out.extend_from_slice(pipe.response.get(..take).unwrap_or_default());
                used = take;
                n = take;
                done = closed && take == pipe.response.len();
            }
            BodyOut::Chunked(dec) => {
                while n < max {
                    let rest = pipe.response.get(used..).unwrap_or_default();
                    // No more than fits: the decoder takes every byte it is
                    // shown (it resumes anywhere, even inside a size line).
                    let rest = rest.get(..rest.len().min(max - n)).unwrap_or_default();
                    let d = dec.decode(rest).map_err(|_| ErrorCode::InternalError)?;
                    let data = rest.get(d.data.clone()).unwrap_or_default();
                    out.extend_from_slice(data);
                    n += data.len();
                    used += d.consumed;
                    if d.done {
                        done = true;
                        break;
                    }
                    if d.consumed == 0 {
                        break;
                    }
                }
            }
        }
        pipe.response.drain(..used.min(pipe.response.len()));
        if done {
            self.out = Out::Done;
        } else if closed && pipe.response.is_empty() {
            // The connection ended before the body did.
            return Err(ErrorCode::InternalError);
        }
        Ok(n)
    }
}

/// The request as an HTTP/1.1 head (RFC 9112 §3), from the fields HTTP/2
/// carried (already checked by §8.2–8.3).
fn write_request(out: &mut Vec<u8>, req: &Request<'_, '_>, chunked: bool) {
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(req.target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // §8.3.1: `:authority` stands for Host.
    if req.header("host").is_none()
        && let Some(host) = req.host
    {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(host);
        out.extend_from_slice(b"\r\n");
    }
    let mut cookies = 0;
    for h in req.headers {
        if h.name == "cookie" {
            cookies += 1;
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    if cookies > 0 {
        // §8.2.3: a client may split Cookie into several fields; HTTP/1.1
        // wants one, joined with "; ".
        out.extend_from_slice(b"Cookie: ");
        for (i, h) in req.headers.iter().filter(|h| h.name == "cookie").enumerate() {
            if i > 0 {
                out.extend_from_slice(b"; ");
            }
            out.extend_from_slice(h.value);
        }
        out.extend_from_slice(b"\r\n");
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
}

impl Conn {
    /// Drive every secondary connection, frame the heads they wrote, give
    /// back the window of the body they read, and queue streams whose body
    /// bytes wait. Returns whether anything moved.
    pub(super) fn http2_secondaries(&mut self, slot: usize, svc: &mut Services, h2: &mut Http2) -> bool {
        for mut sec in std::mem::take(&mut h2.retired) {
            sec.release(svc);
        }
        if !h2.streams.values().any(|st| st.secondary.is_some()) {
            return false;
        }
        let ids: Vec<u32> = h2.streams.iter().filter(|(_, st)| st.secondary.is_some()).map(|(id, _)| *id).collect();
        let mut moved = false;
        let mut notes = Vec::new();
        for id in ids {
            let Some(mut sec) = h2.streams.get_mut(&id).and_then(|st| st.secondary.take()) else { continue };
            sec.drive(slot, svc);
            let heads = sec.heads(svc, h2, id, &mut notes);
            let credit = sec.window_to_credit();
            let Some(st) = h2.streams.get_mut(&id) else {
                h2.retired.push(*sec);
                continue;
            };
            if credit > 0 && !st.remote_closed {
                encode_window_update(&mut h2.out, id, credit);
                st.recv_window += i64::from(credit);
                moved = true;
            }
            match heads {
                Err(code) => {
                    st.secondary = Some(sec);
                    notes.push(format!("h2: stream {id}: its secondary connection ended without a whole response"));
                    h2.reset(id, code);
                    moved = true;
                    continue;
                }
                Ok(framed) => moved |= framed,
            }
            if sec.is_done() {
                // A head without a body: the stream is answered.
                st.secondary = Some(sec);
                h2.response_done(id);
                continue;
            }
            if !st.queued && st.window > 0 && sec.has_body_bytes() {
                st.queued = true;
                h2.ready.push_back(id);
                moved = true;
            }
            st.secondary = Some(sec);
        }
        for note in notes {
            self.trace_note(svc, &note);
        }
        moved
    }
}
