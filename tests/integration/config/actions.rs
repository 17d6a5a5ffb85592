//! Each action a location can name, end to end on a real socket.

use std::os::unix::fs::PermissionsExt;

use super::*;

#[test]
fn files_from_a_root_and_from_aliases_and_nothing_outside_them() {
    let site = Site::new("actions-files", &["site", "assets/sub", "images"]);
    site.write("site/page.txt", "page under the root\n")
        .write("assets/app.css", "body{}\n")
        .write("assets/sub/index.html", "sub index\n")
        .write("assets/.env", "hidden\n")
        .write("images/logo.txt", "logo\n")
        .write("secret.txt", "outside every root\n");
    std::os::unix::fs::symlink(site.path("secret.txt"), site.path("assets/leak.txt")).unwrap();
    site.config(
        r#"
[[server]]
root = "@/site"
[[server.location]]
path = "/static/"
alias = "@/assets"
[[server.location]]
path = "/img"
alias = "@/images"
"#,
    );
    let server = site.start(&[]);
    let ok = |path: &str, body: &str| {
        let resp = get(&server, "h", path);
        assert_eq!((resp.status, resp.text().as_str()), (200, body), "{path}");
    };
    ok("/page.txt", "page under the root\n");
    ok("/static/app.css", "body{}\n");
    ok("/static/sub/", "sub index\n");
    ok("/img/logo.txt", "logo\n");
    let status = |path: &str| get(&server, "h", path).status;
    // A directory without index.html, and no listings asked for.
    assert_eq!(status("/img/"), 403);
    // A directory named without its slash is redirected, by its URL.
    let resp = get(&server, "h", "/static/sub?x=1");
    assert_eq!((resp.status, resp.header("location")), (301, Some("/static/sub/?x=1")));
    assert_eq!(get(&server, "h", "/img").header("location"), Some("/img/"));
    // `..` is gone before matching: this is /secret.txt under the root.
    assert_eq!(status("/static/../secret.txt"), 404);
    assert_eq!(status("/static/%2e%2e/secret.txt"), 404);
    // `/img../x` under an alias of `/img` would be `../x` under it.
    assert_eq!(status("/img../secret.txt"), 404);
    // A link out of the alias is refused, and dot-files are hidden.
    assert_eq!(status("/static/leak.txt"), 403);
    assert_eq!(status("/static/.env"), 404);
    // The aliased files are not under the root, nor the root's under the alias.
    assert_eq!(status("/app.css"), 404);
    assert_eq!(status("/static/page.txt"), 404);
}

#[test]
fn redirects_substitute_scheme_host_and_request_uri() {
    let site = Site::new("actions-redirect", &[]);
    site.config(
        r#"
root = "@"
[[server]]
names = ["r.example"]
[[server.location]]
path = "/old/"
redirect = "$scheme://$host/new$request_uri"
status = 301
[[server.location]]
path = "= /go"
redirect = "https://other.example${uri}?from=$args&cost=$$5"
status = 307
[[server.location]]
path = "/moved"
redirect = "/elsewhere"
"#,
    );
    let server = site.start(&[]);
    let resp = get(&server, "R.Example:8080", "/old/a%20b?x=1");
    assert_eq!(resp.status, 301);
    assert_eq!(resp.header("location"), Some("http://r.example/new/old/a%20b?x=1"));
    // The absolute form: its host, and only its path and query as $request_uri.
    let resp = get(&server, "ignored", "http://r.example/old/z");
    assert_eq!(resp.header("location"), Some("http://r.example/new/old/z"));
    let resp = get(&server, "r.example", "/go?a=1");
    assert_eq!((resp.status, resp.header("location")), (307, Some("https://other.example/go?from=a=1&cost=$5")));
    // 302 unless said otherwise, as nginx's `return URL`.
    let resp = get(&server, "r.example", "/moved/deep");
    assert_eq!((resp.status, resp.header("location")), (302, Some("/elsewhere")));
}

