#!/usr/bin/env python3
"""A deliberately broken HTTP/1.1 upstream, standard library only.

The tests put it behind `wired --proxy` and check what reaches the client.
It binds 127.0.0.1 on an ephemeral port, prints `PORT <n>` on stdout when it
is ready, and exits by itself after `--lifetime` seconds, whatever happens.

Each connection runs on its own thread and may carry several requests; what
is answered depends on the request path (see `route`), unless `--mode` forces
one behaviour for every connection:

  route      (default) answer by path
  close      read each request, count it, close without a byte (a server
             that fails every request; /_stats is still answered)
  no-accept  listen with a backlog of 0, fill it from here, never accept: a
             connect to it hangs until the client's connect timeout

A connection that has been sent a broken response is marked poisoned: if a
later request arrives on it, the answer is a clean 200 whose body is
POISON_MARK, so a test can prove that connection was never reused.

`GET /_stats` (sent to this server directly, not through wired) answers, one
per line: `accepted N` (connections, not counting the ones asking for
stats), `endless_sent N` (bytes /endless managed to write), then one
`request CONN SEQ METHOD TARGET` line per request received, in order (CONN
numbers connections from 1, SEQ numbers requests on a connection from 1).
"""
import argparse
import os
import socket
import sys
import threading
import time

POISON_MARK = b"POISONED-UPSTREAM-CONNECTION-REUSED"
STRAY_MARK = b"STRAY-UPSTREAM-BYTES"

lock = threading.Lock()
stats = {"accepted": 0, "endless_sent": 0, "log": []}
conn_ids = iter(range(1, 1 << 30))


class PeerGone(Exception):
    """The peer closed: stop quietly."""


class Conn:
    """One accepted connection and its read buffer."""

    def __init__(self, sock, cid):
        self.sock = sock
        self.cid = cid
        self.buf = b""
        self.seq = 0
        self.poisoned = False

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise PeerGone()
        self.buf += data

    def read_until(self, mark, limit=65536):
        while mark not in self.buf:
            if len(self.buf) > limit:
                raise PeerGone()
            self.fill()
        i = self.buf.index(mark) + len(mark)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            raise PeerGone()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Request:
    def __init__(self, head):
        self.head = head
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        self.method, self.target = parts[0], parts[1] if len(parts) > 1 else "/"
        self.path = self.target.split("?")[0]
        self.query = self.target.split("?", 1)[1] if "?" in self.target else ""
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                self.headers.append((name.strip().lower(), value.strip()))

    def header(self, name):
        for n, v in self.headers:
            if n == name:
                return v
        return None


def read_body(conn, req):
    """The request body, by Content-Length or chunked; (bytes, framing)."""
    te = req.header("transfer-encoding")
    if te and "chunked" in te.lower():
        body = b""
        while True:
            size = int(conn.read_until(b"\r\n").split(b";")[0].strip(), 16)
            if size == 0:
                while conn.read_until(b"\r\n") != b"\r\n":
                    pass
                return body, "chunked"
            body += conn.read_exact(size)
            conn.read_exact(2)
    length = req.header("content-length")
    if length is not None:
        return conn.read_exact(int(length)), "length"
    return b"", "none"


def respond(conn, status, body, headers=(), close=False):
    head = "HTTP/1.1 %s\r\nContent-Length: %d\r\n" % (status, len(body))
    for name, value in headers:
        head += "%s: %s\r\n" % (name, value)
    if close:
        head += "Connection: close\r\n"
    conn.send(head.encode("latin-1") + b"\r\n" + body)
    if close:
        raise PeerGone()


def wait_for_peer(conn, seconds=30):
    """Hold the connection, sending nothing, until the peer goes."""
    conn.sock.settimeout(seconds)
    try:
        while conn.sock.recv(65536):
            pass
    except OSError:
        pass
    raise PeerGone()


# Status lines no parser may accept (`/invalid-status/N`).
INVALID_STATUS = [
    b"HTTP/1.1 2000 OK\r\n",
    b"HTTP/1.1 20 OK\r\n",
    b"HTTP/1.1 abc OK\r\n",
    b"HTTX/1.1 200 OK\r\n",
    b"HTTP/1.1200 OK\r\n",
    b"garbage\r\n",
    b"\x00\x01\x02 binary\r\n",
    b" HTTP/1.1 200 OK\r\n",
]


