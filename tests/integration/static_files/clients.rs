//! Real clients: curl for ranges, conditionals and HEAD; headless Chromium
//! for an autoindex page as a browser renders it. Both come from
//! tests/install-deps.sh (`make test` runs it).

use std::fs;
use std::process::{Command, Output};
use std::time::Duration;

use super::*;

/// `curl --http1.1 -s -D - -o FILE ARGS URL`: the head curl printed and the
/// body it saved.
fn curl(server: &Server, path: &str, args: &[&str], body_file: &Path) -> (String, Vec<u8>) {
    let url = format!("http://{}{path}", server.addr);
    // curl leaves the file alone when there is no body (a 304): start afresh.
    let _ = fs::remove_file(body_file);
    let mut cmd = Command::new("curl");
    cmd.args(["--http1.1", "-s", "-D", "-", "-o"]).arg(body_file).args(args).arg(&url);
    let out = run_bounded(&mut cmd, Duration::from_secs(10));
    assert!(out.status.success(), "curl {args:?} {url}: {}", String::from_utf8_lossy(&out.stderr));
    let head = String::from_utf8(out.stdout).expect("curl printed a text head");
    (head, fs::read(body_file).unwrap_or_default())
}

/// A field of a head curl printed.
fn field<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().filter_map(|l| l.split_once(':')).find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

#[test]
fn curl_ranges_conditionals_and_head() {
    let site = site("sf-curl");
    let server = Server::start(&site.root, &[]);
    let out = site.tree.join("curl-body");
    let len = fs::metadata(&site.big).unwrap().len();

    let (head, body) = curl(&server, "/random.bin", &["-r", "100-199"], &out);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert_eq!(field(&head, "content-range"), Some(format!("bytes 100-199/{len}").as_str()));
    assert_eq!(body, disk_bytes(&site.big, 100, 100));

    let (head, body) = curl(&server, "/random.bin", &[], &out);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(body == fs::read(&site.big).unwrap(), "curl's download differs from the file");
    let etag = field(&head, "etag").unwrap().to_string();
    let modified = field(&head, "last-modified").unwrap().to_string();

    let (head, body) = curl(&server, "/random.bin", &["-z", &modified], &out);
    assert!(head.starts_with("HTTP/1.1 304 "), "-z sends If-Modified-Since: {head}");
    assert!(body.is_empty());
    let (head, _) = curl(&server, "/random.bin", &["-z", "Sun, 06 Nov 1994 08:49:37 GMT"], &out);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let (head, _) = curl(&server, "/random.bin", &["-H", &format!("If-None-Match: {etag}")], &out);
    assert!(head.starts_with("HTTP/1.1 304 "), "{head}");
    assert_eq!(field(&head, "etag"), Some(etag.as_str()));

    let (head, body) = curl(&server, "/random.bin", &["-I"], &out);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(field(&head, "content-length"), Some(len.to_string().as_str()));
    assert_eq!(field(&head, "accept-ranges"), Some("bytes"));
    // With -I, curl writes the head where the body would go.
    assert!(body.is_empty() || body.starts_with(b"HTTP/1.1 200 "), "no body bytes after HEAD");
    assert!(body.len() < 1024);

    let (head, body) = curl(&server, "/random.bin", &["-r", "0-9,5000-5099,-20"], &out);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    let parts = check_multipart(&body, field(&head, "content-type").unwrap(), "application/octet-stream", &site.big);
    assert_eq!(parts, [(0, 9), (5000, 5099), (len - 20, len - 1)]);
}

/// Headless Chromium on a fresh profile, with the flags that keep it off the
/// network and quiet.
fn chromium(profile: &Path, extra: &[&str], url: &str) -> Output {
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
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url);
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    assert!(out.status.success(), "chromium {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn chromium_renders_an_autoindex_page() {
    let base = TempTree::new("sf-browser");
    let dir = base.join("root/dir");
    for d in ["photos", "Documents", "src/lib"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    for (name, size) in [
        ("README.md", 1_200),
        ("notes & ideas.txt", 300),
        ("report <2024>.pdf", 250_000),
        ("song #1.mp3", 4_500_000),
        ("archive.tar.gz", 70_000_000),
        (".secret", 10),
    ] {
        fs::File::create(dir.join(name)).unwrap().set_len(size).unwrap();
    }
    let server = Server::start(&base.join("root"), &["--autoindex"]);
    let url = format!("http://{}/dir/", server.addr);

    let dom = chromium(&base.join("profile-dom"), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<title>Index of /dir/</title>"), "{dom}");
    for link in [
        "<a href=\"../\">../</a>",
        "<a href=\"Documents/\">Documents/</a>",
        "<a href=\"photos/\">photos/</a>",
        "<a href=\"src/\">src/</a>",
        "<a href=\"notes%20%26%20ideas.txt\">notes &amp; ideas.txt</a>",
        "<a href=\"report%20%3C2024%3E.pdf\">report &lt;2024&gt;.pdf</a>",
        "<a href=\"song%20%231.mp3\">song #1.mp3</a>",
        "<a href=\"README.md\">README.md</a>",
    ] {
        assert!(dom.contains(link), "{link} not in the rendered DOM:\n{dom}");
    }
    assert!(!dom.contains(".secret"), "dotfiles are not listed");
    let order: Vec<usize> = ["Documents/", "photos/", "src/", "archive.tar.gz", "notes", "README.md", "report", "song"]
        .iter()
        .map(|name| dom.find(&format!(">{name}")).unwrap_or_else(|| panic!("{name} missing")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "directories first, then files by name: {order:?}");

    let png = base.join("autoindex.png");
    let arg = format!("--screenshot={}", png.display());
    chromium(&base.join("profile-shot"), &[&arg, "--window-size=1000,700"], &url);
    let image = fs::read(&png).expect("chromium wrote the screenshot");
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let (width, height) =
        (u32::from_be_bytes(image[16..20].try_into().unwrap()), u32::from_be_bytes(image[20..24].try_into().unwrap()));
    assert_eq!((width, height), (1000, 700), "the PNG has the window's size");
    assert!(image.len() > 8_000, "a {}-byte screenshot is blank", image.len());
    // `WIRED_SCREENSHOT=path cargo test …` keeps the picture (docs/img/autoindex.png).
    if let Some(keep) = std::env::var_os("WIRED_SCREENSHOT") {
        fs::copy(&png, keep).expect("copy the screenshot");
    }
}
