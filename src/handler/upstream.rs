//! Routing to upstreams: which requests go to a FastCGI server or an HTTP
//! app server, and what they are sent as. No I/O: `conn/upstream/` runs the
//! exchange; this only decides.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use wired_parser::Request;

use super::cgi::{self, Script, Tree};
use crate::config::{Config, ProxyRoute};

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

/// The request for proxy target `route` (index into `Config::proxy`), whose
/// location matched the normalized `path`.
pub fn proxy(config: &Config, route: usize, req: &Request<'_, '_>, path: &[u8], query: Option<&[u8]>) -> ProxyTarget {
    let Some(r) = config.proxy.get(route) else {
        return ProxyTarget { group: 0, route, target: b"/".to_vec() };
    };
    // An exact location's path is the whole path; a prefix is cut off.
    let rest = path.strip_prefix(r.prefix.as_bytes()).unwrap_or_default();
    ProxyTarget { group: r.group, route, target: rewrite(r, req, rest, query) }
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

/// A location that passes everything to a FastCGI server (`--fastcgi
/// /PREFIX`): SCRIPT_FILENAME is the path under `root` (what nginx's usual
/// `$document_root$fastcgi_script_name` gives).
pub fn fastcgi_prefix(group: usize, root: &Path, path: &[u8]) -> FastcgiTarget {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut filename = root.clone().into_os_string().into_vec();
    filename.extend_from_slice(path);
    let filename = PathBuf::from(OsString::from_vec(filename));
    let script = Script {
        program: filename.clone(),
        filename,
        interpreted: false,
        name: path.to_vec(),
        path_info: Vec::new(),
        document_root: Some(root),
    };
    FastcgiTarget { group, script }
}

/// A script by extension in a static location (`--fastcgi .EXT`,
/// `fastcgi_ext`): a file under the tree (none: `None`, and the file
/// handler answers, 404 for a missing file, like nginx's `try_files $uri
/// =404`, so the FastCGI server is never asked to run what does not exist),
/// the rest of the path after it as PATH_INFO; for a directory, its index
/// script (`index`, `--fastcgi-index`) if it has one. `exts` pairs each
/// extension with its group.
pub fn fastcgi_extension(tree: Tree<'_>, index: &str, exts: &[(String, usize)]) -> Option<Result<FastcgiTarget, u16>> {
    for (ext, group) in exts {
        let found = if tree.rest.ends_with(b"/") && index.ends_with(&format!(".{ext}")) {
            let mut index_path = tree.rest.to_vec();
            index_path.extend_from_slice(index.as_bytes());
            match cgi::find_by_extension(Tree { rest: &index_path, ..tree }, ext) {
                Some(Ok(mut script)) => {
                    // SCRIPT_NAME is the index script; the URL named the directory.
                    script.path_info.clear();
                    Some(Ok(script))
                }
                _ => None,
            }
        } else {
            cgi::find_by_extension(tree, ext)
        };
        match found {
            Some(Ok(script)) => return Some(Ok(FastcgiTarget { group: *group, script })),
            Some(Err(status)) => return Some(Err(status)),
            // Not a script here: the file handler answers (a 404 for a
            // missing file, or a directory that happens to be named x.php).
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::routes::{Action, Found, Location};
    use crate::config::upstream::parse_proxy;
    use wired_parser::{EMPTY_HEADER, HeadParser, Limits, Status};

    fn config(routes: &[&str]) -> Config {
        let mut c = Config::default();
        for r in routes {
            let route = parse_proxy(r, &mut c.upstreams).unwrap();
            c.proxy.push(route);
        }
        c.proxy.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        c.routes = crate::config::routes::from_flags(&c.proxy, &[], &[], &[], &[]);
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
        match c.routes.server_for(None).find(&path)? {
            Found::Location(Location { action: Action::Proxy(i), .. }) => {
                let p = proxy(c, *i, &req, &path, t.query);
                Some(Ok((p.group, String::from_utf8(p.target).unwrap())))
            }
            Found::SlashRedirect(l) => {
                Some(Err(format!("{}?{}", l.matcher.path(), t.query.map_or("".into(), |q| String::from_utf8_lossy(q)))))
            }
            Found::Location(_) => None,
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
