"""Memory per idle WebSocket.

Open N WebSockets to a server on 127.0.0.1: on each, the opening handshake
(checked: 101 and the right Sec-WebSocket-Accept), then one 64-byte text
message and its echo, so every connection has been through the server's
frame path once; then keep them all open and quiet. Take the server's
resident memory (VmRSS summed over its processes) and compare it with the
figure before the first connection: the difference divided by the
connections still open is what one idle WebSocket costs the server. The
same arithmetic as idle.py, whose limits, batches and figures this shares.

Behind a proxy (wired --ws-proxy, nginx) each client connection is also a
connection to the application, so the server holds two descriptors per
WebSocket: the harness runs that test with fewer connections (see
harness.py, IDLE_WS_PROXY_KEY) where the descriptor limit is tight.

Quiet means quiet for less than a minute: wired pings a WebSocket idle for
--ws-idle-timeout (60 s), and nginx closes a proxied one after
proxy_read_timeout (60 s); the test opens, measures and closes well within
that.

Runnable alone: python3 bench/idle_ws.py PORT SERVER_PID PATH [N]
"""

import errno
import selectors
import socket
import struct
import sys
import time

import idle
import procstat
import wsclient

# 64 bytes, as the load's messages (harness.WS_MESSAGE_BYTES).
MESSAGE = b"wired bench: one message before the connection goes idle"[:64].ljust(64, b".")


def _fail(sel, pending, s):
    sel.unregister(s)
    s.close()
    del pending[s]


def _run_batch(conns, port, path, n):
    """Open n WebSockets, one echo each; append the good ones to conns and
    return how many failed."""
    sel = selectors.DefaultSelector()
    # socket -> [stage, key, bytes read]; stage: connect, handshake, echo
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
        pending[s] = ["connect", wsclient.new_key(), b""]
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + idle.BATCH_TIMEOUT
    while pending and time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.5):
            s = key.fileobj
            state = pending[s]
            if state[0] == "connect":
                try:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        raise OSError("connect failed")
                    # Small enough for any empty socket buffer: one send.
                    s.send(wsclient.handshake_request(port, path, state[1]))
                except OSError:
                    _fail(sel, pending, s)
                    failures += 1
                    continue
                state[0] = "handshake"
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                _fail(sel, pending, s)
                failures += 1
                continue
            state[2] += data
            if state[0] == "handshake":
                head, sep, rest = state[2].partition(b"\r\n\r\n")
                if not sep:
                    continue
                if wsclient.check_answer(head, state[1]) is not None:
                    _fail(sel, pending, s)
                    failures += 1
                    continue
                state[0], state[2] = "echo", rest
                s.send(wsclient.frame(0x1, MESSAGE))
            try:
                parsed = wsclient.parse_frame(state[2])
            except ValueError:
                parsed = (0, b"", 0)
            if parsed is None:
                continue
            if parsed[0] != 0x81 or parsed[1] != MESSAGE:
                _fail(sel, pending, s)
                failures += 1
                continue
            sel.unregister(s)
            del pending[s]
            conns.append(s)
    for s in pending:
        s.close()
    failures += len(pending)
    sel.close()
    return failures


def measure(port, server_pid, n=10_000, path="/echo", probe=None):
    """Run the test; returns a dict of figures (and `error` if short), as
    idle.measure. `probe`, a function, is called while the connections are
    open, beside the RSS reading; what it returns is the figure `probe`."""
    limit = idle.raise_fd_limit(n + 64)
    if limit < n + 64:
        return {"error": f"fd limit {limit} is below {n + 64}"}
    pids = procstat.tree(server_pid)
    before = procstat.rss_kib(pids)
    conns, failures = [], 0
    t0 = time.monotonic()
    try:
        while len(conns) + failures < n and time.monotonic() - t0 < idle.TOTAL_TIMEOUT:
            failures += _run_batch(conns, port, path, min(idle.BATCH, n - len(conns) - failures))
        opened_s = time.monotonic() - t0
        time.sleep(idle.SETTLE)
        pids = procstat.tree(server_pid)
        after = procstat.rss_kib(pids)
        probed = probe() if probe else None
        open_now = idle._still_open(conns)
    finally:
        # A reset, as idle.py: no TIME_WAIT for thousands of sockets.
        linger = struct.pack("ii", 1, 0)
        for s in conns:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            s.close()
    out = idle.figures(n, len(conns), failures, open_now, before, after, opened_s)
    if probe:
        out["probe"] = probed
    return out


if __name__ == "__main__":
    port, pid, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
    print(measure(port, pid, count, path))
