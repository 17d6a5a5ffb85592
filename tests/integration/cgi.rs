//! CGI/1.1 (issue 8, RFC 3875): real programs — shell and Python scripts,
//! PHP through php-cgi, a Flask application through `wsgiref` — run by the
//! real binary and checked from a raw socket. This file holds the helpers and
//! the meta-variables; the other features have a file each beside it. The
//! programs themselves are committed in `tests/cgi/`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;

mod flask;
mod http2;
mod php;
mod processes;
mod security;
mod streaming;

/// A temporary site: `root/` is the document root (with `some/file.txt` and
/// the PHP files), `bin/` the CGI directory (every script, executable).
struct Site {
    dir: PathBuf,
    root: PathBuf,
    bin: PathBuf,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The committed test programs.
fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cgi")
}

/// The interpreter behind the tests' `python3`: the one `pip install flask`
/// installed into (CGI programs get a fixed PATH that may find another).
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 is needed by the CGI tests (tests/install-deps.sh)");
        String::from_utf8(out.stdout).expect("a UTF-8 path").trim().to_string()
    })
}

/// Copy `from` to `to` with `mode`; a Python script gets a shebang naming
/// [`python`] itself.
fn install(from: &Path, to: &Path, mode: u32) {
    let mut text = fs::read(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    if from.extension().is_some_and(|e| e == "py") && text.starts_with(b"#!") {
        let first_line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
        text.splice(..first_line_end, format!("#!{}", python()).into_bytes());
    }
    fs::write(to, text).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).unwrap();
}

fn site(name: &str) -> Site {
    let dir = temp_dir(&format!("cgi-{name}")).canonicalize().unwrap();
    let (root, bin) = (dir.join("root"), dir.join("bin"));
    fs::create_dir_all(root.join("some")).unwrap();
    fs::create_dir_all(&bin).unwrap();
    fs::write(root.join("some/file.txt"), b"a static file\n").unwrap();
    for entry in fs::read_dir(sources()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            install(&path, &bin.join(path.file_name().unwrap()), 0o755);
        }
    }
    for entry in fs::read_dir(sources().join("php")).unwrap() {
        let path = entry.unwrap().path();
        install(&path, &root.join(path.file_name().unwrap()), 0o644);
    }
    Site { dir, root, bin }
}

/// The variable every server below is started with: no program may see it.
const SECRET: (&str, &str) = ("WIRED_SECRET", "x");

