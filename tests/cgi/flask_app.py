#!/usr/bin/env python3
"""A Flask application run as a CGI program through the standard library's
WSGI-to-CGI bridge: one process per request, routed by PATH_INFO."""
from wsgiref.handlers import CGIHandler

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/users/<int:user_id>")
def user(user_id):
    return jsonify(id=user_id)


@app.post("/greet")
def greet():
    return f"hello, {request.form['name']}\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.post("/echo")
def echo():
    # The body as the application reads it: a chunked upload must arrive
    # whole, already decoded by the server.
    return request.get_data(), 200, {"Content-Type": "application/octet-stream"}


if __name__ == "__main__":
    CGIHandler().run(app)
