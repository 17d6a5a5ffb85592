//! The TLS core against a real rustls client, over a non-blocking Unix socket
//! pair, with certificates made by rcgen under a test CA.
//!
//! The RSA and P-256 keys in `testdata/` are test-only keys made with
//! openssl, each in two encodings (PKCS#8, which rcgen reads to make the
//! certificate, and PKCS#1 / SEC1, which the server is given), because ring
//! cannot generate RSA keys and rcgen writes PKCS#8 only.
//!
//! This file holds the helpers; `session.rs` drives handshakes and data,
//! `config.rs` checks the startup errors and warnings.

mod config;
mod session;

use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::{CertPair, TlsSettings, TlsStream, server_config};

const RSA_PKCS8: &str = include_str!("../testdata/rsa2048.pkcs8.pem");
const RSA_PKCS1: &str = include_str!("../testdata/rsa2048.pkcs1.pem");
const P256_PKCS8: &str = include_str!("../testdata/p256.pkcs8.pem");
const P256_SEC1: &str = include_str!("../testdata/p256.sec1.pem");

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
