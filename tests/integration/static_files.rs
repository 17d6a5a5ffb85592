//! Static files (issue 5): what a user of an nginx-like document root checks,
//! asked of the real binary with raw bytes on a socket. This file holds the
//! helpers and the basics (methods, media types, directories, error pages,
//! Cache-Control); the other features have a file each beside it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::common::*;

mod clients;
mod confinement;
mod disk;
mod validators;

/// One request on a new connection with `Connection: close`; the response,
/// checked to be the only thing the server sent (so a HEAD or a 304 that
/// leaked a body, or a Content-Length that lied, fails here).
fn send(server: &Server, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut s = server.connect();
    s.write_all(request.as_bytes()).expect("write request");
    let response = read_response(&mut s, method == "HEAD").unwrap_or_else(|e| panic!("{method} {target}: {e}"));
    let trailing = read_to_close(&mut s);
    assert!(trailing.is_empty(), "{method} {target}: {} bytes after the response", trailing.len());
    if let Some(len) = response.header("content-length").filter(|_| method != "HEAD" && response.status != 304) {
        assert_eq!(len.parse::<usize>().ok(), Some(response.body.len()), "{method} {target}: Content-Length");
    }
    response
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send(server, "GET", target, headers)
}

/// Deterministic noise (xorshift64*), so large bodies are not all one byte
/// and a misplaced offset shows.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `len` bytes of `path` from `offset`, read from disk.
fn disk_bytes(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    fs::File::open(path).and_then(|f| f.read_exact_at(&mut buf, offset)).expect("read the file on disk");
    buf
}

/// `bytes FIRST-LAST/COMPLETE` as numbers.
fn content_range(value: &str) -> (u64, u64, u64) {
    let parse = || {
        let (span, complete) = value.strip_prefix("bytes ")?.split_once('/')?;
        let (first, last) = span.split_once('-')?;
        Some((first.parse().ok()?, last.parse().ok()?, complete.parse().ok()?))
    };
    parse().unwrap_or_else(|| panic!("bad Content-Range {value:?}"))
}

/// Check a `multipart/byteranges` body strictly (RFC 9110 §14.6, RFC 2046
/// §5.1.1): the boundary from Content-Type, every part's two fields, the CRLF
/// layout and the close delimiter with nothing after it; each part's bytes
/// are compared with the file on disk. Returns the parts' (first, last).
fn check_multipart(body: &[u8], content_type: &str, part_type: &str, file: &Path) -> Vec<(u64, u64)> {
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("Content-Type {content_type:?}"));
    assert!(
        (1..=70).contains(&boundary.len()) && boundary.bytes().all(|b| b.is_ascii_alphanumeric()),
        "boundary {boundary:?}"
    );
    let file_len = fs::metadata(file).unwrap().len();
    let delimiter = format!("--{boundary}");
    let mut rest = body
        .strip_prefix(delimiter.as_bytes())
        .and_then(|r| r.strip_prefix(b"\r\n"))
        .expect("the body starts with the first delimiter line");
    let mut parts = Vec::new();
    loop {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("a part's fields end with a blank line");
        let fields = std::str::from_utf8(&rest[..end]).expect("part fields are text");
        let (mut part_ct, mut part_cr) = (None, None);
        for line in fields.split("\r\n") {
            match line.split_once(": ") {
                Some((name, value)) if name.eq_ignore_ascii_case("content-type") => part_ct = Some(value),
                Some((name, value)) if name.eq_ignore_ascii_case("content-range") => part_cr = Some(value),
                _ => panic!("unexpected part field line {line:?}"),
            }
        }
        assert_eq!(part_ct, Some(part_type), "each part carries the file's Content-Type");
        let (first, last, complete) = content_range(part_cr.expect("each part has a Content-Range"));
        assert_eq!(complete, file_len, "complete length in a part");
        assert!(first <= last && last < file_len, "part range {first}-{last}");
        rest = &rest[end + 4..];
        let len = usize::try_from(last - first + 1).unwrap();
        assert!(rest.len() >= len, "part {first}-{last} is cut short");
        assert!(rest[..len] == disk_bytes(file, first, len)[..], "part {first}-{last} differs from the file");
        parts.push((first, last));
        rest = rest[len..]
            .strip_prefix(b"\r\n")
            .and_then(|r| r.strip_prefix(delimiter.as_bytes()))
            .expect("CRLF and a delimiter after each part's data");
        if let Some(tail) = rest.strip_prefix(b"--") {
            assert_eq!(tail, b"\r\n", "the close delimiter ends the body");
            break;
        }
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after a delimiter");
    }
    assert!(parts.windows(2).all(|w| w[0].1 < w[1].0), "parts overlap or are out of order: {parts:?}");
    parts
}

