"""A small notes API with five deliberate OWASP API flaws, written for tests/test_vulnerable_api.py:
`python vulnerable_api.py PORT`, run under `opentelemetry-instrument`.

The flaws, each on purpose:

- BOLA read (API1): `GET /api/notes/<id>` returns any note, whoever owns it.
- BOLA write by path (API1): `PUT /api/users/<id>/password` changes any user's password; the path's
  user ID is trusted, the caller's token only has to be valid.
- BFLA (API5): `GET /api/admin/users` answers every authenticated user, admin or not.
- Login failures answered 200 (API2): a wrong password gets 200 `{"success": false, ...}`, so
  nothing that counts status codes sees the failures.
- Weak JWT secret (API2): tokens are HS256 with a common English word as the key.

Everything is in memory; the JWT is made with the standard library (no PyJWT needed in the app).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import signal
import sys
import threading
import time
from typing import Any

from flask import Flask, Response, jsonify, request

JWT_SECRET = "butterfly"  # the flaw: a dictionary word
TOKEN_LIFETIME_S = 3600

app = Flask(__name__)
_lock = threading.Lock()
_users: dict[str, dict[str, Any]] = {
    "alice": {"id": 1, "password": "alice-correct-horse", "role": "user"},
    "bob": {"id": 2, "password": "bob-battery-staple", "role": "user"},
    "carol": {"id": 3, "password": "carol-admin-pass", "role": "admin"},
}
_notes: dict[int, dict[str, Any]] = {}
_note_ids = itertools.count(1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(username: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    now = int(time.time())
    claims = {"sub": username, "role": _users[username]["role"], "iat": now, "exp": now + TOKEN_LIFETIME_S}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(JWT_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _caller() -> str | None:
    """The user the bearer token names, when its signature and expiry check out."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return None
    header, payload, signature = token.split(".")
    expected = hmac.new(JWT_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    username = claims.get("sub")
    if username not in _users or claims.get("exp", 0) < time.time():
        return None
    return username


def _unauthorized() -> tuple[Response, int]:
    return jsonify({"error": "authentication required"}), 401


@app.post("/api/login")
def login() -> tuple[Response, int]:
    body = request.get_json(silent=True) or {}
    username = str(body.get("username", "")).lower()
    with _lock:
        user = _users.get(username)
        ok = user is not None and hmac.compare_digest(str(body.get("password", "")), user["password"])
    if not ok or user is None:
        return jsonify({"success": False, "message": "Invalid credentials"}), 200  # the flaw: 200 on failure
    return jsonify({"success": True, "user_id": user["id"], "token": make_token(username)}), 200


@app.post("/api/notes")
def create_note() -> tuple[Response, int]:
    caller = _caller()
    if caller is None:
        return _unauthorized()
    body = request.get_json(silent=True) or {}
    with _lock:
        note_id = next(_note_ids)
        _notes[note_id] = {"id": note_id, "owner": caller, "title": str(body.get("title", "")),
                           "text": str(body.get("text", ""))}
    return jsonify({"id": note_id}), 201


@app.get("/api/notes")
def list_notes() -> tuple[Response, int]:
    caller = _caller()
    if caller is None:
        return _unauthorized()
    with _lock:
        mine = [{"id": n["id"], "title": n["title"]} for n in _notes.values() if n["owner"] == caller]
    return jsonify(mine), 200


@app.get("/api/notes/<int:note_id>")
def read_note(note_id: int) -> tuple[Response, int]:
    if _caller() is None:
        return _unauthorized()
    with _lock:
        note = _notes.get(note_id)  # the flaw: no check that the caller owns it
    if note is None:
        return jsonify({"error": "not found"}), 404
    return jsonify(note), 200


@app.put("/api/users/<int:user_id>/password")
def change_password(user_id: int) -> tuple[Response, int]:
    if _caller() is None:
        return _unauthorized()
    new_password = str((request.get_json(silent=True) or {}).get("password", ""))
    if len(new_password) < 8:
        return jsonify({"error": "password too short"}), 400
    with _lock:  # the flaw: the path's user, not the caller, is changed
        user = next((u for u in _users.values() if u["id"] == user_id), None)
        if user is None:
            return jsonify({"error": "not found"}), 404
        user["password"] = new_password
    return jsonify({"updated": True}), 200


@app.get("/api/admin/users")
def admin_users() -> tuple[Response, int]:
    if _caller() is None:  # the flaw: any valid token, no role check
        return _unauthorized()
    with _lock:
        listing = [{"username": name, "role": u["role"]} for name, u in _users.items()]
    return jsonify({"users": listing}), 200


@app.get("/health")
def health() -> Response:
    return Response("ok", mimetype="text/plain")


def main() -> None:
    port = int(sys.argv[1])
    # SIGTERM as a normal exit, so the SDK's atexit flush runs (werkzeug's server just dies).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
