//! Handlers: code that decides what to answer. They see a parsed request and
//! write a [`Reply`](crate::response::Reply); they never touch sockets.

pub mod autoindex;
pub mod conditional;
pub mod file_cache;
pub mod mime;
pub mod static_files;

use std::net::SocketAddr;

use wired_parser::target::{Form, normalize_path, parse_target};
use wired_parser::{Method, Request};

use crate::response::Reply;
use crate::worker::Services;

/// Everything a handler may look at for one request. Borrows the connection's
/// buffer for the length of one call.
pub struct Ctx<'a, 'b, 'h> {
    /// The parsed head.
    pub req: &'a Request<'b, 'h>,
    /// The method (shortcut for `req.method`).
    pub method: Method<'b>,
    /// The target's path after percent-decoding and dot-segment removal;
    /// always starts with `/` and never climbs above it.
    pub path: &'a [u8],
    /// The raw query, without `?`, if any.
    pub query: Option<&'b [u8]>,
    /// The current time, Unix seconds (the worker's clock, updated per wake-up).
    pub now: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The address the client connected to.
    pub local: SocketAddr,
}

/// A handler's reply and whether the body is to be left out (HEAD).
pub struct Dispatch {
    /// The reply.
    pub reply: Reply,
    /// The request was HEAD: send the head only (RFC 9110 §9.3.2).
    pub head_only: bool,
}

/// Decide who answers a request, and get the answer.
pub fn dispatch(svc: &mut Services, req: &Request<'_, '_>, peer: SocketAddr, local: SocketAddr) -> Dispatch {
    svc.fields.clear();
    let head_only = req.method == Method::Head;
    let reply = route(svc, req, peer, local);
    Dispatch { reply, head_only }
}

fn route(svc: &mut Services, req: &Request<'_, '_>, peer: SocketAddr, local: SocketAddr) -> Reply {
    let target = match parse_target(req.target, req.method) {
        Ok(t) => t,
        Err(e) => return svc.statics.error_reply(e.status(), &mut svc.fields),
    };
    match target.form {
        // RFC 9110 §9.3.7: OPTIONS * asks about the server as a whole.
        Form::Asterisk => {
            svc.fields.add("Allow", b"GET, HEAD, OPTIONS");
            return Reply::new(204, crate::response::Body::Empty);
        }
        // RFC 9110 §9.3.6: CONNECT asks for a tunnel; wired is no proxy.
        Form::Authority => {
            svc.fields.add("Allow", b"GET, HEAD, OPTIONS");
            return svc.statics.error_reply(405, &mut svc.fields);
        }
        Form::Origin | Form::Absolute => {}
    }
    // RFC 9110 §9.1: a method the server does not know gets 501.
    if let Method::Other(_) = req.method {
        return svc.statics.error_reply(501, &mut svc.fields);
    }
    let path = match normalize_path(target.path, &mut svc.path) {
        Ok(p) => p,
        Err(e) => return svc.statics.error_reply(e.status(), &mut svc.fields),
    };
    let ctx = Ctx { req, method: req.method, path, query: target.query, now: svc.clock.secs(), peer, local };
    svc.statics.handle(&ctx, &mut svc.fields)
}
