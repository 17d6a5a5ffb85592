"""The client side of a WebSocket (RFC 6455) in a few functions, for the
harness's start checks (servers.py, upstreams.py) and the idle WebSocket
test (idle_ws.py). The load itself is bench/ws/ws_load.c.

Only what those need: the opening handshake (§4.1, §4.2.2) without
extensions, so permessage-deflate is never on; masked client frames (§5.3)
of up to 65535 bytes; and reading one server frame from a buffer.
"""

import base64
import hashlib
import os
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# What echo_check sends: short, text, easy to spot in a trace.
CHECK_MESSAGE = b"wired bench: echo check"


def new_key():
    """A fresh Sec-WebSocket-Key: 16 random bytes in base64."""
    return base64.b64encode(os.urandom(16))


def accept_for(key):
    """The Sec-WebSocket-Accept a server must answer `key` with."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def handshake_request(port, path, key):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\n\r\n").encode()


def check_answer(head, key):
    """None if `head` (the answer's bytes up to the blank line) accepts the
    handshake made with `key`; else why not."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 101 "):
        return f"answered {lines[0][:60]!r}, not 101"
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if fields.get(b"sec-websocket-accept") != accept_for(key):
        return f"Sec-WebSocket-Accept {fields.get(b'sec-websocket-accept')!r} is wrong"
    if b"sec-websocket-extensions" in fields:
        return "an extension was accepted, though none was offered"
    return None


def frame(opcode, payload, fin=True):
    """A client's frame: masked with a fresh key."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n)
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return head + mask + masked


def parse_frame(buf):
    """The first whole server frame in `buf`: (first byte, payload, bytes
    used), or None while it is incomplete. ValueError for a masked one
    (a server's never are, §5.1)."""
    if len(buf) < 2:
        return None
    if buf[1] & 0x80:
        raise ValueError("a masked frame from the server")
    n, pos = buf[1] & 0x7F, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, pos = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, pos = struct.unpack("!Q", buf[2:10])[0], 10
    if len(buf) < pos + n:
        return None
    return buf[0], bytes(buf[pos:pos + n]), pos + n


def echo_check(port, path, timeout=5.0):
    """One WebSocket to 127.0.0.1:port at `path`: the handshake, one text
    message and its echo (one frame, FIN, the same bytes), a Close and the
    server's Close. None if all went right, else why not."""
    key = new_key()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            s.sendall(handshake_request(port, path, key))
            buf = b""
            deadline = time.monotonic() + timeout
            while b"\r\n\r\n" not in buf:
                data = s.recv(4096)
                if not data or time.monotonic() > deadline:
                    return f"handshake: closed after {len(buf)} bytes"
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            why = check_answer(head, key)
            if why:
                return f"handshake: {why}"
            s.sendall(frame(0x1, CHECK_MESSAGE))
            answers = []
            closed = False
            while not closed:
                parsed = parse_frame(buf)
                if parsed is None:
                    data = s.recv(4096)
                    if not data or time.monotonic() > deadline:
                        return f"closed before the echo (frames seen: {answers})"
                    buf += data
                    continue
                first, payload, used = parsed
                buf = buf[used:]
                answers.append((first, payload))
                if first == 0x81:
                    if payload != CHECK_MESSAGE:
                        return f"echo {payload[:40]!r} is not the message sent"
                    s.sendall(frame(0x8, struct.pack("!H", 1000)))
                elif first & 0x0F == 0x8:
                    closed = True
            if not answers or answers[0][0] != 0x81:
                return f"no echo before Close: {answers}"
    except (OSError, ValueError) as e:
        return f"{e.__class__.__name__}: {e}"
    return None
