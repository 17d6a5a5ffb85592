//! The configuration file (issue 18): `wired --config FILE` with virtual
//! servers and locations, and `--check-config`. Each test writes its file
//! into a temporary tree, starts the real binary on an ephemeral port
//! (`--listen 127.0.0.1:0` overrides the file's `listen`), and speaks raw
//! HTTP/1.1 to it, naming the host it wants in `Host` or in an
//! absolute-form target. In the HTTP/2 run (`WIRED_TEST_H2=1`) each request
//! reaches wired as an HTTP/2 stream through the shim (`h2_shim.rs`), the
//! host as `:authority`.
//!
//! - [`check`]: `--check-config`'s routes and its errors (file:line:column),
//!   the example `contrib/wired.toml`, and docs/configuration.md against
//!   the schema.
//! - [`hosts`]: which server answers (exact, wildcard, default, the
//!   absolute form, a Host with a port), and which location (exact first,
//!   then the longest prefix).
//! - [`actions`]: each action on a real socket: files from a root and an
//!   alias (and what they keep out), redirects with variables, fixed
//!   responses, a proxy to an upstream the test starts, CGI.
//! - [`flags`]: flags beside the file override its settings.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

mod actions;
mod check;
mod flags;
mod hosts;
mod operate;
mod reload;
mod rules;

/// A temporary tree holding a configuration file, `wired.toml`.
struct Site {
    tree: TempTree,
}

impl Site {
    /// A tree with these directories (and nothing else yet).
    fn new(name: &str, dirs: &[&str]) -> Site {
        let tree = TempTree::new(name);
        for d in dirs {
            std::fs::create_dir_all(tree.join(d)).unwrap();
        }
        Site { tree }
    }

    /// The absolute path of `rel` in the tree.
    fn path(&self, rel: &str) -> PathBuf {
        self.tree.join(rel)
    }

    /// Write a file (its directory made first).
    fn write(&self, rel: &str, contents: &str) -> &Site {
        let path = self.path(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Write `wired.toml`, `@` standing for the tree's path.
    fn config(&self, text: &str) -> PathBuf {
        let path = self.path("wired.toml");
        std::fs::write(&path, text.replace('@', &self.tree.0.display().to_string())).unwrap();
        path
    }

    /// Start wired with `--config wired.toml` and `extra` flags, on an
    /// ephemeral port, one worker.
    fn start(&self, extra: &[&str]) -> Server {
        let mut args: Vec<String> = vec!["--config".into(), self.path("wired.toml").display().to_string()];
        args.extend(["--listen", "127.0.0.1:0", "--workers", "1"].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        if crate::h2_shim::h2_mode() {
            // The HTTP/2 run, over h2c: these tests do not run over TLS.
            return Server::start_h2(&self.tree.0, args, false);
        }
        Server::start_args(&self.tree.0, &args, None)
    }
}

/// `wired --check-config` with these arguments: exit code, stdout, stderr.
fn check_config(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wired"));
    cmd.arg("--check-config").args(args);
    let out = run_bounded(&mut cmd, Duration::from_secs(10));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// One request for `target` naming `host`, on a new connection.
fn get(server: &Server, host: &str, target: &str) -> Response {
    let mut s = server.connect();
    write!(s, "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    read_response(&mut s, false).unwrap()
}

/// A tiny HTTP upstream on an ephemeral port: each connection gets one
/// response whose body is the request line and the Host it was sent.
pub(crate) fn echo_upstream() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let head = read_head(&mut conn);
            let line = head.lines().next().unwrap_or_default();
            let host = head.lines().find_map(|l| l.strip_prefix("Host: ")).unwrap_or("-");
            let body = format!("{line}\nhost {host}\n");
            let _ =
                write!(conn, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    addr
}

/// A request head as an upstream reads it, a byte at a time up to the
/// blank line (the tests' upstreams answer one request per connection).
fn read_head(conn: &mut std::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The repository's own file at `rel`.
fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