def route(conn, req):
    """Answer one request; raise PeerGone to end the connection."""
    p = req.path
    if p == "/ok" or p == "/keep-alive":
        read_body(conn, req)
        respond(conn, "200 OK", b"ok\n", [("Content-Type", "text/plain")])
    elif p == "/bytes":
        # N known bytes (the query), sent chunked in 16 KiB pieces: a large
        # body whose every byte a test can check.
        read_body(conn, req)
        n = int(req.query or "0")
        body = bytes(i % 251 for i in range(n))
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for at in range(0, n, 16384):
            piece = body[at:at + 16384]
            conn.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
    elif p == "/whoami":
        read_body(conn, req)
        respond(conn, "200 OK", NAME.encode() + b"\n", [("Content-Type", "text/plain")])
    elif p == "/echo-head":
        # The request head exactly as it arrived: for Host, X-Forwarded-*,
        # Via and the removal of hop-by-hop fields.
        read_body(conn, req)
        respond(conn, "200 OK", req.head, [("Content-Type", "text/plain")])
    elif p == "/echo-body":
        # Honour 100-continue as an origin server does, then send back the
        # body, saying how it was framed on the way in.
        if (req.header("expect") or "").lower() == "100-continue":
            conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body, framing = read_body(conn, req)
        respond(conn, "200 OK", body, [("X-Body-Framing", framing), ("Content-Type", "application/octet-stream")])
    elif p == "/refuse-body":
        # Refuse on the head alone: with 100-continue, no body should come.
        respond(conn, "413 Content Too Large", b"too large\n", close=True)
    elif p == "/early-answer":
        # Answer as soon as any body byte is here: the body must be streamed.
        while not conn.buf:
            conn.fill()
        got = len(conn.buf)
        respond(conn, "200 OK", b"answered after %d body bytes\n" % got, close=True)
    elif p == "/sleep":
        read_body(conn, req)
        time.sleep(float(req.query or "1"))
        respond(conn, "200 OK", b"slept\n")
    elif p == "/set-cookies":
        read_body(conn, req)
        respond(conn, "200 OK", b"two cookies\n", [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2, c; Path=/")])
    elif p == "/interim":
        # Two 1xx responses, then the final one.
        read_body(conn, req)
        conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        time.sleep(0.05)
        conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload\r\n\r\n")
        respond(conn, "200 OK", b"final\n")
    elif p == "/chunked-ext":
        # Chunk extensions and a trailer section: the client must get the
        # bytes, in valid framing of wired's own.
        read_body(conn, req)
        conn.send(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            b"5;name=value\r\nhello\r\n"
            b'6;quoted="a;b"\r\n world\r\n'
            b"A\r\n, chunked\n\r\n"
            b"0;last\r\nX-Checksum: 42\r\n\r\n"
        )
    elif p == "/close-delimited" or p == "/http10":
        # No length: the body ends when the connection does. Sent in pieces.
        read_body(conn, req)
        version = b"HTTP/1.0" if p == "/http10" else b"HTTP/1.1"
        conn.send(version + b" 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        for i in range(3):
            time.sleep(0.05)
            conn.send(b"close-delimited part %d\n" % i)
        raise PeerGone()
    elif p == "/connection-close":
        read_body(conn, req)
        respond(conn, "200 OK", b"closing\n", close=True)
    elif p == "/hop-by-hop":
        # Hop-by-hop fields, and one named by Connection: none may reach the client.
        read_body(conn, req)
        respond(
            conn,
            "200 OK",
            b"hop\n",
            [
                ("Connection", "X-Secret, keep-alive"),
                ("X-Secret", "hop-only"),
                ("Keep-Alive", "timeout=5, max=100"),
                ("Proxy-Connection", "keep-alive"),
                ("TE", "trailers"),
                ("Trailer", "X-Never"),
                ("Upgrade", "h2c"),
                ("X-Kept", "end-to-end"),
            ],
        )
    elif p == "/head-length":
        # A correct answer to HEAD: the length of the GET body, and no body.
        read_body(conn, req)
        body = b"x" * 1234
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n" + (b"" if req.method == "HEAD" else body))
    elif p == "/head-with-body":
        # Broken: a body even for HEAD, in the same write as the head.
        read_body(conn, req)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        conn.poisoned = req.method == "HEAD"
    elif p == "/304-with-body":
        # Broken: bytes after a 304, which has no body.
        read_body(conn, req)
        conn.send(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 4\r\n\r\noops')
        conn.poisoned = True
    elif p == "/204-with-body":
        read_body(conn, req)
        conn.send(b"HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\noops")
        conn.poisoned = True
    elif p.startswith("/split-"):
        # Response splitting: a bare CR, a bare LF, a NUL or an obs-fold
        # inside a field value. The framing is sound, so the connection is
        # not marked: a server that rejects or repairs the field may reuse it.
        read_body(conn, req)
        evil = {
            "/split-cr": b"X-Evil: a\rSet-Cookie: pwned=1\r\n",
            "/split-lf": b"X-Evil: a\nSet-Cookie: pwned=1\r\n",
            "/split-nul": b"X-Evil: a\x00Set-Cookie: pwned=1\r\n",
            "/split-fold": b"X-Folded: a\r\n Set-Cookie: pwned=1\r\n",
        }[p]
        conn.send(b"HTTP/1.1 200 OK\r\n" + evil + b"Content-Length: 3\r\n\r\nok\n")
    elif p == "/cl-and-te":
        # Both framings: Transfer-Encoding wins (RFC 9112 section 6.3); read
        # by the Content-Length, the rest would be a second response.
        read_body(conn, req)
        stray = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(STRAY_MARK), STRAY_MARK)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + stray)
        conn.poisoned = True
    elif p == "/too-long":
        # More bytes than Content-Length, shaped like a whole second response.
        read_body(conn, req)
        stray = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(STRAY_MARK), STRAY_MARK)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + stray)
        conn.poisoned = True
    elif p == "/too-short":
        read_body(conn, req)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
        raise PeerGone()
    elif p == "/head-then-close":
        read_body(conn, req)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        raise PeerGone()
    elif p == "/close-at-once":
        read_body(conn, req)
        raise PeerGone()
    elif p == "/no-read":
        # Never read the body, never answer: the sender's writes stall.
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        time.sleep(30)
        raise PeerGone()
    elif p == "/stall-head":
        read_body(conn, req)
        wait_for_peer(conn)
    elif p == "/stall-body":
        read_body(conn, req)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"s" * 100)
        wait_for_peer(conn)
    elif p == "/stall-chunked":
        read_body(conn, req)
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        wait_for_peer(conn)
    elif p == "/header-flood":
        # A head that never ends, until the peer goes.
        read_body(conn, req)
        conn.send(b"HTTP/1.1 200 OK\r\n")
        n = 0
        while True:
            conn.send(b"X-Flood-%d: %s\r\n" % (n, b"f" * 200))
            n += 1
    elif p.startswith("/invalid-status/"):
        read_body(conn, req)
        line = INVALID_STATUS[int(p.rsplit("/", 1)[1])]
        conn.send(line + b"Content-Length: 3\r\n\r\nok\n")
        conn.poisoned = True
    elif p == "/endless":
        # Bytes as fast as the peer takes them, close-delimited: how many
        # were written shows whether wired applies backpressure.
        read_body(conn, req)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
        block = b"\0" * 65536
        while True:
            conn.send(block)
            with lock:
                stats["endless_sent"] += len(block)
    elif p == "/drop-second":
        # The first request on a connection is answered; any later one on the
        # same connection is read, then the connection closed without a
        # byte: a pooled connection the upstream dropped.
        read_body(conn, req)
        if conn.seq == 1:
            respond(conn, "200 OK", b"served\n")
        else:
            raise PeerGone()
    elif p == "/drop-always":
        read_body(conn, req)
        raise PeerGone()
    else:
        read_body(conn, req)
        respond(conn, "404 Not Found", b"no such route\n")


