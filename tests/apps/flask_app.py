"""The test API on Flask, served by the werkzeug development server: `python flask_app.py PORT`."""

from __future__ import annotations

import sys

import _shared
from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.post("/api/login")
def login() -> tuple[Response, int]:
    status, payload = _shared.login(request.get_json(silent=True))
    return jsonify(payload), status


@app.get("/api/users/<int:user_id>")
def user(user_id: int) -> Response:
    return jsonify(_shared.user(user_id))


@app.get("/api/me")
def me() -> tuple[Response, int]:
    status, payload = _shared.me(request.headers.get("Authorization"))
    return jsonify(payload), status


@app.get("/api/search")
def search() -> Response:
    return jsonify(_shared.search(request.args.get("q", ""), request.url))


@app.post("/api/echo")
def echo() -> Response:
    # Read the raw stream ourselves: the app must see every byte even when capture keeps only a prefix.
    return jsonify(_shared.echo(request.stream.read()))


@app.get("/api/stream")
def stream() -> Response:
    chunks = _shared.int_param(request.args.get("chunks"), 10)
    size = _shared.int_param(request.args.get("size"), 100)
    generator = (_shared.stream_chunk(i, size) for i in range(chunks))
    return Response(generator, mimetype=_shared.STREAM_MEDIA_TYPE)


@app.get("/api/big")
def big() -> Response:
    body = _shared.big_body(_shared.int_param(request.args.get("size"), 1_000_000))
    return Response(body, mimetype=_shared.BIG_MEDIA_TYPE)


@app.get("/health")
def health() -> Response:
    return Response("ok", mimetype="text/plain")


def main() -> None:
    port = int(sys.argv[1])
    _shared.exit_on_sigterm()
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
