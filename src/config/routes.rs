//! The route table: which virtual server answers a request (by the host it
//! names), which location of that server (by its path), and what the
//! location does. One table, whether the routes came from the command line
//! ([`from_flags`]) or from a configuration file (`config/file.rs`); the
//! handlers route every request through it (`handler/route.rs`).
//!
//! Matching follows nginx, whose rules most operators already know:
//!
//! * **Servers** by name (RFC 9110 §7.2: the `Host` field, or the authority
//!   of an absolute-form target, RFC 9112 §3.2.2): an exact name first,
//!   then the longest wildcard `*.example.com` that covers the host (any
//!   depth of subdomain, not the bare domain), then the default server.
//! * **Locations** in the order they are stored, which the builder makes
//!   the order of precedence: exact matches (`= /path`) first, then
//!   prefixes, longest first. The first that matches answers.
//!
//! Nothing here does I/O: this is data, checked when it is built.

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use super::upstream::{FastcgiMatch, FastcgiRoute};
use super::{CgiDir, CgiExt, Config};

/// Every server and its locations.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// The virtual servers, in the order they were given.
    pub servers: Vec<Server>,
    /// The server for a host no name matches, and for a request without one.
    pub default: usize,
    /// Document roots besides the top-level one (`Config::root`): a root
    /// number `n > 0` is `roots[n - 1]` (see [`Config::doc_root`]).
    pub roots: Vec<PathBuf>,
}

/// A virtual server.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// Its names, lower case: exact (`example.com`) or wildcards (`*.example.com`).
    pub names: Vec<String>,
    /// Its locations, in match order.
    pub locations: Vec<Location>,
    /// The root of its document tree, for DOCUMENT_ROOT (a root number).
    pub root: usize,
}

/// A location: which paths it takes, and what it does with them.
#[derive(Debug, Clone)]
pub struct Location {
    /// Which paths.
    pub matcher: Match,
    /// What it does.
    pub action: Action,
    /// A prefix ending in `/` that also catches the path without it, with a
    /// 301 to the slashed one: nginx's rule for locations that pass
    /// requests on (a program there would otherwise see `/app` and build
    /// relative links from the wrong directory).
    pub slash_redirect: bool,
    /// Headers, CORS, a password, an address list, a file fallback, a body
    /// limit (`config/rules.rs`); `None` when the location sets none.
    pub rules: Option<std::sync::Arc<super::rules::Rules>>,
}

/// How a location matches the normalized request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// `= /path`: this path only.
    Exact(String),
    /// Every path starting with these bytes (`/app` takes `/application`
    /// too, as in nginx; end it with `/` to take one directory).
    Prefix(String),
    /// This path and everything below it (`--cgi`'s rule: `/cgi-bin` takes
    /// `/cgi-bin` and `/cgi-bin/x`, not `/cgi-binary`).
    Segment(String),
}

impl Match {
    /// The path or prefix as written.
    pub fn path(&self) -> &str {
        match self {
            Match::Exact(p) | Match::Prefix(p) | Match::Segment(p) => p,
        }
    }
}

/// What a location does with a request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Serve files, maybe running some of them (by extension).
    Static(Static),
    /// Run CGI programs from a directory (RFC 3875); the location's path is
    /// the programs' SCRIPT_NAME prefix.
    Cgi {
        /// The directory.
        dir: PathBuf,
        /// The document root named in DOCUMENT_ROOT (a root number).
        root: usize,
    },
    /// Pass every request to a FastCGI server, SCRIPT_FILENAME being the
    /// path under `root`.
    FastCgi {
        /// The upstream group (index into `Config::upstreams`).
        group: usize,
        /// The root the script names are under (a root number).
        root: usize,
    },
    /// Pass requests to an HTTP server: index into `Config::proxy`.
    Proxy(usize),
    /// Answer with a redirect (RFC 9110 §15.4).
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: u16,
        /// The `Location` value, with variables.
        to: Template,
    },
    /// Answer with a fixed response.
    Respond {
        /// The status.
        status: u16,
        /// The `Content-Type`.
        content_type: String,
        /// The body.
        body: Vec<u8>,
    },
    /// Upgrade requests to WebSocket (RFC 6455 §4.2) and serve the
    /// connection from then on.
    WebSocket(WsEndpoint),
}

