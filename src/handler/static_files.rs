//! Serving files from the document root: what nginx's static, index,
//! autoindex, gzip_static and range modules do together.
//!
//! A request's life here, in the order of [`StaticFiles::handle`]:
//!
//! 1. Method: GET and HEAD are served, OPTIONS lists them, anything else is
//!    405 (RFC 9110 §15.5.6).
//! 2. Path: a segment starting with `.` is hidden (404), except
//!    `/.well-known/` (RFC 8615). A path ending in `/` means its
//!    `index.html`.
//! 3. Open, through the per-worker [`FileCache`]: resolved beneath the root
//!    fd so no path or link leaves it (see [`Root`]), and only regular files
//!    are kept. A directory named without `/` is redirected to `…/`; one
//!    without `index.html` is listed (`--autoindex`) or refused.
//! 4. Coding: a precompressed sibling the client accepts is chosen.
//! 5. Preconditions (RFC 9110 §13.2.2): 304 or 412.
//! 6. Ranges (RFC 9110 §14): 206, multipart 206 or 416; else 200.
//!
//! The cached header lines are copied into [`Fields`] as they are, so a hot
//! file costs no system call, no formatting and no allocation.

use std::ffi::CStr;
use std::io;

use wired_parser::Method;
use wired_parser::values::range::Resolved;

use super::Ctx;
use super::autoindex;
use super::conditional::{self, CONTENT_RANGE_MAX, Conditions, Precondition};
use super::file_cache::{Choice, DIR_FLAGS, Describe, Entry, FileCache, MAX_ENTRIES, Miss, Root};
use super::mime::MimeTable;
use crate::config::{CacheControl, Config};
use crate::response::{Body, Fields, Reply, reason};

/// The methods a file resource supports (RFC 9110 §10.2.1).
const ALLOW: &[u8] = b"GET, HEAD, OPTIONS";

/// Which files a request asks for: set by the location that answers.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The document tree: a root number (`Config::doc_root`).
    pub root: usize,
    /// The path under it, starting with `/`: the request's path under a
    /// `root`, what follows the location's path under an `alias`.
    pub path: &'a [u8],
    /// List directories that have no `index.html`.
    pub autoindex: bool,
}

/// The static file handler of one worker thread.
pub struct StaticFiles {
    /// Every document tree, open: the top-level root first (error pages
    /// are found there), then `RouteTable::roots`.
    roots: Vec<Root>,
    cache: FileCache,
    mime: MimeTable,
    cache_control: Vec<CacheControl>,
    error_pages: Vec<(u16, String)>,
    follow_symlinks: bool,
    /// Compression on the fly (`compress.rs`).
    compress: crate::config::CompressSettings,
    /// The path under the root being opened, NUL-terminated; reused.
    rel: Vec<u8>,
    /// The cache key of a file under a root other than the first; reused.
    key: Vec<u8>,
    /// The worker's clock at the last request, for error pages.
    now: u64,
    /// State of the generator of multipart boundaries.
    boundary_state: u64,
}

/// What serving a cached file came to: a reply, an error status whose
/// body [`StaticFiles::error_reply`] makes once the cache is released, or
/// a coding to compress the file into first.
enum Served {
    Reply(Reply),
    Error(u16),
    Compress(wired_parser::values::accept_encoding::Coding),
}

impl StaticFiles {
    /// The handler for one worker thread: opens every root directory and
    /// keeps their fds.
    pub fn new(config: &Config) -> io::Result<StaticFiles> {
        let mut roots = Vec::with_capacity(1 + config.routes.roots.len());
        for dir in std::iter::once(&config.root).chain(&config.routes.roots) {
            let root = Root::open(dir, config.follow_symlinks)
                .map_err(|e| io::Error::new(e.kind(), format!("the root {}: {e}", dir.display())))?;
            roots.push(root);
        }
        // Leave half the fds to connections, shared among the workers.
        let workers = config.workers.max(1) as u64;
        let max_fds = crate::sys::nofile_limit().map_or(4096, |(soft, _)| (soft / 2 / workers).clamp(64, 4096));
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Ok(StaticFiles {
            roots,
            cache: FileCache::new(MAX_ENTRIES, usize::try_from(max_fds).unwrap_or(4096)),
            mime: MimeTable::new(&config.mime_types),
            cache_control: config.cache_control.clone(),
            error_pages: config.error_pages.clone(),
            follow_symlinks: config.follow_symlinks,
            compress: config.compress.clone(),
            rel: Vec::with_capacity(256),
            key: Vec::with_capacity(256),
            now: 0,
            boundary_state: seed ^ 0x9E37_79B9_7F4A_7C15 ^ std::process::id() as u64,
        })
    }

