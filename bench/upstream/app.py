"""The Flask application of the benchmark's flask-c16 case (bench/harness.py),
run by gunicorn (sync workers) behind wired and nginx: one JSON endpoint,
GET /api/items, a list of ten small objects built on every request (about
600 bytes)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/api/items")
def items():
    rows = [{"id": i, "name": f"item {i}", "price": round(i * 1234.5 / 7, 2), "tags": ["a", "b"]}
            for i in range(1, 11)]
    return jsonify(count=len(rows), items=rows)