/// Who speaks on the server's side of a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEndpoint {
    /// wired itself, sending every message back (`--ws-echo`).
    Echo,
    /// A program, one process per connection, a line per message
    /// (`--ws-program`).
    Program(PathBuf),
}

/// A WebSocket location given by a flag: its path and what serves it.
#[derive(Debug, Clone)]
pub struct WsRoute {
    /// The path (and everything below it).
    pub path: String,
    /// What serves it.
    pub endpoint: WsEndpoint,
}

/// Files from a root, or from an alias of the location's path.
#[derive(Debug, Clone, Default)]
pub struct Static {
    /// The directory (a root number, see [`Config::doc_root`]).
    pub root: usize,
    /// The location's path is replaced by the directory (nginx's `alias`),
    /// rather than looked up under it (`root`).
    pub alias: bool,
    /// List directories without `index.html`; `None`: `Config::autoindex`.
    pub autoindex: Option<bool>,
    /// Files with these extensions run as CGI programs by an interpreter.
    pub cgi_ext: Vec<CgiExt>,
    /// Files with these extensions run by a FastCGI server: the extension
    /// (without its dot) and the upstream group.
    pub fastcgi_ext: Vec<(String, usize)>,
}

/// A string with variables, such as a redirect's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Text and variables, in order.
    pub pieces: Vec<Piece>,
    /// As written, for `--check-config`.
    pub source: String,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A variable, substituted per request.
    Var(Var),
}

/// The variables a template may name (nginx's names and meanings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `$scheme`: `http` or `https`, by the listener the request came on.
    Scheme,
    /// `$host`: the host the client asked for, without its port.
    Host,
    /// `$request_uri`: the path and query as the client sent them.
    RequestUri,
    /// `$uri`: the normalized path, percent-encoded again.
    Uri,
    /// `$args`: the query, without its `?`.
    Args,
}

const VARS: [(&str, Var); 5] = [
    ("scheme", Var::Scheme),
    ("host", Var::Host),
    ("request_uri", Var::RequestUri),
    ("uri", Var::Uri),
    ("args", Var::Args),
];

impl Template {
    /// Read `$name` and `${name}` out of `s`; `$$` is a `$`. An unknown
    /// name is an error, so a typo does not go out as text.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(dollar) = rest.find('$') {
            text.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                text.push('$');
                rest = tail;
                continue;
            }
            let (name, tail) = match after.strip_prefix('{') {
                Some(braced) => {
                    let end = braced.find('}').ok_or_else(|| format!("'${{' without its '}}' in '{s}'"))?;
                    (&braced[..end], &braced[end + 1..])
                }
                None => {
                    let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            let Some(&(_, var)) = VARS.iter().find(|(n, _)| *n == name) else {
                let known: Vec<String> = VARS.iter().map(|(n, _)| format!("${n}")).collect();
                return Err(format!("'${name}' is not a variable (known: {}; '$$' is a '$')", known.join(", ")));
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Var(var));
            rest = tail;
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template { pieces, source: s.to_string() })
    }
}

