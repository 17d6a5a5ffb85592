//! Handlers: code that decides what to answer. They see a parsed request and
//! write a [`crate::response::Reply`]; they never touch sockets.

pub mod autoindex;
pub mod cgi;
pub mod compress;
pub mod conditional;
pub mod file_cache;
pub mod mime;
mod route;
pub mod rules;
pub mod static_files;
pub mod upstream;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use wired_parser::target::{Form, normalize_path, parse_target};
use wired_parser::{Method, Request};

use crate::config::Config;
use crate::response::{Fields, Reply};
use static_files::StaticFiles;

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

/// What to do with a request.
pub enum Action {
    /// Send this reply.
    Reply(Reply),
    /// Run this CGI program; its output is the reply.
    Cgi(cgi::Script),
    /// Pass the request to an HTTP upstream; its response is the reply.
    Proxy(upstream::ProxyTarget),
    /// Have a FastCGI server run this script; its output is the reply.
    FastCgi(upstream::FastcgiTarget),
    /// Upgrade to a WebSocket served by this endpoint, if the request is a
    /// valid opening handshake (the connection layer checks it: the
    /// handshake is the protocol's, not the handler's).
    WebSocket(WebSocketTarget),
}

/// A WebSocket endpoint for one request.
pub struct WebSocketTarget {
    /// Who serves the socket.
    pub endpoint: crate::config::routes::WsEndpoint,
    /// For a program: its CGI meta-variables' view of it (SCRIPT_NAME is
    /// the location's path, PATH_INFO what follows).
    pub script: cgi::Script,
}

/// A handler's decision and whether the body is to be left out (HEAD).
pub struct Dispatch {
    /// The decision.
    pub action: Action,
    /// The request was HEAD: send the head only (RFC 9110 §9.3.2).
    pub head_only: bool,
    /// The rule the request's target broke, when that is why the answer is
    /// an error (for `--trace`, which names every refusal's rule).
    pub refused: Option<wired_parser::Error>,
    /// The location's rules the response head carries (`add_header`, CORS)
    /// and its body limit; `None` for a location without rules.
    pub applied: Option<Box<rules::Applied>>,
}

/// The handlers of one worker, and the scratch space they write into. The
/// connection layer owns one (in its services) and asks it for answers; a
/// handler never sees a connection, a socket or the protocol that carried
/// the request.
pub struct Handlers {
    config: Arc<Config>,
    /// The static file handler (and the error pages every handler uses).
    statics: StaticFiles,
    /// Scratch: header fields a handler writes for the connection to format.
    pub fields: Fields,
    /// Scratch: a normalized request path.
    path: Vec<u8>,
    /// Passwords checked lately (`rules.rs`).
    auth_memory: rules::AuthMemory,
}

impl Handlers {
    /// The handlers for a configuration: a static file handler for its root.
    pub fn new(config: Arc<Config>) -> io::Result<Handlers> {
        Ok(Handlers {
            statics: StaticFiles::new(&config)?,
            config,
            fields: Fields::new(),
            path: Vec::with_capacity(256),
            auth_memory: rules::AuthMemory::new(),
        })
    }

    /// Decide who answers a request, and get the answer: the request's
    /// form and path are checked here, then the route table picks the
    /// server, the location and its action (`route.rs`). `now` is the
    /// worker's clock in Unix seconds.
    pub fn dispatch(&mut self, req: &Request<'_, '_>, now: u64, peer: SocketAddr, local: SocketAddr) -> Dispatch {
        self.fields.clear();
        let head_only = req.method == Method::Head;
        let mut refused = None;
        let mut applied = None;
        let action = self.route(req, now, peer, local, &mut refused, &mut applied);
        Dispatch { action, head_only, refused, applied }
    }

    /// An error response (the configured page, or the built-in one), its
    /// fields written afresh into [`Handlers::fields`].
    pub fn error_reply(&mut self, status: u16) -> Reply {
        self.fields.clear();
        self.statics.error_reply(status, &mut self.fields)
    }

