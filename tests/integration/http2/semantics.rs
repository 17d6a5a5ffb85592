//! RFC 9113 §8 (HTTP over streams: message exchanges, field rules,
//! pseudo-headers, push) and RFC 7541's decoding errors, from raw frames.

use std::time::Duration;

use super::conformance::{held_open, post};
use super::wire::*;
use crate::common::Server;

fn server(name: &str) -> (crate::common::TempTree, Server) {
    let (root, _) = super::site(name);
    let server = super::start(&root, &[]);
    (root, server)
}

const GET: [(&str, &str); 4] =
    [(":method", "GET"), (":scheme", "http"), (":authority", "localhost"), (":path", "/index.html")];

/// A GET with these fields instead of (or after) the usual four: the
/// stream must be reset PROTOCOL_ERROR (§8.1.1: a malformed request).
fn malformed(server: &Server, fields: &[(&str, &str)], case: &str) {
    let mut c = H2::open(server);
    let b = c.block(fields);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], case);
    c.request(3, "/index.html", true);
    assert_eq!(c.status(3, &format!("{case}: the next stream")), 200);
}

/// The usual four fields, then `extra`.
fn get_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    GET.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn message_exchanges_trailers_and_content_length() {
    let (_root, server) = server("h2c-messages");

    // §8.1: a request, a response that ends its stream.
    let mut c = H2::open(&server);
    c.request(1, "/index.html", true);
    let head = c.response(1, "§8.1 a GET");
    assert_eq!(head.field(":status"), Some("200"), "§8.1 a GET");
    assert_eq!(c.data_within(1, Duration::from_millis(200)), [23], "§8.1 the body, ended by END_STREAM");
    let mut c = H2::open(&server);
    let b = c.block(&[(":method", "HEAD"), (":scheme", "http"), (":path", "/index.html")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    let head = c.response(1, "§8.1 HEAD");
    assert!(head.flags & END_STREAM != 0, "§8.1 a HEAD's response ends with its HEADERS");

    // §8.1: trailers end the stream; without END_STREAM, or holding a
    // pseudo-header (§8.3) or a field §8.2 forbids, the request is malformed.
    let mut c = held_open(&server, false);
    let b = c.block(&[("x-checksum", "abc")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.send_frame(WINDOW_UPDATE, 0, 1, &5u32.to_be_bytes());
    assert_eq!(c.data_within(1, Duration::from_millis(300)), [5], "§8.1 trailers with END_STREAM");
    let mut c = held_open(&server, false);
    let b = c.block(&[("x-checksum", "abc")]);
    c.send_frame(HEADERS, END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], "§8.1 a second HEADERS without END_STREAM");
    let mut c = held_open(&server, false);
    let b = c.block(&[(":method", "GET")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], "§8.1 trailers with a pseudo-header");
    let mut c = held_open(&server, false);
    let b = c.block(&[("X-Checksum", "abc")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], "§8.1 trailers with an upper-case name");

    // §8.1.1: content-length must equal the DATA received.
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 0)]);
    post(&mut c, 1, "/big.bin", Some("10"));
    c.send_frame(DATA, END_STREAM, 1, b"four");
    c.stream_error(1, &[PROTOCOL_ERROR], "§8.1.1 content-length above the DATA");
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 0)]);
    post(&mut c, 1, "/big.bin", Some("10"));
    c.send_frame(DATA, 0, 1, b"four");
    c.send_frame(DATA, 0, 1, b"four");
    c.send_frame(DATA, END_STREAM, 1, b"four");
    c.stream_error(1, &[PROTOCOL_ERROR], "§8.1.1 content-length below the sum of the DATA frames");
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 0)]);
    let b = c.block(&get_with(&[("content-length", "5")]));
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], "§8.1.1 content-length with END_STREAM on the HEADERS");
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 0)]);
    post(&mut c, 1, "/big.bin", Some("10"));
    c.send_frame(DATA, 0, 1, b"four");
    let b = c.block(&[("x-checksum", "abc")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.stream_error(1, &[PROTOCOL_ERROR], "§8.1.1 content-length above the DATA before the trailers");
    let mut c = H2::open(&server);
    let b = c.block(&get_with(&[("content-length", "0")]));
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    assert_eq!(c.status(1, "§8.1.1 content-length 0 with END_STREAM"), 200);
    let mut c = H2::with(&server, &[(INITIAL_WINDOW_SIZE, 0)]);
    post(&mut c, 1, "/big.bin", Some("8"));
    c.send_frame(DATA, 0, 1, b"four");
    c.send_frame(DATA, END_STREAM, 1, b"four");
    c.response(1, "§8.1.1 content-length equal to the sum of the DATA frames");
    c.alive("§8.1.1 content-length equal to the sum of the DATA frames");
}

#[test]
fn field_names_connection_specific_fields_and_pseudo_headers() {
    let (_root, server) = server("h2c-fields");

    // §8.2: lower-case names; §8.2.1: values without NUL, CR, LF or edge whitespace.
    malformed(&server, &get_with(&[("X-Upper", "1")]), "§8.2 an upper-case field name");
    malformed(&server, &get_with(&[("x-bad", "a\r\nb")]), "§8.2.1 CR LF in a value");
    malformed(&server, &get_with(&[("x-bad", "a\0b")]), "§8.2.1 NUL in a value");
    malformed(&server, &get_with(&[("x-bad", " a")]), "§8.2.1 leading whitespace in a value");
    malformed(&server, &get_with(&[("x bad", "a")]), "§8.2.1 a name that is not a token");
    // §8.2.2: connection-specific fields; TE only "trailers".
    for name in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"] {
        malformed(&server, &get_with(&[(name, "x")]), &format!("§8.2.2 {name}"));
    }
    malformed(&server, &get_with(&[("te", "gzip")]), "§8.2.2 TE other than trailers");
    let mut c = H2::open(&server);
    let b = c.block(&get_with(&[("te", "trailers")]));
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    let head = c.response(1, "§8.2.2 TE: trailers");
    assert_eq!(head.field(":status"), Some("200"), "§8.2.2 TE: trailers");
    // The response keeps the same rules.
    for (name, _) in &head.fields {
        assert_eq!(name, &name.to_ascii_lowercase(), "§8.2 the response's names are lower case");
        assert!(
            !["connection", "keep-alive", "transfer-encoding", "upgrade"].contains(&name.as_str()),
            "§8.2.2 {name}"
        );
    }
    assert_eq!(head.fields[0].0, ":status", "§8.3 the response's pseudo-header comes first");

    // §8.3: pseudo-headers.
    malformed(&server, &get_with(&[(":custom", "x")]), "§8.3 an unknown pseudo-header");
    malformed(&server, &get_with(&[(":status", "200")]), "§8.3 a response pseudo-header in a request");
    let mut after = vec![("accept", "*/*")];
    after.extend(GET);
    malformed(&server, &after, "§8.3 a pseudo-header after a regular field");
    malformed(&server, &[(":method", "GET"), (":scheme", "http"), (":path", "")], "§8.3.1 an empty :path");
    malformed(&server, &[(":scheme", "http"), (":path", "/")], "§8.3.1 no :method");
    malformed(&server, &[(":method", "GET"), (":path", "/")], "§8.3.1 no :scheme");
    malformed(&server, &[(":method", "GET"), (":scheme", "http")], "§8.3.1 no :path");
    for dup in [(":method", "GET"), (":scheme", "http"), (":path", "/")] {
        let mut fields = vec![dup];
        fields.extend(GET);
        malformed(&server, &fields, &format!("§8.3.1 {} twice", dup.0));
    }
    malformed(&server, &get_with(&[("host", "elsewhere")]), "§8.3.1 :authority and host differ");
    malformed(&server, &[(":method", "CONNECT"), (":authority", "h:1"), (":path", "/")], "§8.5 CONNECT with :path");
    let mut c = H2::open(&server);
    let b = c.block(&[(":method", "GET"), (":scheme", "http"), (":path", "/index.html"), ("host", "localhost")]);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    assert_eq!(c.status(1, "§8.3.1 host instead of :authority"), 200);

    // §8.4: the server says it will not push, and a client may not.
    let mut c = H2::open(&server);
    match c.next(Duration::from_secs(5)) {
        Event::Frame(f) if f.kind == SETTINGS => {
            let push = f.payload.chunks(6).find(|s| s[..2] == ENABLE_PUSH.to_be_bytes());
            assert_eq!(push.map(|s| &s[2..]), Some(&[0u8, 0, 0, 0][..]), "§8.4 ENABLE_PUSH 0 announced");
        }
        other => panic!("§8.4 the server's SETTINGS: {other:?}"),
    }
    c.request(1, "/index.html", true);
    let mut p = 2u32.to_be_bytes().to_vec();
    p.extend(c.get("/index.html"));
    c.send_frame(PUSH_PROMISE, END_HEADERS, 1, &p);
    c.connection_error(&[PROTOCOL_ERROR], "§8.4 PUSH_PROMISE from a client");
}

