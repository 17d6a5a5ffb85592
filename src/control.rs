//! What the signal thread tells the workers (`src/main.rs`): stop, reopen
//! the logs (SIGUSR1), take a new configuration (SIGHUP). Each is a value
//! the workers read once per wake-up, after the signal thread has set it
//! and woken them: a worker never blocks on another thread.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::Config;

/// The shutdown flag's values.
pub mod stop {
    /// Serving.
    pub const RUN: u8 = 0;
    /// The first SIGINT/SIGTERM: finish responses in flight, then exit.
    pub const DRAIN: u8 = 1;
    /// The second: close everything now, killing CGI process groups.
    pub const ABORT: u8 = 2;
}

/// The shared state.
pub struct Control {
    /// `worker::stop`'s values: run, drain, abort.
    pub shutdown: AtomicU8,
    /// Bumped by each SIGUSR1: workers whose count differs reopen their log.
    reopen: AtomicU64,
    /// Bumped with each configuration published by SIGHUP.
    generation: AtomicU64,
    /// The newest configuration.
    config: Mutex<Arc<Config>>,
}

impl Control {
    /// Running, with the first configuration.
    pub fn new(config: Arc<Config>) -> Arc<Control> {
        Arc::new(Control {
            shutdown: AtomicU8::new(stop::RUN),
            reopen: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            config: Mutex::new(config),
        })
    }

    /// Ask every worker to reopen its access log (logrotate has moved it).
    pub fn reopen_logs(&self) {
        self.reopen.fetch_add(1, Ordering::Release);
    }

    /// How many reopens have been asked for.
    pub fn reopens(&self) -> u64 {
        self.reopen.load(Ordering::Acquire)
    }

    /// Hand a checked configuration to the workers.
    pub fn publish(&self, config: Arc<Config>) {
        *self.config.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// How many configurations have been published since the first.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The newest configuration.
    pub fn current(&self) -> Arc<Config> {
        Arc::clone(&self.config.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// The signal thread's loop (`src/main.rs::serve`): SIGUSR1 reopens the
/// logs; SIGHUP asks `load` for the configuration again and, if it is
/// sound, publishes it (a bad one is refused and the old one keeps
/// serving), telling systemd it is reloading (sd_notify(3)); SIGUSR2
/// starts a new binary on the same sockets and, once it serves, drains
/// (`src/upgrade.rs`); SIGINT and SIGTERM: the first drains, the second
/// aborts. The workers do the
/// closing (a CGI program's group dies with its connection); if they have
/// not stopped a second after an abort, the process exits anyway. `say`
/// writes a line to stderr without ever panicking.
pub fn signal_loop(
    control: &Control,
    wakers: &[mio::Waker],
    load: impl Fn(&Config) -> Result<Config, String>,
    mut upgrade: Option<crate::upgrade::Upgrade>,
    say: fn(std::fmt::Arguments<'_>),
) {
    let wake = || wakers.iter().for_each(|w| drop(w.wake()));
    let mut seen = 0;
    while let Ok(sig) = crate::sys::wait_signal() {
        if sig == libc::SIGUSR1 {
            control.reopen_logs();
            wake();
            continue;
        }
        if sig == libc::SIGHUP {
            let reloading = format!("RELOADING=1\nMONOTONIC_USEC={}", crate::sys::systemd::monotonic_usec());
            let _ = crate::sys::systemd::notify(&reloading);
            let outcome = load(&control.current());
            let _ = crate::sys::systemd::notify("READY=1");
            match outcome {
                Ok(new) => {
                    control.publish(Arc::new(new));
                    wake();
                    say(format_args!("SIGHUP: configuration reloaded"));
                }
                Err(e) => say(format_args!("SIGHUP: the new configuration is refused, the old one stays: {e}")),
            }
            continue;
        }
        if sig == libc::SIGUSR2 {
            if seen > 0 {
                say(format_args!("SIGUSR2: already stopping, no upgrade"));
                continue;
            }
            let Some(up) = upgrade.as_mut() else {
                say(format_args!("SIGUSR2: no upgrade possible (the sockets could not be copied at startup)"));
                continue;
            };
            match up.start() {
                Ok(pid) => {
                    up.release();
                    seen = 1;
                    say(format_args!(
                        "SIGUSR2: process {pid} is serving on the same sockets; finishing responses in flight, then exiting"
                    ));
                    control.shutdown.store(stop::DRAIN, Ordering::Relaxed);
                    wake();
                }
                Err(e) => say(format_args!("SIGUSR2: upgrade failed, this process goes on serving: {e}")),
            }
            continue;
        }
        seen += 1;
        if let Some(up) = upgrade.as_mut() {
            up.release();
        }
        if seen == 1 {
            let _ = crate::sys::systemd::notify("STOPPING=1");
            say(format_args!("signal {sig}: finishing responses in flight, then exiting"));
            control.shutdown.store(stop::DRAIN, Ordering::Relaxed);
            wake();
            continue;
        }
        say(format_args!("second signal {sig}: closing every connection now"));
        control.shutdown.store(stop::ABORT, Ordering::Relaxed);
        wake();
        std::thread::sleep(std::time::Duration::from_secs(1));
        say(format_args!("the workers did not stop in time: exiting"));
        std::process::exit(1);
    }
}
