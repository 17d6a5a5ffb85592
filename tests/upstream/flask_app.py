"""A Flask application behind gunicorn, for `wired --proxy`.

Run by the tests as
    python3 -m gunicorn --bind 127.0.0.1:0 --chdir tests/upstream flask_app:app
Each route answers something a test can check exactly from the client side.
"""
import hashlib
import json
import time

from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.get("/users/<int:user_id>")
def user(user_id):
    # Routing and JSON: /users/7 is {"id": 7, ...}; /users/seven is Flask's 404.
    return jsonify(id=user_id, name="user %d" % user_id)


@app.post("/form")
def form():
    # A urlencoded form, as Flask parsed it, in a fixed order.
    return jsonify(method=request.method, form=dict(sorted(request.form.items())))


@app.post("/json")
def json_echo():
    # A JSON request body, parsed by Flask and answered back with a field added.
    data = request.get_json(force=True)
    data["seen"] = True
    return jsonify(data)


@app.get("/stream")
def stream():
    # A generator: gunicorn sends each piece as it comes (chunked). The pause
    # before the last part lets a test see the first parts arrive early.
    parts = int(request.args.get("parts", "5"))
    pause = float(request.args.get("pause", "0"))

    def generate():
        for i in range(parts):
            if i == parts - 1:
                time.sleep(pause)
            yield "part %d\n" % i

    return Response(generate(), mimetype="text/plain")


@app.route("/upload", methods=["POST", "PUT"])
def upload():
    # The body as the application read it, 1 MiB at a time: its length and
    # SHA-256 (a 100 MB upload is hashed without holding it).
    digest, length = hashlib.sha256(), 0
    while True:
        piece = request.stream.read(1 << 20)
        if not piece:
            break
        digest.update(piece)
        length += len(piece)
    return "%d %s\n" % (length, digest.hexdigest()), 200, {"Content-Type": "text/plain"}


@app.route("/headers", methods=["GET", "POST", "HEAD"])
def headers():
    # What the application saw: the path and query it was asked for, and
    # every request header (names lowercased, repeated ones joined by ", ").
    seen = {}
    for name, value in request.headers.items():
        name = name.lower()
        seen[name] = seen[name] + ", " + value if name in seen else value
    body = {"path": request.path, "query": request.query_string.decode("latin-1"), "headers": seen}
    return Response(json.dumps(body, sort_keys=True), mimetype="application/json")


@app.get("/sleep")
def sleep():
    # /sleep?s=3: an answer that comes late, for the header timeout.
    seconds = float(request.args.get("s", "1"))
    time.sleep(seconds)
    return "slept %.1f\n" % seconds


@app.get("/etag")
def etag():
    # 304 when the client already has it; gunicorn sends no body either way
    # for 304, the test checks wired adds none.
    if request.headers.get("If-None-Match") == '"v1"':
        return "", 304, {"ETag": '"v1"'}
    return "versioned\n", 200, {"ETag": '"v1"'}


@app.delete("/items/<int:item_id>")
def delete_item(item_id):
    return "", 204


@app.get("/cookie")
def cookie():
    # Two Set-Cookie fields: they must reach the client as two fields.
    resp = Response("cookies set\n", mimetype="text/plain")
    resp.set_cookie("session", "abc123", httponly=True, path="/")
    resp.set_cookie("theme", "dark", path="/")
    return resp
