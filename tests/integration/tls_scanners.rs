//! TLS scanners against the HTTPS listener (issue 14): testssl.sh rates no
//! finding HIGH or CRITICAL, and sslscan agrees that only TLS 1.2 and 1.3 are
//! spoken, with AEAD suites only. Both programs come from
//! tests/install-deps.sh; docs/tls-scan.md holds what they reported.
//!
//! The certificate is made the way a public CA would make it (issued by a
//! CA, valid for 90 days, with a CRL address), so that the scanners judge
//! the server rather than the test's certificate: the CA is handed to
//! testssl with `--add-ca`, and the CRL address is never fetched (testssl
//! stays offline without `--phone-out`).

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

use crate::common::*;

/// The RSA 2048 test key of the TLS unit tests (ring cannot generate RSA keys).
const RSA_PKCS8: &str = include_str!("../../src/tls/testdata/rsa2048.pkcs8.pem");

#[derive(Clone, Copy, Debug)]
enum Key {
    P256,
    Rsa2048,
}

/// A document root, a CA and a leaf for `localhost` and 127.0.0.1, in a
/// directory removed when the test ends.
struct Site {
    dir: PathBuf,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Site {
    fn new(name: &str, kind: Key) -> Site {
        let dir = temp_dir(name);
        fs::create_dir_all(dir.join("root")).unwrap();
        fs::write(dir.join("root/index.html"), "<!doctype html><title>wired</title>\n").unwrap();

        let day = Duration::from_secs(86_400);
        let now = rcgen::date_time_ymd(1970, 1, 1) + SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "wired scanner test CA");
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();

        let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.crl_distribution_points = vec![CrlDistributionPoint { uris: vec!["http://crl.invalid/wired.crl".into()] }];
        leaf.not_before = now - day;
        leaf.not_after = now + 90 * day;
        let key = match kind {
            Key::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
            Key::Rsa2048 => KeyPair::from_pem(RSA_PKCS8).unwrap(),
        };
        let leaf_pem = leaf.signed_by(&key, &Issuer::from_params(&ca, &ca_key)).unwrap().pem();

        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            fs::write(&path, pem).unwrap();
            path
        };
        Site {
            ca: write("ca.pem", &ca_pem),
            cert: write("leaf.pem", &leaf_pem),
            key: write("leaf.key", &key.serialize_pem()),
            dir,
        }
    }

    /// wired on an ephemeral HTTPS port with this certificate; its address.
    fn serve(&self) -> (Server, String) {
        let (cert, key) = (self.cert.display().to_string(), self.key.display().to_string());
        let args = ["--listen-tls", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &key];
        let server = Server::start(&self.dir.join("root"), &args);
        let addr = server.tls_addr.expect("a TLS listener").to_string();
        (server, addr)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// testssl.sh

/// One entry of testssl's `--jsonfile`.
#[derive(Debug)]
struct Finding {
    id: String,
    severity: String,
    finding: String,
}

/// testssl's flat JSON file: an array of objects, one `"name" : "value"` a
/// line (read by hand, to need no JSON crate for one file format).
fn testssl_findings(json: &str) -> Vec<Finding> {
    json.split('{')
        .skip(1)
        .map(|object| {
            let field = |name: &str| {
                object
                    .lines()
                    .filter_map(|line| line.trim().split_once(':'))
                    .find(|(key, _)| key.trim().trim_matches('"') == name)
                    .map(|(_, value)| value.trim().trim_end_matches(',').trim().trim_matches('"').to_string())
                    .unwrap_or_default()
            };
            Finding { id: field("id"), severity: field("severity"), finding: field("finding") }
        })
        .collect()
}

#[test]
fn testssl_finds_nothing_high_or_critical() {
    let site = Site::new("testssl", Key::P256);
    let (_server, addr) = site.serve();
    let json = site.dir.join("testssl.json");
    let mut cmd = Command::new("testssl");
    // Protocols, cipher categories, forward secrecy, server defaults and
    // preferences, HTTP headers, vulnerabilities, each cipher: everything but
    // the client simulations, in about 50 s. No DNS, no network beyond loopback.
    cmd.current_dir(&site.dir)
        .args(["--quiet", "--color", "0", "--warnings", "off", "--nodns", "none"])
        // Timeouts that a loaded machine meets: at 5 s, a CI run with other
        // builds beside it saw a "connect problem" in the ticket test.
        .args(["--openssl-timeout", "15", "--connect-timeout", "15", "--add-ca"])
        .arg(&site.ca)
        .arg("--jsonfile")
        .arg(&json)
        .args(["-p", "-s", "-f", "-S", "-P", "-h", "-U", "-e"])
        .arg(&addr);
    let out = run_bounded(&mut cmd, Duration::from_secs(240));
    let text = String::from_utf8_lossy(&out.stdout);
    let findings = testssl_findings(&fs::read_to_string(&json).expect("testssl wrote its JSON file"));
    // testssl's ticket-resumption check sometimes loses its own second
    // connection ("Connect problem: Ticket resumption test not possible",
    // its exit status then 1): seen once in several runs, on a quiet
    // machine too. That check alone is excused, because
    // `https::openssl::sessions_resume_over_tls_1_3_and_1_2` proves ticket
    // resumption with openssl directly; any other trouble fails here.
    let own_connect_problem =
        |f: &Finding| f.id == "sessionresumption_ticket" && f.finding == "check failed because of connect problem";
    let excused = findings.iter().any(own_connect_problem);
    assert!(
        out.status.success() || excused,
        "testssl: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // The file was read right, and every part of the scan ran.
    for id in ["TLS1_3", "cipher_order", "cert_chain_of_trust", "heartbleed", "ROBOT", "fallback_SCSV", "LUCKY13"] {
        assert!(findings.iter().any(|f| f.id == id), "testssl reported no {id}:\n{text}");
    }
    let bad: Vec<String> = findings
        .iter()
        .filter(|f| matches!(f.severity.as_str(), "HIGH" | "CRITICAL" | "WARN") && !own_connect_problem(f))
        .map(|f| format!("{} {}: {}", f.severity, f.id, f.finding))
        .collect();
    assert!(
        bad.is_empty(),
        "testssl rated these HIGH or CRITICAL (WARN: a check that failed):\n{}\n\n{text}",
        bad.join("\n")
    );
}

// ---------------------------------------------------------------------------
// sslscan

/// The lines of one section of sslscan's report (after a heading line such
/// as `  Heartbleed:`, up to the blank line).
fn section<'a>(report: &'a str, heading: &str) -> Vec<&'a str> {
    report.lines().skip_while(|l| l.trim() != heading).skip(1).take_while(|l| !l.trim().is_empty()).collect()
}

