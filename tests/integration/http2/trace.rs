//! `--trace` tells how HPACK sent each field (RFC 7541 §6), as
//! docs/http2.md teaches from it: the client's blocks are built here by
//! hand, one representation of each kind, so the expected lines are known
//! byte for byte; wired's response heads are checked against what this
//! client decoded from them.

use std::path::Path;
use std::time::{Duration, Instant};

use wired_parser::http2::hpack::{huffman, integer};

use super::wire::*;
use crate::common::{TempTree, temp_dir};

/// A string literal (§5.2), raw or Huffman-coded.
fn string(out: &mut Vec<u8>, s: &str, coded: bool) {
    if coded {
        let mut bytes = Vec::new();
        huffman::encode(s.as_bytes(), &mut bytes);
        integer::encode(bytes.len(), 7, 0x80, out);
        out.extend(bytes);
    } else {
        integer::encode(s.len(), 7, 0x00, out);
        out.extend_from_slice(s.as_bytes());
    }
}

/// The `|` lines that follow the first trace line containing `marker`,
/// without their prefix: `:method: GET   [indexed 2 (static)]`.
fn field_lines(trace: &str, marker: &str) -> Vec<String> {
    let mut lines = trace.lines().skip_while(|l| !l.contains(marker));
    lines.next();
    lines.map_while(|l| l.split_once("]     | ").map(|(_, field)| field.to_string())).collect()
}

/// The trace file once it holds `marker` and the lines after it.
fn trace_with(path: &Path, marker: &str) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if !field_lines(&text, marker).is_empty() || start.elapsed() > Duration::from_secs(10) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `server: wired   [indexed 67 (dynamic)]` → ("server: wired", "indexed 67 (dynamic)").
fn split(line: &str) -> (&str, &str) {
    let (field, repr) = line.rsplit_once("   [").unwrap_or((line, ""));
    (field, repr.trim_end_matches(']'))
}

#[test]
fn the_trace_shows_each_fields_representation_and_table_index_both_ways() {
    let root = TempTree::new("h2-trace-hpack");
    std::fs::write(root.join("index.html"), "<h1>hello over h2</h1>\n").unwrap();
    let trace_path = temp_dir("h2-trace-hpack-out").join("trace.log");
    let server = super::start(&root, &[&format!("--trace={}", trace_path.display())]);
    let mut c = H2::open(&server);

    // Stream 1: two static entries, and a literal of each kind.
    let mut b = vec![0x82, 0x86];
    b.push(0x04); // 0000xxxx, name 4 (:path), not indexed (§6.2.2)
    string(&mut b, "/index.html", false);
    b.push(0x41); // 01xxxxxx, name 1 (:authority), indexed (§6.2.1)
    string(&mut b, "localhost", true);
    b.push(0x40); // a new name, indexed: now 62, :authority 63
    string(&mut b, "x-trace", false);
    string(&mut b, "one", false);
    b.push(0x10); // 0001xxxx, a new name, never indexed (§6.2.3)
    string(&mut b, "x-secret", false);
    string(&mut b, "hush", true);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    let first = c.response(1, "the first request");
    assert_eq!(first.field(":status"), Some("200"));

    // Stream 3: the dynamic table, one byte a field.
    let mut b = vec![0x82, 0x86, 0xbf, 0x04];
    string(&mut b, "/index.html", false);
    b.push(0xbe);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 3, &b);
    let second = c.response(3, "the second request");
    assert_eq!(second.field(":status"), Some("200"));

    // Stream 5: a size update to 50 bytes (§6.3) keeps only the newest
    // entry, x-trace (7 + 3 + 32 = 42); :authority (51) is evicted.
    let mut b = vec![0x3f, 50 - 31, 0x82, 0x86, 0x04];
    string(&mut b, "/index.html", false);
    b.push(0xbe);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 5, &b);
    let third = c.response(5, "the third request");
    assert_eq!(third.field(":status"), Some("200"));

    let trace = trace_with(&trace_path, "h2 send: HEADERS stream=5 ");
    let received = |stream: u32| field_lines(&trace, &format!("h2: stream {stream}: GET /index.html"));
    assert_eq!(
        received(1),
        [
            ":method: GET   [indexed 2 (static)]",
            ":scheme: http   [indexed 6 (static)]",
            ":path: /index.html   [literal, name 4 (static), raw, not indexed]",
            ":authority: localhost   [literal, name 1 (static), huffman, indexed as 62]",
            "x-trace: one   [literal, new name, raw, indexed as 62]",
            "x-secret: hush   [literal, new name, name raw, value huffman, never indexed (§6.2.3)]",
        ],
        "stream 1 as received, in\n{trace}"
    );
    assert_eq!(
        received(3),
        [
            ":method: GET   [indexed 2 (static)]",
            ":scheme: http   [indexed 6 (static)]",
            ":authority: localhost   [indexed 63 (dynamic)]",
            ":path: /index.html   [literal, name 4 (static), raw, not indexed]",
            "x-trace: one   [indexed 62 (dynamic)]",
        ],
        "stream 3: the entries stream 1 added"
    );
    assert_eq!(
        received(5),
        [
            "[table size update to 50, 1 evicted (§6.3)]",
            ":method: GET   [indexed 2 (static)]",
            ":scheme: http   [indexed 6 (static)]",
            ":path: /index.html   [literal, name 4 (static), raw, not indexed]",
            "x-trace: one   [indexed 62 (dynamic)]",
        ],
        "stream 5: after the size update"
    );

    // What wired sent: the fields this client decoded, in order, each
    // with how it came.
    let mut server_index = Vec::new();
    for (stream, head) in [(1, &first), (3, &second), (5, &third)] {
        let sent = field_lines(&trace, &format!("h2 send: HEADERS stream={stream} "));
        let fields: Vec<String> = head.fields.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        let shown: Vec<&str> = sent.iter().map(|l| split(l).0).collect();
        assert_eq!(shown, fields, "stream {stream}: the trace shows the fields the client decoded");
        assert_eq!(sent.first().map(String::as_str), Some(":status: 200   [indexed 8 (static)]"), "stream {stream}");
        let length = sent.iter().find(|l| l.starts_with("content-length: ")).expect("a content-length");
        assert!(split(length).1.ends_with(", not indexed"), "stream {stream}: {length}");
        let server_line = sent.iter().find(|l| l.starts_with("server: wired")).expect("a server field");
        server_index.push(split(server_line).1.to_string());
    }
    assert_eq!(server_index[0], "literal, name 54 (static), huffman, indexed as 62", "the first response adds it");
    for later in &server_index[1..] {
        let index: u32 = later
            .strip_prefix("indexed ")
            .and_then(|r| r.strip_suffix(" (dynamic)"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("server: wired again should be one dynamic index, not {later:?}"));
        assert!(index > 62, "newer entries were added after it: {later}");
    }
}
