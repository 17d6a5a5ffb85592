//! The same tests over TLS. With `WIRED_TEST_TLS=1` (as `make test` runs
//! the suites a second time), `Server::start` also opens a TLS listener
//! with a test certificate, and `server.addr` becomes the address of this
//! shim: a small TLS client per connection that the tests talk plain bytes
//! to, and that speaks TLS to wired. Everything a raw-socket test does on
//! its side reaches wired as TLS does it:
//!
//! - bytes become records, and records bytes, in the order sent;
//! - a half-close (FIN) becomes `close_notify` then FIN, and wired's become
//!   the test's FIN;
//! - a reset becomes a reset, both ways;
//! - backpressure holds: the shim keeps at most [`WINDOW`] bytes in hand per
//!   direction, so a test that stops reading stalls wired's writes, as a
//!   full TCP window would.
//!
//! Tests about plain TCP itself (socket options, packets, `sendfile`) call
//! [`plain_only`] and return early in this mode, saying so.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::common::reset_on_close;

/// Most bytes the shim holds for either side before it stops reading the other.
const WINDOW: usize = 64 * 1024;

/// True when the suites run over TLS (`WIRED_TEST_TLS=1`).
pub fn tls_mode() -> bool {
    std::env::var_os("WIRED_TEST_TLS").is_some_and(|v| v == "1")
}

/// In TLS mode, say that this test is about plain TCP and is not repeated
/// over TLS; the caller returns. Always false in the plain run.
pub fn plain_only(why: &str) -> bool {
    if tls_mode() {
        eprintln!("plain TCP only, not repeated over TLS: {why}");
    }
    tls_mode()
}

/// The test certificate (for `localhost`), its key, and a client trusting it.
pub struct TestPki {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client: Arc<ClientConfig>,
}

/// Made once per test process.
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("wired-test-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("certificate");
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(cert.der().to_vec())).expect("root");
        let mut client = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        TestPki { cert: cert_path, key: key_path, client: Arc::new(client) }
    })
}

/// The arguments that add a TLS listener with the test certificate.
pub fn tls_args() -> Vec<String> {
    let pki = pki();
    vec![
        "--listen-tls".into(),
        "127.0.0.1:0".into(),
        "--tls-cert".into(),
        pki.cert.display().to_string(),
        "--tls-key".into(),
        pki.key.display().to_string(),
    ]
}

/// A listening shim in front of wired's TLS port. Its threads end with the
/// connections they serve; the accept thread ends with the test process.
pub fn start(target: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("shim listener");
    let addr = listener.local_addr().expect("shim address");
    let client = pki().client.clone();
    std::thread::spawn(move || {
        for down in listener.incoming().map_while(Result::ok) {
            let client = client.clone();
            std::thread::spawn(move || {
                if let Ok(up) = TcpStream::connect(target) {
                    let _ = pump(down, up, client);
                }
            });
        }
    });
    addr
}

