//! FastCGI 1.0 on the wire: the request as BEGIN_REQUEST, PARAMS and
//! STDIN records (§5.1-§5.3), the response as STDOUT, STDERR and
//! END_REQUEST records (§5.3, §5.5). STDOUT is a CGI response (§6.2), so it
//! goes to the client through the same code as a CGI program's output
//! (`conn/gateway.rs`). The record codec is `wired_parser::fastcgi`.

use wired_parser::fastcgi::{self, Decoder, Event, ParamsEncoder, ProtocolStatus};
use wired_parser::{Body, Request};

use super::{Exchange, Fail};
use crate::buffer::Buffer;
use crate::conn::Conn;
use crate::conn::gateway::{Gateway, Out, Who};
use crate::handler::cgi::{self, Meta};
use crate::handler::upstream::FastcgiTarget;
use crate::services::Services;

/// The request id: one request at a time per connection (wired does not
/// multiplex, and php-fpm refuses to: `FCGI_MPXS_CONNS` is 0), so always 1.
pub const REQUEST_ID: u16 = 1;

/// Longest line of an application's STDERR kept for the error log.
const MAX_STDERR_LINE: usize = 4096;

/// The FastCGI side of an exchange.
#[derive(Debug)]
pub struct FastCgi {
    decoder: Decoder,
    /// STDOUT on its way to the client.
    gw: Gateway,
    /// The STDERR line being gathered.
    stderr_line: Vec<u8>,
    /// The server was asked to keep the connection (`FCGI_KEEP_CONN`).
    keep_conn: bool,
}

impl FastCgi {
    /// The FastCGI side of a request for `target`, and the records that
    /// open it: BEGIN_REQUEST (§5.1), then the CGI meta-variables (the same
    /// function CGI uses) encoded as PARAMS records (§5.2) as they are
    /// worked out, straight into the request's buffer. CONTENT_LENGTH is
    /// among them when the body has a length; a chunked one is spooled
    /// first and its length added by [`end_request_head`], which also ends
    /// the PARAMS stream.
    pub(super) fn start(
        svc: &mut Services,
        req: &Request<'_, '_>,
        target: FastcgiTarget,
        conn: &mut Conn,
        head_only: bool,
    ) -> (Box<FastCgi>, Vec<u8>) {
        let content_length = match req.body {
            Body::Length(n) => Some(n),
            Body::None | Body::Chunked => None,
        };
        let query = req.target.split_once('?').map_or("", |(_, q)| q);
        let meta = Meta {
            script: &target.script,
            query: query.as_bytes(),
            content_length,
            peer: conn.peer,
            local: conn.local,
            document_root: &svc.document_root,
            https: conn.io.is_tls(),
            http2: conn.io.is_http2_stream(),
        };
        let keep_conn = svc.config.fastcgi_keep_conn && svc.config.upstream_pool.keepalive > 0;
        let mut request = Vec::with_capacity(REQUEST_CAPACITY);
        fastcgi::encode_begin(&mut request, REQUEST_ID, keep_conn);
        let mut params = ParamsEncoder::new(&mut request, REQUEST_ID);
        let mut count = 0;
        cgi::environment(req, &meta, |name, value| {
            params.pair(name, value);
            count += 1;
        });
        params.finish();
        // RFC 9110 §10.1.1: the client waits for 100 Continue; a FastCGI
        // application has no way to say it, so wired says it for it.
        if req.expect_continue && req.body != Body::None {
            conn.queue_continue(svc);
        }
        if svc.trace.is_some() {
            conn.trace_fmt(
                svc,
                format_args!("FastCGI: {count} CGI meta-variables for {}", target.script.filename.display()),
            );
        }
        let name = Who { kind: "fastcgi", path: target.script.filename };
        let coding = crate::handler::compress::for_request(req, &svc.config.compress);
        let gw = Gateway::new(req.version, head_only, name, false, coding);
        let fcgi = FastCgi { decoder: Decoder::new(REQUEST_ID), gw, stderr_line: Vec::new(), keep_conn };
        (Box::new(fcgi), request)
    }

    /// Start over on a new connection.
    pub(super) fn restart(&mut self) {
        self.decoder.reset(REQUEST_ID);
    }
}

/// What a request's opening records are first given: enough for the
/// meta-variables of a usual request (some 500 bytes for a bare GET, twice
/// that with a browser's fields) without growing.
const REQUEST_CAPACITY: usize = 2048;

/// The rest of the records that open a request, after [`FastCgi::start`]'s:
/// the end of the PARAMS stream (§5.2), and when there is no body the empty
/// STDIN that ends it (§5.3). `spooled`: the body's length was learnt by
/// spooling it, so CONTENT_LENGTH is added first, in a PARAMS record of its
/// own.
pub(super) fn end_request_head(request: &mut Vec<u8>, length: u64, spooled: bool) {
    if spooled {
        let mut digits = [0u8; 20];
        let mut params = ParamsEncoder::new(request, REQUEST_ID);
        params.pair(b"CONTENT_LENGTH", cgi::decimal(length, &mut digits));
        params.finish();
    }
    fastcgi::encode_end_of_params(request, REQUEST_ID);
    if length == 0 {
        fastcgi::encode_end_of_stdin(request, REQUEST_ID);
    }
}

