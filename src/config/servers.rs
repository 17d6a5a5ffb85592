//! The `[[server]]` blocks of a configuration file and their
//! `[[server.location]]`s, checked and turned into the route table
//! (`routes.rs`): names validated, roots opened as directories, each
//! location's keys checked against the one action it names, and the
//! locations put in nginx's order of precedence (exact matches first, then
//! prefixes, longest first).

use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::file::{At, File, LocationBlock, ServerBlock, at};
use super::routes::{Action, Location, Match, RouteTable, Server, Static, Template, WsEndpoint};
use super::rules::{BasicAuth, Cors, Rules, parse_access, parse_try_files, read_htpasswd};
use super::{CgiExt, Config, upstream};
use crate::tls::{CertPair, TlsSettings};

/// Build the route table of `file` into `c` (and the servers' certificates
/// into `tls`). A file without servers keeps the flags' table.
pub(super) fn build(file: &File, c: &mut Config, tls: &mut TlsSettings) -> Result<(), At> {
    let mut default = None;
    for (i, block) in file.server.iter().enumerate() {
        if let Some(d) = &block.get_ref().default
            && *d.get_ref()
        {
            if default.is_some() {
                return Err(at(d, "only one server can be the default"));
            }
            default = Some(i);
        }
    }
    let default = default.unwrap_or(0);
    // The top-level root: as given, else the default server's.
    let default_root = file.server.get(default).and_then(|s| s.get_ref().root.as_ref());
    if let Some(root) = file.root.as_ref().or(default_root) {
        c.root = PathBuf::from(root.get_ref());
    }
    if file.server.is_empty() {
        return Ok(());
    }
    let mut roots = Vec::new();
    let mut servers: Vec<Server> = Vec::new();
    for block in &file.server {
        let server = server(block, c, &mut roots, tls)?;
        for (name, span) in block.get_ref().names.iter().map(|n| (n.get_ref().to_ascii_lowercase(), n.span())) {
            if servers.iter().any(|s| s.names.contains(&name)) {
                return Err(At(span, format!("the name '{name}' is already another server's")));
            }
        }
        servers.push(server);
    }
    c.routes = RouteTable { servers, default, roots };
    Ok(())
}

/// One server block.
fn server(
    block: &Spanned<ServerBlock>,
    c: &mut Config,
    roots: &mut Vec<PathBuf>,
    tls: &mut TlsSettings,
) -> Result<Server, At> {
    let b = block.get_ref();
    let mut names = Vec::new();
    for n in &b.names {
        names.push(server_name(n)?);
    }
    let root = match &b.root {
        Some(r) => root_id(r, roots)?,
        None => 0,
    };
    match (&b.tls_cert, &b.tls_key) {
        (Some(cert), Some(key)) => {
            if names.is_empty() {
                return Err(at(cert, "a server's certificate is chosen by its names (SNI): give the server names"));
            }
            let pair = CertPair { cert: cert.get_ref().into(), key: key.get_ref().into() };
            for name in &names {
                tls.by_name.push((name.clone(), pair.clone()));
            }
        }
        (Some(cert), None) => return Err(at(cert, "tls_cert needs its tls_key")),
        (None, Some(key)) => return Err(at(key, "tls_key needs its tls_cert")),
        (None, None) => {}
    }
    let mut located: Vec<(Location, Range<usize>)> = Vec::new();
    for l in &b.location {
        let location = location(l, root, b.autoindex, c, roots)?;
        if located.iter().any(|(o, _)| o.matcher == location.matcher) {
            return Err(at(&l.path, format!("the location '{}' is given twice", l.path.get_ref())));
        }
        located.push((location, l.path.span()));
    }
    // nginx's precedence: exact matches, then prefixes, longest first (the
    // sort is stable, so the file's order stays among equals).
    located.sort_by_key(|(l, _)| match &l.matcher {
        Match::Exact(_) => (0, 0),
        Match::Prefix(p) | Match::Segment(p) => (1, usize::MAX - p.len()),
    });
    let mut locations: Vec<Location> = located.into_iter().map(|(l, _)| l).collect();
    // `/app/` redirects `/app` to itself unless a location takes `/app`.
    let taken: Vec<String> = locations.iter().map(|l| l.matcher.path().to_string()).collect();
    for l in &mut locations {
        if let Match::Prefix(p) = &l.matcher
            && let Some(bare) = p.strip_suffix('/')
        {
            l.slash_redirect &= !bare.is_empty() && !taken.iter().any(|t| t == bare);
        }
    }
    // Paths no location takes are files under the server's root.
    if !locations.iter().any(|l| l.matcher == Match::Prefix("/".into())) {
        let files = Static { root, autoindex: b.autoindex, ..Static::default() };
        locations.push(Location {
            matcher: Match::Prefix("/".into()),
            action: Action::Static(files),
            slash_redirect: false,
            rules: None,
        });
    }
    Ok(Server { names, locations, root })
}

