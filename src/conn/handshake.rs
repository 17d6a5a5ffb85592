//! Phase 0, on a TLS listener only: the TLS handshake (RFC 8446 §4,
//! RFC 5246 §7), before any HTTP byte.
//!
//! The client speaks first, with a ClientHello naming the server it wants
//! (SNI) and the protocols it speaks (ALPN); wired answers with its
//! certificate for that name and its half of the key exchange; after the
//! client's Finished, both sides hold the keys and the HTTP exchange begins,
//! carried in encrypted records. The session (`crate::tls::TlsStream`) does
//! the cryptography; this phase only moves bytes when the socket is ready,
//! bounds the time (`--handshake-timeout`, armed at accept: a handshake
//! that stalls is cut off like a slowloris head) and tells the trace what
//! was agreed.

use std::io::ErrorKind;

use super::{Conn, Phase, Step};
use crate::services::Services;

impl Conn {
    pub(super) fn handshake(&mut self, slot: usize, svc: &mut Services) -> Step {
        // Only the connection's very first byte can tell plain HTTP from a
        // TLS record: once the session has taken bytes, the next one waiting
        // is from the middle of a ClientHello (and may well be a letter).
        if let Phase::Handshake { first_byte_seen: false } = self.phase {
            let Some(sock) = self.io.sock() else { return self.close_because("a handshake without a socket") };
            match crate::sys::peek_byte(sock) {
                Ok(Some(byte)) => {
                    self.phase = Phase::Handshake { first_byte_seen: true };
                    if byte.is_ascii_alphabetic() {
                        return self.refuse_plain_http(svc);
                    }
                }
                Ok(None) => return self.close_because("the client closed its side before the TLS handshake"),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(_) => return self.close_because("recvfrom() failed: the connection was reset"),
            }
        }
        loop {
            if !self.io.handshaking() {
                // A TLS response is several writes (session tickets after the
                // handshake, then records): Nagle would hold the later ones
                // until the client's delayed ACK, 40 ms or more.
                self.nodelay();
                if self.input.as_ref().is_none_or(|b| b.is_empty()) {
                    // (With plaintext already read, `fill` has said it.)
                    self.trace_handshake(svc);
                }
                // RFC 9113 §3.2: `h2` agreed by ALPN, HTTP/2 from the first byte.
                if svc.config.http2 && self.io.session().is_some_and(crate::tls::TlsStream::alpn_is_h2) {
                    return self.start_http2(slot, svc);
                }
                self.phase = Phase::Head;
                // The request head gets its own time from here.
                self.set_deadline(slot, svc, svc.config.head_timeout);
                return Step::Continue;
            }
            // Reading drives the handshake: the session answers each flight
            // as it arrives. Plaintext means the handshake is over and the
            // request has begun (it may ride behind the client's Finished).
            match self.fill(svc) {
                Ok(0) => return self.close_because("the client closed its side during the TLS handshake"),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.release_idle_buffers(svc);
                    return Step::Wait;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => return Step::Yield,
                Err(e) => {
                    self.trace_handshake_failed(svc, &e);
                    return self.close_because("the TLS handshake failed");
                }
            }
        }
    }

    /// Answer a plain HTTP request on the TLS port in plain HTTP, as nginx
    /// does: a 400 that says what happened, then close. Read nothing: the
    /// lingering close drains the request.
    fn refuse_plain_http(&mut self, svc: &mut Services) -> Step {
        // A TLS record starts with its type, 0x16 for a handshake (RFC 8446
        // §5.1); a request line starts with a method, letters in practice
        // (a method is any token, RFC 9110 §9.1, and case-sensitive).
        self.io.drop_tls();
        self.trace_note(svc, "plain HTTP sent to the TLS port (a TLS record starts with 0x16): answering 400 in plain HTTP, then closing");
        self.requests = 1;
        self.linger_needed = true;
        self.queue_error(svc, 400, true);
        self.phase = Phase::Write;
        Step::Continue
    }
}
