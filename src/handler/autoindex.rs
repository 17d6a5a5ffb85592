//! Directory listings (`--autoindex`): an HTML page with one row per entry,
//! directories first, each with its size and modification time.
//!
//! Names come from the file system and may hold anything but `/` and NUL,
//! so every name is HTML-escaped where it is shown and percent-encoded where
//! it is a link (RFC 3986 §2.1); bytes that are not UTF-8 are shown as U+FFFD
//! but linked exactly. Dot-files are left out, as they are never served.

use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;

use crate::sys::fs::{Dir, fstatat};

/// One row of the listing.
#[derive(Debug)]
struct Row {
    name: Vec<u8>,
    is_dir: bool,
    /// `None` for a symbolic link shown without following it.
    size: Option<u64>,
    mtime: i64,
}

/// The listing page for the directory open as `dir`, whose URL path is
/// `path` (decoded, ending in `/`). With `follow_symlinks` false, links are
/// not followed to learn what they point at: a link leaving the root must not
/// reveal the size or age of what it points to.
pub fn listing(dir: OwnedFd, path: &[u8], follow_symlinks: bool) -> io::Result<Vec<u8>> {
    let mut dir = Dir::from_fd(dir)?;
    let mut rows = Vec::new();
    while let Some(entry) = dir.next_entry() {
        let entry = entry?;
        if entry.name.first() == Some(&b'.') {
            continue;
        }
        let Ok(name) = CString::new(entry.name) else {
            continue;
        };
        let flags = if follow_symlinks { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        // A dangling link cannot be followed; show the link itself.
        let Ok(st) = fstatat(dir.fd(), &name, flags).or_else(|_| fstatat(dir.fd(), &name, libc::AT_SYMLINK_NOFOLLOW))
        else {
            continue;
        };
        let (is_dir, size) = match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => (true, None),
            libc::S_IFREG => (false, Some(u64::try_from(st.st_size).unwrap_or(0))),
            libc::S_IFLNK => (false, None),
            // FIFOs, sockets and devices are never served, so not listed.
            _ => continue,
        };
        rows.push(Row { name: name.into_bytes(), is_dir, size, mtime: st.st_mtime });
    }
    rows.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.to_ascii_lowercase().cmp(&b.name.to_ascii_lowercase()))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(render(path, &rows))
}

