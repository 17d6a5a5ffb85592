//! The server's configuration: read from a file (`file.rs`, `--config`)
//! and from the command line (`flags.rs`), whose flags override the file.
//! What answers each request is one route table (`routes.rs`), whichever way
//! it was configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wired_parser::Limits;

pub mod file;
pub mod flags;
pub mod mime_types;
pub mod routes;
pub mod rules;
mod servers;
pub mod upstream;

pub use routes::RouteTable;
pub use upstream::{FastcgiMatch, FastcgiRoute, ProxyHost, ProxyRoute, UpstreamTimeouts};

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLog {
    /// No access log.
    Off,
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// A `--cache-control` rule: the value, for every file or for one extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheControl {
    /// The extension without its dot (`css`), or `None` for every file.
    pub extension: Option<String>,
    /// The field value, such as `max-age=3600`.
    pub value: String,
}

/// Everything a worker needs to know; one copy shared read-only by all workers.
#[derive(Debug, Clone)]
pub struct Config {
    /// Addresses to listen on.
    pub listen: Vec<SocketAddr>,
    /// The document root.
    pub root: PathBuf,
    /// Worker threads (one event loop each).
    pub workers: usize,
    /// Connections per worker beyond which new ones are refused.
    pub max_connections: usize,
    /// Head size limits handed to the parser.
    pub limits: Limits,
    /// Largest request body accepted (413 beyond it).
    pub max_body_bytes: u64,
    /// The whole head must arrive within this (slowloris defence).
    pub head_timeout: Duration,
    /// Longest pause while reading a request body.
    pub body_timeout: Duration,
    /// How long an idle keep-alive connection is kept.
    pub keepalive_timeout: Duration,
    /// Longest a client may go without reading any of its response.
    pub send_timeout: Duration,
    /// On SIGTERM/SIGINT, how long in-flight responses get to finish.
    pub drain_timeout: Duration,
    /// The access log.
    pub access_log: AccessLog,
    /// Serve directory listings where there is no index.html.
    pub autoindex: bool,
    /// Follow symbolic links that lead outside the root.
    pub follow_symlinks: bool,
    /// Send file bodies with `sendfile` (`--sendfile on`, the default), or
    /// copy them through a buffer (`--sendfile off`).
    pub sendfile: bool,
    /// Extra extension → media type pairs (`--mime-types FILE`).
    pub mime_types: Vec<(String, String)>,
    /// Custom error pages: status → URL path under the root.
    pub error_pages: Vec<(u16, String)>,
    /// `Cache-Control` values to add to file responses.
    pub cache_control: Vec<CacheControl>,
    /// Print an annotated account of the wire (`--trace`).
    pub trace: Option<TraceTarget>,
    /// Which server and location answers each request, and how.
    pub routes: RouteTable,
    /// A CGI program must start its response within this time (504 otherwise).
    pub cgi_timeout: Duration,
    /// Most CGI processes running at once per worker (503 beyond).
    pub cgi_max: usize,
    /// Addresses to listen on with TLS (`--listen-tls`).
    pub listen_tls: Vec<SocketAddr>,
    /// The TLS configuration built at startup from the certificate flags
    /// (`crate::tls::server_config`); `None` without `--listen-tls`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// On plain listeners, answer every request with a 308 to the same URL
    /// over https (`--redirect-https`).
    pub redirect_https: bool,
    /// The whole TLS handshake must be done within this (`--handshake-timeout`).
    pub handshake_timeout: Duration,
    /// Add the TLS version and SNI name to access log lines (`--access-log-tls`).
    pub access_log_tls: bool,
    /// Upstream groups (`--upstream`, and one per address named directly in
    /// `--proxy` or `--fastcgi`); routes name them by index.
    pub upstreams: Vec<crate::upstream::Group>,
    /// Pool sizes and failure marking for every group.
    pub upstream_pool: crate::upstream::PoolConfig,
    /// Connect, send, first byte and read timeouts for upstream exchanges.
    pub upstream_timeouts: UpstreamTimeouts,
    /// Every proxy target of the route table (`--proxy`, or a location's
    /// `proxy`); `routes::Action::Proxy` names one by index.
    pub proxy: Vec<ProxyRoute>,
    /// `--proxy-host`: the Host sent upstream.
    pub proxy_host: ProxyHost,
    /// The script tried in a directory for `--fastcgi .EXT` (`--fastcgi-index`).
    pub fastcgi_index: String,
    /// Ask FastCGI servers to keep connections open (`--fastcgi-keep-conn`,
    /// `FCGI_KEEP_CONN`), so they return to the pool. Off by default, as
    /// nginx's `fastcgi_keep_conn`: php-fpm gives each connection a whole
    /// process, which an idle pooled connection keeps from everyone else,
    /// so its `pm.max_children` must exceed workers × `--upstream-keepalive`.
    pub fastcgi_keep_conn: bool,
    /// WebSocket settings (`--ws-*`).
    pub ws: WsSettings,
    /// `--access-log-format json`: a JSON object per line.
    pub access_log_json: bool,
    /// `--security-headers`: `X-Content-Type-Options`, `Referrer-Policy`,
    /// `X-Frame-Options` on every response, and HSTS over TLS.
    pub security_headers: bool,
    /// `--http2`: HTTP/2 (RFC 9113) by ALPN `h2` on TLS listeners and by
    /// the client's connection preface (prior knowledge) on plain ones.
    pub http2: bool,
    /// `--csp`: a `Content-Security-Policy` for every response (off unless given).
    pub csp: Option<String>,
    /// `--user`, `--group`: who the process becomes once its ports are bound.
    pub user: Option<String>,
    pub group: Option<String>,
    /// `--compress`: gzip, brotli and zstd on the fly.
    pub compress: CompressSettings,
}

