//! HTTP/2 (`--http2`) as two clients wired's authors did not write see it:
//! `nghttp`, nghttp2's own command-line client, whose `-v` prints every
//! frame it sends and receives, and headless Chromium loading a page of
//! 100 assets over HTTPS. A third, hyper's `h2` crate, carries the
//! static-file suite in its HTTP/2 run (`WIRED_TEST_H2=1`, `h2_shim.rs`);
//! the last test here checks that shim itself.
//!
//! nghttp is read frame by frame: each assertion names the frame and the
//! RFC 9113 rule it shows. Chromium is read from three places that do not
//! depend on each other: what the page itself measured (Resource Timing's
//! `nextHopProtocol`, the field DevTools shows as "Protocol"), wired's
//! access log (the version of each request), and wired's `--trace` (which
//! connection each stream came on).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::https::browser::home_with_nssdb;
use crate::https::{Site, tls_port};

/// One frame as `nghttp -v` prints it:
/// `[  0.005] send SETTINGS frame <length=12, flags=0x00, stream_id=0>`,
/// then indented lines with what it carries.
#[derive(Debug)]
struct NgFrame {
    sent: bool,
    kind: String,
    len: usize,
    flags: u8,
    stream: u32,
    detail: Vec<String>,
}

/// What one `nghttp -v` run printed.
#[derive(Debug, Default)]
struct NgRun {
    frames: Vec<NgFrame>,
    /// Response fields, `recv (stream_id=13) :status: 200`, in order.
    fields: Vec<(u32, String, String)>,
    /// `Connected` lines: one per TCP connection.
    connections: usize,
    /// `The negotiated protocol: h2` (TLS only).
    alpn: Option<String>,
    text: String,
}

impl NgRun {
    fn parse(text: String) -> NgRun {
        let mut run = NgRun::default();
        for line in text.lines() {
            if line.starts_with(' ') {
                if let Some(f) = run.frames.last_mut() {
                    f.detail.push(line.trim().to_string());
                }
                continue;
            }
            if let Some(p) = line.strip_prefix("The negotiated protocol: ") {
                run.alpn = Some(p.trim().to_string());
            }
            let Some((_, rest)) = line.split_once("] ") else { continue };
            if rest == "Connected" {
                run.connections += 1;
            } else if let Some(field) = rest.strip_prefix("recv (stream_id=") {
                let (id, field) = field.split_once(") ").expect("a field line");
                let (name, value) = field.split_at(field[1..].find(": ").expect("name: value") + 1);
                run.fields.push((id.parse().unwrap(), name.to_string(), value[2..].to_string()));
            } else if let Some((dir, rest)) = rest.split_once(' ')
                && let Some((kind, rest)) = rest.split_once(" frame <")
            {
                let num = |key: &str| rest.split(key).nth(1).and_then(|r| r.split([',', '>']).next()).unwrap();
                run.frames.push(NgFrame {
                    sent: dir == "send",
                    kind: kind.to_string(),
                    len: num("length=").parse().unwrap(),
                    flags: u8::from_str_radix(num("flags=0x"), 16).unwrap(),
                    stream: num("stream_id=").parse().unwrap(),
                    detail: Vec::new(),
                });
            }
        }
        run.text = text;
        run
    }

    fn find(&self, sent: bool, kind: &str, want: impl Fn(&NgFrame) -> bool) -> Option<&NgFrame> {
        self.frames.iter().find(|f| f.sent == sent && f.kind == kind && want(f))
    }

    /// The value of a response field on a stream.
    fn field(&self, stream: u32, name: &str) -> Option<&str> {
        self.fields.iter().find(|(id, n, _)| *id == stream && n == name).map(|(_, _, v)| v.as_str())
    }

    /// The request HEADERS nghttp sent for `path`: its stream.
    fn stream_of(&self, path: &str) -> u32 {
        let line = format!(":path: {path}");
        let f = self.find(true, "HEADERS", |f| f.detail.contains(&line));
        f.unwrap_or_else(|| panic!("no HEADERS for {path} in\n{}", self.text)).stream
    }