const STYLE: &str = "\
body{font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:2rem auto;\
max-width:60rem;padding:0 1rem;color:#222;background:#fff}\
h1{font-size:1.35rem;font-weight:600;word-break:break-all}\
table{width:100%;border-collapse:collapse}\
th,td{padding:.3rem .6rem;text-align:left}\
th{border-bottom:2px solid #ddd;font-weight:600}th:first-child{width:100%}\
tr.dir a{font-weight:600}.none{color:#999}\
tbody tr:nth-child(even){background:#f5f6f8}\
tbody tr:hover{background:#e8f0fe}\
.size{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
.date{white-space:nowrap;font-variant-numeric:tabular-nums;color:#555}\
a{color:#0645ad;text-decoration:none;word-break:break-all}a:hover{text-decoration:underline}\
footer{margin-top:1.5rem;color:#888;font-size:.85rem}\
@media (prefers-color-scheme:dark){body{color:#ddd;background:#16181c}\
th{border-color:#444}tbody tr:nth-child(even){background:#1f2227}\
tbody tr:hover{background:#263043}a{color:#8ab4f8}.date{color:#aaa}}";

fn render(path: &[u8], rows: &[Row]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + rows.len() * 160);
    out.extend_from_slice(
        b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
          <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Index of ",
    );
    html_escape(path, &mut out);
    out.extend_from_slice(b"</title>\n<style>");
    out.extend_from_slice(STYLE.as_bytes());
    out.extend_from_slice(b"</style>\n</head>\n<body>\n<h1>Index of ");
    html_escape(path, &mut out);
    out.extend_from_slice(
        b"</h1>\n<table>\n<thead><tr><th>Name</th><th class=\"size\">Size</th>\
          <th>Modified (UTC)</th></tr></thead>\n<tbody>\n",
    );
    if path != b"/" {
        out.extend_from_slice(
            b"<tr><td><a href=\"../\">../</a></td><td class=\"size\"></td><td class=\"date\"></td></tr>\n",
        );
    }
    for row in rows {
        out.extend_from_slice(if row.is_dir { b"<tr class=\"dir\"><td><a href=\"" } else { b"<tr><td><a href=\"" });
        let mut href = Vec::with_capacity(row.name.len() + 1);
        percent_encode_path(&row.name, &mut href);
        if row.is_dir {
            href.push(b'/');
        }
        html_escape(&href, &mut out);
        out.extend_from_slice(b"\">");
        html_escape(&row.name, &mut out);
        if row.is_dir {
            out.push(b'/');
        }
        out.extend_from_slice(b"</a></td><td class=\"size\"");
        match row.size {
            Some(size) => {
                out.extend_from_slice(format!(" title=\"{size} bytes\">").as_bytes());
                out.extend_from_slice(human_size(size).as_bytes());
            }
            None => out.extend_from_slice(b"><span class=\"none\">-</span>"),
        }
        out.extend_from_slice(b"</td><td class=\"date\">");
        out.extend_from_slice(format_mtime(row.mtime).as_bytes());
        out.extend_from_slice(b"</td></tr>\n");
    }
    out.extend_from_slice(b"</tbody>\n</table>\n<footer>wired</footer>\n</body>\n</html>\n");
    out
}

/// Append `text` with the five characters that mean something in HTML
/// replaced by references, and invalid UTF-8 replaced by U+FFFD.
pub fn html_escape(text: &[u8], out: &mut Vec<u8>) {
    for c in String::from_utf8_lossy(text).chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&#39;"),
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

/// Append a decoded path percent-encoded for use in a URL (RFC 3986 §2.1).
/// Kept as is: unreserved characters, `/`, and the sub-delimiters that mean
/// nothing special in a path. `%`, `?`, `#`, `:` (a scheme in a relative
/// link), `&` and `'` (HTML), controls, spaces and non-ASCII are encoded.
pub fn percent_encode_path(path: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in path {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b'/' | b'!' | b'$' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b'@'
            );
        if keep {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xF)]);
        }
    }
}

/// A size for people: bytes below 1 KiB, else one decimal and a binary unit.
fn human_size(size: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if size < 1024 {
        return format!("{size} B");
    }
    let mut value = size as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS.get(unit).unwrap_or(&"EiB"))
}

/// `YYYY-MM-DD HH:MM` in UTC.
fn format_mtime(mtime: i64) -> String {
    let secs = mtime.max(0);
    let (days, in_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", in_day / 3600, in_day / 60 % 60)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to a
/// (year, month, day) of the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        html_escape(b"<a href='x'>&\"</a>\xff", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;\u{fffd}");
        let mut out = Vec::new();
        percent_encode_path("/a b/c?d#e%f:g&h'i/\u{e9}~-._".as_bytes(), &mut out);
        assert_eq!(out, b"/a%20b/c%3Fd%23e%25f%3Ag%26h%27i/%C3%A9~-._");
    }

    #[test]
    fn sizes_and_dates() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 << 30), "5.0 GiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
        assert_eq!(format_mtime(0), "1970-01-01 00:00");
        assert_eq!(format_mtime(784_111_777), "1994-11-06 08:49");
        assert_eq!(format_mtime(951_782_400), "2000-02-29 00:00");
        assert_eq!(format_mtime(-5), "1970-01-01 00:00");
    }

    #[test]
    fn render_escapes_sorts_and_links() {
        let rows = [
            Row { name: b"b<x>.txt".to_vec(), is_dir: false, size: Some(10), mtime: 0 },
            Row { name: b"sub dir".to_vec(), is_dir: true, size: None, mtime: 0 },
        ];
        let page = String::from_utf8(render(b"/x&y/", &rows)).unwrap();
        assert!(page.contains("<title>Index of /x&amp;y/</title>"), "{page}");
        assert!(page.contains("<a href=\"../\">../</a>"));
        assert!(page.contains("<a href=\"b%3Cx%3E.txt\">b&lt;x&gt;.txt</a>"));
        assert!(page.contains("<tr class=\"dir\"><td><a href=\"sub%20dir/\">sub dir/</a>"));
        assert!(page.contains("title=\"10 bytes\">10 B<"));
        assert!(page.contains("<footer>wired</footer>"));
        let root = String::from_utf8(render(b"/", &[])).unwrap();
        assert!(!root.contains("../"));
    }
}
