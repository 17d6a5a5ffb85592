"""Memory per idle HTTP/2 connection.

The HTTP/2 twin of idle.py and idle_tls.py: open N connections to a
server's HTTP/2 port on 127.0.0.1, over TLS (ALPN h2, SNI `localhost`, the
test CA trusted) or by prior knowledge (h2c), make one request on each
(GET /index.html on stream 1, its answer read to END_STREAM) and keep every
connection open. The server's resident memory after, minus before, divided
by the connections still open, is what one idle HTTP/2 client costs it:
the socket, the connection's state, its HPACK tables and whatever the TLS
library keeps.

The frames are the Python `h2` library's (pip install h2; Debian's
python3-h2). Connections are made one after another (the server is idle
between them, as a quiet browser's connection is); bounded by
TOTAL_TIMEOUT, each connection by STEP_TIMEOUT.

Runnable alone: python3 bench/idle_h2.py PORT SERVER_PID [N] [CA_FILE]
(with CA_FILE: over TLS; without: h2c)
"""

import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

import procstat
from idle import SETTLE, figures, raise_fd_limit

TOTAL_TIMEOUT = 180.0
STEP_TIMEOUT = 10.0


class Conn:
    """One client connection: the socket and its h2 state."""

    def __init__(self, sock, h2conn):
        self.sock, self.h2 = sock, h2conn


def _one(ctx, port, path):
    """One HTTP/2 connection with one answered request, or a reason why not."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT)
        if ctx is not None:
            s = ctx.wrap_socket(s, server_hostname="localhost")
            if s.selected_alpn_protocol() != "h2":
                s.close()
                return f"ALPN chose {s.selected_alpn_protocol()!r}, not h2"
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        c.initiate_connection()
        c.send_headers(1, [(":method", "GET"), (":scheme", "https" if ctx else "http"),
                           (":authority", f"localhost:{port}"), (":path", path)], end_stream=True)
        s.sendall(c.data_to_send())
        status, done = None, False
        while not done:
            data = s.recv(65536)
            if not data:
                s.close()
                return "closed before the answer"
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    status = dict(ev.headers).get(":status")
                elif isinstance(ev, h2.events.DataReceived):
                    c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == 1:
                    done = True
                elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    s.close()
                    return f"{type(ev).__name__}: {ev}"
            # SETTINGS acknowledgements and window updates go out at once.
            out = c.data_to_send()
            if out:
                s.sendall(out)
        if status != "200":
            s.close()
            return f"status {status}"
        return Conn(s, c)
    except (OSError, h2.exceptions.ProtocolError) as e:
        return f"{type(e).__name__}: {e}"


def _still_open(conns):
    """How many connections the server has neither closed nor sent GOAWAY
    on: each reads what has come meanwhile without waiting."""
    n = 0
    for conn in conns:
        conn.sock.setblocking(False)
        alive = True
        try:
            while True:
                data = conn.sock.recv(65536)
                if not data:
                    alive = False
                    break
                if any(isinstance(ev, h2.events.ConnectionTerminated) for ev in conn.h2.receive_data(data)):
                    alive = False
                    break
        except (BlockingIOError, ssl.SSLWantReadError):
            pass
        except (OSError, h2.exceptions.ProtocolError):
            alive = False
        n += alive
    return n


def measure(port, server_pid, n=2_000, tls_ca=None, path="/index.html"):
    """Run the test (over TLS when tls_ca is the CA file, else h2c);
    returns a dict of figures (and `error` if short)."""
    limit = raise_fd_limit(n + 64)
    if limit < n + 64:
        return {"error": f"fd limit {limit} is below {n + 64}"}
    ctx = None
    if tls_ca:
        ctx = ssl.create_default_context(cafile=tls_ca)
        ctx.set_alpn_protocols(["h2"])
    pids = procstat.tree(server_pid)
    before = procstat.rss_kib(pids)
    conns, failures, first_failure = [], 0, None
    t0 = time.monotonic()
    try:
        while len(conns) + failures < n and time.monotonic() - t0 < TOTAL_TIMEOUT:
            c = _one(ctx, port, path)
            if isinstance(c, str):
                failures += 1
                first_failure = first_failure or c
                # A server that refuses h2 refuses it every time: stop early.
                if not conns and failures >= 10:
                    break
            else:
                conns.append(c)
        opened_s = time.monotonic() - t0
        time.sleep(SETTLE)
        after = procstat.rss_kib(procstat.tree(server_pid))
        open_now = _still_open(conns)
    finally:
        linger = struct.pack("ii", 1, 0)
        for c in conns:
            try:
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                c.sock.close()
            except OSError:
                pass
    out = figures(n, len(conns), failures, open_now, before, after, opened_s)
    if first_failure and "error" in out:
        out["error"] += f"; first failure: {first_failure}"
    return out


if __name__ == "__main__":
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000
    ca = sys.argv[4] if len(sys.argv) > 4 else None
    print(measure(port, pid, count, ca))
