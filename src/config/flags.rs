//! The command line as a [`Config`]: the getopts flag table (`options`) and
//! `parse_config`, which reads the configuration file (`file.rs`) when
//! `--config` names one and lets each flag given override its setting.
//! `main.rs` prints the usage on a mistake and serves what this returns.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::routes::{WsEndpoint, WsRoute};
use super::{AccessLog, CgiDir, CgiExt, Config, TraceTarget, file, mime_types, routes};
use crate::tls;

/// The usage line, above the flags in `--help` and after a command-line mistake.
pub const USAGE: &str = "Usage: wired [OPTIONS]";

/// The flag table: each flag, its help line and the name of its value.
pub fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optmulti("l", "listen", "address to listen on (repeatable; default 127.0.0.1:8080)", "ADDR:PORT");
    o.optopt("r", "root", "document root (default www/)", "DIR");
    o.optopt(
        "c",
        "config",
        "read settings, servers and locations from a TOML file (docs/configuration.md); flags override it",
        "FILE",
    );
    o.optflag("", "check-config", "check the configuration, print the servers and locations in match order, exit");
    o.optopt("w", "workers", "worker threads, one event loop each (default: one per core)", "N");
    o.optopt("", "max-connections", "most open connections for the process (default 16384)", "N");
    o.optopt("", "head-timeout", "time for a whole request head to arrive (default 10s)", "TIME");
    o.optopt("", "body-timeout", "longest pause while reading a request body (default 30s)", "TIME");
    o.optopt("", "keepalive-timeout", "how long an idle keep-alive connection is kept (default 75s)", "TIME");
    o.optopt("", "send-timeout", "longest a client may go without reading its response (default 30s)", "TIME");
    o.optopt("", "drain-timeout", "on SIGTERM/SIGINT, time given to responses in flight (default 10s)", "TIME");
    o.optopt("", "max-header-bytes", "largest request head (default 16384)", "BYTES");
    o.optopt("", "max-body-bytes", "largest request body (default 16777216)", "BYTES");
    o.optopt("", "access-log", "Combined Log Format access log: a file, - for stdout, or off (default)", "PATH|-|off");
    o.optflag("", "autoindex", "list directories that have no index.html");
    o.optflag("", "follow-symlinks", "follow symbolic links that lead outside the root");
    o.optopt(
        "",
        "sendfile",
        "on: large files go from the page cache with sendfile (default); off: copied through a \
         buffer, for file systems where sendfile misbehaves",
        "on|off",
    );
    o.optopt("", "mime-types", "extra media types, in /etc/mime.types format", "FILE");
    o.optmulti("", "error-page", "custom error page, e.g. 404=/404.html (repeatable)", "CODE=PATH");
    o.optmulti(
        "",
        "cache-control",
        "Cache-Control for files, optionally per extension: css=max-age=3600 (repeatable)",
        "[EXT=]VALUE",
    );
    o.optmulti(
        "",
        "cgi",
        "run programs in DIR for URLs under PREFIX, e.g. /cgi-bin=cgi-bin (repeatable)",
        "PREFIX=DIR",
    );
    o.optmulti(
        "",
        "cgi-ext",
        "run files with this extension under the root with INTERPRETER, e.g. .php=/usr/bin/php-cgi",
        ".EXT=INTERPRETER",
    );
    o.optopt(
        "",
        "cgi-timeout",
        "longest a CGI program may go without reading its body or writing output (default 30s)",
        "TIME",
    );
    o.optopt("", "cgi-max", "most CGI processes at once per worker; beyond it 503 (default 64)", "N");
    o.optmulti("", "listen-tls", "address to listen on with TLS (repeatable), e.g. 0.0.0.0:443", "ADDR:PORT");
    o.optopt("", "tls-cert", "certificate chain for --listen-tls (PEM), the default for any name", "FILE");
    o.optopt("", "tls-key", "private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)", "FILE");
    o.optmulti(
        "",
        "tls-cert-for",
        "a certificate chosen by SNI for HOST (or *.domain), e.g. a.example=a.pem,a.key (repeatable)",
        "HOST=CERT,KEY",
    );
    o.optopt("", "tls-ocsp", "a DER OCSP response to staple to the default certificate", "FILE");
    o.optopt("", "handshake-timeout", "the TLS handshake must be done within this (default 10s)", "TIME");
    o.optflag("", "redirect-https", "on plain listeners, answer every request with 308 to its https URL");
    o.optopt("", "access-log-format", "combined (default) or json: one JSON object per line", "FORMAT");
    o.optflag("", "compress", "gzip, brotli and zstd on the fly for text types (by Accept-Encoding)");
    o.optopt("", "compress-level", "gzip 1-9 (brotli and zstd the same number; default 5)", "N");
    o.optopt("", "compress-min-length", "smaller bodies go as they are (default 256)", "BYTES");
    o.optopt(
        "",
        "compress-types",
        "media types to compress, comma-separated (default: text, JSON, JS, SVG...)",
        "LIST",
    );
    o.optflag("", "http2", "HTTP/2: ALPN h2 over TLS, prior knowledge (h2c) on plain listeners");
    o.optflag("", "security-headers", "X-Content-Type-Options, Referrer-Policy, X-Frame-Options; HSTS over TLS");
    o.optopt("", "csp", "a Content-Security-Policy for every response, e.g. \"default-src 'self'\"", "POLICY");
    o.optopt("", "user", "after binding the ports, become this user (when started as root)", "USER");
    o.optopt("", "group", "after binding the ports, become this group (default: the user's)", "GROUP");
    o.optflag("", "access-log-tls", "append the TLS version and SNI name to each access log line");
    o.optmulti(
        "",
        "upstream",
        "a group of servers taken in turn, e.g. app=127.0.0.1:8001,127.0.0.1:8002",
        "NAME=ADDR,...",
    );
    o.optmulti(
        "",
        "proxy",
        "pass requests under PREFIX to an HTTP server, e.g. /app/=http://127.0.0.1:8000/",
        "PREFIX=URL",
    );
    o.optopt(
        "",
        "proxy-host",
        "Host sent upstream: pass (the client's, default), upstream, or a value",
        "pass|upstream|HOST",
    );
    o.optmulti(
        "",
        "fastcgi",
        "run .EXT files, or paths under /PREFIX, with a FastCGI server (php-fpm)",
        ".EXT=ADDR|/PREFIX=ADDR",
    );
    o.optflag("", "fastcgi-keep-conn", "keep FastCGI connections open for the next request (FCGI_KEEP_CONN)");
    o.optopt("", "fastcgi-index", "script tried in a directory for --fastcgi .EXT (default index.php)", "NAME");
    o.optopt("", "upstream-connect-timeout", "connecting to an upstream (default 5s; then 504)", "TIME");
    o.optopt("", "upstream-send-timeout", "longest an upstream may take no request bytes (default 60s)", "TIME");
    o.optopt("", "upstream-header-timeout", "an upstream's response must begin within this (default 60s)", "TIME");
    o.optopt("", "upstream-read-timeout", "longest pause in an upstream's response (default 60s)", "TIME");
    o.optopt("", "upstream-keepalive", "idle connections kept per upstream per worker (default 32)", "N");
    o.optopt("", "upstream-keepalive-timeout", "how long an idle upstream connection is kept (default 60s)", "TIME");
    o.optopt("", "upstream-max-fails", "failures that take a server out for the fail timeout (default 1)", "N");
    o.optopt("", "upstream-fail-timeout", "how long a failed server is left out (default 10s)", "TIME");
    o.optmulti("", "ws-echo", "a WebSocket endpoint that echoes every message (for tests, Autobahn)", "PATH");
    o.optmulti(
        "",
        "ws-program",
        "a WebSocket served by a program: text messages in on its stdin a line each, its stdout lines out",
        "PATH=PROGRAM",
    );
    o.optmulti(
        "",
        "ws-proxy",
        "pass WebSocket handshakes under PREFIX to an app server, then pipe the connection",
        "PREFIX=URL",
    );
    o.optopt("", "ws-max-message", "largest WebSocket message taken or sent, bytes (default 16777216)", "BYTES");
    o.optopt("", "ws-idle-timeout", "a quiet WebSocket gets a Ping after this, and closes after twice (60s)", "TIME");
    o.optmulti("", "ws-origin", "an Origin allowed to open WebSockets (default: any)", "ORIGIN");
    o.optmulti("", "ws-protocol", "a WebSocket subprotocol offered, in order of preference", "NAME");
    o.optflag("", "ws-no-deflate", "refuse permessage-deflate (RFC 7692) when clients offer it");
    o.optopt("", "ws-program-max", "most --ws-program processes at once, per worker (default 64)", "N");
    o.optflagopt("", "trace", "print an annotated account of the wire to stderr, or to PATH", "PATH");
    o.optflagmulti("v", "verbose", "more log output (repeat for more)");
    o.optflag("q", "quiet", "log errors only");
    o.optflag("h", "help", "print this help");
    o.optflag("V", "version", "print the version");
    o
}

