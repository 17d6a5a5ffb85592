//! The upstream part of the configuration: `--upstream`, `--proxy` and
//! `--fastcgi`, read into groups of servers and the routes that use them.
//! Names are resolved here, at startup: the event loop never waits on DNS.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::upstream::{Addr, Group};

/// Connect, send, first byte and read timeouts for an upstream exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamTimeouts {
    /// The connection must be up within this (`--upstream-connect-timeout`).
    pub connect: Duration,
    /// Longest the upstream may go without taking request bytes (`--upstream-send-timeout`).
    pub send: Duration,
    /// The response must begin within this once the request is sent (`--upstream-header-timeout`).
    pub header: Duration,
    /// Longest pause between response bytes (`--upstream-read-timeout`).
    pub read: Duration,
}

impl Default for UpstreamTimeouts {
    fn default() -> Self {
        UpstreamTimeouts {
            connect: Duration::from_secs(5),
            send: Duration::from_secs(60),
            header: Duration::from_secs(60),
            read: Duration::from_secs(60),
        }
    }
}

/// A `--proxy PREFIX=URL` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRoute {
    /// The URL path prefix it answers, e.g. `/app/` or `/`.
    pub prefix: String,
    /// The upstream group (index into `Config::upstreams`).
    pub group: usize,
    /// The URL's path, when it has one: it replaces `prefix` in the request
    /// path, as nginx's `proxy_pass` with a URI does. `None`: the request
    /// target is passed unchanged.
    pub replace: Option<String>,
    /// The URL's `host[:port]`, sent as Host with `--proxy-host upstream`.
    pub authority: String,
    /// `--ws-proxy`: only WebSocket handshakes are passed (RFC 6455 §4.2.1
    /// checked here first, a bad one answered 400 without asking the
    /// upstream); a `--proxy` passes upgrades and plain requests alike.
    pub websocket_only: bool,
}

/// `--proxy-host`: the Host field sent upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyHost {
    /// The client's own Host (the default: apps build their URLs from it).
    Pass,
    /// The upstream's `host:port` from the `--proxy` URL (nginx's default).
    Upstream,
    /// This value.
    Fixed(String),
}

/// What a `--fastcgi` route matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FastcgiMatch {
    /// Files under the root with this extension (without the dot).
    Extension(String),
    /// Every path under this prefix.
    Prefix(String),
}

/// A `--fastcgi` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastcgiRoute {
    /// What it matches.
    pub matcher: FastcgiMatch,
    /// The upstream group (index into `Config::upstreams`).
    pub group: usize,
}

/// Parse one server address: `HOST:PORT` (every address the name resolves
/// to) or `unix:/path`.
pub fn parse_addrs(s: &str) -> Result<Vec<Addr>, String> {
    if let Some(path) = s.strip_prefix("unix:") {
        if !path.starts_with('/') {
            return Err(format!("'{s}': a Unix socket path must be absolute (unix:/run/app.sock)"));
        }
        return Ok(vec![Addr::Unix(PathBuf::from(path))]);
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(vec![Addr::Tcp(a)]);
    }
    if !s.contains(':') {
        return Err(format!("'{s}' has no port (HOST:PORT or unix:/path)"));
    }
    // A name: resolved now, once (nginx does the same without a resolver).
    let addrs: Vec<Addr> = s.to_socket_addrs().map_err(|e| format!("'{s}': {e}"))?.map(Addr::Tcp).collect();
    if addrs.is_empty() {
        return Err(format!("'{s}' resolves to no address"));
    }
    Ok(addrs)
}

/// Parse `--upstream NAME=ADDR[,ADDR...]` into a group.
pub fn parse_group(s: &str) -> Result<Group, String> {
    let (name, list) = s.split_once('=').ok_or_else(|| format!("'{s}' is not NAME=ADDR[,ADDR...]"))?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
        return Err(format!("'{name}' is not a name (letters, digits, '-', '_', '.')"));
    }
    let mut servers = Vec::new();
    for a in list.split(',').filter(|a| !a.is_empty()) {
        servers.extend(parse_addrs(a)?);
    }
    if servers.is_empty() {
        return Err(format!("'{s}' names no server"));
    }
    Ok(Group { name: name.to_string(), servers })
}

/// The group a route names: an `--upstream` NAME, or an address, for which
/// a group of its own is made (one per distinct address).
pub fn group_for(groups: &mut Vec<Group>, target: &str) -> Result<usize, String> {
    if let Some(i) = groups.iter().position(|g| g.name == target) {
        return Ok(i);
    }
    let servers = parse_addrs(target)?;
    groups.push(Group { name: target.to_string(), servers });
    Ok(groups.len() - 1)
}

