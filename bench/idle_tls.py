"""Memory per idle HTTPS keep-alive connection.

The TLS twin of idle.py: open N connections to a server's TLS port on
127.0.0.1, complete a TLS handshake on each (SNI `localhost`, the test CA
trusted), send one request, read its response, and keep every connection
open. The server's resident memory after, minus before, divided by the
connections still open, is what one idle HTTPS client costs it: the socket,
the connection's state and whatever the TLS library keeps between requests.

Handshakes are made one after another (the server is idle between them, as
a keep-alive client is): bounded by TOTAL_TIMEOUT.

Runnable alone: python3 bench/idle_tls.py PORT SERVER_PID CA_FILE [N]
"""

import socket
import ssl
import struct
import sys
import time

import procstat
from idle import SETTLE, _response_complete, _still_open, figures, raise_fd_limit

TOTAL_TIMEOUT = 300.0


def _one(ctx, port, request):
    """One TLS connection with one answered request, or None."""
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(request)
        buf = bytearray()
        while not _response_complete(buf):
            data = s.recv(65536)
            if not data:
                s.close()
                return None
            buf += data
        return s
    except OSError:
        return None


def measure(port, server_pid, cafile, n=10_000, path="/index.html"):
    """Run the test; returns a dict of figures (and `error` if short)."""
    limit = raise_fd_limit(n + 64)
    if limit < n + 64:
        return {"error": f"fd limit {limit} is below {n + 64}"}
    ctx = ssl.create_default_context(cafile=cafile)
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    pids = procstat.tree(server_pid)
    before = procstat.rss_kib(pids)
    conns, failures = [], 0
    t0 = time.monotonic()
    try:
        while len(conns) + failures < n and time.monotonic() - t0 < TOTAL_TIMEOUT:
            s = _one(ctx, port, request)
            if s is None:
                failures += 1
            else:
                conns.append(s)
        opened_s = time.monotonic() - t0
        time.sleep(SETTLE)
        after = procstat.rss_kib(procstat.tree(server_pid))
        # _still_open peeks at the raw sockets: an SSLSocket refuses MSG_PEEK.
        raws = [socket.socket(fileno=s.fileno()) for s in conns]
        open_now = _still_open(raws)
        for r in raws:
            r.detach()
    finally:
        linger = struct.pack("ii", 1, 0)
        for s in conns:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            s.close()
    return figures(n, len(conns), failures, open_now, before, after, opened_s)


if __name__ == "__main__":
    port, pid, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
    print(measure(port, pid, ca, count))
