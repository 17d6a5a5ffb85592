//! The same tests over HTTP/2. With `WIRED_TEST_H2=1`, `Server::start`
//! adds `--http2` to wired's arguments and `server.addr` becomes the
//! address of this shim: the tests go on writing HTTP/1.1 requests and
//! reading HTTP/1.1 responses, and the shim carries every request to wired
//! as an HTTP/2 stream. With `WIRED_TEST_TLS=1` as well, it speaks `h2`
//! over TLS (ALPN, RFC 9113 §3.2) to wired's TLS listener; otherwise h2c
//! with prior knowledge (§3.3) to its plain one.
//!
//! The HTTP/2 side is an independent client: hyper's `h2` crate (its
//! frames, HPACK and flow control, not `wired_parser::http2`), on a
//! current-thread tokio runtime in each shim connection's thread, with
//! `tokio-rustls` for TLS. It checks what wired sends by its own reading of
//! RFC 9113, content-length against the DATA received included: a stream
//! it refuses ends the test's connection, as a broken HTTP/1.1 response
//! would.
//!
//! Per test connection, one HTTP/2 connection:
//!
//! - each request the test writes is parsed with httparse and sent as a
//!   stream: `Host` (or an absolute-form target's authority) becomes
//!   `:authority`, the target `:path`; the connection-specific fields HTTP/2
//!   forbids (§8.2.2: `Connection` and the fields it names, `Keep-Alive`,
//!   `Proxy-Connection`, `Transfer-Encoding`, `Upgrade`, `TE` but
//!   `trailers`) are dropped; a body framed by Content-Length follows as DATA;
//! - requests written back to back (pipelined) become concurrent streams,
//!   at most [`IN_FLIGHT`] at a time; their answers are written to the test
//!   in request order, as HTTP/1.1 would;
//! - an answer becomes a status line, wired's fields as sent, and the body
//!   framed by wired's content-length (a body without one is written
//!   chunked); no body after HEAD, 204 or 304;
//! - the connection stays open until the test half-closes it, asks
//!   `Connection: close` (or speaks HTTP/1.0 without keep-alive), or wired
//!   resets a stream or ends the connection (GOAWAY, an idle timeout):
//!   then the shim writes what it has and closes. It adds no `Connection`
//!   field of its own: an answer's fields are wired's;
//! - backpressure holds: the shim grants wired a stream window of
//!   [`WINDOW`] bytes and gives each back only once the test took them.
//!
//! What HTTP/2 cannot carry is answered by the shim itself with a 502 whose
//! `x-h2-shim` field says why (a request httparse rejects, a target or
//! field the `http` crate refuses, a chunked request body), so a test
//! that meets it fails saying so. Tests about HTTP/1.1 itself (its framing,
//! pipelining as bytes, `Connection`, the parser's 400s, socket options and
//! packets) call [`h1_only`] and return early in this mode, saying why. A
//! test that passes `--http2` itself speaks HTTP/2 already and gets no shim.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use http::header::{HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Uri, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc};

/// The stream window the shim grants wired: at most this much of one
/// answer waits in the shim for a test that does not read.
const WINDOW: u32 = 64 * 1024;

/// Most streams open at once on one connection (pipelined requests).
const IN_FLIGHT: usize = 8;

/// Most fields in one request the shim parses.
const MAX_FIELDS: usize = 128;

/// True when the suites run over HTTP/2 (`WIRED_TEST_H2=1`).
pub fn h2_mode() -> bool {
    std::env::var_os("WIRED_TEST_H2").is_some_and(|v| v == "1")
}

/// The protocol wired sees the test's requests come in: what its access
/// log and a program's SERVER_PROTOCOL say.
pub fn client_protocol() -> &'static str {
    if h2_mode() { "HTTP/2.0" } else { "HTTP/1.1" }
}

/// In HTTP/2 mode, say that this test is about HTTP/1.1 itself and is not
/// repeated over HTTP/2; the caller returns. Always false otherwise.
pub fn h1_only(why: &str) -> bool {
    if h2_mode() {
        eprintln!("HTTP/1.1 only, not repeated over HTTP/2: {why}");
    }
    h2_mode()
}

/// A listening shim in front of wired at `target` (its TLS listener when
/// `tls`). Its threads end with the connections they serve; the accept
/// thread ends with the test process.
pub fn start(target: SocketAddr, tls: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("h2 shim listener");
    let addr = listener.local_addr().expect("h2 shim address");
    std::thread::spawn(move || {
        for down in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build();
                let Ok(runtime) = runtime else { return };
                if let Err(e) = runtime.block_on(connection(down, target, tls)) {
                    eprintln!("h2 shim: {e}");
                }
            });
        }
    });
    addr
}

