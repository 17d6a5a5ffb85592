//! The teaching reference stays true: `--trace` tells what crossed the wire,
//! and every file and function the docs name still exists.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{Server, read_to_close, temp_dir};

/// The trace lines of one connection: those starting `[w0 cN` and the
/// indented lines that continue them.
fn connection_lines(trace: &str, conn: u64) -> Vec<&str> {
    let tag = format!("[w0 c{conn}");
    let mut mine = false;
    let mut lines = Vec::new();
    for line in trace.lines() {
        if line.starts_with('[') {
            mine = line.starts_with(&format!("{tag}]")) || line.starts_with(&format!("{tag} "));
        }
        if mine {
            lines.push(line);
        }
    }
    lines
}

/// Wait until the trace holds `closes` "closed after" lines (blocks are
/// written as they happen, so no need to stop the server).
fn trace_with_closes(path: &Path, closes: usize) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.matches("] closed after ").count() >= closes || start.elapsed() > Duration::from_secs(10) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_has(lines: &[&str], want: &str, what: &str) {
    assert!(lines.iter().any(|l| l.contains(want)), "{what}: no line with {want:?} in\n{}", lines.join("\n"));
}

#[test]
fn trace_shows_requests_decisions_responses_and_close_reasons() {
    let root = temp_dir("trace");
    std::fs::write(root.join("hello.txt"), "Hello, wire!\n").unwrap();
    std::fs::write(root.join("a.txt"), "a\n").unwrap();
    std::fs::write(root.join("b.txt"), "bb\n").unwrap();
    let trace_path = temp_dir("trace-out").join("trace.log");
    let trace_arg = format!("--trace={}", trace_path.display());
    let server = Server::start(&root, &[&trace_arg]);

    // c1: a GET. c2: a pipelined pair in one write. c3: a 404. c4: a bad request.
    let get = server.raw(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let pair = server
        .raw(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let missing = server.raw(b"GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut bad = server.connect();
    bad.write_all(b"GET / HTTP/1.1\r\nHost : t\r\n\r\n").unwrap();
    let refused = read_to_close(&mut bad);
    drop(bad);
    assert!(get.starts_with(b"HTTP/1.1 200 OK\r\n") && missing.starts_with(b"HTTP/1.1 404 "));
    assert!(refused.starts_with(b"HTTP/1.1 400 "));

    let trace = trace_with_closes(&trace_path, 4);
    for line in trace.lines() {
        assert!(line.starts_with("[w0 c") || line.starts_with("    "), "a line outside any block: {line:?}");
    }

    let c1 = connection_lines(&trace, 1);
    assert_has(&c1, "] accepted from 127.0.0.1:", "accept");
    assert_has(&c1, "    | GET /hello.txt HTTP/1.1\\r\\n", "the request line, CR LF visible");
    assert_has(&c1, "request 1: GET /hello.txt HTTP/1.1", "the parser's decision");
    assert_has(&c1, "body:       none: neither Content-Length nor Transfer-Encoding (RFC 9112 §6.3 rule 7)", "framing");
    assert_has(&c1, "connection: close: the client sent `Connection: close` (RFC 9112 §9.6)", "persistence");
    assert_has(&c1, "    | HTTP/1.1 200 OK\\r\\n", "the status line sent");
    // The last response before a close: its last packet carries the FIN.
    let fin = "bytes: the last packet waits for the FIN of the close";
    assert_has(&c1, &format!("-> send(MSG_MORE) {} {fin}", get.len()), "how the response went out");
    assert_has(&c1, "closed after 1 request: the last response said `Connection: close`", "the close reason");

    let c2 = connection_lines(&trace, 2);
    let read_line = c2.iter().position(|l| l.contains("<- recvfrom(): ")).expect("a read");
    assert!(c2[read_line..].iter().take(8).any(|l| l.contains("| GET /b.txt HTTP/1.1\\r\\n")), "both in one read");
    assert_has(&c2, "request 1: GET /a.txt HTTP/1.1", "first of the pair");
    assert_has(&c2, "connection: keep-alive: HTTP/1.1 persists", "first of the pair keeps the connection");
    assert_has(&c2, "request 2: GET /b.txt HTTP/1.1", "second of the pair");
    assert_has(&c2, &format!("-> send(MSG_MORE) {} {fin}", pair.len()), "both responses in one write");
    assert_has(&c2, "closed after 2 requests:", "two requests counted");

    let c3 = connection_lines(&trace, 3);
    assert_has(&c3, "    | HTTP/1.1 404 Not Found\\r\\n", "the 404 status line");
    assert_has(&c3, "body: ", "the error page body");

    let c4 = connection_lines(&trace, 4);
    assert_has(&c4, "    | Host : t\\r\\n", "the offending line, as received");
    assert_has(&c4, "refused: whitespace between header name and colon (RFC 9112 §5.1) -> 400 Bad Request", "why");
    assert_has(&c4, "    | HTTP/1.1 400 Bad Request\\r\\n", "the 400 status line");
    assert_has(&c4, "Connection: close\\r\\n", "the 400 says it closes");
    assert_has(&c4, "closed after 1 request: lingering close", "the close reason");
}

/// A path the docs name, as written: `src/conn/write.rs`, or
/// `src/conn/write.rs::send_file` (a function in it), or
/// `src/conn/mod.rs::Conn::drive` (a method: the type is named in the file).
struct Reference {
    doc: String,
    file: String,
    items: Vec<String>,
}

/// Every code path in a doc: a `.rs` file under one of the source roots,
/// with any `::` items after it, or a directory there (ending in `/`). Tokens
/// are split at anything that cannot be part of a path or an item name.
fn references(doc: &str, text: &str) -> Vec<Reference> {
    const ROOTS: [&str; 4] = ["src/", "tests/", "parser/", "fuzz/"];
    let mut found = Vec::new();
    for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || "_./:-".contains(c))) {
        let token = token.trim_start_matches("../").trim_end_matches(['.', ':', ',']);
        if !ROOTS.iter().any(|r| token.starts_with(r)) {
            continue;
        }
        let mut parts = token.split("::");
        let file = parts.next().unwrap_or_default().to_string();
        if !(file.ends_with(".rs") || file.ends_with('/')) {
            continue;
        }
        let items = parts.filter(|p| !p.is_empty()).map(str::to_string).collect();
        found.push(Reference { doc: doc.to_string(), file, items });
    }
    found
}

/// Whether `source` defines `name`: `fn name` for a function, or a type,
/// constant or module of that name.
fn defines(source: &str, name: &str) -> bool {
    ["fn ", "struct ", "enum ", "const ", "static ", "trait ", "type ", "mod ", "impl ", "macro_rules! "].iter().any(
        |kw| {
            source.match_indices(&format!("{kw}{name}")).any(|(at, m)| {
                let before_ok = at == 0 || !source[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                let after = source[at + m.len()..].chars().next();
                before_ok && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        },
    )
}

#[test]
fn docs_name_only_files_and_functions_that_exist() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let docs = repo.join("docs");
    for needed in ["README.md", "architecture.md", "http-on-the-wire.md", "conformance.md", "security.md"] {
        assert!(docs.join(needed).is_file(), "docs/{needed} is missing");
    }
    let mut refs = Vec::new();
    for entry in std::fs::read_dir(&docs).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            let mut text = String::new();
            std::fs::File::open(&path).and_then(|mut f| f.read_to_string(&mut text)).expect("read doc");
            refs.extend(references(&path.file_name().unwrap().to_string_lossy(), &text));
        }
    }
    assert!(refs.len() >= 100, "only {} code references found in docs/: is the scan broken?", refs.len());
    assert!(refs.iter().filter(|r| !r.items.is_empty()).count() >= 50, "too few file.rs::function references");
    let mut broken = Vec::new();
    for r in &refs {
        let path = repo.join(&r.file);
        if r.file.ends_with('/') {
            if !path.is_dir() {
                broken.push(format!("{}: directory {} does not exist", r.doc, r.file));
            }
            continue;
        }
        if !path.is_file() {
            broken.push(format!("{}: {} does not exist", r.doc, r.file));
            continue;
        }
        if r.items.is_empty() {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        for item in &r.items {
            if !defines(&source, item) {
                broken.push(format!("{}: {} has no `fn {item}` (nor a type or const of that name)", r.doc, r.file));
            }
        }
    }
    broken.sort();
    broken.dedup();
    assert!(broken.is_empty(), "docs/ names things that are gone:\n{}", broken.join("\n"));
}
