//! CGI/1.1 (RFC 3875): which program answers a URL, the environment it gets,
//! and how its output's header block is read. No I/O on sockets or pipes
//! here: `conn/cgi/` runs the process inside the event loop.
//!
//! Script arguments (RFC 3875 §4.4, a query without `=` passed as argv) are
//! never used: the search-string form is a relic, and handing request bytes
//! to a program's command line is a door we keep shut. A program always gets
//! an empty argument list (or only its own path, for an interpreter).

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use wired_parser::Request;

/// A program found for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// What to execute: the script itself, or its interpreter.
    pub program: PathBuf,
    /// The script's absolute path (SCRIPT_FILENAME); passed as the
    /// interpreter's only argument when there is one.
    pub filename: PathBuf,
    /// Whether `program` is an interpreter that takes `filename` as argument.
    pub interpreted: bool,
    /// The URL path that names the script (SCRIPT_NAME).
    pub name: Vec<u8>,
    /// The rest of the URL path after the script (PATH_INFO), maybe empty.
    pub path_info: Vec<u8>,
    /// DOCUMENT_ROOT: the root of the server or location that found it;
    /// `None`, the top-level one ([`Meta::document_root`]).
    pub document_root: Option<PathBuf>,
}

/// The program a path names in a CGI directory (a `cgi` location): `prefix`
/// is the location's path, the programs' SCRIPT_NAME prefix, and `rest` the
/// path after it. `Err`: it cannot be run (404 or 403).
pub fn find_in_dir(dir: &Path, prefix: &[u8], rest: &[u8]) -> Result<Script, u16> {
    walk(dir, prefix, rest, None, true)
}

/// Where a static location's files are: what a script found there by its
/// extension is named after.
#[derive(Debug, Clone, Copy)]
pub struct Tree<'a> {
    /// The directory (a root, or an alias).
    pub dir: &'a Path,
    /// Follow symbolic links out of it (`follow_symlinks`).
    pub follow_symlinks: bool,
    /// What SCRIPT_NAME starts with: the location's path for an alias
    /// (without its final `/`), else nothing.
    pub prefix: &'a [u8],
    /// The request's path under `dir`, starting with `/`.
    pub rest: &'a [u8],
}

/// The script a path names under a document tree, by its extension: for
/// `cgi_ext` (which then runs it with its interpreter) and `fastcgi_ext`
/// (whose server runs it). `None` when no segment of the path ends in
/// `.EXT`, or the file is not there (e.g. a directory named x.php): the
/// path is then served as a file.
pub fn find_by_extension(tree: Tree<'_>, ext: &str) -> Option<Result<Script, u16>> {
    // Does a segment end in ".EXT"? Checked in place: this runs for every
    // static request once such a route is set.
    let (rest, ext_bytes) = (tree.rest, ext.as_bytes());
    let names_it = memchr::memchr_iter(b'.', rest).any(|dot| {
        rest.get(dot + 1..)
            .is_some_and(|tail| tail.starts_with(ext_bytes) && matches!(tail.get(ext_bytes.len()), None | Some(b'/')))
    });
    if !names_it {
        return None;
    }
    // Confined to the root unless symlinks out of it are trusted, as for files.
    match walk(tree.dir, tree.prefix, rest, Some(ext), !tree.follow_symlinks) {
        Ok(script) => Some(Ok(script)),
        Err(404) => None,
        Err(status) => Some(Err(status)),
    }
}

