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
