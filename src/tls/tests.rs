//! The TLS core against a real rustls client, over a non-blocking Unix socket
//! pair, with certificates made by rcgen under a test CA.
//!
//! The RSA and P-256 keys in `testdata/` are test-only keys made with
//! openssl, each in two encodings (PKCS#8, which rcgen reads to make the
//! certificate, and PKCS#1 / SEC1, which the server is given), because ring
//! cannot generate RSA keys and rcgen writes PKCS#8 only.

use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::version::{TLS12, TLS13};
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};

use super::{CertPair, PENDING_LIMIT, TlsSettings, TlsStream, server_config};

const RSA_PKCS8: &str = include_str!("testdata/rsa2048.pkcs8.pem");
const RSA_PKCS1: &str = include_str!("testdata/rsa2048.pkcs1.pem");
const P256_PKCS8: &str = include_str!("testdata/p256.pkcs8.pem");
const P256_SEC1: &str = include_str!("testdata/p256.sec1.pem");

// ---------------------------------------------------------------------------
// Certificates and files

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("wired-tls-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The kinds of key a certificate can have, with the encoding the server reads.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// RSA 2048, given to the server as PKCS#1.
    Rsa,
    /// ECDSA P-256, given to the server as SEC1.
    P256,
    /// Ed25519, generated, given to the server as PKCS#8.
    Ed25519,
}

/// A test CA.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "wired test CA");
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        Ca { params, key, der }
    }

    /// A leaf for `names`, written to `dir` as `<stem>.crt` and `<stem>.key`.
    fn leaf(&self, dir: &TempDir, stem: &str, names: &[&str], kind: Kind) -> (CertPair, CertificateDer<'static>) {
        self.leaf_with(dir, stem, names, kind, |_| {})
    }

    fn leaf_with(
        &self,
        dir: &TempDir,
        stem: &str,
        names: &[&str],
        kind: Kind,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> (CertPair, CertificateDer<'static>) {
        let (key, key_pem) = match kind {
            Kind::Rsa => (KeyPair::from_pem(RSA_PKCS8).unwrap(), RSA_PKCS1.to_string()),
            Kind::P256 => (KeyPair::from_pem(P256_PKCS8).unwrap(), P256_SEC1.to_string()),
            Kind::Ed25519 => {
                let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
                let pem = key.serialize_pem();
                (key, pem)
            }
        };
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        edit(&mut params);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let pair = CertPair {
            cert: dir.write(&format!("{stem}.crt"), cert.pem().as_bytes()),
            key: dir.write(&format!("{stem}.key"), key_pem.as_bytes()),
        };
        (pair, cert.der().clone())
    }

    fn client(&self, versions: &[&'static SupportedProtocolVersion], alpn: &[&[u8]]) -> ClientConfig {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
    }
}

fn settings(default: Option<CertPair>, by_name: Vec<(&str, CertPair)>) -> TlsSettings {
    TlsSettings { default, by_name: by_name.into_iter().map(|(n, p)| (n.to_string(), p)).collect(), ocsp: None }
}

// ---------------------------------------------------------------------------
// Driving a client and the server over a socket pair

/// A socket that takes at most `budget` bytes, then says `WouldBlock`, as a
/// full send buffer does.
struct Throttled<'a> {
    inner: &'a mut UnixStream,
    budget: usize,
}

impl Read for Throttled<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Write for Throttled<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = self.inner.write(&buf[..buf.len().min(self.budget)])?;
        self.budget -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A client connection and a server session on the two ends of a socket pair.
struct Wire {
    server: TlsStream,
    ss: UnixStream,
    client: ClientConnection,
    cs: UnixStream,
}

impl Wire {
    fn new(config: &Arc<ServerConfig>, client: &Arc<ClientConfig>, name: &str) -> Wire {
        let (ss, cs) = UnixStream::pair().unwrap();
        ss.set_nonblocking(true).unwrap();
        cs.set_nonblocking(true).unwrap();
        let name = ServerName::try_from(name.to_string()).unwrap();
        Wire {
            server: TlsStream::new(Arc::clone(config)).unwrap(),
            ss,
            client: ClientConnection::new(Arc::clone(client), name).unwrap(),
            cs,
        }
    }

