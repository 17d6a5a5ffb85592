//! HTTPS (issue 14's proof): the real binary on ephemeral loopback ports,
//! spoken to by the clients people use — curl, Python's `ssl`, `openssl
//! s_client`, headless Chromium — and by hostile ones written here with
//! rustls. Each test makes its own small PKI in a temporary directory (see
//! [`Site`]): a CA, and leaf certificates of every key kind the server reads.
//!
//! One file per topic: [`clients`] (curl and Python), [`openssl`] (versions,
//! ALPN, SNI and resumption as `s_client` reports them), [`browser`]
//! (Chromium trusting the test CA through its NSS database), [`hostile`]
//! (dribbled, stalled, garbage and reset handshakes, and a churn of them),
//! [`startup`] (certificate mistakes found before any socket opens), and
//! [`plain_side`] (`--redirect-https`, `--access-log-tls`, `--trace`).

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::common::*;

pub(crate) mod browser;
mod clients;
mod hostile;
mod openssl;
mod plain_side;
mod startup;

/// A test-only RSA key (ring cannot make one; see src/tls/testdata/README):
/// PKCS#8 for rcgen to certify, PKCS#1 for the server to read.
const RSA_PKCS8: &str = include_str!("../../src/tls/testdata/rsa2048.pkcs8.pem");
const RSA_PKCS1: &str = include_str!("../../src/tls/testdata/rsa2048.pkcs1.pem");

/// The page every site serves at `/`, and the text a browser must show.
const INDEX: &str = "<!doctype html><title>wired over TLS</title><h1>Hello over TLS</h1>\n";
const HELLO: &str = "hello, world\n";

/// The kinds of key a leaf certificate can have.
#[derive(Debug, Clone, Copy)]
enum Key {
    /// ECDSA P-256, generated, PKCS#8.
    P256,
    /// RSA 2048 from the committed test key, PKCS#1.
    Rsa,
    /// Ed25519, generated, PKCS#8.
    Ed25519,
}

/// A certificate file and its key file.
#[derive(Debug, Clone)]
struct Pair {
    cert: PathBuf,
    key: PathBuf,
}

/// A temporary directory with a document root and a PKI: a CA (`ca.pem`)
/// and leaves for `localhost` + 127.0.0.1 (the default, P-256), `a.test`
/// (P-256), `*.wild.test` (P-256), `rsa.test` (RSA) and `ed.test` (Ed25519).
/// Each leaf's subject CN is its first name, so `s_client` shows which one
/// was sent. Removed when dropped.
pub(crate) struct Site {
    pub(crate) tree: TempTree,
    pub(crate) root: PathBuf,
    pub(crate) ca: PathBuf,
    ca_der: CertificateDer<'static>,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    localhost: Pair,
    a: Pair,
    wild: Pair,
    rsa: Pair,
    ed: Pair,
}

/// Valid from a day ago for 30 days: browsers look at the dates, and
/// rcgen's default (1975 to 4096) is not what a real CA issues.
fn valid_now(p: &mut CertificateParams) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let day = Duration::from_secs(86_400);
    p.not_before = rcgen::date_time_ymd(1970, 1, 1) + (now - day);
    p.not_after = rcgen::date_time_ymd(1970, 1, 1) + (now + 30 * day);
}

impl Site {
    pub(crate) fn new(name: &str) -> Site {
        let tree = TempTree::new(&format!("https-{name}"));
        let root = tree.join("root");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("index.html"), INDEX).unwrap();
        fs::write(root.join("hello.txt"), HELLO).unwrap();

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "wired test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        valid_now(&mut ca_params);
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca = tree.join("ca.pem");
        fs::write(&ca, ca_cert.pem()).unwrap();
        let ca_der = ca_cert.der().clone();

