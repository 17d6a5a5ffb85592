//! Headless Chromium loading a page over HTTPS, with the test CA trusted the
//! way a user trusts a local CA on Linux: imported into the NSS database in
//! `$HOME/.pki/nssdb` with `certutil` (libnss3-tools). No
//! `--ignore-certificate-errors`: the same page with an empty database must
//! not render.

use std::path::Path;
use std::process::Command;

use super::*;

/// A fresh `$HOME` whose NSS database trusts `ca` (if given) to identify
/// web sites (`-t "C,,"`).
pub(crate) fn home_with_nssdb(dir: &Path, ca: Option<&Path>) {
    let db = dir.join(".pki/nssdb");
    fs::create_dir_all(&db).unwrap();
    let db = format!("sql:{}", db.display());
    let mut steps = vec![Command::new("certutil")];
    steps[0].args(["-d", &db, "-N", "--empty-password"]);
    if let Some(ca) = ca {
        let mut add = Command::new("certutil");
        add.args(["-d", &db, "-A", "-t", "C,,", "-n", "wired-test", "-i"]).arg(ca);
        steps.push(add);
    }
    for mut step in steps {
        let out = run_bounded(&mut step, Duration::from_secs(10));
        assert!(out.status.success(), "certutil: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn chromium_renders_a_page_over_https_with_the_ca_trusted() {
    let site = Site::new("chromium");
    let server = site.start(&[]);
    let url = format!("https://localhost:{}/", tls_port(&server));

    let trusting = site.tree.join("home-trusting");
    home_with_nssdb(&trusting, Some(&site.ca));
    let out = chromium(&site.tree.join("profile-a"), Some(&trusting), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<h1>Hello over TLS</h1>"), "the page, rendered:\n{dom}");
    assert!(dom.contains("<title>wired over TLS</title>"), "{dom}");

    let distrusting = site.tree.join("home-empty");
    home_with_nssdb(&distrusting, None);
    let out = chromium(&site.tree.join("profile-b"), Some(&distrusting), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(!dom.contains("Hello over TLS"), "an unknown CA must not be trusted:\n{dom}");
}
