//! `--ws-program`: a program per socket, a line per message.

use std::os::unix::fs::PermissionsExt;

use super::*;

/// Write an executable shell script into the site and return its path.
fn script(tree: &TempTree, name: &str, body: &str) -> String {
    let path = tree.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

const CHAT: &str = r#"echo $$ > "$(dirname "$0")/pid"
echo "hello $REMOTE_ADDR at $SCRIPT_NAME path=$PATH_INFO query=$QUERY_STRING"
while read -r line; do
  case "$line" in
    quit) exit 0 ;;
    crash) kill -9 $$ ;;
    fail) exit 3 ;;
    *) echo "you said: $line" ;;
  esac
done
"#;

fn chat_server(name: &str, extra: &[&str]) -> (TempTree, Server) {
    let tree = site(name);
    let chat = script(&tree, "chat.sh", CHAT);
    let route = format!("/chat={chat}");
    let mut args = vec!["--ws-program", route.as_str()];
    args.extend_from_slice(extra);
    let server = Server::start(&tree.join("www"), &args);
    (tree, server)
}

fn text(s: &mut Client) -> String {
    let f = read_frame(s).expect("a message");
    assert_eq!(f.opcode, TEXT, "{f:?}");
    String::from_utf8(f.payload).unwrap()
}

#[test]
fn lines_in_and_out_with_the_cgi_variables() {
    let (_t, server) = chat_server("ws-program-chat", &[]);
    let (mut s, _) = open(&server, "/chat/room?user=ann", "");
    assert_eq!(text(&mut s), "hello 127.0.0.1 at /chat path=/room query=user=ann");
    send(&mut s, &frame(TEXT, true, b"hi there"));
    assert_eq!(text(&mut s), "you said: hi there");
    // A message in fragments is one line.
    send(&mut s, &frame(TEXT, false, b"one "));
    send(&mut s, &frame(CONT, true, b"line"));
    assert_eq!(text(&mut s), "you said: one line");
    // Its exit closes the socket with 1000 (§7.4.1: normal closure).
    send(&mut s, &frame(TEXT, true, b"quit"));
    assert_eq!(read_close(&mut s), Some(1000));
    send(&mut s, &frame(CLOSE, true, &1000u16.to_be_bytes()));
    assert_closed(&mut s);
}

#[test]
fn a_failing_or_crashing_program_closes_with_1011() {
    let (_t, server) = chat_server("ws-program-fail", &[]);
    for word in ["fail", "crash"] {
        let (mut s, _) = open(&server, "/chat", "");
        text(&mut s);
        send(&mut s, &frame(TEXT, true, word.as_bytes()));
        assert_eq!(read_close(&mut s), Some(1011), "{word}");
    }
    still_serving(&server);
}

#[test]
fn binary_messages_are_refused_with_1003() {
    let (_t, server) = chat_server("ws-program-binary", &[]);
    let (mut s, _) = open(&server, "/chat", "");
    text(&mut s);
    send(&mut s, &frame(BINARY, true, &[0, 1, 2]));
    assert_eq!(read_close(&mut s), Some(1003));
}

#[test]
fn the_client_leaving_ends_the_program() {
    let (tree, server) = chat_server("ws-program-leave", &[]);
    let (mut s, _) = open(&server, "/chat", "");
    text(&mut s);
    let pid: u32 = std::fs::read_to_string(tree.join("pid")).unwrap().trim().parse().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // A close handshake from the client, then gone: the program goes too.
    send(&mut s, &frame(CLOSE, true, &1001u16.to_be_bytes()));
    assert_eq!(read_close(&mut s), Some(1001));
    let gone = |pid: u32| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting for wired's reaper.
            if stat.is_empty() || stat.split(' ').nth(2) == Some("Z") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    };
    assert!(gone(pid), "the program outlived its socket");
    // Dropped without a Close: the same.
    let (mut s, _) = open(&server, "/chat", "");
    text(&mut s);
    let pid: u32 = std::fs::read_to_string(tree.join("pid")).unwrap().trim().parse().unwrap();
    reset(s.0);
    assert!(gone(pid), "the program outlived a reset socket");
}

#[test]
fn programs_are_bounded_by_ws_program_max() {
    let (_t, server) = chat_server("ws-program-max", &["--ws-program-max", "2"]);
    let (mut a, _) = open(&server, "/chat", "");
    let (mut b, _) = open(&server, "/chat", "");
    text(&mut a);
    text(&mut b);
    let mut c = Client(server.connect());
    send(&mut c, upgrade_request("/chat", "").as_bytes());
    let refused = read_head(&mut c);
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    // One ends: there is room again.
    send(&mut a, &frame(TEXT, true, b"quit"));
    assert_eq!(read_close(&mut a), Some(1000));
    drop(a);
    std::thread::sleep(Duration::from_millis(200));
    let (mut d, _) = open(&server, "/chat", "");
    assert!(text(&mut d).starts_with("hello"));
}

#[test]
fn a_flooding_program_waits_for_a_client_that_does_not_read() {
    let tree = site("ws-program-flood");
    let flood = script(&tree, "flood.sh", "exec yes 'a line the client never reads'\n");
    let route = format!("/flood={flood}");
    let server = Server::start(&tree.join("www"), &["--ws-program", &route]);
    let before = server.rss_kib();
    let (mut s, _) = open(&server, "/flood", "");
    // Read a little, then stop: the program blocks on its full pipe and
    // wired holds no more than its queue.
    s.0.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..10 {
        assert_eq!(text(&mut s), "a line the client never reads");
    }
    std::thread::sleep(Duration::from_secs(2));
    let grown = server.rss_kib().saturating_sub(before);
    assert!(grown < 32 * 1024, "wired grew by {grown} KiB while the client did not read");
    // Reading again, the lines keep coming.
    for _ in 0..1000 {
        assert_eq!(text(&mut s), "a line the client never reads");
    }
}
