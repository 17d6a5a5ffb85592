//! The configuration file (`wired --config wired.toml`): TOML read into the
//! structs below, then checked and turned into a [`Config`] and its route
//! table (servers and locations: `servers.rs`). The flags given beside it
//! override its top-level settings (`main.rs`).
//!
//! Every key is declared here, with `deny_unknown_fields`, so a misspelt
//! key is an error and not a silent default; every value that is checked
//! beyond its type keeps its byte span (`Spanned`), so each mistake is
//! reported as `file:line:column: a plain sentence`. The reference,
//! key by key, is docs/configuration.md; a test keeps it and [`schema`] in
//! step.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{AccessLog, Config, parse_cache_control, parse_duration, parse_error_page, upstream};
use crate::tls::{CertPair, TlsSettings};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub listen: Option<Vec<Spanned<String>>>,
    pub listen_tls: Option<Vec<Spanned<String>>>,
    pub root: Option<Spanned<String>>,
    pub workers: Option<Spanned<i64>>,
    pub max_connections: Option<Spanned<i64>>,
    pub head_timeout: Option<Spanned<toml::Value>>,
    pub body_timeout: Option<Spanned<toml::Value>>,
    pub keepalive_timeout: Option<Spanned<toml::Value>>,
    pub send_timeout: Option<Spanned<toml::Value>>,
    pub drain_timeout: Option<Spanned<toml::Value>>,
    pub max_header_bytes: Option<Spanned<i64>>,
    pub max_body_bytes: Option<Spanned<i64>>,
    pub access_log: Option<Spanned<String>>,
    pub access_log_tls: Option<bool>,
    pub autoindex: Option<bool>,
    pub follow_symlinks: Option<bool>,
    pub sendfile: Option<bool>,
    pub mime_types: Option<Spanned<String>>,
    pub error_page: Option<BTreeMap<String, Spanned<String>>>,
    pub cache_control: Option<Vec<Spanned<String>>>,
    pub cgi_timeout: Option<Spanned<toml::Value>>,
    pub cgi_max: Option<Spanned<i64>>,
    pub tls_cert: Option<Spanned<String>>,
    pub tls_key: Option<Spanned<String>>,
    pub tls_ocsp: Option<Spanned<String>>,
    pub handshake_timeout: Option<Spanned<toml::Value>>,
    pub redirect_https: Option<bool>,
    pub proxy_host: Option<Spanned<String>>,
    pub fastcgi_index: Option<Spanned<String>>,
    pub fastcgi_keep_conn: Option<bool>,
    pub upstream_connect_timeout: Option<Spanned<toml::Value>>,
    pub upstream_send_timeout: Option<Spanned<toml::Value>>,
    pub upstream_header_timeout: Option<Spanned<toml::Value>>,
    pub upstream_read_timeout: Option<Spanned<toml::Value>>,
    pub upstream_keepalive: Option<Spanned<i64>>,
    pub upstream_keepalive_timeout: Option<Spanned<toml::Value>>,
    pub upstream_max_fails: Option<Spanned<i64>>,
    pub upstream_fail_timeout: Option<Spanned<toml::Value>>,
    pub ws_max_message: Option<Spanned<i64>>,
    pub ws_idle_timeout: Option<Spanned<toml::Value>>,
    pub ws_origins: Option<Vec<Spanned<String>>>,
    pub ws_protocols: Option<Vec<Spanned<String>>>,
    pub ws_deflate: Option<bool>,
    pub ws_program_max: Option<Spanned<i64>>,
    pub access_log_format: Option<Spanned<String>>,
    pub security_headers: Option<bool>,
    pub http2: Option<bool>,
    pub csp: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub compress: Option<bool>,
    pub compress_level: Option<Spanned<i64>>,
    pub compress_min_length: Option<Spanned<i64>>,
    pub compress_types: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub upstream: BTreeMap<String, Spanned<UpstreamGroup>>,
    #[serde(default)]
    pub server: Vec<Spanned<ServerBlock>>,
}

/// `[upstream.NAME]`: a group of servers, taken in turn.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpstreamGroup {
    pub servers: Vec<Spanned<String>>,
}

