//! Black-box tests: raw bytes on real sockets against the real `wired` binary,
//! one module per feature (after ripgrep's single integration binary).

mod cgi;
mod common;
mod config;
mod core;
mod h2_shim;
mod hostile;
mod http2;
mod http2_clients;
mod https;
mod static_files;
mod tls_scanners;
mod tls_shim;
mod trace_docs;
mod upstream;
mod websocket;
mod websocket_clients;