/// A command-line mistake: printed with the usage, exit status 2.
pub struct Usage(pub String);

/// Why wired cannot start as configured: exit status 2 either way.
pub enum Failure {
    /// A command-line mistake, printed with the usage.
    Usage(Usage),
    /// A mistake in the configuration file (`file:line:column: ...`) or in
    /// what it names; the usage would not help.
    Config(String),
}

impl From<Usage> for Failure {
    fn from(u: Usage) -> Failure {
        Failure::Usage(u)
    }
}

fn parse_duration(name: &str, s: &str) -> Result<Duration, Usage> {
    super::parse_duration(s)
        .ok_or_else(|| Usage(format!("--{name}: '{s}' is not a duration (examples: 10, 10s, 500ms, 2m)")))
}

/// Each flag given of these duration flags, into its setting.
fn parse_durations<const N: usize>(m: &getopts::Matches, slots: [(&str, &mut Duration); N]) -> Result<(), Usage> {
    for (name, slot) in slots {
        if let Some(v) = m.opt_str(name) {
            *slot = parse_duration(name, &v)?;
        }
    }
    Ok(())
}

fn parse_number<T: std::str::FromStr>(name: &str, s: &str) -> Result<T, Usage> {
    s.parse().map_err(|_| Usage(format!("--{name}: '{s}' is not a valid number")))
}

