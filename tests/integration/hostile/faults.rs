//! Faults: running out of descriptors, files that change or are not files,
//! permissions, and a handler that panics.

use super::*;

// ---- Descriptor exhaustion ----

#[test]
fn out_of_descriptors_keeps_serving_recovers_and_does_not_spin() {
    let root = site("nofile");
    let args: Vec<String> =
        ["--listen", "127.0.0.1:0", "--root", root.to_str().unwrap(), "--workers", "1"].map(String::from).to_vec();
    let server = Server::start_args(&root, &args, Some(48));
    assert_eq!(server.get("/index.html").status, 200, "warm the open-file cache");
    let baseline = server.open_fds();
    // Open connections until the server stops answering new ones.
    let mut held = Vec::new();
    let mut waiting = None;
    for _ in 0..100 {
        let mut s = server.connect();
        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        match read_response(&mut s, false) {
            Ok(r) => {
                assert_eq!(r.status, 200);
                held.push(s);
            }
            Err(_) => {
                waiting = Some(s);
                break;
            }
        }
    }
    let mut waiting = waiting.expect("the descriptor limit was never reached");
    let saturated = server.open_fds();
    eprintln!("nofile 48: baseline {baseline} fds, {} connections served, {saturated} fds when saturated", held.len());
    assert!(held.len() >= 20, "only {} connections before running out", held.len());

    // Saturated, with a connection waiting in the backlog: no spinning.
    let ticks = clock_ticks_per_sec();
    let before = cpu_ticks(server.pid());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(server.pid()) - before;
    eprintln!("CPU while saturated: {used} ticks of 1/{ticks} s in 1 s");
    assert!(used * 4 < ticks, "{used} ticks of CPU in one second while saturated");

    // The connections it has keep working (past the cache's one-second trust, too).
    for s in held.iter_mut().take(5) {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let r = read_response(s, false).unwrap();
        assert!(r.status == 200 || r.status == 503, "status {}", r.status);
        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        assert_eq!(read_response(s, false).unwrap().status, 200, "a cached file is still served");
    }

    // Recovery: close some, and the one waiting is accepted and answered.
    held.truncate(held.len() / 2);
    waiting.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let r = read_response(&mut waiting, false).expect("the waiting connection was served after others closed");
    assert_eq!(r.text(), INDEX);
    held.clear();
    drop(waiting);
    // The open-file cache may now hold /n/1 beside /index.html: one more.
    let after = fds_settle(&server, baseline, Duration::from_secs(3));
    eprintln!("after closing everything: {after} fds (baseline {baseline})");
    assert!(after <= baseline + 1, "descriptors back to the baseline: {after}, baseline {baseline}");
    assert_eq!(server.get("/n/2").text(), "file number 2\n", "serving normally again");
}

// ---- Filesystem faults ----

/// Read a response head and then body bytes until EOF or `limit`.
fn download(s: &mut TcpStream, limit: Duration, mut after_first: impl FnMut()) -> (usize, Option<usize>, End) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let deadline = Instant::now() + limit;
    let (mut body, mut length, mut first) = (0usize, None, true);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (body, length, End::Open);
        }
        s.set_read_timeout(Some(left)).unwrap();
        let n = match s.read(&mut buf) {
            Ok(0) => return (body, length, End::Closed),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (body, length, End::Open);
            }
            Err(_) => return (body, length, End::Reset),
        };
        if length.is_none() {
            head.extend_from_slice(&buf[..n]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                let r = read_response(&mut &head[..end + 4], true).unwrap();
                length = r.header("content-length").and_then(|v| v.parse().ok());
                body = head.len() - end - 4;
            }
        } else {
            body += n;
        }
        if first && length.is_some() {
            first = false;
            after_first();
            std::thread::sleep(Duration::from_millis(50));
        }
        if length.is_some_and(|l| body >= l) {
            return (body, length, End::Open);
        }
    }
}