/// Walk `rest`'s segments under `dir` until one names a regular file: with
/// `ext`, a file with that extension (run by an interpreter or a FastCGI
/// server), else a program marked executable.
fn walk(dir: &Path, prefix: &[u8], rest: &[u8], ext: Option<&str>, confine: bool) -> Result<Script, u16> {
    // The path is built on the directory's resolved one, which is its first
    // `base_len` bytes.
    let mut fs_path = canonical_dir(dir).map_err(|_| 500u16)?;
    let base_len = fs_path.as_os_str().len();
    let mut consumed = 0;
    // Whether a symbolic link was met under `base`: only then can the file
    // be elsewhere than `fs_path` says, and only then is the path resolved
    // again (a realpath costs a system call per component, per request).
    let mut saw_link = false;
    for segment in rest.split(|&b| b == b'/') {
        let seg_end = consumed + segment.len() + 1;
        if segment.is_empty() {
            consumed = seg_end.min(rest.len());
            continue;
        }
        // Hidden files are never run (they are never served either).
        if segment.starts_with(b".") {
            return Err(404);
        }
        fs_path.push(std::ffi::OsStr::from_bytes(segment));
        let mut meta = std::fs::symlink_metadata(&fs_path).map_err(|_| 404u16)?;
        if meta.file_type().is_symlink() {
            saw_link = true;
            meta = std::fs::metadata(&fs_path).map_err(|_| 404u16)?;
        }
        if meta.is_dir() {
            consumed = seg_end.min(rest.len());
            continue;
        }
        if !meta.is_file() {
            return Err(403);
        }
        // Only files inside the directory: a symlink may not lead out. Only a
        // symlink can: without one the path is the directory's and segments
        // that are never `..` (names starting with a dot are refused above).
        let real = if saw_link {
            let real = fs_path.canonicalize().map_err(|_| 404u16)?;
            let base = Path::new(OsStr::from_bytes(fs_path.as_os_str().as_bytes().get(..base_len).unwrap_or_default()));
            if confine && !real.starts_with(base) {
                return Err(403);
            }
            real
        } else {
            fs_path
        };
        let script_end = (consumed + segment.len()).min(rest.len());
        let mut name = prefix.to_vec();
        name.extend_from_slice(rest.get(..script_end).unwrap_or_default());
        let path_info = rest.get(script_end..).unwrap_or_default().to_vec();
        return match ext {
            Some(ext) => {
                if real.extension().map(|e| e.as_bytes()) != Some(ext.as_bytes()) {
                    return Err(404);
                }
                Ok(Script {
                    program: real.clone(),
                    filename: real,
                    interpreted: false,
                    name,
                    path_info,
                    document_root: None,
                })
            }
            None => {
                // RFC 3875 §7.2: the server runs the script; here only
                // programs marked executable are.
                if meta.permissions().mode() & 0o111 == 0 {
                    return Err(403);
                }
                Ok(Script {
                    program: real.clone(),
                    filename: real,
                    interpreted: false,
                    name,
                    path_info,
                    document_root: None,
                })
            }
        };
    }
    // The path named a directory: nothing to run.
    Err(if ext.is_some() { 404 } else { 403 })
}

/// How long a directory's resolved path is trusted (see [`canonical_dir`]).
const CANONICAL_TTL: std::time::Duration = std::time::Duration::from_secs(1);

std::thread_local! {
    /// Per worker thread: directories resolved lately, with when.
    static CANONICAL: std::cell::RefCell<Vec<(PathBuf, PathBuf, std::time::Instant)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `dir` with its symbolic links resolved, as last seen within
/// [`CANONICAL_TTL`]. A `realpath` costs a system call per path component,
/// and every script request starts from its root: resolving it at most once
/// a second per worker (as nginx's `open_file_cache` trusts what it saw
/// for a while) keeps that off the request path, while a root that is a
/// symbolic link switched by a deploy is followed within a second.
fn canonical_dir(dir: &Path) -> std::io::Result<PathBuf> {
    let now = std::time::Instant::now();
    let cached = CANONICAL.with(|c| {
        c.borrow()
            .iter()
            .find(|(d, _, at)| d == dir && now.duration_since(*at) < CANONICAL_TTL)
            .map(|(_, r, _)| r.clone())
    });
    if let Some(real) = cached {
        return Ok(real);
    }
    let real = dir.canonicalize()?;
    CANONICAL.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(d, _, at)| d != dir && now.duration_since(*at) < CANONICAL_TTL);
        c.push((dir.to_path_buf(), real.clone(), now));
    });
    Ok(real)
}

/// What the environment is built from, besides the request head.
pub struct Meta<'a> {
    /// The script.
    pub script: &'a Script,
    /// The raw query string.
    pub query: &'a [u8],
    /// The exact body length (CONTENT_LENGTH), if there is a body.
    pub content_length: Option<u64>,
    /// The client's address.
    pub peer: std::net::SocketAddr,
    /// Our address.
    pub local: std::net::SocketAddr,
    /// The top-level document root, absolute: DOCUMENT_ROOT unless the
    /// script names its own.
    pub document_root: &'a Path,
    /// The client came over TLS.
    pub https: bool,
    /// The request came as an HTTP/2 stream (through a secondary
    /// HTTP/1.1 connection, whose request line says HTTP/1.1).
    pub http2: bool,
}

