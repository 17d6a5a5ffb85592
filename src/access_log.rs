//! The access log in Combined Log Format, buffered per worker and written at
//! most once a second (or when the buffer fills), never once per request.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;

use wired_parser::Request;

use crate::config::AccessLog as Target;

/// The parts of a request a log line shows: a plain record, so the log
/// never sees a connection or a parsed request's borrows.
pub struct Entry<'a> {
    /// The method.
    pub method: &'a [u8],
    /// The request target as sent.
    pub target: &'a [u8],
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: &'a [u8],
    /// The Referer, or `-`.
    pub referer: &'a [u8],
    /// The User-Agent, or `-`.
    pub user_agent: &'a [u8],
}

/// Flush when this much is buffered.
const FLUSH_BYTES: usize = 64 * 1024;

/// A worker's access log.
pub struct AccessLog {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
    flushed_at: u64,
    /// One JSON object per line instead of Combined Log Format.
    json: bool,
}

impl AccessLog {
    /// Open the configured log; `None` when it is off.
    pub fn open(target: &Target, json: bool) -> io::Result<Option<AccessLog>> {
        let out: Box<dyn Write + Send> = match target {
            Target::Off => return Ok(None),
            Target::Stdout => Box::new(io::stdout()),
            Target::File(path) => {
                let file: File = OpenOptions::new().create(true).append(true).open(path)?;
                Box::new(file)
            }
        };
        Ok(Some(AccessLog { out, buf: Vec::with_capacity(FLUSH_BYTES), flushed_at: 0, json }))
    }

    /// Write what is buffered when a second has passed or the buffer is full.
    pub fn flush_if_due(&mut self, now_secs: u64) {
        if !self.buf.is_empty() && (now_secs != self.flushed_at || self.buf.len() >= FLUSH_BYTES) {
            self.flushed_at = now_secs;
            self.flush();
        }
    }

    /// Write what is buffered.
    pub fn flush(&mut self) {
        if let Err(e) = self.out.write_all(&self.buf).and_then(|()| self.out.flush()) {
            log::warn!("access log: {e}");
        }
        self.buf.clear();
    }
}

