//! HTTPS: TLS 1.3 and 1.2 with rustls (issue 14).
//!
//! On the wire, TLS wraps the same HTTP/1.1 bytes in encrypted records
//! (RFC 8446 §5) after a handshake (RFC 8446 §4, RFC 5246 §7) that proves the
//! server's identity with a certificate chosen by the name the client asks for
//! (SNI, RFC 6066 §3) and agrees the application protocol (ALPN, RFC 7301).
//!
//! Two parts, both independent of the connection state machine:
//! * `config.rs`: certificate files → `Arc<rustls::ServerConfig>`, once at
//!   startup, with every mistake a one-line error naming its file.
//! * `stream.rs`: [`TlsStream`], one session over a non-blocking socket the
//!   caller owns, with the same read / write / `WouldBlock` contract as the
//!   plain socket, so that `conn/` can hold either behind one `Transport` enum.
//!
//! rustls uses the ring provider: no C toolchain beyond a C compiler, no
//! cmake, no async runtime.

mod config;
mod stream;
#[cfg(test)]
mod tests;

pub use config::{
    ALPN_H2_HTTP1, ALPN_HTTP1, CertPair, SESSION_CACHE_ENTRIES, SniResolver, TlsError, TlsSettings, alpn_for, covers,
    server_config, server_config_with_alpn,
};
pub use stream::{HelloInfo, PENDING_LIMIT, TlsInfo, TlsStream};