/// `--upstream`, `--proxy`, `--fastcgi` and their timeouts and pools; the
/// `--fastcgi` routes are returned for the route table. An `--upstream`
/// named like a group of the configuration file replaces its servers.
fn parse_upstreams(m: &getopts::Matches, c: &mut Config) -> Result<Vec<super::FastcgiRoute>, Usage> {
    use super::upstream as up;
    let from_file = c.upstreams.len();
    for g in m.opt_strs("upstream") {
        let group = up::parse_group(&g).map_err(|e| Usage(format!("--upstream: {e}")))?;
        match c.upstreams.iter().position(|o| o.name == group.name) {
            Some(i) if i < from_file => c.upstreams[i].servers = group.servers,
            Some(_) => return Err(Usage(format!("--upstream: '{}' is defined twice", group.name))),
            None => c.upstreams.push(group),
        }
    }
    let proxies = m.opt_strs("proxy");
    for p in &proxies {
        let route = up::parse_proxy(p, &mut c.upstreams).map_err(|e| Usage(format!("--proxy: {e}")))?;
        c.proxy.push(route);
    }
    let ws_proxies = m.opt_strs("ws-proxy");
    for p in &ws_proxies {
        let mut route = up::parse_proxy(p, &mut c.upstreams).map_err(|e| Usage(format!("--ws-proxy: {e}")))?;
        route.websocket_only = true;
        c.proxy.push(route);
    }
    if !proxies.is_empty() || !ws_proxies.is_empty() {
        // Longest prefix first, so /app/api/ wins over /app/ whatever the
        // order given. (Never with a file's servers, whose locations name
        // their proxy targets by index: the route flags are refused then.)
        c.proxy.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
    }
    let mut fastcgi = Vec::new();
    for f in m.opt_strs("fastcgi") {
        let route = up::parse_fastcgi(&f, &mut c.upstreams).map_err(|e| Usage(format!("--fastcgi: {e}")))?;
        fastcgi.push(route);
    }
    if m.opt_present("fastcgi-keep-conn") {
        c.fastcgi_keep_conn = true;
    }
    if let Some(h) = m.opt_str("proxy-host") {
        c.proxy_host = up::parse_proxy_host(&h).map_err(|e| Usage(format!("--proxy-host: {e}")))?;
    }
    if let Some(i) = m.opt_str("fastcgi-index") {
        if i.is_empty() || i.contains('/') {
            return Err(Usage(format!("--fastcgi-index: '{i}' is not a file name")));
        }
        c.fastcgi_index = i;
    }
    let t = &mut c.upstream_timeouts;
    let pool = &mut c.upstream_pool;
    parse_durations(
        m,
        [
            ("upstream-connect-timeout", &mut t.connect),
            ("upstream-send-timeout", &mut t.send),
            ("upstream-header-timeout", &mut t.header),
            ("upstream-read-timeout", &mut t.read),
            ("upstream-keepalive-timeout", &mut pool.keepalive_timeout),
            ("upstream-fail-timeout", &mut pool.fail_timeout),
        ],
    )?;
    if let Some(v) = m.opt_str("upstream-keepalive") {
        pool.keepalive = parse_number("upstream-keepalive", &v)?;
    }
    if let Some(v) = m.opt_str("upstream-max-fails") {
        pool.max_fails = parse_number("upstream-max-fails", &v)?;
    }
    Ok(fastcgi)
}