/// `[[server]]`: a virtual server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerBlock {
    #[serde(default)]
    pub names: Vec<Spanned<String>>,
    pub default: Option<Spanned<bool>>,
    pub root: Option<Spanned<String>>,
    pub autoindex: Option<bool>,
    pub tls_cert: Option<Spanned<String>>,
    pub tls_key: Option<Spanned<String>>,
    #[serde(default)]
    pub location: Vec<LocationBlock>,
}

/// `[[server.location]]`: a path of a server, and what answers it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LocationBlock {
    pub path: Spanned<String>,
    pub root: Option<Spanned<String>>,
    pub alias: Option<Spanned<String>>,
    pub autoindex: Option<Spanned<bool>>,
    pub cgi: Option<Spanned<String>>,
    pub cgi_ext: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub fastcgi: Option<Spanned<String>>,
    pub fastcgi_ext: Option<Spanned<Vec<Spanned<String>>>>,
    pub proxy: Option<Spanned<String>>,
    pub ws_echo: Option<Spanned<bool>>,
    pub ws_program: Option<Spanned<String>>,
    pub ws_proxy: Option<Spanned<String>>,
    pub redirect: Option<Spanned<String>>,
    pub respond: Option<Spanned<String>>,
    pub status: Option<Spanned<i64>>,
    pub content_type: Option<Spanned<String>>,
    pub add_header: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub add_header_always: Option<bool>,
    pub cors_origins: Option<Spanned<Vec<Spanned<String>>>>,
    pub cors_credentials: Option<bool>,
    pub cors_methods: Option<Vec<Spanned<String>>>,
    pub cors_headers: Option<Vec<Spanned<String>>>,
    pub cors_expose: Option<Vec<Spanned<String>>>,
    pub cors_max_age: Option<Spanned<i64>>,
    pub auth_basic: Option<Spanned<String>>,
    pub auth_basic_user_file: Option<Spanned<String>>,
    pub access: Option<Vec<Spanned<String>>>,
    pub try_files: Option<Spanned<Vec<Spanned<String>>>>,
    pub max_body_bytes: Option<Spanned<i64>>,
}

/// Every key the schema has, by table (`""` is the top level), as the
/// structs above declare them: for `--check-config`'s neighbours and for
/// the test that docs/configuration.md documents exactly these.
pub fn schema() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("", fields_of::<File>()),
        ("upstream.NAME", fields_of::<UpstreamGroup>()),
        ("server", fields_of::<ServerBlock>()),
        ("server.location", fields_of::<LocationBlock>()),
    ]
}

/// The field names serde's derive gave a struct: a deserializer that asks
/// for a struct learns them, and stops there.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Fields(&'static [&'static str]);
    #[derive(Debug)]
    struct Stop;
    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: fmt::Display>(_: M) -> Stop {
            Stop
        }
    }
    struct Asker<'a>(&'a mut Fields);
    impl<'de> serde::Deserializer<'de> for Asker<'_> {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.0 = fields;
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut found = Fields(&[]);
    let _ = T::deserialize(Asker(&mut found));
    found.0
}

/// A mistake in the file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file, as named.
    pub file: PathBuf,
    /// Line and column (from 1), when the mistake has a place.
    pub at: Option<(usize, usize)>,
    /// A plain sentence.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// A mistake at a byte range of the file (before lines are counted).
#[derive(Debug)]
pub(super) struct At(pub Range<usize>, pub String);

/// `Err(At)` for a spanned value.
pub(super) fn at<T>(value: &Spanned<T>, message: impl Into<String>) -> At {
    At(value.span(), message.into())
}

/// What a file gives besides the [`Config`]: the certificates it names
/// (the TLS configuration is built once the flags are read too).
#[derive(Debug, Default)]
pub struct Loaded {
    /// The configuration, flags not yet applied.
    pub config: Config,
    /// The certificates: `tls_cert`/`tls_key`/`tls_ocsp`, and each
    /// server's pair for each of its names.
    pub tls: TlsSettings,
    /// `mime_types`, a file to read into `Config::mime_types`.
    pub mime_types: Option<PathBuf>,
    /// The file says `listen` (else `--listen-tls` alone opens no plain port).
    pub listen_given: bool,
    /// The file has `[[server]]` blocks: its locations are the routes, and
    /// the route flags (`--proxy`, `--fastcgi`, `--cgi`, `--cgi-ext`) are refused.
    pub has_servers: bool,
}

