//! The request target and path normalization on arbitrary bytes: nothing may
//! panic, and every normalized path keeps the promises a file server relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wired_parser::Method;
use wired_parser::target::{Form, normalize_path, parse_target};

/// Starts with `/`, holds no NUL, no `.` or `..` segment and no empty one
/// (a trailing slash aside), and is already normal.
fn check(path: &[u8]) {
    assert!(path.starts_with(b"/"), "{path:?}");
    assert!(!path.contains(&0), "{path:?}");
    let segments: Vec<&[u8]> = path.split(|&b| b == b'/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let trailing_slash = segment.is_empty() && i + 1 == segments.len();
        let bad = [&b""[..], b".", b".."].contains(segment) && !trailing_slash;
        assert!(!bad, "{path:?}");
    }
    // Decoding twice is not decoding once, so only a path that needs no
    // decoding must come back unchanged.
    if !path.iter().any(|&b| b == b'%' || b.is_ascii_control()) {
        let mut again = Vec::new();
        assert_eq!(normalize_path(path, &mut again), Ok(path), "not idempotent");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    if let Ok(path) = normalize_path(data, &mut out) {
        check(path);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for method in [Method::Get, Method::Options, Method::Connect] {
        let Ok(target) = parse_target(text, method) else {
            continue;
        };
        match target.form {
            Form::Origin | Form::Absolute => {
                assert_ne!(method, Method::Connect);
                if let Ok(path) = normalize_path(target.path, &mut out) {
                    check(path);
                }
            }
            Form::Authority => assert_eq!(method, Method::Connect),
            Form::Asterisk => assert_eq!(method, Method::Options),
        }
    }
});
