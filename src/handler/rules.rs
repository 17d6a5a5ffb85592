//! A location's rules (`config/rules.rs`), applied around its action: who
//! may ask (`access`), who must log in (`auth_basic`, RFC 7617), what a
//! browser may do across origins (CORS, the Fetch standard), and the header
//! fields every response of the location carries (`add_header`).
//!
//! The checks run before the action, in nginx's order (address, then
//! password), except that a CORS preflight is answered before the password:
//! browsers send preflights without credentials (Fetch, "CORS-preflight
//! request"), so a protected API could otherwise never be called across
//! origins. The fields are written when the response head is formatted
//! (`conn/write.rs::queue_head`), whoever made the response: a file, an
//! error, a CGI program, php-fpm or an app server.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wired_parser::{Method, Request};

use crate::config::rules::Rules;

/// How long a checked password is remembered: bcrypt costs tens of
/// milliseconds by design, too long to pay on every request of a worker
/// that serves thousands of others meanwhile.
const AUTH_MEMORY: Duration = Duration::from_secs(300);

/// Most passwords remembered per worker.
const AUTH_MEMORY_SIZE: usize = 1024;

/// What a request must carry along to its response head.
#[derive(Debug, Clone)]
pub struct Applied {
    rules: Arc<Rules>,
    /// The request's `Origin`, when CORS allows it.
    origin: Option<Vec<u8>>,
}

impl Applied {
    /// The location's body limit, if it sets one.
    pub fn max_body_bytes(&self) -> Option<u64> {
        self.rules.max_body_bytes
    }

    /// Append this location's fields to a response head with `status`.
    pub fn write_fields(&self, status: u16, head: &mut Vec<u8>) {
        if let (Some(cors), Some(origin)) = (&self.rules.cors, &self.origin) {
            allow_origin(cors, origin, head);
            if !cors.expose.is_empty() {
                field(head, "Access-Control-Expose-Headers", cors.expose.join(", ").as_bytes());
            }
        }
        // nginx's add_header: on success and redirects, unless `always`
        // (an error page usually should not carry a page's policies).
        let success = matches!(status, 200 | 201 | 204 | 206 | 301 | 302 | 303 | 304 | 307 | 308);
        if success || self.rules.add_header_always {
            for (name, value) in &self.rules.add_header {
                field(head, name, value.as_bytes());
            }
        }
    }
}

/// What the checks decided.
pub enum Verdict {
    /// Go on to the action; the response carries these fields.
    Pass(Option<Box<Applied>>),
    /// Answer with this status instead, with these fields (written into the
    /// handler's fields) and the applied rules for the head.
    Stop { status: u16, applied: Option<Box<Applied>> },
}

/// Remembered good passwords, per worker: keyed by a salted digest of the
/// `Authorization` value and the location, never the password itself.
pub struct AuthMemory {
    salt: [u8; 16],
    seen: HashMap<[u8; 20], Instant>,
}

impl AuthMemory {
    pub fn new() -> AuthMemory {
        let mut salt = [0u8; 16];
        // Unpredictable enough that the digests are useless to whoever
        // reads the process's memory; the clock if /dev/urandom is gone.
        if std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut salt)).is_err() {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            salt[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
        }
        AuthMemory { salt, seen: HashMap::new() }
    }

    fn key(&self, rules: &Rules, credentials: &[u8]) -> [u8; 20] {
        let mut h = wired_parser::websocket::sha1::Sha1::new();
        h.update(&self.salt);
        h.update(&(rules as *const Rules as usize).to_le_bytes());
        h.update(credentials);
        h.finish()
    }
}

impl Default for AuthMemory {
    fn default() -> Self {
        AuthMemory::new()
    }
}

