#!/usr/bin/env python3
"""A stand-in WebSocket echo server for proving the Autobahn tooling.

Built on the `websockets` library, whose RFC 6455 and permessage-deflate
(RFC 7692) support is mature, so that a failure in a run against it points
at the tooling rather than at the server. It serves one path, like wired's
`--ws-echo`, and answers 404 elsewhere.

    python3 tests/autobahn/reference_echo.py --port 9001 [--path /echo] [--no-deflate]
"""

import argparse
import asyncio
import http
import os
import signal

# websockets fails a message of more than 4096 frames with 1009, a limit
# against floods of tiny frames; cases 9.3.1 and 9.4.1 send 4 MiB in 64-byte
# fragments (65,536 frames). Read when the library is imported.
os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(1 << 20))

from websockets.asyncio.server import serve  # noqa: E402


async def echo(ws):
    # A text message comes back as text and a binary one as binary: the
    # library gives str or bytes and send() picks the opcode from the type.
    async for message in ws:
        await ws.send(message)


async def main(args):
    def only_our_path(connection, request):
        if request.path != args.path:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
        return None

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        echo,
        "127.0.0.1",
        args.port,
        process_request=only_our_path,
        compression=None if args.no_deflate else "deflate",
        # Section 9 sends messages of up to 16 MiB; the library's default
        # limit (1 MiB) would close those with 1009, unlike wired's 16 MiB.
        max_size=16 * 1024 * 1024,
        # Keepalive pings the test suite did not ask for would only show up
        # in its wire logs as noise.
        ping_interval=None,
    ):
        print(f"reference echo on ws://127.0.0.1:{args.port}{args.path}", flush=True)
        await stop


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/echo")
    p.add_argument("--no-deflate", action="store_true", help="refuse permessage-deflate offers")
    asyncio.run(main(p.parse_args()))
