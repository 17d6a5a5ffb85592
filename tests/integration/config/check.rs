//! `--check-config`: the routes it prints, the errors it names by place,
//! the example file, and the reference kept in step with the schema.

use std::collections::BTreeSet;

use super::*;

#[test]
fn check_config_prints_each_server_and_location_in_match_order() {
    let site = Site::new("check-routes", &["a", "b"]);
    let config = site.config(
        r#"
root = "@/a"
[upstream.app]
servers = ["127.0.0.1:9"]

[[server]]
names = ["a.example", "*.a.example"]
[[server.location]]
path = "/"
proxy = "http://app/"
[[server.location]]
path = "/app/api/"
proxy = "http://127.0.0.1:9/v2/"
[[server.location]]
path = "= /ping"
respond = "pong"

[[server]]
names = ["b.example"]
default = true
root = "@/b"
"#,
    );
    let (code, out, err) = check_config(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}");
    let b = site.path("b").canonicalize().unwrap();
    let want = format!(
        "server a.example *.a.example\n\
         \x20 location = /ping: respond 200, text/plain; charset=utf-8, 4 bytes\n\
         \x20 location /app/api/: proxy to 127.0.0.1:9, path /v2/\n\
         \x20 location /: proxy to app (127.0.0.1:9), path /\n\
         server b.example (default)\n\
         \x20 location /: files from {}\n",
        b.display()
    );
    assert_eq!(out, want);
}

#[test]
fn check_config_without_a_file_prints_what_the_flags_make() {
    let site = Site::new("check-flags", &["www", "bin"]);
    let (www, bin) = (site.path("www"), site.path("bin"));
    let cgi = format!("/cgi-bin={}", bin.display());
    let (code, out, _) =
        check_config(&["--root", www.to_str().unwrap(), "--cgi", &cgi, "--proxy", "/app/=http://127.0.0.1:9"]);
    assert_eq!(code, 0);
    let want = format!(
        "server (no name) (default)\n  location /app/: proxy to 127.0.0.1:9\n  location /cgi-bin (and below): CGI programs in {}\n  location /: files from {}\n",
        bin.display(),
        www.display()
    );
    assert_eq!(out, want);
}

