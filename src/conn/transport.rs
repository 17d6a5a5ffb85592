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

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

use crate::response::FileSlice;
use crate::sys;
use crate::tls::TlsStream;

/// A connection's transport: the socket, and the TLS session over it if any.
#[derive(Debug)]
pub struct Transport {
    sock: TcpStream,
    /// Boxed, so a plain connection pays one pointer for it.
    tls: Option<Box<TlsStream>>,
    /// `close_notify` has been sent (it is sent once).
    notified: bool,
}

impl Transport {
    /// Plain TCP.
    pub fn plain(sock: TcpStream) -> Transport {
        Transport { sock, tls: None, notified: false }
    }

    /// TLS over `sock`, its handshake not yet begun.
    pub fn tls(sock: TcpStream, tls: Box<TlsStream>) -> Transport {
        Transport { sock, tls: Some(tls), notified: false }
    }

    /// Speak plain TCP from now on: for the one answer a TLS port gives a
    /// client that spoke plain HTTP to it.
    pub fn drop_tls(&mut self) {
        self.tls = None;
    }

    /// The socket, for socket options.
    pub fn sock(&self) -> &TcpStream {
        &self.sock
    }

    /// The socket, to register with the poll.
    pub fn sock_mut(&mut self) -> &mut TcpStream {
        &mut self.sock
    }

    /// The TLS session, if this is TLS.
    pub fn session(&self) -> Option<&TlsStream> {
        self.tls.as_deref()
    }

    /// The TLS handshake is still under way.
    pub fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// For `--access-log-tls`: the TLS version and SNI name, borrowed
    /// (`("", None)` for plain TCP, which the log writes as `"-" "-"`).
    pub fn log_fields(&self) -> (&'static str, Option<&str>) {
        self.tls.as_ref().map_or(("", None), |t| t.version_and_sni())
    }

    /// Files can go from the page cache to the socket with `sendfile`.
    pub fn zero_copy(&self) -> bool {
        self.tls.is_none()
    }

    /// Whether a read that filled less than the buffer proves the socket's
    /// receive queue empty. True for TCP; not under TLS, where a short read
    /// of plaintext can leave a whole record waiting in the socket or the
    /// session.
    pub fn short_read_drains(&self) -> bool {
        self.tls.is_none()
    }

    /// Read bytes (plaintext under TLS). `Ok(0)` is the end of the stream.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.tls.as_mut() {
            None => (&self.sock).read(buf),
            Some(tls) => tls.read(&mut self.sock, buf),
        }
    }

    /// Send `bytes`; `more`: something follows at once (a file, or the
    /// FIN), so the kernel may hold a part-filled packet for it.
    pub fn send(&mut self, bytes: &[u8], more: bool) -> io::Result<usize> {
        match self.tls.as_mut() {
            None => sys::send(&self.sock, bytes, more),
            Some(tls) => tls.write(&mut self.sock, &[bytes]),
        }
    }

    /// Send `a` then `b` in one call (`sendmsg`, or one TLS write).
    pub fn send2(&mut self, a: &[u8], b: &[u8], more: bool) -> io::Result<usize> {
        match self.tls.as_mut() {
            None => sys::send2(&self.sock, a, b, more),
            Some(tls) => tls.write(&mut self.sock, &[a, b]),
        }
    }

    /// Send the next bytes of a file slice and advance it. Plain TCP: one
    /// `sendfile`, or with a non-empty `copy` buffer (`--sendfile off`) a
    /// `pread` into it and one `sendto`. TLS: a `pread` into `copy` (which
    /// the worker provides for TLS), encrypted. Bytes not taken are read
    /// again next time: the buffer belongs to the worker, not the connection.
    pub fn send_file(&mut self, f: &mut FileSlice, copy: &mut [u8]) -> io::Result<usize> {
        let n = if self.tls.is_none() && copy.is_empty() {
            sys::sendfile(&self.sock, &*f.file, f.offset, f.len)?
        } else {
            let want = usize::try_from(f.len).unwrap_or(usize::MAX).min(copy.len());
            let buf = copy.get_mut(..want).unwrap_or_default();
            let got = std::os::unix::fs::FileExt::read_at(&*f.file, buf, f.offset)?;
            let bytes = buf.get(..got).unwrap_or_default();
            match (got, self.tls.as_mut()) {
                (0, _) => 0,
                (_, None) => (&self.sock).write(bytes)?,
                (_, Some(tls)) => tls.write(&mut self.sock, &[bytes])?,
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
        match self.tls.as_mut() {
            None => Ok(true),
            Some(tls) => tls.flush(&mut self.sock),
        }
    }

    /// Under TLS, send `close_notify` (RFC 8446 §6.1) as far as the socket
    /// takes it, before a close; nothing for plain TCP.
    pub fn close_notify(&mut self) {
        if let Some(tls) = self.tls.as_mut()
            && !tls.is_handshaking()
            && !self.notified
        {
            self.notified = true;
            tls.close(&mut self.sock);
        }
    }

    /// Say that nothing more will be sent: under TLS a `close_notify` alert
    /// first (RFC 8446 §6.1), then TCP's FIN.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.close_notify();
        self.sock.shutdown(Shutdown::Write)
    }
}