    /// Answer a request for a file of `site`. The caller has cleared
    /// `fields` and adds `Date`, `Server`, `Content-Length` and `Connection`.
    pub fn handle(&mut self, ctx: &Ctx<'_, '_, '_>, site: Site<'_>, fields: &mut Fields) -> Reply {
        self.now = ctx.now;
        match ctx.method {
            Method::Get | Method::Head => {}
            Method::Options => {
                fields.add("Allow", ALLOW);
                return Reply::new(204, Body::Empty);
            }
            _ => {
                // RFC 9110 §15.5.6: a 405 lists the methods that would work.
                fields.add("Allow", ALLOW);
                return self.error_reply(405, fields);
            }
        }
        let path = site.path;
        if is_hidden(path) {
            return self.error_reply(404, fields);
        }
        // The URL decides: under an alias, `/static` names the aliased
        // directory itself (the path under it is `/`), and is redirected.
        let wants_dir = ctx.path.ends_with(b"/");
        let Some(rel) = rel_path(&mut self.rel, path, wants_dir) else {
            return self.error_reply(404, fields);
        };
        let Some(root) = self.roots.get(site.root) else {
            return self.error_reply(500, fields);
        };
        // The first root's files are cached by their path; another root's
        // by a key no path can be (paths start with `/`).
        let key = if site.root == 0 {
            path
        } else {
            self.key.clear();
            self.key.push(0);
            self.key.extend_from_slice(&(site.root as u64).to_le_bytes());
            self.key.extend_from_slice(path);
            &self.key
        };
        let describe = Describe { mime: &self.mime, cache_control: &self.cache_control, compress: &self.compress };
        if self.compress.enabled {
            self.cache.take_compressed(ctx.now, &describe);
        }
        let (mut may_compress, mut compressed) = (true, false);
        let served = loop {
            let served = match self.cache.get(root, key, rel, ctx.now, &describe) {
                Ok(entry) => serve(ctx, entry, fields, &mut self.boundary_state, may_compress),
                Err(Miss::Directory) if !wants_dir => return self.redirect_to_dir(ctx, fields),
                // A directory named `index.html` is no index; list the parent.
                Err(Miss::Directory) => return self.directory(ctx, site, fields),
                Err(Miss::Error(e)) if wants_dir && e.raw_os_error() == Some(libc::ENOENT) => {
                    return self.directory(ctx, site, fields);
                }
                Err(miss) => Served::Error(miss_status(&miss, path)),
            };
            match served {
                // Compressed once and kept with the file; the next round
                // serves it as the cache's own. If it cannot be, the file
                // goes as it is.
                Served::Compress(coding) => {
                    // Once: if the entry was replaced meanwhile (its file
                    // changed), this request takes the file as it is.
                    may_compress = !compressed && self.cache.compress(key, coding, ctx.now, &describe);
                    compressed = true;
                }
                served => break served,
            }
        };
        match served {
            Served::Reply(reply) => reply,
            Served::Error(status) => self.error_reply(status, fields),
            // The loop above hands these to the cache, never out.
            Served::Compress(_) => self.error_reply(500, fields),
        }
    }

    /// The body for an error status: the `--error-page` file for it if one
    /// is configured and can be opened (status kept), else a built-in page.
    pub fn error_reply(&mut self, status: u16, fields: &mut Fields) -> Reply {
        if let Some(reply) = self.custom_error_page(status, fields) {
            return reply;
        }
        fields.add("Content-Type", b"text/html; charset=utf-8");
        Reply::new(status, built_in_page(status))
    }

    fn custom_error_page(&mut self, status: u16, fields: &mut Fields) -> Option<Reply> {
        let (_, page) = self.error_pages.iter().find(|(s, _)| *s == status)?;
        let page = page.as_bytes();
        if is_hidden(page) || page.ends_with(b"/") {
            return None;
        }
        let rel = rel_path(&mut self.rel, page, false)?;
        let now = if self.now > 0 { self.now } else { unix_now() };
        let describe = Describe { mime: &self.mime, cache_control: &self.cache_control, compress: &self.compress };
        let root = self.roots.first()?;
        match self.cache.get(root, page, rel, now, &describe) {
            Ok(entry) => {
                let variant = entry.variant(None);
                fields.add("Content-Type", variant.content_type());
                Some(Reply::new(status, file_body(variant.slice())))
            }
            Err(miss) => {
                log::warn!("error page {} for {status} unusable: {miss:?}", String::from_utf8_lossy(page));
                None
            }
        }
    }

    /// 301 from `/dir` to `/dir/`, keeping the query, so relative links in
    /// the index resolve inside the directory.
    fn redirect_to_dir(&mut self, ctx: &Ctx<'_, '_, '_>, fields: &mut Fields) -> Reply {
        let mut location = Vec::with_capacity(ctx.path.len() + 16);
        autoindex::percent_encode_path(ctx.path, &mut location);
        location.push(b'/');
        if let Some(query) = ctx.query {
            location.push(b'?');
            location.extend_from_slice(query);
        }
        // RFC 9110 §10.2.2: a relative reference is resolved against the
        // request's target.
        fields.add("Location", &location);
        self.error_reply(301, fields)
    }

