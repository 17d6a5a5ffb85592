//! `--proxy` in front of `hostile_upstream.py`: what a well-behaved upstream
//! gets (fields added and removed, bodies streamed, framing re-derived), and
//! what a broken one must never do to the client: after each broken
//! response, a clean request on the same client connection is answered
//! cleanly (or the connection is closed), and no byte of the broken
//! response's leftovers, nor of a reused broken connection, ever arrives.

use super::*;

/// wired proxying its whole site to `up`, with `extra`.
fn proxy(up: &Hostile, extra: &[&str]) -> (TempTree, Server) {
    let root = plain_root("hostile-up");
    let site = format!("/={}", up.url());
    let mut args = vec!["--proxy", &site];
    args.extend_from_slice(extra);
    let server = wired(&root.0, &args);
    (root, server)
}

/// The next request on the same client connection is answered as itself.
fn still_in_step(s: &mut Client, what: &str) {
    let r = get_on(s, "/ok");
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"), "{what}: the next request on the same connection");
}

/// Neither leftover mark is anywhere in `bytes`.
fn assert_no_marks(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains(STRAY_MARK), "{what}: bytes the upstream sent after its response reached the client");
    assert!(!text.contains(POISON_MARK), "{what}: a broken upstream connection was reused");
}

#[test]
fn request_fields_gain_forwarding_fields_and_lose_hop_by_hop_ones() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    let r = roundtrip(&mut s, &request_with_hop_by_hop("/echo-head", "example.org:8080"));
    assert_eq!(r.status, 200, "{}", r.text());
    let head = r.text();
    assert!(head.starts_with("GET /echo-head HTTP/1.1\r\n"), "request line {head:?}");
    let fields = fields_of(&head);
    assert_no_hop_by_hop(&fields, &["x-hop"]);
    assert_forwarding_fields(&fields, "example.org:8080", Some("203.0.113.7"));
    assert!(field(&fields, "via").unwrap().starts_with("1.0 fred, "), "the earlier Via element is kept first");
    assert_eq!(field(&fields, "host").as_deref(), Some("example.org:8080"), "--proxy-host pass is the default");
    assert_eq!(field(&fields, "x-end-to-end").as_deref(), Some("kept"));
    still_in_step(&mut s, "after /echo-head");
}

#[test]
fn without_forwarding_fields_from_the_client_wired_starts_them() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let r = get(&server, "/echo-head");
    let fields = fields_of(&r.text());
    assert_forwarding_fields(&fields, "t", None);
    assert_eq!(field(&fields, "forwarded").map(|f| f.contains(',')), Some(false), "one Forwarded element");
    assert_eq!(field(&fields, "via").map(|v| v.contains(',')), Some(false), "one Via element");
}

#[test]
fn proxy_host_passes_the_client_s_names_the_upstream_or_sets_a_value() {
    let up = Hostile::start();
    let root = plain_root("proxy-host");
    let site = format!("/={}", up.url());
    for (choice, expected) in
        [("pass", "client.example".to_string()), ("upstream", up.addr()), ("fixed.example", "fixed.example".into())]
    {
        let server = wired(&root.0, &["--proxy", &site, "--proxy-host", choice]);
        let mut s = connect(&server);
        let r = roundtrip(&mut s, "GET /echo-head HTTP/1.1\r\nHost: client.example\r\nConnection: close\r\n\r\n");
        let fields = fields_of(&r.text());
        assert_eq!(field(&fields, "host"), Some(expected), "--proxy-host {choice}");
        assert_eq!(field(&fields, "x-forwarded-host").as_deref(), Some("client.example"), "--proxy-host {choice}");
    }
}

