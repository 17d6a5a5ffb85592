//! What a location adds around its action, whatever the action is: extra
//! response header fields, CORS, a password, an address list, a fallback
//! for missing files, a body limit. Read from the configuration file here;
//! applied per request by `handler/rules.rs`.

use std::net::IpAddr;
use std::path::Path;

use super::routes::Template;

/// A location's rules. Empty rules are not stored (`Location::rules` is `None`).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `add_header`: fields added to the location's responses.
    pub add_header: Vec<(String, String)>,
    /// `add_header_always`: on every status, not only on success and
    /// redirects (nginx's `always`).
    pub add_header_always: bool,
    /// `cors_*`: cross-origin requests allowed (Fetch standard, "CORS protocol").
    pub cors: Option<Cors>,
    /// `auth_basic`, `auth_basic_user_file`: a password (RFC 7617).
    pub auth: Option<BasicAuth>,
    /// `access`: allow and deny by address, the first match wins.
    pub access: Vec<AccessRule>,
    /// `try_files`: files tried in turn, then a fallback URI or status.
    pub try_files: Vec<TryFile>,
    /// `max_body_bytes`: the largest request body here (413 beyond).
    pub max_body_bytes: Option<u64>,
}

impl Rules {
    /// True when no rule is set.
    pub fn is_empty(&self) -> bool {
        self.add_header.is_empty()
            && self.cors.is_none()
            && self.auth.is_none()
            && self.access.is_empty()
            && self.try_files.is_empty()
            && self.max_body_bytes.is_none()
    }
}

/// Which cross-origin requests a location answers, and what it tells
/// browsers about them.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// Origins allowed, exactly as browsers send them (`https://a.example`);
    /// `*` allows any.
    pub origins: Vec<String>,
    /// `Access-Control-Allow-Credentials: true`: cookies and
    /// `Authorization` may be sent. The origin is then echoed, never `*`
    /// (Fetch: a credentialed response may not use the wildcard).
    pub credentials: bool,
    /// Methods allowed in preflight answers; empty: the one asked for.
    pub methods: Vec<String>,
    /// Request header names allowed; empty: those asked for.
    pub headers: Vec<String>,
    /// Response header names a page's script may read.
    pub expose: Vec<String>,
    /// How long a browser may cache a preflight answer, in seconds.
    pub max_age: Option<u64>,
}

/// `auth_basic`: a realm and the users of an htpasswd file.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    /// The realm named in `WWW-Authenticate` (RFC 7617 §2).
    pub realm: String,
    /// Users and their bcrypt hashes, from the file.
    pub users: Vec<(String, String)>,
    /// A hash of a password nobody has, at the users' cost: an unknown
    /// name is checked against it, so the time taken does not tell which
    /// names exist.
    pub dummy: String,
}

impl BasicAuth {
    /// The users of an htpasswd file, under a realm.
    pub fn new(realm: String, users: Vec<(String, String)>) -> BasicAuth {
        // `$2y$10$…`: the cost is the number after the second `$`.
        let cost = users.first().and_then(|(_, h)| h.get(4..6)).and_then(|c| c.parse().ok()).unwrap_or(10);
        let dummy = bcrypt::hash(b"\0no user has this password\0", cost).unwrap_or_default();
        BasicAuth { realm, users, dummy }
    }
}

/// One `access` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRule {
    /// `allow` (true) or `deny`.
    pub allow: bool,
    /// The network, or `None` for `all`.
    pub net: Option<(IpAddr, u8)>,
}

impl AccessRule {
    /// Whether `ip` is in this rule's network.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let Some((net, bits)) = self.net else { return true };
        match (net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), bits),
            _ => false,
        }
    }
}

/// The first `bits` bits of `a` and `b` agree.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    let (whole, rest) = (bits / 8, bits % 8);
    if a.get(..whole) != b.get(..whole) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(whole), b.get(whole)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// One `try_files` entry.
#[derive(Debug, Clone)]
pub enum TryFile {
    /// A path to try as a file (a directory when it ends in `/`), with
    /// variables (`$uri`).
    Path(Template),
    /// The last entry: answer with this status.
    Status(u16),
}

