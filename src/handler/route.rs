//! Routing one request through the route table (`config/routes.rs`): the
//! host it names picks the server, its path the location, and the
//! location's action decides who answers. Every request goes this way,
//! whether the table came from flags or from a configuration file.

use std::path::{Path, PathBuf};

use wired_parser::{Method, Request};

use super::cgi::{self, Tree};
use super::static_files::{Site, StaticFiles};
use super::{Action, Ctx, autoindex, host_without_port, rules, upstream};
use crate::config::Config;
use crate::config::routes::{Action as Does, Found, Location, Piece, Server, Static, Template, Var};
use crate::config::rules::TryFile;
use crate::response::{Body, Fields, Reply};

/// What routing writes into, besides the answer: the handlers' state.
pub(super) struct Scratch<'a> {
    pub statics: &'a mut StaticFiles,
    pub fields: &'a mut Fields,
    pub auth: &'a mut rules::AuthMemory,
}

/// Who answers a request whose path is normalized (`ctx.path`); the
/// location's rules for its response go to `applied`.
pub(super) fn act(
    config: &Config,
    scratch: Scratch<'_>,
    ctx: &Ctx<'_, '_, '_>,
    applied: &mut Option<Box<rules::Applied>>,
) -> Action {
    let Scratch { statics, fields, auth } = scratch;
    let host = request_host(ctx.req);
    let server = config.routes.server_for(host);
    let location = match server.find(ctx.path) {
        Some(Found::Location(location)) => location,
        Some(Found::SlashRedirect(location)) => {
            // RFC 9110 §15.4.2: the resource is at the slashed URL (the
            // location's path is decoded: encoded again for the field).
            let mut to = Vec::with_capacity(location.matcher.path().len() + 16);
            autoindex::percent_encode_path(location.matcher.path().as_bytes(), &mut to);
            if let Some(q) = ctx.query {
                to.push(b'?');
                to.extend_from_slice(q);
            }
            let reply = statics.error_reply(301, fields);
            fields.add("Location", &to);
            return Action::Reply(reply);
        }
        // RFC 9110 §9.1: a method the server does not know gets 501.
        None if matches!(ctx.method, Method::Other(_)) => return Action::Reply(statics.error_reply(501, fields)),
        None => return Action::Reply(statics.error_reply(404, fields)),
    };
    if let Some(r) = &location.rules {
        match rules::check(r, ctx.req, ctx.peer.ip(), auth, fields) {
            rules::Verdict::Pass(a) => *applied = a,
            rules::Verdict::Stop { status, applied: a } => {
                *applied = a;
                if status == 204 {
                    return Action::Reply(Reply::new(204, Body::Empty));
                }
                return Action::Reply(statics.error_reply(status, fields));
            }
        }
    }
    perform(config, statics, fields, ctx, server, location, true)
}