/// Move bytes between the test (`down`, plain) and wired (`up`, TLS) until
/// both directions are closed.
fn pump(mut down: TcpStream, mut up: TcpStream, config: Arc<ClientConfig>) -> std::io::Result<()> {
    let name = ServerName::try_from("localhost").map_err(|_| ErrorKind::InvalidInput)?;
    let mut tls = ClientConnection::new(config, name).map_err(|_| ErrorKind::InvalidInput)?;
    down.set_nodelay(true)?;
    up.set_nodelay(true)?;
    down.set_nonblocking(true)?;
    up.set_nonblocking(true)?;
    // Plaintext waiting for the session (from the test) and for the test (from wired).
    let (mut to_up, mut to_down): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    let (mut down_eof, mut up_eof, mut down_shut, mut up_shut) = (false, false, false, false);
    // wired stopped taking bytes (it closed, or reset): what it sent is still delivered.
    let mut up_dead = false;
    let mut notified = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut moved = false;
        // Test -> plaintext, once the session has taken and sent the last
        // (or dropped, once wired stopped taking bytes).
        if !down_eof && (up_dead || (to_up.is_empty() && !tls.wants_write())) {
            match down.read(&mut buf) {
                Ok(0) => down_eof = true,
                Ok(n) => {
                    if !up_dead {
                        to_up.extend_from_slice(&buf[..n]);
                    }
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    reset_on_close(&up);
                    return Ok(());
                }
            }
        }
        if up_dead {
            to_up.clear();
        }
        if !to_up.is_empty() {
            // The session takes what fits under its buffer limit.
            let n = tls.writer().write(&to_up)?;
            to_up.drain(..n);
            moved |= n > 0;
        }
        if down_eof && to_up.is_empty() && !notified && !tls.is_handshaking() {
            tls.send_close_notify();
            notified = true;
        }
        // Records -> wired.
        while tls.wants_write() && !up_dead {
            match tls.write_tls(&mut up) {
                Ok(_) => moved = true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => up_dead = true,
            }
        }
        if notified && !up_shut && !tls.wants_write() {
            let _ = up.shutdown(Shutdown::Write);
            up_shut = true;
        }
        // wired -> records, while the test has room.
        if !up_eof && to_down.len() < WINDOW {
            match tls.read_tls(&mut up) {
                Ok(0) => up_eof = true,
                Ok(_) => moved = true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    // wired reset: the test sees a reset too, after what came before.
                    let _ = down.write_all(&to_down);
                    reset_on_close(&down);
                    return Ok(());
                }
            }
            if tls.process_new_packets().is_err() {
                let _ = tls.write_tls(&mut up);
                reset_on_close(&down);
                return Ok(());
            }
            loop {
                match tls.reader().read(&mut buf) {
                    Ok(0) => {
                        up_eof = true;
                        break;
                    }
                    Ok(n) => {
                        to_down.extend_from_slice(&buf[..n]);
                        moved = true;
                    }
                    Err(_) => break,
                }
            }
        }
        // Plaintext -> the test.
        while !to_down.is_empty() {
            match down.write(&to_down) {
                Ok(n) => {
                    to_down.drain(..n);
                    moved = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    reset_on_close(&up);
                    return Ok(());
                }
            }
        }
        if up_eof && to_down.is_empty() && !down_shut {
            if up_dead {
                // wired closed while the test was still sending: a direct
                // client would meet a reset on its next write.
                reset_on_close(&down);
                return Ok(());
            }
            let _ = down.shutdown(Shutdown::Write);
            down_shut = true;
        }
        if down_shut && (up_shut || down_eof) {
            return Ok(());
        }
        if down_shut && up_dead {
            // wired has closed for good; the test is still sending.
            reset_on_close(&down);
            return Ok(());
        }
        if !moved {
            let read_down = !down_eof && (up_dead || (to_up.is_empty() && !tls.wants_write()));
            let read_up = !up_eof && to_down.len() < WINDOW;
            wait(&down, &up, [read_down, !to_down.is_empty()], [read_up, tls.wants_write() && !up_dead]);
        }
    }
}

/// Sleep until a socket is ready for what is wanted of it: `[read, write]`
/// for each. At most 50 ms, so nothing is missed for long.
fn wait(down: &TcpStream, up: &TcpStream, down_wants: [bool; 2], up_wants: [bool; 2]) {
    let events = |[r, w]: [bool; 2]| (if r { libc::POLLIN } else { 0 }) | (if w { libc::POLLOUT } else { 0 });
    let mut fds = [
        libc::pollfd { fd: down.as_raw_fd(), events: events(down_wants), revents: 0 },
        libc::pollfd { fd: up.as_raw_fd(), events: events(up_wants), revents: 0 },
    ];
    // SAFETY: `fds` is a live array of two pollfds for the duration of the call.
    unsafe {
        libc::poll(fds.as_mut_ptr(), 2, Duration::from_millis(50).as_millis() as i32);
    }
}