#[test]
fn a_path_in_the_proxy_url_replaces_the_prefix_and_no_path_keeps_the_uri() {
    let up = Hostile::start();
    let root = plain_root("proxy-paths");
    let (app, base, raw) =
        (format!("/app/={}/", up.url()), format!("/b/={}/base/", up.url()), format!("/raw/={}", up.url()));
    let server = wired(&root.0, &["--proxy", &app, "--proxy", &base, "--proxy", &raw]);
    let mut s = connect(&server);
    for target in ["/app/x/y?q=1&r=%2F", "/app/", "/app/a%20b", "/b/x?q", "/raw/x/y?q=2"] {
        get_on(&mut s, target);
    }
    // Outside every prefix: wired's own file; the upstream never hears of it.
    let r = get_on(&mut s, "/static.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "served by wired itself\n"));
    let targets: Vec<String> = up.stats().requests.into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/x/y?q=1&r=%2F", "/", "/a%20b", "/base/x?q", "/raw/x/y?q=2"], "request targets upstream");
}

#[test]
fn bodies_with_a_length_or_chunked_reach_the_upstream_whole() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    let r = roundtrip(&mut s, "POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
    assert_eq!((r.status, r.text().as_str()), (200, "hello world"));
    assert_eq!(r.header("x-body-framing"), Some("length"));
    // Chunked, in pieces that arrive apart, with an extension and a trailer.
    s.write_all(b"POST /echo-body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    for piece in [&b"5\r\nhello\r\n"[..], b"7;ext=1\r\n, world\r\n", b"1\r\n\n\r\n", b"0\r\nX-T: 1\r\n\r\n"] {
        std::thread::sleep(Duration::from_millis(30));
        s.write_all(piece).unwrap();
    }
    let r = read_response(&mut s, false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "hello, world\n"), "the decoded body");
    // Chunked on to the upstream, or with the length once known: either is whole.
    assert!(matches!(r.header("x-body-framing"), Some("chunked" | "length")), "{:?}", r.header("x-body-framing"));
    still_in_step(&mut s, "after the chunked upload");
}

#[test]
fn a_request_body_streams_to_the_upstream_before_it_is_complete() {
    // The upstream answers as soon as any body byte arrives; the client has
    // sent only 1 kB of the 1 MB it announced, so an answer proves streaming.
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    s.write_all(b"POST /early-answer HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n").unwrap();
    s.write_all(&[b'x'; 1000]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = read_response(&mut s, false).expect("an answer while the body was still coming");
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("answered after "), "{}", r.text());
}

#[test]
fn a_body_over_max_body_bytes_is_413_and_never_reaches_the_upstream() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &["--max-body-bytes", "1000"]);
    let body = "x".repeat(2000);
    let r = roundtrip(
        &mut connect(&server),
        &format!("POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n{body}"),
    );
    assert_eq!(r.status, 413, "a declared length over the limit");
    assert!(up.stats().for_path("/echo-body").is_empty(), "the upstream was asked anyway");
    let r = roundtrip(
        &mut connect(&server),
        &format!(
            "POST /echo-body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n7d0\r\n{body}\r\n0\r\n\r\n"
        ),
    );
    assert_eq!(r.status, 413, "a chunked body growing over the limit");
}

#[test]
fn expect_100_continue_is_answered_once_end_to_end() {
    if crate::h2_shim::h1_only(
        "100 Continue between the client and wired is HTTP/1.1's handshake; the shim's HTTP/2 client sends its body at once",
    ) {
        return;
    }
    // The upstream sends its own 100 Continue: the client must see exactly
    // one (a second would be read as the answer to the next request).
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    s.write_all(b"POST /echo-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").unwrap();
    let interim = read_response(&mut s, false).unwrap();
    assert_eq!(interim.status, 100, "the client waits for 100 Continue before sending");
    s.write_all(b"hello").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    still_in_step(&mut s, "after 100-continue");
}

