//! WebSockets (issue 16) spoken to by the clients people use: headless
//! Chromium running a page over `ws://` and `wss://` ([`browser`]), and
//! Python's `websockets` library, directly, through `--ws-proxy` and
//! `--proxy` to a real `websockets` app, and over TLS ([`python`]). Raw
//! frames written by hand are in `websocket`.
//!
//! The committed fixtures are in `tests/websocket/`: `client.py` (a client
//! that runs the steps it is given and prints what came back as JSON, one
//! object a line), `page.html` (the browser's page, which reports what it
//! received as the query of `GET /result?…`, read back from wired's access
//! log) and `chat.sh` (a `--ws-program`). The upstream app is
//! `tests/upstream/ws_app.py`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

mod browser;
mod python;

/// The committed fixtures: `tests/websocket/`.
fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/websocket").join(name).display().to_string()
}

/// `--ws-program` route for the chat bot at `path`.
fn chat_route(path: &str) -> String {
    format!("{path}={}", fixture("chat.sh"))
}

/// A temporary tree with an empty document root, `www/`.
fn site(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    std::fs::create_dir_all(tree.join("www")).unwrap();
    tree
}

/// A scalar of the client's JSON report.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
}

/// One line of the client's report: a flat JSON object, in field order.
#[derive(Debug, Clone)]
struct Event(Vec<(String, Value)>);

impl Event {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// What happened: `open`, `text`, `binary`, `closed`, `rejected`, `error`.
    fn kind(&self) -> &str {
        self.str("event").unwrap_or("?")
    }

    /// A string field; `None` when absent or null.
    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }
}

/// Run `tests/websocket/client.py` with `args` (options, the URL, steps);
/// its report, one event a line. It must exit 0: what it saw is in the
/// events, not its status.
fn client(args: &[&str]) -> Vec<Event> {
    let mut cmd = Command::new("python3");
    cmd.arg(fixture("client.py")).args(args);
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client.py {args:?}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(|l| parse_event(l).unwrap_or_else(|e| panic!("client.py printed {l:?}: {e}"))).collect()
}

/// The one event of `kind` in a report (the test fails if there is not exactly one).
fn only<'a>(events: &'a [Event], kind: &str) -> &'a Event {
    let found: Vec<&Event> = events.iter().filter(|e| e.kind() == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} event expected in {events:#?}");
    found[0]
}

/// The messages received, in order: `text <data>`, `binary <hex>`, or
/// `text/binary <len> bytes` for those written to a file.
fn messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| matches!(e.kind(), "text" | "binary"))
        .map(|e| match (e.str("data"), e.str("hex"), e.int("len")) {
            (Some(text), _, _) => format!("text {text}"),
            (_, Some(hex), _) => format!("binary {hex}"),
            (_, _, Some(len)) => format!("{} {len} bytes", e.kind()),
            _ => panic!("a message event without content: {e:?}"),
        })
        .collect()
}

/// Bytes as lowercase hex, as `bytes.hex()` writes them.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A message of `len` bytes: repetitive UTF-8 text (every line holds a
/// two-byte character), which deflate shrinks many times over.
fn text_payload(len: usize) -> String {
    let mut text = String::with_capacity(len + 64);
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!("line {i}: grüße from the test, the same words again and again\n"));
        i += 1;
    }
    while text.len() > len {
        text.pop();
    }
    text
}

/// `len` bytes from a seeded generator: incompressible.
fn binary_payload(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    Rng(seed).fill(&mut bytes);
    bytes
}

