//! The file on disk changes under the server: the open-file cache sees it
//! within about a second, a file shrinking mid-response closes the
//! connection, and offsets past 4 GiB work.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use super::*;

/// Poll `path` until `done` holds for its response, for up to 3 s after
/// `start`; how long after `start` it held.
fn poll(server: &Server, path: &str, start: Instant, done: impl Fn(&Response) -> bool) -> Duration {
    loop {
        let r = get(server, path, &[]);
        if done(&r) {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(3), "{path}: still {} {:?} after 3 s", r.status, r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn open_file_cache_sees_changes_renames_and_deletions() {
    let site = site("sf-filecache");
    let root = &site.root;
    for name in ["changed.txt", "renamed.txt", "deleted.txt"] {
        fs::write(root.join(name), "old version\n").unwrap();
    }
    // Both versions of changed.txt fall in one second: only the nanoseconds
    // of the modification time tell them apart (regression: the ETag did
    // not change, so a client holding the old one got 304 for new bytes).
    let second = std::time::SystemTime::now() - Duration::from_secs(10);
    let second =
        std::time::UNIX_EPOCH + Duration::from_secs(second.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs());
    let touch = |nanos: u64| {
        let file = fs::File::options().write(true).open(root.join("changed.txt")).unwrap();
        file.set_modified(second + Duration::from_nanos(nanos)).unwrap();
    };
    touch(200_000_000);
    let server = Server::start(root, &[]);
    for name in ["changed.txt", "renamed.txt", "deleted.txt"] {
        // Twice: the second answer comes from the cache.
        for _ in 0..2 {
            assert_eq!(get(&server, &format!("/{name}"), &[]).text(), "old version\n");
        }
    }
    let old_etag = get(&server, "/changed.txt", &[]).header("etag").unwrap().to_string();
    // Same length, rewritten in place: only the modification time tells.
    fs::write(root.join("changed.txt"), "new version\n").unwrap();
    touch(700_000_000);
    let staged = site.tree.join("staged.txt");
    fs::write(&staged, "replaced by rename\n").unwrap();
    fs::rename(&staged, root.join("renamed.txt")).unwrap();
    fs::remove_file(root.join("deleted.txt")).unwrap();
    let start = Instant::now();
    let changed = poll(&server, "/changed.txt", start, |r| r.text() == "new version\n");
    let renamed = poll(&server, "/renamed.txt", start, |r| r.text() == "replaced by rename\n");
    let deleted = poll(&server, "/deleted.txt", start, |r| r.status == 404);
    let fresh = get(&server, "/changed.txt", &[("If-None-Match", &old_etag)]);
    assert_eq!((fresh.status, fresh.text().as_str()), (200, "new version\n"), "the old ETag must not match");
    assert_ne!(fresh.header("etag"), Some(old_etag.as_str()), "a new ETag for new content");
    for (what, took) in [("change", changed), ("rename", renamed), ("deletion", deleted)] {
        assert!(took < Duration::from_secs(2), "{what} seen after {took:?}");
    }
}

/// Ask for `path` (a file of `size` bytes at the root), cut it to 1 MiB
/// once 128 KiB have arrived, and check that the server then closes the
/// connection promptly, short of the promised length (RFC 9112 §6.3).
fn truncate_while_sent(server: &Server, path: &Path, size: usize) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut s = server.connect();
    s.write_all(format!("GET /{name} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
    let mut received = vec![0u8; 256 * 1024];
    let mut got = 0;
    while got < 128 * 1024 {
        let n = s.read(&mut received[got..]).unwrap();
        assert!(n > 0, "closed before the truncation");
        got += n;
    }
    assert!(received.starts_with(b"HTTP/1.1 200 "));
    fs::OpenOptions::new().write(true).open(path).unwrap().set_len(1024 * 1024).unwrap();
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut total = got;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => panic!("no clean close after {total} bytes and {:?}: {e}", start.elapsed()),
        }
    }
    assert!(total < size, "the promised {size} bytes cannot have been sent; got {total}");
    assert!(start.elapsed() < Duration::from_secs(5), "closing took {:?}", start.elapsed());
}

#[test]
fn a_file_truncated_while_it_is_sent_closes_the_connection() {
    let site = site("sf-truncate");
    let path = site.root.join("shrinking.bin");
    let size = 64 * 1024 * 1024;
    fs::write(&path, vec![b'z'; size]).unwrap();
    let server = Server::start(&site.root, &[]);
    truncate_while_sent(&server, &path, size);
    let after = get(&server, "/hello.txt", &[]);
    assert_eq!((after.status, after.text().as_str()), (200, "hello, world\n"), "a new connection is served");
}

/// Free bytes on the file system holding `dir`, from `df`.
fn free_bytes(dir: &Path) -> u64 {
    let out = std::process::Command::new("df").args(["-P", "-k"]).arg(dir).output().expect("run df");
    let text = String::from_utf8_lossy(&out.stdout);
    let avail = text.lines().nth(1).and_then(|l| l.split_whitespace().nth(3)).and_then(|n| n.parse::<u64>().ok());
    avail.unwrap_or_else(|| panic!("cannot read df output {text:?}")) * 1024
}

#[test]
fn offsets_past_4_gib_in_a_sparse_file() {
    const SIZE: u64 = 5 << 30;
    const AT_4_GIB: u64 = 1 << 32;
    let site = site("sf-sparse");
    let path = site.root.join("huge.img");
    assert!(free_bytes(&site.root) > 64 << 20, "too little disk space for even a sparse file");
    let file = fs::File::create(&path).unwrap();
    file.set_len(SIZE).unwrap();
    file.write_all_at(b"0123456789", AT_4_GIB).unwrap();
    file.write_all_at(b"THE-END!!!", SIZE - 10).unwrap();
    drop(file);
    let allocated = fs::metadata(&path).unwrap().blocks() * 512;
    assert!(allocated < 64 << 20, "the file system stored {allocated} bytes: no sparse files here");
    let server = Server::start(&site.root, &[]);
    let head = send(&server, "HEAD", "/huge.img", &[]);
    assert_eq!((head.status, head.header("content-length")), (200, Some("5368709120")));
    for (range, content_range, body) in [
        ("bytes=4294967296-4294967305", "bytes 4294967296-4294967305/5368709120", &b"0123456789"[..]),
        ("bytes=-10", "bytes 5368709110-5368709119/5368709120", b"THE-END!!!"),
        ("bytes=5368709115-", "bytes 5368709115-5368709119/5368709120", b"ND!!!"),
        ("bytes=4294967290-4294967299", "bytes 4294967290-4294967299/5368709120", b"\0\0\0\0\0\0\x30\x31\x32\x33"),
    ] {
        let r = get(&server, "/huge.img", &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.header("content-range"), Some(content_range), "{range}");
        assert_eq!(r.body, body, "{range}");
    }
    let r = get(&server, "/huge.img", &[("Range", "bytes=4294967296-4294967299,-3")]);
    let parts = check_multipart(&r.body, r.header("content-type").unwrap(), "application/octet-stream", &path);
    assert_eq!(parts, [(AT_4_GIB, AT_4_GIB + 3), (SIZE - 3, SIZE - 1)]);
    let unsatisfiable = get(&server, "/huge.img", &[("Range", "bytes=5368709120-")]);
    assert_eq!(unsatisfiable.header("content-range"), Some("bytes */5368709120"));
}

/// Read until the server closes, at most `chunk` bytes a read, sleeping
/// `pause.1` after every `pause.0` reads when given (a reader slower than the
/// server). An error or 20 s without a byte fails the test.
fn read_paced(s: &mut std::net::TcpStream, chunk: usize, pause: Option<(usize, Duration)>) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut raw = Vec::new();
    let mut buf = vec![0u8; chunk];
    for reads in 1.. {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => panic!("after {} bytes: {e}", raw.len()),
        }
        if let Some((every, sleep)) = pause
            && reads % every == 0
        {
            std::thread::sleep(sleep);
        }
    }
    raw
}

