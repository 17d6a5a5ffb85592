//! Python's `websockets` client (tests/websocket/client.py) against the
//! echo and program endpoints, through `--ws-proxy` and `--proxy` to a real
//! `websockets` app, and over TLS.

use std::fs;
use std::io::Write;

use super::*;
use crate::https::{Site, tls_port};

const MB: usize = 1 << 20;

/// The text that crosses every endpoint: ASCII, Latin, a check mark and a
/// character outside the BMP (four bytes of UTF-8, a surrogate pair in JSON).
const UNICODE: &str = "héllo ✓ wired 🚀";

/// Every byte value once.
fn all_bytes() -> Vec<u8> {
    (0..=255).collect()
}

/// A megabyte of text and one of random bytes, written into a tree for
/// the client to send; each echo is received into a file beside it
/// (`.echo`), to be compared with what was sent.
struct Megabytes {
    text: PathBuf,
    binary: PathBuf,
}

impl Megabytes {
    fn new(tree: &TempTree) -> Megabytes {
        let big = Megabytes { text: tree.join("text.txt"), binary: tree.join("binary.bin") };
        fs::write(&big.text, text_payload(MB)).unwrap();
        fs::write(&big.binary, binary_payload(MB, 0x5eed)).unwrap();
        big
    }

    /// Send the text megabyte as a text message; receive the echo.
    fn text_steps(&self) -> Vec<String> {
        let echo = self.text.with_extension("echo");
        vec![format!("send-file:{}", self.text.display()), format!("recv-file:{}", echo.display())]
    }

    /// Send the random megabyte as a binary message; receive the echo.
    fn binary_steps(&self) -> Vec<String> {
        let echo = self.binary.with_extension("echo");
        vec![format!("send-file-binary:{}", self.binary.display()), format!("recv-file:{}", echo.display())]
    }

    fn steps(&self) -> Vec<String> {
        [self.text_steps(), self.binary_steps()].concat()
    }

    /// What came back into `sent`'s `.echo` file is `sent`, byte for byte.
    fn assert_same(sent: &Path) {
        let echo = fs::read(sent.with_extension("echo")).unwrap();
        assert!(fs::read(sent).unwrap() == echo, "{} changed on the way ({} bytes back)", sent.display(), echo.len());
    }

    /// Both came back whole, each as the type it was sent as.
    fn assert_echoed(&self, events: &[Event]) {
        let got = messages(events);
        let expected = [format!("text {MB} bytes"), format!("binary {MB} bytes")];
        assert!(got.ends_with(&expected), "the megabytes' echoes: {got:?}");
        Megabytes::assert_same(&self.text);
        Megabytes::assert_same(&self.binary);
    }
}

/// The small messages every echo test starts with, and their echoes.
fn small_steps() -> Vec<String> {
    vec![format!("send:{UNICODE}"), "recv".into(), format!("send-hex:{}", hex(&all_bytes())), "recv".into()]
}

fn small_echoes() -> Vec<String> {
    vec![format!("text {UNICODE}"), format!("binary {}", hex(&all_bytes()))]
}

fn run(options: &[&str], url: &str, steps: &[String]) -> Vec<Event> {
    let mut args: Vec<&str> = options.to_vec();
    args.push(url);
    args.extend(steps.iter().map(String::as_str));
    client(&args)
}

#[test]
fn text_binary_and_megabyte_messages_echo_compressed() {
    let tree = site("wsc-deflate");
    let server = Server::start(&tree.join("www"), &["--ws-echo", "/echo"]);
    let big = Megabytes::new(&tree);
    let steps: Vec<String> = [small_steps(), big.steps()].concat();

    let events = run(&[], &format!("ws://{}/echo", server.addr), &steps);
    let open = only(&events, "open");
    assert_eq!(open.int("status"), Some(101));
    assert_eq!(open.str("extensions"), Some("permessage-deflate"), "the extension the client offered, accepted");
    assert_eq!(messages(&events)[..2], small_echoes()[..]);
    big.assert_echoed(&events);
    let closed = only(&events, "closed");
    assert_eq!(closed.int("code"), Some(1000), "our Close echoed: {closed:?}");
    // Uncompressed, the two megabytes alone are 2 MiB on the wire; the
    // random one cannot shrink, so the text one must have.
    let wire = closed.int("wire_in").unwrap() as usize;
    assert!(wire < MB + MB / 4, "{wire} bytes read: the text megabyte came back uncompressed");
}

