//! Flags beside `--config` override the file's top-level settings.

use super::*;

#[test]
fn flags_override_the_files_settings() {
    let site = Site::new("flags-override", &["file-root", "flag-root"]);
    site.write("file-root/which.txt", "the file's root\n").write("flag-root/which.txt", "the flag's root\n");
    // The file's listen address is taken by a listener of the test: wired
    // can only start because --listen (given by Site::start) replaces it.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    site.config(&format!(
        "listen = [\"{}\"]\nroot = \"@/file-root\"\nworkers = 3\nautoindex = true\n",
        taken.local_addr().unwrap()
    ));
    let server = site.start(&[]);
    assert_eq!(get(&server, "h", "/which.txt").text(), "the file's root\n");
    // The file turned listings on; no flag turns them off.
    assert_eq!(get(&server, "h", "/").status, 200);
    let flag_root = site.path("flag-root");
    let server = site.start(&["--root", flag_root.to_str().unwrap()]);
    assert_eq!(get(&server, "h", "/which.txt").text(), "the flag's root\n");
}

#[test]
fn a_file_of_settings_alone_takes_the_route_flags() {
    let upstream = echo_upstream();
    let site = Site::new("flags-routes", &["www"]);
    site.config(&format!("root = \"@/www\"\n[upstream.echo]\nservers = [\"{upstream}\"]\n"));
    let server = site.start(&["--proxy", "/app/=http://echo/"]);
    assert_eq!(get(&server, "h", "/app/x").text(), "GET /x HTTP/1.1\nhost h\n");
}

#[test]
fn a_file_with_servers_refuses_the_route_flags() {
    let site = Site::new("flags-refused", &[]);
    let config = site.config("root = \"@\"\n[[server]]\n[[server.location]]\npath = \"/\"\nrespond = \"x\"\n");
    let (code, _, err) = check_config(&["--config", config.to_str().unwrap(), "--proxy", "/a/=http://127.0.0.1:9"]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim_end(),
        "wired: --proxy: the configuration file has servers, whose locations are the routes: add a location there"
    );
}

#[test]
fn an_upstream_flag_replaces_the_files_group_of_that_name() {
    let upstream = echo_upstream();
    let site = Site::new("flags-upstream", &[]);
    site.config(
        "root = \"@\"\n[upstream.app]\nservers = [\"127.0.0.1:9\"]\n[[server]]\n[[server.location]]\npath = \"/\"\nproxy = \"http://app\"\n",
    );
    let server = site.start(&["--upstream", &format!("app={upstream}")]);
    assert_eq!(get(&server, "h", "/y").text(), "GET /y HTTP/1.1\nhost h\n");
}