#[test]
fn an_upstream_refusing_the_body_answers_before_the_client_sends_it() {
    // RFC 9110 §10.1.1: a proxy forwards the expectation rather than invite
    // a body the origin will refuse.
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    s.write_all(b"POST /refuse-body HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = read_response(&mut s, false).expect("a final answer without the body");
    assert_eq!(r.status, 413, "wired invited the body (100) instead of forwarding the expectation");
    assert_eq!(r.text(), "too large\n");
}

#[test]
fn interim_responses_reach_http_1_1_clients_only() {
    if crate::h2_shim::h1_only(
        "which clients may get a 1xx head is an HTTP/1.0-or-1.1 rule; over HTTP/2 an interim head is a HEADERS frame (upstream::http2 checks it)",
    ) {
        return;
    }
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    s.write_all(b"GET /interim HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut links = Vec::new();
    let last = loop {
        let r = read_response(&mut s, false).unwrap();
        if r.status != 103 {
            break r;
        }
        links.push(r.header("link").unwrap_or_default().to_string());
    };
    assert_eq!(links, ["</style.css>; rel=preload", "</app.js>; rel=preload"], "both 103s, in order");
    assert_eq!((last.status, last.text().as_str()), (200, "final\n"));
    still_in_step(&mut s, "after interim responses");
    // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client.
    let all = server.raw(b"GET /interim HTTP/1.0\r\nHost: t\r\n\r\n");
    assert_eq!(first_status(&all), Some(200), "{}", String::from_utf8_lossy(&all));
    assert_eq!(count_responses(&all), 1);
}

#[test]
fn a_chunked_response_with_extensions_and_a_trailer_is_re_encoded() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    s.write_all(
        b"GET /chunked-ext HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
    let responses = parse_all(&bytes, &[false, false]);
    assert_eq!(responses.len(), 2, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!((responses[0].status, responses[0].text().as_str()), (200, "hello world, chunked\n"));
    assert_eq!(responses[1].text(), "ok\n");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("quoted=") && !text.contains("name=value"), "chunk extensions passed through: {text}");
}

#[test]
fn a_response_without_length_is_chunked_for_http_1_1_and_closed_for_http_1_0() {
    if crate::h2_shim::h1_only(
        "a body of unknown length framed for HTTP/1.1 (chunked) or HTTP/1.0 (the close) is HTTP/1.1's matter; over HTTP/2 it is DATA frames (upstream::http2 checks them)",
    ) {
        return;
    }
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let body = "close-delimited part 0\nclose-delimited part 1\nclose-delimited part 2\n";
    // To HTTP/1.1: a length of wired's own making, so the connection lives on;
    // also when the upstream spoke HTTP/1.0.
    let mut s = connect(&server);
    for target in ["/close-delimited", "/http10"] {
        let r = get_on(&mut s, target);
        assert_eq!((r.status, r.text().as_str()), (200, body), "{target}");
        assert!(
            r.header("transfer-encoding") == Some("chunked") || r.header("content-length").is_some(),
            "{target}: no framing for a kept-alive HTTP/1.1 client"
        );
    }
    still_in_step(&mut s, "after close-delimited responses");
    // To HTTP/1.0: no chunked coding; the close ends the body.
    let mut s = connect(&server);
    s.write_all(b"GET /close-delimited HTTP/1.0\r\nHost: t\r\n\r\n").unwrap();
    let (bytes, closed) = read_until_closed(&mut s, Duration::from_secs(5));
    assert!(closed, "the body of an HTTP/1.0 response without length ends with the connection");
    let text = String::from_utf8_lossy(&bytes);
    let (head, got) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{text}"));
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding"), "chunked to an HTTP/1.0 client: {head}");
    assert_eq!(got, body);
}

#[test]
fn hop_by_hop_response_fields_never_reach_the_client() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    let r = get_on(&mut s, "/hop-by-hop");
    assert_eq!((r.status, r.text().as_str()), (200, "hop\n"));
    for name in ["x-secret", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"] {
        assert!(r.header(name).is_none(), "{name} reached the client: {:?}", r.headers);
    }
    if let Some(connection) = r.header("connection") {
        assert!(!connection.to_ascii_lowercase().contains("x-secret"), "Connection: {connection}");
    }
    assert_eq!(r.header("x-kept"), Some("end-to-end"));
    still_in_step(&mut s, "after hop-by-hop fields");
}

#[test]
fn set_cookie_fields_stay_separate() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let r = get(&server, "/set-cookies");
    let cookies: Vec<&str> =
        r.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str()).collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2, c; Path=/"], "RFC 9110 §5.3: Set-Cookie is never combined");
}