/// One test connection (`down`) and its HTTP/2 connection to wired.
async fn connection(down: std::net::TcpStream, target: SocketAddr, tls: bool) -> Result<(), String> {
    down.set_nonblocking(true).map_err(|e| e.to_string())?;
    down.set_nodelay(true).map_err(|e| e.to_string())?;
    let down = TcpStream::from_std(down).map_err(|e| e.to_string())?;
    let up = TcpStream::connect(target).await.map_err(|e| format!("connect to wired: {e}"))?;
    up.set_nodelay(true).map_err(|e| e.to_string())?;
    if !tls {
        return exchange(down, up, Scheme::HTTP).await;
    }
    let mut config = (*crate::tls_shim::pki().client).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let up = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, up)
        .await
        .map_err(|e| format!("TLS handshake with wired: {e}"))?;
    if up.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err("wired did not choose h2 by ALPN".into());
    }
    exchange(down, up, Scheme::HTTPS).await
}

/// What the writer owes the test, in request order.
enum Answer {
    /// A stream sent to wired: `head` for a HEAD request, `close` when the
    /// test's connection ends after this answer.
    Stream { response: ResponseFuture, head: bool, close: bool },
    /// A request the shim could not carry: a 502 saying why, then the close.
    Refused(String),
}

/// Carry requests and answers between the test and wired until either ends.
async fn exchange<T>(down: TcpStream, up: T, scheme: Scheme) -> Result<(), String>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = h2::client::Builder::new()
        .enable_push(false)
        .initial_window_size(WINDOW)
        // Room for every stream's window at once, so answers waiting their
        // turn never hold up the one being written.
        .initial_connection_window_size(WINDOW * (IN_FLIGHT as u32 + 4))
        .handshake::<_, Bytes>(up)
        .await
        .map_err(|e| format!("HTTP/2 handshake with wired: {e}"))?;
    // wired closing the connection (an idle timeout, a GOAWAY) ends the
    // test's too, once the answers still due are written.
    let gone = Arc::new(Notify::new());
    let driver = tokio::spawn({
        let gone = Arc::clone(&gone);
        async move {
            if let Err(e) = conn.await
                && !e.is_io()
            {
                eprintln!("h2 shim: the HTTP/2 connection ended: {e}");
            }
            gone.notify_one();
        }
    });
    let (down_read, down_write) = down.into_split();
    let (answers, queue) = mpsc::channel(IN_FLIGHT);
    let down = Down { read: down_read, gone, driver: driver.abort_handle() };
    let reader = tokio::spawn(requests(down, send, answers, scheme));
    let result = responses(down_write, queue).await;
    // The test's connection is closed (or done with): stop reading it, and
    // let the HTTP/2 connection go.
    reader.abort();
    let _ = reader.await;
    driver.abort();
    result
}

/// The test's side of the connection, to read requests from, and word of
/// wired's side ending.
struct Down {
    read: OwnedReadHalf,
    gone: Arc<Notify>,
    /// The HTTP/2 connection's task: a reset from the test ends it, so
    /// wired sees its connection end as a reset client's would.
    driver: tokio::task::AbortHandle,
}

impl Down {
    /// The test's next bytes; `None` once the test half-closed or wired's
    /// connection ended. A reset from the test takes the HTTP/2
    /// connection down with it.
    async fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        tokio::select! {
            read = self.read.read(buf) => match read {
                Ok(n) if n > 0 => Some(n),
                Ok(_) => None,
                Err(_) => {
                    self.driver.abort();
                    None
                }
            },
            _ = self.gone.notified() => None,
        }
    }
}