/// A request whose block is `tail` after :method GET, :scheme http and
/// :path / (static indexes 2, 6, 4): a COMPRESSION_ERROR (RFC 9113 §4.3).
fn broken_block(server: &Server, prefix: &[u8], tail: &[u8], case: &str) {
    let mut c = H2::open(server);
    let mut b = prefix.to_vec();
    b.extend([0x82, 0x86, 0x84]);
    b.extend(tail);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    c.connection_error(&[COMPRESSION_ERROR], case);
}

#[test]
fn hpack_decoding_errors_end_the_connection() {
    let (_root, server) = server("h2c-hpack");
    // A literal without indexing, new name "x" (§6.2.2), then a value of
    // `len` Huffman-coded bytes (§5.2): 0x80 | len.
    let huffman_value = |bytes: &[u8]| {
        let mut t = vec![0x00, 0x01, b'x', 0x80 | bytes.len() as u8];
        t.extend(bytes);
        t
    };
    // §2.3.3: index 62 with an empty dynamic table.
    broken_block(&server, &[], &[0xbe], "RFC 7541 §2.3.3 an indexed field past the tables");
    broken_block(&server, &[], &[0x7e, 0x01, b'v'], "RFC 7541 §2.3.3 a literal's name index past the tables");
    // §4.2: a size update only at the start of a block.
    broken_block(&server, &[], &[0x20], "RFC 7541 §4.2 a table size update at the end of a block");
    // §5.1: an integer past 2^32 (index 127 + 0xff.. continuation bytes).
    broken_block(&server, &[], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], "RFC 7541 §5.1 an integer overflow");
    // §5.2: "a" is 00011; padding is the top bits of EOS, all ones, at most 7.
    broken_block(&server, &[], &huffman_value(&[0x1f, 0xff]), "RFC 7541 §5.2 Huffman padding over 7 bits");
    broken_block(&server, &[], &huffman_value(&[0x18]), "RFC 7541 §5.2 Huffman padding of zeros");
    broken_block(&server, &[], &huffman_value(&[0xff, 0xff, 0xff, 0xff]), "RFC 7541 §5.2 EOS in a Huffman string");
    // §6.1: index 0 is not used.
    broken_block(&server, &[], &[0x80], "RFC 7541 §6.1 an indexed field with index 0");
    // §6.3: a size update above SETTINGS_HEADER_TABLE_SIZE (4,096 by default):
    // 4,097 = 31 + 98 + 31 × 128 on a 5-bit prefix.
    broken_block(&server, &[0x3f, 0xe2, 0x1f], &[], "RFC 7541 §6.3 a size update above the setting");

    // What is valid is accepted: a size update at the start, a Huffman
    // value padded with ones, a never-indexed literal (§6.2.3).
    let mut c = H2::open(&server);
    let mut b = vec![0x3f, 0xe1, 0x1f, 0x82, 0x86, 0x84];
    b.extend(huffman_value(&[0x1f]));
    b.extend([0x10, 0x01, b'y', 0x01, b'z']);
    c.send_frame(HEADERS, END_STREAM | END_HEADERS, 1, &b);
    assert_eq!(c.status(1, "RFC 7541 §6.3 a size update to 4,096, a Huffman value, a never-indexed field"), 200);
}

