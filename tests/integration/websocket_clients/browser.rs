//! Headless Chromium running tests/websocket/page.html: `ws://` from a page
//! served over http, `wss://` from one served over https with the test CA
//! trusted through the NSS database (as in `https::browser`), to the echo
//! endpoint and to a `--ws-program`.
//!
//! How the test learns what the page saw: `--dump-dom` with
//! `--virtual-time-budget` does not wait for WebSocket traffic (virtual time
//! runs on while a socket waits for a reply, and a page whose server answers
//! after a few real seconds is dumped unfinished), so the page reports what
//! it received by loading `/result?name=value&…` when it is done, the test
//! waits for that request in wired's access log, and then stops Chromium.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::*;
use crate::https::browser::home_with_nssdb;
use crate::https::{Site, tls_port};

/// The binary message the page sends: byte i is (i * 31 + seed + (i >> 8)) mod 256.
const BINARY_LEN: usize = 65_543;

fn pattern(seed: u32) -> Vec<u8> {
    (0..BINARY_LEN as u32).map(|i| (i.wrapping_mul(31).wrapping_add(seed).wrapping_add(i >> 8) & 255) as u8).collect()
}

/// FNV-1a, 32 bits, as the page computes it.
fn fnv1a(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193));
    format!("{h:08x}")
}

/// A token and a seed that differ from run to run, so nothing cached or
/// left over can pass for this run's echo.
fn fresh() -> (String, u32) {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    (format!("t{:x}{:x}", std::process::id(), nanos), nanos % 251)
}

/// Decode an `application/x-www-form-urlencoded` string, as
/// `URLSearchParams` writes it.
fn form_decode(s: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let pair: Vec<u8> = bytes.by_ref().take(2).collect();
                let hex = std::str::from_utf8(&pair).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape %{hex} in {s:?}")));
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).expect("UTF-8 in the result")
}

/// Copy the page into `root`, open `url` in headless Chromium (on a fresh
/// profile; `home` holds its NSS database), and wait for the page's
/// `/result?…` in the access log `log`: its fields, in the page's order.
fn run_page(root: &Path, tree: &TempTree, home: Option<&Path>, log: &Path, url: &str) -> Vec<(String, String)> {
    std::fs::copy(fixture("page.html"), root.join("page.html")).unwrap();
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", tree.join("profile").display()))
    .arg(url);
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    let browser = ChildGuard::spawn("chromium", cmd);
    let start = Instant::now();
    let query = loop {
        // wired writes its access log at most a second after the request.
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split("\"GET /result?").nth(1) {
            break rest.split(" HTTP/1.1\"").next().unwrap_or_default().to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no /result after 30 s; the access log:\n{text}");
        assert!(browser.running(), "chromium exited before the page reported: {:#?}", browser.output());
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(browser);
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// What the page must report when wired echoed and the chat bot answered:
/// `origin` is the page's, as the program's HTTP_ORIGIN shows it.
fn expected(token: &str, seed: u32, origin: &str) -> Vec<(String, String)> {
    [
        ("echo_extensions", "permessage-deflate".to_string()),
        ("echo_text", format!("{token} ✓ ünïcödé")),
        ("echo_type", "arraybuffer".into()),
        ("echo_len", BINARY_LEN.to_string()),
        ("echo_fnv", fnv1a(&pattern(seed))),
        ("echo_close", "1000".into()),
        ("chat_welcome", format!("welcome stranger to /chat/lobby?topic={token} from 127.0.0.1")),
        ("chat_reply", format!("1: hello {token}")),
        ("chat_origin", format!("HTTP_ORIGIN={origin}")),
        ("chat_bye", "bye stranger after 3 messages".into()),
        ("chat_close", "1000".into()),
        ("chat_clean", "true".into()),
        ("chat_binary_close", "1003".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn chromium_round_trips_text_and_binary_over_ws() {
    let tree = site("wsc-chromium");
    let log = tree.join("access.log");
    let server = Server::start(
        &tree.join("www"),
        &["--ws-echo", "/echo", "--ws-program", &chat_route("/chat"), "--access-log", &log.display().to_string()],
    );
    let (token, seed) = fresh();
    let origin = format!("http://{}", server.addr);
    let url = format!("{origin}/page.html?token={token}&seed={seed}");

    let got = run_page(&tree.join("www"), &tree, None, &log, &url);
    assert_eq!(got, expected(&token, seed, &origin));
}

#[test]
fn chromium_round_trips_text_and_binary_over_wss_with_the_ca_trusted() {
    let site = Site::new("wsc-chromium-wss");
    let log = site.tree.join("access.log");
    let server = site.start(&[
        "--ws-echo",
        "/echo",
        "--ws-program",
        &chat_route("/chat"),
        "--access-log",
        &log.display().to_string(),
        "--access-log-tls",
    ]);
    let home = site.tree.join("home");
    home_with_nssdb(&home, Some(&site.ca));
    let (token, seed) = fresh();
    let origin = format!("https://localhost:{}", tls_port(&server));
    let url = format!("{origin}/page.html?token={token}&seed={seed}");

    let got = run_page(&site.root, &site.tree, Some(&home), &log, &url);
    assert_eq!(got, expected(&token, seed, &origin));
    // The page and its three sockets came over TLS 1.3, for localhost.
    let text = std::fs::read_to_string(&log).unwrap();
    let upgraded: Vec<&str> = text.lines().filter(|l| l.contains(" HTTP/1.1\" 101 ")).collect();
    assert_eq!(upgraded.len(), 3, "{text}");
    for line in text.lines() {
        assert!(line.ends_with(" \"TLSv1.3\" \"localhost\""), "not over TLS: {line}");
    }
}
