//! What a connection tells its observers. The trace and the access log are
//! fed plain records (a [`Who`], bytes, a parsed head, numbers), never the
//! connection itself; these helpers build the records, and cost one
//! `is_none` check when the observer is off.

use std::fmt;

use wired_parser::{Error, Request};

use super::{Conn, Phase};
use crate::access_log::Entry;
use crate::response::Reply;
use crate::services::Services;
use crate::trace::{Call, Who};

impl Conn {
    /// This connection, as the trace names it.
    pub fn who(&self) -> Who {
        Who { serial: self.serial, accepted: self.accepted }
    }

    /// The connection was accepted.
    pub fn trace_accept(&self, svc: &mut Services) {
        if let Some(t) = svc.trace.as_mut() {
            t.accept(self.who(), self.peer, self.local);
        }
    }

    /// The TLS handshake is done: what was agreed.
    pub(super) fn trace_handshake(&self, svc: &mut Services) {
        let (Some(t), Some(session)) = (svc.trace.as_mut(), self.io.session()) else { return };
        t.handshake(self.who(), &session.info(), session.hello());
    }

    /// The TLS handshake failed.
    pub(super) fn trace_handshake_failed(&self, svc: &mut Services, e: &std::io::Error) {
        let Some(t) = svc.trace.as_mut() else { return };
        t.handshake_failed(self.who(), self.io.session().and_then(|s| s.hello()), e);
    }

    /// Bytes arrived.
    pub(super) fn trace_recv(&self, svc: &mut Services, bytes: &[u8]) {
        if let Some(t) = svc.trace.as_mut() {
            let heads = matches!(self.phase, Phase::Head | Phase::Handshake { .. });
            t.recv(self.who(), bytes, heads, self.io.session().is_some());
        }
    }

    /// A head was parsed (`answer` counts it after this).
    pub(super) fn trace_request(&self, svc: &mut Services, head: &[u8], req: &Request<'_, '_>) {
        if let Some(t) = svc.trace.as_mut() {
            t.request(self.who(), self.requests + 1, head, req);
        }
    }

    /// A head was refused.
    pub(super) fn trace_parse_error(&self, svc: &mut Services, e: Error) {
        if let Some(t) = svc.trace.as_mut() {
            t.parse_error(self.who(), e);
        }
    }

    /// A parsed head whose target a handler refused.
    pub(super) fn trace_refused_target(&self, svc: &mut Services, e: Error) {
        if let Some(t) = svc.trace.as_mut() {
            t.refused_target(self.who(), e);
        }
    }

    /// The response head just formatted into `svc.head` was queued.
    pub(super) fn trace_response_head(&self, svc: &mut Services) {
        if let Some(t) = svc.trace.as_mut() {
            t.response_head(self.who(), &svc.head);
        }
    }

    /// Where a response's body comes from.
    pub(super) fn trace_body(&self, svc: &mut Services, reply: &Reply, head_only: bool) {
        if let Some(t) = svc.trace.as_mut() {
            t.body(self.who(), reply, head_only, self.io.zero_copy() && svc.copy.is_empty());
        }
    }

    /// Bytes queued outside a response head.
    pub(super) fn trace_queued(&self, svc: &mut Services, what: &str, bytes: &[u8]) {
        if let Some(t) = svc.trace.as_mut() {
            t.queued(self.who(), what, bytes);
        }
    }

    /// A piece of a CGI program's body was queued.
    pub(super) fn trace_relayed_body(&self, svc: &mut Services, from: &str, chunked: bool, data: &[u8]) {
        if let Some(t) = svc.trace.as_mut() {
            t.relayed_body(self.who(), from, chunked, data);
        }
    }

    /// Bytes went out by `how`.
    pub(super) fn trace_sent(&self, svc: &mut Services, n: usize, how: Call) {
        if let Some(t) = svc.trace.as_mut() {
            let how = if self.io.session().is_some() { how.under_tls() } else { how };
            t.sent(self.who(), n, how);
        }
    }

    /// A note beside the bytes.
    pub(super) fn trace_note(&self, svc: &mut Services, note: &str) {
        if let Some(t) = svc.trace.as_mut() {
            t.note(self.who(), note);
        }
    }

    /// A note built from `format_args!`, formatted only when tracing is on.
    pub(super) fn trace_fmt(&self, svc: &mut Services, note: fmt::Arguments<'_>) {
        if let Some(t) = svc.trace.as_mut() {
            t.note_fmt(self.who(), note);
        }
    }

    /// The connection is closing: its last trace line says why.
    pub fn trace_close(&self, svc: &mut Services) {
        let Some(t) = svc.trace.as_mut() else { return };
        let why = match self.close_reason {
            "" if svc.draining => "the server is shutting down and the connection was idle",
            "" => "no reason recorded",
            why => why,
        };
        t.close(self.who(), self.requests, why);
    }

    /// Log an answered request.
    pub(super) fn log_access(&self, svc: &mut Services, req: &Request<'_, '_>, status: u16, bytes: u64) {
        let Some(log) = svc.access.as_mut() else { return };
        let tls = svc.config.access_log_tls.then(|| self.io.log_fields());
        let mut entry = Entry::of(req);
        entry.version = self.log_version(req.version);
        log.entry(self.peer.ip(), svc.clock.http_date(), &entry, status, bytes, tls);
    }

    /// The protocol the access log names: the request's, or HTTP/2 for a
    /// stream's secondary connection (whose request line says HTTP/1.1).
    pub(super) fn log_version(&self, version: wired_parser::Version) -> &'static [u8] {
        if self.io.is_http2_stream() { b"HTTP/2.0" } else { version.as_str().as_bytes() }
    }

    /// Log a request that could not be parsed.
    pub(super) fn log_refused(&self, svc: &mut Services, status: u16) {
        if let Some(log) = svc.access.as_mut() {
            log.refused(self.peer.ip(), svc.clock.http_date(), status);
        }
    }
}

/// The access log's view of a request, kept beyond the read that brought its
/// head (a gateway or an upstream answers later): method, target, referer,
/// user agent. Empty when there is no access log.
pub(super) fn saved_log(svc: &Services, req: &Request<'_, '_>) -> [Vec<u8>; 4] {
    if svc.access.is_none() {
        return Default::default();
    }
    [
        req.method.as_str().as_bytes().to_vec(),
        req.target.as_bytes().to_vec(),
        req.header("referer").unwrap_or(b"-").to_vec(),
        req.header("user-agent").unwrap_or(b"-").to_vec(),
    ]
}
