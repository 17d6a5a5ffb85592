//! What a location adds around its action: `add_header`, CORS, basic
//! auth, `access`, `try_files`, `max_body_bytes`.

use super::*;

/// A request with extra header lines, on a new connection.
fn request(server: &Server, method: &str, target: &str, extra: &str) -> Response {
    let mut s = server.connect();
    write!(s, "{method} {target} HTTP/1.1\r\nHost: h\r\n{extra}Connection: close\r\n\r\n").unwrap();
    read_response(&mut s, method == "HEAD").unwrap()
}

#[test]
fn add_header_on_success_and_with_always_on_errors() {
    let site = Site::new("rules-headers", &["www"]);
    site.write("www/page.html", "page\n");
    site.config(
        r#"
[[server]]
root = "@/www"
[[server.location]]
path = "/"
add_header = { "X-Frame-Options" = "DENY", "Cache-Control" = "no-store" }
[[server.location]]
path = "/always/"
respond = "x"
add_header = { "X-Policy" = "strict" }
add_header_always = true
status = 418
"#,
    );
    let server = site.start(&[]);
    let ok = request(&server, "GET", "/page.html", "");
    assert_eq!(
        (ok.status, ok.header("x-frame-options"), ok.header("cache-control")),
        (200, Some("DENY"), Some("no-store"))
    );
    // nginx's rule: not on errors, unless `always`.
    let missing = request(&server, "GET", "/nope.html", "");
    assert_eq!((missing.status, missing.header("x-frame-options")), (404, None));
    let teapot = request(&server, "GET", "/always/", "");
    assert_eq!((teapot.status, teapot.header("x-policy")), (418, Some("strict")));
}

