//! Validators and conditional requests (RFC 9110 §8.8, §13), byte ranges
//! (RFC 9110 §14) and precompressed siblings.

use std::fs;

use super::*;

/// Long ago: before any file of the test was written.
const PAST: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
/// Far ahead: after any file of the test was written.
const FUTURE: &str = "Fri, 01 Jan 2100 00:00:00 GMT";

/// The file's ETag and Last-Modified, from a plain GET.
fn validators(server: &Server, path: &str) -> (String, String) {
    let r = get(server, path, &[]);
    assert_eq!(r.status, 200, "{path}");
    (r.header("etag").expect("ETag").to_string(), r.header("last-modified").expect("Last-Modified").to_string())
}

#[test]
fn conditional_requests_follow_rfc_9110() {
    let site = site("sf-conditional");
    let server = Server::start(&site.root, &[]);
    let (etag, modified) = validators(&server, "/hello.txt");
    let weak = format!("W/{etag}");
    let list = format!("\"nope\", {etag}, \"other\"");
    let stale = "\"0-0\"";
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case<'_>> = vec![
        // If-None-Match: weak comparison, lists, `*` (RFC 9110 §13.1.2).
        ("GET", vec![("If-None-Match", &etag)], 304),
        ("GET", vec![("If-None-Match", &weak)], 304),
        ("GET", vec![("If-None-Match", &list)], 304),
        ("GET", vec![("If-None-Match", "*")], 304),
        ("HEAD", vec![("If-None-Match", &etag)], 304),
        ("GET", vec![("If-None-Match", stale)], 200),
        // If-Modified-Since (RFC 9110 §13.1.3).
        ("GET", vec![("If-Modified-Since", &modified)], 304),
        ("GET", vec![("If-Modified-Since", FUTURE)], 304),
        ("GET", vec![("If-Modified-Since", PAST)], 200),
        ("GET", vec![("If-Modified-Since", "not a date")], 200),
        // If-Match: strong comparison (RFC 9110 §13.1.1).
        ("GET", vec![("If-Match", &etag)], 200),
        ("GET", vec![("If-Match", "*")], 200),
        ("GET", vec![("If-Match", stale)], 412),
        ("GET", vec![("If-Match", &weak)], 412),
        // If-Unmodified-Since (RFC 9110 §13.1.4).
        ("GET", vec![("If-Unmodified-Since", PAST)], 412),
        ("GET", vec![("If-Unmodified-Since", &modified)], 200),
        // Precedence (RFC 9110 §13.2.2): If-Modified-Since is ignored when
        // If-None-Match is present, If-Unmodified-Since when If-Match is.
        ("GET", vec![("If-None-Match", stale), ("If-Modified-Since", &modified)], 200),
        ("GET", vec![("If-None-Match", &etag), ("If-Modified-Since", PAST)], 304),
        ("GET", vec![("If-Match", &etag), ("If-Unmodified-Since", PAST)], 200),
        ("GET", vec![("If-Match", stale), ("If-None-Match", &etag)], 412),
        ("GET", vec![("If-Unmodified-Since", PAST), ("If-None-Match", &etag)], 412),
    ];
    for (method, fields, want) in cases {
        let r = send(&server, method, "/hello.txt", &fields);
        assert_eq!(r.status, want, "{method} {fields:?}");
        match want {
            304 => {
                assert_eq!(r.header("etag"), Some(etag.as_str()), "a 304 carries the ETag: {fields:?}");
                assert_eq!(r.header("last-modified"), Some(modified.as_str()), "{fields:?}");
                assert!(r.body.is_empty() && r.header("content-type").is_none(), "{fields:?}");
            }
            200 if method == "GET" => assert_eq!(r.body, b"hello, world\n", "{fields:?}"),
            412 => assert_error_page(&r, 412, "Precondition Failed"),
            _ => {}
        }
    }
    // A 304 on a kept-alive connection leaves nothing behind it.
    let mut s = server.connect();
    let request = format!("GET /hello.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n");
    s.write_all(format!("{request}GET /empty.txt HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 304);
    let next = read_response(&mut s, false).unwrap();
    assert_eq!((next.status, next.header("content-length")), (200, Some("0")));
}

#[test]
fn single_suffix_and_open_ranges_are_exact() {
    let site = site("sf-ranges");
    let server = Server::start(&site.root, &[]);
    let len = fs::metadata(&site.big).unwrap().len();
    let (etag, _) = validators(&server, "/random.bin");
    for (range, first, last) in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1000", 1000, 1000),
        ("bytes=-500", len - 500, len - 1),
        ("bytes=3000000-", 3_000_000, len - 1),
        ("bytes=100-99999999999", 100, len - 1),
        ("bytes=0-", 0, len - 1),
        ("bytes=-99999999999", 0, len - 1),
        ("bytes=0-0,10-20", 0, 20),
    ] {
        let r = get(&server, "/random.bin", &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.header("content-range"), Some(format!("bytes {first}-{last}/{len}").as_str()), "{range}");
        assert_eq!(r.header("content-type"), Some("application/octet-stream"), "{range}");
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{range}");
        let want = disk_bytes(&site.big, first, usize::try_from(last - first + 1).unwrap());
        assert!(r.body == want, "{range}: bytes differ from the file");
    }
}

