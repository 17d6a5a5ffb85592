#!/usr/bin/env python3
"""A minimal FastCGI client (standard library only), to ask php-fpm directly.

Not used by the tests: it is for a human asking whether a failure is
php-fpm's or wired's. One request, the responder role, then the raw CGI
response (head and body, as php-fpm wrote it) on stdout, STDERR records on
stderr, and the application's exit status as this program's.

    fcgi_client.py unix:/tmp/x/php-fpm.sock /tmp/x/root/get.php --query 'a=1'
    fcgi_client.py 127.0.0.1:9000 /srv/upload.php --method POST --body-file f \
        --param CONTENT_TYPE=application/octet-stream
"""
import argparse
import os
import socket
import struct
import sys

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1


def record(kind, content, request_id=1):
    pad = -len(content) % 8
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), pad) + content + b"\0" * pad


def name_value(name, value):
    out = b""
    for n in (len(name), len(value)):
        out += struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def stream(kind, data):
    """A stream in records of at most 65535 bytes, then its empty end record."""
    out = b"".join(record(kind, data[i : i + 65535]) for i in range(0, len(data), 65535))
    return out + record(kind, b"")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("address", help="unix:/path or HOST:PORT")
    ap.add_argument("script", help="SCRIPT_FILENAME")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--query", default="")
    ap.add_argument("--body-file")
    ap.add_argument("--param", action="append", default=[], help="NAME=VALUE, repeatable")
    args = ap.parse_args()
    body = open(args.body_file, "rb").read() if args.body_file else b""
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": args.method,
        "SCRIPT_FILENAME": args.script,
        "SCRIPT_NAME": "/" + os.path.basename(args.script),
        "REQUEST_URI": "/" + os.path.basename(args.script) + ("?" + args.query if args.query else ""),
        "QUERY_STRING": args.query,
        "DOCUMENT_ROOT": os.path.dirname(args.script),
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REDIRECT_STATUS": "200",
    }
    if body:
        params["CONTENT_LENGTH"] = str(len(body))
    for p in args.param:
        name, value = p.split("=", 1)
        params[name] = value
    encoded = b"".join(name_value(k.encode(), v.encode()) for k, v in params.items())
    if args.address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(args.address[5:])
    else:
        host, port = args.address.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
    sock.settimeout(60)
    sock.sendall(
        record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, 0)) + stream(PARAMS, encoded) + stream(STDIN, body)
    )
    buf = b""
    while True:
        while len(buf) < 8:
            data = sock.recv(65536)
            if not data:
                sys.exit("connection closed before END_REQUEST")
            buf += data
        _, kind, _, length, pad = struct.unpack(">BBHHBx", buf[:8])
        while len(buf) < 8 + length + pad:
            data = sock.recv(65536)
            if not data:
                sys.exit("connection closed inside a record")
            buf += data
        content, buf = buf[8 : 8 + length], buf[8 + length + pad :]
        if kind == STDOUT:
            sys.stdout.buffer.write(content)
        elif kind == STDERR:
            sys.stderr.buffer.write(content)
        elif kind == END_REQUEST:
            app_status, protocol_status = struct.unpack(">IB3x", content)
            sys.stdout.flush()
            sys.exit(app_status if protocol_status == 0 else 100 + protocol_status)


if __name__ == "__main__":
    main()
