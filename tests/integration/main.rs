//! Black-box tests: raw bytes on real sockets against the real `wired` binary,
//! one module per feature (after ripgrep's single integration binary).

mod common;
mod core;
