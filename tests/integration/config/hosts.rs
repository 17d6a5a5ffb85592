//! Which server answers (RFC 9110 §7.2: the host the request names) and
//! which of its locations (nginx's precedence: exact, then longest prefix).

use super::*;

const SERVERS: &str = r#"
root = "@"

[[server]]
names = ["a.example"]
[[server.location]]
path = "/"
respond = "exact name a.example"

[[server]]
names = ["*.example"]
[[server.location]]
path = "/"
respond = "wildcard *.example"

[[server]]
names = ["*.b.example", "c.example"]
[[server.location]]
path = "/"
respond = "wildcard *.b.example"

[[server]]
names = ["fallback.example"]
default = true
[[server.location]]
path = "/"
respond = "the default server"
"#;

#[test]
fn servers_by_exact_name_then_longest_wildcard_then_default() {
    let site = Site::new("hosts-names", &[]);
    site.config(SERVERS);
    let server = site.start(&[]);
    for (host, want) in [
        ("a.example", "exact name a.example"),
        ("A.Example", "exact name a.example"),
        ("x.example", "wildcard *.example"),
        ("x.y.example", "wildcard *.example"),
        ("x.b.example", "wildcard *.b.example"),
        ("c.example", "wildcard *.b.example"),
        // A wildcard covers subdomains, not the domain itself.
        ("example", "the default server"),
        ("fallback.example", "the default server"),
        ("unknown.test", "the default server"),
        ("127.0.0.1", "the default server"),
    ] {
        let resp = get(&server, host, "/");
        assert_eq!((resp.status, resp.text().as_str()), (200, want), "Host: {host}");
    }
}

#[test]
fn a_port_and_a_final_dot_do_not_change_the_host() {
    let site = Site::new("hosts-port", &[]);
    site.config(SERVERS);
    let server = site.start(&[]);
    for host in ["a.example:8080", "a.example.", "a.example.:80"] {
        assert_eq!(get(&server, host, "/").text(), "exact name a.example", "Host: {host}");
    }
}

#[test]
fn an_absolute_form_target_names_the_host_whatever_host_says() {
    // RFC 9112 §3.2.2: the authority of an absolute-form target wins, and
    // the Host field is ignored.
    let site = Site::new("hosts-absolute", &[]);
    site.config(SERVERS);
    let server = site.start(&[]);
    assert_eq!(get(&server, "unknown.test", "http://a.example/x").text(), "exact name a.example");
    assert_eq!(get(&server, "a.example", "http://z.example:8080/").text(), "wildcard *.example");
}

#[test]
fn a_request_without_host_goes_to_the_default_server() {
    let site = Site::new("hosts-none", &[]);
    site.config(SERVERS);
    let server = site.start(&[]);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "the default server");
}

#[test]
fn locations_exact_first_then_longest_prefix_whatever_the_file_order() {
    let site = Site::new("hosts-locations", &[]);
    site.config(
        r#"
root = "@"
[[server]]
[[server.location]]
path = "/"
respond = "/"
[[server.location]]
path = "/a/"
respond = "/a/"
[[server.location]]
path = "/exact"
respond = "prefix /exact"
[[server.location]]
path = "/a/b/"
respond = "/a/b/"
[[server.location]]
path = "= /exact"
respond = "= /exact"
"#,
    );
    let server = site.start(&[]);
    for (path, want) in [
        ("/exact", "= /exact"),
        ("/exact?q=1", "= /exact"),
        ("/exactly", "prefix /exact"),
        ("/exact/x", "prefix /exact"),
        ("/a/b/c", "/a/b/"),
        ("/a/c", "/a/"),
        // Matched after normalization (RFC 3986 §5.2.4, %-decoding).
        ("/a/x/../b/%63", "/a/b/"),
        // Not a location that passes requests on: no redirect to /a/.
        ("/a", "/"),
        ("/", "/"),
    ] {
        assert_eq!(get(&server, "h", path).text(), want, "{path}");
    }
}
