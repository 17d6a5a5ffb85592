//! What may run: only regular, executable files inside the CGI directory,
//! reached without climbing out of it; and request bytes are never read by
//! a shell.

use super::*;

/// A script outside the CGI directory that leaves a mark if it ever runs.
fn outside_script(site: &Site) -> (PathBuf, PathBuf) {
    let mark = site.dir.join("outside-ran");
    let script = site.dir.join("outside.sh");
    fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\nprintf 'Content-Type: text/plain\\n\\nran\\n'\n", mark.display()),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    (script, mark)
}

#[test]
fn a_file_without_the_execute_bit_is_403() {
    let site = site("noexec");
    install(&sources().join("env.sh"), &site.bin.join("noexec.sh"), 0o644);
    let server = start(&site, &[]);
    assert_eq!(get(&server, "/cgi-bin/noexec.sh").status, 403);
    assert_eq!(get(&server, "/cgi-bin/env.sh").status, 200);
}

#[test]
fn a_symlink_leading_out_of_the_directory_is_403() {
    let site = site("symlink");
    let (outside, mark) = outside_script(&site);
    std::os::unix::fs::symlink(&outside, site.bin.join("escape.sh")).unwrap();
    std::os::unix::fs::symlink(&site.dir, site.bin.join("up")).unwrap();
    let server = start(&site, &[]);
    assert_eq!(get(&server, "/cgi-bin/escape.sh").status, 403);
    assert_eq!(get(&server, "/cgi-bin/up/outside.sh").status, 403);
    assert!(!mark.exists(), "a program outside the CGI directory ran");
    // A symlink that stays inside is fine.
    std::os::unix::fs::symlink(site.bin.join("length.sh"), site.bin.join("alias.sh")).unwrap();
    assert_eq!(get(&server, "/cgi-bin/alias.sh").text(), "sized\n");
}

#[test]
fn dot_dot_in_any_encoding_never_reaches_outside() {
    let site = site("dotdot");
    let (_, mark) = outside_script(&site);
    let server = start(&site, &[]);
    for target in [
        "/cgi-bin/../../outside.sh",
        "/cgi-bin/%2e%2e/%2e%2e/outside.sh",
        "/cgi-bin/%2E%2E/%2E%2E/outside.sh",
        "/cgi-bin/.%2e/.%2e/outside.sh",
        "/cgi-bin/..%2f..%2foutside.sh",
        "/cgi-bin/%2e%2e%2f%2e%2e%2foutside.sh",
        "/cgi-bin/..%5c..%5coutside.sh",
        "/cgi-bin/%252e%252e/%252e%252e/outside.sh",
        "/cgi-bin/env.sh/../../../outside.sh",
        "/cgi-bin/.hidden",
    ] {
        let status = get(&server, target).status;
        assert!((400..500).contains(&status), "{target}: {status}");
    }
    assert!(!mark.exists(), "a program outside the CGI directory ran");
    assert_eq!(get(&server, "/cgi-bin/").status, 403, "a directory is not a program");
}

#[test]
fn request_bytes_are_never_read_by_a_shell() {
    let site = site("shell");
    let mark = site.dir.join("injected");
    let m = mark.display().to_string();
    // A name a shell would split in two runs as the one file it is.
    install(&sources().join("length.sh"), &site.bin.join("semi;colon.sh"), 0o755);
    let server = start(&site, &[]);
    let r = get(&server, "/cgi-bin/semi;colon.sh");
    assert_eq!((r.status, r.text().as_str()), (200, "sized\n"));
    let query = format!("$(touch%20{m});touch%20{m};%60touch%20{m}%60");
    let r = get(&server, &format!("/cgi-bin/env.sh?{query}"));
    let env = env_of(&r);
    assert_eq!(env.get("QUERY_STRING"), Some(&query), "the query is passed on as it came");
    assert_eq!(env.get("ARGC").map(String::as_str), Some("0"), "and never as arguments");
    for target in [format!("/cgi-bin/env.sh;touch%20{m}"), format!("/cgi-bin/env.sh%3btouch%20{m}")] {
        assert_eq!(get(&server, &target).status, 404, "{target}");
    }
    assert!(!mark.exists(), "a shell ran request bytes");
}

#[test]
fn an_extension_script_symlinked_from_outside_the_root_does_not_run() {
    let site = site("ext-symlink");
    let (outside, mark) = outside_script(&site);
    std::os::unix::fs::symlink(&outside, site.root.join("escape.sh")).unwrap();
    fs::write(site.root.join("inside.sh"), "printf 'Content-Type: text/plain\\n\\ninside\\n'\n").unwrap();
    let server = start(&site, &["--cgi-ext", ".sh=/bin/sh"]);
    assert_eq!(get(&server, "/inside.sh").text(), "inside\n", "the interpreter runs scripts under the root");
    assert_eq!(get(&server, "/escape.sh").status, 403);
    assert!(!mark.exists(), "a script outside the root ran");
    // Unless symlinks are trusted, as for static files.
    let server = start(&site, &["--cgi-ext", ".sh=/bin/sh", "--follow-symlinks"]);
    assert_eq!(get(&server, "/escape.sh").text(), "ran\n");
}