/// Parse one flat JSON object: string, integer, boolean and null values,
/// strings with every JSON escape (`\uXXXX` surrogate pairs included).
fn parse_event(line: &str) -> Result<Event, String> {
    let mut p = Json { chars: line.trim().chars().collect(), pos: 0 };
    let mut fields = Vec::new();
    p.expect('{')?;
    if p.peek() == Some('}') {
        p.pos += 1;
    } else {
        loop {
            let key = p.string()?;
            p.expect(':')?;
            fields.push((key, p.value()?));
            match p.next() {
                Some(',') => continue,
                Some('}') => break,
                c => return Err(format!("expected , or }} at {}, found {c:?}", p.pos)),
            }
        }
    }
    if p.pos != p.chars.len() {
        return Err(format!("trailing characters at {}", p.pos));
    }
    Ok(Event(fields))
}

struct Json {
    chars: Vec<char>,
    pos: usize,
}

impl Json {
    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.next() {
            Some(c) if c == want => Ok(()),
            c => Err(format!("expected {want:?} at {}, found {c:?}", self.pos - 1)),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('"') => Ok(Value::Str(self.string()?)),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self.chars.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits: String = self.chars[start..self.pos].iter().collect();
                digits.parse().map(Value::Int).map_err(|e| format!("number {digits:?}: {e}"))
            }
            _ => {
                let rest: String = self.chars[self.pos..].iter().take(5).collect();
                let (value, len) = if rest.starts_with("true") {
                    (Value::Bool(true), 4)
                } else if rest.starts_with("false") {
                    (Value::Bool(false), 5)
                } else if rest.starts_with("null") {
                    (Value::Null, 4)
                } else {
                    return Err(format!("no value at {}", self.pos));
                };
                self.pos += len;
                Ok(value)
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut units: Vec<u16> = Vec::new();
        loop {
            let c = *self.chars.get(self.pos).ok_or("unterminated string")?;
            self.pos += 1;
            match c {
                '"' => break,
                '\\' => {
                    let e = *self.chars.get(self.pos).ok_or("unterminated escape")?;
                    self.pos += 1;
                    let unit = match e {
                        '"' | '\\' | '/' => e as u16,
                        'b' => 8,
                        'f' => 12,
                        'n' => 10,
                        'r' => 13,
                        't' => 9,
                        'u' => {
                            let digits: String =
                                self.chars.get(self.pos..self.pos + 4).ok_or("short \\u")?.iter().collect();
                            self.pos += 4;
                            u16::from_str_radix(&digits, 16).map_err(|_| format!("bad \\u{digits}"))?
                        }
                        _ => return Err(format!("bad escape \\{e}")),
                    };
                    units.push(unit);
                }
                c => units.extend(c.encode_utf16(&mut [0; 2]).iter()),
            }
        }
        String::from_utf16(&units).map_err(|e| e.to_string())
    }
}

/// `tests/upstream/ws_app.py`, the `websockets` app behind the proxy
/// tests, on an ephemeral port, stopped with its process group when
/// dropped. It runs with the library's INFO log on, so each handshake it
/// handles leaves a line in its output (`connection open`, `connection
/// rejected (400 Bad Request)`): the test can tell whether it was asked.
struct WsApp {
    proc: ChildGuard,
    port: u16,
}

impl WsApp {
    fn start() -> WsApp {
        let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream/ws_app.py");
        let mut cmd = Command::new("python3");
        cmd.arg("-c")
            .arg(
                "import logging, runpy, sys; logging.basicConfig(level=logging.INFO); \
                 runpy.run_path(sys.argv[1], run_name='__main__')",
            )
            .arg(&app);
        let mut proc = ChildGuard::spawn("ws_app", cmd);
        let port = proc.wait_for_line(Duration::from_secs(20), |l| l.trim().parse().ok());
        WsApp { proc, port }
    }

    /// How many lines of its log read so far contain `what`.
    fn logged(&self, what: &str) -> usize {
        self.proc.output().iter().filter(|l| l.contains(what)).count()
    }

    /// Wait (up to 10 s) until a line of its log contains `what`.
    fn wait_logged(&mut self, what: &str) {
        self.proc.wait_for_line(Duration::from_secs(10), |l| l.contains(what).then_some(()));
    }
}