/// The meta-variables of RFC 3875 §4.1, plus those PHP and frameworks
/// expect, handed to `set` as name and value, each name once.
/// The server's own environment is not passed on: only PATH is set.
///
/// Nothing is collected here: CGI gathers the pairs for `Command::envs`
/// ([`environment_list`]), FastCGI encodes each into its PARAMS records as
/// it comes (`conn/upstream/fastcgi.rs`), as nginx writes its parameters
/// straight into the request buffer. Numbers and addresses are written in
/// stack buffers, so a request costs no allocation here unless a header
/// field is repeated (its lines are joined) or there is a PATH_INFO.
pub fn environment(req: &Request<'_, '_>, meta: &Meta<'_>, mut set: impl FnMut(&[u8], &[u8])) {
    let script = meta.script;
    let document_root = script.document_root.as_deref().unwrap_or(meta.document_root);
    let mut digits = [0u8; 20];
    // RFC 3875 §4.1.1: the authentication scheme, when the client sent credentials.
    let auth = req.header("authorization").and_then(|v| v.split(|&b| b == b' ').next()).unwrap_or_default();
    set(b"AUTH_TYPE", auth);
    // RFC 3875 §4.1.2: exact length of the body; absent when there is none.
    if let Some(n) = meta.content_length {
        set(b"CONTENT_LENGTH", decimal(n, &mut digits));
    }
    // RFC 3875 §4.1.3.
    if let Some(ct) = req.header("content-type") {
        set(b"CONTENT_TYPE", ct);
    }
    set(b"GATEWAY_INTERFACE", b"CGI/1.1");
    // RFC 3875 §4.1.5-6: the path after the script, and where it would be on disk.
    set(b"PATH_INFO", &script.path_info);
    if !script.path_info.is_empty() {
        let mut translated = document_root.as_os_str().as_bytes().to_vec();
        translated.extend_from_slice(&script.path_info);
        set(b"PATH_TRANSLATED", &translated);
    }
    set(b"QUERY_STRING", meta.query);
    let mut address = [0u8; IP_TEXT_MAX];
    set(b"REMOTE_ADDR", ip_text(meta.peer.ip(), &mut address));
    set(b"REMOTE_PORT", decimal(meta.peer.port().into(), &mut digits));
    set(b"REQUEST_METHOD", req.method.as_str().as_bytes());
    set(b"SCRIPT_NAME", &script.name);
    // RFC 3875 §4.1.14: the host the client asked for, without the port.
    // RFC 9112 §3.2.2: with an absolute-form target, its authority is the
    // host, whatever the Host field says. The usual origin-form target
    // (§3.2.1) starts with '/' and has none: it is not searched.
    let authority = Some(req.target)
        .filter(|t| !t.starts_with('/'))
        .and_then(|t| t.split_once("://"))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest).as_bytes());
    let server_name = authority.or(req.host).map(host_without_port).filter(|h| !h.is_empty());
    match server_name {
        Some(h) => set(b"SERVER_NAME", h),
        None => set(b"SERVER_NAME", ip_text(meta.local.ip(), &mut address)),
    }
    set(b"SERVER_PORT", decimal(meta.local.port().into(), &mut digits));
    // RFC 3875 §4.1.16: the protocol the request came in; as nginx, and as
    // PHP expects, "HTTP/2.0" for a stream.
    set(b"SERVER_PROTOCOL", if meta.http2 { b"HTTP/2.0" } else { req.version.as_str().as_bytes() });
    set(b"SERVER_SOFTWARE", concat!("wired/", env!("CARGO_PKG_VERSION")).as_bytes());
    // De-facto variables: Apache's and nginx's names, which PHP and frameworks read.
    set(b"REQUEST_URI", req.target.as_bytes());
    set(b"SCRIPT_FILENAME", script.filename.as_os_str().as_bytes());
    set(b"DOCUMENT_ROOT", document_root.as_os_str().as_bytes());
    // Apache's and nginx's: how PHP's $_SERVER['HTTPS'] and frameworks learn
    // that the page was fetched over TLS, to build https URLs.
    set(b"REQUEST_SCHEME", if meta.https { b"https" } else { b"http" });
    if meta.https {
        set(b"HTTPS", b"on");
    }
    // php-cgi refuses to run (cgi.force_redirect) unless it sees this.
    set(b"REDIRECT_STATUS", b"200");
    set(b"PATH", b"/usr/local/bin:/usr/bin:/bin");
    // RFC 3875 §4.1.18: every request header as HTTP_NAME.
    let passed = |name: &str| {
        // Already given as CONTENT_*; never HTTP_PROXY (httpoxy, CVE-2016-5385:
        // programs take HTTP_PROXY as their outgoing proxy); like nginx, no
        // names with '_', which would be confused with '-' once converted;
        // and no hop-by-hop field (RFC 9110 §7.6.1): wired has already
        // decoded a chunked body, and a program that saw
        // HTTP_TRANSFER_ENCODING=chunked would decode it again (Werkzeug
        // did, and read an empty body).
        !(name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("content-type")
            || name.eq_ignore_ascii_case("proxy")
            || name.contains('_')
            || req.is_hop_by_hop(name))
    };
    let mut variable = [0u8; HEADER_VARIABLE_MAX];
    for (i, field) in req.headers.iter().enumerate() {
        // Names differ only by case and '-' (no '_' is passed), so one
        // variable is one name, case aside: given once, where it first occurs.
        let same = |f: &httparse::Header<'_>| f.name.eq_ignore_ascii_case(field.name);
        if !passed(field.name) || req.headers.get(..i).unwrap_or_default().iter().any(same) {
            continue;
        }
        let name = header_variable(field.name, &mut variable);
        let later = req.headers.get(i + 1..).unwrap_or_default();
        if later.iter().any(same) {
            // RFC 3875 §4.1.18: repeated fields are joined with commas.
            let mut joined = field.value.to_vec();
            for f in later.iter().filter(|f| same(f)) {
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(f.value);
            }
            set(&name, &joined);
        } else {
            set(&name, field.value);
        }
    }
}