#[test]
fn head_gets_no_body_even_when_the_upstream_sends_one() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    let started = Instant::now();
    let r = roundtrip(&mut s, "HEAD /head-length HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.header("content-length")), (200, Some("1234")), "HEAD keeps the GET's length");
    assert!(started.elapsed() < Duration::from_secs(2), "wired waited for a HEAD body");
    still_in_step(&mut s, "after HEAD with a length");
    let r = roundtrip(&mut s, "HEAD /head-with-body HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_quiet(&mut s, Duration::from_millis(300), "after HEAD");
    still_in_step(&mut s, "after a HEAD answered with a body");
    s.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
    assert_no_marks(&bytes, "HEAD with a body");
}

#[test]
fn a_304_or_204_gets_no_body_even_when_the_upstream_sends_one() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    for (target, status) in [("/304-with-body", 304), ("/204-with-body", 204)] {
        let mut s = connect(&server);
        let r = roundtrip(&mut s, &format!("GET {target} HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"v1\"\r\n\r\n"));
        assert_eq!(r.status, status, "{target}");
        assert_quiet(&mut s, Duration::from_millis(300), target);
        s.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
        assert_no_marks(&bytes, target);
        let texts: Vec<String> = parse_all(&bytes, &[false, false]).iter().map(Response::text).collect();
        assert_eq!(texts, ["ok\n", "ok\n"], "{target}: the next requests: {}", String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn response_splitting_never_reaches_the_client() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    for target in ["/split-cr", "/split-lf", "/split-nul", "/split-fold"] {
        let mut s = connect(&server);
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
        let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 2);
        let end = end.unwrap_or_else(|| panic!("{target}: no head: {:?}", String::from_utf8_lossy(&bytes)));
        // Every line of the head the client gets ends in CRLF and holds no
        // other CR, LF or NUL.
        let head = &bytes[..end];
        for line in head.strip_suffix(b"\n").unwrap().split(|&b| b == b'\n') {
            let bare = match line.strip_suffix(b"\r") {
                Some(content) => content.iter().any(|&b| b == b'\r' || b == 0),
                None => true,
            };
            assert!(!bare, "{target}: a bare CR, LF or NUL in the head sent: {:?}", String::from_utf8_lossy(head));
        }
        let status = first_status(&bytes);
        assert!(matches!(status, Some(200 | 502)), "{target}: {status:?}");
        if target != "/split-lf" {
            // A bare LF may end a field line (RFC 9112 §2.2); nothing else may.
            let head = String::from_utf8_lossy(head).to_ascii_lowercase();
            assert!(!head.contains("\r\nset-cookie:"), "{target}: an injected Set-Cookie field: {head}");
        }
    }
    let mut s = connect(&server);
    still_in_step(&mut s, "after the splitting attempts");
}

#[test]
fn both_content_length_and_transfer_encoding_never_smuggle_a_response() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    let r = get_on(&mut s, "/cl-and-te");
    // Transfer-Encoding wins (RFC 9112 §6.3), or the response is refused.
    assert!(
        (r.status, r.text().as_str()) == (200, "hello") || r.status == 502,
        "{} {:?} {:?}",
        r.status,
        r.headers,
        r.text()
    );
    assert!(r.header("content-length").is_none() || r.header("transfer-encoding").is_none(), "both framings sent");
    s.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
    assert_no_marks(&bytes, "Content-Length with Transfer-Encoding");
    let texts: Vec<String> = parse_all(&bytes, &[false, false]).iter().map(Response::text).collect();
    assert_eq!(texts, ["ok\n", "ok\n"], "the next requests");
}

