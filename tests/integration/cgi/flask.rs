//! A Flask application as a CGI program, through the standard library's
//! `wsgiref.handlers.CGIHandler`: routed by PATH_INFO, reading a form,
//! answering JSON.

use super::*;

/// Serve the Flask app as `/app.py`; its shebang names the interpreter pip
/// installed Flask into.
fn start_flask(name: &str) -> (Site, Server) {
    let out = Command::new(python()).args(["-c", "import flask"]).output().unwrap();
    assert!(out.status.success(), "Flask is needed by the CGI tests (tests/install-deps.sh)");
    let site = site(name);
    let apps = site.dir.join("apps");
    fs::create_dir(&apps).unwrap();
    install(&sources().join("flask_app.py"), &apps.join("app.py"), 0o755);
    let mount = format!("/={}", apps.display());
    let server = start(&site, &["--cgi", &mount]);
    (site, server)
}

#[test]
fn a_flask_route_answers_json_by_path_info() {
    let (_site, server) = start_flask("flask-json");
    let r = get(&server, "/app.py/users/7");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let compact: String = r.text().chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(compact, r#"{"id":7}"#);
    let r = get(&server, "/app.py/users/seven");
    assert_eq!(r.status, 404, "Flask's own 404 passes through");
}

#[test]
fn a_flask_form_post() {
    let (_site, server) = start_flask("flask-form");
    let body = "name=wired+%26+co";
    let r = exchange(
        &server,
        format!(
            "POST /app.py/greet HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "hello, wired & co\n");
    assert_no_zombies(&server);
}

/// Regression for round 1, finding 1b: Werkzeug saw
/// `HTTP_TRANSFER_ENCODING=chunked` beside an exact `CONTENT_LENGTH`, decoded
/// the already-decoded stdin again, and read an empty body.
#[test]
fn a_chunked_upload_reaches_flask_whole() {
    let (_site, server) = start_flask("flask-chunked");
    chunked_uploads_arrive_whole(&server, "/app.py/echo");
    assert_no_zombies(&server);
}
