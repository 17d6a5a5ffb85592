//! Compression on the fly (RFC 9110 §8.4.1, §12.5.3): gzip, brotli and
//! zstd, by the client's `Accept-Encoding`, for media types that compress,
//! through the field's own encoders (flate2, brotli, zstd).
//!
//! Two ways in:
//!
//! - A **static file** that has no precompressed sibling and is small
//!   enough ([`WHOLE_MAX`]) is compressed once, whole, the first time a
//!   client accepts a coding for it, and the compressed bytes are kept with
//!   the file in the open-file cache (`file_cache.rs`): every later request
//!   for it is a copy from memory, like a precompressed `FILE.gz`. The
//!   cached form goes when the file changes (the cache revalidates each
//!   second). A file up to [`INLINE_MAX`] is compressed in the request that
//!   first asks (a millisecond or two); a larger one on the compression
//!   thread ([`submit`]), so that no worker stalls on it (a 1 MiB page took
//!   50 to 80 ms at level 5 inline): until the thread is done, requests get
//!   the file as it is, and the first one after gets the coded form.
//! - A **CGI, FastCGI or proxied response** is compressed as it streams,
//!   a piece at a time ([`Stream`], each piece flushed, so a slow stream
//!   reaches the client as it is written): the coding is chosen when the
//!   request starts ([`for_request`]), and the response head decides
//!   whether it applies ([`begin`]). A piece is at most one read of the
//!   program's or upstream's output, so no one response holds the worker
//!   for long.
//!
//! A compressed response has `Content-Encoding`, no `Content-Length` for a
//! stream (its length is known only at the end: chunked), `Vary:
//! Accept-Encoding`, and a weak entity tag: its bytes depend on the encoder
//! and level, so it is the same representation but not byte for byte
//! (RFC 9110 §8.8.1, nginx does the same). Ranges are never compressed: a
//! range of a compressed stream would not be the range asked for.

use std::io::Write;

use wired_parser::values::accept_encoding::{AcceptEncoding, Coding};

use wired_parser::{Request, Version};

use crate::config::CompressSettings;
use crate::response::Fields;

/// Files up to this size are compressed whole and kept (see the module
/// documentation); larger ones are sent as they are.
pub const WHOLE_MAX: u64 = 1024 * 1024;

/// Files up to this size are compressed inline; larger ones (up to
/// [`WHOLE_MAX`]) on the compression thread.
pub const INLINE_MAX: u64 = 64 * 1024;

/// Jobs waiting for the compression thread; beyond it a file is left for a
/// later request to submit again.
const QUEUE: usize = 64;

/// A file to compress on the compression thread, for the worker that
/// `reply` belongs to.
pub struct Job {
    /// The cache's key for the file.
    pub key: Box<[u8]>,
    /// Which version of the file (the cache's stamp of it): a result for an
    /// older version is thrown away.
    pub stamp: u64,
    /// The file itself (a descriptor of its own) and its length.
    pub file: std::fs::File,
    pub len: u64,
    pub coding: Coding,
    pub settings: CompressSettings,
    pub reply: std::sync::mpsc::Sender<Done>,
}

/// A compressed file, back from the compression thread.
pub struct Done {
    pub key: Box<[u8]>,
    pub stamp: u64,
    pub coding: Coding,
    pub bytes: std::io::Result<Vec<u8>>,
}

/// Hand a job to the compression thread (one for the process, started on
/// first use). False when it cannot take it now.
pub fn submit(job: Job) -> bool {
    static POOL: std::sync::OnceLock<Option<std::sync::mpsc::SyncSender<Job>>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
        let spawned = std::thread::Builder::new().name("wired-compress".into()).spawn(move || {
            for job in rx {
                let mut data = vec![0u8; usize::try_from(job.len).unwrap_or(0)];
                let bytes = std::os::unix::fs::FileExt::read_exact_at(&job.file, &mut data, 0)
                    .and_then(|()| encode_all(job.coding, &data, &job.settings));
                let _ = job.reply.send(Done { key: job.key, stamp: job.stamp, coding: job.coding, bytes });
            }
        });
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                log::warn!("no compression thread ({e}): large files go uncompressed");
                None
            }
        }
    });
    pool.as_ref().is_some_and(|tx| tx.try_send(job).is_ok())
}

/// Whether responses of this media type (its value, parameters allowed)
/// are worth compressing under these settings.
pub fn compressible(content_type: &[u8], settings: &CompressSettings) -> bool {
    if !settings.enabled {
        return false;
    }
    let essence = content_type.split(|&b| b == b';').next().unwrap_or_default();
    let essence = essence.trim_ascii();
    settings.types.iter().any(|t| t.as_bytes().eq_ignore_ascii_case(essence))
}

/// The coding to compress with for this `Accept-Encoding`: the client's
/// preference among br, zstd and gzip, or `None` for none (no field, only
/// identity acceptable, or identity weighted higher).
pub fn choose(accept_encoding: Option<&[u8]>) -> Option<Coding> {
    let accept = AcceptEncoding::parse(accept_encoding?);
    match accept.preferred(&[Coding::Br, Coding::Zstd, Coding::Gzip, Coding::Identity]) {
        Some(Coding::Identity) | None => None,
        chosen => chosen,
    }
}