#[test]
fn bytes_beyond_content_length_never_reach_the_next_client() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    let r = get_on(&mut s, "/too-long");
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    s.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
    assert_no_marks(&bytes, "the same client connection");
    assert_eq!(parse_all(&bytes, &[false]).first().map(Response::text).as_deref(), Some("ok\n"));
    // Nor a new client, which the pool might hand the same upstream connection.
    for _ in 0..3 {
        let mut s = connect(&server);
        s.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
        assert_no_marks(&bytes, "a new client connection");
        assert_eq!(first_status(&bytes), Some(200));
    }
}

#[test]
fn a_body_cut_short_closes_the_client_connection() {
    // Once the head is sent, the only honest end of a short body is a close.
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    for (target, sent) in [("/too-short", &b"only ten.."[..]), ("/head-then-close", b"")] {
        let mut s = connect(&server);
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
        let started = Instant::now();
        let (bytes, closed) = read_until_closed(&mut s, Duration::from_secs(5));
        let text = String::from_utf8_lossy(&bytes);
        if first_status(&bytes) == Some(502) {
            // Nothing sent yet (the head was held back): a 502 is fine too,
            // and the connection may live on.
            continue;
        }
        assert!(closed, "{target}: the client was left waiting for the rest: {text}");
        assert!(started.elapsed() < Duration::from_secs(3), "{target}: closed late");
        assert!(text.starts_with("HTTP/1.1 200 "), "{target}: {text}");
        let body = &bytes[bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        assert!(sent.starts_with(body), "{target}: the client got {body:?} of {sent:?}");
    }
}

#[test]
fn an_upstream_closing_without_an_answer_is_a_502() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    assert_eq!(get_on(&mut s, "/close-at-once").status, 502);
    still_in_step(&mut s, "after a 502");
}

#[test]
fn a_refused_connection_is_a_502() {
    let root = plain_root("refused");
    let app = format!("/app/=http://127.0.0.1:{}", unused_port());
    let server = wired(&root.0, &["--proxy", &app]);
    let mut s = connect(&server);
    let started = Instant::now();
    assert_eq!(get_on(&mut s, "/app/anything").status, 502);
    assert!(started.elapsed() < Duration::from_secs(2), "a refusal took {:?}", started.elapsed());
    assert_eq!(get_on(&mut s, "/static.txt").status, 200, "the client connection lives on");
}

#[test]
fn an_upstream_that_never_accepts_is_a_504_at_the_connect_timeout() {
    let up = Hostile::with(&["--mode", "no-accept"]);
    let root = plain_root("connect-timeout");
    let app = format!("/app/={}/", up.url());
    let server = wired(&root.0, &["--proxy", &app, "--upstream-connect-timeout", "1s"]);
    let mut s = connect(&server);
    let started = Instant::now();
    assert_eq!(get_on(&mut s, "/app/ok").status, 504);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "504 after {took:?}");
    assert_eq!(get_on(&mut s, "/static.txt").status, 200, "the client connection lives on");
}

#[test]
fn an_upstream_silent_past_the_header_timeout_is_a_504() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &["--upstream-header-timeout", "1s"]);
    let mut s = connect(&server);
    let started = Instant::now();
    assert_eq!(get_on(&mut s, "/stall-head").status, 504);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "504 after {took:?}");
    still_in_step(&mut s, "after a 504");
}

#[test]
fn an_upstream_that_stops_reading_the_body_is_a_504_at_the_send_timeout() {
    // 64 MB to an upstream that reads none of it: once the socket buffers
    // are full, wired's writes stall, and --upstream-send-timeout ends it.
    const LEN: usize = 64 << 20;
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &["--upstream-send-timeout", "1s", "--max-body-bytes", "100000000"]);
    let mut s = connect(&server);
    s.write_all(format!("POST /no-read HTTP/1.1\r\nHost: t\r\nContent-Length: {LEN}\r\n\r\n").as_bytes()).unwrap();
    let mut writer = s.0.try_clone().unwrap();
    let started = Instant::now();
    let sender = std::thread::spawn(move || {
        writer.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        let block = vec![b'n'; 1 << 20];
        for _ in 0..LEN >> 20 {
            if writer.write_all(&block).is_err() {
                break;
            }
        }
    });
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = read_response(&mut s, false).expect("an answer while the body was stuck");
    let took = started.elapsed();
    assert_eq!(r.status, 504);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(8), "504 after {took:?}");
    let _ = s.shutdown(std::net::Shutdown::Both);
    sender.join().unwrap();
}