        let mut site = Site {
            ca,
            ca_der,
            ca_params,
            ca_key,
            localhost: Pair { cert: PathBuf::new(), key: PathBuf::new() },
            a: Pair { cert: PathBuf::new(), key: PathBuf::new() },
            wild: Pair { cert: PathBuf::new(), key: PathBuf::new() },
            rsa: Pair { cert: PathBuf::new(), key: PathBuf::new() },
            ed: Pair { cert: PathBuf::new(), key: PathBuf::new() },
            tree,
            root,
        };
        site.localhost = site.leaf("localhost", &["localhost", "127.0.0.1"], Key::P256, valid_now);
        site.a = site.leaf("a", &["a.test"], Key::P256, valid_now);
        site.wild = site.leaf("wild", &["*.wild.test"], Key::P256, valid_now);
        site.rsa = site.leaf("rsa", &["rsa.test"], Key::Rsa, valid_now);
        site.ed = site.leaf("ed", &["ed.test"], Key::Ed25519, valid_now);
        site
    }

    /// A leaf signed by the CA for `names` (DNS names or IP addresses),
    /// written as `<stem>.crt` and `<stem>.key`; `edit` changes its
    /// parameters (dates, say) before signing.
    fn leaf(&self, stem: &str, names: &[&str], kind: Key, edit: impl FnOnce(&mut CertificateParams)) -> Pair {
        let (key, key_pem) = match kind {
            Key::P256 | Key::Ed25519 => {
                let alg = if let Key::P256 = kind { &rcgen::PKCS_ECDSA_P256_SHA256 } else { &rcgen::PKCS_ED25519 };
                let key = KeyPair::generate_for(alg).unwrap();
                let pem = key.serialize_pem();
                (key, pem)
            }
            Key::Rsa => (KeyPair::from_pem(RSA_PKCS8).unwrap(), RSA_PKCS1.to_string()),
        };
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        edit(&mut params);
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let pair = Pair { cert: self.tree.join(&format!("{stem}.crt")), key: self.tree.join(&format!("{stem}.key")) };
        fs::write(&pair.cert, cert.pem()).unwrap();
        fs::write(&pair.key, key_pem).unwrap();
        pair
    }

    /// The TLS flags for every certificate: `localhost` the default, the
    /// others chosen by SNI.
    fn tls_args(&self) -> Vec<String> {
        let mut args = vec!["--listen-tls".to_string(), "127.0.0.1:0".to_string()];
        args.extend(["--tls-cert".into(), path(&self.localhost.cert), "--tls-key".into(), path(&self.localhost.key)]);
        for (host, pair) in
            [("a.test", &self.a), ("*.wild.test", &self.wild), ("rsa.test", &self.rsa), ("ed.test", &self.ed)]
        {
            args.push("--tls-cert-for".into());
            args.push(format!("{host}={},{}", path(&pair.cert), path(&pair.key)));
        }
        args
    }

    /// Start wired with a plain and a TLS listener, every certificate, and
    /// `extra` arguments.
    pub(crate) fn start(&self, extra: &[&str]) -> Server {
        let mut args = self.tls_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Server::start(&self.root, &args)
    }

    /// A rustls client (TLS 1.3 and 1.2, ring) that trusts only the test
    /// CA and offers ALPN `http/1.1`.
    fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let builder = ClientConfig::builder_with_provider(Arc::new(provider)).with_safe_default_protocol_versions();
        let mut config = builder.unwrap().with_root_certificates(roots).with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// The TLS port of a server started with `--listen-tls`.
pub(crate) fn tls_port(server: &Server) -> u16 {
    server.tls_addr.expect("a --listen-tls address").port()
}

/// A TLS session to `localhost` (SNI) on the server's TLS port, not yet
/// handshaken, over a TCP socket with a 10 s read timeout.
fn tls_session(site: &Site, server: &Server) -> (ClientConnection, TcpStream) {
    let config = site.client_config();
    let conn = ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let sock = TcpStream::connect(server.tls_addr.unwrap()).expect("connect to the TLS port");
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    sock.set_nodelay(true).unwrap();
    (conn, sock)
}

/// `GET path` over TLS on a new connection with `Connection: close`; the
/// parsed response (read by the strict reader in `common`).
fn tls_get(site: &Site, server: &Server, path: &str) -> Response {
    let (conn, sock) = tls_session(site, server);
    let mut tls = StreamOwned::new(conn, sock);
    // One write, one TLS record: `write!` would send each piece of the format
    // string as its own record, and the server's reads (which the trace
    // test counts) would depend on how they were scheduled.
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).expect("TLS write");
    read_response(&mut tls, false).unwrap_or_else(|e| panic!("GET {path} over TLS: {e}"))
}
