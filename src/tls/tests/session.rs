//! Handshakes and data against a rustls client: round trips, key kinds and
//! versions, ALPN, SNI, resumption, closing, and hostile or awkward input.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use rustls::client::{Resumption, Tls12Resumption};
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, HandshakeKind, ServerConfig};

use super::{Ca, Kind, TempDir, Throttled, Wire, settings, simple};
use crate::tls::{PENDING_LIMIT, TlsStream, server_config};

// Round trips

#[test]
fn plaintext_goes_both_ways() {
    let dir = TempDir::new("round-trip");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"h2", b"http/1.1"]));
    let mut wire = Wire::new(&config, &client, "localhost");
    wire.handshake().unwrap();
    wire.client_to_server(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let got = wire.server_to_client(&[head, b"hello"]);
    assert_eq!(got, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");

    let info = wire.server.info();
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.suite.starts_with("TLS13_"), "{}", info.suite);
    assert_eq!(info.sni.as_deref(), Some("localhost"));
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(!info.resumed);
    let hello = wire.server.hello().unwrap();
    assert_eq!(hello.sni.as_deref(), Some("localhost"));
    assert_eq!(hello.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
}

#[test]
fn every_key_kind_with_tls13_and_tls12() {
    let dir = TempDir::new("kinds");
    let ca = Ca::new();
    for kind in [Kind::Rsa, Kind::P256, Kind::Ed25519] {
        let (pair, der) = ca.leaf(&dir, &format!("{kind:?}"), &["localhost"], kind);
        let (config, _) = server_config(&settings(Some(pair), vec![])).unwrap();
        for (version, name) in [(&TLS13, "TLSv1.3"), (&TLS12, "TLSv1.2")] {
            let client = Arc::new(ca.client(&[version], &[b"http/1.1"]));
            let mut wire = Wire::new(&config, &client, "localhost");
            wire.handshake().unwrap_or_else(|e| panic!("{kind:?} {name}: {e}"));
            assert_eq!(wire.client.peer_certificates().unwrap()[0], der);
            assert_eq!(wire.server.info().version, name, "{kind:?}");
            assert_eq!(wire.server.info().alpn.as_deref(), Some(&b"http/1.1"[..]));
            wire.client_to_server(b"ping");
            assert_eq!(wire.server_to_client(&[b"pong"]), b"pong");
        }
    }
}

#[test]
fn no_alpn_offered_means_none_agreed() {
    let dir = TempDir::new("no-alpn");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[]));
    let mut wire = Wire::new(&config, &client, "localhost");
    wire.handshake().unwrap();
    assert_eq!(wire.server.info().alpn, None);
    assert_eq!(wire.server.hello().unwrap().alpn, Vec::<Vec<u8>>::new());
}

#[test]
fn no_common_protocol_fails_but_the_hello_is_kept_for_the_trace() {
    let dir = TempDir::new("alpn-h2-only");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"h2"]));
    let mut wire = Wire::new(&config, &client, "localhost");
    // RFC 7301 §3.2: no protocol in common is a fatal no_application_protocol alert.
    let err = wire.handshake().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    let hello = wire.server.hello().unwrap();
    assert_eq!(hello.sni.as_deref(), Some("localhost"));
    assert_eq!(hello.alpn, vec![b"h2".to_vec()]);
    assert!(wire.client_io().is_err(), "the client heard no alert");
}

#[test]
fn close_notify_both_ways() {
    let dir = TempDir::new("close");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));

    let mut wire = Wire::new(&config, &client, "localhost");
    wire.handshake().unwrap();
    wire.client.send_close_notify();
    wire.client_io().unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(wire.server.read(&mut wire.ss, &mut buf).unwrap(), 0);

    let mut wire = Wire::new(&config, &client, "localhost");
    wire.handshake().unwrap();
    wire.server.close(&mut wire.ss);
    assert!(!wire.server.wants_write());
    wire.client_io().unwrap();
    assert_eq!(wire.client.reader().read(&mut buf).unwrap(), 0);
}

#[test]
fn tcp_eof_without_close_notify_reads_as_the_end() {
    let dir = TempDir::new("eof");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));
    let mut wire = Wire::new(&config, &client, "localhost");
    wire.handshake().unwrap();
    wire.cs.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(wire.server.read(&mut wire.ss, &mut buf).unwrap(), 0);
}