#[test]
fn without_deflate_the_same_messages_travel_uncompressed() {
    let tree = site("wsc-plain");
    let big = Megabytes::new(&tree);
    let steps: Vec<String> = [small_steps(), big.steps()].concat();

    // The client offers permessage-deflate; a server with --ws-no-deflate declines.
    let refusing = Server::start(&tree.join("www"), &["--ws-echo", "/echo", "--ws-no-deflate"]);
    // The server would accept it; the client does not offer it.
    let willing = Server::start(&tree.join("www"), &["--ws-echo", "/echo"]);
    for (server, options, who) in
        [(&refusing, &[][..], "--ws-no-deflate"), (&willing, &["--no-compression"][..], "no offer")]
    {
        let events = run(options, &format!("ws://{}/echo", server.addr), &steps);
        assert_eq!(only(&events, "open").str("extensions"), None, "{who}: no extension agreed");
        assert_eq!(messages(&events)[..2], small_echoes()[..], "{who}");
        big.assert_echoed(&events);
        let closed = only(&events, "closed");
        assert_eq!(closed.int("code"), Some(1000), "{who}");
        let wire = closed.int("wire_in").unwrap() as usize;
        assert!(wire >= 2 * MB, "{who}: {wire} bytes read for two megabytes sent uncompressed");
    }
}

#[test]
fn the_server_picks_its_preferred_subprotocol_among_those_offered() {
    let tree = site("wsc-protocol");
    let server = Server::start(
        &tree.join("www"),
        &["--ws-echo", "/echo", "--ws-protocol", "chat.v2", "--ws-protocol", "chat.v1"],
    );
    let url = format!("ws://{}/echo", server.addr);
    let cases: [(&[&str], Option<&str>); 4] = [
        (&["--protocol", "chat.v1", "--protocol", "chat.v2"], Some("chat.v2")),
        (&["--protocol", "chat.v1"], Some("chat.v1")),
        (&["--protocol", "other"], None),
        (&[], None),
    ];
    for (offer, chosen) in cases {
        let events = run(offer, &url, &["send:which".into(), "recv".into()]);
        assert_eq!(only(&events, "open").str("protocol"), chosen, "offered {offer:?}");
        assert_eq!(messages(&events), ["text which"], "offered {offer:?}: the socket works");
    }
}

/// A WebSocket opened at `path` of a wired that passes it to the app with
/// `flag` (`--ws-proxy` or `--proxy`): the app's answers reach the client.
fn through_the_proxy(flag: &str, route: impl Fn(u16) -> String, path: &str, app_saw: &str) {
    let mut app = WsApp::start();
    let tree = site("wsc-proxy");
    let route = route(app.port);
    let server = Server::start(&tree.join("www"), &[flag, &route]);
    let big = Megabytes::new(&tree);
    let url = format!("ws://{}{path}", server.addr);
    // The app prefixes text with its path, so only binary comes back as sent.
    let steps = [
        small_steps(),
        big.binary_steps(),
        ["send:headers", "recv", "send:close-me", "wait-close"].map(String::from).to_vec(),
    ]
    .concat();

    let events = run(&[], &url, &steps);
    let open = only(&events, "open");
    assert!(open.str("server").is_some_and(|s| s.contains("websockets")), "the app answered the handshake: {open:?}");
    let ext = open.str("extensions").unwrap_or_default();
    assert!(ext.starts_with("permessage-deflate"), "the app's deflate agreement passed on: {open:?}");
    let got = messages(&events);
    assert_eq!(got.len(), 4, "four answers: {events:#?}");
    assert_eq!(got[0], format!("text {app_saw} {UNICODE}"), "the app prefixes text with the path it got");
    assert_eq!(got[1], format!("binary {}", hex(&all_bytes())));
    assert_eq!(got[2], format!("binary {MB} bytes"));
    Megabytes::assert_same(&big.binary);
    let fields = got[3].strip_prefix("text ").unwrap_or_default();
    let fields: Vec<&str> = fields.split(", ").collect();
    let host = format!("Host={}", server.addr);
    for want in [host.as_str(), "X-Forwarded-For=127.0.0.1", "X-Forwarded-Proto=http"] {
        assert!(fields.contains(&want), "the app saw {fields:?}, not {want}");
    }
    let closed = only(&events, "closed");
    assert_eq!((closed.int("code"), closed.str("reason")), (Some(4000), Some("asked to")), "the app's Close");
    app.wait_logged("connection closed");
    assert_eq!(app.logged("connection open"), 1, "one connection upstream: {:#?}", app.proc.output());
}