#[test]
fn an_upstream_stalled_mid_body_is_cut_at_the_read_timeout() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &["--upstream-read-timeout", "1s"]);
    for target in ["/stall-body", "/stall-chunked"] {
        let mut s = connect(&server);
        let started = Instant::now();
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
        let (bytes, closed) = read_until_closed(&mut s, Duration::from_secs(6));
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&bytes);
        assert!(closed, "{target}: still open after {took:?}: {text}");
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "{target}: cut after {took:?}");
        assert!(text.starts_with("HTTP/1.1 200 "), "{target}: {text}");
        assert!(!text.ends_with("0\r\n\r\n"), "{target}: a cut response must not look finished");
    }
}

#[test]
fn an_endless_head_is_a_502() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    let started = Instant::now();
    assert_eq!(get_on(&mut s, "/header-flood").status, 502);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    still_in_step(&mut s, "after a header flood");
}

#[test]
fn invalid_status_lines_are_502_and_their_connection_is_never_reused() {
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    for n in 0..8 {
        let target = format!("/invalid-status/{n}");
        let r = get_on(&mut s, &target);
        assert_eq!(r.status, 502, "{target}");
        let r = get_on(&mut s, "/ok");
        assert_no_marks(&r.body, &target);
        assert_eq!((r.status, r.text().as_str()), (200, "ok\n"), "after {target}");
    }
}

#[test]
fn a_client_that_stops_reading_stops_the_upstream() {
    // Backpressure: while the client reads nothing, wired must stop reading
    // the upstream, whose writes then stall; only socket buffers fill.
    let up = Hostile::start();
    let (_root, server) = proxy(&up, &[]);
    let mut s = connect(&server);
    s.write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut first = vec![0u8; 1 << 20];
    s.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200 "));
    std::thread::sleep(Duration::from_millis(1500));
    let stalled = up.stats().endless_sent;
    std::thread::sleep(Duration::from_millis(500));
    let later = up.stats().endless_sent;
    // A proxy without backpressure would let hundreds of MB through meanwhile.
    assert!(
        later - stalled < 1 << 20,
        "the upstream kept writing ({stalled} then {later}) to a client reading nothing"
    );
    assert!(stalled < 64 << 20, "{stalled} bytes left the upstream for a client that read 1 MiB");
    let peak = peak_rss_kib(server.pid());
    assert!(peak < RSS_BOUND_KIB, "wired's peak RSS {peak} KiB");
    // Reading again resumes the flow: keep reading (the socket buffers on
    // the way hold megabytes) until the upstream writes again, within 10 s.
    let mut more = vec![0u8; 1 << 20];
    let until = Instant::now() + Duration::from_secs(10);
    let mut resumed = false;
    while Instant::now() < until && !resumed {
        s.read_exact(&mut more).unwrap();
        resumed = up.stats().endless_sent > later;
    }
    assert!(resumed, "the flow did not resume");
}

#[test]
fn proxied_answers_and_gateway_errors_are_in_the_access_log() {
    let up = Hostile::start();
    let dir = TempTree::new("proxy-access-log");
    let log = dir.join("access.log");
    let log_arg = log.display().to_string();
    let (_root, server) = proxy(&up, &["--access-log", &log_arg]);
    let mut s = connect(&server);
    assert_eq!(get_on(&mut s, "/ok").status, 200);
    assert_eq!(get_on(&mut s, "/invalid-status/0").status, 502);
    let until = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 2 || Instant::now() > until {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let proto = crate::h2_shim::client_protocol();
    assert!(text.contains(&format!("\"GET /ok {proto}\" 200")), "{text}");
    assert!(text.contains(&format!("\"GET /invalid-status/0 {proto}\" 502")), "{text}");
}
