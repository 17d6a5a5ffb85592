//! Tests of the static file handler against a temporary document root.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use wired_parser::values::date::{HTTP_DATE_LEN, format_http_date};
use wired_parser::{EMPTY_HEADER, HeadParser, Limits, Status};

use super::*;
use crate::config::CacheControl;
use crate::handler::file_cache::{FileCache, Resolve};
use crate::response::{FileSlice, Part};

/// A directory under the system's temporary directory, removed on drop.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> TempRoot {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("wired-static-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempRoot(path)
    }

    fn write(&self, rel: &str, contents: &[u8]) -> &TempRoot {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
        self
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

thread_local! {
    /// `Config::autoindex` of the handler this test made: a location's
    /// setting, which the route table hands to each request (`Site`).
    static AUTOINDEX: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn handler(root: &Path, tweak: impl FnOnce(&mut Config)) -> StaticFiles {
    let mut config = Config { root: root.to_path_buf(), workers: 1, ..Config::default() };
    tweak(&mut config);
    AUTOINDEX.with(|a| a.set(config.autoindex));
    StaticFiles::new(&config).unwrap()
}

fn now() -> u64 {
    unix_now()
}

fn http_date(secs: u64) -> String {
    let mut out = [0; HTTP_DATE_LEN];
    format_http_date(secs, &mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

/// A response as the tests look at it.
struct Response {
    status: u16,
    fields: String,
    body: Vec<u8>,
    reply: Reply,
}

impl Response {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(": ")?;
            n.eq_ignore_ascii_case(name).then_some(v)
        })
    }

    fn count(&self, name: &str) -> usize {
        let prefix = format!("{}: ", name.to_ascii_lowercase());
        self.fields.split("\r\n").filter(|l| l.to_ascii_lowercase().starts_with(&prefix)).count()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn read_slice(slice: &FileSlice) -> Vec<u8> {
    let mut out = vec![0; usize::try_from(slice.len).unwrap()];
    slice.file.read_exact_at(&mut out, slice.offset).unwrap();
    out
}

fn body_bytes(body: &Body) -> Vec<u8> {
    match body {
        Body::Empty => Vec::new(),
        Body::Static(b) => b.to_vec(),
        Body::Owned(b) => b.clone(),
        Body::File(f) => read_slice(f),
        Body::Parts(parts) => parts
            .iter()
            .flat_map(|p| match p {
                Part::Bytes(b) => b.clone(),
                Part::File(f) => read_slice(f),
            })
            .collect(),
    }
}

/// Send `method target` with extra header lines at time `now`.
fn request_at(sf: &mut StaticFiles, method: &str, target: &str, headers: &[(&str, &str)], now: u64) -> Response {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    let mut slots = [EMPTY_HEADER; 32];
    let Ok(Status::Complete(req)) = HeadParser::new().parse(raw.as_bytes(), &Limits::default(), &mut slots) else {
        panic!("bad test request {raw:?}");
    };
    let (raw_path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.as_bytes())),
        None => (target, None),
    };
    let mut normalized = Vec::new();
    // The parser refuses `%00`; a NUL is put in by hand to test the handler.
    let path = match raw_path.split_once("%00") {
        Some((a, b)) => {
            normalized = [a.as_bytes(), b"\0", b.as_bytes()].concat();
            &normalized[..]
        }
        None => wired_parser::target::normalize_path(raw_path.as_bytes(), &mut normalized).unwrap(),
    };
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let ctx = Ctx { req: &req, method: req.method, path, query, now, peer: addr, local: addr };
    let mut fields = Fields::new();
    let site = Site { root: 0, path, autoindex: AUTOINDEX.with(|a| a.get()) };
    let reply = sf.handle(&ctx, site, &mut fields);
    Response {
        status: reply.status,
        fields: String::from_utf8(fields.as_bytes().to_vec()).unwrap(),
        // The 5 GiB test file is not read into memory.
        body: if reply.body.len() < 1 << 24 { body_bytes(&reply.body) } else { Vec::new() },
        reply,
    }
}

fn get(sf: &mut StaticFiles, target: &str, headers: &[(&str, &str)]) -> Response {
    request_at(sf, "GET", target, headers, now())
}

#[test]
fn get_and_head_of_a_file() {
    let root = TempRoot::new();
    root.write("hello.txt", b"hello, world\n");
    let mut sf = handler(&root.0, |_| {});
    let r = get(&mut sf, "/hello.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello, world\n");
    assert_eq!(r.field("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.field("Accept-Ranges"), Some("bytes"));
    let meta = fs::metadata(root.path("hello.txt")).unwrap();
    let modified = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap();
    let (mtime, nanos) = (modified.as_secs(), modified.subsec_nanos());
    let etag = if nanos == 0 { format!("\"{mtime:x}-d\"") } else { format!("\"{mtime:x}.{nanos:x}-d\"") };
    assert_eq!(r.field("ETag"), Some(etag.as_str()));
    assert_eq!(r.field("Last-Modified"), Some(http_date(mtime).as_str()));
    assert!(r.field("Vary").is_none());
    for name in ["Date", "Server", "Content-Length", "Connection", "Transfer-Encoding"] {
        assert_eq!(r.count(name), 0, "{name} is the core's");
    }
    let head = request_at(&mut sf, "HEAD", "/hello.txt", &[], now());
    assert_eq!((head.status, head.reply.body.len()), (200, 13));
    assert_eq!(head.fields, r.fields);
}

#[test]
fn options_and_other_methods() {
    let root = TempRoot::new();
    root.write("a.txt", b"a");
    let mut sf = handler(&root.0, |_| {});
    let r = request_at(&mut sf, "OPTIONS", "/a.txt", &[], now());
    assert_eq!((r.status, r.field("Allow")), (204, Some("GET, HEAD, OPTIONS")));
    assert!(r.body.is_empty());
    for method in ["POST", "PUT", "DELETE", "PATCH", "BREW"] {
        let r = request_at(&mut sf, method, "/a.txt", &[], now());
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.field("Allow"), Some("GET, HEAD, OPTIONS"));
        assert!(r.text().contains("<h1>405 Method Not Allowed</h1>"));
    }
}

#[test]
fn missing_files_and_built_in_error_page() {
    let root = TempRoot::new();
    root.write("file.txt", b"x");
    let mut sf = handler(&root.0, |_| {});
    for target in ["/nope", "/no/such/dir/", "/file.txt/", "/file.txt/x", "/a%00b"] {
        let r = get(&mut sf, target, &[]);
        assert_eq!(r.status, 404, "{target}");
        assert_eq!(r.field("Content-Type"), Some("text/html; charset=utf-8"));
        assert!(r.text().contains("<h1>404 Not Found</h1>"), "{}", r.text());
        assert!(r.text().contains("wired"));
    }
    let long = format!("/{}", "a".repeat(5000));
    assert_eq!(get(&mut sf, &long, &[]).status, 404);
    let mut fields = Fields::new();
    let odd = sf.error_reply(418, &mut fields);
    assert!(String::from_utf8(body_bytes(&odd.body)).unwrap().contains("<h1>418 "));
}

#[test]
fn dotfiles_are_hidden_except_well_known() {
    let root = TempRoot::new();
    root.write(".env", b"SECRET=1")
        .write("a/.git/config", b"x")
        .write(".well-known/acme-challenge/token", b"tok")
        .write(".well-known/.hidden", b"h")
        .write("a/b.txt", b"b");
    let mut sf = handler(&root.0, |c| c.autoindex = true);
    for target in ["/.env", "/a/.git/config", "/a/.git/", "/.well-known/.hidden", "/.wellknown"] {
        assert_eq!(get(&mut sf, target, &[]).status, 404, "{target}");
    }
    let r = get(&mut sf, "/.well-known/acme-challenge/token", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"tok"[..]));
    let listing = get(&mut sf, "/a/", &[]);
    assert_eq!(listing.status, 200);
    assert!(!listing.text().contains(".git"), "{}", listing.text());
    assert!(is_hidden(b"/x/.y"));
    assert!(!is_hidden(b"/x/y.z/w"));
    assert!(!is_hidden(b"/.well-known"));
}

#[test]
fn directories_redirect_index_and_refuse() {
    let root = TempRoot::new();
    root.write("index.html", b"<p>root</p>")
        .write("docs/index.html", b"<p>docs</p>")
        .write("my dir/x.txt", b"x")
        .write("empty/x.txt", b"x");
    let mut sf = handler(&root.0, |_| {});
    let r = get(&mut sf, "/docs", &[]);
    assert_eq!((r.status, r.field("Location")), (301, Some("/docs/")));
    assert!(r.text().contains("301 Moved Permanently"));
    let r = get(&mut sf, "/docs?lang=en&x=%20", &[]);
    assert_eq!(r.field("Location"), Some("/docs/?lang=en&x=%20"));
    let r = get(&mut sf, "/my%20dir", &[]);
    assert_eq!(r.field("Location"), Some("/my%20dir/"));
    let r = get(&mut sf, "/docs/", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"<p>docs</p>"[..]));
    assert_eq!(r.field("Content-Type"), Some("text/html; charset=utf-8"));
    let r = get(&mut sf, "/", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"<p>root</p>"[..]));
    assert_eq!(get(&mut sf, "/empty/", &[]).status, 403);
    assert_eq!(get(&mut sf, "/gone/", &[]).status, 404);
}