#[test]
fn ws_proxy_pipes_a_websocket_to_a_websockets_app() {
    through_the_proxy(
        "--ws-proxy",
        |port| format!("/live/=http://127.0.0.1:{port}/app/"),
        "/live/room?x=1",
        "/app/room?x=1",
    );
}

#[test]
fn proxy_passes_websocket_upgrades_to_a_websockets_app() {
    through_the_proxy("--proxy", |port| format!("/web/=http://127.0.0.1:{port}/"), "/web/room", "/room");
}

#[test]
fn a_bad_handshake_to_ws_proxy_gets_400_and_the_app_never_hears_of_it() {
    let mut app = WsApp::start();
    let tree = site("wsc-proxy-bad");
    let route = format!("/live/=http://127.0.0.1:{}/", app.port);
    let server = Server::start(&tree.join("www"), &["--ws-proxy", &route]);
    let no_key = "GET /live/x HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n";
    let old_version = "GET /live/x HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\
                       Connection: close\r\n\r\n";
    for (request, status, what) in [(no_key, 400, "no Sec-WebSocket-Key"), (old_version, 426, "version 8")] {
        let r = parse_all(&server.raw(request.as_bytes()), &[false]);
        assert_eq!(r.first().map(|r| r.status), Some(status), "{what}: {r:?}");
        assert_eq!(r[0].header("server"), Some("wired"), "{what}: wired answered, not the app");
        if status == 426 {
            assert_eq!(r[0].header("sec-websocket-version"), Some("13"), "{what}");
        }
    }
    // A good handshake after them: the app logs it, and would have logged
    // the bad ones before it, had they reached it.
    let events = client(&[&format!("ws://{}/live/x", server.addr), "send:after", "recv"]);
    assert_eq!(messages(&events), ["text /x after"]);
    // Its log is one stream: once this line is read, any before it are too.
    app.wait_logged("connection open");
    assert_eq!(app.logged("connection open"), 1, "{:#?}", app.proc.output());
    assert_eq!(app.logged("connection rejected"), 0, "a bad handshake reached the app: {:#?}", app.proc.output());

    // The same bad handshake sent to the app itself is logged: the log can tell.
    let mut direct = std::net::TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    direct.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    direct.write_all(no_key.as_bytes()).unwrap();
    let r = read_response(&mut direct, false).unwrap();
    assert_eq!(r.status, 400);
    app.wait_logged("connection rejected");
}

#[test]
fn wss_echo_through_the_tls_listener_trusting_the_test_ca() {
    let site = Site::new("wsc-wss");
    let server = site.start(&["--ws-echo", "/echo"]);
    let tree = TempTree::new("wsc-wss-files");
    let big = Megabytes::new(&tree);
    let steps: Vec<String> = [small_steps(), big.steps()].concat();
    let url = format!("wss://localhost:{}/echo", tls_port(&server));
    let ca = site.ca.display().to_string();

    let events = run(&["--cafile", &ca], &url, &steps);
    assert_eq!(only(&events, "open").str("extensions"), Some("permessage-deflate"));
    assert_eq!(messages(&events)[..2], small_echoes()[..]);
    big.assert_echoed(&events);
    assert_eq!(only(&events, "closed").int("code"), Some(1000));

    // Without the test CA the same client refuses the server.
    let events = run(&[], &url, &[]);
    let error = only(&events, "error").str("error").unwrap_or_default();
    assert!(error.contains("CERTIFICATE_VERIFY_FAILED"), "{events:?}");
}