/// Parse `--proxy PREFIX=URL`. The URL is `http://HOST:PORT[/PATH]`,
/// `http://NAME[/PATH]` for an `--upstream` group, or
/// `http://unix:/path/app.sock:[/PATH]` for a Unix socket (nginx's form).
pub fn parse_proxy(s: &str, groups: &mut Vec<Group>) -> Result<ProxyRoute, String> {
    let (prefix, url) = s.split_once('=').ok_or_else(|| format!("'{s}' is not PREFIX=URL"))?;
    if !prefix.starts_with('/') {
        return Err(format!("'{prefix}': the prefix must start with '/'"));
    }
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("'{url}': only http:// upstreams are supported"))?;
    let (target, path) = if let Some(sock) = rest.strip_prefix("unix:") {
        // http://unix:/run/app.sock:/path — the socket path ends at the next ':'.
        match sock.split_once(':') {
            Some((p, path)) => (format!("unix:{p}"), path),
            None => (format!("unix:{sock}"), ""),
        }
    } else {
        match rest.find('/') {
            Some(i) => (rest[..i].to_string(), &rest[i..]),
            None => (rest.to_string(), ""),
        }
    };
    if path.contains(['?', '#']) {
        return Err(format!("'{url}': a query or fragment in the upstream URL is not supported"));
    }
    let authority = if target.starts_with("unix:") { "localhost".to_string() } else { target.clone() };
    let group = group_for(groups, &target)?;
    Ok(ProxyRoute {
        prefix: prefix.to_string(),
        group,
        replace: (!path.is_empty()).then(|| path.to_string()),
        authority,
        websocket_only: false,
    })
}

/// Parse `--fastcgi .EXT=ADDR` or `--fastcgi /PREFIX=ADDR`.
pub fn parse_fastcgi(s: &str, groups: &mut Vec<Group>) -> Result<FastcgiRoute, String> {
    let (what, target) = s.split_once('=').ok_or_else(|| format!("'{s}' is not .EXT=ADDR or /PREFIX=ADDR"))?;
    let matcher = if let Some(ext) = what.strip_prefix('.') {
        if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("'{what}' is not an extension such as .php"));
        }
        FastcgiMatch::Extension(ext.to_string())
    } else if what.starts_with('/') {
        FastcgiMatch::Prefix(what.to_string())
    } else {
        return Err(format!("'{what}' is neither .EXT nor /PREFIX"));
    };
    Ok(FastcgiRoute { matcher, group: group_for(groups, target)? })
}

/// Parse `--proxy-host`.
pub fn parse_proxy_host(s: &str) -> Result<ProxyHost, String> {
    match s {
        "pass" => Ok(ProxyHost::Pass),
        "upstream" => Ok(ProxyHost::Upstream),
        v if !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()) => Ok(ProxyHost::Fixed(v.to_string())),
        v => Err(format!("'{v}' is not pass, upstream or a host")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls() {
        let mut groups = Vec::new();
        let r = parse_proxy("/app/=http://127.0.0.1:8000/", &mut groups).unwrap();
        assert_eq!((r.prefix.as_str(), r.replace.as_deref(), r.group), ("/app/", Some("/"), 0));
        assert_eq!(groups[0].servers, vec![Addr::Tcp("127.0.0.1:8000".parse().unwrap())]);
        // The same address again: the same group, so one pool.
        let r = parse_proxy("/=http://127.0.0.1:8000", &mut groups).unwrap();
        assert_eq!((r.replace, r.group, groups.len()), (None, 0, 1));
        let r = parse_proxy("/u/=http://unix:/run/app.sock:/v/", &mut groups).unwrap();
        assert_eq!(groups[r.group].servers, vec![Addr::Unix("/run/app.sock".into())]);
        assert_eq!(r.replace.as_deref(), Some("/v/"));
        groups.push(parse_group("apps=127.0.0.1:1,127.0.0.1:2").unwrap());
        let r = parse_proxy("/x=http://apps/y", &mut groups).unwrap();
        assert_eq!((r.group, groups[r.group].servers.len()), (2, 2));
        assert!(parse_proxy("app=http://127.0.0.1:1", &mut groups).is_err());
        assert!(parse_proxy("/=https://127.0.0.1:1", &mut groups).is_err());
        assert!(parse_proxy("/=http://127.0.0.1:1/?q", &mut groups).is_err());
        assert!(parse_proxy("/=http://nohost", &mut groups).is_err());
    }

    #[test]
    fn fastcgi_routes() {
        let mut groups = Vec::new();
        let r = parse_fastcgi(".php=unix:/run/php/fpm.sock", &mut groups).unwrap();
        assert_eq!(r.matcher, FastcgiMatch::Extension("php".into()));
        let r = parse_fastcgi("/app/=127.0.0.1:9000", &mut groups).unwrap();
        assert_eq!((r.matcher, r.group), (FastcgiMatch::Prefix("/app/".into()), 1));
        assert!(parse_fastcgi("php=127.0.0.1:9000", &mut groups).is_err());
        assert!(parse_fastcgi(".php=unix:relative.sock", &mut groups).is_err());
        assert!(parse_group("=127.0.0.1:1").is_err());
        assert!(parse_group("a b=127.0.0.1:1").is_err());
        assert_eq!(parse_proxy_host("upstream"), Ok(ProxyHost::Upstream));
        assert!(parse_proxy_host("a b").is_err());
    }
}