/// The 32-byte random of the ServerHello that `openssl s_client -msg` printed.
fn server_random(msg: &str) -> Vec<u8> {
    let hex: String = msg
        .lines()
        .skip_while(|l| !l.contains("ServerHello"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect::<Vec<_>>()
        .join(" ");
    let bytes: Vec<u8> = hex.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
    // Handshake type, 3-byte length, 2-byte version, then the random.
    bytes.get(6..38).unwrap_or_else(|| panic!("no ServerHello in:\n{msg}")).to_vec()
}

fn sslscan_one(kind: Key) {
    let site = Site::new("sslscan", kind);
    let (_server, addr) = site.serve();
    let out = run_bounded(Command::new("sslscan").args(["--no-colour", &addr]), Duration::from_secs(60));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "sslscan {kind:?}: {}\n{report}", String::from_utf8_lossy(&out.stderr));

    let protocols = section(&report, "SSL/TLS Protocols:");
    for expected in [
        "SSLv2 disabled",
        "SSLv3 disabled",
        "TLSv1.0 disabled",
        "TLSv1.1 disabled",
        "TLSv1.2 enabled",
        "TLSv1.3 enabled",
    ] {
        let found = protocols.iter().any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == expected);
        assert!(found, "{kind:?}: sslscan does not say {expected:?}:\n{report}");
    }

    // Exactly the AEAD suites rustls offers, with ECDHE, none under 128 bits.
    let auth = match kind {
        Key::P256 => "ECDSA",
        Key::Rsa2048 => "RSA",
    };
    let mut expected: Vec<String> =
        ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
            .iter()
            .map(|s| format!("TLSv1.3 {s}"))
            .chain(
                ["AES128-GCM-SHA256", "AES256-GCM-SHA384", "CHACHA20-POLY1305"]
                    .iter()
                    .map(|s| format!("TLSv1.2 ECDHE-{auth}-{s}")),
            )
            .collect();
    let mut accepted = Vec::new();
    for line in section(&report, "Supported Server Cipher(s):") {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(matches!(words[0], "Preferred" | "Accepted"), "{kind:?}: {line}");
        let bits: u32 = words[2].parse().unwrap();
        assert!(bits >= 128, "{kind:?}: a {bits}-bit cipher: {line}");
        accepted.push(format!("{} {}", words[1], words[4]));
    }
    expected.sort();
    accepted.sort();
    assert_eq!(accepted, expected, "{kind:?}: the suites sslscan saw accepted\n{report}");

    let heartbleed = section(&report, "Heartbleed:");
    assert!(!heartbleed.is_empty(), "{kind:?}: no heartbleed check:\n{report}");
    assert!(heartbleed.iter().all(|l| l.contains("not vulnerable")), "{kind:?}: {heartbleed:?}");
    let renegotiation = section(&report, "TLS renegotiation:");
    assert_eq!(renegotiation, ["Session renegotiation not supported"], "{kind:?}");

    // sslscan checks TLS_FALLBACK_SCSV (RFC 7507) by offering TLS 1.2 with
    // that suite: rustls does not implement it. What guards a downgrade from
    // TLS 1.3 instead is RFC 8446 §4.1.3: a server that speaks 1.3 and
    // answers in 1.2 ends its random with "DOWNGRD\x01", and a 1.3 client
    // that sees it aborts. Nothing below 1.2 is spoken to fall back to.
    let fallback = section(&report, "TLS Fallback SCSV:");
    assert!(!fallback.is_empty(), "{kind:?}: no fallback check:\n{report}");
    if fallback != ["Server supports TLS Fallback SCSV"] {
        let mut s_client = Command::new("openssl");
        s_client.args(["s_client", "-connect", &addr, "-servername", "localhost", "-tls1_2", "-msg"]);
        let out = run_bounded(&mut s_client, Duration::from_secs(20));
        let random = server_random(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(&random[24..], b"DOWNGRD\x01", "{kind:?}: sslscan says {fallback:?}, and no downgrade sentinel");
    }
}

#[test]
fn sslscan_agrees() {
    let rsa = std::thread::spawn(|| sslscan_one(Key::Rsa2048));
    sslscan_one(Key::P256);
    rsa.join().expect("the RSA 2048 scan");
}