impl<'a> Entry<'a> {
    /// The record of a parsed request.
    pub fn of(req: &'a Request<'a, '_>) -> Entry<'a> {
        Entry {
            method: req.method.as_str().as_bytes(),
            target: req.target.as_bytes(),
            version: req.version.as_str().as_bytes(),
            referer: req.header("referer").unwrap_or(b"-"),
            user_agent: req.header("user-agent").unwrap_or(b"-"),
        }
    }
}

impl AccessLog {
    /// Log one answered request, dated `http_date` (the worker's clock):
    /// `host - - [day/Mon/year:hh:mm:ss +0000] "request line" status bytes "referer" "user-agent"`,
    /// then with `tls` (`--access-log-tls`) the TLS version and name:
    /// ` "TLSv1.3" "sni.example"`, or ` "-" "-"` for plain HTTP or no SNI.
    pub fn entry(
        &mut self,
        peer: IpAddr,
        http_date: &[u8; 29],
        entry: &Entry<'_>,
        status: u16,
        bytes: u64,
        tls: Option<(&str, Option<&str>)>,
    ) {
        if self.json {
            self.json_entry(peer, http_date, entry, status, bytes, tls);
            return;
        }
        let line = &mut self.buf;
        let _ = write!(line, "{peer} - - [");
        clf_date(line, http_date);
        line.extend_from_slice(b"] \"");
        escape(line, entry.method);
        line.push(b' ');
        escape(line, entry.target);
        line.push(b' ');
        line.extend_from_slice(entry.version);
        let _ = write!(line, "\" {status} {bytes} \"");
        escape(line, entry.referer);
        line.extend_from_slice(b"\" \"");
        escape(line, entry.user_agent);
        line.push(b'"');
        if let Some((version, sni)) = tls {
            line.extend_from_slice(b" \"");
            escape(line, if version.is_empty() { b"-" } else { version.as_bytes() });
            line.extend_from_slice(b"\" \"");
            escape(line, sni.unwrap_or("-").as_bytes());
            line.push(b'"');
        }
        line.push(b'\n');
        if line.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    /// `--access-log-format json`: one object per line, every value a JSON
    /// string or number, the time in ISO 8601 (UTC):
    /// `{"time":"2026-12-05T19:15:25Z","remote":"127.0.0.1","method":"GET",...}`.
    fn json_entry(
        &mut self,
        peer: IpAddr,
        http_date: &[u8; 29],
        entry: &Entry<'_>,
        status: u16,
        bytes: u64,
        tls: Option<(&str, Option<&str>)>,
    ) {
        let line = &mut self.buf;
        line.extend_from_slice(b"{\"time\":\"");
        iso_date(line, http_date);
        let _ = write!(line, "\",\"remote\":\"{peer}\",\"method\":\"");
        json_escape(line, entry.method);
        line.extend_from_slice(b"\",\"uri\":\"");
        json_escape(line, entry.target);
        line.extend_from_slice(b"\",\"protocol\":\"");
        json_escape(line, entry.version);
        let _ = write!(line, "\",\"status\":{status},\"bytes\":{bytes},\"referer\":\"");
        json_escape(line, if entry.referer == b"-" { b"" } else { entry.referer });
        line.extend_from_slice(b"\",\"user_agent\":\"");
        json_escape(line, if entry.user_agent == b"-" { b"" } else { entry.user_agent });
        line.push(b'"');
        if let Some((version, sni)) = tls {
            line.extend_from_slice(b",\"tls\":\"");
            json_escape(line, version.as_bytes());
            line.extend_from_slice(b"\",\"sni\":\"");
            json_escape(line, sni.unwrap_or("").as_bytes());
            line.push(b'"');
        }
        line.extend_from_slice(b"}\n");
        if line.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    /// Log a request that could not be parsed.
    pub fn refused(&mut self, peer: IpAddr, http_date: &[u8; 29], status: u16) {
        if self.json {
            let line = &mut self.buf;
            line.extend_from_slice(b"{\"time\":\"");
            iso_date(line, http_date);
            let _ = writeln!(line, "\",\"remote\":\"{peer}\",\"status\":{status},\"bytes\":0}}");
            return;
        }
        let line = &mut self.buf;
        let _ = write!(line, "{peer} - - [");
        clf_date(line, http_date);
        let _ = writeln!(line, "] \"-\" {status} 0 \"-\" \"-\"");
    }
}

/// Rearrange an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into the
/// Common Log Format's `06/Nov/1994:08:49:37 +0000`.
fn clf_date(out: &mut Vec<u8>, http_date: &[u8; 29]) {
    let day = &http_date[5..7];
    let month = &http_date[8..11];
    let year = &http_date[12..16];
    let time = &http_date[17..25];
    out.extend_from_slice(day);
    out.push(b'/');
    out.extend_from_slice(month);
    out.push(b'/');
    out.extend_from_slice(year);
    out.push(b':');
    out.extend_from_slice(time);
    out.extend_from_slice(b" +0000");
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as ISO 8601:
/// `1994-11-06T08:49:37Z`.
fn iso_date(out: &mut Vec<u8>, http_date: &[u8; 29]) {
    const MONTHS: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let month = MONTHS.iter().position(|m| m[..] == http_date[8..11]).map_or(0, |i| i + 1);
    out.extend_from_slice(&http_date[12..16]);
    let _ = write!(out, "-{month:02}-");
    out.extend_from_slice(&http_date[5..7]);
    out.push(b'T');
    out.extend_from_slice(&http_date[17..25]);
    out.push(b'Z');
}

/// A JSON string's contents (RFC 8259 §7): quotes, backslashes and
/// control characters escaped; bytes that are not UTF-8 written as
/// `\u00XX`, so every line stays valid JSON whatever a client sent.
fn json_escape(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (v, b) = rest.split_at(e.valid_up_to());
                (std::str::from_utf8(v).unwrap_or_default(), b)
            }
        };
        for c in valid.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => {
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        match bad.split_first() {
            Some((b, after)) => {
                let _ = write!(out, "\\u{:04x}", b);
                rest = after;
            }
            None => rest = &[],
        }
    }
}

/// Copy bytes, escaping quotes, backslashes and anything not printable, so a
/// request cannot forge log lines.
fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_date_from_http_date() {
        let mut out = Vec::new();
        clf_date(&mut out, b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(out, b"06/Nov/1994:08:49:37 +0000");
    }

    #[test]
    fn json_lines_are_json_whatever_the_request() {
        let mut out = Vec::new();
        json_escape(&mut out, b"a\"b\n\\ \xff\xc3\xa9");
        assert_eq!(out, "a\\\"b\\u000a\\\\ \\u00ffé".as_bytes());
        let mut out = Vec::new();
        iso_date(&mut out, b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(out, b"1994-11-06T08:49:37Z");
    }

    #[test]
    fn escaping_stops_log_forgery() {
        let mut out = Vec::new();
        escape(&mut out, b"a\"b\n\\");
        assert_eq!(out, b"a\\\"b\\x0a\\\\");
    }
}
