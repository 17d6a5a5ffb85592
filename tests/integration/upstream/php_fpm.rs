//! PHP through php-fpm (`--fastcgi .php=unix:…`): each test starts its own
//! php-fpm, in the foreground, with a pool file of its own
//! (`tests/upstream/php-fpm.conf`) listening on a unix socket in its
//! temporary directory, and stops it by PID. The scripts are
//! `tests/upstream/php/`.

use std::os::unix::fs::MetadataExt;

use super::*;

/// php-fpm's binary: `php-fpm` on the PATH, else Debian's versioned
/// `/usr/sbin/php-fpmX.Y` (the newest).
fn php_fpm_binary() -> PathBuf {
    let out = Command::new("sh").args(["-c", "command -v php-fpm"]).output().unwrap();
    let on_path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    if !on_path.is_empty() {
        return PathBuf::from(on_path);
    }
    let mut versioned: Vec<PathBuf> =
        fs::read_dir("/usr/sbin").map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect()).unwrap_or_default();
    versioned.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("php-fpm")));
    versioned.sort();
    versioned.pop().expect("php-fpm is needed by the upstream tests (tests/install-deps.sh)")
}

/// A running php-fpm: its directory holds the pool file, the socket and
/// the pid file.
struct PhpFpm {
    proc: Option<ChildGuard>,
    dir: PathBuf,
    socket: PathBuf,
}

impl PhpFpm {
    fn start(dir: &Path) -> PhpFpm {
        fs::create_dir_all(dir).unwrap();
        let template = fs::read_to_string(fixtures().join("php-fpm.conf")).unwrap();
        fs::write(dir.join("php-fpm.conf"), template.replace("@DIR@", &dir.display().to_string())).unwrap();
        let mut fpm = PhpFpm { proc: None, dir: dir.to_path_buf(), socket: dir.join("php-fpm.sock") };
        fpm.run();
        fpm
    }

    /// Start (again) with the same pool file; wait until the socket accepts.
    fn run(&mut self) {
        let mut cmd = Command::new(php_fpm_binary());
        cmd.args(["--nodaemonize", "--force-stderr", "--fpm-config"])
            .arg(self.dir.join("php-fpm.conf"))
            .arg("--prefix")
            .arg(&self.dir);
        // As root php-fpm refuses to start unless told it may (and, with no
        // pool user set, its workers then run as root too).
        if fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
            cmd.arg("--allow-to-run-as-root");
        }
        let proc = ChildGuard::spawn("php-fpm", cmd);
        let ready = wait_for_unix_socket(&self.socket, Duration::from_secs(10));
        assert!(ready, "php-fpm never accepted on {}: {:#?}", self.socket.display(), proc.output());
        self.proc = Some(proc);
    }

    /// Stop it (SIGTERM to its process group, by PID) and wait for the exit.
    fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.stop();
        }
    }

    /// `unix:/…/php-fpm.sock`, as `--fastcgi` and `--upstream` take it.
    fn addr(&self) -> String {
        format!("unix:{}", self.socket.display())
    }
}