/// The `--ws-*` flags: the endpoints for the route table, and the settings.
fn parse_websockets(m: &getopts::Matches, c: &mut Config) -> Result<Vec<WsRoute>, Usage> {
    let mut routes = Vec::new();
    let path_ok = |p: &str| p.starts_with('/') && !p.contains(['?', '#']);
    for path in m.opt_strs("ws-echo") {
        if !path_ok(&path) {
            return Err(Usage(format!("--ws-echo: '{path}' is not a path")));
        }
        routes.push(WsRoute { path: path.trim_end_matches('/').to_string(), endpoint: WsEndpoint::Echo });
    }
    for p in m.opt_strs("ws-program") {
        let bad = || Usage(format!("--ws-program: '{p}' is not PATH=PROGRAM"));
        let (path, program) = p.split_once('=').ok_or_else(bad)?;
        if !path_ok(path) || program.is_empty() {
            return Err(bad());
        }
        // Made absolute now: the program runs in its own directory.
        let program = std::path::absolute(program).map_err(|_| bad())?;
        if !program.is_file() {
            return Err(Usage(format!("--ws-program: {} is not a file", program.display())));
        }
        let endpoint = WsEndpoint::Program(program);
        routes.push(WsRoute { path: path.trim_end_matches('/').to_string(), endpoint });
    }
    let ws = &mut c.ws;
    if let Some(v) = m.opt_str("ws-max-message") {
        ws.max_message = parse_number("ws-max-message", &v)?;
    }
    if let Some(v) = m.opt_str("ws-idle-timeout") {
        ws.idle_timeout = parse_duration("ws-idle-timeout", &v)?;
    }
    if let Some(v) = m.opt_str("ws-program-max") {
        ws.program_max = parse_number("ws-program-max", &v)?;
    }
    ws.origins.extend(m.opt_strs("ws-origin"));
    ws.protocols.extend(m.opt_strs("ws-protocol"));
    if m.opt_present("ws-no-deflate") {
        ws.deflate = false;
    }
    Ok(routes)
}

/// The configuration, the verbosity, the TLS settings if any, and whether
/// only to check it (`--check-config`).
pub type Parsed = (Config, i32, Option<tls::TlsSettings>, bool);

/// The flags that add routes, which a file with servers does not take.
const ROUTE_FLAGS: [&str; 7] = ["proxy", "fastcgi", "cgi", "cgi-ext", "ws-echo", "ws-program", "ws-proxy"];