/// What a location's action answers. `first`: the request came here by
/// its own path (a `try_files` fallback is routed once more with `false`,
/// so fallbacks never chain).
fn perform(
    config: &Config,
    statics: &mut StaticFiles,
    fields: &mut Fields,
    ctx: &Ctx<'_, '_, '_>,
    server: &Server,
    location: &Location,
    first: bool,
) -> Action {
    match &location.action {
        // Upstreams and programs take any method: the application decides
        // what it supports.
        Does::Proxy(route) => Action::Proxy(upstream::proxy(config, *route, ctx.req, ctx.path, ctx.query)),
        Does::FastCgi { group, root } => match config.doc_root(*root) {
            Some(dir) => Action::FastCgi(upstream::fastcgi_prefix(*group, dir, ctx.path)),
            None => Action::Reply(statics.error_reply(500, fields)),
        },
        Does::Cgi { dir, root } => {
            // The location's path is the programs' SCRIPT_NAME prefix; what
            // follows must start a new segment (`/cgi-bin` is not `/cgi-binary`).
            let prefix = location.matcher.path().trim_end_matches('/').as_bytes();
            let rest = ctx.path.get(prefix.len()..).unwrap_or_default();
            if !(rest.is_empty() || rest.starts_with(b"/")) {
                return Action::Reply(statics.error_reply(404, fields));
            }
            match cgi::find_in_dir(dir, prefix, rest) {
                Ok(mut script) => {
                    script.document_root = document_root(config, *root);
                    Action::Cgi(script)
                }
                Err(status) => Action::Reply(statics.error_reply(status, fields)),
            }
        }
        Does::Static(site) => match location.rules.as_ref().filter(|r| first && !r.try_files.is_empty()) {
            Some(r) => try_files(config, statics, fields, ctx, server, location, site, &r.try_files),
            None => files(config, statics, fields, ctx, location, site),
        },
        Does::WebSocket(endpoint) => {
            let name = location.matcher.path().trim_end_matches('/').as_bytes();
            let path_info = ctx.path.get(name.len()..).unwrap_or_default();
            let program = match endpoint {
                crate::config::routes::WsEndpoint::Program(p) => p.clone(),
                crate::config::routes::WsEndpoint::Echo => std::path::PathBuf::new(),
            };
            let script = cgi::Script {
                filename: program.clone(),
                program,
                interpreted: false,
                name: name.to_vec(),
                path_info: path_info.to_vec(),
                document_root: None,
            };
            Action::WebSocket(super::WebSocketTarget { endpoint: endpoint.clone(), script })
        }
        Does::Redirect { status, to } => {
            let to = substitute(to, config, server, ctx);
            let reply = statics.error_reply(*status, fields);
            fields.add("Location", &to);
            Action::Reply(reply)
        }
        Does::Respond { status, content_type, body } => {
            fields.add("Content-Type", content_type.as_bytes());
            Action::Reply(Reply::new(*status, Body::Owned(body.clone())))
        }
    }
}

/// `try_files` (nginx's): each path but the last is tried as a file (a
/// directory when it ends in `/`) of the location, and the first that
/// exists is served as if asked for; the last entry is a status to answer
/// with, or a URI routed again through the server's locations (an internal
/// redirect: `/index.html` for a single-page app, `/index.php?$args` for a
/// PHP front controller).
#[allow(clippy::too_many_arguments)]
fn try_files(
    config: &Config,
    statics: &mut StaticFiles,
    fields: &mut Fields,
    ctx: &Ctx<'_, '_, '_>,
    server: &Server,
    location: &Location,
    site: &Static,
    entries: &[TryFile],
) -> Action {
    let Some((last, tried)) = entries.split_last() else { return files(config, statics, fields, ctx, location, site) };
    for entry in tried {
        let TryFile::Path(t) = entry else { continue };
        let candidate = expand_uri(t, ctx.path);
        if exists(config, location, site, &candidate) {
            let here = Ctx { path: &candidate, ..*ctx };
            return files(config, statics, fields, &here, location, site);
        }
    }
    match last {
        TryFile::Status(code) => Action::Reply(statics.error_reply(*code, fields)),
        TryFile::Path(t) => {
            let uri = substitute(t, config, server, ctx);
            let (raw_path, query) = match uri.iter().position(|&b| b == b'?') {
                Some(q) => (uri.get(..q).unwrap_or_default(), uri.get(q + 1..)),
                None => (uri.as_slice(), None),
            };
            let mut normalized = Vec::with_capacity(raw_path.len());
            let Ok(path) = wired_parser::target::normalize_path(raw_path, &mut normalized) else {
                return Action::Reply(statics.error_reply(500, fields));
            };
            let path = path.to_vec();
            let there = Ctx { path: &path, query, ..*ctx };
            match server.find(&path) {
                Some(Found::Location(l)) => perform(config, statics, fields, &there, server, l, false),
                _ => Action::Reply(statics.error_reply(404, fields)),
            }
        }
    }
}