    /// `--redirect-https`: a 308 to the same URL over https, on `port`
    /// (left out when it is 443). 308, not 301: a POST stays a POST with
    /// its body (RFC 9110 §15.4.9). The host is the one the client asked
    /// for (RFC 9112 §3.2; the parser has checked its syntax), else our
    /// own address; the path and query are kept as sent.
    pub fn redirect_https(&mut self, req: &Request<'_, '_>, local: SocketAddr, port: u16) -> Reply {
        let mut reply = self.error_reply(308);
        let authority = req.target.split_once("://").map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest));
        let host = match authority.map(str::as_bytes).or(req.host) {
            Some(h) if !h.is_empty() => host_without_port(h).to_vec(),
            _ => match local.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]").into_bytes(),
                ip => ip.to_string().into_bytes(),
            },
        };
        let path = match req.target.split_once("://") {
            Some((_, rest)) => rest.find(['/', '?']).map_or("/", |i| &rest[i..]),
            None if req.target.starts_with('/') => req.target,
            None => "/",
        };
        let mut location = b"https://".to_vec();
        location.extend_from_slice(&host);
        if port != 443 {
            location.extend_from_slice(format!(":{port}").as_bytes());
        }
        if !path.starts_with('/') {
            location.push(b'/');
        }
        location.extend_from_slice(path.as_bytes());
        self.fields.add("Location", &location);
        reply.close = false;
        reply
    }

    fn route(
        &mut self,
        req: &Request<'_, '_>,
        now: u64,
        peer: SocketAddr,
        local: SocketAddr,
        refused: &mut Option<wired_parser::Error>,
        applied: &mut Option<Box<rules::Applied>>,
    ) -> Action {
        let target = match parse_target(req.target, req.method) {
            Ok(t) => t,
            Err(e) => {
                *refused = Some(e);
                return Action::Reply(self.statics.error_reply(e.status(), &mut self.fields));
            }
        };
        match target.form {
            // RFC 9110 §9.3.7: OPTIONS * asks about the server as a whole.
            Form::Asterisk => {
                self.fields.add("Allow", b"GET, HEAD, OPTIONS");
                return Action::Reply(Reply::new(204, crate::response::Body::Empty));
            }
            // RFC 9110 §9.3.6: CONNECT asks for a tunnel; wired is no proxy.
            Form::Authority => {
                self.fields.add("Allow", b"GET, HEAD, OPTIONS");
                return Action::Reply(self.statics.error_reply(405, &mut self.fields));
            }
            Form::Origin | Form::Absolute => {}
        }
        let path = match normalize_path(target.path, &mut self.path) {
            Ok(p) => p,
            Err(e) => {
                *refused = Some(e);
                return Action::Reply(self.statics.error_reply(e.status(), &mut self.fields));
            }
        };
        // A panic on demand, for the test that a panicking handler costs one
        // connection and not its worker (tests/integration/hostile.rs). Debug
        // builds only, and not under the fuzzer, which would find it.
        #[cfg(all(debug_assertions, not(fuzzing)))]
        if path == b"/__wired_test_panic" {
            panic!("test panic requested by {peer}");
        }
        let ctx = Ctx { req, method: req.method, path, query: target.query, now, peer, local };
        let scratch =
            route::Scratch { statics: &mut self.statics, fields: &mut self.fields, auth: &mut self.auth_memory };
        route::act(&self.config, scratch, &ctx, applied)
    }
}

/// `example.com:8080` → `example.com`; `[::1]:8080` → `[::1]`.
fn host_without_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        return match host.iter().position(|&b| b == b']') {
            Some(end) => host.get(..=end).unwrap_or(host),
            None => host,
        };
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(colon) => host.get(..colon).unwrap_or(host),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::host_without_port;

    #[test]
    fn ports_come_off_hosts() {
        assert_eq!(host_without_port(b"a.example:8080"), b"a.example");
        assert_eq!(host_without_port(b"a.example"), b"a.example");
        assert_eq!(host_without_port(b"[::1]:8080"), b"[::1]");
        assert_eq!(host_without_port(b"[::1]"), b"[::1]");
    }
}