/// The one line of an error, and the exit status 2 that goes with it.
fn config_error(site: &Site, text: &str) -> String {
    let config = site.config(text);
    let (code, out, err) = check_config(&["--config", config.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (2, ""), "stderr: {err}");
    let prefix = format!("wired: {}:", config.display());
    err.trim_end().strip_prefix(&prefix).unwrap_or_else(|| panic!("{err:?} does not name {prefix}")).to_string()
}

#[test]
fn a_bad_value_is_named_by_line_and_column() {
    let site = Site::new("check-value", &[]);
    let e = config_error(&site, "workers = 2\n\nkeepalive_timeout = \"forever\"\n");
    assert!(e.starts_with("3:21: a time is written \"10s\""), "{e}");
    let e = config_error(&site, "[[server]]\nnames = [\"a.example:8080\"]\n");
    assert_eq!(
        e,
        "2:10: 'a.example:8080' has a port: a server answers on every listen address, so its names have none"
    );
    let e = config_error(&site, "[[server]]\n[[server.location]]\npath = \"/\"\nredirect = \"/x\"\nstatus = 200\n");
    assert_eq!(e, "5:10: 200 is not a redirect status (301, 302, 303, 307, 308)");
    let e = config_error(&site, "[[server]]\n[[server.location]]\npath = \"/\"\nredirect = \"https://$hots/\"\n");
    assert!(e.starts_with("4:12: '$hots' is not a variable"), "{e}");
}

#[test]
fn an_unknown_key_is_named_by_line_and_column() {
    let site = Site::new("check-key", &[]);
    let e = config_error(&site, "listen = [\"127.0.0.1:0\"]\nrooot = \"www\"\n");
    assert!(e.starts_with("2:1: unknown key 'rooot' (the keys here are: listen, listen_tls, root,"), "{e}");
    let e = config_error(&site, "[[server]]\n[[server.location]]\npath = \"/\"\nproxy_pass = \"http://a:1\"\n");
    assert!(e.starts_with("4:1: unknown key 'proxy_pass' (the keys here are: path, root, alias,"), "{e}");
}

#[test]
fn a_location_does_one_thing() {
    let site = Site::new("check-one", &[]);
    let e = config_error(
        &site,
        "[[server]]\n[[server.location]]\npath = \"/\"\nproxy = \"http://127.0.0.1:9\"\nrespond = \"x\"\n",
    );
    assert_eq!(e, "5:11: a location does one thing: 'proxy' and 'respond' cannot both be here");
    let e = config_error(
        &site,
        "[[server]]\n[[server.location]]\npath = \"/\"\nproxy = \"http://127.0.0.1:9\"\nautoindex = true\n",
    );
    assert_eq!(e, "5:13: 'autoindex' has no meaning in a location that has 'proxy'");
    let e = config_error(&site, "[[server]]\n[[server.location]]\npath = \"~ \\\\.php$\"\nrespond = \"x\"\n");
    assert!(e.starts_with("3:8: regular expressions are not supported"), "{e}");
    let e = config_error(&site, "[[server]]\ndefault = true\n[[server]]\ndefault = true\n");
    assert_eq!(e, "4:11: only one server can be the default");
}

#[test]
fn a_missing_file_is_named() {
    let site = Site::new("check-missing", &[]);
    let missing = site.path("nowhere.toml");
    let (code, _, err) = check_config(&["--config", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim_end(),
        format!("wired: {}: cannot read the configuration file: No such file or directory", missing.display())
    );
}

#[test]
fn the_example_file_loads() {
    let site = Site::new("check-example", &["www", "blog", "blog-uploads", "app/public"]);
    let text = repo_file("contrib/wired.toml").replace("/srv/", "@/");
    let config = site.config(&text);
    let (code, out, err) = check_config(&["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}");
    let servers: Vec<&str> = out.lines().filter(|l| l.starts_with("server ")).collect();
    assert_eq!(servers.len(), 4, "{out}");
    assert!(out.contains(".php by FastCGI php (unix:/run/php/php8.2-fpm.sock)"), "{out}");
    assert!(out.contains("location /: proxy to app (127.0.0.1:8001, 127.0.0.1:8002)"), "{out}");
}

/// Which table a heading of docs/configuration.md documents.
fn table_of(heading: &str) -> Option<&'static str> {
    [("`[[server.location]]`", "server.location"), ("`[[server]]`", "server"), ("`[upstream.NAME]`", "upstream.NAME")]
        .into_iter()
        .find(|(marker, _)| heading.contains(marker))
        .map(|(_, table)| table)
        .or(heading.contains("Top-level keys").then_some(""))
}

#[test]
fn the_reference_documents_every_key_of_the_schema_and_no_other() {
    let docs = repo_file("docs/configuration.md");
    let mut documented: BTreeSet<(String, String)> = BTreeSet::new();
    let mut table = None;
    for line in docs.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            table = table_of(heading);
            continue;
        }
        // A subsection (the redirect variables) is not a table's keys.
        if line.starts_with("### ") {
            table = None;
        }
        // A key is the first cell of a table row: | `key` | ...
        let key = line.strip_prefix("| `").and_then(|rest| rest.split('`').next());
        if let (Some(table), Some(key)) = (table, key) {
            documented.insert((table.to_string(), key.to_string()));
        }
    }
    let schema: BTreeSet<(String, String)> = wired::config::file::schema()
        .into_iter()
        .flat_map(|(table, keys)| keys.iter().map(move |k| (table.to_string(), k.to_string())))
        .collect();
    let undocumented: Vec<_> = schema.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&schema).collect();
    assert!(undocumented.is_empty(), "keys without a row in docs/configuration.md: {undocumented:?}");
    assert!(unknown.is_empty(), "rows in docs/configuration.md for keys the schema lacks: {unknown:?}");
}
