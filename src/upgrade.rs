//! Zero-downtime binary upgrade, on SIGUSR2 (nginx's signal for it).
//!
//! The running process starts the binary at the path it was started from
//! (by then a new build may stand there), with the same arguments, and
//! hands it its listening sockets the way systemd's socket activation does
//! (sd_listen_fds(3): descriptors 3 and up, `LISTEN_FDS`, `LISTEN_FDNAMES`,
//! `LISTEN_PID`), so the new process binds nothing: it serves the very
//! sockets the old one does. Connections waiting in their accept queues
//! are taken by whichever process accepts first; none is refused, because
//! no socket is ever closed while one process holds it.
//!
//! The old process waits for the new one's `READY=1` (sd_notify(3), on a
//! socket of its own named in the new process's `NOTIFY_SOCKET`), then
//! drains as on SIGTERM: its workers stop accepting, finish the responses
//! in flight and exit. If the new process exits or is not ready in time,
//! the old one logs why and goes on serving, as if nothing had happened.
//!
//! Under systemd the path is different: `systemctl restart` with the
//! `.socket` unit (contrib/wired.socket) keeps the listening socket in
//! systemd's hands while the service restarts, so connections wait in its
//! queue; a service must not replace its main process behind systemd's back.

use std::ffi::OsString;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::listen::Listener;
use crate::sys;

/// How long the new process has to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// What an upgrade needs, taken at startup.
pub struct Upgrade {
    /// The binary's path, as started.
    exe: PathBuf,
    /// The arguments after `argv[0]`.
    args: Vec<OsString>,
    /// A copy of every listening socket, and whether it speaks TLS. Given
    /// back (closed) when the process starts draining, so that a plain
    /// stop closes its sockets at once instead of holding them.
    listeners: Vec<(TcpListener, bool)>,
}

impl Upgrade {
    /// Remember how this process was started, and copy its listeners.
    pub fn new(per_worker: &[Vec<Listener>]) -> std::io::Result<Upgrade> {
        let exe = std::env::current_exe()?;
        let args = std::env::args_os().skip(1).collect();
        let mut listeners = Vec::new();
        for (l, tls) in per_worker.iter().flatten() {
            listeners.push((l.try_clone()?, *tls));
        }
        Ok(Upgrade { exe, args, listeners })
    }

    /// Close the copies: the process is stopping.
    pub fn release(&mut self) {
        self.listeners.clear();
    }

    /// Start the new binary and wait until it serves. Returns its pid.
    pub fn start(&mut self) -> Result<u32, String> {
        if self.listeners.is_empty() {
            return Err("the listening sockets are already closed".into());
        }
        let dir = std::env::temp_dir().join(format!("wired-upgrade-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let outcome = self.start_in(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        outcome
    }

    fn start_in(&mut self, dir: &std::path::Path) -> Result<u32, String> {
        let path = dir.join("notify");
        let notify = UnixDatagram::bind(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        notify.set_read_timeout(Some(Duration::from_millis(100))).map_err(|e| e.to_string())?;
        let names: Vec<&str> = self.listeners.iter().map(|(_, tls)| if *tls { "https" } else { "http" }).collect();
        // This process's environment, but for the variables that describe
        // its own start (systemd's, if it had any).
        let ours = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET"];
        let mut env: Vec<(OsString, OsString)> =
            std::env::vars_os().filter(|(k, _)| !ours.iter().any(|o| k == o)).collect();
        env.push(("LISTEN_FDS".into(), self.listeners.len().to_string().into()));
        env.push(("LISTEN_FDNAMES".into(), names.join(":").into()));
        env.push(("NOTIFY_SOCKET".into(), path.into_os_string()));
        let fds: Vec<_> = self.listeners.iter().map(|(l, _)| l.as_raw_fd()).collect();
        let pid = sys::upgrade::spawn_with_listeners(&self.exe, &self.args, &env, &fds)
            .map_err(|e| format!("cannot start {}: {e}", self.exe.display()))?;
        let deadline = Instant::now() + READY_WITHIN;
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            if let Ok(n) = notify.recv(&mut buf)
                && buf.get(..n).unwrap_or_default().split(|&b| b == b'\n').any(|l| l == b"READY=1")
            {
                return Ok(pid);
            }
            if sys::upgrade::exited(pid) {
                return Err(format!("the new process {pid} exited before it was ready"));
            }
        }
        sys::kill(pid, libc::SIGKILL);
        let _ = sys::upgrade::exited(pid);
        Err(format!("the new process {pid} was not ready within {} s; stopped it", READY_WITHIN.as_secs()))
    }
}
