//! Routing to upstreams: which requests go to a FastCGI server or an HTTP
//! app server, and what they are sent as. No I/O: `conn/upstream/` runs the
//! exchange; this only decides.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use wired_parser::Request;

use super::cgi::{self, Script};
use crate::config::{Config, FastcgiMatch, ProxyRoute};

/// A request for an HTTP upstream (`--proxy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    /// The upstream group.
    pub group: usize,
    /// The route's index in `Config::proxy` (for `--proxy-host upstream`).
    pub route: usize,
    /// The request-target to send, in origin form (RFC 9112 §3.2.1).
    pub target: Vec<u8>,
}

/// A script for a FastCGI server (`--fastcgi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastcgiTarget {
    /// The upstream group.
    pub group: usize,
    /// SCRIPT_FILENAME, SCRIPT_NAME and PATH_INFO, as for CGI.
    pub script: Script,
}

/// What routing found for a path.
pub enum Routed<T> {
    /// Send it there.
    To(T),
    /// Answer with a redirect to this location (`/app` → `/app/`).
    Redirect(Vec<u8>),
    /// Answer with this error status.
    Error(u16),
}

/// The `--proxy` route for a normalized `path`, longest prefix first (the
/// routes are sorted so at startup). A prefix ending in `/` also catches the
/// path without it, with a 301 to the slashed one, as nginx does for a
/// location that proxies.
pub fn proxy(config: &Config, req: &Request<'_, '_>, path: &[u8], query: Option<&[u8]>) -> Option<Routed<ProxyTarget>> {
    for (i, route) in config.proxy.iter().enumerate() {
        let prefix = route.prefix.as_bytes();
        if let Some(rest) = path.strip_prefix(prefix) {
            let target = rewrite(route, req, rest, query);
            return Some(Routed::To(ProxyTarget { group: route.group, route: i, target }));
        }
        if prefix.len() > 1 && prefix.ends_with(b"/") && path == &prefix[..prefix.len() - 1] {
            let mut location = prefix.to_vec();
            if let Some(q) = query {
                location.push(b'?');
                location.extend_from_slice(q);
            }
            return Some(Routed::Redirect(location));
        }
    }
    None
}