/// The meta-variables as a list, for `Command::envs`.
pub fn environment_list(req: &Request<'_, '_>, meta: &Meta<'_>) -> Vec<(OsString, OsString)> {
    let mut env = Vec::with_capacity(32 + req.headers.len());
    environment(req, meta, |k, v| env.push((OsStr::from_bytes(k).to_owned(), OsStr::from_bytes(v).to_owned())));
    env
}

/// Longest HTTP_NAME built on the stack; a longer field name is allocated.
const HEADER_VARIABLE_MAX: usize = 64;

/// The meta-variable of a header field (RFC 3875 §4.1.18): HTTP_ and its
/// name in upper case, '-' as '_'.
fn header_variable<'b>(name: &str, buf: &'b mut [u8; HEADER_VARIABLE_MAX]) -> Cow<'b, [u8]> {
    let converted = name.bytes().map(|b| if b == b'-' { b'_' } else { b.to_ascii_uppercase() });
    match buf.get_mut(..5 + name.len()) {
        Some(dst) => {
            for (d, b) in dst.iter_mut().zip(b"HTTP_".iter().copied().chain(converted)) {
                *d = b;
            }
            Cow::Borrowed(dst)
        }
        None => Cow::Owned(b"HTTP_".iter().copied().chain(converted).collect()),
    }
}

/// `n` in decimal, written at the end of `buf`.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Longest text of an IP address: an IPv6 address written in full (39).
const IP_TEXT_MAX: usize = 40;

/// An address as `Display` writes it (1.2.3.4, ::1), without an allocation.
fn ip_text(ip: std::net::IpAddr, buf: &mut [u8; IP_TEXT_MAX]) -> &[u8] {
    let mut len = 0;
    match ip {
        std::net::IpAddr::V4(v4) => {
            // Written by hand: the formatting machinery costs more than the rest.
            let mut digits = [0u8; 20];
            for (k, octet) in v4.octets().into_iter().enumerate() {
                if k > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                let d = decimal(octet.into(), &mut digits);
                buf[len..len + d.len()].copy_from_slice(d);
                len += d.len();
            }
        }
        std::net::IpAddr::V6(v6) => {
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            // Cannot fail: the longest text fits.
            let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{v6}"));
            len = cursor.position() as usize;
        }
    }
    &buf[..len]
}

fn host_without_port(host: &[u8]) -> &[u8] {
    if host.starts_with(b"[") {
        // An IPv6 literal: keep the brackets' content.
        let end = host.iter().position(|&b| b == b']').unwrap_or(host.len());
        return host.get(1..end).unwrap_or_default();
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(i) => host.get(..i).unwrap_or(host),
        None => host,
    }
}

