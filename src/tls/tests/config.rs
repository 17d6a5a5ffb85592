//! Startup: each configuration error's sentence, the validity warnings, and
//! the OCSP file read and stapled.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::version::{TLS12, TLS13};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::{Ca, Kind, TempDir, Wire, settings};
use crate::tls::{CertPair, TlsSettings, server_config};

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