/// Files up to 128 KiB are written from memory (the open-file cache holds
/// them), larger ones with sendfile. Both must arrive byte for byte when the
/// client reads slowly (many partial writes) and when responses are
/// pipelined behind each other, with HEAD and a range between them.
#[test]
fn memory_held_and_sendfile_bodies_survive_slow_readers_and_pipelining() {
    let site = site("sf-memory-bodies");
    let small = noise(100 * 1024, 7);
    let edge = noise(128 * 1024, 8);
    let large = noise(128 * 1024 + 1, 9);
    fs::write(site.root.join("small.bin"), &small).unwrap();
    fs::write(site.root.join("edge.bin"), &edge).unwrap();
    fs::write(site.root.join("large.bin"), &large).unwrap();
    let server = Server::start(&site.root, &[]);
    let requests = "GET /small.bin HTTP/1.1\r\nHost: t\r\n\r\n\
                    HEAD /edge.bin HTTP/1.1\r\nHost: t\r\n\r\n\
                    GET /edge.bin HTTP/1.1\r\nHost: t\r\n\r\n\
                    GET /small.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000-70999\r\n\r\n\
                    GET /large.bin HTTP/1.1\r\nHost: t\r\n\r\n\
                    GET /small.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    for slow in [false, true] {
        let mut s = server.connect();
        s.write_all(requests.as_bytes()).unwrap();
        // Slow: a reader slower than the server, so its socket buffer fills.
        let raw = if slow {
            read_paced(&mut s, 4096, Some((1, Duration::from_millis(2))))
        } else {
            read_paced(&mut s, 1 << 20, None)
        };
        let r = parse_all(&raw, &[false, true, false, false, false, false]);
        assert_eq!(r.len(), 6, "slow={slow}");
        assert_eq!((r[0].status, r[0].body.as_slice()), (200, small.as_slice()), "slow={slow}");
        assert_eq!((r[1].status, r[1].header("content-length")), (200, Some("131072")), "slow={slow}");
        assert!(r[1].body.is_empty());
        assert_eq!((r[2].status, r[2].body.as_slice()), (200, edge.as_slice()), "slow={slow}");
        assert_eq!((r[3].status, r[3].body.as_slice()), (206, &small[1000..71000]), "slow={slow}");
        assert_eq!((r[4].status, r[4].body.as_slice()), (200, large.as_slice()), "slow={slow}");
        assert_eq!((r[5].status, r[5].body.as_slice()), (200, small.as_slice()), "slow={slow}");
    }
}

