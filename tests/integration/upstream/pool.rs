//! Connections to upstreams, counted from the upstream's side
//! (`hostile_upstream.py`'s `/_stats`): keep-alive reuse and its bounds, the
//! one retry of an idempotent request whose pooled connection failed, and a
//! `--upstream` group's round robin with passive failure marking.

use super::*;

/// wired proxying its whole site to `url` (an address or a group name), with `extra`.
fn proxy_to(url: &str, extra: &[&str]) -> (TempTree, Server) {
    let root = plain_root("pool");
    let site = format!("/={url}");
    let mut args = vec!["--proxy", &site];
    args.extend_from_slice(extra);
    let server = wired(&root.0, &args);
    (root, server)
}

#[test]
fn sequential_requests_reuse_one_upstream_connection() {
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &[]);
    for i in 0..10 {
        // A new client connection each time: the pool is wired's, not the client's.
        assert_eq!(get(&server, "/ok").text(), "ok\n", "request {i}");
    }
    assert_eq!(up.stats().accepted, 1, "ten requests in a row over one upstream connection");
}

#[test]
fn upstream_keepalive_0_opens_a_connection_per_request() {
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &["--upstream-keepalive", "0"]);
    for _ in 0..5 {
        assert_eq!(get(&server, "/ok").status, 200);
    }
    assert_eq!(up.stats().accepted, 5);
}

#[test]
fn idle_connections_kept_are_bounded_by_upstream_keepalive() {
    // Four at once, twice: with two idle connections kept in between, the
    // second round reuses two and opens two.
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &["--upstream-keepalive", "2"]);
    for round in 0..2 {
        let mut clients: Vec<Client> = (0..4).map(|_| connect(&server)).collect();
        for s in &mut clients {
            s.write_all(b"GET /sleep?0.3 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        }
        for s in &mut clients {
            assert_eq!(read_response(s, false).unwrap().text(), "slept\n", "round {round}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(up.stats().accepted, 6, "4 connections, then 2 reused and 2 new");
}

#[test]
fn an_idle_upstream_connection_is_closed_after_the_keepalive_timeout() {
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &["--upstream-keepalive-timeout", "1s"]);
    assert_eq!(get(&server, "/ok").status, 200);
    assert_eq!(get(&server, "/ok").status, 200);
    assert_eq!(up.stats().accepted, 1, "reused within the timeout");
    std::thread::sleep(Duration::from_millis(1600));
    assert_eq!(get(&server, "/ok").status, 200);
    assert_eq!(up.stats().accepted, 2, "a new connection after the idle one expired");
}

#[test]
fn a_connection_the_upstream_ends_is_not_reused() {
    // `Connection: close`, and a body delimited by the close.
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &[]);
    for target in ["/connection-close", "/close-delimited", "/http10"] {
        assert_eq!(get(&server, target).status, 200, "{target}");
        assert_eq!(get(&server, "/ok").text(), "ok\n", "after {target}");
    }
    assert_eq!(up.stats().accepted, 4, "three closed by the upstream, then /ok kept one");
}

#[test]
fn an_idempotent_request_is_retried_once_when_its_pooled_connection_fails() {
    // /drop-second answers the first request on a connection and drops the
    // connection on the next one, without a byte: a stale pooled connection.
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &[]);
    assert_eq!(get(&server, "/drop-second").text(), "served\n");
    let r = get(&server, "/drop-second");
    assert_eq!((r.status, r.text().as_str()), (200, "served\n"), "the retry on a fresh connection answers");
    let seen: Vec<(u32, u32)> = up.stats().for_path("/drop-second").iter().map(|r| (r.conn, r.seq)).collect();
    assert_eq!(seen, [(1, 1), (1, 2), (2, 1)], "served, dropped on the pooled connection, retried on a new one");
}

#[test]
fn a_post_is_never_retried() {
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &[]);
    assert_eq!(get(&server, "/drop-second").text(), "served\n");
    let mut s = connect(&server);
    let r = roundtrip(
        &mut s,
        "POST /drop-second HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(r.status, 502, "the POST may have had its effect: not sent twice");
    let posts = up.stats().requests.iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "the upstream received the POST {posts} times");
    assert_eq!(get(&server, "/ok").status, 200, "still serving");
}

#[test]
fn a_failed_retry_is_a_502_and_there_is_no_third_attempt() {
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &[]);
    assert_eq!(get(&server, "/ok").status, 200, "one pooled connection");
    assert_eq!(get(&server, "/drop-always").status, 502);
    assert_eq!(up.stats().for_path("/drop-always").len(), 2, "the pooled attempt and one retry");
}

/// Round robin picks the server first, then an idle connection to it, as
/// nginx's keepalive does: taking any idle connection of the group instead
/// would send a sequential load to one server only.
#[test]
fn a_group_spreads_requests_round_robin() {
    let (a, b) = (Hostile::with(&["--name", "a"]), Hostile::with(&["--name", "b"]));
    let group = format!("app={},{}", a.addr(), b.addr());
    let (_root, server) = proxy_to("http://app", &["--upstream", &group]);
    let mut s = connect(&server);
    let names: Vec<String> = (0..6).map(|_| get_on(&mut s, "/whoami").text().trim().to_string()).collect();
    assert_eq!(names.iter().filter(|n| *n == "a").count(), 3, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "b").count(), 3, "{names:?}");
    assert!(names.windows(2).all(|w| w[0] != w[1]), "not in turn: {names:?}");
}

#[test]
fn a_failing_member_is_left_out_for_the_fail_timeout() {
    // b closes every connection without answering. With max_fails 1 it is tried once,
    // left out for the fail timeout, then tried again (and left out again).
    // No keep-alive: every request picks a server, so only the marking decides.
    let (a, b) = (Hostile::with(&["--name", "a"]), Hostile::with(&["--mode", "close"]));
    let group = format!("app={},{}", a.addr(), b.addr());
    let marking = ["--upstream-max-fails", "1", "--upstream-fail-timeout", "1s", "--upstream-keepalive", "0"];
    let (_root, server) = proxy_to("http://app", &[&["--upstream", group.as_str()][..], &marking[..]].concat());
    let mut failures = 0;
    for _ in 0..8 {
        let r = get(&server, "/whoami");
        if r.status != 200 {
            failures += 1;
        }
    }
    assert!(failures <= 1, "{failures} failures: the failing member was not left out");
    assert_eq!(b.stats().accepted, 1, "b was tried again within its fail timeout");
    // Past the fail timeout even for a clock counted in whole seconds (nginx's).
    std::thread::sleep(Duration::from_millis(2100));
    for _ in 0..6 {
        let r = get(&server, "/whoami");
        if r.status != 200 {
            failures += 1;
        }
    }
    assert!(failures <= 2, "{failures} failures");
    assert_eq!(b.stats().accepted, 2, "b tried once more after the fail timeout, then left out again");
    assert!(a.stats().accepted >= 1);
}

#[test]
fn a_lone_server_is_never_left_out() {
    // As nginx: a group of one is never marked down, so it recovers at once.
    let up = Hostile::start();
    let (_root, server) = proxy_to(&up.url(), &["--upstream-max-fails", "1", "--upstream-fail-timeout", "30s"]);
    assert_eq!(get(&server, "/close-at-once").status, 502);
    assert_eq!(get(&server, "/ok").status, 200, "the only server was marked down");
}