/// The header block a CGI program wrote, read (RFC 3875 §6.2-§6.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputHead {
    /// The status to send.
    pub status: u16,
    /// A `Location` starting with `/`, to be served internally (§6.2.2).
    pub local_redirect: Option<Vec<u8>>,
    /// The program's own `Content-Length`, if it gave one.
    pub content_length: Option<u64>,
    /// Field lines to pass to the client, each ending in CRLF.
    pub fields: Vec<u8>,
}

/// Result of looking at a program's output so far.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadStatus {
    /// The blank line has not come yet.
    Partial,
    /// The header block, and how many bytes of output it took.
    Complete(OutputHead, usize),
    /// Not a valid CGI response (502).
    Malformed(&'static str),
}

/// Largest header block accepted from a program.
pub const MAX_OUTPUT_HEAD: usize = 16 * 1024;

/// Bytes first set aside for the fields of an output head.
const FIELDS_CAPACITY: usize = 256;

/// Read the header block from the start of a program's output.
pub fn parse_output_head(out: &[u8]) -> HeadStatus {
    // RFC 3875 §6.3: header lines end in NL; §7.2: on UNIX that is LF, and
    // a server should accept CR LF too, which programs also write.
    let mut pos = 0;
    // The fields kept are part of the block: room for a usual block's at
    // once, rather than growing a byte vector from nothing.
    let fields = Vec::with_capacity(out.len().min(FIELDS_CAPACITY));
    let mut head = OutputHead { status: 200, fields, ..OutputHead::default() };
    let mut status = None;
    let mut location: Option<&[u8]> = None;
    let mut fields_seen = 0;
    loop {
        let Some(lf) = out.get(pos..).and_then(|rest| memchr::memchr(b'\n', rest)) else {
            return if out.len() > MAX_OUTPUT_HEAD {
                HeadStatus::Malformed("header block too large")
            } else {
                HeadStatus::Partial
            };
        };
        let line_end = pos + lf;
        let line = out.get(pos..line_end).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos = line_end + 1;
        if pos > MAX_OUTPUT_HEAD {
            return HeadStatus::Malformed("header block too large");
        }
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return HeadStatus::Malformed("a header line without a colon");
        };
        let (name, value) = line.split_at(colon);
        let value = wired_parser::connection::trim_ows(value.get(1..).unwrap_or_default());
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
            return HeadStatus::Malformed("an invalid header name");
        }
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return HeadStatus::Malformed("a control byte in a header value");
        }
        fields_seen += 1;
        if name.eq_ignore_ascii_case(b"status") {
            // RFC 3875 §6.3.3: Status = 3digit SP reason-phrase. It is the
            // final answer, so never 1xx (RFC 9110 §15.2): a client would
            // take a 100 for interim and a 101 for a protocol switch.
            let code = value.get(..3).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| d.parse::<u16>().ok());
            match code {
                Some(c) if (200..=599).contains(&c) && matches!(value.get(3), None | Some(b' ')) => status = Some(c),
                _ => return HeadStatus::Malformed("an invalid Status"),
            }
            continue;
        }
        if name.eq_ignore_ascii_case(b"location") {
            location = Some(value);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            match std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok()) {
                Some(n) if value.iter().all(u8::is_ascii_digit) => head.content_length = Some(n),
                _ => return HeadStatus::Malformed("an invalid Content-Length"),
            }
            continue;
        }
        // Hop-by-hop fields describe the program's pipe, not our connection
        // (RFC 9110 §7.6.1); Date and Server are ours to send.
        const DROPPED: [&[u8]; 9] = [
            b"connection",
            b"keep-alive",
            b"transfer-encoding",
            b"te",
            b"trailer",
            b"upgrade",
            b"proxy-connection",
            b"date",
            b"server",
        ];
        if DROPPED.iter().any(|d| name.eq_ignore_ascii_case(d)) {
            continue;
        }
        head.fields.extend_from_slice(name);
        head.fields.extend_from_slice(b": ");
        head.fields.extend_from_slice(value);
        head.fields.extend_from_slice(b"\r\n");
    }
    // RFC 3875 §6.2: at least one CGI field.
    if fields_seen == 0 {
        return HeadStatus::Malformed("no header fields");
    }
    match (status, location) {
        (Some(s), _) => head.status = s,
        // RFC 3875 §6.2.2: a local path alone is served by the server itself.
        (None, Some(loc)) if loc.starts_with(b"/") => {
            head.local_redirect = Some(loc.to_vec());
            head.status = 200;
        }
        // RFC 3875 §6.2.3: a client redirect gets 302.
        (None, Some(_)) => head.status = 302,
        (None, None) => {}
    }
    HeadStatus::Complete(head, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(out: &[u8]) -> (OutputHead, usize) {
        match parse_output_head(out) {
            HeadStatus::Complete(h, n) => (h, n),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(out)),
        }
    }

    #[test]
    fn output_heads() {
        let (h, n) = complete(b"Content-Type: text/plain\n\nbody");
        assert_eq!((h.status, n), (200, 26));
        assert_eq!(h.fields, b"Content-Type: text/plain\r\n");

        let (h, _) = complete(b"Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n");
        assert_eq!(h.status, 404);

        let (h, _) = complete(b"Location: http://example.com/x\n\n");
        assert_eq!(h.status, 302);
        assert_eq!(h.fields, b"Location: http://example.com/x\r\n");

        let (h, _) = complete(b"Location: /other?q=1\n\n");
        assert_eq!(h.local_redirect.as_deref(), Some(&b"/other?q=1"[..]));

        let (h, _) = complete(b"Content-Length: 5\nConnection: close\nX-A: b\n\nhello");
        assert_eq!(h.content_length, Some(5));
        assert_eq!(h.fields, b"X-A: b\r\n");

        assert_eq!(parse_output_head(b"Content-Type: text/plain\n"), HeadStatus::Partial);
        assert!(matches!(parse_output_head(b"no colon here\n\n"), HeadStatus::Malformed(_)));
        assert!(matches!(parse_output_head(b"\n\n"), HeadStatus::Malformed(_)));
        assert!(matches!(parse_output_head(b"Status: abc\n\n"), HeadStatus::Malformed(_)));
        assert!(matches!(parse_output_head(b"Status: 101 Switching Protocols\n\n"), HeadStatus::Malformed(_)));
        assert!(matches!(parse_output_head(b"Bad Name: x\n\n"), HeadStatus::Malformed(_)));
        assert!(matches!(parse_output_head(b"X: a\x01b\n\n"), HeadStatus::Malformed(_)));
        let huge = vec![b'x'; MAX_OUTPUT_HEAD + 10];
        assert!(matches!(parse_output_head(&huge), HeadStatus::Malformed(_)));
    }

    #[test]
    fn hop_by_hop_fields_are_not_meta_variables() {
        let raw = b"POST /s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop\r\n\
                    X-Hop: 1\r\nTE: trailers\r\nKeep-Alive: timeout=5\r\nTrailer: X-T\r\nUpgrade: h2c\r\n\
                    Proxy-Connection: close\r\nX-End: 2\r\n\r\n";
        let mut fields = [wired_parser::EMPTY_HEADER; 16];
        let limits = wired_parser::Limits::default();
        let Ok(wired_parser::Status::Complete(req)) = wired_parser::HeadParser::new().parse(raw, &limits, &mut fields)
        else {
            panic!("the request parses")
        };
        let script = Script {
            program: "/bin/true".into(),
            filename: "/bin/true".into(),
            interpreted: false,
            name: b"/s".to_vec(),
            path_info: Vec::new(),
            document_root: None,
        };
        let meta = Meta {
            script: &script,
            query: b"",
            content_length: Some(11),
            peer: "127.0.0.1:5000".parse().unwrap(),
            local: "127.0.0.1:80".parse().unwrap(),
            document_root: Path::new("/srv"),
            https: false,
            http2: false,
        };
        let env = environment_list(&req, &meta);
        let names: Vec<String> = env.iter().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
        for hop in ["TRANSFER_ENCODING", "CONNECTION", "X_HOP", "TE", "KEEP_ALIVE", "TRAILER", "UPGRADE"] {
            assert!(!names.contains(&format!("HTTP_{hop}")), "HTTP_{hop} passed: {names:?}");
        }
        assert!(!names.contains(&"HTTP_PROXY_CONNECTION".to_string()));
        assert!(names.contains(&"HTTP_X_END".to_string()) && names.contains(&"HTTP_HOST".to_string()));
        assert!(env.iter().any(|(k, v)| k == "CONTENT_LENGTH" && v == "11"));
    }

    #[test]
    fn environment_in_order_with_repeated_fields_joined() {
        let raw = b"GET /s/x.php/more?q=1 HTTP/1.0\r\nHost: example.com:8080\r\nX-Dup: 1\r\nAccept: */*\r\n\
                    x-dup: 2\r\nAuthorization: Basic abc\r\nX_Under: no\r\nProxy: evil\r\nX-DUP: 3\r\n\r\n";
        let mut fields = [wired_parser::EMPTY_HEADER; 16];
        let limits = wired_parser::Limits::default();
        let Ok(wired_parser::Status::Complete(req)) = wired_parser::HeadParser::new().parse(raw, &limits, &mut fields)
        else {
            panic!("the request parses")
        };
        let script = Script {
            program: "/srv/s/x.php".into(),
            filename: "/srv/s/x.php".into(),
            interpreted: false,
            name: b"/s/x.php".to_vec(),
            path_info: b"/more".to_vec(),
            document_root: None,
        };
        let meta = Meta {
            script: &script,
            query: b"q=1",
            content_length: None,
            peer: "[2001:db8::1]:65535".parse().unwrap(),
            local: "10.0.0.255:80".parse().unwrap(),
            document_root: Path::new("/srv"),
            https: true,
            http2: false,
        };
        let env: Vec<(String, String)> = environment_list(&req, &meta)
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        let expect = [
            ("AUTH_TYPE", "Basic"),
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("PATH_INFO", "/more"),
            ("PATH_TRANSLATED", "/srv/more"),
            ("QUERY_STRING", "q=1"),
            ("REMOTE_ADDR", "2001:db8::1"),
            ("REMOTE_PORT", "65535"),
            ("REQUEST_METHOD", "GET"),
            ("SCRIPT_NAME", "/s/x.php"),
            ("SERVER_NAME", "example.com"),
            ("SERVER_PORT", "80"),
            ("SERVER_PROTOCOL", "HTTP/1.0"),
            ("SERVER_SOFTWARE", concat!("wired/", env!("CARGO_PKG_VERSION"))),
            ("REQUEST_URI", "/s/x.php/more?q=1"),
            ("SCRIPT_FILENAME", "/srv/s/x.php"),
            ("DOCUMENT_ROOT", "/srv"),
            ("REQUEST_SCHEME", "https"),
            ("HTTPS", "on"),
            ("REDIRECT_STATUS", "200"),
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("HTTP_HOST", "example.com:8080"),
            // RFC 3875 §4.1.18: where the name first occurs, its lines joined.
            ("HTTP_X_DUP", "1, 2, 3"),
            ("HTTP_ACCEPT", "*/*"),
            ("HTTP_AUTHORIZATION", "Basic abc"),
        ];
        let expect: Vec<(String, String)> = expect.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(env, expect);
    }

    #[test]
    fn numbers_and_addresses_as_display_writes_them() {
        let mut digits = [0u8; 20];
        for n in [0, 7, 10, 65535, u64::MAX] {
            assert_eq!(decimal(n, &mut digits), n.to_string().as_bytes());
        }
        let mut text = [0u8; IP_TEXT_MAX];
        for ip in ["0.0.0.0", "255.255.255.255", "10.0.100.9", "::", "::1", "::ffff:1.2.3.4", "fe80::1:2"]
            .into_iter()
            .chain(["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:0:1:1:1:1:1"])
        {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip, &mut text), ip.to_string().as_bytes());
        }
    }

    #[test]
    fn header_variables_short_and_long() {
        let mut buf = [0u8; HEADER_VARIABLE_MAX];
        assert_eq!(&*header_variable("x-forwarded-for", &mut buf), b"HTTP_X_FORWARDED_FOR");
        // Longer than the stack buffer: allocated, the same conversion.
        let long = format!("x-{}", "a-b".repeat(40));
        let expect = format!("HTTP_X_{}", "A_B".repeat(40));
        assert_eq!(&*header_variable(&long, &mut buf), expect.as_bytes());
        let exact = "n".repeat(HEADER_VARIABLE_MAX - 5);
        assert_eq!(&*header_variable(&exact, &mut buf), format!("HTTP_{}", exact.to_uppercase()).as_bytes());
    }

    #[test]
    fn host_port_stripping() {
        assert_eq!(host_without_port(b"example.com:8080"), b"example.com");
        assert_eq!(host_without_port(b"example.com"), b"example.com");
        assert_eq!(host_without_port(b"[::1]:8080"), b"::1");
    }
}