/// The IMF-fixdate of a file's modification time (RFC 9110 §5.6.7), made by
/// `date` rather than by the server's own code.
fn mtime_http_date(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let secs = fs::metadata(path).unwrap().mtime();
    let out = std::process::Command::new("date")
        .env("LC_ALL", "C")
        .args(["-u", "-d", &format!("@{secs}"), "+%a, %d %b %Y %H:%M:%S GMT"])
        .output()
        .expect("run date");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A built-in error page: HTML that names the status.
fn assert_error_page(r: &Response, status: u16, title: &str) {
    assert_eq!(r.status, status, "{title}");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"), "{title}");
    let text = r.text();
    assert!(text.starts_with("<!DOCTYPE html>") && text.contains(&format!("<h1>{status} {title}</h1>")), "{text}");
}

/// A root (`TREE/root`) with files of several kinds.
struct Site {
    tree: TempTree,
    root: PathBuf,
    /// A few MiB of noise.
    big: PathBuf,
}

fn site(name: &str) -> Site {
    let tree = TempTree::new(name);
    let root = tree.join("root");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(root.join("withindex")).unwrap();
    fs::create_dir_all(root.join("noindex")).unwrap();
    fs::write(root.join("hello.txt"), b"hello, world\n").unwrap();
    fs::write(root.join("empty.txt"), b"").unwrap();
    fs::write(root.join("withindex/index.html"), b"<h1>index</h1>\n").unwrap();
    fs::write(root.join("noindex/a.txt"), b"a\n").unwrap();
    for (name, body) in [
        ("page.html", &b"<p>page</p>"[..]),
        ("style.css", b"p{}"),
        ("app.js", b"1;"),
        ("pixel.png", b"\x89PNG\r\n\x1a\n"),
        ("logo.svg", b"<svg/>"),
        ("data.json", b"{}"),
        ("mod.wasm", b"\0asm\x01\0\0\0"),
        ("blob.xyz", b"?"),
        ("README", b"no extension"),
        ("thing.foo", b"foo"),
        ("404.html", b"<h1>custom not found</h1>"),
    ] {
        fs::write(root.join(name), body).unwrap();
    }
    let big = root.join("random.bin");
    fs::write(&big, noise(3 * 1024 * 1024 + 12_345, 5)).unwrap();
    Site { tree, root, big }
}

#[test]
fn get_and_head_of_regular_files_match_the_disk() {
    let site = site("sf-get");
    let server = Server::start(&site.root, &[]);
    for name in ["hello.txt", "empty.txt", "random.bin", "pixel.png", "withindex/index.html"] {
        let on_disk = fs::read(site.root.join(name)).unwrap();
        let r = get(&server, &format!("/{name}"), &[]);
        assert_eq!(r.status, 200, "{name}");
        assert!(r.body == on_disk, "{name}: body differs from the file ({} vs {} bytes)", r.body.len(), on_disk.len());
        assert!(r.header("etag").is_some_and(|t| t.starts_with('"')), "{name}: strong ETag");
        let modified = mtime_http_date(&site.root.join(name));
        assert_eq!(r.header("last-modified"), Some(modified.as_str()), "{name}: Last-Modified is the file's mtime");
        assert_eq!(r.header("accept-ranges"), Some("bytes"), "{name}");
        let head = send(&server, "HEAD", &format!("/{name}"), &[]);
        assert_eq!(head.status, 200, "HEAD {name}");
        assert_eq!(head.header("content-length"), Some(on_disk.len().to_string().as_str()), "HEAD {name}");
        for field in ["etag", "last-modified", "content-type", "accept-ranges"] {
            assert_eq!(head.header(field), r.header(field), "HEAD {name}: {field} as for GET");
        }
    }
    // Keep-alive: a HEAD must leave nothing on the wire before the next response.
    let mut s = server.connect();
    s.write_all(b"HEAD /random.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, true).unwrap().status, 200);
    assert_eq!(read_response(&mut s, false).unwrap().body, b"hello, world\n");
}

#[test]
fn options_answers_204_with_allow_and_other_methods_405() {
    let site = site("sf-methods");
    let server = Server::start(&site.root, &[]);
    for target in ["/hello.txt", "/", "*"] {
        let r = send(&server, "OPTIONS", target, &[]);
        assert_eq!(r.status, 204, "OPTIONS {target}");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "OPTIONS {target}");
        assert!(r.body.is_empty());
    }
    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        let r = send(&server, method, "/hello.txt", &[("Content-Length", "0")]);
        assert_error_page(&r, 405, "Method Not Allowed");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{method}");
    }
}

