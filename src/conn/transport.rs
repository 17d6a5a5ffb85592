//! The transport: what carries a connection's bytes between the socket and
//! the HTTP state machine. The phases read and write through it and never
//! touch the socket themselves, so the same phases speak plain TCP and TLS.
//!
//! Plain TCP keeps the exact system calls of a server without a seam: one
//! `recvfrom` per read, `sendto` (with `MSG_MORE` when more follows at
//! once), `sendmsg` for a head and a body together, `sendfile` for files.
//! TLS (`crate::tls::TlsStream`) puts a record layer in between: plaintext
//! goes into rustls, which encrypts it into records and writes them; a file
//! is read into the worker's buffer and encrypted (no `sendfile`: the kernel
//! cannot encrypt without kTLS). What differs for the phases is said by the
//! methods: [`Transport::zero_copy`], [`Transport::flush`] (ciphertext may
//! wait in the session after a write took the plaintext), and
//! [`Transport::short_read_drains`].
//!
//! A third kind carries no socket at all: [`Pipe`], the memory an HTTP/2
//! stream and its secondary HTTP/1.1 connection talk through, so that a
//! stream's request reaches CGI, FastCGI and the proxy by the same phases
//! as a request read from a socket (`http2/secondary.rs` says why).

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

use crate::response::FileSlice;
use crate::sys;
use crate::tls::TlsStream;

/// A connection's transport: the socket, and the TLS session over it if
/// any; or, for an HTTP/2 stream's secondary connection, memory.
#[derive(Debug)]
pub struct Transport {
    kind: Kind,
    /// `close_notify` has been sent (it is sent once).
    notified: bool,
}

#[derive(Debug)]
enum Kind {
    /// A socket, and the TLS session over it if any (boxed, so a plain
    /// connection pays one pointer for it).
    Socket { sock: TcpStream, tls: Option<Box<TlsStream>> },
    /// An in-memory HTTP/1.1 connection carrying one HTTP/2 stream's
    /// request to a CGI program or an upstream ([`Pipe`]).
    Memory(Box<Pipe>),
}

/// The two byte queues between an HTTP/2 stream and the HTTP/1.1
/// connection that answers it in memory (`http2/secondary.rs`). The
/// stream writes the request into `request`; the connection reads it as a
/// socket's bytes, and its writes land in `response`, which the stream
/// turns into HEADERS and DATA. Both queues are bounded, so backpressure
/// crosses them as it would cross a socket: a full `response` makes the
/// connection's write "would block", and the stream gives the client more
/// flow-control window only as `request` is read.
#[derive(Debug, Default)]
pub struct Pipe {
    /// The request as HTTP/1.1 bytes, and how far it has been read.
    pub request: Vec<u8>,
    pub request_read: usize,
    /// The response as the connection wrote it.
    pub response: Vec<u8>,
    /// The connection shut its write side: the response is all there.
    pub response_shut: bool,
    /// The stream came over TLS (for `HTTPS=on` and the access log).
    pub tls: Option<(&'static str, Option<String>)>,
}

/// The most response bytes a [`Pipe`] holds before the connection's write
/// would block.
pub const PIPE_RESPONSE_MAX: usize = 64 * 1024;

impl Transport {
    /// Plain TCP.
    pub fn plain(sock: TcpStream) -> Transport {
        Transport { kind: Kind::Socket { sock, tls: None }, notified: false }
    }

    /// TLS over `sock`, its handshake not yet begun.
    pub fn tls(sock: TcpStream, tls: Box<TlsStream>) -> Transport {
        Transport { kind: Kind::Socket { sock, tls: Some(tls) }, notified: false }
    }

    /// Memory: an HTTP/2 stream's secondary connection.
    pub fn memory(pipe: Box<Pipe>) -> Transport {
        Transport { kind: Kind::Memory(pipe), notified: false }
    }

    /// Speak plain TCP from now on: for the one answer a TLS port gives a
    /// client that spoke plain HTTP to it.
    pub fn drop_tls(&mut self) {
        if let Kind::Socket { tls, .. } = &mut self.kind {
            *tls = None;
        }
    }

    /// The socket, for socket options (none for memory).
    pub fn sock(&self) -> Option<&TcpStream> {
        match &self.kind {
            Kind::Socket { sock, .. } => Some(sock),
            Kind::Memory(_) => None,
        }
    }