/// A site: `root/` holds the scripts (and `app/server.php`), `fpm/` php-fpm's
/// files. Fields drop in order: wired, then php-fpm, then the directory.
struct Site {
    server: Server,
    fpm: PhpFpm,
    root: PathBuf,
    _tree: TempTree,
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// php-fpm, and wired with `--fastcgi .php=SOCKET` and `extra`.
fn site(name: &str, extra: &[&str]) -> Site {
    site_with(name, |fpm| vec!["--fastcgi".into(), format!(".php={}", fpm.addr())], extra)
}

/// php-fpm, and wired with the arguments `mount` makes from it, and `extra`.
fn site_with(name: &str, mount: impl Fn(&PhpFpm) -> Vec<String>, extra: &[&str]) -> Site {
    let tree = TempTree::new(&format!("php-fpm-{name}"));
    let root = tree.0.canonicalize().unwrap().join("root");
    copy_tree(&fixtures().join("php"), &root);
    fs::create_dir(root.join("app")).unwrap();
    fs::copy(root.join("server.php"), root.join("app/server.php")).unwrap();
    let fpm = PhpFpm::start(&tree.join("fpm"));
    let mut args = mount(&fpm);
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = wired(&root, &args);
    Site { server, fpm, root, _tree: tree }
}

/// The `NAME=value` lines server.php prints.
fn params_of(r: &Response) -> Vec<(String, String)> {
    assert_eq!(r.status, 200, "{}", r.text());
    r.text().lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn get_parameters_reach_get() {
    let site = site("get", &[]);
    let r = get(&site.server, "/get.php?a=1&b[]=two&b[]=3&c=%C3%A9t%C3%A9");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"{"a":"1","b":["two","3"],"c":"\u00e9t\u00e9"}"#);
}

#[test]
fn a_form_post_reaches_post_with_or_without_100_continue() {
    if crate::h2_shim::h1_only(
        "100 Continue between the client and wired is HTTP/1.1's handshake; the shim's HTTP/2 client sends its body at once",
    ) {
        return;
    }
    let site = site("post", &[]);
    let body = "name=Ada+Lovelace&lang=en&empty=";
    let expected = r#"{"method":"POST","post":{"name":"Ada Lovelace","lang":"en","empty":""}}"#;
    let mut s = connect(&site.server);
    let head = format!(
        "POST /post.php HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    let r = roundtrip(&mut s, &format!("{head}\r\n{body}"));
    assert_eq!((r.status, r.text().as_str()), (200, expected));
    s.write_all(format!("{head}Expect: 100-continue\r\n\r\n").as_bytes()).unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 100, "the client waits for 100 Continue");
    s.write_all(body.as_bytes()).unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, expected));
    assert_eq!(get_on(&mut s, "/get.php?x=1").text(), r#"{"x":"1"}"#, "one 100, and the connection in step");
}

#[test]
fn php_over_h2_gets_its_query_form_and_body_and_says_http2() {
    let site = site("h2", &["--http2"]);
    let plain = site.server.plain_addr.unwrap_or(site.server.addr);
    let curl = |path: &str, args: &[&str], stdin: Option<&[u8]>| {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}"]).args(args);
        cmd.arg(format!("http://{plain}{path}"));
        let out = run_bounded_with_input(&mut cmd, stdin, Duration::from_secs(60));
        assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, said) = text.rsplit_once('\n').unwrap();
        assert_eq!(said, "2 200", "{path}: {body}");
        body.to_string()
    };
    let params = curl("/server.php/extra?q=1", &[], None);
    for want in ["SERVER_PROTOCOL=HTTP/2.0", "REQUEST_METHOD=GET", "QUERY_STRING=q=1", "PATH_INFO=/extra"] {
        assert!(params.lines().any(|l| l == want), "{want} in {params}");
    }
    assert!(!params.contains("HTTP_CONNECTION="), "the secondary connection's own field reached PHP: {params}");
    assert_eq!(curl("/get.php?a=1", &[], None), r#"{"a":"1"}"#);
    let form = curl("/post.php", &["--data", "name=Ada+Lovelace&lang=en&empty="], None);
    assert_eq!(form, r#"{"method":"POST","post":{"name":"Ada Lovelace","lang":"en","empty":""}}"#);
    // 1 MB from stdin, no content-length: FastCGI needs one, so wired spools it.
    let mut data = vec![0u8; 1_000_000];
    Rng(9).fill(&mut data);
    let hashed = curl("/input_sha256.php", &["-T", "-"], Some(&data));
    assert!(hashed.contains(&crate::http2::sha256(&data)), "{hashed}");
}

#[test]
fn a_multipart_upload_from_curl_reaches_files_intact() {
    let site = site("upload", &[]);
    let file = site.fpm.dir.join("upload.bin");
    let mut data = vec![0u8; 1_000_000];
    Rng(7).fill(&mut data);
    fs::write(&file, &data).unwrap();
    let sha = run_bounded(Command::new("sha256sum").arg(&file), Duration::from_secs(10));
    let sha = String::from_utf8(sha.stdout).unwrap().split_whitespace().next().unwrap().to_string();
    let url = format!("http://{}/upload.php", site.server.addr);
    let out = run_bounded(
        Command::new("curl")
            .args(["-sS", "--max-time", "30", "-F", "note=hi there", "-F"])
            .arg(format!("file=@{};filename=data.bin", file.display()))
            .arg(url),
        Duration::from_secs(40),
    );
    assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(r#"{{"name":"data.bin","error":0,"size":1000000,"sha256":"{sha}","note":"hi there"}}"#)
    );
}

#[test]
fn setcookie_gives_one_set_cookie_field_per_cookie() {
    let site = site("cookie", &[]);
    let r = get(&site.server, "/cookie.php");
    assert_eq!(r.status, 200);
    let cookies: Vec<&str> =
        r.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str()).collect();
    assert_eq!(cookies, ["flavour=oatmeal; path=/; HttpOnly", "size=large"]);
    assert_eq!(r.text(), "cookies set\n");
}