// ---------------------------------------------------------------------------
// SNI

#[test]
fn sni_picks_exact_then_wildcard_then_default() {
    let dir = TempDir::new("sni");
    let ca = Ca::new();
    let (default, default_der) = ca.leaf(&dir, "default", &["default.test", "unknown.test"], Kind::P256);
    let (exact, exact_der) = ca.leaf(&dir, "exact", &["a.example.com"], Kind::Ed25519);
    let (wild, wild_der) = ca.leaf(&dir, "wild", &["*.example.com"], Kind::Rsa);
    let s = settings(Some(default), vec![("*.example.com", wild), ("A.Example.com.", exact)]);
    let (config, _) = server_config(&s).unwrap();
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));

    for (name, want, label) in [
        ("a.example.com", &exact_der, "exact"),
        ("b.example.com", &wild_der, "wildcard"),
        ("B.EXAMPLE.com", &wild_der, "wildcard, other case"),
        ("unknown.test", &default_der, "unknown name"),
    ] {
        let mut wire = Wire::new(&config, &client, name);
        wire.handshake().unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(&wire.client.peer_certificates().unwrap()[0], want, "{label}");
    }

    // A client that sends no name gets the default.
    let mut no_sni = ca.client(&[&TLS13], &[b"http/1.1"]);
    no_sni.enable_sni = false;
    let mut wire = Wire::new(&config, &Arc::new(no_sni), "default.test");
    wire.handshake().unwrap();
    assert_eq!(wire.client.peer_certificates().unwrap()[0], default_der);
    assert_eq!(wire.server.info().sni, None);
    assert_eq!(wire.server.hello().unwrap().sni, None);
}

#[test]
fn without_a_default_the_first_pair_serves_unknown_names() {
    let dir = TempDir::new("sni-first");
    let ca = Ca::new();
    let (first, first_der) = ca.leaf(&dir, "first", &["first.test", "unknown.test"], Kind::P256);
    let (second, _) = ca.leaf(&dir, "second", &["second.test"], Kind::P256);
    let (config, _) = server_config(&settings(None, vec![("first.test", first), ("second.test", second)])).unwrap();
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));
    let mut wire = Wire::new(&config, &client, "unknown.test");
    wire.handshake().unwrap();
    assert_eq!(wire.client.peer_certificates().unwrap()[0], first_der);
}

// ---------------------------------------------------------------------------
// Resumption

/// Two handshakes with one client config; the second must resume.
fn resumes(config: &Arc<ServerConfig>, client: ClientConfig) {
    let client = Arc::new(client);
    let mut first = Wire::new(config, &client, "localhost");
    first.handshake().unwrap();
    // TLS 1.3 tickets arrive after the handshake: let the client read them.
    first.client_to_server(b"x");
    first.server_to_client(&[b"y"]);
    assert_eq!(first.client.handshake_kind(), Some(HandshakeKind::Full));

    let mut second = Wire::new(config, &client, "localhost");
    second.handshake().unwrap();
    assert_eq!(second.client.handshake_kind(), Some(HandshakeKind::Resumed));
    assert!(second.server.info().resumed);
}

#[test]
fn tls13_resumes_with_a_ticket() {
    let dir = TempDir::new("resume13");
    let (ca, config, _) = simple(&dir);
    resumes(&config, ca.client(&[&TLS13], &[b"http/1.1"]));
}

#[test]
fn tls12_resumes_with_a_ticket_and_with_a_session_id() {
    let dir = TempDir::new("resume12");
    let (ca, config, _) = simple(&dir);
    resumes(&config, ca.client(&[&TLS12], &[b"http/1.1"]));
    // Without tickets the server's stateful cache does the work.
    let mut client = ca.client(&[&TLS12], &[b"http/1.1"]);
    client.resumption = Resumption::in_memory_sessions(8).tls12_resumption(Tls12Resumption::SessionIdOnly);
    resumes(&config, client);
}

// ---------------------------------------------------------------------------
// Hostile and awkward input

