//! What a program's output head means (Status, Location, a local redirect,
//! garbage), and the life of its process: killed with its whole group on a
//! timeout or when the client goes, counted against --cgi-max, always reaped.

use super::*;

#[test]
fn a_status_field_passes_through() {
    let site = site("status");
    let server = start(&site, &[]);
    let r = get(&server, "/cgi-bin/status.sh");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "not here\n");
    assert!(r.header("status").is_none(), "Status is a CGI field, not an HTTP one");
}

#[test]
fn an_absolute_location_is_a_302() {
    let site = site("location");
    let server = start(&site, &[]);
    let r = get(&server, "/cgi-bin/redirect.sh");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://example.com/"));
}

#[test]
fn a_local_location_is_served_by_the_server_itself() {
    let site = site("local-redirect");
    let server = start(&site, &[]);
    let r = get(&server, "/cgi-bin/local_redirect.sh");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "a static file\n");
    assert!(r.header("location").is_none(), "the client never sees the program's Location");
    assert_eq!(r.header("content-type").map(|v| v.starts_with("text/plain")), Some(true));
    // And on a kept-alive connection, the next request is answered normally.
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/local_redirect.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "a static file\n");
    s.write_all(b"GET /cgi-bin/length.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "sized\n");
    assert_no_zombies(&server);
}

#[test]
fn malformed_output_is_a_502() {
    let site = site("malformed");
    let server = start(&site, &[]);
    assert_eq!(get(&server, "/cgi-bin/malformed.sh").status, 502);
    assert_eq!(get(&server, "/cgi-bin/length.sh").status, 200, "still serving");
    assert_no_zombies(&server);
}

#[test]
fn an_interim_status_from_a_program_is_a_502() {
    let site = site("interim");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/interim.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 502);
}

#[test]
fn a_silent_program_gets_504_and_its_process_group_is_killed() {
    let site = site("timeout");
    let server = start(&site, &["--cgi-timeout", "1s"]);
    let started = Instant::now();
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/hang.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "hang.sh");
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(r.status, 504);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "504 after {took:?}");
    assert_dead(&server, pids, Duration::from_secs(3), "outlived the timeout");
    assert_no_zombies(&server);
}

#[test]
fn a_client_that_leaves_mid_response_takes_the_program_with_it() {
    let site = site("disconnect");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/stream.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "stream.sh");
    let mut some = [0u8; 4096];
    s.read_exact(&mut some).unwrap();
    assert!(some.starts_with(b"HTTP/1.1 200 "));
    drop(s);
    assert_dead(&server, pids, Duration::from_secs(5), "outlived its client");
    assert_no_zombies(&server);
    assert_eq!(get(&server, "/cgi-bin/length.sh").status, 200, "still serving");
}

#[test]
fn a_client_that_resets_while_the_program_is_quiet_takes_it_too() {
    let site = site("disconnect-quiet");
    let server = start(&site, &["--cgi-timeout", "30s"]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/silent.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "silent.sh");
    let head = read_response(&mut BufReader::new(&mut s), true).unwrap();
    assert_eq!(head.status, 200);
    reset(s.0);
    assert_dead(&server, pids, Duration::from_secs(5), "outlived its client");
    assert_no_zombies(&server);
}

#[test]
fn beyond_cgi_max_a_request_gets_503_with_retry_after() {
    let site = site("cgi-max");
    let server = start(&site, &["--cgi-max", "1", "--cgi-timeout", "2s"]);
    let mut busy = connect(&server);
    busy.write_all(b"GET /cgi-bin/hang.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "hang.sh");
    let r = get(&server, "/cgi-bin/length.sh");
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some(), "503 says when to come back");
    // Static files are not counted.
    assert_eq!(get(&server, "/some/file.txt").status, 200);
    // Once the slow one is gone (504), the slot is free again.
    assert_eq!(read_response(&mut busy, false).unwrap().status, 504);
    assert_dead(&server, pids, Duration::from_secs(3), "outlived the timeout");
    let start = Instant::now();
    loop {
        let r = get(&server, "/cgi-bin/length.sh");
        if r.status == 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "the CGI slot never came back: {}", r.status);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_no_zombies(&server);
}

#[test]
fn many_programs_in_a_row_leave_no_zombie_and_no_descriptor() {
    let site = site("reap");
    let server = start(&site, &[]);
    assert_eq!(get(&server, "/cgi-bin/length.sh").status, 200);
    let fds = server.open_fds();
    for i in 0..50 {
        let target = ["/cgi-bin/length.sh", "/cgi-bin/malformed.sh", "/cgi-bin/status.sh"][i % 3];
        get(&server, target);
    }
    assert_no_zombies(&server);
    let start = Instant::now();
    while server.open_fds() > fds && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.open_fds() <= fds, "descriptors leaked: {fds} before, {} after", server.open_fds());
}

#[test]
fn a_client_that_leaves_mid_upload_takes_the_program_with_it() {
    let site = site("disconnect-upload");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"POST /cgi-bin/hang.sh HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n").unwrap();
    s.write_all(&[b'x'; 1000]).unwrap();
    let pids = script_pids(&site, "hang.sh");
    drop(s);
    assert_dead(&server, pids, Duration::from_secs(5), "outlived its client");
    assert_no_zombies(&server);
}