/// `allow 10.0.0.0/8`, `deny 2001:db8::/32`, `allow 127.0.0.1`, `deny all`.
pub fn parse_access(line: &str) -> Result<AccessRule, String> {
    let bad = || format!("'{line}' is not 'allow ADDRESS[/BITS]', 'deny ADDRESS[/BITS]' or 'allow|deny all'");
    let (verb, what) = line.trim().split_once(char::is_whitespace).ok_or_else(bad)?;
    let allow = match verb {
        "allow" => true,
        "deny" => false,
        _ => return Err(bad()),
    };
    let what = what.trim();
    if what == "all" {
        return Ok(AccessRule { allow, net: None });
    }
    let (addr, bits) = match what.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
        None => (what, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    if bits > max {
        return Err(format!("'{line}': /{bits} is longer than the address"));
    }
    Ok(AccessRule { allow, net: Some((ip, bits)) })
}

/// The last `try_files` entry may be `=404`; every other is a path.
pub fn parse_try_files(entries: &[String]) -> Result<Vec<TryFile>, String> {
    if entries.len() < 2 {
        return Err("try_files needs at least a path to try and a fallback".into());
    }
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if let Some(code) = e.strip_prefix('=') {
            if i + 1 != entries.len() {
                return Err(format!("'{e}': a status is only the last entry"));
            }
            let status: u16 = code.parse().map_err(|_| format!("'{e}' is not =STATUS"))?;
            if !(200..=599).contains(&status) {
                return Err(format!("'{e}': a status is 200 to 599"));
            }
            out.push(TryFile::Status(status));
        } else if e.starts_with('/') || e.starts_with('$') {
            out.push(TryFile::Path(Template::parse(e)?));
        } else {
            return Err(format!("'{e}' is not a path ('/…' or '$uri…') or =STATUS"));
        }
    }
    Ok(out)
}

/// An htpasswd file of bcrypt hashes (`htpasswd -B`): `user:$2y$…` lines;
/// blank lines and `#` comments skipped. Other hash kinds (MD5-crypt,
/// SHA-1, crypt) are refused by name, since they are weak or unsalted.
pub fn read_htpasswd(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (user, hash) =
            line.split_once(':').ok_or_else(|| format!("{}:{}: not user:hash", path.display(), n + 1))?;
        if !["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
            return Err(format!(
                "{}:{}: user '{user}' has a hash that is not bcrypt (make it with `htpasswd -B`)",
                path.display(),
                n + 1
            ));
        }
        users.push((user.to_string(), hash.to_string()));
    }
    if users.is_empty() {
        return Err(format!("{}: no users", path.display()));
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_lines() {
        let r = parse_access("allow 10.0.0.0/8").unwrap();
        assert!(r.allow && r.matches("10.1.2.3".parse().unwrap()) && !r.matches("11.0.0.1".parse().unwrap()));
        assert!(r.matches("::ffff:10.9.9.9".parse().unwrap()), "an IPv4 client on an IPv6 socket");
        let r = parse_access("deny 2001:db8::/33").unwrap();
        assert!(!r.allow && r.matches("2001:db8:7fff::1".parse().unwrap()));
        assert!(!r.matches("2001:db8:8000::1".parse().unwrap()));
        assert!(parse_access("deny all").unwrap().matches("192.0.2.1".parse().unwrap()));
        assert!(parse_access("allow 127.0.0.1").unwrap().matches("127.0.0.1".parse().unwrap()));
        for bad in ["permit all", "allow", "allow 10.0.0.0/33", "deny ::/129", "allow example.com"] {
            assert!(parse_access(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn try_files_entries() {
        let t = |v: &[&str]| parse_try_files(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&["$uri", "$uri/", "/index.html"]).unwrap().len(), 3);
        assert!(matches!(t(&["$uri", "=404"]).unwrap()[1], TryFile::Status(404)));
        assert!(t(&["$uri"]).is_err());
        assert!(t(&["=404", "$uri"]).is_err());
        assert!(t(&["index.html", "=404"]).is_err());
    }
}