/// `--sendfile off` copies file bodies through the worker's buffer: whole
/// bodies, slow readers, multipart ranges and a file that shrinks while it
/// is sent behave exactly as with sendfile.
#[test]
fn sendfile_off_copies_bodies_exactly() {
    let site = site("sf-sendfile-off");
    let big = noise(3 * 1024 * 1024 + 17, 11);
    let path = site.root.join("big.bin");
    fs::write(&path, &big).unwrap();
    fs::write(site.root.join("shrinking.bin"), vec![b'z'; 32 * 1024 * 1024]).unwrap();
    let server = Server::start(&site.root, &["--sendfile", "off"]);

    let r = get(&server, "/big.bin", &[]);
    assert_eq!((r.status, r.body.len()), (200, big.len()));
    assert!(r.body == big, "the copied body differs from the file");
    let r = get(&server, "/big.bin", &[("Range", "bytes=5-9,200000-1300000,-1000")]);
    assert_eq!(r.status, 206);
    let parts = check_multipart(&r.body, r.header("content-type").unwrap(), "application/octet-stream", &path);
    assert_eq!(parts.len(), 3);

    // A slow reader: the socket takes less than the buffer holds, again and again.
    let mut s = server.connect();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let raw = read_paced(&mut s, 64 * 1024, Some((8, Duration::from_millis(1))));
    let r = parse_all(&raw, &[false]);
    assert_eq!(r.len(), 1);
    assert!(r[0].body == big, "the slowly read body differs from the file");

    // Truncated mid-send: the connection closes, short of the promised length.
    truncate_while_sent(&server, &site.root.join("shrinking.bin"), 32 * 1024 * 1024);
}

/// A large file sent to a client on this host goes out through a 64 KiB
/// send buffer, not the 4 MiB the kernel's autotuning reaches on loopback.
/// The trace says what wired set and why; `ss` shows the kernel applied it
/// (it doubles the value, and caps it at net.core.wmem_max).
#[test]
fn a_large_file_to_a_client_on_this_host_gets_a_small_send_buffer() {
    let why = "reads the socket's buffer with ss, by the client's port";
    if crate::tls_shim::plain_only(why) || crate::h2_shim::h1_only(why) {
        return;
    }
    let site = site("sf-send-buffer");
    let large = noise(8 * 1024 * 1024, 5);
    fs::write(site.root.join("large.bin"), &large).unwrap();
    let trace_path = site.root.parent().unwrap().join("send-buffer-trace.log");
    let trace_arg = format!("--trace={}", trace_path.display());
    let server = Server::start(&site.root, &[&trace_arg]);

    let mut s = server.connect();
    let local_port = s.local_addr().unwrap().port();
    s.write_all(b"GET /large.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = vec![0u8; 64 * 1024];
    s.read_exact(&mut raw).unwrap();

    // What wired set, from its trace.
    let start = Instant::now();
    let (set, line): (usize, String) = loop {
        let trace = fs::read_to_string(&trace_path).unwrap_or_default();
        let found = trace.lines().find_map(|l| {
            let rest = l.split_once("] send buffer: ")?.1;
            Some((rest.split(' ').next()?.parse().ok()?, rest.to_string()))
        });
        if let Some(v) = found {
            break v;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "no send buffer line in the trace:\n{trace}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(set, 64 * 1024, "{line}");
    assert!(line.contains("for a client on this host"), "{line}");

    // What the kernel holds, for the server's end of this connection.
    let wmem_max: usize = fs::read_to_string("/proc/sys/net/core/wmem_max").unwrap().trim().parse().unwrap();
    let out = std::process::Command::new("ss")
        .args(["-tmnH", "state", "established", &format!("( dport = :{local_port} )")])
        .output()
        .expect("run ss (iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    let tb: usize = text
        .split(|c: char| c == ',' || c == '(' || c == ')' || c.is_whitespace())
        .find_map(|field| field.strip_prefix("tb")?.parse().ok())
        .unwrap_or_else(|| panic!("no tb in ss output {text:?}"));
    assert_eq!(tb, 2 * set.min(wmem_max), "ss: {text}");

    // And the body is whole.
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.read_to_end(&mut raw).unwrap();
    let r = parse_all(&raw, &[false]);
    assert_eq!(r.len(), 1);
    assert!(r[0].body == large, "the body differs from the file");
}
