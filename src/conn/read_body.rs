//! Phase 2: read and drop a request body nobody wants, so that the next
//! pipelined request is parsed from its first byte (RFC 9112 §6.3, §9.3).

use std::io::ErrorKind;

use super::{BodyLeft, Conn, Discard, Phase, Step, Tail};
use crate::buffer::Buffer;
use crate::services::Services;

impl Conn {
    pub(super) fn read_body(&mut self, slot: usize, svc: &mut Services) -> Step {
        loop {
            match self.drop_buffered_body(svc) {
                Ok(true) => {
                    // The response was queued before the body was read: send
                    // it before reading another request. Parsing on would
                    // queue the next response over a file body still waiting
                    // as the tail (the body was lost and the next response
                    // took its place), pile responses past the output
                    // buffer's room, and answer requests after one that said
                    // `Connection: close` (RFC 9112 §9.6). `write` goes back
                    // to reading heads when everything is out.
                    self.phase = Phase::Write;
                    return Step::Continue;
                }
                Ok(false) => {}
                Err(reason) => {
                    // The body's framing broke: the end of this request, and so
                    // the start of the next, is unknown. The response is queued;
                    // send it and close (RFC 9112 §9.6).
                    self.trace_note(svc, reason);
                    self.close_after = true;
                    self.linger_needed = true;
                    self.phase = Phase::Write;
                    return Step::Continue;
                }
            }
            if self.peer_closed {
                // The body will never end, but the answers queued before it
                // (to the requests pipelined ahead of it, and to this one)
                // are owed: send them, then close.
                self.trace_note(svc, "the client closed its side in the middle of a request body");
                self.close_after = true;
                self.phase = Phase::Write;
                return Step::Continue;
            }
            if self.read_drained {
                // While the body trickles in, the answers queued before it
                // (to the requests pipelined ahead of it, and to this one) go
                // out as far as the socket takes them: held back, they would
                // wait on this body, and be lost with it at the body timeout.
                if self.send_queued(svc).is_err() {
                    return self.close_because("a write failed: the client went away");
                }
                // The last answer is out and said `Connection: close`: the
                // rest of the body is not worth waiting for. The lingering
                // close shuts our side (the client sees the end at once) and
                // drains what still comes, so no reset can destroy the answer.
                let all_sent = self.output.as_ref().is_none_or(Buffer::is_empty) && matches!(self.tail, Tail::None);
                if self.close_after && all_sent {
                    self.linger_needed = true;
                    return self.finish(slot, svc);
                }
                if let Phase::Discard(discard) = &mut self.phase
                    && !discard.timer_set
                {
                    discard.timer_set = matches!(discard.left, BodyLeft::Chunked(_));
                    self.set_deadline(slot, svc, svc.config.body_timeout);
                }
                return Step::Wait;
            }
            match self.fill(svc) {
                Ok(0) => self.peer_closed = true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.read_drained = true,
                // Interrupted: a signal, or a TLS session's read budget spent on
                // records without data: let other connections run first.
                Err(e) if e.kind() == ErrorKind::Interrupted => return Step::Yield,
                Err(_) => return self.close_because("recvfrom() failed: the connection was reset"),
            }
        }
    }

    /// Drop the body bytes already buffered. `Ok(true)` when the body is over.
    fn drop_buffered_body(&mut self, svc: &Services) -> Result<bool, &'static str> {
        let Phase::Discard(Discard { left, .. }) = &mut self.phase else { return Ok(true) };
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
                // The chunk sizes announced so far count, not only the data
                // seen: a chunk of 2^64-1 bytes is refused at its size line,
                // not waited for until the body timeout.
                if decoder.announced() > super::read_head::discard_limit(svc) {
                    return Err("unwanted chunked body past the discard limit: closing after the response");
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
