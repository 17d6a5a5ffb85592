//! HTTP/2 (RFC 9113), beginning with the header compression it depends on.
//!
//! An HTTP/2 connection carries a request's fields compressed by HPACK
//! (RFC 7541) in HEADERS and CONTINUATION frames. [`hpack`] turns such a
//! block into fields and fields into a block; the frames themselves come
//! later.

pub mod hpack;
