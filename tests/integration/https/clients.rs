//! curl and Python's `ssl` module over HTTPS, verifying the server against
//! the test CA only (`--cacert`, `cafile=`): what a user's first check is.

use std::process::Command;

use super::*;

/// `curl --http1.1 -sS --cacert CA -D - ARGS URLS…` with every name used
/// here resolved to 127.0.0.1 on the TLS port; curl's output (stdout: the
/// heads, and bodies unless `-o` sends them elsewhere; stderr: `-v` lines).
fn curl(site: &Site, server: &Server, args: &[&str], paths: &[&str]) -> (String, String) {
    let port = tls_port(server);
    let mut cmd = Command::new("curl");
    cmd.args(["--http1.1", "-sS", "-D", "-", "--cacert"]).arg(&site.ca);
    for name in ["localhost", "a.test", "x.wild.test", "rsa.test", "ed.test"] {
        cmd.arg("--resolve").arg(format!("{name}:{port}:127.0.0.1"));
    }
    cmd.args(args);
    let urls: Vec<String> = paths
        .iter()
        .map(|p| if p.starts_with('/') { format!("https://localhost:{port}{p}") } else { format!("https://{p}") })
        .collect();
    cmd.args(&urls);
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "curl {args:?} {urls:?}: {stderr}");
    (stdout, stderr)
}

/// A field of the (last) head curl printed.
fn field<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().filter_map(|l| l.split_once(':')).rfind(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

#[test]
fn curl_get_head_range_and_not_modified() {
    let site = Site::new("curl-basics");
    let server = site.start(&[]);

    let (out, _) = curl(&site, &server, &[], &["/"]);
    assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
    assert!(out.ends_with(INDEX), "the page's bytes: {out}");

    let (head, _) = curl(&site, &server, &["-I"], &["/hello.txt"]);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(field(&head, "content-length"), Some("13"));
    assert!(head.ends_with("\r\n\r\n"), "HEAD: a head and nothing after it: {head:?}");

    let (out, _) = curl(&site, &server, &["-r", "3-7"], &["/hello.txt"]);
    assert!(out.starts_with("HTTP/1.1 206 "), "{out}");
    assert_eq!(field(&out, "content-range"), Some("bytes 3-7/13"));
    assert!(out.ends_with("\r\n\r\nlo, w"), "exactly bytes 3 to 7: {out:?}");

    let etag = field(&out, "etag").expect("an ETag").to_string();
    let (out, _) = curl(&site, &server, &["-H", &format!("If-None-Match: {etag}")], &["/hello.txt"]);
    assert!(out.starts_with("HTTP/1.1 304 "), "{out}");
    assert!(out.ends_with("\r\n\r\n"), "a 304 has no body: {out:?}");
}

#[test]
fn curl_downloads_48_mib_byte_exact() {
    let site = Site::new("curl-big");
    let big: Vec<u8> = {
        // xorshift64: every 8 bytes differ, so a lost or repeated record shows.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..48 * 1024 * 1024 / 8)
            .flat_map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()
            })
            .collect()
    };
    fs::write(site.root.join("big.bin"), &big).unwrap();
    let server = site.start(&[]);
    let saved = site.tree.join("big.out");
    let (head, _) = curl(&site, &server, &["-o", saved.to_str().unwrap()], &["/big.bin"]);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(field(&head, "content-length"), Some(big.len().to_string().as_str()));
    let got = fs::read(&saved).unwrap();
    assert_eq!(got.len(), big.len(), "length of curl's download");
    let first_difference = got.iter().zip(&big).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "curl's download differs from the file");
}

#[test]
fn curl_reuses_the_connection_and_agrees_on_http_1_1() {
    let site = Site::new("curl-reuse");
    let server = site.start(&[]);
    let (out, verbose) = curl(&site, &server, &["-v"], &["/hello.txt", "/"]);
    assert!(verbose.contains("ALPN: server accepted http/1.1"), "{verbose}");
    assert!(verbose.contains("Re-using existing connection"), "one connection for both URLs:\n{verbose}");
    assert_eq!(verbose.matches("SSL connection using").count(), 1, "one handshake:\n{verbose}");
    assert!(out.contains(HELLO) && out.ends_with(INDEX), "{out}");
}

#[test]
fn curl_trusts_every_certificate_kind_by_name() {
    let site = Site::new("curl-kinds");
    let server = site.start(&[]);
    let port = tls_port(&server);
    for name in ["localhost", "a.test", "x.wild.test", "rsa.test", "ed.test"] {
        let (out, verbose) = curl(&site, &server, &["-v"], &[&format!("{name}:{port}/hello.txt")]);
        assert!(out.starts_with("HTTP/1.1 200 ") && out.ends_with(HELLO), "{name}: {out}");
        assert!(verbose.contains(&format!("subject: CN={}", name.replace("x.", "*."))), "{name}: {verbose}");
    }
    // A name no certificate covers gets the default one, which curl refuses.
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--cacert"]).arg(&site.ca).arg("--resolve").arg(format!("nobody.test:{port}:127.0.0.1"));
    let out = run_bounded(cmd.arg(format!("https://nobody.test:{port}/")), Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(60), "curl's 'peer certificate cannot be authenticated': {stderr}");
    assert!(stderr.contains("nobody.test"), "{stderr}");
}

/// Python: one GET over TLS to `localhost` with the CA, through a default
/// context (TLS 1.3) and one capped at TLS 1.2; then a wrong name, refused.
const PYTHON_CLIENT: &str = r#"
import socket, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]

def get(ctx, name):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            version, alpn = s.version(), s.selected_alpn_protocol()
            s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            status = data.split(b"\r\n")[0].decode()
            print(version, alpn, status, "|", data.split(b"\r\n\r\n", 1)[1].decode().strip())

ctx = ssl.create_default_context(cafile=cafile)
ctx.set_alpn_protocols(["http/1.1"])
get(ctx, "localhost")
tls12 = ssl.create_default_context(cafile=cafile)
tls12.maximum_version = ssl.TLSVersion.TLSv1_2
get(tls12, "localhost")
try:
    get(ctx, "elsewhere.example")
except ssl.SSLCertVerificationError as e:
    print("refused:", e.verify_message)
"#;

#[test]
fn python_ssl_gets_over_tls_1_3_and_1_2() {
    let site = Site::new("python");
    let server = site.start(&[]);
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(PYTHON_CLIENT).arg(tls_port(&server).to_string()).arg(&site.ca);
    let out = run_bounded(&mut cmd, Duration::from_secs(20));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "TLSv1.3 http/1.1 HTTP/1.1 200 OK | hello, world",
            "TLSv1.2 None HTTP/1.1 200 OK | hello, world",
            "refused: Hostname mismatch, certificate is not valid for 'elsewhere.example'."
        ],
        "{stdout}"
    );
}

#[test]
fn hsts_is_sent_over_tls_with_security_headers() {
    let site = Site::new("hsts");
    let server = site.start(&["--security-headers"]);
    let r = tls_get(&site, &server, "/");
    assert_eq!(r.status, 200);
    // RFC 6797 §7.1: over a secure transport, the policy for a year.
    assert_eq!(r.header("strict-transport-security"), Some("max-age=31536000"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}