/// The coding a generated response to `req` (CGI, FastCGI, proxy) would be
/// compressed with, chosen while the request is at hand. Only for
/// HTTP/1.1: a compressed stream's length is unknown until its end, and an
/// HTTP/1.0 client cannot take chunked framing (nginx's
/// `gzip_http_version 1.1` draws the same line).
pub fn for_request(req: &Request<'_, '_>, settings: &CompressSettings) -> Option<Coding> {
    if !settings.enabled || req.version != Version::Http11 {
        return None;
    }
    choose(req.headers.iter().find(|h| h.name.eq_ignore_ascii_case("accept-encoding")).map(|h| h.value))
}

/// Whether a generated response, whose head is in `fields`, is compressed
/// with `coding`; if so its fields are rewritten for the coded form and the
/// encoder is returned. `length`: the body's length when the program or
/// upstream gave one.
pub fn begin(
    fields: &mut Fields,
    status: u16,
    coding: Coding,
    length: Option<u64>,
    settings: &CompressSettings,
) -> Option<Box<Stream>> {
    // The statuses nginx's gzip filter codes: a success, and the error
    // pages a site makes itself. Never a 206 (a range of the coded stream
    // is not the range asked for).
    if !matches!(status, 200 | 403 | 404) {
        return None;
    }
    // Already coded (RFC 9110 §8.4): coding again would need the client to
    // undo both, and it asked for one.
    if fields.value("content-encoding").is_some() || fields.value("content-range").is_some() {
        return None;
    }
    // RFC 9111 §5.2.2.6: `no-transform` forbids an intermediary to change
    // the content, and a gateway is one (RFC 9110 §7.7).
    let no_transform = fields
        .value("cache-control")
        .is_some_and(|v| v.split(|&b| b == b',').any(|d| d.trim_ascii().eq_ignore_ascii_case(b"no-transform")));
    if no_transform || !compressible(fields.value("content-type")?, settings) {
        return None;
    }
    if length.is_some_and(|n| n < settings.min_length) {
        return None;
    }
    let stream = Box::new(Stream::new(coding, settings)?);
    fields.add("Content-Encoding", coding.as_str().as_bytes());
    // RFC 9110 §12.5.5: the answer depended on Accept-Encoding.
    match fields.remove("vary") {
        Some(v) if v.trim_ascii() == b"*" || has_token(&v, b"accept-encoding") => fields.add("Vary", &v),
        Some(mut v) => {
            v.extend_from_slice(b", Accept-Encoding");
            fields.add("Vary", &v);
        }
        None => fields.add("Vary", b"Accept-Encoding"),
    }
    // RFC 9110 §8.8.1: the coded bytes depend on the encoder, so a strong
    // validator no longer holds; a weak one still names the same content.
    if let Some(tag) = fields.remove("etag") {
        if tag.starts_with(b"W/") {
            fields.add("ETag", &tag);
        } else {
            let mut weak = b"W/".to_vec();
            weak.extend_from_slice(&tag);
            fields.add("ETag", &weak);
        }
    }
    Some(stream)
}

/// Whether a comma-separated list holds `token` (any case).
fn has_token(list: &[u8], token: &[u8]) -> bool {
    list.split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Compress `data` whole.
pub fn encode_all(coding: Coding, data: &[u8], settings: &CompressSettings) -> std::io::Result<Vec<u8>> {
    let mut stream = Stream::new(coding, settings).ok_or_else(|| std::io::Error::other("no such coding"))?;
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    stream.write(data, &mut out)?;
    stream.finish(&mut out)?;
    Ok(out)
}

/// A response body being compressed as it comes.
pub enum Stream {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Gzip(_) => "Stream::Gzip",
            Stream::Br(_) => "Stream::Br",
            Stream::Zstd(_) => "Stream::Zstd",
        })
    }
}