/// Start wired on `site` with `--cgi /cgi-bin=BIN` and `extra`, one worker,
/// [`SECRET`] in its environment; its stderr goes to the test's output.
fn start(site: &Site, extra: &[&str]) -> Server {
    let cgi = format!("/cgi-bin={}", site.bin.display());
    let root = site.root.display().to_string();
    let mut args = vec!["--listen", "127.0.0.1:0", "--root", &root, "--workers", "1", "--cgi", &cgi];
    args.extend_from_slice(extra);
    // The HTTP/2 run (`WIRED_TEST_H2=1`): every request through the h2 shim.
    let h2 = crate::h2_shim::h2_mode() && !extra.contains(&"--http2");
    if h2 {
        args.push("--http2");
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wired"));
    cmd.args(&args).env(SECRET.0, SECRET.1);
    let mut server = Server::spawn(cmd, &site.root);
    if h2 {
        server.plain_addr = Some(server.addr);
        server.addr = crate::h2_shim::start(server.addr, false);
    }
    server
}

fn connect(server: &Server) -> Client {
    Client(server.connect())
}

/// Send raw bytes on a new connection and read until the server closes.
fn raw(server: &Server, bytes: &[u8]) -> Vec<u8> {
    let mut s = connect(server);
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Send raw bytes on a new connection; the one response, which must be all
/// the server sent before closing.
fn exchange(server: &Server, raw: &[u8]) -> Response {
    let mut s = connect(server);
    s.write_all(raw).unwrap();
    let head_request = raw.starts_with(b"HEAD ");
    let response = read_response(&mut s, head_request).unwrap_or_else(|e| panic!("{}: {e}", first_line(raw)));
    let mut trailing = Vec::new();
    let _ = s.read_to_end(&mut trailing);
    assert!(trailing.is_empty(), "{}: {} bytes after the response", first_line(raw), trailing.len());
    response
}

fn first_line(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw.split(|&b| b == b'\r').next().unwrap_or_default()).into_owned()
}

/// `POST target` with `body` sent chunked, `chunk` bytes a chunk, and
/// `Connection: close`; the one response.
fn post_chunked(server: &Server, target: &str, body: &[u8], chunk: usize) -> Response {
    let mut raw = format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(chunk.max(1)) {
        raw.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        raw.extend_from_slice(piece);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    exchange(server, &raw)
}

/// Upload bodies of 0 bytes, 11 bytes and 3 MB chunked to `target`, whose
/// program sends back what it read; each must come back whole.
fn chunked_uploads_arrive_whole(server: &Server, target: &str) {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let bodies: [(&str, &[u8], usize); 4] = [
        ("0 bytes", b"", 1),
        ("11 bytes", b"hello world", 4),
        ("3 MB in 64 KiB chunks", &big, 64 * 1024),
        ("3 MB in odd-sized chunks", &big, 12_345),
    ];
    for (what, body, chunk) in bodies {
        let r = post_chunked(server, target, body, chunk);
        assert_eq!(r.status, 200, "{target}, {what}: {}", r.text());
        assert_eq!(r.body.len(), body.len(), "{target}, {what}: the program read {} bytes", r.body.len());
        assert!(r.body == body, "{target}, {what}: the bytes differ");
    }
}

/// `GET target` with `Connection: close`.
fn get(server: &Server, target: &str) -> Response {
    exchange(server, format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
}

/// The `NAME=value` lines `env.sh` and `env.py` print.
fn env_of(response: &Response) -> BTreeMap<String, String> {
    assert_eq!(response.status, 200, "{}", response.text());
    response.text().lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Check a program's environment field by field against `expected`
/// (`None`: must be unset), and that nothing else is there.
fn check_env(env: &BTreeMap<String, String>, expected: &[(&str, Option<&str>)], extra_allowed: &[&str]) {
    for (name, value) in expected {
        assert_eq!(env.get(*name).map(String::as_str), *value, "{name} in {env:#?}");
    }
    for name in env.keys() {
        let known = expected.iter().any(|(n, _)| n == name) || extra_allowed.contains(&name.as_str());
        assert!(known || name.starts_with("HTTP_"), "{name} leaked into the program's environment");
    }
    assert!(!env.contains_key(SECRET.0), "the server's environment leaked");
}

/// RFC 3875 lets a variable with no value be unset or empty: either passes.
fn unset_or_empty(env: &BTreeMap<String, String>, name: &str) -> Option<&'static str> {
    env.get(name).map(|_| "")
}

/// `/proc/PID/stat`: the state letter and the parent's PID.
fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Wait until a process has ended: gone from /proc, or (an orphan whose
/// reaping is init's business) a zombie whose parent is not `server`.
fn wait_dead(pid: u32, server: &Server, within: Duration) -> bool {
    let start = Instant::now();
    loop {
        match proc_state(pid) {
            None => return true,
            Some(('Z', ppid)) if ppid != server.pid() => return true,
            _ if start.elapsed() > within => return false,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The server's children that died and were not reaped.
fn zombies(server: &Server) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_state(pid) == Some(('Z', server.pid())))
        .collect()
}

/// Every one of `pids` ends within `within` (else: "process N `why`").
fn assert_dead(server: &Server, pids: Vec<u32>, within: Duration, why: &str) {
    for pid in pids {
        assert!(wait_dead(pid, server, within), "process {pid} {why}");
    }
}

/// No zombie children, allowing the server a moment to reap the last ones.
/// None twice, 200 ms apart: a program may still be running when its
/// response is complete (over HTTP/2 the stream ends with its body, not
/// with the program), and be a zombie for the few milliseconds before the
/// server reaps it; one that stays a zombie is a leak.
fn assert_no_zombies(server: &Server) {
    let start = Instant::now();
    loop {
        if zombies(server).is_empty() {
            std::thread::sleep(Duration::from_millis(200));
            if zombies(server).is_empty() {
                return;
            }
        }
        if start.elapsed() > Duration::from_secs(3) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(zombies(server), Vec::<u32>::new(), "zombie children of the server");
}

/// The PIDs a script wrote to `NAME.pids` in its directory.
fn script_pids(site: &Site, script: &str) -> Vec<u32> {
    let file = site.bin.join(format!("{script}.pids"));
    let start = Instant::now();
    while !file.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "{script} never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    fs::read_to_string(&file).unwrap().lines().map(|l| l.parse().unwrap()).collect()
}

/// Peak resident set size of a process, KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The most memory a server may use while 100 MB stream through it.
const RSS_BOUND_KIB: u64 = 64 * 1024;

#[test]
fn a_shell_script_sees_every_meta_variable() {
    if crate::h2_shim::h1_only(
        "the meta-variables name the client's own socket (REMOTE_PORT, SERVER_PORT) and protocol, which the shim stands in for; cgi::http2 checks what a program sees over HTTP/2",
    ) {
        return;
    }
    let site = site("env-sh");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    let client_port = s.local_addr().unwrap().port();
    let request = "POST /cgi-bin/env.sh/extra/path%20x?a=1&b=%2F HTTP/1.1\r\n\
                   Host: example.org:8080\r\n\
                   Authorization: Basic dXNlcjpwYXNz\r\n\
                   Content-Type: text/plain\r\n\
                   Content-Length: 5\r\n\
                   X-Dup: one\r\n\
                   Accept: */*\r\n\
                   X-Dup: two\r\n\
                   Proxy: http://evil.example/\r\n\
                   Connection: close\r\n\r\nhello";
    s.write_all(request.as_bytes()).unwrap();
    let response = read_response(&mut s, false).unwrap();
    let env = env_of(&response);
    let root = site.root.display().to_string();
    let port = server.addr.port().to_string();
    let client_port = client_port.to_string();
    let script = site.bin.join("env.sh").display().to_string();
    let translated = format!("{root}/extra/path x");
    let software = env.get("SERVER_SOFTWARE").cloned().unwrap_or_default();
    assert!(software.starts_with("wired/"), "SERVER_SOFTWARE {software:?}");
    check_env(
        &env,
        &[
            ("AUTH_TYPE", Some("Basic")),
            ("CONTENT_LENGTH", Some("5")),
            ("CONTENT_TYPE", Some("text/plain")),
            ("GATEWAY_INTERFACE", Some("CGI/1.1")),
            ("PATH_INFO", Some("/extra/path x")),
            ("PATH_TRANSLATED", Some(&translated)),
            ("QUERY_STRING", Some("a=1&b=%2F")),
            ("REMOTE_ADDR", Some("127.0.0.1")),
            ("REMOTE_PORT", Some(&client_port)),
            ("REQUEST_METHOD", Some("POST")),
            ("SCRIPT_NAME", Some("/cgi-bin/env.sh")),
            ("SERVER_NAME", Some("example.org")),
            ("SERVER_PORT", Some(&port)),
            ("SERVER_PROTOCOL", Some("HTTP/1.1")),
            ("SERVER_SOFTWARE", Some(&software)),
            ("REQUEST_URI", Some("/cgi-bin/env.sh/extra/path%20x?a=1&b=%2F")),
            ("SCRIPT_FILENAME", Some(&script)),
            ("DOCUMENT_ROOT", Some(&root)),
            ("REDIRECT_STATUS", Some("200")),
            // This test speaks plain TCP to the server, in either run.
            ("REQUEST_SCHEME", Some("http")),
            ("HTTPS", None),
            ("PATH", Some("/usr/local/bin:/usr/bin:/bin")),
            ("HTTP_HOST", Some("example.org:8080")),
            ("HTTP_ACCEPT", Some("*/*")),
            // RFC 3875 §4.1.18: repeated fields joined in order.
            ("HTTP_X_DUP", Some("one, two")),
            ("HTTP_CONNECTION", None), // hop-by-hop: RFC 9110 §7.6.1
            // httpoxy: a request header must never choose the program's proxy.
            ("HTTP_PROXY", None),
            // Already given as CONTENT_*.
            ("HTTP_CONTENT_LENGTH", None),
            ("HTTP_CONTENT_TYPE", None),
            // RFC 3875 §4.4: no search-string arguments, ever.
            ("ARGC", Some("0")),
        ],
        // The shell sets PWD itself; credentials may or may not be passed on.
        &["PWD", "HTTP_AUTHORIZATION"],
    );
}

#[test]
fn a_python_script_sees_the_same_and_nothing_of_the_server() {
    if crate::h2_shim::h1_only(
        "the meta-variables name the client's own socket (REMOTE_PORT, SERVER_PORT) and protocol, which the shim stands in for; cgi::http2 checks what a program sees over HTTP/2",
    ) {
        return;
    }
    let site = site("env-py");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    let client_port = s.local_addr().unwrap().port().to_string();
    // HTTP/1.0, no Host, no body: SERVER_NAME falls back to our address;
    // CONTENT_* and PATH_TRANSLATED are unset (RFC 3875 §4.1.2, §4.1.6).
    s.write_all(b"GET /cgi-bin/env.py?only-a-word HTTP/1.0\r\nUser-Agent: t/1\r\n\r\n").unwrap();
    let response = read_response(&mut s, false).unwrap();
    assert!(response.header("transfer-encoding").is_none(), "never chunked to HTTP/1.0");
    let env = env_of(&response);
    let root = site.root.display().to_string();
    let port = server.addr.port().to_string();
    let script = site.bin.join("env.py").display().to_string();
    let software = env.get("SERVER_SOFTWARE").cloned().unwrap_or_default();
    check_env(
        &env,
        &[
            ("AUTH_TYPE", unset_or_empty(&env, "AUTH_TYPE")),
            ("CONTENT_LENGTH", None),
            ("CONTENT_TYPE", None),
            ("GATEWAY_INTERFACE", Some("CGI/1.1")),
            ("PATH_INFO", unset_or_empty(&env, "PATH_INFO")),
            ("PATH_TRANSLATED", None),
            ("QUERY_STRING", Some("only-a-word")),
            ("REMOTE_ADDR", Some("127.0.0.1")),
            ("REMOTE_PORT", Some(&client_port)),
            ("REQUEST_METHOD", Some("GET")),
            ("SCRIPT_NAME", Some("/cgi-bin/env.py")),
            ("SERVER_NAME", Some("127.0.0.1")),
            ("SERVER_PORT", Some(&port)),
            ("SERVER_PROTOCOL", Some("HTTP/1.0")),
            ("SERVER_SOFTWARE", Some(&software)),
            ("REQUEST_URI", Some("/cgi-bin/env.py?only-a-word")),
            ("SCRIPT_FILENAME", Some(&script)),
            ("DOCUMENT_ROOT", Some(&root)),
            ("REDIRECT_STATUS", Some("200")),
            // This test speaks plain TCP to the server, in either run.
            ("REQUEST_SCHEME", Some("http")),
            ("HTTPS", None),
            ("PATH", Some("/usr/local/bin:/usr/bin:/bin")),
            ("HTTP_USER_AGENT", Some("t/1")),
            ("HTTP_HOST", None),
            // A query without '=' is not turned into arguments (RFC 3875 §4.4).
            ("ARGC", Some("0")),
        ],
        // Python may set LC_CTYPE itself (PEP 538) when no locale is given.
        &["LC_CTYPE"],
    );
    for leaked in ["HOME", "USER", "RUST_LOG", "CARGO_MANIFEST_DIR"] {
        assert!(!env.contains_key(leaked), "{leaked} leaked into the program's environment");
    }
}

#[test]
fn an_absolute_form_target_names_the_server_not_the_host_field() {
    // RFC 9112 §3.2.2: the authority in an absolute-form target wins over Host.
    let site = site("env-absolute");
    let server = start(&site, &[]);
    let response = exchange(
        &server,
        b"GET http://target.example:9/cgi-bin/env.sh?q=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n",
    );
    let env = env_of(&response);
    assert_eq!(env.get("SERVER_NAME").map(String::as_str), Some("target.example"));
    assert_eq!(env.get("SCRIPT_NAME").map(String::as_str), Some("/cgi-bin/env.sh"));
    assert_eq!(env.get("QUERY_STRING").map(String::as_str), Some("q=1"));
}
