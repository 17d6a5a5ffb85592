//! PHP through php-cgi (`--cgi-ext .php=/usr/bin/php-cgi`): what a PHP
//! program reads from the environment and stdin, and what its header
//! functions turn into.

use super::*;

fn php_cgi() -> String {
    let out = Command::new("sh").args(["-c", "command -v php-cgi"]).output().unwrap();
    let path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(!path.is_empty(), "php-cgi is needed by the CGI tests (tests/install-deps.sh)");
    path
}

fn start_php(name: &str) -> (Site, Server) {
    let site = site(name);
    let ext = format!(".php={}", php_cgi());
    let server = start(&site, &["--cgi-ext", &ext]);
    (site, server)
}

#[test]
fn get_parameters_reach_get() {
    let (_site, server) = start_php("php-get");
    let r = get(&server, "/get.php?a=1&b[]=two&b[]=3&c=%C3%A9t%C3%A9");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"{"a":"1","b":["two","3"],"c":"\u00e9t\u00e9"}"#);
}

#[test]
fn a_form_post_reaches_post() {
    let (_site, server) = start_php("php-post");
    let body = "name=Ada+Lovelace&lang=en&empty=";
    let r = exchange(
        &server,
        format!(
            "POST /post.php HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"method":"POST","post":{"name":"Ada Lovelace","lang":"en","empty":""}}"#);
}

#[test]
fn a_multipart_upload_reaches_files_intact() {
    let (site, server) = start_php("php-upload");
    // 300 kB of bytes every value of which occurs, and the MD5 the client knows.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let file = site.dir.join("upload.bin");
    fs::write(&file, &data).unwrap();
    let md5 = Command::new("md5sum").arg(&file).output().unwrap();
    let md5 = String::from_utf8(md5.stdout).unwrap().split_whitespace().next().unwrap().to_string();
    let boundary = "----wired-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi there\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut request = format!(
        "POST /upload.php HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let r = exchange(&server, &request);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), format!(r#"{{"name":"data.bin","error":0,"size":300000,"md5":"{md5}","note":"hi there"}}"#));
}

#[test]
fn setcookie_becomes_set_cookie() {
    let (_site, server) = start_php("php-cookie");
    let r = get(&server, "/cookie.php");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("set-cookie"), Some("flavour=oatmeal; path=/; HttpOnly"));
    assert_eq!(r.text(), "cookie set\n");
}

#[test]
fn header_location_redirects() {
    let (_site, server) = start_php("php-location");
    let r = get(&server, "/location.php");
    assert_eq!(r.status, 302, "PHP says Status: 302 itself, so the client is redirected");
    assert_eq!(r.header("location"), Some("/x"));
}

#[test]
fn http_response_code_sets_the_status() {
    let (_site, server) = start_php("php-teapot");
    let r = get(&server, "/teapot.php");
    assert_eq!(r.status, 418);
    assert_eq!(r.text(), "short and stout\n");
    assert_no_zombies(&server);
}

/// A chunked upload, read with `file_get_contents('php://input')`.
#[test]
fn a_chunked_upload_reaches_php_input_whole() {
    let (_site, server) = start_php("php-chunked");
    chunked_uploads_arrive_whole(&server, "/echo.php");
}
