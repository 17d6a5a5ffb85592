//! Phase 4: the lingering close.
//!
//! When a server closes a socket that still has unread bytes from the client,
//! the kernel answers with a reset, and a reset can make the client throw
//! away the response it has not read yet. So when unread bytes may follow
//! (an unread body, a refused request, pipelined requests after a
//! `Connection: close`), wired shuts its sending side first, then reads and
//! drops what still arrives, for a short while, before closing (nginx's
//! `lingering_close`).

use std::io::ErrorKind;
use std::time::Duration;

use super::{Conn, Phase, Step};
use crate::services::Services;

/// How long to keep draining after the last response.
const LINGER_TIME: Duration = Duration::from_secs(2);

/// The most bytes drained, in all, before giving up on a polite close: with
/// [`LINGER_TIME`], what a client that keeps sending costs at most.
const LINGER_BYTES: usize = 1024 * 1024;

impl Conn {
    /// Everything is sent and the connection ends here: close now, or linger
    /// when the client may still be sending.
    pub(super) fn finish(&mut self, slot: usize, svc: &mut Services) -> Step {
        let unread = self.input.as_ref().is_some_and(|b| !b.is_empty());
        // Over TLS the client answers our close_notify with its own (RFC 8446
        // §6.1, RFC 9112 §9.8): closing at once would meet that alert with a
        // reset, so a TLS connection always takes the lingering close.
        let tls = self.io.session().is_some();
        if self.peer_closed {
            self.io.close_notify();
            return self.close_because("the client closed its side, and the last response is sent");
        }
        if !(self.linger_needed || unread || tls) {
            self.io.close_notify();
            return self.close_because("the last response said `Connection: close`, and it is sent");
        }
        if self.io.shutdown_write().is_err() {
            return self.close_because("the last response is sent; shutdown() failed");
        }
        self.trace_note(svc, "response sent; write side shut, draining what the client still sends");
        self.release_buffers(svc);
        self.set_deadline(slot, svc, LINGER_TIME);
        self.phase = Phase::Linger { drained: 0 };
        Step::Continue
    }

    pub(super) fn linger(&mut self, _slot: usize, _svc: &mut Services) -> Step {
        let mut scratch = [0u8; 4096];
        loop {
            let Phase::Linger { drained } = &mut self.phase else { return Step::Close };
            match self.io.recv(&mut scratch) {
                Ok(0) => return self.close_because("lingering close done: the client closed its side too"),
                Ok(n) => {
                    // Counted over the whole lingering close, not per wake-up:
                    // a client sending a little at each event is bounded too.
                    *drained += n;
                    if *drained > LINGER_BYTES {
                        return self.close_because("lingering close cut short: the client kept sending");
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => return Step::Yield,
                Err(_) => return self.close_because("lingering close ended by a reset"),
            }
        }
    }
}
