//! Three more application servers behind `wired --proxy`, each as its users
//! run it: uvicorn with a plain ASGI application on a unix socket, puma
//! with a Sinatra application, and a server on Node.js's `http` module.

use super::*;

/// uvicorn serving `asgi_app.py` on a unix socket in its own directory.
struct Uvicorn {
    _proc: ChildGuard,
    socket: PathBuf,
    _dir: TempTree,
}

impl Uvicorn {
    fn start() -> Uvicorn {
        let dir = TempTree::new("uvicorn");
        let socket = dir.join("uvicorn.sock");
        let mut cmd = Command::new(python());
        cmd.args(["-m", "uvicorn", "--no-access-log", "--uds"])
            .arg(&socket)
            .arg("--app-dir")
            .arg(fixtures())
            .arg("asgi_app:app");
        let proc = ChildGuard::spawn("uvicorn", cmd);
        let ready = wait_for_unix_socket(&socket, Duration::from_secs(20));
        assert!(ready, "uvicorn never accepted on {}: {:#?}", socket.display(), proc.output());
        Uvicorn { _proc: proc, socket, _dir: dir }
    }
}

/// puma serving the Sinatra application, on an ephemeral port.
fn puma() -> (ChildGuard, u16) {
    let mut cmd = Command::new("puma");
    cmd.args(["--bind", "tcp://127.0.0.1:0", "--environment", "production"]).arg(fixtures().join("sinatra/config.ru"));
    let mut proc = ChildGuard::spawn("puma", cmd);
    // "* Listening on http://127.0.0.1:PORT"
    let port = proc.wait_for_line(Duration::from_secs(20), |l| {
        l.split("Listening on http://127.0.0.1:").nth(1)?.trim().parse().ok()
    });
    (proc, port)
}

/// `node_server.js`, on an ephemeral port.
fn node() -> (ChildGuard, u16) {
    let mut cmd = Command::new("node");
    cmd.arg(fixtures().join("node_server.js"));
    let mut proc = ChildGuard::spawn("node", cmd);
    let port = proc.wait_for_line(Duration::from_secs(10), |l| l.strip_prefix("PORT ")?.parse().ok());
    (proc, port)
}

/// wired proxying its whole site to `url`, with `extra`.
fn proxy_to(url: &str, extra: &[&str]) -> (TempTree, Server) {
    let root = plain_root("app-servers");
    let site = format!("/={url}");
    let mut args = vec!["--proxy", &site];
    args.extend_from_slice(extra);
    let server = wired(&root.0, &args);
    (root, server)
}

/// POST `body` to `/echo`, on an open connection, with a length or chunked.
fn post_echo(s: &mut Client, body: &str, chunked: bool) -> Response {
    let request = if chunked {
        format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )
    } else {
        format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}", body.len())
    };
    roundtrip(s, &request)
}

/// Both framings of a request body reach the application's `/echo` whole,
/// and the connection stays in step.
fn echo_both_ways(server: &Server, app: &str) {
    let mut s = connect(server);
    for chunked in [false, true] {
        let body = format!("a body for {app}, chunked: {chunked}");
        let r = post_echo(&mut s, &body, chunked);
        assert_eq!((r.status, r.text()), (200, body.clone()), "{app}, chunked: {chunked}");
        assert_eq!(r.header("x-echo-length"), Some(body.len().to_string().as_str()), "{app}");
    }
}

#[test]
fn uvicorn_on_a_unix_socket_answers_through_the_proxy() {
    let app = Uvicorn::start();
    let (_root, server) = proxy_to(&format!("http://unix:{}:/", app.socket.display()), &[]);
    let mut s = connect(&server);
    let r = get_on(&mut s, "/");
    assert_eq!((r.status, r.text().as_str()), (200, "hello from asgi\n"));
    assert_eq!(get_on(&mut s, "/nope").status, 404);
    echo_both_ways(&server, "uvicorn");
}

