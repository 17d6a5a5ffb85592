//! The proxy over HTTP/2 (`--http2`): each stream's request goes to the
//! upstream through a secondary HTTP/1.1 connection in memory, and the
//! upstream's answer, whatever its framing (a length, chunks, the
//! connection's close, interim 1xx heads), comes back as HEADERS and DATA.
//! Request bodies stream up under the stream's flow-control window; many
//! proxied streams share one client connection; the upstream timeouts
//! still answer 504.

use super::*;

/// wired with `--http2`, proxying its whole site to `up`, with `extra`.
fn proxy_h2(up: &Hostile, extra: &[&str]) -> (TempTree, Server) {
    let root = plain_root("up-h2");
    let site = format!("/={}", up.url());
    let mut args = vec!["--http2", "--proxy", &site];
    args.extend_from_slice(extra);
    let server = wired(&root.0, &args);
    (root, server)
}

/// curl over cleartext HTTP/2 (prior knowledge) to `path`: what `-w`
/// printed, the response's fields (lower-case lines), and the body.
fn curl_h2(server: &Server, path: &str, args: &[&str], stdin: Option<&[u8]>) -> (String, String, Vec<u8>) {
    let dir = temp_dir("up-h2-curl");
    let (body_file, head_file) = (dir.join("body"), dir.join("head"));
    let plain = server.plain_addr.unwrap_or(server.addr);
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--http2-prior-knowledge", "-o"]).arg(&body_file).arg("-D").arg(&head_file);
    cmd.args(["-w", "%{http_version} %{http_code}"]).args(args).arg(format!("http://{plain}{path}"));
    let out = run_bounded_with_input(&mut cmd, stdin, Duration::from_secs(60));
    assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
    let head = fs::read_to_string(&head_file).unwrap().to_ascii_lowercase();
    (String::from_utf8(out.stdout).unwrap(), head, fs::read(&body_file).unwrap())
}

/// The bytes `/bytes?N` sends.
fn known_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn proxied_answers_come_over_h2_whatever_their_framing_upstream() {
    let up = Hostile::start();
    let (_root, server) = proxy_h2(&up, &[]);
    let (said, head, body) = curl_h2(&server, "/chunked-ext", &[], None);
    assert_eq!((said.as_str(), body.as_slice()), ("2 200", &b"hello world, chunked\n"[..]), "chunked upstream");
    assert!(!head.contains("transfer-encoding"), "a connection-specific field over h2 (RFC 9113 §8.2.2): {head}");
    let (said, _, body) = curl_h2(&server, "/close-delimited", &[], None);
    assert_eq!(said, "2 200");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "close-delimited part 0\nclose-delimited part 1\nclose-delimited part 2\n"
    );
    let (said, _, body) = curl_h2(&server, "/interim", &[], None);
    assert_eq!((said.as_str(), body.as_slice()), ("2 200", &b"final\n"[..]), "after two 103s");
    let (said, head, _) = curl_h2(&server, "/set-cookies", &[], None);
    assert_eq!(said, "2 200");
    assert_eq!(head.matches("set-cookie:").count(), 2, "each Set-Cookie its own field: {head}");
    let (said, head, _) = curl_h2(&server, "/hop-by-hop", &[], None);
    assert_eq!(said, "2 200");
    for hop in ["connection:", "keep-alive:", "transfer-encoding:", "upgrade:"] {
        assert!(!head.contains(hop), "{hop} over h2: {head}");
    }
    let (said, _, body) = curl_h2(&server, "/bytes?2000000", &[], None);
    assert_eq!(said, "2 200");
    assert!(body == known_bytes(2_000_000), "2 MB through the proxy: {} bytes", body.len());
    let (said, _, body) = curl_h2(&server, "/echo-head", &[], None);
    assert_eq!(said, "2 200");
    let upstream_saw = String::from_utf8(body).unwrap();
    assert!(upstream_saw.starts_with("GET /echo-head HTTP/1.1\r\n"), "{upstream_saw}");
    assert!(upstream_saw.to_ascii_lowercase().contains("\r\nhost: 127.0.0.1:"), ":authority as Host: {upstream_saw}");
}

#[test]
fn a_request_body_streams_up_over_h2_with_a_length_or_without() {
    let up = Hostile::start();
    let (_root, server) = proxy_h2(&up, &[]);
    let body = known_bytes(2_000_000);
    let file = temp_dir("up-h2-body").join("body");
    fs::write(&file, &body).unwrap();
    let at_file = format!("@{}", file.display());
    let (said, head, echoed) = curl_h2(&server, "/echo-body", &["--data-binary", &at_file], None);
    assert_eq!(said, "2 200");
    assert!(echoed == body, "2 MB up and back with a length: {} bytes", echoed.len());
    assert!(head.contains("x-body-framing: length"), "{head}");
    // No content-length from the client: the upstream gets it chunked.
    let (said, head, echoed) = curl_h2(&server, "/echo-body", &["-T", "-"], Some(&body));
    assert_eq!(said, "2 200");
    assert!(echoed == body, "2 MB up and back without a length: {} bytes", echoed.len());
    assert!(head.contains("x-body-framing: chunked"), "{head}");
}

#[test]
fn many_proxied_streams_share_one_connection_through_tiny_windows() {
    let up = Hostile::start();
    let (_root, server) = proxy_h2(&up, &[]);
    let plain = server.plain_addr.unwrap_or(server.addr);
    let port = plain.port().to_string();
    let mut args = vec!["--window", "4096", "127.0.0.1", &port];
    let paths: Vec<String> = (0..20).map(|i| format!("/bytes?{}", 100_000 + i)).collect();
    args.extend(paths.iter().map(String::as_str));
    args.push("/ok");
    let json = crate::http2::python_client(&args);
    assert!(json.contains(r#""goaway": null"#), "{json}");
    for i in 0..20 {
        let want = known_bytes(100_000 + i);
        let sha = crate::http2::sha256(&want);
        assert!(json.contains(&format!(r#""length": {}, "sha256": "{sha}""#, want.len())), "stream {i}: {json}");
    }
    assert!(json.contains(r#""path": "/ok", "status": 200"#), "{json}");
}

#[test]
fn an_upstream_slower_than_its_timeout_is_a_504_over_h2() {
    let up = Hostile::start();
    let (_root, server) = proxy_h2(&up, &["--upstream-header-timeout", "1s"]);
    let started = Instant::now();
    let (said, _, _) = curl_h2(&server, "/sleep?3", &[], None);
    assert_eq!(said, "2 504");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "504 after {took:?}");
}