/// Compression on the fly (`handler/compress.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressSettings {
    /// On (`--compress`, `compress = true`).
    pub enabled: bool,
    /// Media types compressed (their essence, without parameters).
    pub types: Vec<String>,
    /// Bodies shorter than this are sent as they are: the coding's own
    /// header and the client's work would outweigh the bytes saved.
    pub min_length: u64,
    /// The level: gzip's 1 to 9; brotli's quality and zstd's level the
    /// same number (up to 11 and 19).
    pub level: u32,
}

impl Default for CompressSettings {
    fn default() -> Self {
        CompressSettings {
            enabled: false,
            types: [
                "text/html",
                "text/css",
                "text/plain",
                "text/xml",
                "text/javascript",
                "text/markdown",
                "text/csv",
                "application/javascript",
                "application/json",
                "application/manifest+json",
                "application/xml",
                "application/rss+xml",
                "application/atom+xml",
                "application/wasm",
                "image/svg+xml",
                "font/ttf",
                "font/otf",
            ]
            .map(String::from)
            .to_vec(),
            min_length: 256,
            level: 5,
        }
    }
}

/// How wired serves WebSockets it terminates (`--ws-echo`, `--ws-program`).
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// The longest message (and frame) accepted, in bytes; beyond it the
    /// connection is closed with 1009 (RFC 6455 §7.4.1). Messages are
    /// gathered whole before they are echoed or given to a program.
    pub max_message: u64,
    /// After this long without a byte from the client, a Ping is sent; if
    /// nothing comes back in as long again, the connection is closed.
    pub idle_timeout: Duration,
    /// Origins allowed to open a socket (RFC 6455 §10.2); empty: any.
    pub origins: Vec<String>,
    /// Subprotocols offered, in order of preference (§1.9).
    pub protocols: Vec<String>,
    /// permessage-deflate (RFC 7692) is accepted when a client offers it.
    pub deflate: bool,
    /// The most `--ws-program` processes at once (per worker, as `--cgi-max`).
    pub program_max: usize,
}

impl Default for WsSettings {
    fn default() -> Self {
        WsSettings {
            max_message: 16 * 1024 * 1024,
            idle_timeout: Duration::from_secs(60),
            origins: Vec::new(),
            protocols: Vec::new(),
            deflate: true,
            program_max: 64,
        }
    }
}

/// A `--cgi` mapping (a location of the route table once built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiDir {
    /// The URL prefix, starting with `/` and without a trailing `/`.
    pub prefix: String,
    /// The directory holding the programs.
    pub dir: PathBuf,
}

/// A `--cgi-ext` mapping, or a location's `cgi_ext` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiExt {
    /// The extension without its dot.
    pub ext: String,
    /// The program that runs such files.
    pub interpreter: PathBuf,
}

/// Where `--trace` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceTarget {
    /// Standard error.
    Stderr,
    /// A file.
    File(PathBuf),
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 8080))],
            root: PathBuf::from("www"),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: 16_384,
            limits: Limits::default(),
            max_body_bytes: 16 * 1024 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(75),
            send_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            access_log: AccessLog::Off,
            autoindex: false,
            follow_symlinks: false,
            sendfile: true,
            mime_types: Vec::new(),
            error_pages: Vec::new(),
            cache_control: Vec::new(),
            trace: None,
            routes: RouteTable::default(),
            cgi_timeout: Duration::from_secs(30),
            cgi_max: 64,
            listen_tls: Vec::new(),
            tls: None,
            redirect_https: false,
            handshake_timeout: Duration::from_secs(10),
            access_log_tls: false,
            upstreams: Vec::new(),
            upstream_pool: crate::upstream::PoolConfig::default(),
            upstream_timeouts: UpstreamTimeouts::default(),
            proxy: Vec::new(),
            proxy_host: ProxyHost::Pass,
            fastcgi_index: "index.php".to_string(),
            fastcgi_keep_conn: false,
            ws: WsSettings::default(),
            access_log_json: false,
            security_headers: false,
            http2: false,
            csp: None,
            user: None,
            group: None,
            compress: CompressSettings::default(),
        }
    }
}

/// A time as the flags and the file write it: `10` or `10s` (seconds),
/// `500ms`, `2m`; never zero. `None` when it is not one.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let (digits, scale_ms) = if let Some(d) = s.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = s.strip_suffix('s') {
        (d, 1000)
    } else if let Some(d) = s.strip_suffix('m') {
        (d, 60_000)
    } else {
        (s, 1000)
    };
    let n: u64 = digits.parse().ok()?;
    let ms = n.checked_mul(scale_ms).filter(|&ms| ms > 0)?;
    Some(Duration::from_millis(ms))
}

/// A `Cache-Control` rule: `css=max-age=60` for one extension, or
/// `max-age=60` (no extension word before the `=`) for every file.
pub fn parse_cache_control(rule: &str) -> Result<CacheControl, String> {
    let parsed = match rule.split_once('=') {
        Some((ext, value))
            if !ext.is_empty()
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext != "max-age"
                && ext != "s-maxage"
                && ext != "stale-while-revalidate" =>
        {
            CacheControl { extension: Some(ext.trim_start_matches('.').to_string()), value: value.to_string() }
        }
        _ => CacheControl { extension: None, value: rule.to_string() },
    };
    if parsed.value.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("control characters are not allowed".into());
    }
    Ok(parsed)
}

/// An error page: a status from 400 to 599 and a path under the root.
pub fn parse_error_page(code: &str, path: &str) -> Option<(u16, String)> {
    let code: u16 = code.parse().ok()?;
    ((400..=599).contains(&code) && path.starts_with('/')).then(|| (code, path.to_string()))
}