#[test]
fn garbage_instead_of_a_client_hello_is_invalid_data() {
    let dir = TempDir::new("garbage");
    let (_, config, _) = simple(&dir);
    for garbage in
        [&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5], &[0xff; 300]]
    {
        let (mut ss, mut cs) = UnixStream::pair().unwrap();
        ss.set_nonblocking(true).unwrap();
        let mut server = TlsStream::new(Arc::clone(&config)).unwrap();
        cs.write_all(garbage).unwrap();
        let mut buf = [0u8; 64];
        let err = server.read(&mut ss, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        // The session stays dead, without panicking.
        assert_eq!(server.read(&mut ss, &mut buf).unwrap_err().kind(), ErrorKind::InvalidData);
        assert!(server.write(&mut ss, &[b"x"]).is_err());
        assert!(server.flush(&mut ss).unwrap());
    }
}

#[test]
fn garbage_after_the_handshake_is_invalid_data_and_an_alert() {
    let dir = TempDir::new("garbage-late");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));
    let mut wire = Wire::new(&config, &client, "localhost");
    wire.handshake().unwrap();
    // An application-data record whose ciphertext does not decrypt.
    let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x20];
    record.extend_from_slice(&[0xaa; 32]);
    wire.cs.write_all(&record).unwrap();
    let mut buf = [0u8; 64];
    let err = wire.server.read(&mut wire.ss, &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    // The client hears a fatal alert (bad_record_mac, RFC 8446 §5.2).
    assert!(wire.client_io().is_err());
}

#[test]
fn a_client_hello_dribbled_one_byte_a_call_completes() {
    let dir = TempDir::new("dribble");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));
    let mut wire = Wire::new(&config, &client, "localhost");
    let mut hello = Vec::new();
    while wire.client.wants_write() {
        wire.client.write_tls(&mut hello).unwrap();
    }
    assert!(hello.len() > 100);
    let mut buf = [0u8; 64];
    for byte in &hello {
        wire.cs.write_all(std::slice::from_ref(byte)).unwrap();
        let err = wire.server.read(&mut wire.ss, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
    }
    assert!(wire.server.hello().is_some());
    wire.handshake().unwrap();
    wire.client_to_server(b"after a slow hello");
}

#[test]
fn a_large_write_respects_would_block_and_bounds_pending_ciphertext() {
    let dir = TempDir::new("large");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));
    let mut wire = Wire::new(&config, &client, "localhost");
    wire.handshake().unwrap();
    let body: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();

    // A socket that takes nothing: write takes at most about PENDING_LIMIT,
    // then says WouldBlock.
    let mut full = Throttled { inner: &mut wire.ss, budget: 0 };
    let mut taken = 0;
    while taken < body.len() {
        match wire.server.write(&mut full, &[&body[taken..]]) {
            Ok(n) => taken += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(taken > 0 && taken <= PENDING_LIMIT, "took {taken} with the socket full");
    assert!(wire.server.wants_write());
    assert!(!wire.server.flush(&mut full).unwrap());

    // Then a socket that takes 10 KiB a turn, and a reader: all arrives.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while got.len() < body.len() {
        let mut slow = Throttled { inner: &mut wire.ss, budget: 10 * 1024 };
        if taken < body.len() {
            match wire.server.write(&mut slow, &[&body[taken..]]) {
                Ok(n) => taken += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        } else {
            wire.server.flush(&mut slow).unwrap();
        }
        wire.client_io().unwrap();
        while let Ok(n) = wire.client.reader().read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(got == body, "the body arrived changed");
    assert!(wire.server.flush(&mut wire.ss).unwrap());
}

#[test]
fn eof_during_the_handshake_reads_as_the_end() {
    let dir = TempDir::new("eof-handshake");
    let (ca, config, _) = simple(&dir);
    let client = Arc::new(ca.client(&[&TLS13], &[b"http/1.1"]));
    let mut buf = [0u8; 64];

    // Half a ClientHello, then EOF.
    let mut wire = Wire::new(&config, &client, "localhost");
    let mut hello = Vec::new();
    while wire.client.wants_write() {
        wire.client.write_tls(&mut hello).unwrap();
    }
    wire.cs.write_all(&hello[..hello.len() / 2]).unwrap();
    wire.cs.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(wire.server.read(&mut wire.ss, &mut buf).unwrap(), 0);

    // A whole ClientHello, then EOF before the client's Finished.
    let mut wire = Wire::new(&config, &client, "localhost");
    wire.client_io().unwrap();
    wire.cs.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(wire.server.read(&mut wire.ss, &mut buf).unwrap(), 0);
    assert!(wire.server.hello().is_some());
    assert!(wire.server.is_handshaking());
}