/// Read the test's requests and send each to wired as a stream.
async fn requests(mut down: Down, mut h2: SendRequest<Bytes>, answers: mpsc::Sender<Answer>, scheme: Scheme) {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        // Every whole request in hand, in order.
        loop {
            let parsed = match parse(&buf, &scheme) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(why) => {
                    let _ = answers.send(Answer::Refused(why)).await;
                    return;
                }
            };
            buf.drain(..parsed.head_len);
            let ready = match h2.clone().ready().await {
                Ok(ready) => ready,
                Err(_) => return,
            };
            h2 = ready;
            let end = parsed.body_len == 0 && !parsed.chunked;
            let (response, mut stream) = match h2.send_request(parsed.request, end) {
                Ok(sent) => sent,
                Err(e) => {
                    let why = format!("h2 refused the request: {e}");
                    let _ = answers.send(Answer::Refused(why)).await;
                    return;
                }
            };
            let close = parsed.close;
            if answers.send(Answer::Stream { response, head: parsed.head, close }).await.is_err() {
                return;
            }
            // The body, as it arrives. h2 holds what exceeds wired's window
            // (the bodies tests send here are small).
            if parsed.chunked {
                // HTTP/1.1's framing undone: each chunk's bytes become DATA,
                // the last chunk END_STREAM (trailers are dropped).
                if send_chunked(&mut down, &mut buf, &mut chunk, &mut stream).await.is_none() {
                    // The test left mid-body: the request can never end.
                    stream.send_reset(h2::Reason::CANCEL);
                    return;
                }
                if close {
                    return;
                }
                continue;
            }
            let mut left = parsed.body_len;
            while left > 0 {
                if buf.is_empty() {
                    let Some(n) = down.read(&mut chunk).await else {
                        // The test left mid-body: the request can never end.
                        stream.send_reset(h2::Reason::CANCEL);
                        return;
                    };
                    buf.extend_from_slice(&chunk[..n]);
                }
                let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let data = Bytes::copy_from_slice(&buf[..n]);
                buf.drain(..n);
                left -= n as u64;
                if stream.send_data(data, left == 0).is_err() {
                    break;
                }
            }
            if close {
                return;
            }
        }
        // None: the test half-closed, or wired closed; the answers still
        // due are written.
        let Some(n) = down.read(&mut chunk).await else { return };
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One request parsed from the test's bytes.
struct Parsed {
    request: Request<()>,
    head_len: usize,
    body_len: u64,
    /// The body comes chunked (`body_len` is then 0).
    chunked: bool,
    head: bool,
    close: bool,
}

/// The first request in `buf` if its head is whole; an error, saying why,
/// for one the shim cannot carry over HTTP/2.
fn parse(buf: &[u8], scheme: &Scheme) -> Result<Option<Parsed>, String> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut req = httparse::Request::new(&mut fields);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("httparse rejects the request: {e}")),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err("an incomplete request line".into());
    };
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| format!("method {method:?}: {e}"))?;
    // §8.2.2: `Connection` and every field it names are connection-specific.
    let mut hop: Vec<String> = vec![];
    let (mut close, mut keep_alive) = (minor == 0, false);
    let mut host = None;
    let mut body_len = 0u64;
    let mut chunked = false;
    for f in req.headers.iter() {
        let value = String::from_utf8_lossy(f.value);
        if f.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(|t| t.trim().to_ascii_lowercase()) {
                close |= token == "close";
                keep_alive |= token == "keep-alive";
                hop.push(token);
            }
        } else if f.name.eq_ignore_ascii_case("host") {
            host = Some(value.into_owned());
        } else if f.name.eq_ignore_ascii_case("content-length") {
            body_len = value.trim().parse().map_err(|_| format!("Content-Length {value:?}"))?;
        } else if f.name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.trim().eq_ignore_ascii_case("chunked") {
                return Err(format!("Transfer-Encoding {value:?}: only chunked is carried"));
            }
            chunked = true;
        }
    }
    if minor == 0 && keep_alive {
        close = false;
    }
    // The target: absolute form, `*`, or origin form with Host as authority.
    let uri = if target.starts_with("http://") || target.starts_with("https://") {
        Uri::try_from(target).map_err(|e| format!("target {target:?}: {e}"))?
    } else if let Some(host) = &host {
        let authority = Authority::try_from(host.as_str()).map_err(|e| format!("Host {host:?}: {e}"))?;
        let path = PathAndQuery::try_from(target).map_err(|e| format!("target {target:?}: {e}"))?;
        if path.as_str() != target {
            return Err(format!("target {target:?}: the http crate would send {:?}", path.as_str()));
        }
        Uri::builder()
            .scheme(scheme.clone())
            .authority(authority)
            .path_and_query(path)
            .build()
            .map_err(|e| format!("target {target:?}: {e}"))?
    } else {
        // No Host: h2 sends `:scheme: http` and no `:authority`.
        Uri::try_from(target).map_err(|e| format!("target {target:?}: {e}"))?
    };
    let version = if uri.authority().is_some() { Version::HTTP_2 } else { Version::HTTP_11 };
    let head = method == Method::HEAD;
    let mut request =
        Request::builder().method(method).uri(uri).version(version).body(()).map_err(|e| format!("request: {e}"))?;
    for f in req.headers.iter() {
        let name = f.name.to_ascii_lowercase();
        let connection_specific =
            matches!(name.as_str(), "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade")
                || (name == "te" && !f.value.eq_ignore_ascii_case(b"trailers"))
                || hop.contains(&name);
        // Host travels as :authority (§8.3.1).
        if connection_specific || name == "host" {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("field {name:?}: {e}"))?;
        let value = HeaderValue::from_bytes(f.value).map_err(|e| format!("field {name}: {e}"))?;
        request.headers_mut().append(name, value);
    }
    Ok(Some(Parsed { request, head_len, body_len, chunked, head, close }))
}

