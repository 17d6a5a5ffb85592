"""A plain ASGI application (no framework) behind uvicorn, for `wired --proxy`.

Run by the tests on a unix socket in their temporary directory:
    python3 -m uvicorn --uds DIR/uvicorn.sock --app-dir tests/upstream asgi_app:app
Routes: `/` (text), `/stream` (a body sent in parts, no length),
`/headers` (the request head as uvicorn gave it) and POST `/echo`.
"""
import asyncio


async def send_text(send, status, body, content_type=b"text/plain", extra=()):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())] + list(extra),
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        # Say yes to startup and shutdown, so uvicorn need not guess.
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    path = scope["path"]
    if path == "/":
        await send_text(send, 200, b"hello from asgi\n")
    elif path == "/stream":
        # No content-length: uvicorn sends it chunked; each part is its own
        # send, with a pause, as a slow producer would.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(4):
            await send({"type": "http.response.body", "body": b"asgi part %d\n" % i, "more_body": True})
            await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/headers":
        # One "name: value" line per request header, in the order received,
        # after the request line as the application saw it.
        lines = [b"%s %s?%s" % (scope["method"].encode(), scope["raw_path"], scope["query_string"])]
        lines += [name + b": " + value for name, value in scope["headers"]]
        await send_text(send, 200, b"\n".join(lines) + b"\n")
    elif path == "/echo" and scope["method"] == "POST":
        body = await read_body(receive)
        await send_text(send, 200, body, b"application/octet-stream", [(b"x-echo-length", str(len(body)).encode())])
    else:
        await send_text(send, 404, b"no such route\n")