impl Conn {
    /// Handle the records read so far.
    pub(super) fn fastcgi_response(
        &mut self,
        svc: &mut Services,
        ex: &mut Exchange,
        fcgi: &mut FastCgi,
        buf: &mut Buffer,
    ) -> Result<(), Fail> {
        let body_unread = !ex.body_sent();
        loop {
            let d = match fcgi.decoder.decode(buf.bytes()) {
                Ok(d) => d,
                // FastCGI 1.0 §3.3: records that cannot be delimited; the
                // connection is dropped, never reused.
                Err(e) => return Err(Fail::upstream(e.status(), e.reason())),
            };
            let bytes = buf.bytes();
            if svc.trace.is_some() {
                self.trace_record(svc, &d.event, bytes);
            }
            match d.event {
                Event::NeedMore => {
                    buf.consume(d.consumed);
                    return Ok(());
                }
                Event::Stdout(r) => {
                    let data = bytes.get(r).unwrap_or_default();
                    self.gateway_output(svc, &mut fcgi.gw, data, body_unread, &ex.log);
                    if fcgi.gw.answered {
                        ex.answered = true;
                    }
                }
                Event::StdoutEnd => self.gateway_end(svc, &mut fcgi.gw, body_unread),
                Event::Stderr(r) => stderr(fcgi, bytes.get(r).unwrap_or_default()),
                Event::StderrEnd => flush_stderr(fcgi),
                Event::Values(_) | Event::UnknownType(_) => {}
                Event::End { app_status, protocol_status } => {
                    buf.consume(d.consumed);
                    flush_stderr(fcgi);
                    if protocol_status != ProtocolStatus::RequestComplete {
                        // §5.5: the application refused the request
                        // (overloaded, or it cannot take another).
                        let why = format!("the FastCGI server refused the request: {protocol_status:?}");
                        return Err(if protocol_status == ProtocolStatus::Overloaded {
                            Fail::upstream(503, why)
                        } else {
                            Fail::upstream(502, why)
                        });
                    }
                    if app_status != 0 {
                        log::info!("{}: exited with status {app_status}", fcgi.gw.name);
                    }
                    // The STDOUT stream may not have been closed on its own.
                    if fcgi.gw.out != Out::Discard {
                        self.gateway_end(svc, &mut fcgi.gw, body_unread);
                    }
                    ex.answered = true;
                    ex.response_done = true;
                    ex.reusable = fcgi.keep_conn && buf.is_empty();
                    return Ok(());
                }
            }
            buf.consume(d.consumed);
        }
    }

    /// The FastCGI server closed the connection.
    pub(super) fn fastcgi_eof(&mut self, ex: &mut Exchange, fcgi: &mut FastCgi) -> Result<(), Fail> {
        flush_stderr(fcgi);
        if !fcgi.decoder.is_done() {
            return Err(Fail::upstream(502, "the FastCGI server closed the connection before END_REQUEST"));
        }
        ex.response_done = true;
        ex.reusable = false;
        Ok(())
    }
}

impl Conn {
    /// `--trace`: the records that open the request, as they will be written.
    pub(super) fn trace_fastcgi_request(&self, svc: &mut Services, request: &[u8], body: u64) {
        if svc.trace.is_none() {
            return;
        }
        let keep = request.get(10).is_some_and(|&flags| flags & 1 != 0);
        let params = request.len().saturating_sub(16 + 8 + if body == 0 { 8 } else { 0 });
        self.trace_fmt(
            svc,
            format_args!(
                "FastCGI → BEGIN_REQUEST id {REQUEST_ID}, role RESPONDER{}; PARAMS, {params} bytes of \
                 name-value pairs; PARAMS, empty (end of the parameters); {}",
                if keep { ", FCGI_KEEP_CONN" } else { "" },
                if body == 0 {
                    "STDIN, empty (no body)".to_string()
                } else {
                    format!("then {body} bytes of body as STDIN records and an empty STDIN")
                }
            ),
        );
    }

    /// `--trace`: one line per record received (FastCGI 1.0 §5.3, §5.5).
    fn trace_record(&self, svc: &mut Services, event: &Event, bytes: &[u8]) {
        match event {
            Event::NeedMore => {}
            Event::Stdout(r) => {
                let data = bytes.get(r.clone()).unwrap_or_default();
                let shown = data.get(..data.len().min(200)).unwrap_or_default();
                self.trace_fmt(svc, format_args!("FastCGI ← STDOUT, {} bytes: {}", data.len(), shown.escape_ascii()));
            }
            Event::StdoutEnd => self.trace_note(svc, "FastCGI ← STDOUT, empty: the response is complete"),
            Event::Stderr(r) => self.trace_fmt(svc, format_args!("FastCGI ← STDERR, {} bytes", r.len())),
            Event::StderrEnd => self.trace_note(svc, "FastCGI ← STDERR, empty"),
            Event::Values(r) => self.trace_fmt(svc, format_args!("FastCGI ← GET_VALUES_RESULT, {} bytes", r.len())),
            Event::UnknownType(t) => self.trace_fmt(svc, format_args!("FastCGI ← UNKNOWN_TYPE {t}")),
            Event::End { app_status, protocol_status } => self.trace_fmt(
                svc,
                format_args!("FastCGI ← END_REQUEST: appStatus {app_status}, protocolStatus {protocol_status:?}"),
            ),
        }
    }
}

/// STDERR bytes, a line at a time, to the error log.
fn stderr(fcgi: &mut FastCgi, bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' || fcgi.stderr_line.len() >= MAX_STDERR_LINE {
            flush_stderr(fcgi);
        } else {
            fcgi.stderr_line.push(b);
        }
    }
}

fn flush_stderr(fcgi: &mut FastCgi) {
    if !fcgi.stderr_line.is_empty() {
        log::warn!("{}: {}", fcgi.gw.name, String::from_utf8_lossy(&fcgi.stderr_line));
        fcgi.stderr_line.clear();
    }
}