#[test]
fn autoindex_lists_sorted_escaped_and_linked() {
    let root = TempRoot::new();
    root.write("d/b.txt", b"12345")
        .write("d/A <&> \"q\".txt", b"")
        .write("d/zdir/x", b"")
        .write("d/adir/x", b"")
        .write("d/.secret", b"");
    fs::create_dir(root.path("d/index.html")).unwrap();
    let mut sf = handler(&root.0, |c| c.autoindex = true);
    let r = get(&mut sf, "/d/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.field("Content-Type"), Some("text/html; charset=utf-8"));
    let page = r.text();
    assert!(page.contains("<title>Index of /d/</title>"));
    let order: Vec<usize> =
        ["href=\"../\"", "adir/", "index.html/", "zdir/", "A &lt;&amp;&gt; &quot;q&quot;.txt", "b.txt"]
            .iter()
            .map(|needle| page.find(needle).unwrap_or_else(|| panic!("{needle} in {page}")))
            .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{page}");
    assert!(page.contains("href=\"A%20%3C%26%3E%20%22q%22.txt\""), "{page}");
    assert!(page.contains("title=\"5 bytes\">5 B"));
    assert!(!page.contains("secret"));
    assert!(page.contains("<style>"));
}

#[test]
fn symlinks_inside_followed_outside_refused() {
    let outside = TempRoot::new();
    outside.write("secret.txt", b"secret");
    let root = TempRoot::new();
    root.write("real/file.txt", b"inside");
    std::os::unix::fs::symlink("real/file.txt", root.path("link.txt")).unwrap();
    std::os::unix::fs::symlink("real", root.path("linkdir")).unwrap();
    std::os::unix::fs::symlink(outside.path("secret.txt"), root.path("abs.txt")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../../..", root.path("up")).unwrap();

    let mut sf = handler(&root.0, |_| {});
    let beneath = sf.roots[0].resolve() == Resolve::Beneath;
    if beneath {
        assert_eq!(get(&mut sf, "/link.txt", &[]).body, b"inside");
        assert_eq!(get(&mut sf, "/linkdir/file.txt", &[]).body, b"inside");
    }
    assert_eq!(get(&mut sf, "/abs.txt", &[]).status, 403);
    let up = format!("/up{}", outside.path("secret.txt").display());
    assert!(matches!(get(&mut sf, &up, &[]).status, 403 | 404));

    let mut follow = handler(&root.0, |c| c.follow_symlinks = true);
    assert_eq!(get(&mut follow, "/abs.txt", &[]).body, b"secret");
    assert_eq!(get(&mut follow, "/link.txt", &[]).body, b"inside");
}

#[test]
fn fallback_walk_refuses_every_symlink() {
    let root = TempRoot::new();
    root.write("a/b/c.txt", b"deep").write("index.html", b"i");
    std::os::unix::fs::symlink("a/b/c.txt", root.path("link.txt")).unwrap();
    std::os::unix::fs::symlink("a", root.path("linkdir")).unwrap();
    let mut sf = handler(&root.0, |c| c.autoindex = true);
    sf.roots[0].set_resolve(Resolve::Walk);
    assert_eq!(get(&mut sf, "/a/b/c.txt", &[]).body, b"deep");
    assert_eq!(get(&mut sf, "/", &[]).body, b"i");
    assert_eq!(get(&mut sf, "/a/b/", &[]).status, 200);
    assert_eq!(get(&mut sf, "/a", &[]).status, 301);
    assert_eq!(get(&mut sf, "/link.txt", &[]).status, 403);
    assert!(matches!(get(&mut sf, "/linkdir/b/c.txt", &[]).status, 403 | 404));
    assert_eq!(get(&mut sf, "/a/nope", &[]).status, 404);
}

#[test]
fn only_regular_files_are_opened() {
    let root = TempRoot::new();
    let fifo = root.path("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let socket = std::os::unix::net::UnixListener::bind(root.path("sock")).unwrap();
    let mut sf = handler(&root.0, |_| {});
    if made.is_ok_and(|s| s.success()) {
        // Would block forever if the FIFO were opened without O_NONBLOCK.
        assert_eq!(get(&mut sf, "/fifo", &[]).status, 403);
    }
    assert_eq!(get(&mut sf, "/sock", &[]).status, 403);
    drop(socket);
    let mut devices = handler(Path::new("/dev"), |_| {});
    let r = get(&mut devices, "/null", &[]);
    assert_eq!(r.status, 403, "{}", r.text());
}

#[test]
fn unreadable_directory_and_file_are_forbidden() {
    use std::os::unix::fs::PermissionsExt;
    let root = TempRoot::new();
    root.write("locked/x.txt", b"x").write("private.txt", b"p");
    fs::set_permissions(root.path("locked"), fs::Permissions::from_mode(0o300)).unwrap();
    fs::set_permissions(root.path("private.txt"), fs::Permissions::from_mode(0o000)).unwrap();
    // Root (CAP_DAC_OVERRIDE) reads anything; only check where it counts.
    let privileged = fs::read_dir(root.path("locked")).is_ok();
    let mut sf = handler(&root.0, |c| c.autoindex = true);
    if !privileged {
        assert_eq!(get(&mut sf, "/locked/", &[]).status, 403);
        assert_eq!(get(&mut sf, "/private.txt", &[]).status, 403);
    }
    fs::set_permissions(root.path("locked"), fs::Permissions::from_mode(0o700)).unwrap();
    let errno = |n| io::Error::from_raw_os_error(n);
    assert_eq!(io_status(&errno(libc::EACCES), b"/"), 403);
    assert_eq!(io_status(&errno(libc::EXDEV), b"/"), 403);
    assert_eq!(io_status(&errno(libc::ELOOP), b"/"), 403);
    assert_eq!(io_status(&errno(libc::ENOENT), b"/"), 404);
    assert_eq!(io_status(&errno(libc::ENOTDIR), b"/"), 404);
    assert_eq!(io_status(&errno(libc::EMFILE), b"/"), 503);
    assert_eq!(io_status(&errno(libc::EIO), b"/"), 500);
}

#[test]
fn content_types_and_overrides() {
    let root = TempRoot::new();
    for name in ["a.css", "a.js", "a.json", "a.svg", "a.png", "a.bin2", "Makefile", "a.thing"] {
        root.write(name, b"x");
    }
    let mut sf = handler(&root.0, |c| {
        c.mime_types = vec![("thing".into(), "application/x-thing".into()), ("PNG".into(), "image/x-png".into())];
    });
    let cases = [
        ("/a.css", "text/css; charset=utf-8"),
        ("/a.js", "text/javascript; charset=utf-8"),
        ("/a.json", "application/json; charset=utf-8"),
        ("/a.svg", "image/svg+xml; charset=utf-8"),
        ("/a.png", "image/x-png"),
        ("/a.bin2", "application/octet-stream"),
        ("/Makefile", "application/octet-stream"),
        ("/a.thing", "application/x-thing"),
    ];
    for (target, want) in cases {
        assert_eq!(get(&mut sf, target, &[]).field("Content-Type"), Some(want), "{target}");
    }
}

#[test]
fn preconditions_304_and_412() {
    let root = TempRoot::new();
    root.write("p.css", b"body{}");
    let mut sf = handler(&root.0, |c| {
        c.cache_control = vec![CacheControl { extension: None, value: "max-age=60".into() }];
    });
    let first = get(&mut sf, "/p.css", &[]);
    let etag = first.field("ETag").unwrap().to_string();
    let modified = first.field("Last-Modified").unwrap().to_string();
    let weak = format!("W/{etag}");
    let not_modified = [
        vec![("If-None-Match", etag.as_str())],
        vec![("If-None-Match", weak.as_str())],
        vec![("If-None-Match", "*")],
        vec![("If-Modified-Since", modified.as_str())],
    ];
    for headers in &not_modified {
        let r = get(&mut sf, "/p.css", headers);
        assert_eq!(r.status, 304, "{headers:?}");
        assert!(r.body.is_empty());
        assert_eq!(r.field("ETag"), Some(etag.as_str()));
        assert_eq!(r.field("Last-Modified"), Some(modified.as_str()));
        assert_eq!(r.field("Cache-Control"), Some("max-age=60"));
        assert!(r.field("Content-Type").is_none(), "{}", r.fields);
        assert!(r.field("Accept-Ranges").is_none());
    }
    let head = request_at(&mut sf, "HEAD", "/p.css", &[("If-None-Match", &etag)], now());
    assert_eq!(head.status, 304);
    let earlier = http_date(now() - 3600 * 24 * 365 * 30);
    let failed = [
        vec![("If-Match", weak.as_str())],
        vec![("If-Match", "\"other\"")],
        vec![("If-Unmodified-Since", earlier.as_str())],
        vec![("If-Match", "\"nope\""), ("If-None-Match", etag.as_str())],
    ];
    for headers in &failed {
        let r = get(&mut sf, "/p.css", headers);
        assert_eq!(r.status, 412, "{headers:?}");
        assert!(r.text().contains("412 Precondition Failed"));
    }
    let ok = [
        vec![("If-Match", etag.as_str())],
        vec![("If-Match", "*")],
        vec![("If-Modified-Since", earlier.as_str())],
        vec![("If-None-Match", "\"other\""), ("If-Modified-Since", modified.as_str())],
        vec![("If-Modified-Since", "garbage")],
    ];
    for headers in &ok {
        assert_eq!(get(&mut sf, "/p.css", headers).status, 200, "{headers:?}");
    }
}

#[test]
fn single_multiple_and_unsatisfiable_ranges() {
    let root = TempRoot::new();
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    root.write("data.txt", &data);
    let mut sf = handler(&root.0, |_| {});
    let r = get(&mut sf, "/data.txt", &[("Range", "bytes=10-19")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.field("Content-Range"), Some("bytes 10-19/1000"));
    assert_eq!(r.body, &data[10..20]);
    assert_eq!(r.field("Content-Type"), Some("text/plain; charset=utf-8"));
    let r = get(&mut sf, "/data.txt", &[("Range", "bytes=-5")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &data[995..]));

    let r = get(&mut sf, "/data.txt", &[("Range", "bytes=0-4, 500-509")]);
    assert_eq!(r.status, 206);
    assert!(r.field("Content-Range").is_none());
    assert_eq!(r.count("Content-Type"), 1);
    let content_type = r.field("Content-Type").unwrap();
    let boundary = content_type.strip_prefix("multipart/byteranges; boundary=").unwrap();
    assert_eq!(boundary.len(), 20);
    let mut want = Vec::new();
    for (start, end) in [(0, 4), (500, 509)] {
        if start > 0 {
            want.extend_from_slice(b"\r\n");
        }
        want.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes {start}-{end}/1000\r\n\r\n")
                .as_bytes(),
        );
        want.extend_from_slice(&data[start..=end]);
    }
    want.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert_eq!(r.body, want);
    assert_eq!(r.reply.body.len(), want.len() as u64);
    let again = get(&mut sf, "/data.txt", &[("Range", "bytes=0-4, 500-509")]);
    assert_ne!(again.field("Content-Type"), Some(content_type), "boundaries differ");

    let r = get(&mut sf, "/data.txt", &[("Range", "bytes=1000-")]);
    assert_eq!((r.status, r.field("Content-Range")), (416, Some("bytes */1000")));
    assert!(r.text().contains("416 Range Not Satisfiable"));

    // Ignored: HEAD, a bad unit, a stale If-Range.
    let r = request_at(&mut sf, "HEAD", "/data.txt", &[("Range", "bytes=0-1")], now());
    assert_eq!((r.status, r.reply.body.len()), (200, 1000));
    assert_eq!(get(&mut sf, "/data.txt", &[("Range", "lines=0-1")]).status, 200);
    let etag = r.field("ETag").unwrap().to_string();
    let modified = r.field("Last-Modified").unwrap().to_string();
    let r = get(&mut sf, "/data.txt", &[("Range", "bytes=0-1"), ("If-Range", "\"stale\"")]);
    assert_eq!((r.status, r.body.len()), (200, 1000));
    let r = get(&mut sf, "/data.txt", &[("Range", "bytes=0-1"), ("If-Range", &etag)]);
    assert_eq!((r.status, r.body.as_slice()), (206, &data[..2]));
    let r = get(&mut sf, "/data.txt", &[("Range", "bytes=0-1"), ("If-Range", &modified)]);
    assert_eq!(r.status, 206);
}

#[test]
fn empty_file() {
    let root = TempRoot::new();
    root.write("empty.txt", b"");
    let mut sf = handler(&root.0, |_| {});
    let r = get(&mut sf, "/empty.txt", &[]);
    assert_eq!(r.status, 200);
    assert!(matches!(r.reply.body, Body::Empty));
    assert_eq!(get(&mut sf, "/empty.txt", &[("Range", "bytes=0-")]).status, 416);
}

#[test]
fn files_over_4_gib_use_64_bit_offsets() {
    let root = TempRoot::new();
    let size: u64 = 5 << 30;
    let file = fs::File::create(root.path("big.bin")).unwrap();
    // Sparse: no disk space is used for the hole.
    file.set_len(size).unwrap();
    file.write_all_at(b"tail", size - 4).unwrap();
    drop(file);
    let mut sf = handler(&root.0, |_| {});
    let r = request_at(&mut sf, "HEAD", "/big.bin", &[], now());
    assert_eq!(r.reply.body.len(), size);
    assert!(r.field("ETag").unwrap().ends_with("-140000000\""));
    let r = get(&mut sf, "/big.bin", &[("Range", "bytes=-4")]);
    assert_eq!(r.field("Content-Range"), Some("bytes 5368709116-5368709119/5368709120"));
    assert_eq!(r.body, b"tail");
    let Body::File(slice) = &r.reply.body else { panic!("{:?}", r.reply.body) };
    assert_eq!((slice.offset, slice.len), (size - 4, 4));
}

#[test]
fn precompressed_siblings() {
    let root = TempRoot::new();
    root.write("app.js", b"plain javascript")
        .write("app.js.gz", b"GZ")
        .write("app.js.br", b"BR!")
        .write("solo.css", b"x")
        .write("dir.js", b"d");
    fs::create_dir(root.path("dir.js.br")).unwrap();
    let mut sf = handler(&root.0, |_| {});
    let plain = get(&mut sf, "/app.js", &[]);
    assert_eq!(plain.body, b"plain javascript");
    assert_eq!(plain.field("Vary"), Some("Accept-Encoding"));
    assert!(plain.field("Content-Encoding").is_none());

    let cases = [
        ("gzip", &b"GZ"[..], Some("gzip")),
        ("gzip, deflate, br, zstd", b"BR!", Some("br")),
        ("br;q=0.5, gzip", b"GZ", Some("gzip")),
        ("zstd", b"plain javascript", None),
        ("gzip;q=0, br;q=0", b"plain javascript", None),
        ("identity", b"plain javascript", None),
        ("*", b"BR!", Some("br")),
    ];
    for (accept, body, coding) in cases {
        let r = get(&mut sf, "/app.js", &[("Accept-Encoding", accept)]);
        assert_eq!((r.status, r.body.as_slice()), (200, body), "{accept}");
        assert_eq!(r.field("Content-Encoding"), coding, "{accept}");
        assert_eq!(r.field("Vary"), Some("Accept-Encoding"));
        assert_eq!(r.field("Content-Type"), Some("text/javascript; charset=utf-8"));
        let etag = r.field("ETag").unwrap();
        match coding {
            Some(c) => assert!(etag.ends_with(&format!("-{c}\"")), "{etag}"),
            None => assert_eq!(etag, plain.field("ETag").unwrap()),
        }
    }
    // Ranges and validators refer to the coded bytes.
    let br = get(&mut sf, "/app.js", &[("Accept-Encoding", "br")]);
    let r = get(&mut sf, "/app.js", &[("Accept-Encoding", "br"), ("Range", "bytes=1-")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &b"R!"[..]));
    assert_eq!(r.field("Content-Range"), Some("bytes 1-2/3"));
    let etag = br.field("ETag").unwrap();
    let r = get(&mut sf, "/app.js", &[("Accept-Encoding", "br"), ("If-None-Match", etag)]);
    assert_eq!((r.status, r.field("Vary")), (304, Some("Accept-Encoding")));
    assert_eq!(get(&mut sf, "/app.js", &[("If-None-Match", etag)]).status, 200);

    let solo = get(&mut sf, "/solo.css", &[("Accept-Encoding", "gzip, br")]);
    assert!(solo.field("Vary").is_none() && solo.field("Content-Encoding").is_none());
    let dir = get(&mut sf, "/dir.js", &[("Accept-Encoding", "br")]);
    assert_eq!(dir.body, b"d");
}

#[test]
fn custom_error_pages() {
    let root = TempRoot::new();
    root.write("errors/404.html", b"<p>custom missing</p>").write("x.txt", b"x");
    let mut sf = handler(&root.0, |c| {
        c.error_pages = vec![(404, "/errors/404.html".into()), (403, "/errors/none.html".into())];
        c.cache_control = vec![CacheControl { extension: None, value: "max-age=1".into() }];
    });
    let r = get(&mut sf, "/missing", &[]);
    assert_eq!((r.status, r.body.as_slice()), (404, &b"<p>custom missing</p>"[..]));
    assert_eq!(r.field("Content-Type"), Some("text/html; charset=utf-8"));
    assert!(r.field("ETag").is_none() && r.field("Cache-Control").is_none());
    let mut fields = Fields::new();
    let r = sf.error_reply(403, &mut fields);
    assert_eq!(r.status, 403);
    assert!(String::from_utf8(body_bytes(&r.body)).unwrap().contains("<h1>403 Forbidden</h1>"));
}

#[test]
fn cache_control_rules() {
    let root = TempRoot::new();
    root.write("a.css", b"c").write("a.CSS2", b"c").write("a.html", b"h");
    let mut sf = handler(&root.0, |c| {
        c.cache_control = vec![
            CacheControl { extension: None, value: "no-cache".into() },
            CacheControl { extension: Some("css".into()), value: "max-age=31536000, immutable".into() },
            CacheControl { extension: Some("bad".into()), value: "a\r\nX-Injected: 1".into() },
        ];
    });
    assert_eq!(get(&mut sf, "/a.css", &[]).field("Cache-Control"), Some("max-age=31536000, immutable"));
    assert_eq!(get(&mut sf, "/a.html", &[]).field("Cache-Control"), Some("no-cache"));
    let r = get(&mut sf, "/a.CSS2", &[("Range", "bytes=0-0")]);
    assert_eq!((r.status, r.field("Cache-Control")), (206, Some("no-cache")));
    let mut plain = handler(&root.0, |_| {});
    assert!(get(&mut plain, "/a.css", &[]).field("Cache-Control").is_none());
}

#[test]
fn cache_serves_hot_files_and_notices_changes_within_a_second() {
    let root = TempRoot::new();
    root.write("f.txt", b"version one");
    let mut sf = handler(&root.0, |_| {});
    let t = now();
    let first = request_at(&mut sf, "GET", "/f.txt", &[], t);
    assert_eq!(first.body, b"version one");

    // Replaced by rename: the old entry is kept for the rest of the second.
    root.write("f.tmp", b"version two, longer");
    fs::rename(root.path("f.tmp"), root.path("f.txt")).unwrap();
    assert_eq!(request_at(&mut sf, "GET", "/f.txt", &[], t).body, b"version one");
    let second = request_at(&mut sf, "GET", "/f.txt", &[], t + 1);
    assert_eq!(second.body, b"version two, longer");
    assert_ne!(first.field("ETag"), second.field("ETag"));
    // The first response's file stays readable: it holds its own Rc.
    assert_eq!(body_bytes(&first.reply.body), b"version one");

    // Modified in place.
    fs::write(root.path("f.txt"), b"v3").unwrap();
    assert_eq!(request_at(&mut sf, "GET", "/f.txt", &[], t + 2).body, b"v3");
    // Deleted.
    fs::remove_file(root.path("f.txt")).unwrap();
    assert_eq!(request_at(&mut sf, "GET", "/f.txt", &[], t + 2).status, 200);
    assert_eq!(request_at(&mut sf, "GET", "/f.txt", &[], t + 3).status, 404);
    assert_eq!(sf.cache.entries(), 0);
    // A sibling appearing later is found at revalidation.
    root.write("g.js", b"g");
    assert!(request_at(&mut sf, "GET", "/g.js", &[], t + 3).field("Vary").is_none());
    root.write("g.js.gz", b"gz");
    let r = request_at(&mut sf, "GET", "/g.js", &[("Accept-Encoding", "gzip")], t + 4);
    assert_eq!(r.body, b"gz");
}

#[test]
fn etag_changes_when_same_length_content_changes_within_one_second() {
    use std::time::{Duration, UNIX_EPOCH};
    let root = TempRoot::new();
    let second = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let write_at = |contents: &[u8], nanos: u64| {
        fs::write(root.path("f.txt"), contents).unwrap();
        let file = fs::File::options().write(true).open(root.path("f.txt")).unwrap();
        file.set_modified(second + Duration::from_nanos(nanos)).unwrap();
    };
    write_at(b"aaaa", 200_000_000);
    let mut sf = handler(&root.0, |_| {});
    let t = now();
    let first = request_at(&mut sf, "GET", "/f.txt", &[], t);
    let old = first.field("ETag").unwrap().to_string();
    write_at(b"bbbb", 700_000_000);
    let r = request_at(&mut sf, "GET", "/f.txt", &[("If-None-Match", &old)], t + 1);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"bbbb"[..]), "the old tag must not match the new bytes");
    assert_ne!(r.field("ETag"), Some(old.as_str()));
    assert_eq!(r.field("Last-Modified"), first.field("Last-Modified"), "HTTP dates have whole seconds");
}

#[test]
fn cache_is_bounded_and_eviction_keeps_in_flight_files() {
    let root = TempRoot::new();
    for i in 0..10 {
        root.write(&format!("{i}.txt"), format!("file {i}").as_bytes());
    }
    root.write("0.txt.gz", b"zipped");
    let mut sf = handler(&root.0, |_| {});
    sf.cache = FileCache::new(3, 100);
    let t = now();
    let held = request_at(&mut sf, "GET", "/0.txt", &[], t);
    for round in 0..3 {
        for i in 0..10 {
            let r = request_at(&mut sf, "GET", &format!("/{i}.txt"), &[], t);
            assert_eq!(r.body, format!("file {i}").as_bytes(), "round {round}");
            assert!(sf.cache.entries() <= 3);
        }
    }
    assert_eq!(body_bytes(&held.reply.body), b"file 0");
    // The fd budget counts siblings too.
    sf.cache = FileCache::new(100, 4);
    for i in 0..10 {
        request_at(&mut sf, "GET", &format!("/{i}.txt"), &[], t);
        assert!(sf.cache.open_fds() <= 4, "{}", sf.cache.open_fds());
    }
}

#[test]
fn boundaries_are_letters_and_digits_and_vary() {
    let mut state = 42;
    let a = next_boundary(&mut state);
    let b = next_boundary(&mut state);
    assert_ne!(a, b);
    assert!(a.iter().all(u8::is_ascii_alphanumeric));
}

#[test]
fn rel_paths() {
    let mut buf = Vec::new();
    assert_eq!(rel_path(&mut buf, b"/", false), Some(c"."));
    assert_eq!(rel_path(&mut buf, b"/", true), Some(c"index.html"));
    assert_eq!(rel_path(&mut buf, b"/a/b/", true), Some(c"a/b/index.html"));
    assert_eq!(rel_path(&mut buf, b"/a/b", false), Some(c"a/b"));
    assert_eq!(rel_path(&mut buf, b"/a\0b", false), None);
    assert_eq!(rel_path(&mut buf, b"a", false), None);
}

#[test]
fn small_files_are_held_in_memory_within_the_budget() {
    use crate::handler::file_cache::{MEMORY_BUDGET, MEMORY_MAX};
    let root = TempRoot::new();
    let max = MEMORY_MAX as usize;
    root.write("edge.bin", &vec![b'e'; max]);
    root.write("over.bin", &vec![b'o'; max + 1]);
    let mut sf = handler(&root.0, |_| {});
    let t = now();
    let held = |r: &Response| matches!(&r.reply.body, Body::File(f) if f.memory.is_some());
    let edge = request_at(&mut sf, "GET", "/edge.bin", &[], t);
    assert!(held(&edge), "a {max}-byte file is held in memory");
    assert_eq!(edge.body.len(), max);
    let over = request_at(&mut sf, "GET", "/over.bin", &[], t);
    assert!(!held(&over), "a larger one is sent from the file");
    assert_eq!(sf.cache.memory_bytes(), MEMORY_MAX);

    // More small files than the budget holds: the rest are served from
    // their files, every body is right, and the total stays in the budget.
    let count = (MEMORY_BUDGET / MEMORY_MAX) as usize + 8;
    for i in 0..count {
        root.write(&format!("{i}.bin"), &vec![i as u8; max]);
    }
    let mut from_file = 0;
    for i in 0..count {
        let r = request_at(&mut sf, "GET", &format!("/{i}.bin"), &[], t);
        assert!(r.body.len() == max && r.body.iter().all(|&b| b == i as u8), "file {i}");
        from_file += usize::from(!held(&r));
        assert!(sf.cache.memory_bytes() <= MEMORY_BUDGET, "{} bytes held", sf.cache.memory_bytes());
    }
    assert!(from_file >= 8, "only {from_file} files past the budget were left on disk");

    // A changed file is read again; an unchanged one keeps its copy.
    root.write("edge.bin", &vec![b'E'; max]);
    let changed = request_at(&mut sf, "GET", "/edge.bin", &[], t + 2);
    assert!(changed.body.iter().all(|&b| b == b'E'));
    assert!(sf.cache.memory_bytes() <= MEMORY_BUDGET);
}