def stats_text():
    with lock:
        out = "accepted %d\nendless_sent %d\n" % (stats["accepted"], stats["endless_sent"])
        for cid, seq, method, target in stats["log"]:
            out += "request %d %d %s %s\n" % (cid, seq, method, target)
    return out.encode()


def serve(sock):
    with lock:
        cid = next(conn_ids)
        stats["accepted"] += 1
    conn = Conn(sock, cid)
    try:
        while True:
            req = Request(conn.read_until(b"\r\n\r\n"))
            conn.seq += 1
            if req.path == "/_stats":
                with lock:
                    if conn.seq == 1:
                        stats["accepted"] -= 1
                respond(conn, "200 OK", stats_text(), close=True)
            with lock:
                stats["log"].append((cid, conn.seq, req.method, req.target))
            if MODE == "close":
                raise PeerGone()
            if conn.poisoned:
                read_body(conn, req)
                respond(conn, "200 OK", POISON_MARK)
                continue
            route(conn, req)
    except (PeerGone, OSError, ValueError, IndexError):
        pass
    finally:
        conn.close()


def main():
    global MODE, NAME
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="route", choices=["route", "close", "no-accept"])
    parser.add_argument("--name", default="hostile")
    parser.add_argument("--lifetime", type=float, default=120.0)
    args = parser.parse_args()
    MODE, NAME = args.mode, args.name
    # Whatever happens, go away in bounded time.
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if MODE == "no-accept":
        # A full accept queue: the kernel drops further SYNs, so a connect
        # neither succeeds nor is refused.
        listener.listen(0)
        fillers = []
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        time.sleep(0.2)
        print("PORT %d" % port, flush=True)
        time.sleep(args.lifetime)
        return
    listener.listen(128)
    print("PORT %d" % port, flush=True)
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


MODE, NAME = "route", "hostile"

if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