/// A server name: `example.com`, `*.example.com`, an IP address; lower case.
fn server_name(n: &Spanned<String>) -> Result<String, At> {
    let name = n.get_ref().to_ascii_lowercase();
    let plain = name.strip_prefix("*.").unwrap_or(&name);
    if plain.is_empty() || plain.contains('*') {
        return Err(at(n, format!("'{name}' is not a server name: a wildcard is '*.' and a domain (*.example.com)")));
    }
    let ipv6 = plain.starts_with('[') && plain.ends_with(']');
    if !ipv6 && plain.contains(':') {
        return Err(at(
            n,
            format!("'{name}' has a port: a server answers on every listen address, so its names have none"),
        ));
    }
    let valid = ipv6 || plain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !valid {
        return Err(at(n, format!("'{name}' is not a server name (letters, digits, '-', '.', or *.domain)")));
    }
    Ok(name.trim_end_matches('.').to_string())
}

/// The root number of a directory, added to `roots` the first time
/// (canonical: scripts name their files by it).
fn root_id(dir: &Spanned<String>, roots: &mut Vec<PathBuf>) -> Result<usize, At> {
    let real = std::fs::canonicalize(dir.get_ref())
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| at(dir, format!("{} is not a directory", dir.get_ref())))?;
    let index = match roots.iter().position(|r| *r == real) {
        Some(i) => i,
        None => {
            roots.push(real);
            roots.len() - 1
        }
    };
    Ok(index + 1)
}

/// The keys any location may hold, whatever it does (`rules.rs`).
const RULE_KEYS: [&str; 13] = [
    "add_header",
    "add_header_always",
    "cors_origins",
    "cors_credentials",
    "cors_methods",
    "cors_headers",
    "cors_expose",
    "cors_max_age",
    "auth_basic",
    "auth_basic_user_file",
    "access",
    "try_files",
    "max_body_bytes",
];

/// The keys a location may hold besides its path, by what it does.
fn allowed(doing: &str) -> &'static [&'static str] {
    match doing {
        "files" => &["root", "alias", "autoindex", "cgi_ext", "fastcgi", "fastcgi_ext"],
        "fastcgi" => &["fastcgi", "root"],
        "redirect" => &["redirect", "status"],
        "respond" => &["respond", "status", "content_type"],
        "proxy" => &["proxy"],
        "ws_echo" => &["ws_echo"],
        "ws_program" => &["ws_program"],
        "ws_proxy" => &["ws_proxy"],
        _ => &["cgi"],
    }
}

