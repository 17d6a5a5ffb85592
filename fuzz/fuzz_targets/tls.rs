//! The TLS phase after a valid handshake: a real rustls client completes a
//! handshake with `wired::tls::TlsStream` in memory, then the fuzzer's bytes
//! reach the server two ways, chosen by the first byte of each piece: as
//! plaintext the client encrypts (a well-formed record carrying anything),
//! or raw, spliced into the ciphertext stream (broken records, alerts,
//! garbage). Nothing may panic; every read ends in plaintext, the end of the
//! stream, `WouldBlock`, `Interrupted` or `InvalidData`; plaintext comes out
//! exactly as the client put it in, until the first raw byte corrupts the
//! stream; after `InvalidData` the session stays failed.
#![no_main]

use std::io::{self, ErrorKind, Read, Write};
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use wired::tls::{CertPair, TlsSettings, TlsStream, server_config};

/// One direction of an in-memory socket: reads say `WouldBlock` when empty.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
}

/// The server's end: reads what the client sent, writes what it will read.
#[derive(Default)]
struct ServerSide {
    inbox: Pipe,
    outbox: Vec<u8>,
}

impl Read for ServerSide {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inbox.bytes.is_empty() {
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.inbox.bytes.len());
        buf[..n].copy_from_slice(&self.inbox.bytes[..n]);
        self.inbox.bytes.drain(..n);
        Ok(n)
    }
}

impl Write for ServerSide {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbox.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn configs() -> &'static (Arc<rustls::ServerConfig>, Arc<ClientConfig>) {
    static CONFIGS: OnceLock<(Arc<rustls::ServerConfig>, Arc<ClientConfig>)> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/certs/");
        let pair = CertPair { cert: format!("{dir}localhost.pem").into(), key: format!("{dir}localhost.key").into() };
        let settings = TlsSettings { default: Some(pair), ..TlsSettings::default() };
        let (server, _) = server_config(&settings).expect("the fuzz certificate loads");
        let pem = std::fs::read(format!("{dir}localhost.pem")).expect("certificate");
        let mut roots = RootCertStore::empty();
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
            roots.add(cert.expect("a certificate")).expect("a root");
        }
        let mut client = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        (server, Arc::new(client))
    })
}

/// Move bytes between the two ends until neither has anything to say.
fn pump(client: &mut ClientConnection, server: &mut TlsStream, sock: &mut ServerSide, got: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    for _ in 0..64 {
        let mut moved = false;
        while client.wants_write() {
            let mut out = Vec::new();
            if client.write_tls(&mut out).is_err() {
                return false;
            }
            moved |= !out.is_empty();
            sock.inbox.bytes.extend_from_slice(&out);
        }
        loop {
            match server.read(sock, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => moved = true,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidData, "unexpected error: {e}");
                    // A failed session stays failed.
                    let again = server.read(sock, &mut buf);
                    assert!(matches!(again, Err(ref e) if e.kind() == ErrorKind::InvalidData), "{again:?}");
                    return false;
                }
            }
        }
        if !sock.outbox.is_empty() {
            let mut reader = &sock.outbox[..];
            while !reader.is_empty() {
                if client.read_tls(&mut reader).is_err() {
                    return false;
                }
                if client.process_new_packets().is_err() {
                    return false;
                }
            }
            sock.outbox.clear();
            moved = true;
        }
        if !moved {
            return true;
        }
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let (server_config, client_config) = configs();
    let Ok(name) = ServerName::try_from("localhost") else { return };
    let Ok(mut client) = ClientConnection::new(client_config.clone(), name) else { return };
    let Ok(mut server) = TlsStream::new(server_config.clone()) else { return };
    let mut sock = ServerSide::default();
    let mut got = Vec::new();
    assert!(pump(&mut client, &mut server, &mut sock, &mut got), "the handshake fails");
    assert!(!server.is_handshaking() && !client.is_handshaking(), "the handshake did not finish");

    let mut sent = Vec::new();
    let mut corrupted = false;
    // Pieces: a length byte, a mode bit, then that many bytes.
    let mut rest = data;
    while let [head, tail @ ..] = rest {
        let len = usize::from(head >> 1).min(tail.len());
        let (piece, after) = tail.split_at(len);
        rest = after;
        if head & 1 == 0 {
            if client.writer().write_all(piece).is_err() {
                return;
            }
            sent.extend_from_slice(piece);
        } else {
            sock.inbox.bytes.extend_from_slice(piece);
            corrupted |= !piece.is_empty();
        }
        if !pump(&mut client, &mut server, &mut sock, &mut got) {
            return;
        }
        if !corrupted {
            assert_eq!(got, sent, "plaintext changed on its way through");
        }
    }
});
