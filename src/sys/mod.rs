//! Thin wrappers over the system calls std does not offer. Every `unsafe` in
//! wired lives under this module, one small function per call, each with the
//! reason it is sound.

pub mod fs;
pub mod systemd;
pub mod upgrade;
pub mod user;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Turn a libc return value into an `io::Result`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

fn check_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret as usize) }
}

/// Set an integer socket option.
fn setsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `value` lives for the call and its size is passed exactly; the
    // kernel only reads it. A bad fd is reported as EBADF, not undefined behaviour.
    let ret = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(ret).map(drop)
}

/// A listening TCP socket with `SO_REUSEPORT`, so that every worker binds its
/// own socket to the same port and the kernel spreads connections among them.
pub fn reuseport_listener(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: socket(2) takes no pointers; the result is checked before use.
    let fd = check(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    if addr.is_ipv6() {
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    // Wake accept only once the client has sent something (nginx's
    // `deferred`): the request is then there to read at once.
    setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, 1)?;
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` is a properly initialised sockaddr of `len` bytes that
    // outlives the call; bind(2) only reads it.
    check(unsafe { libc::bind(fd, (&storage as *const libc::sockaddr_storage).cast(), len) })?;
    // SAFETY: listen(2) takes no pointers.
    check(unsafe { libc::listen(fd, backlog) })?;
    Ok(std::net::TcpListener::from(owned))
}

/// Encode a socket address for bind(2).
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data for which all-zero bytes are valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// `SO_SNDBUF`: fix the socket's send buffer (the kernel doubles the value
/// for its bookkeeping, and stops autotuning it).
pub fn set_send_buffer(sock: &impl AsRawFd, bytes: usize) -> io::Result<()> {
    let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    setsockopt_int(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, bytes)
}

/// The connection's smoothed round-trip time in microseconds (`TCP_INFO`).
pub fn tcp_rtt_us(sock: &impl AsRawFd) -> io::Result<u32> {
    // SAFETY: tcp_info is plain integers, so all zeros is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are live locals; the kernel writes at most
    // `len` bytes into `info` and the length it wrote into `len`.
    let ret = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    check(ret).map(|_| info.tcpi_rtt)
}

/// `TCP_NODELAY`: send small responses at once instead of waiting for an ACK (Nagle).
pub fn set_nodelay(sock: &impl AsRawFd) -> io::Result<()> {
    setsockopt_int(sock.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
}

/// `send(2)`. With `more`, `MSG_MORE`: the kernel holds these bytes back
/// until what follows fills the packet — the file after a head, or the FIN
/// of a close that comes at once — so they share one segment (like nginx's
/// TCP_CORK around sendfile, without two extra calls).
pub fn send(sock: &impl AsRawFd, buf: &[u8], more: bool) -> io::Result<usize> {
    let flags = libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
    // SAFETY: `buf` is a valid slice for the duration of the call; send(2) only reads it.
    let ret = unsafe { libc::send(sock.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) };
    check_size(ret)
}

/// `recv(2)` with `MSG_PEEK` of the first byte waiting on a socket, left in
/// place for the next read. `Ok(None)` at the end of the stream.
pub fn peek_byte(sock: &impl AsRawFd) -> io::Result<Option<u8>> {
    let mut byte = 0u8;
    // SAFETY: `byte` is a live one-byte buffer for the duration of the call.
    let ret = unsafe { libc::recv(sock.as_raw_fd(), (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK) };
    Ok((check_size(ret)? > 0).then_some(byte))
}

/// `sendmsg(2)` of two slices: a response head and a body in one system
/// call. With `more`, `MSG_MORE`: the last partial segment waits for what
/// comes next, or for the FIN of a close that follows at once, and shares
/// its packet.
pub fn send2(sock: &impl AsRawFd, a: &[u8], b: &[u8], more: bool) -> io::Result<usize> {
    let mut iov = [
        libc::iovec { iov_base: a.as_ptr() as *mut libc::c_void, iov_len: a.len() },
        libc::iovec { iov_base: b.as_ptr() as *mut libc::c_void, iov_len: b.len() },
    ];
    // SAFETY: zeroed is a valid msghdr (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    let flags = libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
    // SAFETY: `msg` points at two iovecs of live slices for the duration of
    // the call, and sendmsg(2) only reads through them.
    let ret = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, flags) };
    check_size(ret)
}

/// `sendfile(2)`: up to `count` bytes of `file` from `offset` straight to the
/// socket, without copying through user space. Returns the bytes sent; 0
/// means the file ended before `offset` (it shrank).
pub fn sendfile(sock: &impl AsRawFd, file: &impl AsRawFd, offset: u64, count: u64) -> io::Result<usize> {
    let mut off = libc::off64_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // Linux sends at most 0x7ffff000 bytes per call; larger files take several.
    let count = count.min(0x7fff_f000) as usize;
    // SAFETY: `off` is a live local the kernel updates; both fds are borrowed
    // for the call. Errors come back as -1 with errno.
    let ret = unsafe { libc::sendfile64(sock.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    check_size(ret)
}

/// The soft and hard limits on open file descriptors.
pub fn nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a live local that getrlimit(2) fills.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// Raise the soft limit on open file descriptors to the hard limit.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let (_, hard) = nofile_limit()?;
    let lim = libc::rlimit { rlim_cur: hard, rlim_max: hard };
    // SAFETY: `lim` is a live local that setrlimit(2) only reads.
    check(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) })?;
    Ok(hard)
}

/// Block SIGINT and SIGTERM in this thread and the threads it starts, so
/// that the signal thread alone receives them, with `wait_signal`. SIGCHLD
/// is left alone: CGI exits arrive as pidfd events, not signals.
pub fn block_signals() -> io::Result<()> {
    let set = signal_set();
    // SAFETY: `set` is an initialised sigset_t; the old mask is not wanted.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if ret != 0 { Err(io::Error::from_raw_os_error(ret)) } else { Ok(()) }
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        set
    }
}

/// Wait for SIGINT, SIGTERM, SIGHUP, SIGUSR1 or SIGUSR2 (blocked by
/// `block_signals`) and return it.
pub fn wait_signal() -> io::Result<i32> {
    let set = signal_set();
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` and `sig` are live locals; sigwait only writes `sig`.
    let ret = unsafe { libc::sigwait(&set, &mut sig) };
    if ret != 0 { Err(io::Error::from_raw_os_error(ret)) } else { Ok(sig) }
}

/// `pidfd_open(2)`: a descriptor that becomes readable when the process
/// exits, so a child's end arrives through the poll like any other event.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: pidfd_open takes a pid and flags, no pointers; the result is checked.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(ret).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the kernel just returned this descriptor to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Send `sig` to the process `pid`.
pub fn kill(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid)
        && pid > 1
    {
        // SAFETY: kill(2) takes no pointers.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Send SIGKILL to a whole process group (a CGI program and anything it started).
pub fn kill_group(pgid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: kill(2) takes no pointers; a negative pid names the group.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}
