//! Request methods (RFC 9110 §9).
//!
//! ```
//! use wired_parser::Method;
//! assert_eq!(Method::from_token("PATCH"), Method::Patch);
//! assert_eq!(Method::from_token("PURGE").as_str(), "PURGE");
//! ```

/// A request method. The standard ones are variants; any other token is kept
/// as [`Method::Other`] so the server can answer it with 501 or 405.
///
/// ```
/// use wired_parser::Method;
/// assert_eq!(Method::from_token("GET"), Method::Get);
/// assert_eq!(Method::from_token("get"), Method::Other("get")); // methods are case-sensitive (RFC 9110 §9.1)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'b> {
    /// `GET` (RFC 9110 §9.3)
    Get,
    /// `HEAD` (RFC 9110 §9.3)
    Head,
    /// `POST` (RFC 9110 §9.3)
    Post,
    /// `PUT` (RFC 9110 §9.3)
    Put,
    /// `DELETE` (RFC 9110 §9.3)
    Delete,
    /// `CONNECT` (RFC 9110 §9.3)
    Connect,
    /// `OPTIONS` (RFC 9110 §9.3)
    Options,
    /// `TRACE` (RFC 9110 §9.3)
    Trace,
    /// `PATCH` (RFC 9110 §9.3; PATCH is RFC 5789)
    Patch,
    /// Any other token.
    Other(&'b str),
}

impl<'b> Method<'b> {
    /// Recognise a method token. Matching is case-sensitive (RFC 9110 §9.1).
    ///
    /// ```
    /// use wired_parser::Method;
    /// assert_eq!(Method::from_token("DELETE"), Method::Delete);
    /// assert_eq!(Method::from_token("Delete"), Method::Other("Delete"));
    /// ```
    pub fn from_token(token: &'b str) -> Method<'b> {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::Other(other),
        }
    }

    /// The method's name as sent on the wire.
    ///
    /// ```
    /// use wired_parser::Method;
    /// assert_eq!(Method::Options.as_str(), "OPTIONS");
    /// assert_eq!(Method::Other("BREW").as_str(), "BREW");
    /// ```
    pub fn as_str(&self) -> &'b str {
        match *self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(s) => s,
        }
    }
}
