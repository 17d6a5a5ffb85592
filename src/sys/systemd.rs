//! The two halves of systemd's protocol a service needs, written out (a
//! few lines each, no library): socket activation (sd_listen_fds(3)) and
//! readiness notification (sd_notify(3)).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// A socket systemd passed, and its name (`--fdname`, `FileDescriptorName=`).
pub type Passed = (OwnedFd, Option<String>);

/// The listening sockets systemd passed, with their names
/// (`LISTEN_FDNAMES`), when `LISTEN_PID` is this process; `None` when it
/// passed none. The variables are removed, so programs wired starts (CGI)
/// do not take the sockets for theirs.
pub fn listen_fds() -> io::Result<Option<Vec<Passed>>> {
    let (Ok(pid), Ok(fds)) = (std::env::var("LISTEN_PID"), std::env::var("LISTEN_FDS")) else { return Ok(None) };
    if pid.parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    let count: i32 = fds.parse().map_err(|_| io::Error::other(format!("LISTEN_FDS={fds} is not a number")))?;
    let names: Vec<String> =
        std::env::var("LISTEN_FDNAMES").map(|n| n.split(':').map(String::from).collect()).unwrap_or_default();
    // SAFETY: called before any other thread starts (`serve` binds first),
    // so nothing reads the environment meanwhile.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    let mut out = Vec::new();
    for i in 0..count.clamp(0, 1024) {
        let fd = LISTEN_FDS_START + i;
        let mut listening: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `listening` and `len` are live locals of the sizes given.
        let ret = unsafe {
            libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN, (&raw mut listening).cast(), &mut len)
        };
        if ret != 0 || listening == 0 {
            return Err(io::Error::other(format!("descriptor {fd} is not a listening socket")));
        }
        // SAFETY: systemd passed this descriptor to this process (LISTEN_PID
        // says so), it is a listening socket, and nothing else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // systemd passes them blocking; the workers' poll needs them not to be.
        let listener = std::net::TcpListener::from(owned);
        listener.set_nonblocking(true)?;
        out.push((OwnedFd::from(listener), names.get(i as usize).cloned()));
    }
    Ok((!out.is_empty()).then_some(out))
}

/// sd_notify(3): send `state` (`READY=1`, `RELOADING=1`, `STOPPING=1`) to
/// the socket named by `NOTIFY_SOCKET`, if any. A path, or an abstract
/// name when it starts with `@`. Failures are returned to be logged: a
/// service manager that cannot be told is not a reason to stop serving.
pub fn notify(state: &str) -> io::Result<()> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return Ok(()) };
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            socket.send_to(state.as_bytes(), &path)?;
        }
    }
    Ok(())
}

/// `MONOTONIC_USEC=` for `RELOADING=1` (systemd 253's Type=notify-reload
/// asks for it): CLOCK_MONOTONIC in microseconds.
pub fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a live local; clock_gettime only writes it.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000) + (ts.tv_nsec as u64) / 1000
}