impl Stream {
    /// An encoder for `coding` at the configured level; `None` for identity.
    pub fn new(coding: Coding, settings: &CompressSettings) -> Option<Stream> {
        let level = settings.level;
        Some(match coding {
            Coding::Gzip => {
                Stream::Gzip(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level.min(9))))
            }
            // Brotli's window: 2^22, its default.
            Coding::Br => Stream::Br(Box::new(brotli::CompressorWriter::new(Vec::new(), 16 * 1024, level.min(11), 22))),
            Coding::Zstd => Stream::Zstd(zstd::stream::write::Encoder::new(Vec::new(), level.min(19) as i32).ok()?),
            _ => return None,
        })
    }

    /// Compress a piece, appending what the encoder has ready to `out`.
    /// Each piece is flushed, so a slow stream (server-sent events, a
    /// long poll) reaches the client as it is written, not at the end.
    pub fn write(&mut self, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        match self {
            Stream::Gzip(e) => {
                e.write_all(data)?;
                e.flush()?;
                out.append(e.get_mut());
            }
            Stream::Br(e) => {
                e.write_all(data)?;
                e.flush()?;
                out.append(e.get_mut());
            }
            Stream::Zstd(e) => {
                e.write_all(data)?;
                e.flush()?;
                out.append(e.get_mut());
            }
        }
        Ok(())
    }

    /// End the stream, appending its last bytes.
    pub fn finish(self, out: &mut Vec<u8>) -> std::io::Result<()> {
        let mut rest = match self {
            Stream::Gzip(e) => e.finish()?,
            Stream::Br(e) => e.into_inner(),
            Stream::Zstd(e) => e.finish()?,
        };
        out.append(&mut rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CompressSettings {
        CompressSettings { enabled: true, ..CompressSettings::default() }
    }

    #[test]
    fn each_coding_round_trips_in_pieces() {
        let text = "the quick brown fox jumps over the lazy dog\n".repeat(2000);
        for coding in [Coding::Gzip, Coding::Br, Coding::Zstd] {
            let mut stream = Stream::new(coding, &settings()).unwrap();
            let mut wire = Vec::new();
            for piece in text.as_bytes().chunks(7000) {
                stream.write(piece, &mut wire).unwrap();
            }
            stream.finish(&mut wire).unwrap();
            assert!(wire.len() < text.len() / 10, "{coding:?}: {}", wire.len());
            let back = match coding {
                Coding::Gzip => {
                    let mut d = flate2::read::GzDecoder::new(&wire[..]);
                    let mut s = Vec::new();
                    std::io::Read::read_to_end(&mut d, &mut s).unwrap();
                    s
                }
                Coding::Br => {
                    let mut s = Vec::new();
                    brotli::BrotliDecompress(&mut &wire[..], &mut s).unwrap();
                    s
                }
                _ => zstd::decode_all(&wire[..]).unwrap(),
            };
            assert_eq!(back, text.as_bytes(), "{coding:?}");
            assert_eq!(encode_all(coding, text.as_bytes(), &settings()).map(|w| !w.is_empty()).ok(), Some(true));
        }
    }

    #[test]
    fn choice_follows_the_client() {
        assert_eq!(choose(Some(b"gzip, deflate, br, zstd")), Some(Coding::Br));
        assert_eq!(choose(Some(b"gzip")), Some(Coding::Gzip));
        assert_eq!(choose(Some(b"zstd, gzip;q=0.5")), Some(Coding::Zstd));
        // Identity is acceptable at q=1 unless named (RFC 9110 §12.5.3):
        // a client that weights every coding lower prefers none.
        assert_eq!(choose(Some(b"zstd;q=0.9, gzip;q=0.5")), None);
        assert_eq!(choose(Some(b"identity")), None);
        assert_eq!(choose(Some(b"gzip;q=0")), None);
        assert_eq!(choose(None), None);
    }

    #[test]
    fn a_generated_head_is_rewritten_for_the_coded_form() {
        let s = settings();
        let mut f = Fields::new();
        f.add("Content-Type", b"text/html");
        f.add("ETag", b"\"a\"");
        f.add("Vary", b"Cookie");
        assert!(begin(&mut f, 200, Coding::Gzip, None, &s).is_some());
        assert_eq!(f.value("content-encoding"), Some(&b"gzip"[..]));
        assert_eq!(f.value("etag"), Some(&b"W/\"a\""[..]));
        assert_eq!(f.value("vary"), Some(&b"Cookie, Accept-Encoding"[..]));
        assert_eq!(f.value("content-type"), Some(&b"text/html"[..]));
        // Left alone: a partial answer, a short one, a coded one, a
        // no-transform one, an image.
        let head = |extra: &[(&str, &[u8])]| {
            let mut f = Fields::new();
            f.add("Content-Type", b"text/plain");
            for (n, v) in extra {
                f.add(n, v);
            }
            f
        };
        assert!(begin(&mut head(&[]), 206, Coding::Gzip, None, &s).is_none());
        assert!(begin(&mut head(&[]), 200, Coding::Gzip, Some(10), &s).is_none());
        assert!(begin(&mut head(&[("Content-Encoding", b"br")]), 200, Coding::Gzip, None, &s).is_none());
        assert!(
            begin(&mut head(&[("Cache-Control", b"max-age=1, No-Transform")]), 200, Coding::Gzip, None, &s).is_none()
        );
        let mut png = Fields::new();
        png.add("Content-Type", b"image/png");
        assert!(begin(&mut png, 200, Coding::Gzip, None, &s).is_none());
        assert_eq!(png.as_bytes(), b"Content-Type: image/png\r\n");
    }

    #[test]
    fn types_by_essence() {
        let s = settings();
        assert!(compressible(b"text/html; charset=utf-8", &s));
        assert!(compressible(b"Application/JSON", &s));
        assert!(!compressible(b"image/png", &s));
        assert!(!compressible(b"text/html", &CompressSettings::default()));
    }
}