#[test]
fn content_type_follows_the_extension() {
    let site = site("sf-types");
    let server = Server::start(&site.root, &[]);
    for (name, want) in [
        ("page.html", "text/html; charset=utf-8"),
        ("withindex/", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("pixel.png", "image/png"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("mod.wasm", "application/wasm"),
        ("blob.xyz", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ] {
        assert_eq!(get(&server, &format!("/{name}"), &[]).header("content-type"), Some(want), "{name}");
    }
}

#[test]
fn mime_types_file_adds_and_overrides_types() {
    let site = site("sf-mimefile");
    let types = site.tree.join("mime.types");
    fs::write(&types, "# comment\napplication/x-foo   foo\nimage/x-special png  # override\n\n").unwrap();
    let server = Server::start(&site.root, &["--mime-types", types.to_str().unwrap()]);
    assert_eq!(get(&server, "/thing.foo", &[]).header("content-type"), Some("application/x-foo"));
    assert_eq!(get(&server, "/pixel.png", &[]).header("content-type"), Some("image/x-special"));
    assert_eq!(get(&server, "/style.css", &[]).header("content-type"), Some("text/css; charset=utf-8"));
}

#[test]
fn directory_without_slash_redirects_keeping_the_query() {
    let site = site("sf-redirect");
    let server = Server::start(&site.root, &[]);
    for (target, location) in
        [("/sub", "/sub/"), ("/withindex?x=1&y=%20", "/withindex/?x=1&y=%20"), ("/noindex?", "/noindex/?")]
    {
        let r = get(&server, target, &[]);
        assert_error_page(&r, 301, "Moved Permanently");
        assert_eq!(r.header("location"), Some(location), "{target}");
    }
    let index = get(&server, "/withindex/", &[]);
    assert_eq!((index.status, index.text().as_str()), (200, "<h1>index</h1>\n"));
    assert_error_page(&get(&server, "/noindex/", &[]), 403, "Forbidden");
    assert_error_page(&get(&server, "/sub/", &[]), 403, "Forbidden");
}

/// The rows of an autoindex page: (href, shown name), in page order.
fn listing_rows(page: &str) -> Vec<(String, String)> {
    page.split("<a href=\"")
        .skip(1)
        .map(|rest| {
            let (href, rest) = rest.split_once("\">").expect("href ends");
            let (name, _) = rest.split_once("</a>").expect("link text ends");
            (href.to_string(), name.to_string())
        })
        .collect()
}

#[test]
fn autoindex_lists_sorted_escaped_and_linked() {
    let tree = TempTree::new("sf-autoindex");
    let root = tree.join("root");
    let dir = root.join("files");
    for d in ["zeta", "Alpha", ".hiddendir", "with space"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    for (name, body) in [
        ("b.txt", "b"),
        ("a.txt", "a"),
        ("<b>&x\".txt", "tricky"),
        ("with space#hash.txt", "spaced"),
        (".env", "SECRET=1"),
        ("C.txt", "c"),
    ] {
        fs::write(dir.join(name), body).unwrap();
    }
    let server = Server::start(&root, &["--autoindex"]);
    let r = get(&server, "/files/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let page = r.text();
    assert!(page.contains("<title>Index of /files/</title>"), "{page}");
    let rows = listing_rows(&page);
    let want = [
        ("../", "../"),
        ("Alpha/", "Alpha/"),
        ("with%20space/", "with space/"),
        ("zeta/", "zeta/"),
        ("%3Cb%3E%26x%22.txt", "&lt;b&gt;&amp;x&quot;.txt"),
        ("a.txt", "a.txt"),
        ("b.txt", "b.txt"),
        ("C.txt", "C.txt"),
        ("with%20space%23hash.txt", "with space#hash.txt"),
    ];
    let got: Vec<(&str, &str)> = rows.iter().map(|(h, n)| (h.as_str(), n.as_str())).collect();
    assert_eq!(got, want, "directories first, then files, case-insensitive, escaped");
    assert!(!page.contains(".env") && !page.contains("hiddendir"), "dotfiles are hidden: {page}");
    // Every link leads where a browser would go.
    for (href, _) in &rows[4..] {
        let file = get(&server, &format!("/files/{href}"), &[]);
        assert_eq!(file.status, 200, "{href}");
    }
    assert_eq!(get(&server, "/files/with%20space%23hash.txt", &[]).text(), "spaced");
    assert_eq!(get(&server, "/files/%3Cb%3E%26x%22.txt", &[]).text(), "tricky");
    assert_eq!(get(&server, "/files/with%20space/", &[]).status, 200);
    assert_eq!(get(&server, "/files/.env", &[]).status, 404);
    assert!(!listing_rows(&get(&server, "/", &[]).text()).iter().any(|(h, _)| h == "../"), "no parent at the root");
}

#[test]
fn built_in_error_pages_and_custom_404() {
    let site = site("sf-errors");
    let server = Server::start(&site.root, &[]);
    assert_error_page(&get(&server, "/missing.txt", &[]), 404, "Not Found");
    assert_error_page(&get(&server, "/noindex/", &[]), 403, "Forbidden");
    assert_error_page(&send(&server, "DELETE", "/hello.txt", &[]), 405, "Method Not Allowed");
    let custom = Server::start(&site.root, &["--error-page", "404=/404.html"]);
    let r = get(&custom, "/missing.txt", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"<h1>custom not found</h1>");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let head = send(&custom, "HEAD", "/missing.txt", &[]);
    assert_eq!((head.status, head.header("content-length")), (404, Some("25")));
    assert_error_page(&get(&custom, "/noindex/", &[]), 403, "Forbidden");
    assert_eq!(get(&custom, "/404.html", &[]).status, 200, "the page itself is an ordinary file");
}

#[test]
fn cache_control_on_200_206_and_304() {
    let site = site("sf-cachecontrol");
    let server = Server::start(&site.root, &["--cache-control", "max-age=60", "--cache-control", "css=max-age=3600"]);
    for (path, want) in [("/hello.txt", "max-age=60"), ("/style.css", "max-age=3600"), ("/random.bin", "max-age=60")] {
        let full = get(&server, path, &[]);
        assert_eq!((full.status, full.header("cache-control")), (200, Some(want)), "{path}");
        let part = get(&server, path, &[("Range", "bytes=0-1")]);
        assert_eq!((part.status, part.header("cache-control")), (206, Some(want)), "{path} range");
        let etag = full.header("etag").unwrap();
        let not_modified = get(&server, path, &[("If-None-Match", etag)]);
        assert_eq!((not_modified.status, not_modified.header("cache-control")), (304, Some(want)), "{path} 304");
    }
    let plain = Server::start(&site.root, &[]);
    assert_eq!(get(&plain, "/hello.txt", &[]).header("cache-control"), None, "none unless asked");
}
