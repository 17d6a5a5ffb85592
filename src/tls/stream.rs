//! One TLS session over a non-blocking socket, driven by readiness.
//!
//! TLS puts a record layer between TCP and HTTP (RFC 8446 §5, RFC 5246 §6):
//! every byte on the wire is in a record of at most 16 KiB of plaintext plus a
//! 5-byte header and the AEAD's overhead. Before any HTTP byte, the handshake
//! (RFC 8446 §4) exchanges a ClientHello, the server's certificate and key
//! shares, and Finished messages; after it, either side may still send
//! handshake messages (session tickets, RFC 8446 §4.6.1; key updates, §4.6.3)
//! and alerts (§6), the last of which is `close_notify` (§6.1).
//!
//! The seam: the connection code keeps calling `read` when the socket is
//! readable and `write`/`flush` when it is writable, exactly as for a plain
//! socket, and reads the same three answers: bytes, `Ok(0)` for the end, or
//! `WouldBlock`. This type hides that a `read` may have to write (handshake
//! replies) and that a `write` is not on the wire until `flush` says so: after
//! any call, `wants_write()` says whether writable interest is needed.
//!
//! The session is generic over the socket (`Read + Write`), so that tests drive
//! it over a Unix socket pair and with sockets that refuse to take bytes.
//!
//! What is kept per connection: before the ClientHello, rustls's `Acceptor`
//! (a small buffer holding the partial hello). After it, the `ServerConnection`:
//! the keys and record-layer state (a few hundred bytes), the incoming-record
//! buffer (rustls shrinks it back to 4 KiB once it holds no partial record),
//! received plaintext not yet read (empty whenever `read` has returned less
//! than the caller's buffer), and outgoing ciphertext not yet flushed (at most
//! about [`PENDING_LIMIT`]). Between keep-alive requests, then, an idle
//! session holds about 4 KiB plus the keys.

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::mem;
use std::sync::Arc;

use rustls::server::Acceptor;
use rustls::{HandshakeKind, ProtocolVersion, ServerConfig, ServerConnection};

/// How much ciphertext may wait to be flushed before `write` takes no more
/// plaintext. rustls applies it to the outgoing buffer (and, before the
/// handshake is done, to the plaintext queued behind it); handshake messages
/// are not counted, so the true bound is this plus one handshake flight.
pub const PENDING_LIMIT: usize = 64 * 1024;

/// How many socket reads one `read` call may make without producing any
/// plaintext before it stops and asks to be called again
/// (`ErrorKind::Interrupted`). A legitimate client needs at most ~17 (a
/// 64 KiB handshake flight in 4 KiB reads); this bounds the time one
/// connection can hold the event loop while feeding records with no data.
const MAX_READS: usize = 64;

/// Most buffers handed to one `write`: a head and a body, with room to spare.
const MAX_SLICES: usize = 8;

/// What the client offered in its ClientHello, for `--trace`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelloInfo {
    /// The server name it asked for (SNI, RFC 6066 §3).
    pub sni: Option<String>,
    /// The application protocols it offered, in its order (RFC 7301 §3.1).
    pub alpn: Vec<Vec<u8>>,
}

/// What a trace and an access log show once the handshake is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2` (empty before the handshake).
    pub version: &'static str,
    /// rustls's name for the cipher suite: `TLS13_AES_128_GCM_SHA256`, or the
    /// IANA name for TLS 1.2 suites (`TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`).
    pub suite: &'static str,
    /// The name the client sent (SNI), lower-cased by rustls.
    pub sni: Option<String>,
    /// The application protocol agreed by ALPN, if any.
    pub alpn: Option<Vec<u8>>,
    /// Whether the session was resumed (ticket or session ID) rather than
    /// a full handshake.
    pub resumed: bool,
}

/// Where the session is.
enum Session {
    /// Waiting for the whole ClientHello. rustls's `Acceptor` lets us see the
    /// hello (for the trace) before a `ServerConnection` exists.
    Hello(Box<Acceptor>, Arc<ServerConfig>),
    /// Handshaking or established.
    Tls(Box<ServerConnection>),
    /// A fatal error was met and reported; nothing more is done.
    Failed,
}

/// A TLS session on a socket the caller owns.
pub struct TlsStream {
    session: Session,
    /// What the ClientHello offered, once it has arrived.
    hello: Option<HelloInfo>,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match self.session {
            Session::Hello(..) => "hello",
            Session::Tls(ref c) if c.is_handshaking() => "handshake",
            Session::Tls(_) => "established",
            Session::Failed => "failed",
        };
        f.debug_struct("TlsStream").field("phase", &phase).field("hello", &self.hello).finish()
    }
}

