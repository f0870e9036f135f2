"""A tiny Flask API with the usual mistakes, for `make demo-spans`: run it under
`opentelemetry-instrument` and see what otel-apisec puts on its spans.

    OTEL_PYTHON_DISTRO=apisec OTEL_PYTHON_CONFIGURATOR=apisec opentelemetry-instrument \\
        python -m otel_apisec.examples.flask_app 8000
"""

from __future__ import annotations

import sys

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/login")
def login():
    body = request.get_json(silent=True) or {}
    if body.get("password") == "correct-horse-battery":
        return jsonify(token="opaque-session-token-5f0c")
    return jsonify(error="invalid credentials"), 401


@app.get("/api/users/<int:user_id>")
def user(user_id: int):
    # Returns more than the client needs: an email, a phone number and a password hash.
    return jsonify(id=user_id, email="alice.example@example.com", phone="+1 415 555 0132",
                   password_hash="$2b$12$KIXQJ5e7sZ7mFh1eJ0pHqOe0p1Yl8Zb3vQm9xY2wL4nT6uR8sC0dK")


@app.get("/api/search")
def search():
    return jsonify(results=[], q=request.args.get("q", ""))


@app.get("/health")
def health() -> str:
    return "ok"


if __name__ == "__main__":
    app.run("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
