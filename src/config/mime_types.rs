//! A `/etc/mime.types`-format file (`--mime-types`, the file's `mime_types`)
//! read into [`crate::config::Config::mime_types`]; the media type table
//! they override is `src/handler/mime.rs`.

use std::io;
use std::path::Path;

/// Read a `/etc/mime.types`-format file: lines of `type ext ext …`, with `#`
/// comments and blank lines. Returns (extension, type) pairs in file order,
/// ready for [`crate::config::Config::mime_types`].
pub fn load_mime_types(path: &Path) -> io::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)?;
    Ok(parse_mime_types(&text))
}

/// The pairs of a `mime.types` text; malformed lines (a type with no `/`, or
/// characters a field value may not hold) are skipped.
fn parse_mime_types(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_ascii_whitespace();
        let Some(media) = words.next() else {
            continue;
        };
        // type "/" subtype, both tokens (RFC 9110 §8.3.1).
        let valid = media
            .split_once('/')
            .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && media.bytes().all(|b| b.is_ascii_graphic()));
        if !valid {
            continue;
        }
        for ext in words {
            let ext = ext.trim_start_matches('.');
            if !ext.is_empty() {
                pairs.push((ext.to_string(), media.to_string()));
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_file_format() {
        let text = "# comment\n\napplication/x-thing\tthing thg\ntext/x-y .yy # tail\n\
                    nonsense\nbad/ q\naudio/none\n";
        assert_eq!(
            parse_mime_types(text),
            [
                ("thing".to_string(), "application/x-thing".to_string()),
                ("thg".into(), "application/x-thing".into()),
                ("yy".into(), "text/x-y".into()),
            ]
        );
        let path = std::env::temp_dir().join(format!("wired-mime-{}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        assert_eq!(load_mime_types(&path).unwrap().len(), 3);
        std::fs::remove_file(&path).unwrap();
        assert!(load_mime_types(Path::new("/nonexistent/mime.types")).is_err());
    }
}