/// What a server's locations say about a path.
#[derive(Debug, Clone, Copy)]
pub enum Found<'a> {
    /// This location answers.
    Location(&'a Location),
    /// The path is this location's prefix without its final `/`: redirect.
    SlashRedirect(&'a Location),
}

impl Server {
    /// The location for a normalized path: the first that matches, in the
    /// table's order (exact, then longest prefix).
    pub fn find(&self, path: &[u8]) -> Option<Found<'_>> {
        for location in &self.locations {
            match &location.matcher {
                Match::Exact(p) if path == p.as_bytes() => return Some(Found::Location(location)),
                Match::Exact(_) => {}
                Match::Prefix(p) => {
                    let p = p.as_bytes();
                    if path.starts_with(p) {
                        return Some(Found::Location(location));
                    }
                    if location.slash_redirect && p.len() > 1 && p.strip_suffix(b"/") == Some(path) {
                        return Some(Found::SlashRedirect(location));
                    }
                }
                Match::Segment(p) => {
                    let p = p.as_bytes();
                    if path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/")) {
                        return Some(Found::Location(location));
                    }
                }
            }
        }
        None
    }

    /// Whether a name of this server matches `host` exactly.
    fn is_named(&self, host: &[u8]) -> bool {
        self.names.iter().any(|n| !n.starts_with("*.") && n.as_bytes().eq_ignore_ascii_case(host))
    }

    /// The length of this server's longest wildcard covering `host`, if any.
    fn wildcard(&self, host: &[u8]) -> Option<usize> {
        self.names
            .iter()
            .filter_map(|n| n.strip_prefix('*'))
            .filter(|suffix| {
                // ".example.com": the host must have at least one label before it.
                host.len() > suffix.len()
                    && host
                        .get(host.len() - suffix.len()..)
                        .is_some_and(|end| end.eq_ignore_ascii_case(suffix.as_bytes()))
            })
            .map(str::len)
            .max()
    }
}

impl RouteTable {
    /// The server for a host (lower or upper case, without port and final
    /// dot); `None` or an unknown host: the default server.
    pub fn server_for(&self, host: Option<&[u8]>) -> &Server {
        let default = self.servers.get(self.default);
        let found = match (host, self.servers.len()) {
            (Some(host), 2..) => self.servers.iter().find(|s| s.is_named(host)).or_else(|| {
                let mut best: Option<(usize, &Server)> = None;
                for server in &self.servers {
                    if let Some(len) = server.wildcard(host)
                        && best.is_none_or(|(l, _)| len > l)
                    {
                        best = Some((len, server));
                    }
                }
                best.map(|(_, s)| s)
            }),
            _ => None,
        };
        match found.or(default) {
            Some(server) => server,
            None => &EMPTY,
        }
    }
}

/// What a table without servers (never built so) routes to: nothing.
static EMPTY: Server = Server { names: Vec::new(), locations: Vec::new(), root: 0 };

impl Default for RouteTable {
    /// One server without names, serving the top-level root: what wired
    /// does without route flags.
    fn default() -> Self {
        from_flags(&[], &[], &[], &[], &[])
    }
}

/// The table the route flags make: one default server whose locations are,
/// in this order, the WebSocket endpoints (`--ws-echo`, `--ws-program`),
/// then (the order wired has always tried them) the `--proxy` and `--ws-proxy`
/// prefixes (`proxy`, sorted longest first), the `--fastcgi /PREFIX`
/// routes, the `--cgi` directories, and last `/`: files under the root,
/// with `--cgi-ext` and `--fastcgi .EXT` files run by their extension.
pub fn from_flags(
    proxy: &[super::ProxyRoute],
    fastcgi: &[FastcgiRoute],
    cgi: &[CgiDir],
    cgi_ext: &[CgiExt],
    websocket: &[WsRoute],
) -> RouteTable {
    let mut locations = Vec::new();
    for ws in websocket {
        locations.push(Location {
            matcher: Match::Segment(ws.path.clone()),
            action: Action::WebSocket(ws.endpoint.clone()),
            slash_redirect: false,
            rules: None,
        });
    }
    for (i, route) in proxy.iter().enumerate() {
        let matcher = Match::Prefix(route.prefix.clone());
        locations.push(Location { matcher, action: Action::Proxy(i), slash_redirect: true, rules: None });
    }
    let mut fastcgi_ext = Vec::new();
    for route in fastcgi {
        match &route.matcher {
            FastcgiMatch::Prefix(p) => locations.push(Location {
                matcher: Match::Prefix(p.clone()),
                action: Action::FastCgi { group: route.group, root: 0 },
                slash_redirect: false,
                rules: None,
            }),
            FastcgiMatch::Extension(ext) => fastcgi_ext.push((ext.clone(), route.group)),
        }
    }
    for dir in cgi {
        locations.push(Location {
            matcher: Match::Segment(dir.prefix.clone()),
            action: Action::Cgi { dir: dir.dir.clone(), root: 0 },
            slash_redirect: false,
            rules: None,
        });
    }
    let files = Static { root: 0, alias: false, autoindex: None, cgi_ext: cgi_ext.to_vec(), fastcgi_ext };
    locations.push(Location {
        matcher: Match::Prefix("/".into()),
        action: Action::Static(files),
        slash_redirect: false,
        rules: None,
    });
    RouteTable { servers: vec![Server { names: Vec::new(), locations, root: 0 }], default: 0, roots: Vec::new() }
}