#[test]
fn over_wss_the_program_and_the_proxied_app_learn_the_scheme_was_https() {
    let app = WsApp::start();
    let site = Site::new("wsc-wss-scheme");
    let live = format!("/live/=http://127.0.0.1:{}/", app.port);
    let server = site.start(&["--ws-program", &chat_route("/chat"), "--ws-proxy", &live]);
    let ca = site.ca.display().to_string();
    let base = format!("wss://localhost:{}", tls_port(&server));

    let steps = ["recv", "send:env HTTPS", "recv", "send:env REQUEST_SCHEME", "recv"];
    let events = client(&[&["--cafile", &ca, &format!("{base}/chat")][..], &steps[..]].concat());
    assert_eq!(
        messages(&events),
        ["text welcome stranger to /chat? from 127.0.0.1", "text HTTPS=on", "text REQUEST_SCHEME=https"]
    );

    let events = client(&["--cafile", &ca, &format!("{base}/live/x"), "send:headers", "recv"]);
    let got = messages(&events);
    assert_eq!(got.len(), 1, "{events:#?}");
    let fields: Vec<&str> = got[0].strip_prefix("text ").unwrap_or_default().split(", ").collect();
    assert!(fields.contains(&"X-Forwarded-Proto=https"), "the app saw {fields:?}");
    assert!(fields.contains(&format!("Host=localhost:{}", tls_port(&server)).as_str()), "the app saw {fields:?}");
}

#[test]
fn a_chat_program_sees_the_request_and_its_exit_closes_with_1000() {
    let tree = site("wsc-chat");
    let server = Server::start(&tree.join("www"), &["--ws-program", &chat_route("/chat")]);
    let url = format!("ws://{}/chat/lobby?topic=rust", server.addr);
    let steps: Vec<String> = [
        "recv",
        &format!("send:{UNICODE}"),
        "recv",
        "send:env HTTP_X_NICK",
        "recv",
        "send:env QUERY_STRING",
        "recv",
        "send:bye",
        "recv",
        "wait-close",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    let events = run(&["--header", "X-Nick=alice"], &url, &steps);
    assert_eq!(
        messages(&events),
        [
            "text welcome alice to /chat/lobby?topic=rust from 127.0.0.1".to_string(),
            format!("text 1: {UNICODE}"),
            "text HTTP_X_NICK=alice".into(),
            "text QUERY_STRING=topic=rust".into(),
            "text bye alice after 4 messages".into(),
        ]
    );
    let closed = only(&events, "closed");
    assert_eq!(closed.int("code"), Some(1000), "the program exited 0: {closed:?}");
}

#[test]
fn a_chat_program_that_fails_closes_with_1011() {
    let tree = site("wsc-chat-fail");
    let server = Server::start(&tree.join("www"), &["--ws-program", &chat_route("/chat")]);
    let events = client(&[&format!("ws://{}/chat", server.addr), "recv", "send:fail", "wait-close"]);
    assert_eq!(messages(&events), ["text welcome stranger to /chat? from 127.0.0.1"]);
    let closed = only(&events, "closed");
    assert_eq!(closed.int("code"), Some(1011), "the program exited 3: {closed:?}");
}

/// SIGTERM: each open WebSocket gets a Close 1001 ("going away", RFC 6455
/// §7.4.1, whose example is a server going down), and wired exits once the
/// close handshakes are done, not at `--drain-timeout` with the sockets cut
/// (1006). A regression test: they used to count as responses in flight.
#[test]
fn shutdown_closes_open_websockets_with_1001() {
    let tree = site("wsc-shutdown");
    let mut server = Server::start(
        &tree.join("www"),
        &["--ws-echo", "/echo", "--ws-program", &chat_route("/chat"), "--drain-timeout", "5s"],
    );
    let start_client = |name: &str, steps: &[&str]| {
        let mut cmd = Command::new("python3");
        cmd.arg(fixture("client.py")).arg(format!("ws://{}{name}", server.addr)).args(steps);
        let mut proc = ChildGuard::spawn(name, cmd);
        // A message has come back: the socket is open and quiet.
        proc.wait_for_line(Duration::from_secs(10), |l| l.contains(r#""event": "text""#).then_some(()));
        proc
    };
    let mut echo = start_client("/echo", &["send:before the signal", "recv", "wait-close"]);
    let mut chat = start_client("/chat", &["recv", "wait-close"]);

    let started = std::time::Instant::now();
    let exited = server.terminate(Duration::from_secs(8));
    let took = started.elapsed();
    for (name, proc) in [("echo", &mut echo), ("chat", &mut chat)] {
        let line =
            proc.wait_for_line(Duration::from_secs(10), |l| l.contains(r#""event": "closed""#).then(|| l.to_string()));
        let closed = parse_event(&line).unwrap();
        assert_eq!(closed.int("code"), Some(1001), "the {name} client's close on SIGTERM: {:#?}", proc.output());
    }
    assert!(exited.is_some_and(|s| s.success()), "wired exited with {exited:?}");
    assert!(took < Duration::from_secs(2), "wired took {took:?} to stop, its sockets closed");
}
