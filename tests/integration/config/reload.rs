//! Operating it: SIGHUP reloads the configuration without closing a
//! connection, a bad file is refused and the old one kept; SIGUSR1 reopens
//! the access log.

use super::*;

const CONFIG: &str = r#"
access_log = "@/access.log"
[[server]]
root = "@/www"
[[server.location]]
path = "/v"
respond = "BODY"
"#;

fn write_config(site: &Site, body: &str) {
    site.config(&CONFIG.replace("BODY", &body.replace('\n', "\\n")));
}

/// GET /v on a kept-alive connection; the body.
fn version(s: &mut std::net::TcpStream) -> String {
    write!(s, "GET /v HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    read_response(s, false).unwrap().text()
}

/// Wait until a fresh connection sees `want`.
fn wait_for(server: &Server, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while get(server, "h", "/v").text() != want {
        assert!(std::time::Instant::now() < deadline, "the reload never showed {want:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reloads_routes_and_keeps_connections_open() {
    let site = Site::new("reload-routes", &["www"]);
    write_config(&site, "one\n");
    let server = site.start(&[]);
    let mut kept = server.connect();
    assert_eq!(version(&mut kept), "one\n");

    write_config(&site, "two\n");
    signal(server.pid(), libc::SIGHUP);
    wait_for(&server, "two\n");
    // The connection opened before the reload is still open, and its next
    // request is routed by the new table.
    assert_eq!(version(&mut kept), "two\n");

    // A broken file is refused; the running configuration stays.
    site.config("[[server]]\nroot = \"@/www\"\nno_such_key = 1\n");
    signal(server.pid(), libc::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !server.stderr.lock().unwrap().iter().any(|l| l.contains("refused, the old one stays")) {
        assert!(std::time::Instant::now() < deadline, "no word of the refused file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let said = server.stderr.lock().unwrap().join("\n");
    assert!(said.contains("no_such_key"), "the refusal says why: {said}");
    assert_eq!(version(&mut kept), "two\n");
    assert_eq!(get(&server, "h", "/v").text(), "two\n");
}

#[test]
fn ten_reloads_under_load_fail_no_request() {
    let site = Site::new("reload-load", &["www"]);
    site.write("www/index.html", &"x".repeat(1024));
    write_config(&site, "v0\n");
    // Two workers, each reloading on its own.
    let args: Vec<String> = ["--config", &site.path("wired.toml").display().to_string(), "--listen", "127.0.0.1:0"]
        .iter()
        .map(|s| s.to_string())
        .chain(["--workers".to_string(), "2".to_string()])
        .collect();
    let server = Server::start_args(&site.tree.0, &args, None);
    let url = format!("http://{}/index.html", server.addr);
    let mut wrk = std::process::Command::new("wrk");
    wrk.args(["-t2", "-c32", "-d4s", &url]);
    let load = std::thread::spawn(move || run_bounded(&mut wrk, Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(300));
    for i in 1..=10 {
        write_config(&site, &format!("v{i}\n"));
        signal(server.pid(), libc::SIGHUP);
        wait_for(&server, &format!("v{i}\n"));
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = load.join().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("wrk during ten reloads:\n{report}");
    assert!(out.status.success(), "wrk: {report}");
    let requests: u64 = report
        .lines()
        .find_map(|l| l.trim().split_once(" requests in ").map(|(n, _)| n.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    assert!(requests > 1000, "wrk made too few requests to mean anything: {report}");
    // wrk prints these lines only when something failed.
    assert!(!report.contains("Socket errors"), "connections failed during the reloads: {report}");
    assert!(!report.contains("Non-2xx"), "requests failed during the reloads: {report}");
    let reloads = server.stderr.lock().unwrap().iter().filter(|l| l.contains("configuration reloaded")).count();
    assert!(reloads >= 10, "{reloads} reloads said");
}

#[test]
fn sigusr1_reopens_the_access_log() {
    let site = Site::new("reopen-log", &["www"]);
    write_config(&site, "hi\n");
    let server = site.start(&[]);
    assert_eq!(get(&server, "h", "/v?before").status, 200);
    // logrotate's way: move the file, then tell the server.
    let log = site.path("access.log");
    let wait_for_line = |path: &std::path::Path, want: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(want) {
                return text;
            }
            assert!(std::time::Instant::now() < deadline, "{want:?} never reached {}: {text:?}", path.display());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for_line(&log, "/v?before");
    let rotated = site.path("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    signal(server.pid(), libc::SIGUSR1);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !log.exists() {
        assert!(std::time::Instant::now() < deadline, "the log was not reopened");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(&server, "h", "/v?after").status, 200);
    let fresh = wait_for_line(&log, "/v?after");
    assert!(!fresh.contains("/v?before"), "{fresh}");
    assert!(!std::fs::read_to_string(&rotated).unwrap().contains("/v?after"));
}