#[test]
fn a_file_truncated_while_being_sent_ends_the_connection_cleanly() {
    let root = site("truncate");
    let path = big_file(&root, "big", 10);
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let (got, length, end) = download(&mut s, Duration::from_secs(10), || {
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(1024 * 1024).unwrap();
    });
    eprintln!("truncated to 1 MiB mid-send: {got} of {length:?} bytes, then {end:?}");
    assert_eq!(length, Some(10 * 1024 * 1024));
    assert!(got < 10 * 1024 * 1024, "the whole promised length cannot have been sent");
    assert_ne!(end, End::Open, "the connection must close when the file falls short");
    assert_eq!(server.get("/index.html").status, 200, "the server is fine");
    // Within the cache's trust period, or just after, the new length is served.
    std::thread::sleep(Duration::from_millis(1100));
    let r = server.get("/big");
    assert_eq!((r.status, r.body.len()), (200, 1024 * 1024));
}

#[test]
fn a_file_removed_while_being_sent_is_sent_whole_then_404() {
    let root = site("unlink");
    let path = big_file(&root, "big", 10);
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let (got, length, _) = download(&mut s, Duration::from_secs(10), || std::fs::remove_file(&path).unwrap());
    // The open descriptor keeps the file's data until it is closed (POSIX unlink).
    assert_eq!((got, length), (10 * 1024 * 1024, Some(10 * 1024 * 1024)));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut status = server.get("/big").status;
    while status != 404 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        status = server.get("/big").status;
    }
    assert_eq!(status, 404, "a removed file is gone once the cache rechecks it");
}

/// Start wired as the unprivileged user `nobody` when running as root, so
/// that file permissions apply (root reads anything: CAP_DAC_OVERRIDE).
fn start_unprivileged(root: &Path) -> (Server, bool) {
    // SAFETY: geteuid takes no arguments and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    let setpriv = Path::new("/usr/bin/setpriv");
    if !is_root || !setpriv.exists() {
        return (Server::start(root, &["--autoindex"]), !is_root);
    }
    // The temp directories and the build directory are world-readable, so
    // `nobody` can reach the root and run the binary.
    let bin = env!("CARGO_BIN_EXE_wired");
    let args: Vec<String> = ["--reuid=65534", "--regid=65534", "--clear-groups", "--", bin]
        .iter()
        .map(|s| s.to_string())
        .chain(
            ["--listen", "127.0.0.1:0", "--root", root.to_str().unwrap(), "--workers", "1", "--autoindex"]
                .iter()
                .map(|s| s.to_string()),
        )
        .collect();
    (start_program(setpriv, &args), true)
}

/// `Server::start_args`, but running `program` (a wrapper) with `args`.
fn start_program(program: &Path, args: &[String]) -> Server {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start wired");
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            let mut err = String::new();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("wired did not start: {line:?} {err}")
        });
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    Server { child, addr, tls_addr: None, plain_addr: None, root: PathBuf::new(), stderr: Default::default() }
}

