//! Building the rustls `ServerConfig` from certificate files, once, at startup.
//!
//! Everything that can be wrong with a certificate or key is found here and
//! reported as one plain sentence naming the file, before any socket is
//! opened: a file that cannot be read, a PEM file without a certificate or a
//! key, a key that does not belong to its certificate, a name the certificate
//! does not cover. A certificate outside its validity dates still loads (the
//! operator may be about to replace it) but yields a warning.
//!
//! What the config decides on the wire:
//! * protocol versions: TLS 1.3 (RFC 8446) and TLS 1.2 (RFC 5246), nothing older;
//! * which certificate to present, by the name the client sent in its
//!   `server_name` extension (SNI, RFC 6066 §3): see [`SniResolver`];
//! * the application protocol offered by ALPN (RFC 7301 §3.2), `http/1.1`;
//! * session resumption, by tickets and by a session cache;
//! * an OCSP response stapled to the default certificate (RFC 6066 §8, RFC 6960).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::ring::{self as ring_provider, Ticketer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls::{CipherSuite, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The ALPN list when nothing else is asked for: HTTP/1.1 only.
pub const ALPN_HTTP1: &[&[u8]] = &[b"http/1.1"];

/// With HTTP/2 on: `h2` first, the server's preference (RFC 7301 §3.2;
/// RFC 9113 §3.2 names it), HTTP/1.1 for clients without it.
pub const ALPN_H2_HTTP1: &[&[u8]] = &[b"h2", b"http/1.1"];

/// The protocols offered by ALPN.
pub fn alpn_for(http2: bool) -> &'static [&'static [u8]] {
    if http2 { ALPN_H2_HTTP1 } else { ALPN_HTTP1 }
}

/// How many TLS sessions the stateful cache remembers. rustls evicts the
/// oldest beyond this, so the cache's memory is bounded (a few hundred bytes
/// an entry).
pub const SESSION_CACHE_ENTRIES: usize = 4096;

/// The certificate settings, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// The pair presented to clients that send no SNI or an unknown name.
    /// Without one, the first `by_name` pair is the default.
    pub default: Option<CertPair>,
    /// Pairs chosen by SNI: a host name (`example.com`) or a wildcard
    /// (`*.example.com`), which the certificate must cover.
    pub by_name: Vec<(String, CertPair)>,
    /// A DER-encoded OCSP response to staple to the default certificate.
    pub ocsp: Option<PathBuf>,
}

/// A certificate chain and its private key, both PEM files (they may be the
/// same file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPair {
    /// The certificate chain, end-entity certificate first.
    pub cert: PathBuf,
    /// The private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key: PathBuf,
}