    /// The DATA received on a stream: total payload, and whether its last
    /// frame ended the stream.
    fn data(&self, stream: u32) -> (usize, bool) {
        let frames: Vec<&NgFrame> =
            self.frames.iter().filter(|f| !f.sent && f.kind == "DATA" && f.stream == stream).collect();
        (frames.iter().map(|f| f.len).sum(), frames.last().is_some_and(|f| f.flags & 0x1 != 0))
    }
}

/// Run `nghttp` with `args`, bounded; its output, parsed.
fn nghttp(args: &[&str]) -> NgRun {
    let out = run_bounded(Command::new("nghttp").args(args), Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "nghttp {args:?}: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    NgRun::parse(text)
}

/// The ten assets of `ten.html`: the kinds nghttp's `-a` follows
/// (`img src`, `link rel=stylesheet href`, `script src`).
fn ten_assets() -> Vec<String> {
    let mut paths: Vec<String> = (0..4).map(|i| format!("/img{i}.svg")).collect();
    paths.extend((0..3).map(|i| format!("/style{i}.css")));
    paths.extend((0..3).map(|i| format!("/script{i}.js")));
    paths
}

/// Write an asset at `path` under `root`: a small file of its kind whose
/// length differs from its neighbours', so a mixed-up body shows.
fn write_asset(root: &Path, path: &str, i: usize) -> usize {
    let body = if path.ends_with(".svg") {
        format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"><!--{}--></svg>\n", "x".repeat(i))
    } else if path.ends_with(".css") {
        format!(".c{i} {{ color: #{:06x}; }}\n", i * 4099)
    } else {
        format!("window.ran = (window.ran || 0) + 1; // {}\n", "y".repeat(i))
    };
    std::fs::write(root.join(path.trim_start_matches('/')), &body).unwrap();
    body.len()
}

/// The tag that element loads `path` with.
fn element(path: &str) -> String {
    if path.ends_with(".svg") {
        format!("<img src=\"{path}\" alt=\"\">")
    } else if path.ends_with(".css") {
        format!("<link rel=\"stylesheet\" href=\"{path}\">")
    } else {
        format!("<script src=\"{path}\"></script>")
    }
}

/// A trace's connections, `[w0 c3 …` → their lines.
fn trace_by_connection(trace: &str) -> BTreeMap<String, Vec<&str>> {
    let mut by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut current = None;
    for line in trace.lines() {
        // Each block starts `[w0 c3]` or `[w0 c3 +1.20ms]`; anything else
        // that starts with `[` (a log line) belongs to no connection.
        if line.starts_with('[') {
            current = line
                .strip_prefix("[w")
                .and_then(|rest| rest.split([' ', ']']).nth(1))
                .filter(|c| c.len() > 1 && c.starts_with('c') && c[1..].bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string);
        }
        if let Some(c) = &current {
            by.entry(c.clone()).or_default().push(line);
        }
    }
    by
}

/// The streams a connection's trace lines opened: `h2: stream 3: GET /x`.
fn streams(lines: &[&str]) -> Vec<(u32, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = l.split("] h2: stream ").nth(1)?;
            let (id, rest) = rest.split_once(": GET ")?;
            Some((id.parse().ok()?, rest.to_string()))
        })
        .collect()
}

