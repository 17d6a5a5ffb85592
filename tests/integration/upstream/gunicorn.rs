//! A Flask application (`tests/upstream/flask_app.py`) behind gunicorn's
//! sync workers, behind `wired --proxy`: routing, JSON, forms, a streamed
//! response, a 100 MB upload hashed by the application, and what the
//! application learns about the client. gunicorn's sync workers close
//! every connection after one response, so nothing here is pooled.

use super::*;

/// gunicorn serving the Flask app on an ephemeral port of 127.0.0.1.
struct Gunicorn {
    _proc: ChildGuard,
    _dir: TempTree,
    port: u16,
}

impl Gunicorn {
    fn start() -> Gunicorn {
        let dir = TempTree::new("gunicorn");
        let mut cmd = Command::new(python());
        // --preload: the app is imported before the workers fork, so the
        // first request does not wait for Flask to load.
        cmd.args(["-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "2", "--graceful-timeout", "1", "--preload"])
            .arg("--chdir")
            .arg(fixtures())
            .arg("flask_app:app")
            // gunicorn ≥ 23 opens a control socket in $XDG_RUNTIME_DIR (else
            // ~/.gunicorn): one of its own per test.
            .env("XDG_RUNTIME_DIR", &dir.0);
        let mut proc = ChildGuard::spawn("gunicorn", cmd);
        // "[INFO] Listening at: http://127.0.0.1:PORT (PID)"
        let port = proc.wait_for_line(Duration::from_secs(20), |l| {
            l.split("Listening at: http://127.0.0.1:").nth(1)?.split_whitespace().next()?.parse().ok()
        });
        // The master listens before its workers have imported Flask.
        proc.wait_for_line(Duration::from_secs(20), |l| l.contains("Booting worker").then_some(()));
        Gunicorn { _proc: proc, _dir: dir, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// gunicorn, and wired proxying its whole site there with `extra`.
fn start(extra: &[&str]) -> (Gunicorn, TempTree, Server) {
    let app = Gunicorn::start();
    let root = plain_root("gunicorn");
    let site = format!("/={}", app.url());
    let mut args = vec!["--proxy", &site];
    args.extend_from_slice(extra);
    let server = wired(&root.0, &args);
    (app, root, server)
}

#[test]
fn flask_routes_answer_json_through_the_proxy() {
    let (_app, _root, server) = start(&[]);
    let mut s = connect(&server);
    let r = get_on(&mut s, "/users/7");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text().trim(), r#"{"id":7,"name":"user 7"}"#);
    // gunicorn closed its connection; the client's lives on.
    let r = get_on(&mut s, "/users/seven");
    assert_eq!(r.status, 404, "Flask's own 404 passes through");
    assert!(r.text().contains("Not Found"), "{}", r.text());
    assert_eq!(get_on(&mut s, "/users/8").status, 200);
}

#[test]
fn a_prefix_with_a_path_reaches_flask_s_routes() {
    let app = Gunicorn::start();
    let root = plain_root("gunicorn-prefix");
    let api = format!("/api/={}/", app.url());
    let server = wired(&root.0, &["--proxy", &api]);
    let r = get(&server, "/api/users/3");
    assert_eq!((r.status, r.text().trim()), (200, r#"{"id":3,"name":"user 3"}"#));
    let r = get(&server, "/api/headers?x=1&y=%2F");
    assert_eq!(json_string(&r.text(), "path").as_deref(), Some("/headers"), "{}", r.text());
    assert_eq!(json_string(&r.text(), "query").as_deref(), Some("x=1&y=%2F"));
    assert_eq!(get(&server, "/static.txt").text(), "served by wired itself\n");
}

#[test]
fn a_form_and_a_json_body_reach_flask() {
    let (_app, _root, server) = start(&[]);
    let mut s = connect(&server);
    let form = "name=Ada+Lovelace&lang=en&empty=";
    let r = roundtrip(
        &mut s,
        &format!(
            "POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text().trim(), r#"{"form":{"empty":"","lang":"en","name":"Ada Lovelace"},"method":"POST"}"#);
    let json = r#"{"name":"wired","n":[1,2]}"#;
    let r = roundtrip(
        &mut s,
        &format!(
            "POST /json HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        ),
    );
    assert_eq!(r.text().trim(), r#"{"n":[1,2],"name":"wired","seen":true}"#);
}

#[test]
fn a_streamed_flask_response_arrives_as_it_is_made() {
    // The last part comes a second after the others: they must arrive first.
    let (_app, _root, server) = start(&[]);
    let mut s = connect(&server);
    s.write_all(b"GET /stream?parts=5&pause=1 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut reader = BufReader::new(&mut s);
    let head = read_response(&mut reader, true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"), "no length known: chunked to the client");
    let mut body = Vec::new();
    let mut first_four = None;
    while let Some(chunk) = next_chunk(&mut reader) {
        body.extend_from_slice(&chunk);
        if first_four.is_none() && String::from_utf8_lossy(&body).contains("part 3\n") {
            first_four = Some(Instant::now());
        }
    }
    let first_four = first_four.expect("part 3");
    assert_eq!(String::from_utf8_lossy(&body), "part 0\npart 1\npart 2\npart 3\npart 4\n");
    let gap = first_four.elapsed();
    assert!(gap >= Duration::from_millis(700), "the first parts waited for the last (they came {gap:?} before it)");
    drop(reader);
    assert_eq!(get_on(&mut s, "/users/5").status, 200, "the connection lives on after a chunked response");
}

#[test]
fn a_100_mb_upload_is_hashed_by_flask() {
    const LEN: usize = 100_000_000;
    let _turn = big_transfer();
    let (_app, _root, server) = start(&["--max-body-bytes", "200000000"]);
    let (r, sha) = upload(&server, "/upload", LEN, false);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), format!("{LEN} {sha}\n"), "the application read other bytes than were sent");
    let peak = peak_rss_kib(server.pid());
    eprintln!("wired's peak RSS while proxying 100 MB to gunicorn: {peak} KiB");
    assert!(peak < RSS_BOUND_KIB, "wired's peak RSS {peak} KiB");
}

#[test]
fn a_chunked_upload_reaches_flask_whole() {
    let (_app, _root, server) = start(&[]);
    for len in [0, 11, 3_000_000] {
        let (r, sha) = upload(&server, "/upload", len, true);
        assert_eq!(r.text(), format!("{len} {sha}\n"), "{len} bytes chunked");
    }
}

#[test]
fn flask_sees_forwarding_fields_and_no_hop_by_hop_ones() {
    let (_app, _root, server) = start(&[]);
    let mut s = connect(&server);
    let r = roundtrip(&mut s, &request_with_hop_by_hop("/headers", "shop.example"));
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let names = ["host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded", "via"];
    let mut fields: Vec<(String, String)> =
        names.iter().filter_map(|n| Some((n.to_string(), json_string(&text, n)?))).collect();
    for name in ["x-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-end-to-end"] {
        if let Some(v) = json_string(&text, name) {
            fields.push((name.to_string(), v));
        }
    }
    assert_no_hop_by_hop(&fields, &["x-hop"]);
    assert_forwarding_fields(&fields, "shop.example", Some("203.0.113.7"));
    assert_eq!(field(&fields, "host").as_deref(), Some("shop.example"));
    assert_eq!(field(&fields, "x-end-to-end").as_deref(), Some("kept"));
}

#[test]
fn flask_s_304_and_204_come_without_a_body() {
    let (_app, _root, server) = start(&[]);
    let mut s = connect(&server);
    let r = roundtrip(&mut s, "GET /etag HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"v1\"\r\n\r\n");
    assert_eq!((r.status, r.header("etag")), (304, Some("\"v1\"")));
    assert_quiet(&mut s, Duration::from_millis(200), "after 304");
    let r = roundtrip(&mut s, "DELETE /items/3 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 204);
    assert!(r.header("transfer-encoding").is_none(), "a 204 has no framing (RFC 9110 §15.3.5)");
    assert_quiet(&mut s, Duration::from_millis(200), "after 204");
    let r = roundtrip(&mut s, "HEAD /users/1 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_quiet(&mut s, Duration::from_millis(200), "after HEAD");
    assert_eq!(get_on(&mut s, "/users/1").text().trim(), r#"{"id":1,"name":"user 1"}"#);
}

#[test]
fn flask_s_cookies_arrive_as_separate_fields() {
    let (_app, _root, server) = start(&[]);
    let r = get(&server, "/cookie");
    let cookies: Vec<&str> =
        r.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str()).collect();
    assert_eq!(cookies, ["session=abc123; HttpOnly; Path=/", "theme=dark; Path=/"]);
}

#[test]
fn a_slow_flask_route_is_a_504_at_the_header_timeout() {
    let (_app, _root, server) = start(&["--upstream-header-timeout", "1s"]);
    let mut s = connect(&server);
    let started = Instant::now();
    assert_eq!(get_on(&mut s, "/sleep?s=3").status, 504);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(2500), "504 after {took:?}");
    assert_eq!(get_on(&mut s, "/users/2").status, 200, "the other worker answers; the client connection lives on");
}

#[test]
fn expect_100_continue_through_gunicorn_gives_one_100() {
    if crate::h2_shim::h1_only(
        "100 Continue between the client and wired is HTTP/1.1's handshake; the shim's HTTP/2 client sends its body at once",
    ) {
        return;
    }
    // gunicorn sends 100 Continue itself on seeing the expectation.
    let (_app, _root, server) = start(&[]);
    let mut s = connect(&server);
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 100);
    s.write_all(b"hello").unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.text(), "5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n");
    assert_eq!(get_on(&mut s, "/users/4").status, 200, "a second 100 would be read here");
}
