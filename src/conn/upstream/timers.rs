//! The exchange's timers: which wait it is in decides which timeout runs
//! (connect, send, first byte, read, the client's body, the client's
//! reading), and what running out of it means.

use super::*;

/// What an exchange is waiting for, which decides its timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiting {
    /// The client to take queued response bytes (`--send-timeout`).
    Client,
    /// The connect to complete (`--upstream-connect-timeout`).
    Connect,
    /// The upstream to take request bytes (`--upstream-send-timeout`).
    Send,
    /// The client to send more of its body (`--body-timeout`).
    ClientBody,
    /// The first response byte (`--upstream-header-timeout`).
    Header,
    /// The next response byte (`--upstream-read-timeout`).
    Read,
}

impl Conn {
    /// The timer ran out in the Upstream phase.
    pub(in crate::conn) fn upstream_timeout(&mut self, slot: usize, svc: &mut Services) -> Step {
        let Some(mut ex) = self.exchange.take() else { return Step::Close };
        let waiting = self.waiting(svc, &ex);
        let (status, why) = match waiting {
            Waiting::Client => {
                self.end_exchange(svc, ex);
                return self.close_because("send timeout: the client stopped reading its response");
            }
            Waiting::ClientBody => {
                self.end_exchange(svc, ex);
                return self.close_because("body timeout: the request body stalled");
            }
            Waiting::Connect => (504, "connect timeout"),
            Waiting::Send => (504, "send timeout: the upstream stopped taking the request"),
            Waiting::Header => (504, "header timeout: no response in time"),
            Waiting::Read => (504, "read timeout: the response stalled"),
        };
        let name = self.server_name(svc, &ex);
        let step = match self.upstream_failed(svc, &mut ex, status, &format!("{name}: {why}"), true, true) {
            Some(step) => step,
            None => Step::Continue,
        };
        if matches!(self.phase, Phase::Upstream) {
            self.exchange = Some(ex);
            return self.drive(slot, svc);
        }
        self.end_exchange(svc, ex);
        if step == Step::Continue {
            return self.drive(slot, svc);
        }
        step
    }

    /// What the exchange waits on now.
    pub(super) fn waiting(&self, svc: &mut Services, ex: &Exchange) -> Waiting {
        if self.output.as_ref().is_some_and(|b| !b.is_empty()) {
            return Waiting::Client;
        }
        let connected = ex.up.and_then(|k| svc.upstreams.get_mut(k)).is_some_and(|c| c.connected);
        if ex.up.is_none() || !connected {
            return Waiting::Connect;
        }
        if ex.request_sent < ex.request.len() || ex.to_up.as_ref().is_some_and(|b| !b.is_empty()) {
            return Waiting::Send;
        }
        // A tunnel may be quiet both ways for long: it is bounded by the
        // read timeout alone (nginx's proxy_read_timeout does the same).
        if ex.body.still_in_client() && !ex.tunnel && self.input.as_ref().is_none_or(Buffer::is_empty) {
            return Waiting::ClientBody;
        }
        if ex.response_started { Waiting::Read } else { Waiting::Header }
    }

    /// Arm the timer for what the exchange waits on, when something moved
    /// or what it waits on changed: each timeout bounds a pause, and an
    /// event that moved nothing does not extend it.
    pub(super) fn arm_upstream_timer(&mut self, slot: usize, svc: &mut Services, ex: &mut Exchange, progress: bool) {
        let t = svc.config.upstream_timeouts;
        let waiting = self.waiting(svc, ex);
        if !progress && ex.armed_for == Some(waiting) {
            return;
        }
        ex.armed_for = Some(waiting);
        let after = match waiting {
            Waiting::Client => svc.config.send_timeout,
            Waiting::Connect => t.connect,
            Waiting::Send => t.send,
            Waiting::ClientBody => svc.config.body_timeout,
            Waiting::Header => t.header,
            Waiting::Read => t.read,
        };
        self.set_deadline(slot, svc, after);
    }
}