/// The command line read into a configuration: the file first (`--config`),
/// then each flag given over its setting. `Ok(None)` after `--help` or
/// `--version`, printed here. The field limit is capped to the slots `conn`
/// parses into by `main.rs`: `config`, below `conn` in the module layers,
/// cannot name them.
pub fn parse_config(args: &[String]) -> Result<Option<Parsed>, Failure> {
    let m = options().parse(args).map_err(|e| Usage(e.to_string()))?;
    if m.opt_present("help") {
        print!("{}", options().usage(&format!("{USAGE}\n\nA small, fast, readable HTTP/1.1 server.")));
        return Ok(None);
    }
    if m.opt_present("version") {
        println!("wired {}", env!("CARGO_PKG_VERSION"));
        return Ok(None);
    }
    if let Some(extra) = m.free.first() {
        return Err(Usage(format!("unexpected argument '{extra}'")).into());
    }
    // The file first (if any), then each flag given overrides its setting.
    let loaded = match m.opt_str("config") {
        Some(path) => file::load(Path::new(&path)).map_err(|e| Failure::Config(e.to_string()))?,
        None => file::Loaded::default(),
    };
    let file::Loaded { config: mut c, tls: file_tls, mime_types: file_mime_types, listen_given, has_servers } = loaded;
    if has_servers && let Some(flag) = ROUTE_FLAGS.iter().find(|f| m.opt_present(f)) {
        return Err(Failure::Config(format!(
            "--{flag}: the configuration file has servers, whose locations are the routes: add a location there"
        )));
    }
    let listen = m.opt_strs("listen");
    if !listen.is_empty() {
        c.listen = listen
            .iter()
            .map(|a| {
                a.parse::<SocketAddr>()
                    .map_err(|_| Usage(format!("--listen: '{a}' is not ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)")))
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(r) = m.opt_str("root") {
        c.root = PathBuf::from(r);
    }
    if let Some(w) = m.opt_str("workers") {
        c.workers = parse_number("workers", &w)?;
        if c.workers == 0 || c.workers > 256 {
            return Err(Usage("--workers: must be between 1 and 256".into()).into());
        }
    }
    if let Some(v) = m.opt_str("max-connections") {
        c.max_connections = parse_number("max-connections", &v)?;
        if c.max_connections == 0 {
            return Err(Usage("--max-connections: must be at least 1".into()).into());
        }
    }
    parse_durations(
        &m,
        [
            ("head-timeout", &mut c.head_timeout),
            ("body-timeout", &mut c.body_timeout),
            ("keepalive-timeout", &mut c.keepalive_timeout),
            ("send-timeout", &mut c.send_timeout),
            ("drain-timeout", &mut c.drain_timeout),
            ("cgi-timeout", &mut c.cgi_timeout),
            ("handshake-timeout", &mut c.handshake_timeout),
        ],
    )?;
    if let Some(v) = m.opt_str("max-header-bytes") {
        let n: usize = parse_number("max-header-bytes", &v)?;
        if !(256..=1024 * 1024).contains(&n) {
            return Err(Usage("--max-header-bytes: must be between 256 and 1048576".into()).into());
        }
        c.limits.max_head_bytes = n;
        c.limits.max_request_line = c.limits.max_request_line.min(n);
    }
    if let Some(v) = m.opt_str("max-body-bytes") {
        c.max_body_bytes = parse_number("max-body-bytes", &v)?;
    }
    if let Some(v) = m.opt_str("access-log") {
        c.access_log = match v.as_str() {
            "off" => AccessLog::Off,
            "-" => AccessLog::Stdout,
            path => AccessLog::File(PathBuf::from(path)),
        };
    }
    // A flag can turn these on; the file may have turned them on already.
    for (flag, slot) in [("autoindex", &mut c.autoindex), ("follow-symlinks", &mut c.follow_symlinks)] {
        if m.opt_present(flag) {
            *slot = true;
        }
    }
    match m.opt_str("sendfile").as_deref() {
        None => {}
        Some("on") => c.sendfile = true,
        Some("off") => c.sendfile = false,
        Some(other) => return Err(Usage(format!("--sendfile: '{other}' is neither on nor off")).into()),
    }
    if let Some(path) = m.opt_str("mime-types") {
        c.mime_types = mime_types::load_mime_types(Path::new(&path))
            .map_err(|e| Usage(format!("--mime-types: cannot read {path}: {e}")))?;
    } else if let Some(path) = file_mime_types {
        c.mime_types = mime_types::load_mime_types(&path)
            .map_err(|e| Failure::Config(format!("mime_types: cannot read {}: {e}", path.display())))?;
    }
    let mut pages = Vec::new();
    for page in m.opt_strs("error-page") {
        let parsed = page.split_once('=').and_then(|(code, path)| super::parse_error_page(code, path));
        pages.push(parsed.ok_or_else(|| Usage(format!("--error-page: '{page}' is not CODE=/PATH")))?);
    }
    // A flag's page for a status replaces the file's.
    c.error_pages.retain(|(code, _)| !pages.iter().any(|(c, _)| c == code));
    c.error_pages.extend(pages);
    for rule in m.opt_strs("cache-control") {
        let rule = super::parse_cache_control(&rule).map_err(|e| Usage(format!("--cache-control: {e}")))?;
        c.cache_control.push(rule);
    }
    let (mut cgi_dirs, mut cgi_exts) = (Vec::new(), Vec::new());
    for cgi in m.opt_strs("cgi") {
        let bad = || Usage(format!("--cgi: '{cgi}' is not /PREFIX=DIR"));
        let (prefix, dir) = cgi.split_once('=').ok_or_else(bad)?;
        if !prefix.starts_with('/') || dir.is_empty() {
            return Err(bad().into());
        }
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            return Err(Usage(format!("--cgi: {} is not a directory", dir.display())).into());
        }
        cgi_dirs.push(CgiDir { prefix: prefix.trim_end_matches('/').to_string(), dir });
    }
    for ext in m.opt_strs("cgi-ext") {
        let bad = || Usage(format!("--cgi-ext: '{ext}' is not .EXT=INTERPRETER"));
        let (e, interp) = ext.split_once('=').ok_or_else(bad)?;
        let e = e.strip_prefix('.').ok_or_else(bad)?;
        if e.is_empty() || !e.bytes().all(|b| b.is_ascii_alphanumeric()) || interp.is_empty() {
            return Err(bad().into());
        }
        cgi_exts.push(CgiExt { ext: e.to_string(), interpreter: PathBuf::from(interp) });
    }
    if let Some(v) = m.opt_str("cgi-max") {
        c.cgi_max = parse_number("cgi-max", &v)?;
    }
    let fastcgi = parse_upstreams(&m, &mut c)?;
    let websockets = parse_websockets(&m, &mut c)?;
    if !has_servers {
        c.routes = routes::from_flags(&c.proxy, &fastcgi, &cgi_dirs, &cgi_exts, &websockets);
    }
    if m.opt_present("trace") {
        c.trace = Some(match m.opt_str("trace") {
            Some(path) => TraceTarget::File(PathBuf::from(path)),
            None => TraceTarget::Stderr,
        });
    }
    let tls_flags = m.opt_present("listen-tls");
    let tls_settings = parse_tls(&m, &mut c, file_tls)?;
    if tls_flags && m.opt_strs("listen").is_empty() && !listen_given {
        // Only what was asked for: --listen-tls alone opens no plain port.
        c.listen.clear();
    }
    if let Some(f) = m.opt_str("access-log-format") {
        c.access_log_json = match f.as_str() {
            "combined" => false,
            "json" => true,
            other => return Err(Usage(format!("--access-log-format: '{other}' is not combined or json")).into()),
        };
    }
    if let Some(p) = m.opt_str("csp") {
        if p.bytes().any(|b| b.is_ascii_control()) {
            return Err(Usage("--csp: a policy on one line".into()).into());
        }
        c.csp = Some(p);
    }
    if m.opt_present("compress") {
        c.compress.enabled = true;
    }
    if let Some(v) = m.opt_str("compress-level") {
        c.compress.level = parse_number("compress-level", &v)?;
        if !(1..=9).contains(&c.compress.level) {
            return Err(Usage("--compress-level: 1 to 9".into()).into());
        }
    }
    if let Some(v) = m.opt_str("compress-min-length") {
        c.compress.min_length = parse_number("compress-min-length", &v)?;
    }
    if let Some(v) = m.opt_str("compress-types") {
        c.compress.types = v.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect();
    }
    if let Some(u) = m.opt_str("user") {
        c.user = Some(u);
    }
    if let Some(g) = m.opt_str("group") {
        c.group = Some(g);
    }
    for (flag, slot) in [
        ("redirect-https", &mut c.redirect_https),
        ("access-log-tls", &mut c.access_log_tls),
        ("security-headers", &mut c.security_headers),
        ("http2", &mut c.http2),
    ] {
        if m.opt_present(flag) {
            *slot = true;
        }
    }
    if c.redirect_https && c.listen_tls.is_empty() {
        return Err(Usage("--redirect-https: there is no --listen-tls to redirect to".into()).into());
    }
    let verbosity = if m.opt_present("quiet") { -1 } else { m.opt_count("verbose") as i32 };
    Ok(Some((c, verbosity, tls_settings, m.opt_present("check-config"))))
}

/// The TLS flags over the file's TLS settings: the addresses replace the
/// file's, `--tls-cert`/`--tls-key` its default pair, `--tls-cert-for`
/// adds names. Returns the certificate settings to build the rustls
/// configuration from (after logging is set up, so warnings show).
fn parse_tls(
    m: &getopts::Matches,
    c: &mut Config,
    mut settings: tls::TlsSettings,
) -> Result<Option<tls::TlsSettings>, Usage> {
    let addrs = m
        .opt_strs("listen-tls")
        .iter()
        .map(|a| {
            a.parse::<SocketAddr>()
                .map_err(|_| Usage(format!("--listen-tls: '{a}' is not ADDR:PORT (e.g. 0.0.0.0:443 or [::]:443)")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !addrs.is_empty() {
        c.listen_tls = addrs;
    }
    match (m.opt_str("tls-cert"), m.opt_str("tls-key")) {
        (Some(cert), Some(key)) => settings.default = Some(tls::CertPair { cert: cert.into(), key: key.into() }),
        (Some(_), None) => return Err(Usage("--tls-cert needs its --tls-key".into())),
        (None, Some(_)) => return Err(Usage("--tls-key needs its --tls-cert".into())),
        (None, None) => {}
    }
    for entry in m.opt_strs("tls-cert-for") {
        let bad = || Usage(format!("--tls-cert-for: '{entry}' is not HOST=CERT,KEY"));
        let (host, files) = entry.split_once('=').ok_or_else(bad)?;
        let (cert, key) = files.split_once(',').ok_or_else(bad)?;
        if host.is_empty() || cert.is_empty() || key.is_empty() {
            return Err(bad());
        }
        settings.by_name.push((host.to_string(), tls::CertPair { cert: cert.into(), key: key.into() }));
    }
    if let Some(ocsp) = m.opt_str("tls-ocsp") {
        settings.ocsp = Some(PathBuf::from(ocsp));
    }
    let has_certs = settings.default.is_some() || !settings.by_name.is_empty();
    if c.listen_tls.is_empty() {
        if has_certs && m.opt_present("config") {
            return Err(Usage(
                "certificates (tls_cert, a server's tls_cert, --tls-cert, --tls-cert-for) need a TLS \
                              address: listen_tls in the file, or --listen-tls"
                    .into(),
            ));
        }
        if has_certs {
            return Err(Usage("--tls-cert, --tls-key and --tls-cert-for need a --listen-tls address".into()));
        }
        return Ok(None);
    }
    if !has_certs {
        return Err(Usage("--listen-tls needs a certificate: --tls-cert FILE --tls-key FILE".into()));
    }
    Ok(Some(settings))
}
