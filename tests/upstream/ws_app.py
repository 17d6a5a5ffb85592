"""A WebSocket app server for the proxy tests: Python's `websockets`
library, echoing every message and prefixing text with the path it was
opened on, so a test sees which URL the upstream got. Prints its port,
then serves until killed.

    python3 ws_app.py            # an ephemeral port on 127.0.0.1
"""

import asyncio
import sys

import websockets


async def handler(ws):
    path = ws.request.path
    async for message in ws:
        if isinstance(message, str):
            if message == "close-me":
                await ws.close(4000, "asked to")
                return
            if message == "headers":
                fields = ", ".join(f"{k}={v}" for k, v in ws.request.headers.raw_items()
                                   if k.lower().startswith("x-forwarded") or k.lower() == "host")
                await ws.send(fields)
                continue
            await ws.send(f"{path} {message}")
        else:
            await ws.send(message)


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
