//! The listening sockets: one per worker per address, with `SO_REUSEPORT`
//! so the kernel spreads new connections over the workers; or, under
//! systemd's socket activation, the sockets systemd bound and passed
//! (`LISTEN_FDS`, sd_listen_fds(3)), shared by the workers.

use std::net::{SocketAddr, TcpListener};

use crate::config::Config;
use crate::sys;

/// A listening socket, and whether it speaks TLS.
pub type Listener = (TcpListener, bool);

/// Each worker's listeners, and the addresses bound (with TLS or not).
pub type Bound = (Vec<Vec<Listener>>, Vec<(SocketAddr, bool)>);

/// Every worker's listeners: systemd's if it passed some, else bound here.
pub fn bind_all(config: &Config) -> Result<Bound, String> {
    match from_systemd(config)? {
        Some(bound) => Ok(bound),
        None => bind_each(config),
    }
}

/// Bind every worker's listener for every address. A probe without
/// SO_REUSEPORT first, so that a port already taken (even by another wired)
/// is reported instead of silently shared, and so that port 0 picks one port
/// for all workers.
fn bind_each(config: &Config) -> Result<Bound, String> {
    let mut per_worker: Vec<Vec<Listener>> = (0..config.workers).map(|_| Vec::new()).collect();
    let mut bound = Vec::new();
    let plain = config.listen.iter().map(|a| (a, false));
    for (addr, tls) in plain.chain(config.listen_tls.iter().map(|a| (a, true))) {
        let probe = TcpListener::bind(addr).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!("cannot listen on {addr}: the address is already in use"),
            _ => format!("cannot listen on {addr}: {e}"),
        })?;
        let actual = probe.local_addr().map_err(|e| e.to_string())?;
        drop(probe);
        bound.push((actual, tls));
        for listeners in per_worker.iter_mut() {
            let l = sys::reuseport_listener(actual, 1024).map_err(|e| format!("cannot listen on {actual}: {e}"))?;
            listeners.push((l, tls));
        }
    }
    Ok((per_worker, bound))
}

/// Socket activation (sd_listen_fds(3)): when `LISTEN_PID` is this
/// process, `LISTEN_FDS` sockets start at descriptor 3. Each speaks TLS
/// when `LISTEN_FDNAMES` names it `https` or its address is one of the
/// configured TLS addresses. Every worker gets a duplicate of each (one
/// socket, several pollers: the kernel wakes one per connection). The
/// variables are removed, so CGI programs do not see them.
fn from_systemd(config: &Config) -> Result<Option<Bound>, String> {
    let Some(passed) = sys::systemd::listen_fds().map_err(|e| format!("LISTEN_FDS: {e}"))? else { return Ok(None) };
    let mut per_worker: Vec<Vec<Listener>> = (0..config.workers).map(|_| Vec::new()).collect();
    let mut bound = Vec::new();
    for (owned, name) in passed {
        let listener = TcpListener::from(owned);
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let named_https = name.as_deref() == Some("https");
        let tls = named_https || config.listen_tls.contains(&addr);
        bound.push((addr, tls));
        for listeners in per_worker.iter_mut() {
            let copy = listener.try_clone().map_err(|e| format!("LISTEN_FDS: {e}"))?;
            listeners.push((copy, tls));
        }
    }
    if bound.is_empty() {
        return Ok(None);
    }
    Ok(Some((per_worker, bound)))
}
