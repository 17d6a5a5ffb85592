//! Starting the new binary of a zero-downtime upgrade (`src/upgrade.rs`):
//! a fork and an exec done by hand, because the new process must find the
//! listening sockets where sd_listen_fds(3) puts them (descriptors 3 and
//! up) with `LISTEN_PID` naming itself, and only the child knows its pid.
//! Between the fork and the exec the child calls only async-signal-safe
//! functions (signal-safety(7)): the parent has other threads, and a lock
//! one of them held at the fork (the allocator's) stays held forever in
//! the child.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `LISTEN_PID=` and room for any pid's digits, filled in by the child.
const PID_VAR: &[u8] = b"LISTEN_PID=";
const PID_ROOM: usize = 24;

/// Start `exe` with `args` (argv[1..]) and `env`, the listening sockets
/// `listeners` at descriptors 3, 4, …, `LISTEN_FDS` their count and
/// `LISTEN_PID` the child's pid. Returns the child's pid.
pub fn spawn_with_listeners(
    exe: &Path,
    args: &[OsString],
    env: &[(OsString, OsString)],
    listeners: &[RawFd],
) -> io::Result<u32> {
    let nul = |b: &[u8]| CString::new(b).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let path = nul(exe.as_os_str().as_bytes())?;
    let mut argv_owned = vec![path.clone()];
    for a in args {
        argv_owned.push(nul(a.as_bytes())?);
    }
    let mut env_owned = Vec::new();
    for (k, v) in env {
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        env_owned.push(nul(&kv)?);
    }
    // The pid variable's bytes, written by the child into its own copy.
    let mut pid_var = vec![0u8; PID_VAR.len() + PID_ROOM];
    pid_var[..PID_VAR.len()].copy_from_slice(PID_VAR);
    let pid_ptr = pid_var.as_mut_ptr();

    let first = 3 as RawFd;
    let count = RawFd::try_from(listeners.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // Copies above the target range, so that moving them into place in the
    // child never overwrites one not yet moved. Close-on-exec: only the
    // moved ones cross the exec.
    let mut high = Vec::with_capacity(listeners.len());
    for &fd in listeners {
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) takes no pointers; the result is checked.
        let dup = super::check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, first + count) })?;
        // SAFETY: the kernel just returned this descriptor, and nothing else owns it.
        high.push(unsafe { OwnedFd::from_raw_fd(dup) });
    }
    let high_raw: Vec<RawFd> = high.iter().map(AsRawFd::as_raw_fd).collect();

    let mut argv: Vec<*const libc::c_char> = argv_owned.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env_owned.iter().map(|e| e.as_ptr()).collect();
    envp.push(pid_ptr.cast_const().cast());
    envp.push(std::ptr::null());

    // SAFETY: fork(2) takes no arguments. In the child, until execve or
    // _exit, only async-signal-safe calls are made, on memory prepared
    // above (no allocation, no lock): getpid, dup2, sigprocmask, execve.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: the child's own copy of the parent's memory; `pid_ptr`
        // points at `PID_VAR.len() + PID_ROOM` bytes, of which at most
        // `PID_VAR.len() + 20` are written, the rest staying NUL.
        unsafe {
            let mut n = libc::getpid() as u64;
            let mut digits = [0u8; 20];
            let mut len = 0;
            loop {
                digits[len] = b'0' + (n % 10) as u8;
                len += 1;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            for i in 0..len {
                *pid_ptr.add(PID_VAR.len() + i) = digits[len - 1 - i];
            }
            for (i, &fd) in high_raw.iter().enumerate() {
                // dup2 clears close-on-exec on the new descriptor.
                if libc::dup2(fd, first + i as RawFd) < 0 {
                    libc::_exit(127);
                }
            }
            // The parent blocks the signals its signal thread waits for;
            // the new program starts with none blocked, as a fresh one.
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    drop(high);
    drop(pid_var);
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid as u32)
}

/// Whether the child `pid` has exited (and reap it if so), without waiting.
pub fn exited(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
    let mut status = 0;
    // SAFETY: `status` is a live local; WNOHANG makes the call return at once.
    let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    ret == pid || ret < 0
}