    /// The client sends what it has and reads what has come.
    fn client_io(&mut self) -> Result<(), rustls::Error> {
        while self.client.wants_write() {
            match self.client.write_tls(&mut self.cs) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("client write: {e}"),
            }
        }
        loop {
            match self.client.read_tls(&mut self.cs) {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    self.client.process_new_packets()?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => panic!("client read: {e}"),
            }
        }
    }

    /// Both sides' handshake, then the tickets that follow it.
    fn handshake(&mut self) -> io::Result<()> {
        for _ in 0..100 {
            self.client_io().map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
            let mut buf = [0u8; 64];
            match self.server.read(&mut self.ss, &mut buf) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => panic!("{n} bytes of plaintext during the handshake"),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if !self.client.is_handshaking() && !self.server.is_handshaking() && !self.server.wants_write() {
                self.client_io().map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
                return Ok(());
            }
        }
        Err(io::Error::other("handshake did not finish"))
    }

    /// The client sends `data`; the server reads exactly that.
    fn client_to_server(&mut self, data: &[u8]) {
        self.client.writer().write_all(data).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1000];
        for _ in 0..10_000 {
            if got.len() == data.len() {
                break;
            }
            self.client_io().unwrap();
            match self.server.read(&mut self.ss, &mut buf) {
                Ok(0) => panic!("server saw the end after {} bytes", got.len()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("server read: {e}"),
            }
        }
        assert_eq!(got, data);
    }

    /// The server sends `bufs`; the client reads all of it. Returns the most
    /// plaintext `write` ever took while the socket would take nothing.
    fn server_to_client(&mut self, bufs: &[&[u8]]) -> Vec<u8> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut sent = 0;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < total {
            if sent < total {
                let rest = rest_of(bufs, sent);
                let slices: Vec<&[u8]> = rest.iter().map(|b| &b[..]).collect();
                match self.server.write(&mut self.ss, &slices) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("server write: {e}"),
                }
            } else {
                self.server.flush(&mut self.ss).unwrap();
            }
            self.client_io().unwrap();
            loop {
                match self.client.reader().read(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("client read: {e}"),
                }
            }
        }
        got
    }
}

/// `bufs` without its first `skip` bytes.
fn rest_of<'a>(bufs: &[&'a [u8]], mut skip: usize) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    for b in bufs {
        if skip >= b.len() {
            skip -= b.len();
        } else {
            out.push(&b[skip..]);
            skip = 0;
        }
    }
    out
}

/// A CA, one ECDSA leaf for `localhost` as the default, and its config.
fn simple(dir: &TempDir) -> (Ca, Arc<ServerConfig>, CertificateDer<'static>) {
    let ca = Ca::new();
    let (pair, der) = ca.leaf(dir, "localhost", &["localhost"], Kind::P256);
    let (config, warnings) = server_config(&settings(Some(pair), vec![])).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    (ca, config, der)
}

// ---------------------------------------------------------------------------
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
    client.resumption =
        Resumption::in_memory_sessions(8).tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly);
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

// ---------------------------------------------------------------------------
// Configuration errors and warnings

