//! Phase 2: read and drop a request body nobody wants, so that the next
//! pipelined request is parsed from its first byte (RFC 9112 §6.3, §9.3).

use std::io::ErrorKind;

use super::{BodyLeft, Conn, Phase, Step};
use crate::worker::Services;

impl Conn {
    pub(super) fn read_body(&mut self, slot: usize, svc: &mut Services) -> Step {
        loop {
            match self.drop_buffered_body(svc) {
                Ok(true) => {
                    self.phase = Phase::Head;
                    return Step::Continue;
                }
                Ok(false) => {}
                Err(reason) => {
                    // The body's framing broke: the end of this request, and so
                    // the start of the next, is unknown. The response is queued;
                    // send it and close (RFC 9112 §9.6).
                    svc.trace_note(self, reason);
                    self.close_after = true;
                    self.linger_needed = true;
                    self.phase = Phase::Write;
                    return Step::Continue;
                }
            }
            if self.peer_closed {
                return self.close_because("the client closed its side in the middle of a request body");
            }
            if self.read_drained {
                self.set_deadline(slot, svc, svc.config.body_timeout);
                return Step::Wait;
            }
            match self.fill(svc) {
                Ok(0) => self.peer_closed = true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.read_drained = true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.close_because("read() failed: the connection was reset"),
            }
        }
    }

    /// Drop the body bytes already buffered. `Ok(true)` when the body is over.
    fn drop_buffered_body(&mut self, svc: &Services) -> Result<bool, &'static str> {
        let Phase::Discard(left) = &mut self.phase else { return Ok(true) };
        let Some(input) = self.input.as_mut() else { return Ok(false) };
        match left {
            BodyLeft::Length(n) => {
                let take = (*n).min(input.len() as u64);
                input.consume(take as usize);
                *n -= take;
                Ok(*n == 0)
            }
            BodyLeft::Chunked(decoder) => loop {
                let d = decoder.decode(input.bytes()).map_err(|_| "malformed chunked body: closing")?;
                input.consume(d.consumed);
                if decoder.body_bytes() > svc.config.max_body_bytes {
                    return Err("chunked body over --max-body-bytes: closing");
                }
                if d.done {
                    return Ok(true);
                }
                if d.consumed == 0 {
                    return Ok(false);
                }
            },
        }
    }
}