    /// The socket, to register with the poll (none for memory).
    pub fn sock_mut(&mut self) -> Option<&mut TcpStream> {
        match &mut self.kind {
            Kind::Socket { sock, .. } => Some(sock),
            Kind::Memory(_) => None,
        }
    }

    /// The pipe of a secondary connection.
    pub fn pipe(&self) -> Option<&Pipe> {
        match &self.kind {
            Kind::Memory(pipe) => Some(pipe),
            Kind::Socket { .. } => None,
        }
    }

    /// The pipe of a secondary connection, to fill and drain.
    pub fn pipe_mut(&mut self) -> Option<&mut Pipe> {
        match &mut self.kind {
            Kind::Memory(pipe) => Some(pipe),
            Kind::Socket { .. } => None,
        }
    }

    /// The TLS session, if this is TLS over a socket.
    pub fn session(&self) -> Option<&TlsStream> {
        match &self.kind {
            Kind::Socket { tls, .. } => tls.as_deref(),
            Kind::Memory(_) => None,
        }
    }

    /// Let the TLS session, if any, queue up to `limit` bytes of
    /// ciphertext (`TlsStream::set_pending_limit`).
    pub fn set_tls_pending_limit(&mut self, limit: usize) {
        if let Kind::Socket { tls: Some(tls), .. } = &mut self.kind {
            tls.set_pending_limit(limit);
        }
    }

    /// The client's bytes are encrypted: a TLS socket, or an HTTP/2
    /// stream that came over one (CGI's and FastCGI's `HTTPS`).
    pub fn is_tls(&self) -> bool {
        match &self.kind {
            Kind::Socket { tls, .. } => tls.is_some(),
            Kind::Memory(pipe) => pipe.tls.is_some(),
        }
    }

    /// The request came as an HTTP/2 stream (for the access log).
    pub fn is_http2_stream(&self) -> bool {
        matches!(self.kind, Kind::Memory(_))
    }

    /// The TLS handshake is still under way.
    pub fn handshaking(&self) -> bool {
        self.session().is_some_and(|t| t.is_handshaking())
    }

    /// For `--access-log-tls`: the TLS version and SNI name, borrowed
    /// (`("", None)` for plain TCP, which the log writes as `"-" "-"`).
    pub fn log_fields(&self) -> (&'static str, Option<&str>) {
        match &self.kind {
            Kind::Socket { tls, .. } => tls.as_ref().map_or(("", None), |t| t.version_and_sni()),
            Kind::Memory(pipe) => pipe.tls.as_ref().map_or(("", None), |(v, sni)| (*v, sni.as_deref())),
        }
    }

    /// Files can go from the page cache to the socket with `sendfile`.
    pub fn zero_copy(&self) -> bool {
        matches!(self.kind, Kind::Socket { tls: None, .. })
    }

    /// Whether a read that filled less than the buffer proves the socket's
    /// receive queue empty. True for TCP; not under TLS, where a short read
    /// of plaintext can leave a whole record waiting in the socket or the
    /// session. True for memory, whose queue a read empties.
    pub fn short_read_drains(&self) -> bool {
        !matches!(self.kind, Kind::Socket { tls: Some(_), .. })
    }

