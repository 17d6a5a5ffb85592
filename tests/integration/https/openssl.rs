//! `openssl s_client` (the system's OpenSSL): which protocol versions the
//! server accepts, the ALPN it chooses, the certificate SNI picks, and
//! session resumption, as s_client reports them.

use std::process::Command;

use super::*;

/// The request s_client sends when it must stay for the server's answer
/// (and so for a TLS 1.3 session ticket, which comes after the handshake).
const REQUEST: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// `openssl s_client -connect 127.0.0.1:PORT ARGS`; with `request`, it is
/// sent and s_client waits for the server to close. Whether s_client
/// succeeded, and everything it printed. (After a request its status is
/// 1 while the server closes without `close_notify`: see
/// [`a_closing_server_sends_close_notify`].)
fn s_client(server: &Server, args: &[&str], request: bool) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &server.tls_addr.unwrap().to_string()]).args(args);
    if request {
        cmd.arg("-ign_eof");
    }
    let out = run_bounded_with_input(&mut cmd, request.then_some(REQUEST), Duration::from_secs(10));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn tls_1_0_and_1_1_are_refused_1_2_and_1_3_accepted() {
    let site = Site::new("versions");
    let server = site.start(&[]);
    for old in ["-tls1", "-tls1_1"] {
        // SECLEVEL=0, or OpenSSL 3 would not even offer these versions.
        let (ok, text) = s_client(&server, &[old, "-cipher", "DEFAULT@SECLEVEL=0"], false);
        assert!(!ok, "{old} was accepted:\n{text}");
        // RFC 8446 §4.2.1 asks for a protocol_version alert; rustls sends
        // handshake_failure. Either way the client is told no.
        assert!(text.contains("alert protocol version") || text.contains("alert handshake failure"), "{old}:\n{text}");
        assert!(text.contains("New, (NONE), Cipher is (NONE)"), "{old}: no cipher agreed:\n{text}");
    }
    for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let (_, text) = s_client(&server, &[flag, "-CAfile", site.ca.to_str().unwrap()], true);
        assert!(text.contains(&format!("New, {version}, Cipher is ")), "{flag}:\n{text}");
        assert!(text.contains("Verify return code: 0 (ok)"), "{flag}: verified against the test CA:\n{text}");
        assert!(text.contains("HTTP/1.1 200 OK") && text.contains(HELLO), "{flag}: the answer:\n{text}");
    }
    assert_eq!(tls_get(&site, &server, "/hello.txt").status, 200, "still serving");
}

#[test]
fn alpn_chooses_http_1_1() {
    let site = Site::new("alpn");
    let server = site.start(&[]);
    let (ok, text) = s_client(&server, &["-alpn", "h2,http/1.1"], false);
    assert!(ok, "{text}");
    assert!(text.contains("ALPN protocol: http/1.1"), "{text}");
    // A client that offers only protocols the server does not speak is
    // refused (RFC 7301 §3.2, no_application_protocol).
    let (ok, text) = s_client(&server, &["-alpn", "h2"], false);
    assert!(!ok && text.contains("no application protocol"), "{text}");
}

#[test]
fn sni_picks_the_certificate() {
    let site = Site::new("sni");
    let server = site.start(&[]);
    for (sni, subject) in [
        (Some("a.test"), "a.test"),
        (Some("x.wild.test"), "*.wild.test"),
        (Some("X.Wild.Test"), "*.wild.test"),
        (Some("rsa.test"), "rsa.test"),
        (Some("ed.test"), "ed.test"),
        (Some("deep.x.wild.test"), "localhost"),
        (Some("unknown.test"), "localhost"),
        (None, "localhost"),
    ] {
        let args = match sni {
            Some(name) => vec!["-servername", name],
            None => vec!["-noservername"],
        };
        let (ok, text) = s_client(&server, &args, false);
        assert!(ok, "{sni:?}:\n{text}");
        assert!(text.contains(&format!("subject=CN = {subject}\n")), "{sni:?} should get {subject}:\n{text}");
    }
    let (_, text) = s_client(&server, &["-servername", "rsa.test"], false);
    assert!(text.contains("Server public key is 2048 bit"), "{text}");
    let (_, text) = s_client(&server, &["-servername", "ed.test"], false);
    assert!(text.contains("Peer signature type: ed25519"), "{text}");
}

#[test]
fn sessions_resume_over_tls_1_3_and_1_2() {
    let site = Site::new("resume");
    let server = site.start(&[]);
    for flag in ["-tls1_3", "-tls1_2"] {
        let session = site.tree.join(&format!("session{flag}"));
        let session = session.to_str().unwrap();
        let (_, first) = s_client(&server, &[flag, "-servername", "localhost", "-sess_out", session], true);
        assert!(first.contains("\nNew, TLSv1."), "{flag}: a full handshake first:\n{first}");
        let (_, second) = s_client(&server, &[flag, "-servername", "localhost", "-sess_in", session], true);
        assert!(second.contains("\nReused, TLSv1."), "{flag}: the session was not resumed:\n{second}");
        assert!(second.contains(HELLO), "{flag}: a resumed session serves:\n{second}");
    }
}

#[test]
fn a_closing_server_sends_close_notify() {
    let site = Site::new("close-notify");
    let server = site.start(&[]);
    for flag in ["-tls1_3", "-tls1_2"] {
        let (ok, text) = s_client(&server, &[flag, "-msg"], true);
        assert!(text.contains(HELLO), "{flag}: the answer:\n{text}");
        // RFC 8446 §6.1: each party MUST send a close_notify before closing its write side.
        assert!(text.contains("<<< TLS 1.") && text.contains("warning close_notify"), "{flag}:\n{text}");
        assert!(!text.contains("unexpected eof while reading"), "{flag}: a truncation, as OpenSSL sees it:\n{text}");
        assert!(ok, "{flag}: s_client ends cleanly:\n{text}");
    }
    // rustls sees the same: a clean end of stream, not UnexpectedEof.
    let (conn, sock) = tls_session(&site, &server);
    let mut tls = StreamOwned::new(conn, sock);
    write!(tls, "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut tls, false).unwrap().text(), HELLO);
    let mut rest = Vec::new();
    let end = std::io::Read::read_to_end(&mut tls, &mut rest);
    assert!(end.is_ok(), "the end of the TLS stream: {end:?}");
}