    /// A directory without `index.html`: a listing with `--autoindex`, else
    /// 403 as nginx does.
    fn directory(&mut self, ctx: &Ctx<'_, '_, '_>, site: Site<'_>, fields: &mut Fields) -> Reply {
        let opened = match (rel_path(&mut self.rel, site.path, false), self.roots.get(site.root)) {
            (Some(rel), Some(root)) => root.open_at(rel, DIR_FLAGS),
            _ => return self.error_reply(404, fields),
        };
        let dir = match opened {
            Ok(dir) => dir,
            Err(e) => return self.error_reply(io_status(&e, ctx.path), fields),
        };
        if !site.autoindex {
            return self.error_reply(403, fields);
        }
        match autoindex::listing(dir, ctx.path, self.follow_symlinks) {
            Ok(page) => {
                fields.add("Content-Type", b"text/html; charset=utf-8");
                Reply::new(200, Body::Owned(page))
            }
            Err(e) => self.error_reply(io_status(&e, ctx.path), fields),
        }
    }
}

/// Steps 4 to 6 for a cached file: coding, preconditions, ranges.
fn serve(
    ctx: &Ctx<'_, '_, '_>,
    entry: &Entry,
    fields: &mut Fields,
    boundary_state: &mut u64,
    may_compress: bool,
) -> Served {
    let headers = ctx.req.headers;
    let found = Conditions::scan(headers);
    // A range is of the file's own bytes, never of a compressed form.
    let whole = may_compress && found.range.is_none();
    let variant = match entry.choose(found.accept_encoding, whole) {
        Choice::Ready(variant) => variant,
        Choice::Compress(coding) => return Served::Compress(coding),
    };
    let validators = variant.validators();
    if found.has_preconditions() {
        match conditional::evaluate(ctx.method, headers, &found, &validators) {
            Precondition::Proceed => {}
            Precondition::NotModified => {
                fields.add_raw(variant.not_modified_head());
                return Served::Reply(Reply::new(304, Body::Empty));
            }
            Precondition::Failed => return Served::Error(412),
        }
    }
    let whole = variant.slice();
    let mut value = [0; CONTENT_RANGE_MAX];
    match conditional::ranges(ctx.method, &found, &validators, whole.len) {
        Resolved::Whole => {
            fields.add_raw(variant.head());
            Served::Reply(Reply::new(200, file_body(whole)))
        }
        Resolved::Unsatisfiable => {
            // RFC 9110 §15.5.17: a 416 says how long the representation is.
            fields.add("Content-Range", conditional::unsatisfied_range(whole.len, &mut value));
            Served::Error(416)
        }
        resolved @ Resolved::Ranges { .. } => match resolved.ranges() {
            [range] => {
                fields.add_raw(variant.head());
                fields.add("Content-Range", conditional::content_range(*range, whole.len, &mut value));
                let mut slice = whole;
                slice.offset = range.start;
                slice.len = range.len();
                Served::Reply(Reply::new(206, file_body(slice)))
            }
            ranges => {
                // RFC 9110 §14.6: several ranges travel as multipart parts,
                // each with the representation's own Content-Type.
                let boundary = next_boundary(boundary_state);
                let mut content_type = [0; MULTIPART_TYPE.len() + BOUNDARY_LEN];
                let (prefix, suffix) = content_type.split_at_mut(MULTIPART_TYPE.len());
                prefix.copy_from_slice(MULTIPART_TYPE);
                suffix.copy_from_slice(&boundary);
                fields.add_raw(variant.head_without_type());
                fields.add("Content-Type", &content_type);
                let parts = conditional::multipart(&whole, ranges, variant.content_type(), &boundary);
                Served::Reply(Reply::new(206, Body::Parts(parts)))
            }
        },
    }
}

const MULTIPART_TYPE: &[u8] = b"multipart/byteranges; boundary=";
const BOUNDARY_LEN: usize = 20;

/// A fresh boundary of 20 letters and digits. It must not occur in the
/// parts (RFC 2046 §5.1.1); 20 random base-32 digits make that a chance of
/// about 2^-100 per position.
fn next_boundary(state: &mut u64) -> [u8; BOUNDARY_LEN] {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = [0; BOUNDARY_LEN];
    for chunk in out.chunks_mut(10) {
        // xorshift64*: not cryptographic, nor does it need to be.
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let mut bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        for digit in chunk {
            *digit = DIGITS[(bits & 31) as usize];
            bits >>= 5;
        }
    }
    out
}