/// One location block, for a server whose root and autoindex are given.
fn location(
    l: &LocationBlock,
    server_root: usize,
    server_autoindex: Option<bool>,
    c: &mut Config,
    roots: &mut Vec<PathBuf>,
) -> Result<Location, At> {
    let matcher = location_path(&l.path)?;
    let exact = matches!(matcher, Match::Exact(_));
    let present: Vec<(&str, Range<usize>)> = [
        ("root", l.root.as_ref().map(Spanned::span)),
        ("alias", l.alias.as_ref().map(Spanned::span)),
        ("autoindex", l.autoindex.as_ref().map(Spanned::span)),
        ("cgi", l.cgi.as_ref().map(Spanned::span)),
        ("cgi_ext", l.cgi_ext.as_ref().map(Spanned::span)),
        ("fastcgi", l.fastcgi.as_ref().map(Spanned::span)),
        ("fastcgi_ext", l.fastcgi_ext.as_ref().map(Spanned::span)),
        ("proxy", l.proxy.as_ref().map(Spanned::span)),
        ("ws_echo", l.ws_echo.as_ref().filter(|e| *e.get_ref()).map(Spanned::span)),
        ("ws_program", l.ws_program.as_ref().map(Spanned::span)),
        ("ws_proxy", l.ws_proxy.as_ref().map(Spanned::span)),
        ("redirect", l.redirect.as_ref().map(Spanned::span)),
        ("respond", l.respond.as_ref().map(Spanned::span)),
        ("status", l.status.as_ref().map(Spanned::span)),
        ("content_type", l.content_type.as_ref().map(Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(k, s)| Some((k, s?)))
    .collect();
    // `fastcgi` beside `fastcgi_ext` only says which server runs those files.
    let helper = l.fastcgi_ext.is_some();
    let doers: Vec<&(&str, Range<usize>)> = present
        .iter()
        .filter(|(k, _)| {
            ["proxy", "cgi", "redirect", "respond", "ws_echo", "ws_program", "ws_proxy"].contains(k)
                || (*k == "fastcgi" && !helper)
        })
        .collect();
    if let [first, second, ..] = doers.as_slice() {
        return Err(At(
            second.1.clone(),
            format!("a location does one thing: '{}' and '{}' cannot both be here", first.0, second.0),
        ));
    }
    let doing = doers.first().map_or("files", |(k, _)| k);
    if let Some((k, s)) = present.iter().find(|(k, _)| !allowed(doing).contains(k) && !RULE_KEYS.contains(k)) {
        let what = if doing == "files" { "serves files".to_string() } else { format!("has '{doing}'") };
        return Err(At(s.clone(), format!("'{k}' has no meaning in a location that {what}")));
    }
    if exact && (l.alias.is_some() || l.cgi.is_some()) {
        let s = l.alias.as_ref().or(l.cgi.as_ref()).map_or(l.path.span(), Spanned::span);
        return Err(At(s, "alias and cgi name a directory, for a prefix location: not for an exact '= /path'".into()));
    }
    let passes = matches!(doing, "proxy" | "fastcgi" | "cgi" | "ws_proxy");
    let slash_redirect = passes && matches!(&matcher, Match::Prefix(p) if p.len() > 1 && p.ends_with('/'));
    let action = match doing {
        "proxy" => {
            let url = l.proxy.as_ref().ok_or_else(|| at(&l.path, "proxy"))?;
            let route = upstream::parse_proxy(&format!("{}={}", matcher.path(), url.get_ref()), &mut c.upstreams)
                .map_err(|e| at(url, format!("proxy: {e}")))?;
            c.proxy.push(route);
            Action::Proxy(c.proxy.len() - 1)
        }
        "ws_proxy" => {
            let url = l.ws_proxy.as_ref().ok_or_else(|| at(&l.path, "ws_proxy"))?;
            let mut route = upstream::parse_proxy(&format!("{}={}", matcher.path(), url.get_ref()), &mut c.upstreams)
                .map_err(|e| at(url, format!("ws_proxy: {e}")))?;
            route.websocket_only = true;
            c.proxy.push(route);
            Action::Proxy(c.proxy.len() - 1)
        }
        "ws_echo" => Action::WebSocket(WsEndpoint::Echo),
        "ws_program" => {
            let program = l.ws_program.as_ref().ok_or_else(|| at(&l.path, "ws_program"))?;
            let path = std::path::absolute(program.get_ref()).map_err(|e| at(program, e.to_string()))?;
            if !path.is_file() {
                return Err(at(program, format!("{} is not a file", program.get_ref())));
            }
            Action::WebSocket(WsEndpoint::Program(path))
        }
        "fastcgi" => {
            let target = l.fastcgi.as_ref().ok_or_else(|| at(&l.path, "fastcgi"))?;
            let group = upstream::group_for(&mut c.upstreams, target.get_ref()).map_err(|e| at(target, e))?;
            let root = match &l.root {
                Some(r) => root_id(r, roots)?,
                None => server_root,
            };
            Action::FastCgi { group, root }
        }
        "cgi" => {
            let dir = l.cgi.as_ref().ok_or_else(|| at(&l.path, "cgi"))?;
            if !std::path::Path::new(dir.get_ref()).is_dir() {
                return Err(at(dir, format!("{} is not a directory", dir.get_ref())));
            }
            Action::Cgi { dir: PathBuf::from(dir.get_ref()), root: server_root }
        }
        "redirect" => redirect(l)?,
        "respond" => respond(l)?,
        _ => Action::Static(files(l, server_root, server_autoindex, c, roots)?),
    };
    let rules = rules(l)?;
    if !rules.try_files.is_empty() && !matches!(action, Action::Static(_)) {
        let s = l.try_files.as_ref().map_or(l.path.span(), Spanned::span);
        return Err(At(s, "try_files is for a location that serves files".into()));
    }
    let rules = (!rules.is_empty()).then(|| std::sync::Arc::new(rules));
    Ok(Location { matcher, action, slash_redirect, rules })
}

/// The rules a location adds around its action (`rules.rs`).
fn rules(l: &LocationBlock) -> Result<Rules, At> {
    let mut r = Rules::default();
    for (name, value) in l.add_header.iter().flat_map(|h| h.get_ref().iter()) {
        let token =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        // RFC 9110 §5.1, §5.5: a field name is a token; a value has no CR, LF or NUL.
        if !token || value.get_ref().bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(at(value, format!("add_header: '{name}: {}' is not a header field", value.get_ref())));
        }
        r.add_header.push((name.clone(), value.get_ref().clone()));
    }
    r.add_header_always = l.add_header_always.unwrap_or(false);
    if let Some(origins) = &l.cors_origins {
        let strings = |v: &Option<Vec<Spanned<String>>>| -> Vec<String> {
            v.iter().flatten().map(|s| s.get_ref().clone()).collect()
        };
        let list: Vec<String> = origins.get_ref().iter().map(|o| o.get_ref().clone()).collect();
        if list.is_empty() {
            return Err(at(origins, "cors_origins: name at least one origin, or \"*\""));
        }
        for o in origins.get_ref() {
            let ok = o.get_ref() == "*"
                || (o.get_ref().starts_with("http://") || o.get_ref().starts_with("https://"))
                    && !o.get_ref().ends_with('/');
            if !ok {
                return Err(at(
                    o,
                    format!("cors_origins: '{}' is not an origin like https://app.example", o.get_ref()),
                ));
            }
        }
        r.cors = Some(Cors {
            origins: list,
            credentials: l.cors_credentials.unwrap_or(false),
            methods: strings(&l.cors_methods),
            headers: strings(&l.cors_headers),
            expose: strings(&l.cors_expose),
            max_age: match &l.cors_max_age {
                Some(n) => Some(u64::try_from(*n.get_ref()).map_err(|_| at(n, "cors_max_age: seconds, 0 or more"))?),
                None => None,
            },
        });
    }
    match (&l.auth_basic, &l.auth_basic_user_file) {
        (Some(realm), Some(file)) => {
            if realm.get_ref().contains(['"', '\\']) || realm.get_ref().bytes().any(|b| b.is_ascii_control()) {
                return Err(at(realm, "auth_basic: a realm without quotes, backslashes or control characters"));
            }
            let users = read_htpasswd(std::path::Path::new(file.get_ref())).map_err(|e| at(file, e))?;
            r.auth = Some(BasicAuth::new(realm.get_ref().clone(), users));
        }
        (Some(realm), None) => return Err(at(realm, "auth_basic needs its auth_basic_user_file")),
        (None, Some(file)) => return Err(at(file, "auth_basic_user_file needs auth_basic (the realm)")),
        (None, None) => {}
    }
    for line in l.access.iter().flatten() {
        r.access.push(parse_access(line.get_ref()).map_err(|e| at(line, format!("access: {e}")))?);
    }
    if let Some(t) = &l.try_files {
        let entries: Vec<String> = t.get_ref().iter().map(|e| e.get_ref().clone()).collect();
        r.try_files = parse_try_files(&entries).map_err(|e| at(t, format!("try_files: {e}")))?;
    }
    if let Some(n) = &l.max_body_bytes {
        r.max_body_bytes = Some(u64::try_from(*n.get_ref()).map_err(|_| at(n, "max_body_bytes: bytes, 0 or more"))?);
    }
    Ok(r)
}

/// `path`: `= /exact` or a prefix, written as requests are matched
/// (decoded, without `.` or `..` segments).
fn location_path(p: &Spanned<String>) -> Result<Match, At> {
    let raw = p.get_ref().trim();
    if raw.starts_with('~') {
        return Err(at(
            p,
            "regular expressions are not supported: use a prefix or '= /path' (docs/configuration.md says why)",
        ));
    }
    let (exact, path) = match raw.strip_prefix('=') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, raw),
    };
    let dotted = path.split('/').any(|s| s == "." || s == "..");
    if !path.starts_with('/') || path.contains("//") || dotted || path.contains(['?', '#']) {
        return Err(at(
            p,
            format!("'{raw}' is not a location path: '/prefix' or '= /path', without '//', '.', '..', '?' or '#'"),
        ));
    }
    if path.bytes().any(|b| b.is_ascii_control()) {
        return Err(at(p, "a location path holds no control characters"));
    }
    Ok(if exact { Match::Exact(path.to_string()) } else { Match::Prefix(path.to_string()) })
}