/// The target sent upstream. Without a path in the `--proxy` URL the
/// client's target goes as it came (only an absolute form is cut to its
/// path, RFC 9112 §3.2.2); with one, the matched prefix of the normalized
/// path is replaced by it and the rest percent-encoded again, as nginx's
/// `proxy_pass` with a URI does.
fn rewrite(route: &ProxyRoute, req: &Request<'_, '_>, rest: &[u8], query: Option<&[u8]>) -> Vec<u8> {
    let Some(replace) = &route.replace else {
        let raw = req.target.as_bytes();
        return match req.target.split_once("://") {
            Some((_, after)) => match after.find(['/', '?']) {
                Some(i) if after.as_bytes().get(i) == Some(&b'?') => {
                    let mut t = b"/".to_vec();
                    t.extend_from_slice(&after.as_bytes()[i..]);
                    t
                }
                Some(i) => after.as_bytes()[i..].to_vec(),
                None => b"/".to_vec(),
            },
            None => raw.to_vec(),
        };
    };
    let mut target = Vec::with_capacity(replace.len() + rest.len() + query.map_or(0, |q| q.len() + 1));
    target.extend_from_slice(replace.as_bytes());
    for &b in rest {
        // RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@", and "/" between segments.
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) {
            target.push(b);
        } else {
            target.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    if let Some(q) = query {
        target.push(b'?');
        target.extend_from_slice(q);
    }
    target
}

/// The `--fastcgi /PREFIX` route for a path: everything under the prefix
/// goes to the server, SCRIPT_FILENAME being the path under the root (what
/// nginx's usual `$document_root$fastcgi_script_name` gives).
pub fn fastcgi_prefix(config: &Config, path: &[u8]) -> Option<Routed<FastcgiTarget>> {
    for route in &config.fastcgi {
        let FastcgiMatch::Prefix(prefix) = &route.matcher else { continue };
        if !path.starts_with(prefix.as_bytes()) {
            continue;
        }
        let root = config.root.canonicalize().unwrap_or_else(|_| config.root.clone());
        let mut filename = root.into_os_string().into_vec();
        filename.extend_from_slice(path);
        let filename = PathBuf::from(OsString::from_vec(filename));
        let script = Script {
            program: filename.clone(),
            filename,
            interpreted: false,
            name: path.to_vec(),
            path_info: Vec::new(),
        };
        return Some(Routed::To(FastcgiTarget { group: route.group, script }));
    }
    None
}

/// The `--fastcgi .EXT` route for a path: a script file under the root
/// (404 when it is not there, like nginx's `try_files $uri =404`, so the
/// FastCGI server is never asked to run what does not exist), the rest of
/// the path after it as PATH_INFO; for a directory, its index script
/// (`--fastcgi-index`) if it has one.
pub fn fastcgi_extension(config: &Config, path: &[u8]) -> Option<Routed<FastcgiTarget>> {
    for route in &config.fastcgi {
        let FastcgiMatch::Extension(ext) = &route.matcher else { continue };
        let found = if path.ends_with(b"/") && config.fastcgi_index.ends_with(&format!(".{ext}")) {
            let mut index = path.to_vec();
            index.extend_from_slice(config.fastcgi_index.as_bytes());
            match cgi::find_by_extension(config, &index, ext) {
                Some(Ok(mut script)) => {
                    // SCRIPT_NAME is the index script; the URL named the directory.
                    script.path_info.clear();
                    Some(Ok(script))
                }
                _ => None,
            }
        } else {
            cgi::find_by_extension(config, path, ext)
        };
        match found {
            Some(Ok(script)) => return Some(Routed::To(FastcgiTarget { group: route.group, script })),
            Some(Err(status)) => return Some(Routed::Error(status)),
            // Not a script here: the static handler answers (a 404 for a
            // missing file, or a directory that happens to be named x.php).
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::upstream::parse_proxy;
    use wired_parser::{EMPTY_HEADER, HeadParser, Limits, Status};

    fn config(routes: &[&str]) -> Config {
        let mut c = Config::default();
        for r in routes {
            let route = parse_proxy(r, &mut c.upstreams).unwrap();
            c.proxy.push(route);
        }
        c.proxy.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        c
    }

    /// Route a raw target the way `Handlers::route` does (path normalized).
    fn route(c: &Config, target: &str) -> Option<Result<(usize, String), String>> {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        let mut fields = [EMPTY_HEADER; 8];
        let Ok(Status::Complete(req)) = HeadParser::new().parse(raw.as_bytes(), &Limits::default(), &mut fields) else {
            panic!("{target} parses")
        };
        let t = wired_parser::target::parse_target(req.target, req.method).unwrap();
        let mut scratch = Vec::new();
        let path = wired_parser::target::normalize_path(t.path, &mut scratch).unwrap().to_vec();
        match proxy(c, &req, &path, t.query)? {
            Routed::To(p) => Some(Ok((p.group, String::from_utf8(p.target).unwrap()))),
            Routed::Redirect(l) => Some(Err(String::from_utf8(l).unwrap())),
            Routed::Error(s) => Some(Err(s.to_string())),
        }
    }

    #[test]
    fn prefixes_are_replaced_like_proxy_pass_with_a_uri() {
        let c = config(&[
            "/app/=http://127.0.0.1:8000/",
            "/app/api/=http://127.0.0.1:8001/v2/",
            "/raw/=http://127.0.0.1:8002",
        ]);
        assert_eq!(route(&c, "/app/x?q=1"), Some(Ok((0, "/x?q=1".into()))));
        // The longest prefix wins, whatever the order given.
        assert_eq!(route(&c, "/app/api/users"), Some(Ok((1, "/v2/users".into()))));
        // The normalized path is what matches and what is sent, encoded again.
        assert_eq!(route(&c, "/app/a/../b%20c"), Some(Ok((0, "/b%20c".into()))));
        // Without a path in the URL, the target goes as it came.
        assert_eq!(route(&c, "/raw/a%20b?x"), Some(Ok((2, "/raw/a%20b?x".into()))));
        assert_eq!(route(&c, "http://h/raw/z?y"), Some(Ok((2, "/raw/z?y".into()))));
        // The prefix without its slash is redirected to it; other paths are not ours.
        assert_eq!(route(&c, "/app?z=1"), Some(Err("/app/?z=1".into())));
        assert_eq!(route(&c, "/application"), None);
        assert_eq!(route(&c, "/"), None);
    }
}