impl Config {
    /// The directory of a root number: 0 is the top-level root (`--root`,
    /// `root`), `n` is `routes.roots[n - 1]`.
    pub fn doc_root(&self, root: usize) -> Option<&std::path::Path> {
        match root {
            0 => Some(&self.root),
            n => self.routes.roots.get(n - 1).map(PathBuf::as_path),
        }
    }

    /// The route table in words, one line per server and per location in
    /// match order (what `--check-config` prints).
    pub fn describe_routes(&self) -> String {
        let mut out = String::new();
        let table = &self.routes;
        for (i, server) in table.servers.iter().enumerate() {
            let names = if server.names.is_empty() { "(no name)".to_string() } else { server.names.join(" ") };
            let default = if i == table.default { " (default)" } else { "" };
            let _ = writeln!(out, "server {names}{default}");
            for location in &server.locations {
                let matcher = match &location.matcher {
                    Match::Exact(p) => format!("= {p}"),
                    Match::Prefix(p) => p.clone(),
                    Match::Segment(p) => format!("{p} (and below)"),
                };
                let _ = writeln!(out, "  location {matcher}: {}", self.describe_action(&location.action));
            }
        }
        out
    }

    fn describe_action(&self, action: &Action) -> String {
        let root = |n: usize| self.doc_root(n).map_or_else(|| "?".to_string(), |p| p.display().to_string());
        let group = |g: usize| match self.upstreams.get(g) {
            Some(group) => {
                let servers: Vec<String> = group.servers.iter().map(ToString::to_string).collect();
                if servers.len() == 1 && servers[0] == group.name {
                    group.name.clone()
                } else {
                    format!("{} ({})", group.name, servers.join(", "))
                }
            }
            None => "?".to_string(),
        };
        match action {
            Action::Static(s) => {
                let mut text = format!("{} {}", if s.alias { "alias" } else { "files from" }, root(s.root));
                if s.autoindex.unwrap_or(self.autoindex) {
                    text.push_str(", with listings");
                }
                for e in &s.cgi_ext {
                    let _ = write!(text, ", .{} run by {}", e.ext, e.interpreter.display());
                }
                for (ext, g) in &s.fastcgi_ext {
                    let _ = write!(text, ", .{ext} by FastCGI {}", group(*g));
                }
                text
            }
            Action::Cgi { dir, .. } => format!("CGI programs in {}", dir.display()),
            Action::FastCgi { group: g, root: r } => format!("FastCGI {}, scripts under {}", group(*g), root(*r)),
            Action::Proxy(i) => match self.proxy.get(*i) {
                Some(route) => {
                    let path = route.replace.as_deref().map_or(String::new(), |p| format!(", path {p}"));
                    let what = if route.websocket_only { "WebSocket proxy" } else { "proxy" };
                    format!("{what} to {}{path}", group(route.group))
                }
                None => "proxy ?".to_string(),
            },
            Action::WebSocket(WsEndpoint::Echo) => "WebSocket echo".to_string(),
            Action::WebSocket(WsEndpoint::Program(p)) => format!("WebSocket program {}", p.display()),
            Action::Redirect { status, to } => format!("redirect {status} to {}", to.source),
            Action::Respond { status, content_type, body } => {
                format!("respond {status}, {content_type}, {} bytes", body.len())
            }
        }
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = VARS.iter().find(|(_, v)| v == self).map_or("?", |(n, _)| n);
        write!(f, "${name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(matcher: Match, slash_redirect: bool) -> Location {
        Location { matcher, action: Action::Proxy(0), slash_redirect, rules: None }
    }

    fn server(names: &[&str], locations: Vec<Location>) -> Server {
        Server { names: names.iter().map(|n| n.to_string()).collect(), locations, root: 0 }
    }

    fn found(server: &Server, path: &str) -> Option<String> {
        match server.find(path.as_bytes())? {
            Found::Location(l) => Some(l.matcher.path().to_string()),
            Found::SlashRedirect(l) => Some(format!("301 {}", l.matcher.path())),
        }
    }

    #[test]
    fn locations_match_in_table_order() {
        let s = server(
            &[],
            vec![
                location(Match::Exact("/app".into()), false),
                location(Match::Prefix("/app/api/".into()), true),
                location(Match::Prefix("/app/".into()), true),
                location(Match::Segment("/cgi".into()), false),
                location(Match::Prefix("/".into()), false),
            ],
        );
        assert_eq!(found(&s, "/app").as_deref(), Some("/app"));
        assert_eq!(found(&s, "/app/api/x").as_deref(), Some("/app/api/"));
        assert_eq!(found(&s, "/app/api").as_deref(), Some("301 /app/api/"));
        assert_eq!(found(&s, "/app/x").as_deref(), Some("/app/"));
        assert_eq!(found(&s, "/cgi").as_deref(), Some("/cgi"));
        assert_eq!(found(&s, "/cgi/x").as_deref(), Some("/cgi"));
        assert_eq!(found(&s, "/cgix").as_deref(), Some("/"));
        assert_eq!(found(&server(&[], vec![]), "/"), None);
    }

    #[test]
    fn servers_by_exact_name_then_longest_wildcard_then_default() {
        let table = RouteTable {
            servers: vec![
                server(&["a.example"], vec![]),
                server(&["*.example"], vec![]),
                server(&["*.b.example", "c.example"], vec![]),
                server(&["fallback"], vec![]),
            ],
            default: 3,
            roots: Vec::new(),
        };
        let pick = |host: Option<&str>| {
            let s = table.server_for(host.map(str::as_bytes));
            s.names[0].clone()
        };
        assert_eq!(pick(Some("a.example")), "a.example");
        assert_eq!(pick(Some("A.Example")), "a.example");
        assert_eq!(pick(Some("x.example")), "*.example");
        assert_eq!(pick(Some("x.y.example")), "*.example");
        assert_eq!(pick(Some("x.b.example")), "*.b.example");
        assert_eq!(pick(Some("c.example")), "*.b.example");
        // A wildcard does not cover the bare domain.
        assert_eq!(pick(Some("example")), "fallback");
        assert_eq!(pick(Some("other")), "fallback");
        assert_eq!(pick(None), "fallback");
    }

    #[test]
    fn templates() {
        let t = Template::parse("https://$host${request_uri}?x=$$1").unwrap();
        assert_eq!(
            t.pieces,
            vec![
                Piece::Text("https://".into()),
                Piece::Var(Var::Host),
                Piece::Var(Var::RequestUri),
                Piece::Text("?x=$1".into()),
            ]
        );
        assert_eq!(Template::parse("/a").unwrap().pieces, vec![Piece::Text("/a".into())]);
        assert!(Template::parse("$hostname").unwrap_err().contains("'$hostname' is not a variable"));
        assert!(Template::parse("${host").is_err());
        assert_eq!(Var::RequestUri.to_string(), "$request_uri");
    }

    #[test]
    fn flags_make_one_default_server() {
        let cgi = [CgiDir { prefix: "/cgi-bin".into(), dir: "cgi".into() }];
        let table = from_flags(&[], &[], &cgi, &[], &[]);
        let s = table.server_for(Some(b"anything"));
        assert_eq!(found(s, "/cgi-bin/x").as_deref(), Some("/cgi-bin"));
        assert_eq!(found(s, "/index.html").as_deref(), Some("/"));
    }
}