/// Why the TLS configuration could not be built. Each says, in one line,
/// which file is at fault.
#[derive(Debug)]
pub enum TlsError {
    /// No certificate at all was configured.
    NoPairs,
    /// A file could not be read.
    Read(PathBuf, io::Error),
    /// A PEM file holds no certificate.
    NoCertificate(PathBuf),
    /// A PEM file holds no private key.
    NoKey(PathBuf),
    /// The key is of a kind rustls cannot sign with.
    UnsupportedKey(PathBuf, String),
    /// The certificate could not be parsed as X.509.
    BadCertificate(PathBuf, String),
    /// The key does not belong to the certificate.
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// A `by_name` host the certificate does not cover.
    NameNotCovered {
        /// The host asked for.
        name: String,
        /// The certificate file.
        cert: PathBuf,
        /// The DNS names the certificate lists.
        names: Vec<String>,
    },
    /// rustls refused the configuration itself (not expected with ring).
    Rustls(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::NoPairs => write!(f, "TLS needs at least one certificate and key"),
            TlsError::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            TlsError::NoCertificate(p) => write!(f, "{} holds no PEM certificate", p.display()),
            TlsError::NoKey(p) => write!(f, "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", p.display()),
            TlsError::UnsupportedKey(p, why) => write!(f, "the private key in {} cannot be used: {why}", p.display()),
            TlsError::BadCertificate(p, why) => write!(f, "the certificate in {} cannot be parsed: {why}", p.display()),
            TlsError::KeyMismatch { cert, key } => {
                write!(f, "the private key in {} does not match the certificate in {}", key.display(), cert.display())
            }
            TlsError::NameNotCovered { name, cert, names } => {
                let listed = if names.is_empty() { "none".to_string() } else { names.join(", ") };
                write!(f, "the certificate in {} does not cover {name} (its DNS names: {listed})", cert.display())
            }
            TlsError::Rustls(why) => write!(f, "TLS configuration refused: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Build the server config with ALPN `http/1.1`. Returns the config and
/// warnings to print (certificates outside their validity dates).
pub fn server_config(s: &TlsSettings) -> Result<(Arc<ServerConfig>, Vec<String>), TlsError> {
    server_config_with_alpn(s, ALPN_HTTP1)
}

/// Build the server config offering the given ALPN protocols, in order of
/// preference (RFC 7301 §3.2: the server picks; rustls takes the first of
/// ours that the client offered). An empty list disables ALPN.
pub fn server_config_with_alpn(s: &TlsSettings, alpn: &[&[u8]]) -> Result<(Arc<ServerConfig>, Vec<String>), TlsError> {
    let mut warnings = Vec::new();
    let default = match &s.default {
        Some(pair) => {
            let mut ck = load_pair(pair, None, &mut warnings)?;
            if let Some(path) = &s.ocsp {
                ck.ocsp = Some(read_ocsp(path)?);
            }
            Some(Arc::new(ck))
        }
        None => None,
    };
    let mut by_name = Vec::with_capacity(s.by_name.len());
    for (name, pair) in &s.by_name {
        let ck = load_pair(pair, Some(name), &mut warnings)?;
        by_name.push((normalise(name), Arc::new(ck)));
    }
    let default = match default.or_else(|| by_name.first().map(|(_, ck)| Arc::clone(ck))) {
        Some(ck) => ck,
        None => return Err(TlsError::NoPairs),
    };
    let resolver = SniResolver::new(default, by_name);

    // The provider is named rather than taken from the process-wide default,
    // so that nothing else linked in can change which one is used (and
    // `builder_with_protocol_versions` cannot panic for want of a default).
    // rustls 0.23.48 marks ring's provider deprecated because ring has no
    // post-quantum key exchange (X25519MLKEM768); aws-lc-rs has it but needs
    // cmake to build. Until that trade is revisited, ring's X25519, P-256 and
    // P-384 groups and its safe suites (AES-GCM, ChaCha20-Poly1305) are used.
    #[allow(deprecated)]
    let mut provider = ring_provider::default_provider();
    // AES-128-GCM first, for TLS 1.3 and 1.2 alike, then ring's order
    // (AES-256-GCM, ChaCha20-Poly1305). It is the suite every TLS 1.3 peer
    // must implement (RFC 8446 §9.1), the one browsers and Mozilla's
    // recommended configurations list first, and ten AES rounds a block
    // instead of fourteen: with ring's AES-256 first, each side spent about
    // a tenth more CPU on a 10 MiB response (h2load against h2o, which
    // takes the client's order and so AES-128).
    provider.cipher_suites.sort_by_key(|s| match s.suite() {
        CipherSuite::TLS13_AES_128_GCM_SHA256
        | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 0,
        _ => 1,
    });
    let provider = Arc::new(provider);
    let versions: &[&'static SupportedProtocolVersion] = &[&TLS13, &TLS12];
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // The server's order of cipher suites, not the client's (RFC 8446
    // §4.1.1 leaves the choice to the server): ring's list puts AES-GCM
    // first, which has hardware support on this kind of machine, and every
    // suite on it is AEAD with ECDHE. Scanners (testssl.sh) rate a server
    // without an order of its own as a HIGH finding.
    config.ignore_client_order = true;
    // Resumption, two ways, so that every client can resume:
    // * stateless tickets (RFC 5077 for TLS 1.2, RFC 8446 §4.6.1 for 1.3):
    //   the session state travels encrypted in the ticket. `Ticketer::new()`
    //   returns a `TicketRotator` that makes a fresh random key every 6 hours
    //   and still accepts tickets under the previous key, so a ticket lives at
    //   most 12 hours and a stolen key exposes at most that window. The keys
    //   never leave the process: a restart invalidates every ticket.
    // * a stateful cache keyed by session ID (RFC 5246 §7.4.1.2), for TLS 1.2
    //   clients that do not do tickets; bounded (see SESSION_CACHE_ENTRIES).
    config.ticketer = Ticketer::new().map_err(|e| TlsError::Rustls(e.to_string()))?;
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES);
    Ok((Arc::new(config), warnings))
}

/// Read, check and assemble one certificate chain and key.
fn load_pair(pair: &CertPair, name: Option<&str>, warnings: &mut Vec<String>) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(&pair.cert)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::BadCertificate(pair.cert.clone(), e.to_string()))?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::NoCertificate(pair.cert.clone()));
    };
    let key_pem = if pair.key == pair.cert { cert_pem } else { read(&pair.key)? };
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(rustls_pki_types::pem::Error::NoItemsFound) => return Err(TlsError::NoKey(pair.key.clone())),
        Err(e) => return Err(TlsError::UnsupportedKey(pair.key.clone(), e.to_string())),
    };

    let facts = leaf_facts(leaf).map_err(|why| TlsError::BadCertificate(pair.cert.clone(), why))?;
    if let Some(name) = name
        && !facts.names.iter().any(|pattern| covers(pattern, name))
    {
        return Err(TlsError::NameNotCovered { name: name.to_string(), cert: pair.cert.clone(), names: facts.names });
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    if now > facts.not_after {
        warnings.push(format!("the certificate in {} has expired", pair.cert.display()));
    } else if now < facts.not_before {
        warnings.push(format!("the certificate in {} is not valid yet", pair.cert.display()));
    }

    let signer = ring_provider::sign::any_supported_type(&key)
        .map_err(|e| TlsError::UnsupportedKey(pair.key.clone(), e.to_string()))?;
    let ck = CertifiedKey::new(chain, signer);
    // rustls compares the key's public half with the certificate's
    // SubjectPublicKeyInfo. Ring's RSA, ECDSA and Ed25519 keys all report it,
    // so "cannot tell" does not happen with this provider; were it to, the
    // first handshake would fail instead, which is worse than refusing now.
    if ck.keys_match().is_err() {
        return Err(TlsError::KeyMismatch { cert: pair.cert.clone(), key: pair.key.clone() });
    }
    Ok(ck)
}