/// A `try_files` path with `$uri` (the request's decoded path) in it.
fn expand_uri(t: &Template, path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len() + 16);
    for piece in &t.pieces {
        match piece {
            Piece::Text(s) => out.extend_from_slice(s.as_bytes()),
            Piece::Var(Var::Uri | Var::RequestUri) => out.extend_from_slice(path),
            Piece::Var(_) => {}
        }
    }
    out
}

/// Whether a path names a file of the location (a directory, for a path
/// ending in `/`). Only existence: serving it goes through the static
/// handler, with its rules on hidden files and links.
fn exists(config: &Config, location: &Location, site: &Static, path: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Some(dir) = config.doc_root(site.root) else { return false };
    let rest = if site.alias {
        let p = location.matcher.path().trim_end_matches('/').as_bytes();
        match path.strip_prefix(p) {
            Some(r) if r.is_empty() || r.starts_with(b"/") => r,
            _ => return false,
        }
    } else {
        path
    };
    let rel = rest.strip_prefix(b"/").unwrap_or(rest);
    if rel.split(|&b| b == b'/').any(|s| s == b"..") {
        return false;
    }
    let full = dir.join(std::ffi::OsStr::from_bytes(rel));
    match std::fs::metadata(&full) {
        Ok(m) if path.ends_with(b"/") => m.is_dir(),
        Ok(m) => m.is_file(),
        Err(_) => false,
    }
}

/// A static location: a script by extension if one is configured and the
/// path names one, else the file.
fn files(
    config: &Config,
    statics: &mut StaticFiles,
    fields: &mut Fields,
    ctx: &Ctx<'_, '_, '_>,
    location: &Location,
    site: &Static,
) -> Action {
    let Some(dir) = config.doc_root(site.root) else {
        return Action::Reply(statics.error_reply(500, fields));
    };
    // Under `root` the whole path is looked up; under `alias` what follows
    // the location's path. That must start a new segment: `/static../x`
    // under an alias of `/static` would otherwise be `../x` under it.
    let (prefix, rest): (&[u8], &[u8]) = if site.alias {
        let p = location.matcher.path().as_bytes();
        let after = ctx.path.get(p.len()..).unwrap_or_default();
        match p.strip_suffix(b"/") {
            Some(trimmed) => (trimmed, ctx.path.get(trimmed.len()..).unwrap_or(b"/")),
            None if after.is_empty() => (p, b"/"),
            None if after.starts_with(b"/") => (p, after),
            None => return Action::Reply(statics.error_reply(404, fields)),
        }
    } else {
        (b"", ctx.path)
    };
    let tree = Tree { dir, follow_symlinks: config.follow_symlinks, prefix, rest };
    for ext in &site.cgi_ext {
        match cgi::find_by_extension(tree, &ext.ext) {
            Some(Ok(mut script)) => {
                script.program = ext.interpreter.clone();
                script.interpreted = true;
                script.document_root = document_root(config, site.root);
                return Action::Cgi(script);
            }
            Some(Err(status)) => return Action::Reply(statics.error_reply(status, fields)),
            None => {}
        }
    }
    if !site.fastcgi_ext.is_empty() {
        match upstream::fastcgi_extension(tree, &config.fastcgi_index, &site.fastcgi_ext) {
            Some(Ok(mut target)) => {
                target.script.document_root = document_root(config, site.root);
                return Action::FastCgi(target);
            }
            Some(Err(status)) => return Action::Reply(statics.error_reply(status, fields)),
            None => {}
        }
    }
    // RFC 9110 §9.1: a method the server does not know gets 501.
    if let Method::Other(_) = ctx.method {
        return Action::Reply(statics.error_reply(501, fields));
    }
    let autoindex = site.autoindex.unwrap_or(config.autoindex);
    Action::Reply(statics.handle(ctx, Site { root: site.root, path: rest, autoindex }, fields))
}

