"""Memory per idle keep-alive connection.

Open N connections to a server on 127.0.0.1, send one request on each, read
its response, and keep every connection open. Then take the server's
resident memory (VmRSS summed over its processes) and compare it with the
figure before the first connection: the difference divided by the
connections still open is what one idle client costs the server. All the
connections are closed at the end.

Bounded: connections are opened in batches of BATCH, each batch must finish
within BATCH_TIMEOUT seconds, and the whole test stops after TOTAL_TIMEOUT.

Runnable alone: python3 bench/idle.py PORT SERVER_PID [N]
"""

import errno
import resource
import selectors
import socket
import struct
import sys
import time

import procstat

BATCH = 250
BATCH_TIMEOUT = 15.0
TOTAL_TIMEOUT = 120.0
SETTLE = 1.0


def raise_fd_limit(need):
    """Soft RLIMIT_NOFILE up to the hard limit (what `ulimit -n` does)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _response_complete(buf):
    """True once `buf` holds a whole response with a Content-Length body."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(buf) >= end + 4 + length


def _run_batch(conns, port, n, request):
    """Open n connections, one request each; return (ok list, failures)."""
    sel = selectors.DefaultSelector()
    pending = {}
    failures = 0
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            failures += 1
            continue
        pending[s] = bytearray()
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + BATCH_TIMEOUT
    while pending and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.5):
            s = key.fileobj
            if events & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    sel.unregister(s)
                    s.close()
                    del pending[s]
                    failures += 1
                    continue
                try:
                    s.send(request)  # 40 bytes: fits any empty socket buffer
                except OSError:
                    sel.unregister(s)
                    s.close()
                    del pending[s]
                    failures += 1
                    continue
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                del pending[s]
                failures += 1
                continue
            pending[s] += data
            if _response_complete(pending[s]):
                sel.unregister(s)
                del pending[s]
                conns.append(s)
    for s in pending:
        s.close()
    failures += len(pending)
    sel.close()
    return failures


def _still_open(conns):
    """How many connections the server has not closed (no EOF waiting)."""
    sel = selectors.DefaultSelector()
    for s in conns:
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    for key, _ in sel.select(timeout=0):
        try:
            if key.fileobj.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except OSError:
            closed += 1
    sel.close()
    return len(conns) - closed


def measure(port, server_pid, n=10_000, path="/index.html", probe=None):
    """Run the test; returns a dict of figures (and `error` if short).
    `probe`, a function, is called while the connections are open, beside
    the RSS reading; what it returns is the figure `probe`."""
    limit = raise_fd_limit(n + 64)
    if limit < n + 64:
        return {"error": f"fd limit {limit} is below {n + 64}"}
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    pids = procstat.tree(server_pid)
    before = procstat.rss_kib(pids)
    conns, failures = [], 0
    t0 = time.monotonic()
    try:
        while len(conns) + failures < n and time.monotonic() - t0 < TOTAL_TIMEOUT:
            failures += _run_batch(conns, port, min(BATCH, n - len(conns) - failures), request)
        opened_s = time.monotonic() - t0
        time.sleep(SETTLE)
        pids = procstat.tree(server_pid)
        after = procstat.rss_kib(pids)
        probed = probe() if probe else None
        open_now = _still_open(conns)
    finally:
        # Close with a reset (SO_LINGER 0) rather than a FIN: 10,000 sockets
        # per server per round would otherwise sit in TIME_WAIT for a minute.
        linger = struct.pack("ii", 1, 0)
        for s in conns:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            s.close()
    out = figures(n, len(conns), failures, open_now, before, after, opened_s)
    if probe:
        out["probe"] = probed
    return out


def figures(n, answered, failures, open_now, before, after, opened_s):
    """The result of an idle test (plain or TLS), with `error` if short."""
    out = {
        "connections": n,
        "answered": answered,
        "failed": failures,
        "still_open": open_now,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_conn": round((after - before) / open_now, 2) if open_now else None,
        "open_seconds": round(opened_s, 2),
    }
    if open_now < n:
        out["error"] = (f"only {open_now} of {n} connections open at measurement "
                        f"({failures} failed, {answered - open_now} closed by the server)")
    return out


if __name__ == "__main__":
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    print(measure(port, pid, count))