/// Read and check a configuration file.
pub fn load(path: &Path) -> Result<Loaded, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        file: path.to_path_buf(),
        at: None,
        message: format!("cannot read the configuration file: {}", plain_io_error(&e)),
    })?;
    parse(&text, path)
}

/// Check a configuration given as text; `path` names it in errors, and
/// relative paths in it are taken from the working directory, as the
/// flags' are.
pub fn parse(text: &str, path: &Path) -> Result<Loaded, FileError> {
    let locate = |span: Option<Range<usize>>, message: String| FileError {
        file: path.to_path_buf(),
        at: span.map(|s| line_column(text, s.start)),
        message,
    };
    let file: File = toml::from_str(text).map_err(|e| locate(e.span(), plain_toml_error(e.message())))?;
    build(file).map_err(|At(span, message)| locate(Some(span), message))
}

/// Line and column (from 1, the column in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// serde's messages, said plainly: "unknown field `x`, expected one of
/// `a`, `b`" becomes "unknown key 'x' (the keys here are: a, b)".
fn plain_toml_error(message: &str) -> String {
    let message = message.trim_end();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let keys = expected.trim_start_matches(", expected one of ").trim_start_matches(", expected ").replace('`', "");
        return format!("unknown key '{key}' (the keys here are: {keys})");
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        return format!("the key '{key}' is missing here");
    }
    message.replace("invalid type: ", "wrong type: ").replace('`', "'")
}

