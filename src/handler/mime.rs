//! Media types for file names (RFC 9110 §8.3): a built-in table of common
//! extensions, overridden by pairs loaded from a `/etc/mime.types`-format
//! file (`--mime-types`, read by `src/config/mime_types.rs`).
//!
//! Text types get `; charset=utf-8`: without a charset a browser guesses
//! (RFC 9110 §8.3.2), and today's text files are UTF-8. The lookup runs when
//! a file enters the open-file cache, not per request, so it may allocate.

use std::collections::HashMap;

/// What is sent when nothing is known about a file: "arbitrary binary data"
/// (RFC 2046 §4.5.1), which browsers download rather than render.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

/// Extension (lower case, no dot) → media type. Sorted by extension, so a
/// binary search finds an entry; the unit tests check the order.
const BUILT_IN: &[(&str, &str)] = &[
    ("3gp", "video/3gpp"),
    ("7z", "application/x-7z-compressed"),
    ("aac", "audio/aac"),
    ("apng", "image/apng"),
    ("atom", "application/atom+xml"),
    ("avi", "video/x-msvideo"),
    ("avif", "image/avif"),
    ("bin", "application/octet-stream"),
    ("bmp", "image/bmp"),
    ("bz2", "application/x-bzip2"),
    ("c", "text/x-c"),
    ("cjs", "text/javascript"),
    ("conf", "text/plain"),
    ("cpp", "text/x-c"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("deb", "application/vnd.debian.binary-package"),
    ("doc", "application/msword"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("eot", "application/vnd.ms-fontobject"),
    ("epub", "application/epub+zip"),
    ("flac", "audio/flac"),
    ("gif", "image/gif"),
    ("go", "text/x-go"),
    ("gz", "application/gzip"),
    ("h", "text/x-c"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("ics", "text/calendar"),
    ("ini", "text/plain"),
    ("iso", "application/x-iso9660-image"),
    ("jar", "application/java-archive"),
    ("java", "text/x-java"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("jsonld", "application/ld+json"),
    ("jxl", "image/jxl"),
    ("kml", "application/vnd.google-earth.kml+xml"),
    ("log", "text/plain"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("m4a", "audio/mp4"),
    ("m4v", "video/x-m4v"),
    ("manifest", "text/cache-manifest"),
    ("map", "application/json"),
    ("md", "text/markdown"),
    ("mid", "audio/midi"),
    ("midi", "audio/midi"),
    ("mjs", "text/javascript"),
    ("mkv", "video/x-matroska"),
    ("mov", "video/quicktime"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpd", "application/dash+xml"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("oga", "audio/ogg"),
    ("ogg", "audio/ogg"),
    ("ogv", "video/ogg"),
    ("opus", "audio/opus"),
    ("otf", "font/otf"),
    ("pdf", "application/pdf"),
    ("pem", "application/x-pem-file"),
    ("php", "text/plain"),
    ("png", "image/png"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("ps", "application/postscript"),
    ("py", "text/x-python"),
    ("rar", "application/vnd.rar"),
    ("rb", "text/x-ruby"),
    ("rpm", "application/x-rpm"),
    ("rs", "text/x-rust"),
    ("rss", "application/rss+xml"),
    ("rtf", "application/rtf"),
    ("sh", "text/x-shellscript"),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("swf", "application/x-shockwave-flash"),
    ("tar", "application/x-tar"),
    ("tgz", "application/gzip"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("toml", "application/toml"),
    ("ts", "video/mp2t"),
    ("tsv", "text/tab-separated-values"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain"),
    ("vcf", "text/vcard"),
    ("vtt", "text/vtt"),
    ("wasm", "application/wasm"),
    ("wav", "audio/wav"),
    ("weba", "audio/webm"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("webp", "image/webp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("xhtml", "application/xhtml+xml"),
    ("xls", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("xml", "application/xml"),
    ("xsl", "application/xml"),
    ("xz", "application/x-xz"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("zip", "application/zip"),
    ("zst", "application/zstd"),
];

/// Media types that are text and so get a charset, beyond `text/*`.
const TEXTUAL: &[&str] = &[
    "application/javascript",
    "application/json",
    "application/ld+json",
    "application/manifest+json",
    "application/xml",
    "application/xhtml+xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/toml",
    "application/yaml",
    "image/svg+xml",
];

/// The extension → media type map: the built-in table plus overrides.
#[derive(Debug, Default)]
pub struct MimeTable {
    /// From `--mime-types`, keys in lower case; these win over [`BUILT_IN`].
    overrides: HashMap<String, String>,
}

impl MimeTable {
    /// A table with `extra` (extension, media type) pairs overriding the
    /// built-in ones; a later pair for the same extension wins.
    pub fn new(extra: &[(String, String)]) -> MimeTable {
        let overrides = extra.iter().map(|(ext, media)| (ext.to_ascii_lowercase(), media.clone())).collect();
        MimeTable { overrides }
    }

    /// Append the `Content-Type` value for a file named `name` (the last
    /// path segment, or the whole path) to `out`.
    pub fn content_type(&self, name: &[u8], out: &mut Vec<u8>) {
        let media = extension(name)
            .and_then(|ext| std::str::from_utf8(ext).ok())
            .map(str::to_ascii_lowercase)
            .and_then(|ext| match self.overrides.get(&ext) {
                Some(media) => Some(media.as_str()),
                None => built_in(&ext),
            })
            .unwrap_or(DEFAULT_TYPE);
        out.extend_from_slice(media.as_bytes());
        // RFC 9110 §8.3.2: a parameter already given (`; charset=…`) is kept.
        if is_textual(media) && !media.contains(';') {
            out.extend_from_slice(b"; charset=utf-8");
        }
    }
}

/// The extension of the last segment of `name`, without its dot: `None` for
/// no dot, a trailing dot, or a dot-file name such as `.htaccess`.
pub fn extension(name: &[u8]) -> Option<&[u8]> {
    let last = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    let dot = last.iter().rposition(|&b| b == b'.')?;
    let ext = last.get(dot + 1..)?;
    (dot > 0 && !ext.is_empty()).then_some(ext)
}

/// The built-in type for a lower-case extension.
fn built_in(ext: &str) -> Option<&'static str> {
    BUILT_IN
        .binary_search_by(|(known, _)| (*known).cmp(ext))
        .ok()
        .and_then(|i| BUILT_IN.get(i))
        .map(|(_, media)| *media)
}

/// Whether `media` (without parameters) is text that deserves a charset.
fn is_textual(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or(media).trim();
    let has_prefix = essence.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("text/"));
    has_prefix || TEXTUAL.iter().any(|t| t.eq_ignore_ascii_case(essence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(table: &MimeTable, name: &str) -> String {
        let mut out = Vec::new();
        table.content_type(name.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn built_in_table_is_sorted_unique_and_large() {
        assert!(BUILT_IN.len() >= 100, "{}", BUILT_IN.len());
        for pair in BUILT_IN.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?} before {:?}", pair[0], pair[1]);
        }
        for (ext, _) in BUILT_IN {
            assert_eq!(*ext, ext.to_ascii_lowercase());
        }
    }

    #[test]
    fn lookup_table() {
        let table = MimeTable::default();
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("/a/b/STYLE.CSS", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("data.json", "application/json; charset=utf-8"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("feed.xml", "application/xml; charset=utf-8"),
            ("photo.JPG", "image/jpeg"),
            ("font.woff2", "font/woff2"),
            ("archive.tar.gz", "application/gzip"),
            ("README", DEFAULT_TYPE),
            ("weird.", DEFAULT_TYPE),
            (".bashrc", DEFAULT_TYPE),
            ("/dir.d/file", DEFAULT_TYPE),
            ("x.unknownext", DEFAULT_TYPE),
            ("x.\u{e9}", DEFAULT_TYPE),
        ];
        for (name, want) in cases {
            assert_eq!(lookup(&table, name), want, "{name}");
        }
    }

    #[test]
    fn overrides_win_and_get_a_charset_when_textual() {
        let table = MimeTable::new(&[
            ("HTML".into(), "application/x-custom".into()),
            ("foo".into(), "text/x-foo".into()),
            ("bar".into(), "text/x-bar; charset=latin1".into()),
        ]);
        assert_eq!(lookup(&table, "a.html"), "application/x-custom");
        assert_eq!(lookup(&table, "a.foo"), "text/x-foo; charset=utf-8");
        assert_eq!(lookup(&table, "a.bar"), "text/x-bar; charset=latin1");
        assert_eq!(lookup(&table, "a.css"), "text/css; charset=utf-8");
    }
}