    /// Read bytes (plaintext under TLS). `Ok(0)` is the end of the stream.
    /// Memory never ends: once the request is read, a read would block, as
    /// a keep-alive client's socket does.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Socket { sock, tls: None } => (&*sock).read(buf),
            Kind::Socket { sock, tls: Some(tls) } => tls.read(sock, buf),
            Kind::Memory(pipe) => {
                let rest = pipe.request.get(pipe.request_read..).unwrap_or_default();
                if rest.is_empty() {
                    return Err(ErrorKind::WouldBlock.into());
                }
                let n = rest.len().min(buf.len());
                buf.get_mut(..n).unwrap_or_default().copy_from_slice(rest.get(..n).unwrap_or_default());
                pipe.request_read += n;
                if pipe.request_read == pipe.request.len() {
                    pipe.request.clear();
                    pipe.request_read = 0;
                }
                Ok(n)
            }
        }
    }

    /// Send `bytes`; `more`: something follows at once (a file, or the
    /// FIN), so the kernel may hold a part-filled packet for it.
    pub fn send(&mut self, bytes: &[u8], more: bool) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Socket { sock, tls: None } => sys::send(sock, bytes, more),
            Kind::Socket { sock, tls: Some(tls) } => tls.write(sock, &[bytes]),
            Kind::Memory(pipe) => pipe.write(&[bytes]),
        }
    }

    /// Send `a` then `b` in one call (`sendmsg`, or one TLS write).
    pub fn send2(&mut self, a: &[u8], b: &[u8], more: bool) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Socket { sock, tls: None } => sys::send2(sock, a, b, more),
            Kind::Socket { sock, tls: Some(tls) } => tls.write(sock, &[a, b]),
            Kind::Memory(pipe) => pipe.write(&[a, b]),
        }
    }

    /// Send the next bytes of a file slice and advance it. Plain TCP: one
    /// `sendfile`, or with a non-empty `copy` buffer (`--sendfile off`) a
    /// `pread` into it and one `sendto`. TLS and memory: a `pread` into
    /// `copy` (which the worker provides for them), then a write. Bytes not
    /// taken are read again next time: the buffer belongs to the worker,
    /// not the connection.
    pub fn send_file(&mut self, f: &mut FileSlice, copy: &mut [u8]) -> io::Result<usize> {
        let n = if let (Kind::Socket { sock, tls: None }, true) = (&self.kind, copy.is_empty()) {
            sys::sendfile(sock, &*f.file, f.offset, f.len)?
        } else {
            let want = usize::try_from(f.len).unwrap_or(usize::MAX).min(copy.len());
            let buf = copy.get_mut(..want).unwrap_or_default();
            let got = std::os::unix::fs::FileExt::read_at(&*f.file, buf, f.offset)?;
            let bytes = buf.get(..got).unwrap_or_default();
            match (got, &mut self.kind) {
                (0, _) => 0,
                (_, Kind::Socket { sock, tls: None }) => (&*sock).write(bytes)?,
                (_, Kind::Socket { sock, tls: Some(tls) }) => tls.write(sock, &[bytes])?,
                (_, Kind::Memory(pipe)) => pipe.write(&[bytes])?,
            }
        };
        if n == 0 {
            // The file is shorter than when the response head was sent: the
            // promised length cannot be kept, so the connection must close
            // (RFC 9112 §6.3: the client will see an incomplete message).
            return Err(io::Error::new(ErrorKind::UnexpectedEof, "file shrank while being sent"));
        }
        f.advance(n);
        Ok(n)
    }

    /// Push out what a write left waiting (TLS records not yet on the
    /// wire). `Ok(true)` when nothing waits; always so for plain TCP.
    pub fn flush(&mut self) -> io::Result<bool> {
        match &mut self.kind {
            Kind::Socket { sock, tls: Some(tls) } => tls.flush(sock),
            _ => Ok(true),
        }
    }

    /// Under TLS, send `close_notify` (RFC 8446 §6.1) as far as the socket
    /// takes it, before a close; nothing for plain TCP.
    pub fn close_notify(&mut self) {
        if let Kind::Socket { sock, tls: Some(tls) } = &mut self.kind
            && !tls.is_handshaking()
            && !self.notified
        {
            self.notified = true;
            tls.close(sock);
        }
    }

    /// Say that nothing more will be sent: under TLS a `close_notify` alert
    /// first (RFC 8446 §6.1), then TCP's FIN.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.close_notify();
        match &mut self.kind {
            Kind::Socket { sock, .. } => sock.shutdown(Shutdown::Write),
            Kind::Memory(pipe) => {
                pipe.response_shut = true;
                Ok(())
            }
        }
    }
}

impl Pipe {
    /// Take what fits of `parts` into `response` (all of it or a prefix),
    /// as a socket with a bounded send buffer would.
    fn write(&mut self, parts: &[&[u8]]) -> io::Result<usize> {
        let room = PIPE_RESPONSE_MAX.saturating_sub(self.response.len());
        if room == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for part in parts {
            let take = part.len().min(room - n);
            self.response.extend_from_slice(part.get(..take).unwrap_or_default());
            n += take;
        }
        Ok(n)
    }
}