/// An I/O error without Rust's "(os error N)".
fn plain_io_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Turn the file into a configuration: top-level settings here, servers
/// and locations in `servers.rs`.
fn build(file: File) -> Result<Loaded, At> {
    let mut c = Config::default();
    let mut tls = TlsSettings::default();
    if let Some(list) = &file.listen {
        c.listen = list.iter().map(addr).collect::<Result<_, _>>()?;
    }
    if let Some(list) = &file.listen_tls {
        c.listen_tls = list.iter().map(addr).collect::<Result<_, _>>()?;
        if file.listen.is_none() {
            // As with the flags: TLS addresses alone open no plain port.
            c.listen.clear();
        }
    }
    if let Some(w) = &file.workers {
        c.workers = number(w, 1, 256)?;
    }
    if let Some(n) = &file.max_connections {
        c.max_connections = number(n, 1, i64::MAX)?;
    }
    for (value, slot) in [
        (&file.head_timeout, &mut c.head_timeout),
        (&file.body_timeout, &mut c.body_timeout),
        (&file.keepalive_timeout, &mut c.keepalive_timeout),
        (&file.send_timeout, &mut c.send_timeout),
        (&file.drain_timeout, &mut c.drain_timeout),
        (&file.cgi_timeout, &mut c.cgi_timeout),
        (&file.handshake_timeout, &mut c.handshake_timeout),
        (&file.upstream_connect_timeout, &mut c.upstream_timeouts.connect),
        (&file.upstream_send_timeout, &mut c.upstream_timeouts.send),
        (&file.upstream_header_timeout, &mut c.upstream_timeouts.header),
        (&file.upstream_read_timeout, &mut c.upstream_timeouts.read),
        (&file.upstream_keepalive_timeout, &mut c.upstream_pool.keepalive_timeout),
        (&file.upstream_fail_timeout, &mut c.upstream_pool.fail_timeout),
        (&file.ws_idle_timeout, &mut c.ws.idle_timeout),
    ] {
        if let Some(v) = value {
            *slot = duration(v)?;
        }
    }
    if let Some(n) = &file.max_header_bytes {
        c.limits.max_head_bytes = number(n, 256, 1024 * 1024)?;
        c.limits.max_request_line = c.limits.max_request_line.min(c.limits.max_head_bytes);
    }
    if let Some(n) = &file.max_body_bytes {
        c.max_body_bytes = number(n, 0, i64::MAX)?;
    }
    if let Some(log) = &file.access_log {
        c.access_log = match log.get_ref().as_str() {
            "off" => AccessLog::Off,
            "-" => AccessLog::Stdout,
            "" => return Err(at(log, "the access log is a file, '-' for standard output, or 'off'")),
            p => AccessLog::File(PathBuf::from(p)),
        };
    }
    for (value, slot) in [
        (file.access_log_tls, &mut c.access_log_tls),
        (file.autoindex, &mut c.autoindex),
        (file.follow_symlinks, &mut c.follow_symlinks),
        (file.sendfile, &mut c.sendfile),
        (file.redirect_https, &mut c.redirect_https),
        (file.fastcgi_keep_conn, &mut c.fastcgi_keep_conn),
        (file.ws_deflate, &mut c.ws.deflate),
        (file.security_headers, &mut c.security_headers),
        (file.http2, &mut c.http2),
        (file.compress, &mut c.compress.enabled),
    ] {
        if let Some(v) = value {
            *slot = v;
        }
    }
    // Read by main.rs (the reader is the handler's), once checked here.
    let mime_types = match &file.mime_types {
        Some(m) => match std::fs::File::open(m.get_ref()) {
            Ok(_) => Some(PathBuf::from(m.get_ref())),
            Err(e) => return Err(at(m, format!("cannot read {}: {}", m.get_ref(), plain_io_error(&e)))),
        },
        None => None,
    };
    for (code, page) in file.error_page.iter().flatten() {
        let parsed = parse_error_page(code, page.get_ref());
        c.error_pages.push(parsed.ok_or_else(|| {
            at(
                page,
                format!(
                    "error_page: '{code}' = '{}' is not a status from 400 to 599 and a path starting with '/'",
                    page.get_ref()
                ),
            )
        })?);
    }
    for rule in file.cache_control.iter().flatten() {
        c.cache_control.push(parse_cache_control(rule.get_ref()).map_err(|e| at(rule, format!("cache_control: {e}")))?);
    }
    if let Some(n) = &file.cgi_max {
        c.cgi_max = number(n, 1, i64::MAX)?;
    }
    if let Some(n) = &file.ws_max_message {
        c.ws.max_message = number(n, 125, i64::MAX)?;
    }
    if let Some(n) = &file.ws_program_max {
        c.ws.program_max = number(n, 1, i64::MAX)?;
    }
    if let Some(n) = &file.compress_level {
        c.compress.level = number(n, 1, 9)?;
    }
    if let Some(n) = &file.compress_min_length {
        c.compress.min_length = number(n, 0, i64::MAX)?;
    }
    if let Some(types) = &file.compress_types {
        c.compress.types = types.iter().map(|t| t.get_ref().trim().to_ascii_lowercase()).collect();
    }
    if let Some(f) = &file.access_log_format {
        c.access_log_json = match f.get_ref().as_str() {
            "combined" => false,
            "json" => true,
            other => return Err(at(f, format!("access_log_format: '{other}' is not combined or json"))),
        };
    }
    if let Some(p) = &file.csp {
        if p.get_ref().bytes().any(|b| b.is_ascii_control()) {
            return Err(at(p, "csp: a policy on one line"));
        }
        c.csp = Some(p.get_ref().clone());
    }
    c.user = file.user.as_ref().map(|u| u.get_ref().clone()).or(c.user.take());
    c.group = file.group.as_ref().map(|g| g.get_ref().clone()).or(c.group.take());
    c.ws.origins.extend(file.ws_origins.iter().flatten().map(|o| o.get_ref().clone()));
    c.ws.protocols.extend(file.ws_protocols.iter().flatten().map(|p| p.get_ref().clone()));
    match (&file.tls_cert, &file.tls_key) {
        (Some(cert), Some(key)) => {
            tls.default = Some(CertPair { cert: cert.get_ref().into(), key: key.get_ref().into() });
        }
        (Some(cert), None) => return Err(at(cert, "tls_cert needs its tls_key")),
        (None, Some(key)) => return Err(at(key, "tls_key needs its tls_cert")),
        (None, None) => {}
    }
    tls.ocsp = file.tls_ocsp.as_ref().map(|p| PathBuf::from(p.get_ref()));
    if let Some(h) = &file.proxy_host {
        c.proxy_host = upstream::parse_proxy_host(h.get_ref()).map_err(|e| at(h, format!("proxy_host: {e}")))?;
    }
    if let Some(i) = &file.fastcgi_index {
        if i.get_ref().is_empty() || i.get_ref().contains('/') {
            return Err(at(i, format!("fastcgi_index: '{}' is not a file name", i.get_ref())));
        }
        c.fastcgi_index = i.get_ref().clone();
    }
    if let Some(n) = &file.upstream_keepalive {
        c.upstream_pool.keepalive = number(n, 0, i64::MAX)?;
    }
    if let Some(n) = &file.upstream_max_fails {
        c.upstream_pool.max_fails = number(n, 0, i64::MAX)?;
    }
    for (name, group) in &file.upstream {
        let mut servers = Vec::new();
        for s in &group.get_ref().servers {
            servers.extend(upstream::parse_addrs(s.get_ref()).map_err(|e| at(s, e))?);
        }
        if servers.is_empty() {
            return Err(at(group, format!("the upstream '{name}' names no server")));
        }
        let valid = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !valid {
            return Err(at(group, format!("'{name}' is not a name for an upstream (letters, digits, '-', '_', '.')")));
        }
        c.upstreams.push(crate::upstream::Group { name: name.clone(), servers });
    }
    super::servers::build(&file, &mut c, &mut tls)?;
    let (listen_given, has_servers) = (file.listen.is_some(), !file.server.is_empty());
    Ok(Loaded { config: c, tls, mime_types, listen_given, has_servers })
}