#[test]
fn unreadable_directories_and_files_are_403() {
    use std::os::unix::fs::PermissionsExt;
    let root = site("perm");
    let set = |p: &Path, mode: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::create_dir(root.join("locked")).unwrap();
    std::fs::write(root.join("locked").join("secret.txt"), "secret\n").unwrap();
    std::fs::create_dir(root.join("unlisted")).unwrap();
    std::fs::write(root.join("unlisted").join("inside.txt"), "inside\n").unwrap();
    std::fs::write(root.join("private.txt"), "private\n").unwrap();
    set(&root.join("locked"), 0o000);
    set(&root.join("unlisted"), 0o311);
    set(&root.join("private.txt"), 0o000);

    let (server, permissions_apply) = start_unprivileged(&root);
    if permissions_apply {
        assert_eq!(server.get("/locked/secret.txt").status, 403, "a file in a directory we cannot enter");
        assert_eq!(server.get("/locked/").status, 403, "a directory we cannot open");
        assert_eq!(server.get("/private.txt").status, 403, "a file we cannot read");
        assert_eq!(server.get("/unlisted/").status, 403, "a directory we can enter but not list");
        assert_eq!(
            server.get("/unlisted/inside.txt").text(),
            "inside\n",
            "execute permission is enough to pass through"
        );
        assert_eq!(server.get("/index.html").status, 200);
    }
    drop(server);
    // SAFETY: geteuid takes no arguments and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        // What root sees: permission bits do not stop it (CAP_DAC_OVERRIDE),
        // so a server left running as root serves these files.
        let server = Server::start(&root, &["--autoindex"]);
        assert_eq!(server.get("/locked/secret.txt").text(), "secret\n");
        assert_eq!(server.get("/private.txt").status, 200);
    }
    set(&root.join("locked"), 0o755);
    set(&root.join("unlisted"), 0o755);
}

#[test]
fn fifos_sockets_and_devices_in_the_root_are_refused_without_hanging() {
    use std::ffi::CString;
    let root = site("special");
    let fifo = CString::new(root.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: `fifo` is a valid NUL-terminated path for the call.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    let _socket = std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();
    let zero = CString::new(root.join("zero").to_str().unwrap()).unwrap();
    // SAFETY: `zero` is a valid path; makedev and mknod take plain integers.
    let have_device = unsafe { libc::mknod(zero.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 5)) } == 0;
    std::os::unix::fs::symlink("/dev/zero", root.join("dev-zero-link")).unwrap();
    let server = Server::start(&root, &[]);
    let mut paths = vec!["/fifo", "/socket", "/dev-zero-link"];
    if have_device {
        paths.push("/zero");
    } else {
        eprintln!("mknod refused here: the device case is covered by the symlink to /dev/zero only");
    }
    for path in paths {
        let start = Instant::now();
        let mut s = server.connect();
        write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(3));
        assert_eq!(end, End::Closed, "{path}: hung");
        let status = first_status(&bytes);
        assert!(matches!(status, Some(403 | 404)), "{path}: {status:?}");
        assert!(start.elapsed() < Duration::from_secs(1), "{path}: {:?}", start.elapsed());
    }
    assert_eq!(server.get("/index.html").status, 200);
}

// ---- Panics ----

#[test]
fn release_builds_unwind_so_a_panic_can_be_caught() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let release = manifest.split("[profile.release]").nth(1).expect("a [profile.release] section");
    let section = release.split("\n[").next().unwrap_or_default();
    assert!(
        section.lines().any(|l| l.replace(' ', "") == "panic=\"unwind\""),
        "[profile.release] must keep panic = \"unwind\": {section}"
    );
}

#[test]
#[cfg_attr(not(debug_assertions), ignore = "the panic trigger is compiled into debug builds only")]
fn a_panicking_handler_loses_its_connection_not_its_worker() {
    let root = site("panic");
    let server = Server::start(&root, &["-w", "1"]);
    // A keep-alive connection opened before the panic, on the same (only) worker.
    let mut before = server.connect();
    before.write_all(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut before, false).unwrap().status, 200);

    let mut s = server.connect();
    s.write_all(b"GET /__wired_test_panic HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(3));
    assert_ne!(end, End::Open, "the panicking connection was not closed");
    let status = first_status(&bytes);
    assert!(status.is_none() || status == Some(500), "{:?}", lossy(&bytes));

    for i in 0..3 {
        let mut fresh = server.connect();
        fresh.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        write!(fresh, "GET /n/{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        let r = read_response(&mut fresh, false).expect("the worker survived the panic");
        assert_eq!(r.text(), format!("file number {i}\n"));
    }
    before.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    before.write_all(b"GET /n/2 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let r = read_response(&mut before, false).expect("a connection of the same worker survived");
    assert_eq!(r.text(), "file number 2\n");
}