impl TlsStream {
    /// A session waiting for its ClientHello. Cannot fail today; the
    /// `io::Result` leaves room for a config that is checked per connection.
    pub fn new(config: Arc<ServerConfig>) -> io::Result<TlsStream> {
        Ok(TlsStream { session: Session::Hello(Box::default(), config), hello: None })
    }

    /// Read plaintext into `buf`, reading records from `sock` as needed and
    /// writing handshake replies and alerts to it.
    ///
    /// * `Ok(n)`, `n > 0`: plaintext.
    /// * `Ok(0)`: the peer closed, with `close_notify` (RFC 8446 §6.1) or by
    ///   closing TCP without it (or `buf` was empty). A truncated body is the
    ///   HTTP framing's to notice, as on a plain socket.
    /// * `Err(WouldBlock)`: the socket has no more bytes; check `wants_write()`.
    /// * `Err(InvalidData)`: a TLS protocol error; the alert has been sent if
    ///   the socket took it. The session is dead.
    /// * `Err(Interrupted)`: 64 socket reads brought no plaintext; there
    ///   may be more to read: call again after other connections had a turn.
    pub fn read<S: Read + Write>(&mut self, sock: &mut S, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        for _ in 0..MAX_READS {
            let conn = match &mut self.session {
                Session::Hello(..) => match self.read_hello(sock)? {
                    true => continue,
                    false => return Ok(0),
                },
                Session::Tls(conn) => conn,
                Session::Failed => return Err(failed()),
            };
            match conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // EOF without close_notify: see the doc comment.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Handshake replies go out before we wait for the client's answer.
            flush_conn(conn, sock)?;
            match conn.read_tls(sock) {
                // EOF: rustls records it; the reader above reports it next round.
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if let Err(e) = conn.process_new_packets() {
                // rustls has queued the alert (RFC 8446 §6.2: a fatal alert,
                // then close); send what the socket takes, then give up.
                let _ = flush_conn(conn, sock);
                self.session = Session::Failed;
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
        }
        Err(io::Error::new(ErrorKind::Interrupted, "TLS read budget spent; call again"))
    }

    /// Feed the `Acceptor` until the ClientHello is whole, then turn it into a
    /// `ServerConnection`. True when that is done, false when the peer closed
    /// first; `Err(WouldBlock)` when more bytes are needed.
    fn read_hello<S: Read + Write>(&mut self, sock: &mut S) -> io::Result<bool> {
        let Session::Hello(acceptor, _) = &mut self.session else { return Ok(true) };
        loop {
            match acceptor.accept() {
                Ok(None) => {}
                Ok(Some(accepted)) => {
                    let Session::Hello(_, config) = mem::replace(&mut self.session, Session::Failed) else {
                        return Ok(true);
                    };
                    let hello = accepted.client_hello();
                    self.hello = Some(HelloInfo {
                        sni: hello.server_name().map(str::to_string),
                        alpn: hello.alpn().map(|offered| offered.map(<[u8]>::to_vec).collect()).unwrap_or_default(),
                    });
                    let mut conn = match accepted.into_connection(config) {
                        Ok(conn) => Box::new(conn),
                        Err((e, mut alert)) => {
                            let _ = alert.write_all(sock);
                            return Err(io::Error::new(ErrorKind::InvalidData, e));
                        }
                    };
                    conn.set_buffer_limit(Some(PENDING_LIMIT));
                    // Records that arrived behind the hello are in the
                    // connection's buffer already.
                    if let Err(e) = conn.process_new_packets() {
                        let _ = flush_conn(&mut conn, sock);
                        return Err(io::Error::new(ErrorKind::InvalidData, e));
                    }
                    self.session = Session::Tls(conn);
                    return Ok(true);
                }
                Err((e, mut alert)) => {
                    let _ = alert.write_all(sock);
                    self.session = Session::Failed;
                    return Err(io::Error::new(ErrorKind::InvalidData, e));
                }
            }
            match acceptor.read_tls(sock) {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Err(e),
                // A hello over rustls's 64 KiB handshake limit, or a socket error.
                Err(e) => {
                    self.session = Session::Failed;
                    return Err(e);
                }
            }
        }
    }

    /// Encrypt plaintext from `bufs` (a head and a body, say) and send what
    /// the socket takes. Returns how many plaintext bytes were taken: never
    /// more than fit under [`PENDING_LIMIT`] of unsent ciphertext, and
    /// `Err(WouldBlock)` when none fit because the socket is full. Before the
    /// handshake is done the plaintext waits behind it (within the same
    /// limit); before the ClientHello there is no session to write to
    /// (`Err(NotConnected)`).
    pub fn write<S: Read + Write>(&mut self, sock: &mut S, bufs: &[&[u8]]) -> io::Result<usize> {
        let conn = match &mut self.session {
            Session::Tls(conn) => conn,
            Session::Hello(..) => return Err(io::Error::new(ErrorKind::NotConnected, "no TLS session yet")),
            Session::Failed => return Err(failed()),
        };
        // Make room first: what the socket takes now is room under the limit.
        flush_conn(conn, sock)?;
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let mut count = 0;
        for b in bufs.iter().filter(|b| !b.is_empty()).take(MAX_SLICES) {
            slices[count] = IoSlice::new(b);
            count += 1;
        }
        if count == 0 {
            return Ok(0);
        }
        let taken = conn.writer().write_vectored(&slices[..count])?;
        if taken == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        flush_conn(conn, sock)?;
        Ok(taken)
    }

    /// Let up to `limit` bytes of ciphertext wait instead of
    /// [`PENDING_LIMIT`]: for HTTP/2, whose connection queues as much of
    /// its own frames.
    pub fn set_pending_limit(&mut self, limit: usize) {
        if let Session::Tls(conn) = &mut self.session {
            conn.set_buffer_limit(Some(limit));
        }
    }

    /// Send pending ciphertext. `Ok(true)` when none is left.
    pub fn flush<S: Write>(&mut self, sock: &mut S) -> io::Result<bool> {
        match &mut self.session {
            Session::Tls(conn) => flush_conn(conn, sock),
            Session::Hello(..) | Session::Failed => Ok(true),
        }
    }

    /// Queue `close_notify` (RFC 8446 §6.1: each side must send it before
    /// closing its write side) and send what the socket takes.
    pub fn close<S: Write>(&mut self, sock: &mut S) {
        if let Session::Tls(conn) = &mut self.session {
            conn.send_close_notify();
            let _ = flush_conn(conn, sock);
        }
    }

    /// Whether the handshake is still to finish (true before the hello).
    pub fn is_handshaking(&self) -> bool {
        match &self.session {
            Session::Hello(..) => true,
            Session::Tls(conn) => conn.is_handshaking(),
            Session::Failed => false,
        }
    }

    /// Whether ciphertext waits to be sent: arm writable interest.
    pub fn wants_write(&self) -> bool {
        match &self.session {
            Session::Tls(conn) => conn.wants_write(),
            Session::Hello(..) | Session::Failed => false,
        }
    }

    /// What the ClientHello offered (SNI, ALPN), once it has arrived; set
    /// even when the handshake then fails, which is when a trace needs it.
    pub fn hello(&self) -> Option<&HelloInfo> {
        self.hello.as_ref()
    }

    /// The version agreed and the name the client asked for, borrowed: what
    /// an access log line shows, without the allocations of [`TlsStream::info`].
    pub fn version_and_sni(&self) -> (&'static str, Option<&str>) {
        let Session::Tls(conn) = &self.session else { return ("", None) };
        (version_name(conn.protocol_version()), conn.server_name())
    }

    /// Whether ALPN agreed on HTTP/2 (`h2`, RFC 9113 §3.2).
    pub fn alpn_is_h2(&self) -> bool {
        let Session::Tls(conn) = &self.session else { return false };
        conn.alpn_protocol() == Some(b"h2")
    }

    /// The negotiated parameters; meaningful once `is_handshaking()` is false.
    pub fn info(&self) -> TlsInfo {
        let Session::Tls(conn) = &self.session else {
            return TlsInfo { version: "", suite: "", sni: None, alpn: None, resumed: false };
        };
        let version = version_name(conn.protocol_version());
        let suite = conn.negotiated_cipher_suite().and_then(|s| s.suite().as_str()).unwrap_or("");
        TlsInfo {
            version,
            suite,
            sni: conn.server_name().map(str::to_string),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
        }
    }
}

/// `TLSv1.3`, `TLSv1.2`, or empty before the handshake.
fn version_name(version: Option<ProtocolVersion>) -> &'static str {
    match version {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "",
    }
}

/// Write pending ciphertext until none is left (`true`) or the socket is full
/// (`false`).
fn flush_conn<S: Write>(conn: &mut ServerConnection, sock: &mut S) -> io::Result<bool> {
    while conn.wants_write() {
        match conn.write_tls(sock) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn failed() -> io::Error {
    io::Error::new(ErrorKind::InvalidData, "TLS session failed earlier")
}