fn addr(a: &Spanned<String>) -> Result<SocketAddr, At> {
    a.get_ref()
        .parse()
        .map_err(|_| at(a, format!("'{}' is not ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)", a.get_ref())))
}

fn number<T: TryFrom<i64>>(n: &Spanned<i64>, min: i64, max: i64) -> Result<T, At> {
    let v = *n.get_ref();
    if v < min || v > max {
        let range = if max == i64::MAX { format!("at least {min}") } else { format!("between {min} and {max}") };
        return Err(at(n, format!("{v} is out of range: it must be {range}")));
    }
    T::try_from(v).map_err(|_| at(n, format!("{v} is too large")))
}

/// A time: `"10s"`, `"500ms"`, `"2m"`, or a number of seconds.
fn duration(v: &Spanned<toml::Value>) -> Result<Duration, At> {
    let parsed = match v.get_ref() {
        toml::Value::String(s) => parse_duration(s),
        toml::Value::Integer(n) if *n > 0 => u64::try_from(*n).ok().map(Duration::from_secs),
        _ => None,
    };
    parsed.ok_or_else(|| at(v, "a time is written \"10s\", \"500ms\", \"2m\" or a number of seconds, and is not zero"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match parse(text, Path::new("t.toml")) {
            Ok(_) => panic!("{text:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(line_column("a\nbc\nd", 4), (2, 3));
        let e = error("workers = 2\nrooot = \"x\"\n");
        assert!(e.starts_with("t.toml:2:1: unknown key 'rooot' (the keys here are: listen, "), "{e}");
        assert_eq!(error("\n\nhead_timeout = \"soon\"\n").split(": ").next(), Some("t.toml:3:16"));
        assert!(error("workers = 0").contains("0 is out of range: it must be between 1 and 256"));
        assert!(error("workers = \"two\"").starts_with("t.toml:1:11: wrong type: string \"two\""));
        assert!(error("listen = [\"localhost\"]").contains("'localhost' is not ADDR:PORT"));
        assert!(error("tls_cert = \"c.pem\"").contains("tls_cert needs its tls_key"));
    }

    #[test]
    fn the_schema_is_read_from_the_structs() {
        let schema = schema();
        assert_eq!(schema[1], ("upstream.NAME", &["servers"][..]));
        assert!(schema[0].1.contains(&"keepalive_timeout") && schema[0].1.contains(&"server"));
        assert_eq!(schema[3].1.first(), Some(&"path"));
    }

    #[test]
    fn top_level_settings() {
        let text = "listen = [\"127.0.0.1:9000\"]\nworkers = 3\nhead_timeout = 5\nbody_timeout = \"250ms\"\n\
                    autoindex = true\nsendfile = false\nerror_page = { 404 = \"/nf.html\" }\n\
                    [upstream.app]\nservers = [\"127.0.0.1:8001\", \"unix:/run/app.sock\"]\n";
        let c = parse(text, Path::new("t.toml")).unwrap().config;
        assert_eq!(c.listen, vec!["127.0.0.1:9000".parse().unwrap()]);
        assert_eq!((c.workers, c.autoindex, c.sendfile), (3, true, false));
        assert_eq!((c.head_timeout, c.body_timeout), (Duration::from_secs(5), Duration::from_millis(250)));
        assert_eq!(c.error_pages, vec![(404, "/nf.html".to_string())]);
        assert_eq!((c.upstreams[0].name.as_str(), c.upstreams[0].servers.len()), ("app", 2));
    }
}