/// DOCUMENT_ROOT for a program found under root number `root`: `None` for
/// the top-level root, which the connection names itself.
fn document_root(config: &Config, root: usize) -> Option<PathBuf> {
    match root {
        0 => None,
        n => config.doc_root(n).map(Path::to_path_buf),
    }
}

/// The host a request names, without port or final dot: the authority of
/// an absolute-form target, which wins over the `Host` field (RFC 9112
/// §3.2.2), else the `Host` field (RFC 9110 §7.2; the parser has checked
/// its syntax, and that an HTTP/1.1 request has exactly one).
pub(super) fn request_host<'r>(req: &'r Request<'_, '_>) -> Option<&'r [u8]> {
    let authority = req
        .target
        .split_once("://")
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest).as_bytes());
    let host = host_without_port(authority.or(req.host)?);
    // RFC 1034 §3.1: `example.com.` is the same name, fully qualified.
    let host = host.strip_suffix(b".").unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

/// Whether the request came on a TLS listener: the handler does not see
/// the transport, but the address the client connected to says which
/// listener took it (a plain and a TLS listener never share an address).
fn came_over_tls(config: &Config, local: std::net::SocketAddr) -> bool {
    config.listen_tls.iter().any(|a| a.port() == local.port() && (a.ip().is_unspecified() || a.ip() == local.ip()))
}

/// A redirect's `Location`, its variables substituted.
fn substitute(to: &Template, config: &Config, server: &Server, ctx: &Ctx<'_, '_, '_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(to.source.len() + ctx.req.target.len());
    for piece in &to.pieces {
        match piece {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Var(Var::Scheme) => {
                out.extend_from_slice(if came_over_tls(config, ctx.local) { b"https" } else { b"http" });
            }
            // Without one (HTTP/1.0 may send none), the server's first
            // name, else the address the client connected to.
            Piece::Var(Var::Host) => match request_host(ctx.req) {
                Some(h) => out.extend(h.iter().map(u8::to_ascii_lowercase)),
                None => match server.names.iter().find(|n| !n.starts_with('*')) {
                    Some(name) => out.extend_from_slice(name.as_bytes()),
                    None => match ctx.local.ip() {
                        std::net::IpAddr::V6(ip) => out.extend_from_slice(format!("[{ip}]").as_bytes()),
                        ip => out.extend_from_slice(ip.to_string().as_bytes()),
                    },
                },
            },
            // As sent, but an absolute form is cut to its path and query.
            Piece::Var(Var::RequestUri) => push_origin_form(ctx.req.target, &mut out),
            Piece::Var(Var::Uri) => autoindex::percent_encode_path(ctx.path, &mut out),
            Piece::Var(Var::Args) => out.extend_from_slice(ctx.query.unwrap_or_default()),
        }
    }
    out
}

/// Append the path and query of a request target (RFC 9112 §3.2): an
/// origin form as it is, an absolute form without its scheme and authority
/// (and with a `/` when it has no path).
fn push_origin_form(target: &str, out: &mut Vec<u8>) {
    let Some((_, rest)) = target.split_once("://") else {
        out.extend_from_slice(target.as_bytes());
        return;
    };
    let rest = rest.as_bytes();
    match rest.iter().position(|&b| b == b'/' || b == b'?') {
        Some(i) if rest.get(i) == Some(&b'/') => out.extend_from_slice(rest.get(i..).unwrap_or_default()),
        Some(i) => {
            out.push(b'/');
            out.extend_from_slice(rest.get(i..).unwrap_or_default());
        }
        None => out.push(b'/'),
    }
}

#[cfg(test)]
mod tests {
    use super::push_origin_form;

    #[test]
    fn origin_forms() {
        for (target, want) in [("/a?b", "/a?b"), ("http://h:1/a?b", "/a?b"), ("http://h", "/"), ("http://h?q", "/?q")] {
            let mut out = Vec::new();
            push_origin_form(target, &mut out);
            assert_eq!(out, want.as_bytes(), "{target}");
        }
    }
}