/// A location that serves files: its root or alias (else the server's
/// root), and the files it runs by extension.
fn files(
    l: &LocationBlock,
    server_root: usize,
    server_autoindex: Option<bool>,
    c: &mut Config,
    roots: &mut Vec<PathBuf>,
) -> Result<Static, At> {
    if let (Some(_), Some(alias)) = (&l.root, &l.alias) {
        return Err(at(alias, "root and alias: a location has one or the other"));
    }
    let root = match l.root.as_ref().or(l.alias.as_ref()) {
        Some(dir) => root_id(dir, roots)?,
        None => server_root,
    };
    let mut site = Static {
        root,
        alias: l.alias.is_some(),
        autoindex: l.autoindex.as_ref().map(|a| *a.get_ref()).or(server_autoindex),
        ..Static::default()
    };
    for (ext, interpreter) in l.cgi_ext.iter().flat_map(|m| m.get_ref()) {
        let ext = extension(ext).ok_or_else(|| at(interpreter, format!("cgi_ext: '{ext}' is not an extension")))?;
        if interpreter.get_ref().is_empty() {
            return Err(at(interpreter, "cgi_ext: the interpreter is a program's path"));
        }
        site.cgi_ext.push(CgiExt { ext, interpreter: PathBuf::from(interpreter.get_ref()) });
    }
    if let Some(exts) = &l.fastcgi_ext {
        let target =
            l.fastcgi.as_ref().ok_or_else(|| at(exts, "fastcgi_ext needs fastcgi: the server that runs them"))?;
        let group = upstream::group_for(&mut c.upstreams, target.get_ref()).map_err(|e| at(target, e))?;
        for e in exts.get_ref() {
            let ext = extension(e.get_ref()).ok_or_else(|| at(e, format!("'{}' is not an extension", e.get_ref())))?;
            site.fastcgi_ext.push((ext, group));
        }
    }
    Ok(site)
}

