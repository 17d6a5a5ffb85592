//! The limits a caller passes to the parser: how large a head may grow.
//!
//! ```
//! use wired_parser::{EMPTY_HEADER, Error, HeadParser, Limits};
//!
//! let tight = Limits { max_request_line: 32, ..Limits::default() };
//! let raw = b"GET /a-path-too-long-for-the-limit HTTP/1.1\r\nHost: a\r\n\r\n";
//! let mut fields = [EMPTY_HEADER; 4];
//! assert_eq!(HeadParser::new().parse(raw, &tight, &mut fields), Err(Error::UriTooLong));
//! ```

/// Size limits for a request head and its chunked framing lines.
///
/// ```
/// let limits = wired_parser::Limits::default();
/// assert_eq!(limits.max_head_bytes, 16 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, CRLF included (414 beyond it).
    pub max_request_line: usize,
    /// Most header fields (431 beyond it). Also bounds a chunked trailer section.
    pub max_headers: usize,
    /// Longest head, from the first byte of the request line to the blank line
    /// (431 beyond it). Also bounds a chunked trailer section.
    pub max_head_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_request_line: 8 * 1024, max_headers: 100, max_head_bytes: 16 * 1024 }
    }
}
