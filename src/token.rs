//! mio tokens: what woke the poll.
//!
//! A token says both which slab slot and which role: the client socket of a
//! connection, (for CGI) one of its child's pipes, or a connection to an
//! upstream server (a slot of the upstream slab). Listeners and the waker
//! sit at the top of the range, far above any slab index.

use mio::Token;

/// The roles a registered source can play for a slab slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client's socket.
    Client,
    /// A CGI child's stdin (we write the request body to it).
    ChildStdin,
    /// A CGI child's stdout (we read the response from it).
    ChildStdout,
    /// A CGI child's stderr (we copy its lines to the error log).
    ChildStderr,
    /// A CGI child's pidfd (readable when it exits).
    ChildExit,
    /// A connection to an upstream server. Its index is a slot of the
    /// worker's upstream slab (`crate::upstream::Upstreams`), not a client
    /// slot: the connection outlives the exchange it serves.
    Upstream,
}

const ROLE_BITS: usize = 3;

/// The waker other threads use to interrupt this worker's poll.
pub const WAKER: Token = Token(usize::MAX);

/// The first listener; listener `i` is `LISTENER_BASE - i`.
const LISTENER_BASE: usize = usize::MAX - 1;
const MAX_LISTENERS: usize = 64;

/// The token of listener `i`.
pub fn listener(i: usize) -> Token {
    Token(LISTENER_BASE - i.min(MAX_LISTENERS - 1))
}

/// What a token means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The waker.
    Waker,
    /// Listener number `i`.
    Listener(usize),
    /// A slab slot in a role.
    Slot(usize, Role),
}

/// The token for a slab slot in a role.
pub fn slot(index: usize, role: Role) -> Token {
    let bits = match role {
        Role::Client => 0,
        Role::ChildStdin => 1,
        Role::ChildStdout => 2,
        Role::ChildStderr => 3,
        Role::ChildExit => 4,
        Role::Upstream => 5,
    };
    Token((index << ROLE_BITS) | bits)
}

/// Decode a token.
pub fn decode(token: Token) -> Source {
    let t = token.0;
    if t == WAKER.0 {
        Source::Waker
    } else if t > LISTENER_BASE - MAX_LISTENERS {
        Source::Listener(LISTENER_BASE - t)
    } else {
        let role = match t & ((1 << ROLE_BITS) - 1) {
            0 => Role::Client,
            1 => Role::ChildStdin,
            2 => Role::ChildStdout,
            3 => Role::ChildStderr,
            4 => Role::ChildExit,
            _ => Role::Upstream,
        };
        Source::Slot(t >> ROLE_BITS, role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(decode(WAKER), Source::Waker);
        assert_eq!(decode(listener(0)), Source::Listener(0));
        assert_eq!(decode(listener(3)), Source::Listener(3));
        for role in
            [Role::Client, Role::ChildStdin, Role::ChildStdout, Role::ChildStderr, Role::ChildExit, Role::Upstream]
        {
            assert_eq!(decode(slot(12345, role)), Source::Slot(12345, role));
        }
    }
}