#[test]
fn fixed_responses_with_status_type_and_body() {
    let site = Site::new("actions-respond", &[]);
    site.config(
        r#"
root = "@"
[[server]]
[[server.location]]
path = "= /healthz"
respond = "ok\n"
[[server.location]]
path = "/maintenance/"
respond = '{"down": true}'
status = 503
content_type = "application/json"
[[server.location]]
path = "= /empty"
respond = ""
status = 204
"#,
    );
    let server = site.start(&[]);
    let resp = get(&server, "h", "/healthz");
    assert_eq!((resp.status, resp.text().as_str()), (200, "ok\n"));
    assert_eq!(resp.header("content-type"), Some("text/plain; charset=utf-8"));
    let resp = get(&server, "h", "/maintenance/x");
    assert_eq!((resp.status, resp.text().as_str()), (503, "{\"down\": true}"));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(get(&server, "h", "/empty").status, 204);
    // HEAD: the same head, no body (RFC 9110 §9.3.2).
    let mut s = server.connect();
    s.write_all(
        b"HEAD /healthz HTTP/1.1\r\nHost: h\r\n\r\nGET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let head = read_response(&mut s, true).unwrap();
    assert_eq!((head.status, head.header("content-length")), (200, Some("3")));
    assert_eq!(read_response(&mut s, false).unwrap().text(), "ok\n");
}

#[test]
fn proxy_locations_share_an_upstream_group_by_name() {
    let upstream = echo_upstream();
    let site = Site::new("actions-proxy", &[]);
    site.config(&format!(
        r#"
root = "@"
[upstream.echo]
servers = ["{upstream}"]

[[server]]
names = ["p.example"]
[[server.location]]
path = "/api/"
proxy = "http://echo/v1/"
[[server.location]]
path = "= /exact"
proxy = "http://{upstream}"

[[server]]
names = ["q.example"]
[[server.location]]
path = "/"
proxy = "http://echo"
"#
    ));
    let server = site.start(&[]);
    let resp = get(&server, "p.example", "/api/users?x=1");
    assert_eq!((resp.status, resp.text().as_str()), (200, "GET /v1/users?x=1 HTTP/1.1\nhost p.example\n"));
    assert_eq!(get(&server, "p.example", "/exact").text(), "GET /exact HTTP/1.1\nhost p.example\n");
    // The prefix without its slash: a 301 to it, as nginx does for proxies.
    let resp = get(&server, "p.example", "/api?v=2");
    assert_eq!((resp.status, resp.header("location")), (301, Some("/api/?v=2")));
    // Not a location of p.example: its root (the top-level one) has no such file.
    assert_eq!(get(&server, "p.example", "/other").status, 404);
    assert_eq!(get(&server, "q.example", "/other").text(), "GET /other HTTP/1.1\nhost q.example\n");
}

#[test]
fn cgi_locations_run_programs_with_their_servers_document_root() {
    let site = Site::new("actions-cgi", &["croot", "bin"]);
    site.write(
        "bin/env.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho \"$SCRIPT_NAME|$PATH_INFO|$DOCUMENT_ROOT|$SERVER_NAME\"\n",
    );
    std::fs::set_permissions(site.path("bin/env.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    site.config(
        r#"
[[server]]
names = ["c.example"]
root = "@/croot"
[[server.location]]
path = "/cgi-bin/"
cgi = "@/bin"
"#,
    );
    let server = site.start(&[]);
    let root = site.path("croot").canonicalize().unwrap();
    let resp = get(&server, "c.example", "/cgi-bin/env.sh/extra");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), format!("/cgi-bin/env.sh|/extra|{}|c.example\n", root.display()));
    assert_eq!(get(&server, "c.example", "/cgi-bin").header("location"), Some("/cgi-bin/"));
    assert_eq!(get(&server, "c.example", "/cgi-bin/missing.sh").status, 404);
}
