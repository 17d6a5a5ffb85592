"""A scripted WebSocket client for the integration tests, on Python's
`websockets` library (its asyncio client, 13 or later): it opens URL, runs
the steps given on the command line in order, and prints what happened as
JSON, one object per line, for the test to assert on. It judges nothing.

    python3 client.py [options] URL STEP...

Steps:
    send:TEXT            send a text message
    send-hex:HEX         send a binary message
    send-file:PATH       send the file's contents as a text message (UTF-8)
    send-file-binary:PATH  ... as a binary message
    recv                 receive a message: {"event": "text", "data": ...}
                         or {"event": "binary", "hex": ...}
    recv-file:PATH       receive a message into PATH: {"event": "text" or
                         "binary", "len": N}
    close:CODE           close with CODE
    wait-close           wait for the server to close

A step that waits longer than 10 s stops the run: {"event": "timeout",
"step": ...}. Then, unless already closed, it closes with 1000, and reports
{"event": "closed", "code": the code the server sent (1006: none),
"reason": ..., "wire_in": bytes read from the socket, frames and all}.

The opening is reported first: {"event": "open", "status": 101,
"extensions": Sec-WebSocket-Extensions, "protocol": the subprotocol,
"server": Server}, or {"event": "rejected", "status": ..., "body": ...}
when the server answered something else, or {"event": "error", "error":
...} when no answer came (a TLS failure, say).

Options:
    --no-compression     offer no permessage-deflate
    --protocol NAME      offer a subprotocol (repeatable)
    --header NAME=VALUE  send a request field (repeatable)
    --cafile PATH        trust this CA for wss:// (and only it)
"""

import argparse
import asyncio
import json
import ssl
import sys

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

# Each message waited for may take this long before the client gives up.
TIMEOUT = 10


def say(**event):
    print(json.dumps(event), flush=True)


class Counting(ClientConnection):
    """A connection that counts the bytes it reads from the socket, so a
    test sees whether permessage-deflate shrank what travelled."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.wire_in = 0

    def data_received(self, data):
        self.wire_in += len(data)
        super().data_received(data)


def report_message(message, into=None):
    kind = "text" if isinstance(message, str) else "binary"
    if into is not None:
        data = message.encode() if kind == "text" else message
        with open(into, "wb") as f:
            f.write(data)
        say(event=kind, len=len(data))
    elif kind == "text":
        say(event=kind, data=message)
    else:
        say(event=kind, hex=message.hex())


def report_close(ws):
    say(event="closed", code=ws.close_code, reason=ws.close_reason, wire_in=ws.wire_in)


async def step(ws, action):
    verb, _, arg = action.partition(":")
    if verb == "send":
        await ws.send(arg)
    elif verb == "send-hex":
        await ws.send(bytes.fromhex(arg))
    elif verb == "send-file":
        with open(arg, encoding="utf-8") as f:
            await ws.send(f.read())
    elif verb == "send-file-binary":
        with open(arg, "rb") as f:
            await ws.send(f.read())
    elif verb in ("recv", "recv-file"):
        message = await asyncio.wait_for(ws.recv(), TIMEOUT)
        report_message(message, arg if verb == "recv-file" else None)
    elif verb == "close":
        await asyncio.wait_for(ws.close(int(arg)), TIMEOUT)
        return True
    elif verb == "wait-close":
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
        return True
    else:
        raise SystemExit(f"unknown step {action!r}")
    return False


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-compression", action="store_true")
    parser.add_argument("--protocol", action="append")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--cafile")
    parser.add_argument("url")
    parser.add_argument("steps", nargs="*")
    args = parser.parse_args()

    options = {
        "create_connection": Counting,
        "compression": None if args.no_compression else "deflate",
        "subprotocols": args.protocol,
        "additional_headers": [tuple(h.split("=", 1)) for h in args.header],
        "max_size": None,
        "open_timeout": TIMEOUT,
        "close_timeout": TIMEOUT,
    }
    if args.url.startswith("wss:"):
        options["ssl"] = ssl.create_default_context(cafile=args.cafile)
    try:
        ws = await connect(args.url, **options)
    except InvalidStatus as e:
        r = e.response
        say(event="rejected", status=r.status_code, server=r.headers.get("Server"),
            body=r.body.decode(errors="replace"))
        return
    except (OSError, asyncio.TimeoutError) as e:
        say(event="error", error=f"{type(e).__name__}: {e}")
        return
    headers = ws.response.headers
    say(event="open", status=ws.response.status_code, extensions=headers.get("Sec-WebSocket-Extensions"),
        protocol=ws.subprotocol, server=headers.get("Server"))
    closed = False
    try:
        for action in args.steps:
            if await step(ws, action):
                closed = True
                break
    except ConnectionClosed:
        closed = True
    except asyncio.TimeoutError:
        say(event="timeout", step=action)
    if not closed:
        try:
            await asyncio.wait_for(ws.close(1000), TIMEOUT)
        except asyncio.TimeoutError:
            say(event="timeout", step="close")
    report_close(ws)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