#[test]
fn multiple_ranges_are_strict_multipart() {
    let site = site("sf-multirange");
    let server = Server::start(&site.root, &[]);
    let len = fs::metadata(&site.big).unwrap().len();
    for (range, want) in [
        ("bytes=0-9,1000-1999,-16", vec![(0, 9), (1000, 1999), (len - 16, len - 1)]),
        ("bytes=2000000-,0-0", vec![(0, 0), (2_000_000, len - 1)]),
        ("bytes=500-600,0-99,550-700", vec![(0, 99), (500, 700)]),
    ] {
        let r = get(&server, "/random.bin", &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert!(r.header("content-range").is_none(), "{range}: a multipart 206 has no top-level Content-Range");
        let ct = r.header("content-type").unwrap();
        let parts = check_multipart(&r.body, ct, "application/octet-stream", &site.big);
        assert_eq!(parts, want, "{range}");
    }
    // Text files: the part Content-Type is the file's.
    let css = site.root.join("style.css");
    fs::write(&css, noise(4000, 9)).unwrap();
    let r = get(&server, "/style.css", &[("Range", "bytes=0-1,-2")]);
    check_multipart(&r.body, r.header("content-type").unwrap(), "text/css; charset=utf-8", &css);
}

#[test]
fn unsatisfiable_range_is_416_with_the_length() {
    let site = site("sf-416");
    let server = Server::start(&site.root, &[]);
    let len = fs::metadata(&site.big).unwrap().len();
    for range in [format!("bytes={len}-"), format!("bytes={}-{}", len + 10, len + 20), "bytes=-0".to_string()] {
        let r = get(&server, "/random.bin", &[("Range", &range)]);
        assert_error_page(&r, 416, "Range Not Satisfiable");
        assert_eq!(r.header("content-range"), Some(format!("bytes */{len}").as_str()), "{range}");
    }
    // A Range that is not bytes, or is malformed, is ignored (RFC 9110 §14.2).
    for range in ["items=0-1", "bytes=5-1", "bytes=abc", "bytes 0-1"] {
        let r = get(&server, "/hello.txt", &[("Range", range)]);
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello, world\n"[..]), "{range}");
    }
}

#[test]
fn if_range_with_etag_or_date() {
    let site = site("sf-ifrange");
    let server = Server::start(&site.root, &[]);
    let (etag, modified) = validators(&server, "/random.bin");
    let full_len = fs::metadata(&site.big).unwrap().len() as usize;
    for (if_range, want) in [
        (etag.as_str(), 206),
        ("\"stale-etag\"", 200),
        (&format!("W/{etag}"), 200),
        (modified.as_str(), 206),
        (PAST, 200),
        ("garbage", 200),
    ] {
        let r = get(&server, "/random.bin", &[("Range", "bytes=10-19"), ("If-Range", if_range)]);
        assert_eq!(r.status, want, "If-Range {if_range}");
        let want_len = if want == 206 { 10 } else { full_len };
        assert_eq!(r.body.len(), want_len, "If-Range {if_range}");
        assert!(r.body == disk_bytes(&site.big, if want == 206 { 10 } else { 0 }, want_len), "If-Range {if_range}");
    }
}

#[test]
fn range_is_ignored_on_head_and_post() {
    let site = site("sf-range-methods");
    let server = Server::start(&site.root, &[]);
    let len = fs::metadata(&site.big).unwrap().len().to_string();
    let head = send(&server, "HEAD", "/random.bin", &[("Range", "bytes=0-9")]);
    assert_eq!((head.status, head.header("content-length")), (200, Some(len.as_str())));
    assert!(head.header("content-range").is_none());
    let post = send(&server, "POST", "/random.bin", &[("Range", "bytes=0-9"), ("Content-Length", "0")]);
    assert_eq!(post.status, 405);
    assert!(post.header("content-range").is_none());
}

#[test]
fn overlapping_ranges_do_not_amplify() {
    let site = site("sf-amplify");
    let server = Server::start(&site.root, &[]);
    let len = fs::metadata(&site.big).unwrap().len() as usize;
    let many_whole = format!("bytes={}", vec!["0-"; 200].join(","));
    let staircase = format!("bytes={}", (0..200).map(|i| format!("{i}-{}", len - 1)).collect::<Vec<_>>().join(","));
    let suffixes = format!("bytes={}", vec!["-3000000"; 50].join(","));
    for range in [many_whole, staircase, suffixes] {
        let r = get(&server, "/random.bin", &[("Range", &range)]);
        assert!(r.status == 200 || r.status == 206, "{}", r.status);
        assert!(r.body.len() <= len + 1024, "{} bytes for a {len}-byte file", r.body.len());
        if r.status == 200 {
            assert!(r.body == fs::read(&site.big).unwrap(), "the plain file");
        } else if r.header("content-range").is_none() {
            check_multipart(&r.body, r.header("content-type").unwrap(), "application/octet-stream", &site.big);
        }
    }
}

/// app.js beside its three precompressed forms, each with distinct bytes.
fn precompressed_site(name: &str) -> Site {
    let site = site(name);
    fs::write(site.root.join("app.js"), "console.log('identity');\n").unwrap();
    for (suffix, body) in [(".gz", "GZIP-BYTES"), (".br", "BROTLI-BYTES"), (".zst", "ZSTD-BYTES")] {
        fs::write(site.root.join(format!("app.js{suffix}")), body).unwrap();
    }
    fs::write(site.root.join("only.css"), "p{}").unwrap();
    fs::write(site.root.join("only.css.gz"), "CSS-GZ").unwrap();
    site
}

#[test]
fn precompressed_siblings_by_accept_encoding() {
    let site = precompressed_site("sf-precompressed");
    let server = Server::start(&site.root, &[]);
    let identity_etag = get(&server, "/app.js", &[]).header("etag").unwrap().to_string();
    let mut etags = vec![identity_etag.clone()];
    for (accept, coding, body) in [
        (None, None, "console.log('identity');\n"),
        (Some("gzip"), Some("gzip"), "GZIP-BYTES"),
        (Some("br"), Some("br"), "BROTLI-BYTES"),
        (Some("zstd"), Some("zstd"), "ZSTD-BYTES"),
        (Some("gzip, deflate, br, zstd"), Some("br"), "BROTLI-BYTES"),
        (Some("br;q=0, gzip"), Some("gzip"), "GZIP-BYTES"),
        (Some("br;q=0.1, gzip;q=0.9, identity;q=0.5"), Some("gzip"), "GZIP-BYTES"),
        (Some("gzip;q=0.5, identity;q=0.8"), None, "console.log('identity');\n"),
        (Some("br;q=0"), None, "console.log('identity');\n"),
        (Some("identity"), None, "console.log('identity');\n"),
        (Some("gzip;q=0, br;q=0, zstd;q=0"), None, "console.log('identity');\n"),
        (Some("deflate"), None, "console.log('identity');\n"),
    ] {
        let fields: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept-Encoding", *a)).collect();
        let r = get(&server, "/app.js", &fields);
        assert_eq!(r.status, 200, "{accept:?}");
        assert_eq!(r.header("content-encoding"), coding, "{accept:?}");
        assert_eq!(r.text(), body, "{accept:?}");
        assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{accept:?}: the response varies, identity too");
        assert_eq!(r.header("content-type"), Some("text/javascript; charset=utf-8"), "{accept:?}");
        let etag = r.header("etag").unwrap().to_string();
        if coding.is_some() {
            assert_ne!(etag, identity_etag, "{accept:?}: a coded form has its own ETag");
            // Conditional and range requests work on the coded form.
            let not_modified =
                get(&server, "/app.js", &[("Accept-Encoding", accept.unwrap()), ("If-None-Match", &etag)]);
            assert_eq!(not_modified.status, 304, "{accept:?}");
            let part = get(&server, "/app.js", &[("Accept-Encoding", accept.unwrap()), ("Range", "bytes=0-3")]);
            assert_eq!((part.status, part.text()), (206, body[..4].to_string()), "{accept:?}");
        }
        if !etags.contains(&etag) {
            etags.push(etag);
        }
    }
    assert_eq!(etags.len(), 4, "identity, gzip, br and zstd each have a distinct ETag: {etags:?}");
    let css = get(&server, "/only.css", &[("Accept-Encoding", "br, gzip")]);
    assert_eq!((css.header("content-encoding"), css.text().as_str()), (Some("gzip"), "CSS-GZ"));
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let plain = get(&server, "/hello.txt", &[("Accept-Encoding", "gzip")]);
    assert_eq!((plain.header("content-encoding"), plain.header("vary")), (None, None), "no sibling, no coding");
}