#[test]
fn a_local_redirect_answers_head_with_a_head() {
    let site = site("redirect-head");
    let server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"HEAD /cgi-bin/local_redirect.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let r = read_response(&mut s, true).unwrap();
    assert_eq!((r.status, r.header("content-length")), (200, Some("14")));
    // A body after the head would be misread here as a status line.
    s.write_all(b"GET /cgi-bin/length.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().text(), "sized\n");
}

#[test]
fn a_local_redirect_loop_ends() {
    let site = site("redirect-loop");
    let server = start(&site, &[]);
    let r = get(&server, "/cgi-bin/loop.sh");
    assert_eq!(r.status, 500);
    assert_no_zombies(&server);
}

#[test]
fn shutdown_lets_a_program_finish_its_answer() {
    let site = site("drain");
    let mut server = start(&site, &[]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/slow.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    signal(server.pid(), libc::SIGTERM);
    let r = read_response(&mut s, false).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "slow but sure\n"));
    // Wait for the exit: a second signal would mean "exit now".
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "wired did not exit after draining");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn a_program_still_running_at_exit_is_killed() {
    let site = site("exit-kills");
    let mut server = start(&site, &["--drain-timeout", "500ms"]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/hang.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "hang.sh");
    server.terminate(Duration::from_secs(5)).expect("wired exits after the drain timeout");
    assert_dead(&server, pids, Duration::from_secs(3), "outlived the server");
}

/// A half-close is not an abort: a client that shuts its sending side after
/// the request still gets the whole response, as it would for a file.
#[test]
fn a_client_that_half_closes_after_its_request_gets_the_whole_answer() {
    let site = site("half-close");
    let server = start(&site, &[]);
    for target in ["/cgi-bin/slow.sh", "/some/file.txt"] {
        let mut s = connect(&server);
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let r = parse_all(&all, &[false]);
        assert_eq!(r.len(), 1, "{target}: one response, then the close");
        assert_eq!(r[0].status, 200, "{target}");
        if target.contains("slow") {
            assert_eq!(r[0].text(), "slow but sure\n");
        }
    }
    assert_no_zombies(&server);
}

/// `--cgi-timeout` measures the program's silence, re-armed while it makes
/// progress: a program that answers and then stops is cut there (the
/// response cannot be finished), and its process group killed.
#[test]
fn a_program_silent_after_its_response_began_is_cut_at_the_cgi_timeout() {
    let site = site("cgi-timeout-late");
    let server = start(&site, &["--cgi-timeout", "1s"]);
    let mut s = connect(&server);
    let started = Instant::now();
    s.write_all(b"GET /cgi-bin/silent.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "silent.sh");
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let took = started.elapsed();
    assert!(all.starts_with(b"HTTP/1.1 200 "), "{}", String::from_utf8_lossy(&all));
    assert!(!all.ends_with(b"0\r\n\r\n"), "the cut response must not look finished");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "cut after {took:?}");
    assert_dead(&server, pids, Duration::from_secs(3), "outlived the timeout");
    assert_no_zombies(&server);
}

/// A program whose client stops reading is bounded by `--send-timeout`
/// (the client is the slow one), not by `--cgi-timeout`.
#[test]
fn a_client_that_stops_reading_a_program_is_cut_at_the_send_timeout() {
    let site = site("cgi-send-timeout");
    let server = start(&site, &["--cgi-timeout", "30s", "--send-timeout", "1s"]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/stream.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "stream.sh");
    let mut some = [0u8; 4096];
    s.read_exact(&mut some).unwrap();
    assert!(some.starts_with(b"HTTP/1.1 200 "));
    // Stop reading: the kernel buffers fill, then wired's, then the program blocks.
    let stopped = Instant::now();
    for pid in &pids {
        assert!(wait_dead(*pid, &server, Duration::from_secs(8)), "process {pid} outlived the send timeout");
    }
    let took = stopped.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(8), "ended after {took:?}");
    assert_no_zombies(&server);
    assert_eq!(get(&server, "/cgi-bin/length.sh").status, 200, "still serving");
}

/// The second SIGTERM does not wait for the drain: every connection is
/// closed at once, the process exits with status 1, and no CGI program
/// outlives it.
#[test]
fn a_second_signal_exits_at_once_and_kills_the_programs() {
    let site = site("second-signal");
    let mut server = start(&site, &["--drain-timeout", "30s"]);
    let mut s = connect(&server);
    s.write_all(b"GET /cgi-bin/hang.sh HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let pids = script_pids(&site, "hang.sh");
    signal(server.pid(), libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.child.try_wait().unwrap().is_none(), "the first signal drains: still running");
    let asked = Instant::now();
    // `terminate` sends the second SIGTERM.
    let status = server.terminate(Duration::from_secs(3)).expect("exits at the second signal");
    assert!(asked.elapsed() < Duration::from_secs(2), "took {:?}", asked.elapsed());
    assert_eq!(status.code(), Some(1), "{status:?}");
    assert_dead(&server, pids, Duration::from_secs(3), "outlived the server");
}
