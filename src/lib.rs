//! # wired: an HTTP/1.1 server you can read
//!
//! The binary's parts, as a library so that tests and fuzz targets can drive
//! them in process. Start with `worker.rs` (the event loop), then `conn/`
//! (one connection's life, a file per phase), then `handler/`.
//!
//! Only `sys` may call the C library directly: the `unsafe_code` lint below
//! refuses such code anywhere else.

#![deny(unsafe_code)]

pub mod access_log;
pub mod buffer;
pub mod config;
pub mod conn;
pub mod control;
pub mod date;
pub mod handler;
pub mod harness;
pub mod listen;
pub mod response;
pub mod services;
#[allow(unsafe_code)]
pub mod sys;
pub mod timer;
pub mod tls;
pub mod token;
pub mod trace;
pub mod upgrade;
pub mod upstream;
pub mod worker;