/// Wait until the trace has accepted at least `min` connections and every
/// one it accepted has closed.
fn settled_trace(min: usize, read: impl Fn() -> String) -> String {
    let start = Instant::now();
    loop {
        let text = read();
        let (opened, closed) = (text.matches("] accepted from ").count(), text.matches("] closed after ").count());
        if (opened >= min && opened == closed) || start.elapsed() > Duration::from_secs(10) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_text(server: &Server) -> String {
    server.stderr.lock().unwrap().join("\n")
}

#[test]
fn nghttp_gets_a_file_over_h2c_by_prior_knowledge_and_over_tls_by_alpn() {
    let root = TempTree::new("h2-nghttp");
    // 20,000 bytes: more than one DATA frame of 16,384 (§4.2).
    let mut blob = vec![0u8; 20_000];
    Rng(0x6e67).fill(&mut blob);
    std::fs::write(root.join("blob.bin"), &blob).unwrap();
    let tls = crate::tls_shim::tls_args();
    let mut args: Vec<&str> = vec!["--http2"];
    args.extend(tls.iter().map(String::as_str));
    let server = Server::start(&root.0, &args);
    let plain = server.plain_addr.unwrap_or(server.addr);
    let tls_port = server.tls_addr.expect("a TLS listener").port();

    for (scheme, url) in
        [("http", format!("http://{plain}/blob.bin")), ("https", format!("https://localhost:{tls_port}/blob.bin"))]
    {
        let run = nghttp(&["-nv", &url]);
        let text = &run.text;
        assert_eq!(run.connections, 1, "{text}");
        if scheme == "https" {
            assert_eq!(run.alpn.as_deref(), Some("h2"), "ALPN h2 (§3.2): {text}");
        }
        // §3.4: both sides start with SETTINGS; wired's says what it allows.
        assert!(run.find(true, "SETTINGS", |f| f.flags == 0 && f.stream == 0).is_some(), "{text}");
        let ours = run.find(false, "SETTINGS", |f| f.flags == 0).unwrap_or_else(|| panic!("wired's SETTINGS: {text}"));
        assert_eq!(ours.stream, 0, "SETTINGS is about the connection (§6.5)");
        for setting in [
            "[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]",
            "[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):16384]",
            "[SETTINGS_ENABLE_PUSH(0x02):0]",
        ] {
            assert!(ours.detail.iter().any(|d| d == setting), "{setting} in {ours:?}");
        }
        // §6.5.3: nghttp's SETTINGS acknowledged, with an empty payload.
        assert!(run.find(false, "SETTINGS", |f| f.flags == 0x1 && f.len == 0).is_some(), "SETTINGS ACK: {text}");
        // The request: one HEADERS frame, END_STREAM and END_HEADERS set,
        // with the four pseudo-header fields (§8.3.1).
        let id = run.stream_of("/blob.bin");
        let req = run.find(true, "HEADERS", |f| f.stream == id).unwrap();
        assert_eq!(req.flags & 0x5, 0x5, "END_STREAM|END_HEADERS: {req:?}");
        for line in [":method: GET".to_string(), format!(":scheme: {scheme}")] {
            assert!(req.detail.contains(&line), "{line} in {req:?}");
        }
        // The response: 200, its length, and DATA frames that add up to it
        // and end the stream (§8.1).
        assert_eq!(run.field(id, ":status"), Some("200"), "{text}");
        assert_eq!(run.field(id, "content-length"), Some("20000"), "{text}");
        assert_eq!(run.data(id), (20_000, true), "DATA on stream {id}: {text}");
        assert!(run.find(false, "DATA", |f| f.len > 16_384).is_none(), "no DATA frame past 16,384 bytes");
        assert!(run.find(false, "GOAWAY", |_| true).is_none() && run.find(false, "RST_STREAM", |_| true).is_none());
    }
}

#[test]
fn nghttp_fetches_a_page_and_its_ten_assets_on_one_connection() {
    let root = TempTree::new("h2-nghttp-assets");
    let assets = ten_assets();
    let mut lengths = BTreeMap::new();
    for (i, path) in assets.iter().enumerate() {
        lengths.insert(path.clone(), write_asset(&root.0, path, i));
    }
    let page: String = assets.iter().map(|p| element(p) + "\n").collect();
    let page = format!("<!doctype html><html><head><title>ten</title>\n{page}</head><body></body></html>\n");
    std::fs::write(root.join("ten.html"), &page).unwrap();
    lengths.insert("/ten.html".to_string(), page.len());
    let tls = crate::tls_shim::tls_args();
    let mut args: Vec<&str> = vec!["--http2", "--trace"];
    args.extend(tls.iter().map(String::as_str));
    let server = Server::start(&root.0, &args);
    let plain = server.plain_addr.unwrap_or(server.addr);
    let tls_port = server.tls_addr.expect("a TLS listener").port();

    let urls = [format!("http://{plain}/ten.html"), format!("https://localhost:{tls_port}/ten.html")];
    for url in &urls {
        let run = nghttp(&["-nva", url]);
        let text = &run.text;
        assert_eq!(run.connections, 1, "{text}");
        for (path, len) in &lengths {
            let id = run.stream_of(path);
            assert_eq!(run.field(id, ":status"), Some("200"), "{path}: {text}");
            assert_eq!(run.data(id), (*len, true), "{path}'s body on stream {id}: {text}");
        }
        let requests = run.frames.iter().filter(|f| f.sent && f.kind == "HEADERS").count();
        assert_eq!(requests, 11, "the page and ten assets, nothing more: {text}");
    }
    // wired's side: one connection per run, and all eleven streams on it.
    let trace = settled_trace(urls.len(), || stderr_text(&server));
    let conns = trace_by_connection(&trace);
    assert_eq!(conns.len(), urls.len(), "one connection per nghttp run:\n{trace}");
    for lines in conns.values() {
        let got: BTreeSet<String> = streams(lines).into_iter().map(|(_, p)| p).collect();
        assert_eq!(got, lengths.keys().cloned().collect(), "{}", lines.join("\n"));
        assert!(lines.iter().any(|l| l.contains("] closed after 11 requests: ")), "{}", lines.join("\n"));
    }
}

#[test]
fn chromium_loads_a_page_and_its_hundred_assets_over_h2_on_one_connection() {
    let site = Site::new("h2-chromium");
    // 100 small assets: 34 images, 33 style sheets, 33 scripts.
    let mut assets: Vec<String> = (0..34).map(|i| format!("/img{i}.svg")).collect();
    assets.extend((0..33).map(|i| format!("/style{i}.css")));
    assets.extend((0..33).map(|i| format!("/script{i}.js")));
    for (i, path) in assets.iter().enumerate() {
        write_asset(&site.root, path, i);
    }
    // The page reports, once `load` has fired (every asset fetched), what
    // Resource Timing saw: how many resources, over which protocols. The
    // empty icon keeps Chromium from asking for /favicon.ico.
    let elements: String = assets.iter().map(|p| element(p) + "\n").collect();
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\n\
         <title>loading</title>\n<script>\n\
         addEventListener('load', () => {{\n\
           const r = performance.getEntriesByType('resource');\n\
           const protocols = [...new Set(r.map(e => e.nextHopProtocol))].sort().join(',');\n\
           document.title = `loaded ${{r.length}} over ${{protocols}}, ${{window.ran}} scripts ran`;\n\
         }});\n</script>\n{elements}</head><body><p>a hundred assets</p></body></html>\n"
    );
    std::fs::write(site.root.join("index.html"), page).unwrap();
    let log = site.tree.join("access.log");
    let trace = site.tree.join("trace.log");
    let server = site.start(&[
        "--http2",
        "--access-log",
        &log.display().to_string(),
        "--access-log-tls",
        &format!("--trace={}", trace.display()),
    ]);
    let home = site.tree.join("home");
    home_with_nssdb(&home, Some(&site.ca));
    let url = format!("https://localhost:{}/", tls_port(&server));

    let out = chromium(&site.tree.join("profile"), Some(&home), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<title>loaded 100 over h2, 33 scripts ran</title>"), "what the page saw:\n{dom}");

    // The access log: wired writes it at most a second after a request.
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 101 || start.elapsed() > Duration::from_secs(10) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(text.lines().count(), 101, "the page and its 100 assets, nothing else:\n{text}");
    let mut logged = BTreeSet::new();
    for line in text.lines() {
        let request = line.split('"').nth(1).unwrap_or_default();
        let path = request.strip_prefix("GET ").and_then(|r| r.strip_suffix(" HTTP/2.0"));
        let path = path.unwrap_or_else(|| panic!("not a GET over HTTP/2: {line}"));
        assert!(line.contains("HTTP/2.0\" 200 "), "not a 200: {line}");
        assert!(line.ends_with(" \"TLSv1.3\" \"localhost\""), "not over TLS 1.3 to localhost: {line}");
        logged.insert(path.to_string());
    }
    let mut wanted: BTreeSet<String> = assets.iter().cloned().collect();
    wanted.insert("/".to_string());
    assert_eq!(logged, wanted);

    // The trace: every request's stream on one connection. Chromium may
    // open a spare connection beside it (a preconnect it ends up not
    // using); if it does, no request may travel on it.
    let trace = settled_trace(1, || std::fs::read_to_string(&trace).unwrap_or_default());
    let conns = trace_by_connection(&trace);
    let carrying: Vec<(&String, Vec<(u32, String)>)> =
        conns.iter().map(|(c, lines)| (c, streams(lines))).filter(|(_, s)| !s.is_empty()).collect();
    assert_eq!(carrying.len(), 1, "requests on {} connections:\n{trace}", carrying.len());
    let (conn, on_it) = &carrying[0];
    let ids: BTreeSet<u32> = on_it.iter().map(|(id, _)| *id).collect();
    assert_eq!((on_it.len(), ids.len()), (101, 101), "101 streams, each its own id, on {conn}");
    assert_eq!(on_it.iter().map(|(_, p)| p.clone()).collect::<BTreeSet<_>>(), wanted);
    assert!(ids.iter().all(|id| id % 2 == 1), "client streams are odd (RFC 9113 §5.1.1): {ids:?}");
    let lines = &conns[*conn];
    assert!(lines.iter().any(|l| l.contains("ALPN chosen: h2")), "h2 agreed by ALPN (§3.2):\n{}", lines.join("\n"));
    for (c, lines) in conns.iter().filter(|(c, _)| c != conn) {
        assert!(lines.iter().any(|l| l.contains("] closed after 0 requests")), "{c}:\n{}", lines.join("\n"));
    }
}

/// The third client, hyper's `h2` crate, through the test shim that
/// `WIRED_TEST_H2=1` puts in front of wired (`h2_shim.rs`), tried here in
/// every run: HTTP/1.1 requests written back to back reach wired as HTTP/2
/// streams (its access log says `HTTP/2.0`), with the connection-specific
/// fields HTTP/2 forbids dropped (wired would reset a stream that carried
/// one), and the answers come back in order, a HEAD's without a body, then
/// the close the test asked for.
#[test]
fn the_shim_carries_http_1_1_requests_as_http2_streams() {
    let tree = TempTree::new("h2-shim");
    std::fs::write(tree.join("a.txt"), "over h2\n").unwrap();
    let log = tree.join("access.log");
    let args: Vec<String> = ["--http2", "--workers", "1", "--listen", "127.0.0.1:0", "--root"]
        .iter()
        .map(|s| s.to_string())
        .chain([tree.0.display().to_string(), "--access-log".into(), log.display().to_string()])
        .collect();
    let mut server = Server::start_args(&tree.0, &args, None);
    let shim = crate::h2_shim::start(server.addr, false);
    let mut s = std::net::TcpStream::connect(shim).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: gzip\r\n\r\n\
          HEAD /a.txt HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let raw = read_to_close(&mut s);
    let answers = parse_all(&raw, &[false, true, false]);
    let got: Vec<(u16, &[u8])> = answers.iter().map(|r| (r.status, r.body.as_slice())).collect();
    assert_eq!(got[..2], [(200, &b"over h2\n"[..]), (200, &b""[..])], "{}", String::from_utf8_lossy(&raw));
    assert_eq!((answers.len(), answers[2].status), (3, 404), "{}", String::from_utf8_lossy(&raw));
    assert_eq!(answers[1].header("content-length"), Some("8"), "the HEAD's length is the GET's");
    // A chunked request body: its chunks are carried as DATA (a file takes
    // no body: 405), and a transfer coding the shim cannot undo is refused
    // by the shim, saying so.
    let mut s = std::net::TcpStream::connect(shim).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 405);
    let mut s = std::net::TcpStream::connect(shim).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n").unwrap();
    let refused = read_response(&mut s, false).unwrap();
    assert_eq!(refused.status, 502);
    assert!(refused.header("x-h2-shim").is_some_and(|why| why.contains("Transfer-Encoding")));
    // The log is buffered per worker and flushed at exit.
    assert!(server.terminate(Duration::from_secs(10)).expect("exited").success());
    let text = std::fs::read_to_string(&log).unwrap();
    let requests: Vec<&str> = text.lines().filter_map(|l| l.split('"').nth(1)).collect();
    assert_eq!(
        requests,
        ["GET /a.txt HTTP/2.0", "HEAD /a.txt HTTP/2.0", "GET /missing HTTP/2.0", "POST /a.txt HTTP/2.0"],
        "{text}"
    );
}
