//! Nothing outside the root is ever served: every way in gives a 4xx and no
//! byte of the secret beside the root appears in any response.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use super::*;

/// Content of the secret file that sits beside the root.
const SECRET: &str = "TOP-SECRET-7c1d93f0-outside-the-root";
/// The secret file's name, which a listing must not leak either.
const SECRET_NAME: &str = "classified-b52e.txt";

/// `TREE/root` served, `TREE/secret/` beside it, links from inside out.
fn jail(name: &str) -> (TempTree, PathBuf) {
    let tree = TempTree::new(name);
    let root = tree.join("root");
    let secret = tree.join("secret");
    fs::create_dir_all(root.join("sub/deeper")).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::create_dir_all(root.join(".well-known")).unwrap();
    fs::create_dir_all(&secret).unwrap();
    fs::write(secret.join(SECRET_NAME), SECRET).unwrap();
    fs::write(tree.join("secret.txt"), SECRET).unwrap();
    fs::write(root.join("pub.txt"), "public\n").unwrap();
    fs::write(root.join("sub/deeper/x.txt"), "x\n").unwrap();
    fs::write(root.join(".env"), "DB_PASSWORD=hunter2\n").unwrap();
    fs::write(root.join(".git/config"), "[core]\n").unwrap();
    fs::write(root.join("sub/.hidden"), "hidden\n").unwrap();
    fs::write(root.join(".well-known/security.txt"), "Contact: mailto:sec@example.com\n").unwrap();
    symlink(secret.join(SECRET_NAME), root.join("link_out")).unwrap();
    symlink(format!("../secret/{SECRET_NAME}"), root.join("relative_link_out")).unwrap();
    symlink("../secret", root.join("dir_out")).unwrap();
    symlink("../../secret.txt", root.join("sub/up_out")).unwrap();
    (tree, root)
}

/// The requests an attacker would try, as raw request lines.
fn attacks() -> Vec<String> {
    let s = SECRET_NAME;
    let mut targets: Vec<String> = [
        "/../secret.txt".to_string(),
        format!("/../secret/{s}"),
        format!("/%2e%2e/secret/{s}"),
        format!("/%2E%2E/secret/{s}"),
        format!("/%2E%2E%2Fsecret%2F{s}"),
        format!("/..%2fsecret%2f{s}"),
        format!("/sub/..%2f..%2fsecret/{s}"),
        format!("/sub/%2e%2e/%2e%2e/secret/{s}"),
        format!("/sub/deeper/../../../secret/{s}"),
        format!("/.%2e/secret/{s}"),
        format!("/%2e./secret/{s}"),
        "/%252e%252e/secret.txt".to_string(),
        format!("/..\\secret\\{s}"),
        format!("/%5c..%5csecret%5c{s}"),
        format!("/sub\\..\\..\\secret\\{s}"),
        "/pub.txt%00".to_string(),
        format!("/%00/../secret/{s}"),
        format!("/pub.txt%00/../../secret/{s}"),
        "//../secret.txt".to_string(),
        "/./../secret.txt".to_string(),
        format!("http://t/../secret/{s}"),
        format!("http://t/%2e%2e/secret/{s}"),
        "http://t/sub/../../secret.txt".to_string(),
        "/link_out".to_string(),
        "/relative_link_out".to_string(),
        format!("/dir_out/{s}"),
        "/dir_out/".to_string(),
        "/dir_out".to_string(),
        "/sub/up_out".to_string(),
        "/.env".to_string(),
        "/%2eenv".to_string(),
        "/.git/config".to_string(),
        "/.git/".to_string(),
        "/sub/.hidden".to_string(),
        "/sub/./.hidden".to_string(),
        "/.well-known/../.env".to_string(),
        "/.well-known/../../secret.txt".to_string(),
    ]
    .into();
    // Several KiB of `../`, raw and encoded.
    targets.push(format!("/{}secret/{s}", "../".repeat(2000)));
    targets.push(format!("/sub/{}secret.txt", "%2e%2e/".repeat(900)));
    targets.push(format!("/{}etc/passwd", "..%2f".repeat(1500)));
    targets
}

fn assert_confined(server: &Server, label: &str) {
    for target in attacks() {
        for method in ["GET", "HEAD"] {
            let request = format!("{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            let raw = server.raw(request.as_bytes());
            let status = first_status(&raw).unwrap_or_else(|| panic!("{label}: no response to {method} {target}"));
            assert!((400..500).contains(&status), "{label}: {method} {target} got {status}");
            let text = String::from_utf8_lossy(&raw);
            for leak in [SECRET, SECRET_NAME, "hunter2", "[core]", "hidden\n", "root:x:0:0"] {
                assert!(!text.contains(leak), "{label}: {method} {target} leaked {leak:?}:\n{text}");
            }
        }
    }
    // The server is unharmed and the legitimate files are still served.
    assert_eq!(get(server, "/pub.txt", &[]).text(), "public\n", "{label}");
    assert_eq!(get(server, "/sub/deeper/x.txt", &[]).text(), "x\n", "{label}");
    let well_known = get(server, "/.well-known/security.txt", &[]);
    assert_eq!(well_known.status, 200, "{label}: /.well-known/ is published (RFC 8615)");
    assert_eq!(well_known.text(), "Contact: mailto:sec@example.com\n");
}

#[test]
fn no_way_out_of_the_root() {
    let (_tree, root) = jail("sf-jail");
    assert_confined(&Server::start(&root, &[]), "default");
}

#[test]
fn no_way_out_with_autoindex_either() {
    let (_tree, root) = jail("sf-jail-index");
    let server = Server::start(&root, &["--autoindex"]);
    assert_confined(&server, "autoindex");
    // The listing of the root shows the links by name only, and no dotfile.
    let page = get(&server, "/", &[]).text();
    assert!(page.contains(">link_out</a>") && page.contains(">dir_out"), "{page}");
    assert!(!page.contains(".env") && !page.contains(".git") && !page.contains(".well-known"), "{page}");
}

#[test]
fn follow_symlinks_follows_links_out_but_not_dot_dot() {
    let (_tree, root) = jail("sf-jail-follow");
    let server = Server::start(&root, &["--follow-symlinks"]);
    for target in ["/link_out", "/relative_link_out", &format!("/dir_out/{SECRET_NAME}"), "/sub/up_out"] {
        let r = get(&server, target, &[]);
        assert_eq!((r.status, r.text().as_str()), (200, SECRET), "{target}: the link is followed");
    }
    // Links are the only way out: `..`, encoded or not, still is not one.
    for target in [
        format!("/../secret/{SECRET_NAME}"),
        format!("/%2e%2e/secret/{SECRET_NAME}"),
        format!("/..%2fsecret%2f{SECRET_NAME}"),
        format!("http://t/../secret/{SECRET_NAME}"),
        "/.env".to_string(),
    ] {
        let raw = server.raw(format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes());
        let status = first_status(&raw).unwrap();
        assert!((400..500).contains(&status), "{target}: {status}");
        assert!(!String::from_utf8_lossy(&raw).contains(SECRET), "{target} leaked");
    }
}
