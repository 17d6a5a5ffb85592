//! The floor: a mio loop per core that answers every request with the same
//! bytes, with no parsing beyond finding the blank line. It is what the
//! system calls allow on a machine, and `make bench` compares wired with it.
//!
//! `cargo run --release --example bare_loop -- 127.0.0.1:8081 2`

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

const RESPONSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nServer: bare\r\nContent-Length: 1024\r\n\r\n";

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr =
        args.next().unwrap_or_else(|| "127.0.0.1:8081".into()).parse().map_err(std::io::Error::other)?;
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(2);
    let mut response = RESPONSE_HEAD.to_vec();
    response.extend(std::iter::repeat_n(b'x', 1024));
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let listener = wired::sys::reuseport_listener(addr, 1024)?;
            let response = response.clone();
            Ok(std::thread::spawn(move || run(listener, &response)))
        })
        .collect::<std::io::Result<_>>()?;
    println!("bare loop listening on http://{addr} ({workers} workers)");
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn run(listener: std::net::TcpListener, response: &[u8]) -> std::io::Result<()> {
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::from_std(listener);
    const LISTENER: Token = Token(usize::MAX);
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Slab<(TcpStream, Vec<u8>)> = Slab::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::with_capacity(65536);
    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut sock, _)) = listener.accept() {
                    let _ = sock.set_nodelay(true);
                    let entry = conns.vacant_entry();
                    poll.registry().register(&mut sock, Token(entry.key()), Interest::READABLE)?;
                    entry.insert((sock, Vec::new()));
                }
                continue;
            }
            let key = event.token().0;
            let Some((sock, pending)) = conns.get_mut(key) else { continue };
            let mut closed = false;
            loop {
                match sock.read(&mut buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            out.clear();
            while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                pending.drain(..end + 4);
                out.extend_from_slice(response);
            }
            if !out.is_empty() && sock.write_all(&out).is_err() {
                closed = true;
            }
            if closed {
                conns.remove(key);
            }
        }
    }
}