/// A response head that repeats the previous one goes out as the previous
/// block again (wired keeps it while a burst of requests lasts; RFC 7541
/// makes the same fields at the same table state the same bytes). What a
/// client checks: every head decodes to the right fields, whatever came
/// between, a repeat costs only index bytes, and once the client shrinks
/// the table, the next head says so first (§4.2) instead of pointing at
/// entries the client's decoder has evicted.
#[test]
fn repeated_response_heads_stay_right_around_other_heads_and_table_changes() {
    let (_root, server) = server("h2c-repeat-heads");
    let mut c = H2::open(&server);
    let fields =
        |f: &Frame| -> Vec<(String, String)> { f.fields.iter().filter(|(n, _)| n != "date").cloned().collect() };
    // One write: the server answers them all in one turn.
    let paths = ["/index.html", "/index.html", "/asset3.css", "/index.html", "/nothing-here"];
    let paths: Vec<&str> = paths.into_iter().chain(["/index.html"; 4]).collect();
    let mut burst = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let b = c.get(path);
        burst.extend(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i as u32, &b));
    }
    // Then the table goes to 0, and the page once more, still in the burst.
    burst.extend(frame(SETTINGS, 0, 0, &settings(&[(HEADER_TABLE_SIZE, 0)])));
    let b = c.get("/index.html");
    burst.extend(frame(HEADERS, END_STREAM | END_HEADERS, 19, &b));
    c.send(&burst);
    let mut heads = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let id = 1 + 2 * i as u32;
        heads.push(c.response(id, &format!("GET {path} as stream {id}")));
    }
    let page = fields(&heads[0]);
    assert!(page.contains(&(":status".into(), "200".into())) && page.contains(&("content-length".into(), "23".into())));
    for at in [1, 3, 5, 6, 7, 8] {
        assert_eq!(fields(&heads[at]), page, "GET /index.html, request {}", at + 1);
    }
    assert_eq!(heads[2].field("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(heads[4].field(":status"), Some("404"));
    // The last four ask for the same page: their heads are the same few
    // index bytes (the date may turn over once between two of them).
    let repeat = heads[5..].windows(2).find(|pair| pair[0].payload == pair[1].payload);
    let repeat = repeat.unwrap_or_else(|| panic!("no two repeated heads alike: {:?}", &heads[5..]));
    assert!(repeat[1].payload.len() < 16, "a repeated head is index bytes: {:?}", repeat[1].payload);
    // After SETTINGS_HEADER_TABLE_SIZE 0 the next block opens with a size
    // update to 0 (RFC 7541 §6.3, 0x20) and decodes with an empty table.
    c.set_table_limit(0);
    let head = c.response(19, "GET /index.html after the table went to 0");
    assert_eq!(head.payload.first(), Some(&0x20), "a size update to 0 opens the block");
    assert_eq!(fields(&head), page);
}
