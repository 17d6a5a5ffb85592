#!/usr/bin/env python3
"""An independent HTTP/2 client for wired's tests: Python's `h2` library
(the state machine hyper-h2) over a plain socket (prior knowledge) or TLS
with ALPN `h2`. Sends every path given at once, each on its own stream of
one connection, and prints one JSON object: the ALPN agreed and, per path,
the status, the response fields and the body's length and SHA-256.

    client.py [--tls] [--window N] [--read-delay S] HOST PORT PATH...

--window sets SETTINGS_INITIAL_WINDOW_SIZE (the flow-control window of
each stream), and the connection's window is left at 65,535 bytes and
opened only as the client reads: the server must send no more than the
windows allow. --read-delay sleeps before each read, a slow reader.
"""
import argparse
import hashlib
import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tls", action="store_true")
    p.add_argument("--window", type=int, default=65535)
    p.add_argument("--read-delay", type=float, default=0.0)
    p.add_argument("--method", default="GET")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("paths", nargs="+")
    a = p.parse_args()

    sock = socket.create_connection((a.host, a.port), timeout=20)
    alpn = None
    if a.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
        alpn = sock.selected_alpn_protocol()
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: a.window})
    streams = {}
    for path in a.paths:
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", a.method), (":scheme", "https" if a.tls else "http"),
                                (":authority", f"{a.host}:{a.port}"), (":path", path),
                                ("user-agent", "wired-test-h2")], end_stream=True)
        streams[sid] = {"path": path, "status": None, "headers": {}, "body": hashlib.sha256(), "length": 0,
                        "reset": None, "done": False}
    sock.sendall(conn.data_to_send())
    goaway = None
    max_frame_seen = 0
    while not all(s["done"] for s in streams.values()) and goaway is None:
        if a.read_delay:
            time.sleep(a.read_delay)
        data = sock.recv(65536)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                s = streams[ev.stream_id]
                for k, v in ev.headers:
                    if k == ":status":
                        s["status"] = int(v)
                    else:
                        s["headers"][k] = v
            elif isinstance(ev, h2.events.DataReceived):
                s = streams[ev.stream_id]
                s["body"].update(ev.data)
                s["length"] += len(ev.data)
                max_frame_seen = max(max_frame_seen, len(ev.data))
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                streams[ev.stream_id]["done"] = True
            elif isinstance(ev, h2.events.StreamReset):
                streams[ev.stream_id]["reset"] = int(ev.error_code)
                streams[ev.stream_id]["done"] = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                goaway = int(ev.error_code)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    result = {"alpn": alpn, "goaway": goaway, "max_data_frame": max_frame_seen, "streams": []}
    for sid in sorted(streams):
        s = streams[sid]
        result["streams"].append({"stream": sid, "path": s["path"], "status": s["status"], "headers": s["headers"],
                                  "length": s["length"], "sha256": s["body"].hexdigest(), "reset": s["reset"],
                                  "done": s["done"]})
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