/// `php` or `.php` → `php`.
fn extension(e: &str) -> Option<String> {
    let e = e.strip_prefix('.').unwrap_or(e);
    (!e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| e.to_string())
}

/// `redirect` and its `status` (302 unless given, as nginx's `return URL`).
fn redirect(l: &LocationBlock) -> Result<Action, At> {
    let to = l.redirect.as_ref().ok_or_else(|| at(&l.path, "redirect"))?;
    if to.get_ref().bytes().any(|b| b.is_ascii_control()) {
        return Err(at(to, "a redirect's target holds no control characters"));
    }
    let template = Template::parse(to.get_ref()).map_err(|e| at(to, e))?;
    let status = match &l.status {
        // RFC 9110 §15.4: the redirections that carry a Location.
        Some(s) if [301, 302, 303, 307, 308].contains(s.get_ref()) => *s.get_ref() as u16,
        Some(s) => return Err(at(s, format!("{} is not a redirect status (301, 302, 303, 307, 308)", s.get_ref()))),
        None => 302,
    };
    Ok(Action::Redirect { status, to: template })
}

/// `respond` with its `status` (200 unless given) and `content_type`.
fn respond(l: &LocationBlock) -> Result<Action, At> {
    let body = l.respond.as_ref().ok_or_else(|| at(&l.path, "respond"))?;
    let status = match &l.status {
        // Never 1xx (RFC 9110 §15.2): those are interim, not an answer.
        Some(s) if (200..=599).contains(s.get_ref()) => *s.get_ref() as u16,
        Some(s) => return Err(at(s, format!("{} is not a final status (200 to 599)", s.get_ref()))),
        None => 200,
    };
    // RFC 9110 §15.3.5, §15.4.5: a 204 or a 304 has no content.
    if matches!(status, 204 | 304) && !body.get_ref().is_empty() {
        return Err(at(body, format!("a {status} response has no body: respond = \"\"")));
    }
    let content_type = match &l.content_type {
        Some(t) if !t.get_ref().is_empty() && t.get_ref().bytes().all(|b| b == b' ' || b.is_ascii_graphic()) => {
            t.get_ref().clone()
        }
        Some(t) => return Err(at(t, "content_type is a media type such as \"text/html; charset=utf-8\"")),
        None => "text/plain; charset=utf-8".to_string(),
    };
    Ok(Action::Respond { status, content_type, body: body.get_ref().as_bytes().to_vec() })
}