/// Read a DER-encoded OCSP response to staple. It is sent as it is: rustls
/// does not parse it, and a client that finds it stale ignores it.
fn read_ocsp(path: &Path) -> Result<Vec<u8>, TlsError> {
    read(path)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read(path.to_path_buf(), e))
}

/// What we need from the end-entity certificate.
struct LeafFacts {
    /// SAN DNS names, lower-cased.
    names: Vec<String>,
    /// Validity, in Unix seconds.
    not_before: i64,
    not_after: i64,
}

fn leaf_facts(der: &CertificateDer<'_>) -> Result<LeafFacts, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    // Only subjectAltName counts, as in browsers: the subject's CN has been
    // ignored for names since RFC 6125 §6.4.4 made it a fallback only.
    let names = match cert.subject_alternative_name().map_err(|e| e.to_string())? {
        Some(san) => san
            .value
            .general_names
            .iter()
            .filter_map(|g| match g {
                x509_parser::extensions::GeneralName::DNSName(n) => Some(normalise(n)),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    let validity = cert.validity();
    Ok(LeafFacts { names, not_before: validity.not_before.timestamp(), not_after: validity.not_after.timestamp() })
}

/// Lower-case a DNS name and drop one trailing dot (`Example.COM.` and
/// `example.com` are the same name, RFC 4343 §2 and RFC 6066 §3).
fn normalise(name: &str) -> String {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.to_ascii_lowercase()
}

/// Whether a certificate name (`pattern`, maybe `*.example.com`) covers
/// `host`, as browsers match them (RFC 6125 §6.4.3): a wildcard stands for
/// exactly one whole left-most label, so `*.example.com` covers
/// `a.example.com` but neither `example.com` nor `a.b.example.com`.
pub fn covers(pattern: &str, host: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    let host = host.strip_suffix('.').unwrap_or(host);
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = pattern.strip_prefix("*.") else { return false };
    match host.split_once('.') {
        Some((label, rest)) => !label.is_empty() && !suffix.is_empty() && rest.eq_ignore_ascii_case(suffix),
        None => false,
    }
}

/// Chooses the certificate by the name in the ClientHello (RFC 6066 §3): an
/// exact name first, then a wildcard, then the default, which also serves
/// clients that send no name (RFC 6066 §3 lets the server pick "a default").
/// Names are compared without case and without a trailing dot.
#[derive(Debug)]
pub struct SniResolver {
    default: Arc<CertifiedKey>,
    /// Exact host names, lower-cased.
    exact: Vec<(String, Arc<CertifiedKey>)>,
    /// Wildcards, stored as the suffix after `*.`, lower-cased.
    wildcard: Vec<(String, Arc<CertifiedKey>)>,
}

impl SniResolver {
    /// `by_name` holds lower-cased names, wildcards as `*.suffix`. A linear
    /// scan: servers have a handful of names, and a scan allocates nothing.
    fn new(default: Arc<CertifiedKey>, by_name: Vec<(String, Arc<CertifiedKey>)>) -> SniResolver {
        let mut exact = Vec::new();
        let mut wildcard = Vec::new();
        for (name, ck) in by_name {
            match name.strip_prefix("*.") {
                Some(suffix) => wildcard.push((suffix.to_string(), ck)),
                None => exact.push((name, ck)),
            }
        }
        SniResolver { default, exact, wildcard }
    }

    /// The pair for a name (or for no name).
    pub fn pick(&self, sni: Option<&str>) -> &Arc<CertifiedKey> {
        let Some(name) = sni else { return &self.default };
        let name = name.strip_suffix('.').unwrap_or(name);
        if let Some((_, ck)) = self.exact.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return ck;
        }
        // A wildcard stands for one whole, non-empty, left-most label.
        if let Some((label, rest)) = name.split_once('.')
            && !label.is_empty()
            && let Some((_, ck)) = self.wildcard.iter().find(|(s, _)| s.eq_ignore_ascii_case(rest))
        {
            return ck;
        }
        &self.default
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(self.pick(hello.server_name())))
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wildcards_cover_one_label() {
        let table = [
            ("example.com", "example.com", true),
            ("example.com", "EXAMPLE.com.", true),
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "A.Example.COM", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", ".example.com", false),
            ("*.example.com", "*.example.com", true),
            ("a.example.com", "*.example.com", false),
            ("*.", "a.", false),
            ("f*.example.com", "foo.example.com", false),
        ];
        for (pattern, host, want) in table {
            assert_eq!(covers(pattern, host), want, "{pattern} covers {host}");
        }
    }
}