fn error(s: &TlsSettings) -> String {
    match server_config(s) {
        Ok(_) => panic!("the config was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_missing_file_is_named() {
    let dir = TempDir::new("missing");
    let pair = CertPair { cert: dir.0.join("nope.crt"), key: dir.0.join("nope.key") };
    let msg = error(&settings(Some(pair), vec![]));
    assert!(msg.starts_with("cannot read ") && msg.contains("nope.crt"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn pem_without_a_certificate_or_without_a_key_is_named() {
    let dir = TempDir::new("no-pem");
    let ca = Ca::new();
    let (pair, _) = ca.leaf(&dir, "leaf", &["localhost"], Kind::P256);

    let swapped = CertPair { cert: pair.key.clone(), key: pair.key.clone() };
    let msg = error(&settings(Some(swapped), vec![]));
    assert_eq!(msg, format!("{} holds no PEM certificate", pair.key.display()));

    let no_key = CertPair { cert: pair.cert.clone(), key: pair.cert.clone() };
    let msg = error(&settings(Some(no_key), vec![]));
    assert_eq!(msg, format!("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", pair.cert.display()));

    assert_eq!(error(&settings(None, vec![])), "TLS needs at least one certificate and key");
}

#[test]
fn one_file_may_hold_both_certificate_and_key() {
    let dir = TempDir::new("combined");
    let ca = Ca::new();
    let (pair, _) = ca.leaf(&dir, "leaf", &["localhost"], Kind::Rsa);
    let mut both = std::fs::read(&pair.cert).unwrap();
    both.extend_from_slice(&std::fs::read(&pair.key).unwrap());
    let path = dir.write("both.pem", &both);
    server_config(&settings(Some(CertPair { cert: path.clone(), key: path }), vec![])).unwrap();
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let dir = TempDir::new("mismatch");
    let ca = Ca::new();
    let (a, _) = ca.leaf(&dir, "a", &["localhost"], Kind::P256);
    let (b, _) = ca.leaf(&dir, "b", &["localhost"], Kind::Ed25519);
    let msg = error(&settings(Some(CertPair { cert: a.cert.clone(), key: b.key.clone() }), vec![]));
    assert_eq!(
        msg,
        format!("the private key in {} does not match the certificate in {}", b.key.display(), a.cert.display())
    );
}

#[test]
fn a_name_the_certificate_does_not_cover_is_refused() {
    let dir = TempDir::new("uncovered");
    let ca = Ca::new();
    let (wild, _) = ca.leaf(&dir, "wild", &["*.example.com"], Kind::P256);
    for name in ["example.com", "a.b.example.com", "other.test"] {
        let msg = error(&settings(None, vec![(name, wild.clone())]));
        assert_eq!(
            msg,
            format!("the certificate in {} does not cover {name} (its DNS names: *.example.com)", wild.cert.display())
        );
    }
    server_config(&settings(None, vec![("www.example.com", wild.clone())])).unwrap();
    server_config(&settings(None, vec![("*.example.com", wild)])).unwrap();
}

#[test]
fn an_expired_or_future_certificate_is_a_warning() {
    let dir = TempDir::new("expired");
    let ca = Ca::new();
    let (old, _) = ca.leaf_with(&dir, "old", &["localhost"], Kind::P256, |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (config, warnings) = server_config(&settings(Some(old.clone()), vec![])).unwrap();
    assert_eq!(warnings, vec![format!("the certificate in {} has expired", old.cert.display())]);
    drop(config);

    let (future, _) = ca.leaf_with(&dir, "future", &["localhost"], Kind::P256, |p| {
        p.not_before = rcgen::date_time_ymd(4000, 1, 1);
        p.not_after = rcgen::date_time_ymd(4001, 1, 1);
    });
    let (_, warnings) = server_config(&settings(Some(future.clone()), vec![])).unwrap();
    assert_eq!(warnings, vec![format!("the certificate in {} is not valid yet", future.cert.display())]);
}

/// Verifies as usual, and keeps the OCSP response the server stapled.
#[derive(Debug)]
struct OcspRecorder {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl ServerCertVerifier for OcspRecorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = ocsp.to_vec();
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[test]
fn an_ocsp_response_is_read_at_startup_and_stapled() {
    let dir = TempDir::new("ocsp");
    let ca = Ca::new();
    let (pair, _) = ca.leaf(&dir, "leaf", &["localhost"], Kind::P256);
    let mut s = settings(Some(pair), vec![]);
    s.ocsp = Some(dir.0.join("missing.der"));
    let msg = error(&s);
    assert!(msg.starts_with("cannot read ") && msg.contains("missing.der"), "{msg}");

    // Not a real OCSP response: rustls staples the bytes without reading them.
    let response = b"\x30\x03\x0a\x01\x00 stand-in OCSP response";
    s.ocsp = Some(dir.write("ocsp.der", response));
    let (config, _) = server_config(&s).unwrap();
    for version in [&TLS13, &TLS12] {
        let mut roots = RootCertStore::empty();
        roots.add(ca.der.clone()).unwrap();
        let inner = WebPkiServerVerifier::builder(Arc::new(roots)).build().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut client = ca.client(&[version], &[b"http/1.1"]);
        client.dangerous().set_certificate_verifier(Arc::new(OcspRecorder { inner, seen: Arc::clone(&seen) }));
        let mut wire = Wire::new(&config, &Arc::new(client), "localhost");
        wire.handshake().unwrap();
        assert_eq!(&seen.lock().unwrap()[..], &response[..], "{version:?}");
    }
}