#[test]
fn cors_preflights_and_responses_follow_the_fetch_standard() {
    let site = Site::new("rules-cors", &["www"]);
    site.write("www/api/data.json", "{}\n");
    site.config(
        r#"
[[server]]
root = "@/www"
[[server.location]]
path = "/api/"
cors_origins = ["https://app.example"]
cors_credentials = true
cors_max_age = 600
cors_expose = ["X-Total"]
[[server.location]]
path = "/public/"
respond = "open\n"
cors_origins = ["*"]
"#,
    );
    let server = site.start(&[]);
    let pre = request(
        &server,
        "OPTIONS",
        "/api/data.json",
        "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type, x-token\r\n",
    );
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(pre.header("access-control-allow-methods"), Some("PUT"));
    assert_eq!(pre.header("access-control-allow-headers"), Some("content-type, x-token"));
    assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(pre.header("access-control-max-age"), Some("600"));
    // A credentialed answer names the origin, never `*`, and says it varies.
    let get = request(&server, "GET", "/api/data.json", "Origin: https://app.example\r\n");
    assert_eq!(get.status, 200);
    assert_eq!(get.header("access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(get.header("access-control-expose-headers"), Some("X-Total"));
    assert!(get.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("vary") && v.contains("Origin")));
    // Another origin gets no permission (the browser then blocks the read).
    let evil = request(&server, "GET", "/api/data.json", "Origin: https://evil.example\r\n");
    assert_eq!((evil.status, evil.header("access-control-allow-origin")), (200, None));
    let evil_pre = request(
        &server,
        "OPTIONS",
        "/api/data.json",
        "Origin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\n",
    );
    assert_eq!((evil_pre.status, evil_pre.header("access-control-allow-origin")), (204, None));
    // Any origin, without credentials: the wildcard.
    let open = request(&server, "GET", "/public/", "Origin: https://whoever.example\r\n");
    assert_eq!(open.header("access-control-allow-origin"), Some("*"));
    // No Origin: not a CORS request, no CORS fields.
    assert_eq!(request(&server, "GET", "/public/", "").header("access-control-allow-origin"), None);
}

/// An htpasswd file with `ann:secret` and `bob:hunter2`, bcrypt at cost 4
/// (the fastest; real files use 10 or more).
fn htpasswd(site: &Site) {
    let ann = bcrypt::hash("secret", 4).unwrap();
    let bob = bcrypt::hash("hunter2", 4).unwrap().replacen("$2b$", "$2y$", 1);
    site.write("htpasswd", &format!("# users\nann:{ann}\n\nbob:{bob}\n"));
}

fn basic(user_pass: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in user_pass.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Authorization: Basic {out}\r\n")
}

#[test]
fn basic_auth_asks_then_admits_the_right_password_only() {
    let site = Site::new("rules-auth", &["www/admin"]);
    site.write("www/admin/index.html", "admin page\n").write("www/index.html", "public\n");
    htpasswd(&site);
    site.config(
        r#"
[[server]]
root = "@/www"
[[server.location]]
path = "/admin/"
auth_basic = "Staff only"
auth_basic_user_file = "@/htpasswd"
cors_origins = ["https://app.example"]
"#,
    );
    let server = site.start(&[]);
    let none = request(&server, "GET", "/admin/", "");
    assert_eq!(none.status, 401);
    // RFC 7617 §2: the challenge, with the realm and the charset.
    assert_eq!(none.header("www-authenticate"), Some("Basic realm=\"Staff only\", charset=\"UTF-8\""));
    for wrong in ["ann:wrong", "carol:secret", "ann", "bob:secret"] {
        assert_eq!(request(&server, "GET", "/admin/", &basic(wrong)).status, 401, "{wrong}");
    }
    let ok = request(&server, "GET", "/admin/", &basic("ann:secret"));
    assert_eq!((ok.status, ok.text().as_str()), (200, "admin page\n"));
    // `$2y$` (Apache's) hashes are read too; and the second time is remembered.
    assert_eq!(request(&server, "GET", "/admin/", &basic("bob:hunter2")).status, 200);
    assert_eq!(request(&server, "GET", "/admin/", &basic("bob:hunter2")).status, 200);
    assert_eq!(request(&server, "GET", "/admin/", "Authorization: Bearer abc\r\n").status, 401);
    // A preflight carries no credentials and is answered anyway.
    let pre =
        request(&server, "OPTIONS", "/admin/", "Origin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n");
    assert_eq!(pre.status, 204);
    // Other paths are not protected.
    assert_eq!(request(&server, "GET", "/", "").status, 200);
}

#[test]
fn weak_password_files_are_refused_at_startup() {
    let site = Site::new("rules-auth-md5", &["www"]);
    site.write("htpasswd", "ann:$apr1$abcdefgh$0123456789abcdefghijkl\n");
    let path = site.config(
        r#"
[[server]]
root = "@/www"
[[server.location]]
path = "/"
auth_basic = "x"
auth_basic_user_file = "@/htpasswd"
"#,
    );
    let (code, _, err) = check_config(&["--config", &path.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not bcrypt") && err.contains("htpasswd -B"), "{err}");
}

#[test]
fn access_rules_allow_and_deny_by_address() {
    let site = Site::new("rules-access", &["www"]);
    site.write("www/index.html", "hi\n");
    site.config(
        r#"
[[server]]
root = "@/www"
[[server.location]]
path = "/local/"
respond = "local\n"
access = ["allow 127.0.0.0/8", "deny all"]
[[server.location]]
path = "/remote/"
respond = "remote\n"
access = ["deny 127.0.0.1", "allow all"]
"#,
    );
    let server = site.start(&[]);
    assert_eq!(request(&server, "GET", "/local/", "").status, 200);
    assert_eq!(request(&server, "GET", "/remote/", "").status, 403);
    assert_eq!(request(&server, "GET", "/", "").status, 200);
}

#[test]
fn try_files_serves_the_file_else_falls_back() {
    let site = Site::new("rules-try-files", &["www/app/assets", "www/app/docs"]);
    site.write("www/app/index.html", "the single-page app\n")
        .write("www/app/assets/app.js", "js\n")
        .write("www/app/docs/index.html", "docs\n");
    site.config(
        r#"
[[server]]
root = "@/www"
[[server.location]]
path = "/app/"
try_files = ["$uri", "$uri/", "/app/index.html"]
[[server.location]]
path = "/strict/"
try_files = ["$uri", "=410"]
[[server.location]]
path = "/old/"
try_files = ["$uri", "/moved?from=$uri"]
[[server.location]]
path = "/moved"
respond = "moved here\n"
"#,
    );
    let server = site.start(&[]);
    let text = |target: &str| {
        let r = request(&server, "GET", target, "");
        (r.status, r.text())
    };
    assert_eq!(text("/app/assets/app.js"), (200, "js\n".into()));
    // A route of the app, no such file: the app's page answers it.
    assert_eq!(text("/app/users/42"), (200, "the single-page app\n".into()));
    // `$uri/`: a directory is served as one (its index).
    assert_eq!(text("/app/docs/"), (200, "docs\n".into()));
    assert_eq!(text("/strict/nothing"), (410, text("/strict/nothing").1));
    // The fallback URI is routed again, to another location.
    assert_eq!(text("/old/page"), (200, "moved here\n".into()));
}

#[test]
fn a_location_limits_its_request_bodies() {
    let site = Site::new("rules-body", &["www"]);
    site.config(
        r#"
[[server]]
root = "@/www"
[[server.location]]
path = "/small/"
respond = "ok\n"
max_body_bytes = 10
[[server.location]]
path = "/big/"
respond = "ok\n"
"#,
    );
    let server = site.start(&[]);
    let post = |path: &str, n: usize| {
        let mut s = server.connect();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n{}",
            "x".repeat(n)
        )
        .unwrap();
        read_response(&mut s, false).unwrap().status
    };
    assert_eq!(post("/small/", 10), 200);
    assert_eq!(post("/small/", 11), 413);
    assert_eq!(post("/big/", 11), 200);
}