#[test]
fn uvicorn_s_streamed_response_is_chunked_for_http_1_1_and_closed_for_http_1_0() {
    if crate::h2_shim::h1_only(
        "a body of unknown length framed for HTTP/1.1 (chunked) or HTTP/1.0 (the close) is HTTP/1.1's matter; over HTTP/2 it is DATA frames (upstream::http2 checks them)",
    ) {
        return;
    }
    let app = Uvicorn::start();
    let (_root, server) = proxy_to(&format!("http://unix:{}:/", app.socket.display()), &[]);
    let body = "asgi part 0\nasgi part 1\nasgi part 2\nasgi part 3\n";
    let mut s = connect(&server);
    let r = get_on(&mut s, "/stream");
    assert_eq!((r.status, r.text().as_str()), (200, body));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(get_on(&mut s, "/").status, 200, "in step after the chunked body");
    let all = server.raw(b"GET /stream HTTP/1.0\r\nHost: t\r\n\r\n");
    let text = String::from_utf8_lossy(&all);
    let (head, got) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{text}"));
    assert!(!head.to_ascii_lowercase().contains("chunked"), "chunked to an HTTP/1.0 client: {head}");
    assert_eq!(got, body, "the body, ended by the close");
}

#[test]
fn a_named_upstream_may_be_a_unix_socket_and_the_prefix_is_replaced() {
    let app = Uvicorn::start();
    let group = format!("asgi=unix:{}", app.socket.display());
    let (_root, server) = proxy_to("http://asgi/", &["--upstream", &group]);
    let root = plain_root("asgi-prefix");
    let prefixed = wired(&root.0, &["--upstream", &group, "--proxy", "/py/=http://asgi/"]);
    assert_eq!(get(&server, "/").text(), "hello from asgi\n");
    let r = get(&prefixed, "/py/headers?x=1");
    assert_eq!(r.text().lines().next(), Some("GET /headers?x=1"), "the path the application saw");
    let fields = fields_of(&r.text());
    assert_forwarding_fields(&fields, "t", None);
    assert_eq!(field(&fields, "host").as_deref(), Some("t"));
}

#[test]
fn puma_and_sinatra_answer_get_and_post() {
    let (_puma, port) = puma();
    let (_root, server) = proxy_to(&format!("http://127.0.0.1:{port}"), &[]);
    let r = get(&server, "/");
    assert_eq!((r.status, r.text().as_str()), (200, "hello from sinatra\n"));
    assert_eq!(r.header("content-type"), Some("text/plain;charset=utf-8"));
    assert_eq!(get(&server, "/nope").status, 404, "Sinatra's own 404");
    echo_both_ways(&server, "puma");
}

#[test]
fn sinatra_sees_the_host_chosen_and_the_forwarding_fields() {
    let (_puma, port) = puma();
    let (_root, server) = proxy_to(&format!("http://127.0.0.1:{port}"), &["--proxy-host", "upstream"]);
    let mut s = connect(&server);
    let r = roundtrip(&mut s, &request_with_hop_by_hop("/headers?a=b", "ruby.example"));
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert_eq!(text.lines().next(), Some("GET /headers?a=b"));
    let fields = fields_of(&text);
    assert_eq!(field(&fields, "host"), Some(format!("127.0.0.1:{port}")), "--proxy-host upstream");
    assert_forwarding_fields(&fields, "ruby.example", Some("203.0.113.7"));
    assert_no_hop_by_hop(&fields, &["x-hop"]);
}

#[test]
fn node_answers_json_streams_and_echoes_a_body() {
    let (_node, port) = node();
    let (_root, server) = proxy_to(&format!("http://127.0.0.1:{port}"), &[]);
    let mut s = connect(&server);
    let r = get_on(&mut s, "/json?q=wired");
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"runtime":"node","query":"wired"}"#));
    // Node says Keep-Alive: timeout=5 to its own client, wired: not to ours.
    assert!(r.header("keep-alive").is_none(), "Keep-Alive is hop-by-hop");
    let r = get_on(&mut s, "/stream");
    assert_eq!(r.text(), "node part 0\nnode part 1\nnode part 2\nnode part 3\n");
    echo_both_ways(&server, "node");
}

#[test]
fn node_sees_one_via_and_no_hop_by_hop_field() {
    let (_node, port) = node();
    let (_root, server) = proxy_to(&format!("http://127.0.0.1:{port}"), &[]);
    let mut s = connect(&server);
    let r = roundtrip(&mut s, &request_with_hop_by_hop("/headers", "node.example"));
    let text = r.text();
    assert_eq!(text.lines().next(), Some("GET /headers HTTP/1.1"), "HTTP/1.1 to the upstream");
    let fields = fields_of(&text);
    assert_no_hop_by_hop(&fields, &["x-hop"]);
    assert_forwarding_fields(&fields, "node.example", Some("203.0.113.7"));
    assert_eq!(fields.iter().filter(|(n, _)| n == "via").count(), 1, "one Via field: {fields:#?}");
    assert_eq!(field(&fields, "x-end-to-end").as_deref(), Some("kept"));
}