#[test]
fn header_redirects_and_script_chosen_statuses_reach_the_client() {
    let site = site("status", &[]);
    let mut s = connect(&site.server);
    let r = get_on(&mut s, "/redirect.php");
    assert_eq!(r.status, 302, "PHP's Status: 302 for a Location");
    assert_eq!(r.header("location"), Some("/get.php?from=redirect"), "a redirect for the client, not a local one");
    for (target, status) in [("/status.php", 418), ("/status.php?line=1", 451), ("/status.php?code=503", 503)] {
        let r = get_on(&mut s, target);
        assert_eq!((r.status, r.text().as_str()), (status, "status from php\n"), "{target}");
        assert_eq!(r.header("x-script"), Some("status.php"), "{target}");
        assert!(r.header("status").is_none(), "{target}: Status is a CGI field, not an HTTP one");
    }
}

#[test]
fn a_10_mb_response_streams_to_the_client_as_php_flushes_it() {
    // stream.php flushes 5 MiB, pauses a second, flushes 5 MiB more, then
    // creates stream.done: the first half must arrive before that file.
    const PIECE: usize = 65536;
    let _turn = big_transfer();
    let site = site("stream", &[]);
    let done = site.root.join("stream.done");
    let mut s = connect(&site.server);
    s.write_all(b"GET /stream.php HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut reader = BufReader::with_capacity(256 * 1024, &mut s);
    let head = read_response(&mut reader, true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"), "PHP sent no length: chunked to the client");
    let (mut total, mut half_before_done) = (0usize, None);
    while let Some(chunk) = next_chunk(&mut reader) {
        for (i, &b) in chunk.iter().enumerate() {
            let expected = b'a' + ((total + i) / PIECE % 26) as u8;
            assert_eq!(b, expected, "byte {} changed on the way", total + i);
        }
        total += chunk.len();
        if half_before_done.is_none() && total >= 80 * PIECE {
            half_before_done = Some(!done.exists());
        }
    }
    assert_eq!(total, 160 * PIECE);
    assert_eq!(half_before_done, Some(true), "the first 5 MiB waited for the script to finish");
    drop(reader);
    assert_eq!(get_on(&mut s, "/get.php?after=1").text(), r#"{"after":"1"}"#, "the connection in step");
}

#[test]
fn a_100_mb_upload_reaches_php_input() {
    const LEN: usize = 100_000_000;
    let _turn = big_transfer();
    let site = site("upload-100mb", &["--max-body-bytes", "200000000"]);
    let (r, sha) = upload(&site.server, "/input_sha256.php", LEN, false);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), format!("{LEN} {sha}\n"), "PHP read other bytes than were sent");
    let peak = peak_rss_kib(site.server.pid());
    eprintln!("wired's peak RSS while sending 100 MB to php-fpm: {peak} KiB");
    assert!(peak < RSS_BOUND_KIB, "wired's peak RSS {peak} KiB");
}

#[test]
fn a_chunked_upload_reaches_php_input_whole() {
    // php-fpm reads no more body than CONTENT_LENGTH says: wired must learn
    // the length of a chunked body before it can pass it on.
    let site = site("upload-chunked", &[]);
    for len in [0, 11, 3_000_000] {
        let (r, sha) = upload(&site.server, "/input_sha256.php", len, true);
        assert_eq!(r.text(), format!("{len} {sha}\n"), "{len} bytes chunked");
    }
}

#[test]
fn a_script_sleeping_past_the_timeout_is_a_504() {
    let site = site("sleep", &["--upstream-header-timeout", "1s"]);
    let mut s = connect(&site.server);
    let started = Instant::now();
    assert_eq!(get_on(&mut s, "/sleep.php?s=4").status, 504);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "504 after {took:?}");
    assert_eq!(get_on(&mut s, "/get.php?a=2").text(), r#"{"a":"2"}"#, "another worker answers on the same connection");
}

#[test]
fn php_fpm_stopped_is_a_502_and_started_again_is_served() {
    let mut site = site("restart", &[]);
    let mut s = connect(&site.server);
    assert_eq!(get_on(&mut s, "/get.php?n=1").status, 200);
    // Stopped while a script runs: its request fails before any response byte.
    s.write_all(b"GET /sleep.php?s=3 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    site.fpm.stop();
    assert_eq!(read_response(&mut s, false).unwrap().status, 502, "the request in flight");
    // Stopped: nothing listens.
    assert_eq!(get_on(&mut s, "/get.php?n=2").status, 502, "php-fpm gone");
    assert_eq!(get_on(&mut s, "/plain.txt").status, 200, "static files are still served");
    // Started again: served at once (a lone server is never marked down).
    site.fpm.run();
    let r = get_on(&mut s, "/get.php?n=3");
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"n":"3"}"#), "after php-fpm came back");
}

#[test]
fn error_log_lines_reach_wired_s_error_log() {
    let site = site("stderr", &[]);
    let r = get(&site.server, "/stderr.php");
    assert_eq!((r.status, r.text().as_str()), (200, "logged\n"), "STDERR records are not the response");
    let line = "wired-test: a line for the error log from stderr.php";
    let started = Instant::now();
    while !site.server.stderr.lock().unwrap().iter().any(|l| l.contains(line)) {
        assert!(started.elapsed() < Duration::from_secs(3), "php's error_log line never reached wired's stderr");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_missing_script_is_a_404_from_wired_itself() {
    let site = site("missing", &[]);
    let mut s = connect(&site.server);
    for target in ["/missing.php", "/missing.php/extra", "/sub/missing.php?x=1"] {
        let r = get_on(&mut s, target);
        assert_eq!(r.status, 404, "{target}");
        assert!(!r.text().contains("File not found."), "{target}: php-fpm was asked");
    }
    let r = get_on(&mut s, "/plain.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "a static file beside the scripts\n"), "not a .php: wired's");
    let said = site.server.stderr.lock().unwrap().join("\n");
    assert!(!said.contains("Primary script unknown"), "php-fpm was asked for a missing script: {said}");
}

#[test]
fn path_info_is_split_after_the_script() {
    let site = site("path-info", &[]);
    let r = roundtrip(
        &mut connect(&site.server),
        "GET /server.php/extra/path?q=1&r=%2F HTTP/1.1\r\nHost: php.example\r\nProxy: http://evil.example/\r\n\r\n",
    );
    let params = params_of(&r);
    let root = site.root.display().to_string();
    let script = format!("{root}/server.php");
    for (name, value) in [
        ("REQUEST_METHOD", Some("GET")),
        ("REQUEST_URI", Some("/server.php/extra/path?q=1&r=%2F")),
        ("QUERY_STRING", Some("q=1&r=%2F")),
        ("SCRIPT_NAME", Some("/server.php")),
        ("SCRIPT_FILENAME", Some(script.as_str())),
        ("PATH_INFO", Some("/extra/path")),
        ("DOCUMENT_ROOT", Some(root.as_str())),
        ("SERVER_PROTOCOL", Some(crate::h2_shim::client_protocol())),
        ("REMOTE_ADDR", Some("127.0.0.1")),
        ("HTTP_HOST", Some("php.example")),
        // httpoxy: a request field must never become the script's proxy.
        ("HTTP_PROXY", None),
        // How PHP learns the page came over TLS (the TLS rerun of this suite).
        ("HTTPS", crate::tls_shim::tls_mode().then_some("on")),
        ("REQUEST_SCHEME", Some(if crate::tls_shim::tls_mode() { "https" } else { "http" })),
    ] {
        assert_eq!(param(&params, name), value, "{name} in {params:#?}");
    }
}

#[test]
fn a_directory_with_index_php_runs_it() {
    let site = site("index", &[]);
    let mut s = connect(&site.server);
    assert_eq!(get_on(&mut s, "/").text(), "index.php of the root\n");
    assert_eq!(get_on(&mut s, "/sub/").text(), "index.php of /sub/\n");
    assert_eq!(get_on(&mut s, "/sub/index.php").text(), "index.php of /sub/\n");
}

#[test]
fn a_prefix_sends_everything_under_it_to_fastcgi() {
    let site = site_with("prefix", |fpm| vec!["--fastcgi".into(), format!("/app/={}", fpm.addr())], &[]);
    let r = get(&site.server, "/app/server.php?x=1");
    let params = params_of(&r);
    let script = format!("{}/app/server.php", site.root.display());
    assert_eq!(param(&params, "SCRIPT_FILENAME"), Some(script.as_str()), "root + path");
    assert_eq!(param(&params, "QUERY_STRING"), Some("x=1"));
    assert_eq!(get(&site.server, "/plain.txt").status, 200, "outside the prefix: wired's own");
}

#[test]
fn fastcgi_through_a_named_upstream() {
    let site = site_with(
        "named",
        |fpm| vec!["--upstream".into(), format!("php={}", fpm.addr()), "--fastcgi".into(), ".php=php".into()],
        &[],
    );
    let r = get(&site.server, "/get.php?via=group");
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"via":"group"}"#));
}

/// The access log's line for the request, waited for (the log is flushed
/// about once a second).
fn access_line(log: &Path, needle: &str) -> String {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(std::time::Instant::now() < until, "no access log line with {needle:?} in {text:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn fastcgi_requests_are_in_the_access_log_with_their_status() {
    let dir = TempTree::new("php-fpm-access-log");
    let log = dir.join("access.log");
    let log_arg = log.display().to_string();
    let site = site("access-log", &["--access-log", &log_arg]);
    assert_eq!(get(&site.server, "/get.php?a=1").status, 200);
    assert_eq!(get(&site.server, "/status.php?code=451").status, 451);
    let proto = crate::h2_shim::client_protocol();
    assert!(access_line(&log, &format!("\"GET /get.php?a=1 {proto}\" 200")).contains("127.0.0.1"));
    access_line(&log, &format!("\"GET /status.php?code=451 {proto}\" 451"));
}

/// The README's two-site configuration, as printed there, with its paths
/// and addresses pointed at this test's: a PHP blog through a real php-fpm
/// and an application behind the proxy (two servers, round robin).
#[test]
fn the_readmes_two_site_configuration_serves_php_and_a_proxied_app() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("## A configuration file").nth(1).expect("the README's configuration section");
    let toml = section.split("```toml\n").nth(1).and_then(|s| s.split("```").next()).expect("a toml block");
    let tree = TempTree::new("php-fpm-readme");
    let blog = tree.0.canonicalize().unwrap().join("blog");
    copy_tree(&fixtures().join("php"), &blog);
    let fpm = PhpFpm::start(&tree.join("fpm"));
    let (one, two) = (crate::config::echo_upstream(), crate::config::echo_upstream());
    let config = toml
        .replace("listen = [\"0.0.0.0:80\"]\n", "")
        .replace("unix:/run/php/php8.2-fpm.sock", &fpm.addr())
        .replace("127.0.0.1:8001", &one.to_string())
        .replace("127.0.0.1:8002", &two.to_string())
        .replace("/srv/blog", &blog.display().to_string());
    for (was, what) in [("0.0.0.0:80", "listen"), ("/run/php", "the socket"), ("8001", "app 1"), ("/srv/blog", "root")]
    {
        assert!(toml.contains(was) && !config.contains(was), "the README's {what} ({was}) was not replaced");
    }
    fs::write(tree.join("wired.toml"), &config).unwrap();
    let config_path = tree.join("wired.toml").display().to_string();
    let args = ["--config", &config_path, "--listen", "127.0.0.1:0", "--workers", "1"].map(String::from);
    let server = Server::start_args(&blog, &args, None);
    let ask = |host: &str, target: &str| {
        let mut s = connect(&server);
        roundtrip(&mut s, &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"))
    };
    let php = ask("blog.example.com", "/get.php?a=1");
    assert_eq!((php.status, php.text().as_str()), (200, r#"{"a":"1"}"#));
    assert_eq!(
        ask("blog.example.com", "/plain.txt").text().trim_end(),
        fs::read_to_string(blog.join("plain.txt")).unwrap().trim_end()
    );
    for host in ["app.example.com", "eu.app.example.com", "unknown.example.org"] {
        let app = ask(host, "/users?page=2");
        assert_eq!((app.status, app.text()), (200, format!("GET /users?page=2 HTTP/1.1\nhost {host}\n")), "{host}");
    }
    assert_eq!(ask("app.example.com", "/healthz").text(), "ok\n");
}

/// The reload tests' configuration: `top` (global keys), then `groups`,
/// then the `php` group and a site sending `.php` to it.
fn write_group_config(tree: &TempTree, fpm: &PhpFpm, root: &Path, top: &str, groups: &str) {
    let text = format!(
        "{top}{groups}[upstream.php]\nservers = [\"{}\"]\n\n[[server]]\nroot = \"{}\"\n[[server.location]]\n\
         path = \"/\"\nfastcgi = \"php\"\nfastcgi_ext = [\".php\"]\n",
        fpm.addr(),
        root.display()
    );
    fs::write(tree.join("wired.toml"), text).unwrap();
}

/// Mid-request: rewrite the configuration with a group named before `php`
/// (and a dead one), which takes `php`'s number 0, reload, and wait for it.
fn reload_with_a_group_before_php(server: &Server, write_config: &dyn Fn(&str)) {
    std::thread::sleep(Duration::from_millis(200));
    write_config("[upstream.aaa]\nservers = [\"unix:/nonexistent/wired-test.sock\"]\n\n");
    signal(server.pid(), libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stderr.lock().unwrap().iter().any(|l| l.contains("configuration reloaded")) {
        assert!(Instant::now() < deadline, "no reload");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
}

/// wired on `tree`'s configuration file, first written with no extra group.
fn start_from_config(tree: &TempTree, root: &Path, write_config: &dyn Fn(&str)) -> Server {
    write_config("");
    let config = tree.join("wired.toml").display().to_string();
    let args = ["--config", &config, "--listen", "127.0.0.1:0", "--workers", "1"].map(String::from);
    Server::start_args(root, &args, None)
}

/// A reload while a chunked upload is being spooled for php-fpm, with a new
/// group that takes the old group's number: the request still goes to the
/// group it was routed to (by name), not to whatever has its number now.
#[test]
fn a_reload_during_a_spooled_upload_keeps_its_upstream_group() {
    let tree = TempTree::new("php-fpm-reload-group");
    let root = tree.0.canonicalize().unwrap().join("root");
    copy_tree(&fixtures().join("php"), &root);
    let fpm = PhpFpm::start(&tree.join("fpm"));
    let write_config = |groups: &str| write_group_config(&tree, &fpm, &root, "", groups);
    let server = start_from_config(&tree, &root, &write_config);

    let mut s = connect(&server);
    s.write_all(b"POST /input_sha256.php HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n")
        .unwrap();
    reload_with_a_group_before_php(&server, &write_config);
    s.write_all(b"6\r\n world\r\n0\r\n\r\n").unwrap();
    let r = read_response(&mut s, false).unwrap();
    // sha256("hello world")
    assert_eq!(
        (r.status, r.text().trim_end()),
        (200, "11 b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
    );
}

/// The same over HTTP/2: the upload's stream is answered by a secondary
/// connection inside the HTTP/2 connection, which a reload must renumber too.
#[test]
fn a_reload_during_an_h2_upload_keeps_its_upstream_group() {
    use crate::http2::{DATA, END_HEADERS, END_STREAM, HEADERS, block, frame, open, until};
    let tree = TempTree::new("php-fpm-reload-group-h2");
    let root = tree.0.canonicalize().unwrap().join("root");
    copy_tree(&fixtures().join("php"), &root);
    let fpm = PhpFpm::start(&tree.join("fpm"));
    let write_config = |groups: &str| write_group_config(&tree, &fpm, &root, "http2 = true\n", groups);
    let server = start_from_config(&tree, &root, &write_config);

    let mut s = open(&server);
    let mut enc = wired_parser::http2::hpack::Encoder::new();
    let head = block(
        &mut enc,
        &[(":method", "POST"), (":scheme", "http"), (":authority", "t"), (":path", "/input_sha256.php")],
    );
    s.write_all(&frame(HEADERS, END_HEADERS, 1, &head)).unwrap();
    s.write_all(&frame(DATA, 0, 1, b"hello")).unwrap();
    reload_with_a_group_before_php(&server, &write_config);
    s.write_all(&frame(DATA, END_STREAM, 1, b" world")).unwrap();
    let mut body = Vec::new();
    until(&mut s, |kind, flags, id, p| {
        if kind == DATA && id == 1 {
            body.extend_from_slice(p);
        }
        (kind == DATA && id == 1 && flags & END_STREAM != 0).then_some(())
    });
    // sha256("hello world")
    assert_eq!(
        String::from_utf8_lossy(&body).trim_end(),
        "11 b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
}
