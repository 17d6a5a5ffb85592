//! Certificate mistakes are found at startup, before any socket is opened:
//! exit status 2 and one plain line on stderr naming the file. An expired
//! certificate is only a warning: the server starts and serves it.

use std::process::{Command, Output};

use super::*;

/// Run wired with a TLS listener and these certificate flags; it must not
/// keep running.
fn wired(site: &Site, flags: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wired"));
    cmd.args(["--listen-tls", "127.0.0.1:0", "--root"]).arg(&site.root).args(flags);
    run_bounded(&mut cmd, Duration::from_secs(10))
}

/// wired refused to start with exit status 2 and said exactly one line,
/// which contains every one of `words`.
fn refused(out: &Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status 2: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(lines[0].starts_with("wired: "), "{stderr}");
    for word in words {
        assert!(lines[0].contains(word), "{word:?} not in {stderr:?}");
    }
    assert!(out.stdout.is_empty(), "nothing listens: {}", String::from_utf8_lossy(&out.stdout));
}

fn cert_and_key(cert: &std::path::Path, key: &std::path::Path) -> Vec<String> {
    vec!["--tls-cert".into(), path(cert), "--tls-key".into(), path(key)]
}

#[test]
fn a_missing_certificate_file_is_refused() {
    let site = Site::new("start-missing");
    let missing = site.tree.join("missing.pem");
    refused(&wired(&site, &cert_and_key(&missing, &site.localhost.key)), &["cannot read", &path(&missing)]);
}

#[test]
fn a_pem_without_a_key_is_refused() {
    let site = Site::new("start-nokey");
    let cert = &site.localhost.cert;
    refused(&wired(&site, &cert_and_key(cert, cert)), &[&path(cert), "holds no PEM private key"]);
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let site = Site::new("start-mismatch");
    let out = wired(&site, &cert_and_key(&site.localhost.cert, &site.a.key));
    refused(&out, &["does not match", &path(&site.a.key), &path(&site.localhost.cert)]);
}

#[test]
fn a_name_the_certificate_does_not_cover_is_refused() {
    let site = Site::new("start-uncovered");
    let mut flags = cert_and_key(&site.localhost.cert, &site.localhost.key);
    flags.push("--tls-cert-for".into());
    flags.push(format!("b.test={},{}", path(&site.a.cert), path(&site.a.key)));
    refused(&wired(&site, &flags), &["does not cover b.test", "a.test", &path(&site.a.cert)]);
    // A wildcard covers one label, not two.
    let mut flags = cert_and_key(&site.localhost.cert, &site.localhost.key);
    flags.push("--tls-cert-for".into());
    flags.push(format!("a.b.wild.test={},{}", path(&site.wild.cert), path(&site.wild.key)));
    refused(&wired(&site, &flags), &["does not cover a.b.wild.test"]);
}

#[test]
fn an_expired_certificate_starts_with_a_warning_and_serves() {
    let site = Site::new("start-expired");
    let expired = site.leaf("expired", &["localhost"], Key::P256, |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let mut args = vec!["--listen-tls", "127.0.0.1:0"];
    let flags = cert_and_key(&expired.cert, &expired.key);
    args.extend(flags.iter().map(String::as_str));
    let server = Server::start(&site.root, &args);
    let start = std::time::Instant::now();
    let warned =
        || server.stderr.lock().unwrap().iter().any(|l| l.contains("has expired") && l.contains("expired.crt"));
    while !warned() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(warned(), "a warning: {:?}", server.stderr.lock().unwrap());

    let url = format!("https://localhost:{}/hello.txt", tls_port(&server));
    let resolve = format!("localhost:{}:127.0.0.1", tls_port(&server));
    let mut strict = Command::new("curl");
    strict.args(["-sS", "--cacert", &path(&site.ca), "--resolve", &resolve, &url]);
    let out = run_bounded(&mut strict, Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate has expired"), "{out:?}");
    let mut lenient = Command::new("curl");
    lenient.args(["-sS", "--insecure", "--resolve", &resolve, &url]);
    let out = run_bounded(&mut lenient, Duration::from_secs(10));
    assert_eq!(String::from_utf8_lossy(&out.stdout), HELLO, "served: {out:?}");
}