/// Carry a chunked body from the test's bytes to the stream as DATA
/// frames; `None` when the test's side ends first or the framing breaks.
async fn send_chunked(
    down: &mut Down,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
    stream: &mut h2::SendStream<Bytes>,
) -> Option<()> {
    loop {
        let (used, size) = loop {
            match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete(found)) => break found,
                Ok(httparse::Status::Partial) => fill(down, buf, chunk).await?,
                Err(_) => return None,
            }
        };
        buf.drain(..used);
        if size == 0 {
            // The trailer section, up to its empty line: dropped.
            loop {
                match buf.windows(2).position(|w| w == b"\r\n") {
                    Some(0) => {
                        buf.drain(..2);
                        let _ = stream.send_data(Bytes::new(), true);
                        return Some(());
                    }
                    Some(i) => drop(buf.drain(..i + 2)),
                    None => fill(down, buf, chunk).await?,
                }
            }
        }
        let mut left = size;
        while left > 0 {
            if buf.is_empty() {
                fill(down, buf, chunk).await?;
            }
            let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let data = Bytes::copy_from_slice(&buf[..n]);
            buf.drain(..n);
            left -= n as u64;
            let _ = stream.send_data(data, false);
        }
        while buf.len() < 2 {
            fill(down, buf, chunk).await?;
        }
        if &buf[..2] != b"\r\n" {
            return None;
        }
        buf.drain(..2);
    }
}

/// Read more of the test's bytes onto `buf`.
async fn fill(down: &mut Down, buf: &mut Vec<u8>, chunk: &mut [u8]) -> Option<()> {
    let n = down.read(chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Some(())
}

/// Write wired's answers to the test as HTTP/1.1, in request order; then
/// close the test's connection.
async fn responses(mut down: OwnedWriteHalf, mut queue: mpsc::Receiver<Answer>) -> Result<(), String> {
    while let Some(answer) = queue.recv().await {
        let (response, head, close) = match answer {
            Answer::Stream { response, head, close } => (response, head, close),
            Answer::Refused(why) => {
                eprintln!("h2 shim: {why}");
                let note = why.replace(['\r', '\n'], " ");
                let text = format!(
                    "HTTP/1.1 502 Bad Gateway\r\nx-h2-shim: {note}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = down.write_all(text.as_bytes()).await;
                break;
            }
        };
        let response = match response.await {
            Ok(r) => r,
            Err(e) => {
                // A reset before the answer's head: the test sees the close.
                eprintln!("h2 shim: no answer: {e}");
                break;
            }
        };
        let (parts, mut body) = response.into_parts();
        let status = parts.status;
        let bodiless = head || status.is_informational() || status.as_u16() == 204 || status.as_u16() == 304;
        let chunked = !bodiless && !parts.headers.contains_key(http::header::CONTENT_LENGTH);
        let mut out =
            format!("HTTP/1.1 {} {}\r\n", status.as_u16(), status.canonical_reason().unwrap_or("")).into_bytes();
        for (name, value) in &parts.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if chunked {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if down.write_all(&out).await.is_err() {
            return Ok(());
        }
        // The body, given back to wired's window once the test has it.
        let mut whole = true;
        while let Some(data) = body.data().await {
            let data = match data {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("h2 shim: the answer broke off: {e}");
                    whole = false;
                    break;
                }
            };
            // (An empty DATA frame, such as one carrying only END_STREAM,
            // is no chunk: written as one it would end the body early.)
            if bodiless || data.is_empty() {
                let _ = body.flow_control().release_capacity(data.len());
                continue;
            }
            let written = if chunked {
                let size = format!("{:x}\r\n", data.len());
                let mut framed = Vec::with_capacity(size.len() + data.len() + 2);
                framed.extend_from_slice(size.as_bytes());
                framed.extend_from_slice(&data);
                framed.extend_from_slice(b"\r\n");
                down.write_all(&framed).await
            } else {
                down.write_all(&data).await
            };
            if written.is_err() {
                return Ok(());
            }
            let _ = body.flow_control().release_capacity(data.len());
        }
        if !whole {
            break;
        }
        if chunked && down.write_all(b"0\r\n\r\n").await.is_err() {
            return Ok(());
        }
        if close {
            break;
        }
    }
    let _ = down.shutdown().await;
    Ok(())
}