/// A file slice as a body; an empty file needs no `sendfile`.
fn file_body(slice: crate::response::FileSlice) -> Body {
    if slice.len == 0 { Body::Empty } else { Body::File(slice) }
}

/// Whether a path has a segment starting with `.`: dot-files such as
/// `.git/` or `.env` are not published, except the `/.well-known/` tree
/// that RFC 8615 reserves for exactly that.
fn is_hidden(path: &[u8]) -> bool {
    let rest = match path.strip_prefix(b"/.well-known") {
        Some(rest) if rest.is_empty() || rest.starts_with(b"/") => rest,
        _ => path,
    };
    memchr::memchr_iter(b'/', rest).any(|slash| rest.get(slash + 1) == Some(&b'.'))
}

/// Write `path` (which starts with `/`) as a NUL-terminated path relative to
/// the root into `buf`, with `index.html` appended when asked; `None` if it
/// holds a NUL (a decoded `%00`) or does not start with `/`.
fn rel_path<'a>(buf: &'a mut Vec<u8>, path: &[u8], index: bool) -> Option<&'a CStr> {
    let tail = path.strip_prefix(b"/")?;
    if memchr::memchr(0, tail).is_some() {
        return None;
    }
    buf.clear();
    buf.extend_from_slice(tail);
    if index {
        buf.extend_from_slice(b"index.html");
    }
    if buf.is_empty() {
        buf.push(b'.');
    }
    buf.push(0);
    CStr::from_bytes_with_nul(buf).ok()
}

fn miss_status(miss: &Miss, path: &[u8]) -> u16 {
    match miss {
        Miss::Directory => 404,
        // Never read a FIFO, socket or device (nginx answers the same).
        Miss::NotRegular => 403,
        Miss::Error(e) => io_status(e, path),
    }
}

/// The status for a failed open or read.
fn io_status(e: &io::Error, path: &[u8]) -> u16 {
    match e.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG) => 404,
        // EXDEV: a link leading out of the root (RESOLVE_BENEATH); ELOOP: a
        // link refused by O_NOFOLLOW, or a loop; ENXIO, ENODEV: a socket or a
        // device without a driver, which are not files to serve anyway.
        Some(libc::EACCES | libc::EPERM | libc::EXDEV | libc::ELOOP | libc::ENXIO | libc::ENODEV) => 403,
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM) => {
            log::warn!("{}: {e}", String::from_utf8_lossy(path));
            503
        }
        _ => {
            log::error!("{}: {e}", String::from_utf8_lossy(path));
            500
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A built-in error page. The common ones are compiled in; others are made
/// from the reason phrase.
fn built_in_page(status: u16) -> Body {
    macro_rules! page {
        ($title:literal) => {
            Body::Static(
                concat!(
                    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
                    $title,
                    "</title>\n<style>body{font:16px/1.5 system-ui,sans-serif;margin:3rem auto;\
                     max-width:40rem;padding:0 1rem;color:#222}h1{font-size:1.5rem;font-weight:600}\
                     hr{border:0;border-top:1px solid #ddd}footer{color:#888;font-size:.85rem}</style>\n\
                     </head>\n<body>\n<h1>",
                    $title,
                    "</h1>\n<hr>\n<footer>wired</footer>\n</body>\n</html>\n"
                )
                .as_bytes(),
            )
        };
    }
    match status {
        301 => page!("301 Moved Permanently"),
        308 => page!("308 Permanent Redirect"),
        400 => page!("400 Bad Request"),
        403 => page!("403 Forbidden"),
        404 => page!("404 Not Found"),
        405 => page!("405 Method Not Allowed"),
        408 => page!("408 Request Timeout"),
        411 => page!("411 Length Required"),
        412 => page!("412 Precondition Failed"),
        413 => page!("413 Content Too Large"),
        414 => page!("414 URI Too Long"),
        416 => page!("416 Range Not Satisfiable"),
        417 => page!("417 Expectation Failed"),
        431 => page!("431 Request Header Fields Too Large"),
        500 => page!("500 Internal Server Error"),
        501 => page!("501 Not Implemented"),
        502 => page!("502 Bad Gateway"),
        503 => page!("503 Service Unavailable"),
        504 => page!("504 Gateway Timeout"),
        505 => page!("505 HTTP Version Not Supported"),
        _ => {
            let title = format!("{status} {}", reason(status));
            let mut page = Vec::with_capacity(256);
            page.extend_from_slice(b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
            autoindex::html_escape(title.as_bytes(), &mut page);
            page.extend_from_slice(b"</title>\n</head>\n<body>\n<h1>");
            autoindex::html_escape(title.as_bytes(), &mut page);
            page.extend_from_slice(b"</h1>\n<hr>\n<footer>wired</footer>\n</body>\n</html>\n");
            Body::Owned(page)
        }
    }
}

#[cfg(test)]
#[path = "static_files_tests.rs"]
mod tests;