/// Run a location's checks on a request.
pub fn check(
    rules: &Arc<Rules>,
    req: &Request<'_, '_>,
    peer: std::net::IpAddr,
    memory: &mut AuthMemory,
    fields: &mut crate::response::Fields,
) -> Verdict {
    // Address rules: the first that matches decides; none, allowed.
    if let Some(rule) = rules.access.iter().find(|r| r.matches(peer))
        && !rule.allow
    {
        return Verdict::Stop { status: 403, applied: None };
    }
    let origin = header(req, "origin").filter(|o| rules.cors.as_ref().is_some_and(|c| origin_allowed(c, o)));
    let applied = Some(Box::new(Applied { rules: Arc::clone(rules), origin: origin.map(<[u8]>::to_vec) }));
    // Fetch, "CORS-preflight request": OPTIONS with Origin and
    // Access-Control-Request-Method. Answered here, never by the action.
    if let Some(cors) = &rules.cors
        && req.method == Method::Options
        && header(req, "origin").is_some()
        && let Some(method) = header(req, "access-control-request-method")
    {
        if origin.is_some() {
            let methods = if cors.methods.is_empty() { method.to_vec() } else { cors.methods.join(", ").into_bytes() };
            fields.add("Access-Control-Allow-Methods", &methods);
            match header(req, "access-control-request-headers") {
                Some(asked) if cors.headers.is_empty() => fields.add("Access-Control-Allow-Headers", asked),
                _ if !cors.headers.is_empty() => {
                    fields.add("Access-Control-Allow-Headers", cors.headers.join(", ").as_bytes())
                }
                _ => {}
            }
            if let Some(age) = cors.max_age {
                fields.add_u64("Access-Control-Max-Age", age);
            }
        }
        // The answer depends on these request fields: caches must know
        // (RFC 9110 §12.5.5).
        fields.add("Vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        return Verdict::Stop { status: 204, applied };
    }
    if let Some(auth) = &rules.auth
        && !authorized(rules, auth, req, memory)
    {
        // RFC 7617 §2: the challenge names the realm, and says passwords
        // are read as UTF-8 (§2.1).
        let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", auth.realm);
        fields.add("WWW-Authenticate", challenge.as_bytes());
        return Verdict::Stop { status: 401, applied };
    }
    Verdict::Pass(applied)
}

/// The request's `Authorization: Basic …` names a user of the file with
/// the right password (RFC 7617 §2).
fn authorized(
    rules: &Rules,
    auth: &crate::config::rules::BasicAuth,
    req: &Request<'_, '_>,
    memory: &mut AuthMemory,
) -> bool {
    let Some(value) = header(req, "authorization") else { return false };
    let Some(encoded) = value
        .split(|&b| b == b' ')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .as_slice()
        .get(..2)
        .and_then(|p| p[0].eq_ignore_ascii_case(b"basic").then_some(p[1]))
    else {
        return false;
    };
    let key = memory.key(rules, encoded);
    let now = Instant::now();
    if memory.seen.get(&key).is_some_and(|&at| now.duration_since(at) < AUTH_MEMORY) {
        return true;
    }
    let mut decoded = vec![0u8; encoded.len()];
    let Some(n) = wired_parser::websocket::base64::decode(encoded, &mut decoded) else { return false };
    decoded.truncate(n);
    // RFC 7617 §2: the user-id cannot hold a colon; the password may.
    let Some(colon) = decoded.iter().position(|&b| b == b':') else { return false };
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    // Every user is compared, in constant time, so the time taken does
    // not tell which names exist; an unknown one is checked against a
    // dummy hash of the same cost.
    let mut found: Option<&str> = None;
    for (name, hash) in &auth.users {
        if constant_time_eq(name.as_bytes(), user) {
            found = Some(hash);
        }
    }
    let hash = found.unwrap_or(&auth.dummy);
    let ok = bcrypt::verify(password, hash).unwrap_or(false) && found.is_some();
    if ok {
        if memory.seen.len() >= AUTH_MEMORY_SIZE {
            memory.seen.retain(|_, at| now.duration_since(*at) < AUTH_MEMORY);
            if memory.seen.len() >= AUTH_MEMORY_SIZE {
                memory.seen.clear();
            }
        }
        memory.seen.insert(key, now);
    }
    ok
}

/// Equal bytes, compared without an early exit (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a CORS rule allows `origin` (compared as browsers serialize it:
/// exactly, scheme and host lower case).
fn origin_allowed(cors: &crate::config::rules::Cors, origin: &[u8]) -> bool {
    cors.origins.iter().any(|o| o == "*" || o.as_bytes().eq_ignore_ascii_case(origin))
}

/// `Access-Control-Allow-Origin` (and `-Credentials`, and `Vary: Origin`
/// when the answer depends on who asks).
fn allow_origin(cors: &crate::config::rules::Cors, origin: &[u8], head: &mut Vec<u8>) {
    let any = cors.origins.iter().any(|o| o == "*");
    // Fetch: a credentialed request needs the origin itself, never `*`.
    if any && !cors.credentials {
        field(head, "Access-Control-Allow-Origin", b"*");
    } else {
        field(head, "Access-Control-Allow-Origin", origin);
        field(head, "Vary", b"Origin");
    }
    if cors.credentials {
        field(head, "Access-Control-Allow-Credentials", b"true");
    }
}

/// The value of the first field named `name`.
fn header<'b>(req: &Request<'b, '_>, name: &str) -> Option<&'b [u8]> {
    req.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
}

fn field(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return;
    }
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_valid_bcrypt_hash_at_the_users_cost() {
        let users = vec![("ann".to_string(), bcrypt::hash("pw", 5).unwrap())];
        let auth = crate::config::rules::BasicAuth::new("r".into(), users);
        assert!(auth.dummy.starts_with("$2b$05$"), "{}", auth.dummy);
        assert_eq!(bcrypt::verify("guess", &auth.dummy).ok(), Some(false));
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"admin", b"admin"));
        assert!(!constant_time_eq(b"admin", b"admiN"));
        assert!(!constant_time_eq(b"admin", b"admin2"));
    }
}
