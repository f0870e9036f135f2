"""The demo API: a small shop on Flask with the mistakes otel-apisec is there to see.

    OTEL_PYTHON_DISTRO=apisec OTEL_PYTHON_CONFIGURATOR=apisec opentelemetry-instrument \\
        python -m otel_apisec.examples.demo.app 8000

Its mistakes, on purpose:
- `GET /api/users/<id>/billing` returns the whole card number and the phone number (PII leak);
- tokens are checked against two HMAC keys, and the old one is `secret` (a forged token passes);
- `GET /api/orders/<id>` serves any order to any signed-in user (object enumeration, BOLA);
- `GET /api/internal/export` is served but in no spec (a shadow endpoint);
- `GET /api/v1/orders/<id>`, deprecated in the spec, still answers (a zombie);
- logins are not rate limited (brute force).

The data are made up; the demo's tests check that none of them leaves the gateway raw.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import signal
import sys
import time
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["ACCOUNTS", "LEGACY_JWT_SECRET", "ORDERS", "PASSWORDS", "USERS", "app", "issue_token", "main"]

LEGACY_JWT_SECRET = b"secret"
"""The key tokens were signed with before the rotation, still accepted: the weak secret."""
_JWT_KEY = secrets.token_bytes(32)
"""The current signing key (random per run)."""
_TOKEN_TTL_S = 900

USERS: dict[int, dict[str, Any]] = {
    101: {"name": "Ada Lovelace", "email": "ada.lovelace@demo-shop.example", "phone": "+44 20 7946 0321",
          "card": "4111 1111 1111 1111", "role": "customer"},
    102: {"name": "Grace Hopper", "email": "grace.hopper@demo-shop.example", "phone": "+1 202 555 0147",
          "card": "5555 5555 5555 4444", "role": "customer"},
    103: {"name": "Alan Turing", "email": "alan.turing@demo-shop.example", "phone": "+44 161 496 0754",
          "card": "3782 822463 10005", "role": "customer"},
    104: {"name": "Katherine Johnson", "email": "katherine.johnson@demo-shop.example", "phone": "+1 757 555 0199",
          "card": "6011 1111 1111 1117", "role": "admin"},
    105: {"name": "Mallory Martin", "email": "mallory.martin@demo-shop.example", "phone": "+1 312 555 0168",
          "card": "4000 0566 5566 5556", "role": "customer"},
}
"""Made-up people; the cards are the card networks' published test numbers."""
PASSWORDS = {"ada": "Analytical-Engine-1843", "grace": "Cobol&Compilers-1959", "alan": "Enigma-Bombe-1940",
             "katherine": "Orbit-Trajectory-1962", "mallory": "Curious-Cat-2024"}
ACCOUNTS = {"ada": 101, "grace": 102, "alan": 103, "katherine": 104, "mallory": 105}
ORDERS = {order_id: {"id": order_id, "user_id": 101 + order_id % 5, "total_cents": 1000 + (order_id * 37) % 9000,
                     "status": "shipped"} for order_id in range(5000, 5250)}

app = Flask(__name__)
# Behind a proxy, as most APIs are: the client address comes from X-Forwarded-For (the traffic player
# gives each simulated client its own address). Wrapped outside the instrumentation's middleware, so
# spans carry that address.
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 JWT over `claims`, signed with `key`."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _claims() -> dict[str, Any] | None:
    """The bearer token's claims when it is signed with either key (the flaw) and not expired."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    parts = token.split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        signature = _unb64(parts[2])
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error):
        return None
    signed = f"{parts[0]}.{parts[1]}".encode()
    if not any(hmac.compare_digest(hmac.new(key, signed, hashlib.sha256).digest(), signature)
               for key in (_JWT_KEY, LEGACY_JWT_SECRET)):
        return None
    if not isinstance(claims, dict) or float(claims.get("exp", 0)) < time.time():
        return None
    return claims


def _unauthorized() -> tuple[Response, int]:
    return jsonify(error="unauthorized"), 401


@app.post("/api/login")
def login() -> tuple[Response, int]:
    body = request.get_json(silent=True) or {}
    username = str(body.get("username", ""))
    if username in PASSWORDS and hmac.compare_digest(str(body.get("password", "")), PASSWORDS[username]):
        user_id = ACCOUNTS[username]
        claims = {"sub": username, "uid": user_id, "role": USERS[user_id]["role"], "exp": int(time.time()) + _TOKEN_TTL_S}
        return jsonify(token=issue_token(claims, _JWT_KEY), user_id=user_id), 200
    return jsonify(error="invalid credentials"), 401


@app.get("/api/users/<int:user_id>")
def user(user_id: int) -> tuple[Response, int]:
    if _claims() is None:
        return _unauthorized()
    found = USERS.get(user_id)
    if found is None:
        return jsonify(error="not found"), 404
    return jsonify(id=user_id, name=found["name"]), 200


@app.get("/api/users/<int:user_id>/billing")
def billing(user_id: int) -> tuple[Response, int]:
    # The leak: the whole card number, the email and the phone, where the last four digits would do.
    if _claims() is None:
        return _unauthorized()
    found = USERS.get(user_id)
    if found is None:
        return jsonify(error="not found"), 404
    return jsonify(id=user_id, email=found["email"], phone=found["phone"], card_number=found["card"]), 200


@app.get("/api/orders")
def my_orders() -> tuple[Response, int]:
    claims = _claims()
    if claims is None:
        return _unauthorized()
    return jsonify(orders=[o for o in ORDERS.values() if o["user_id"] == claims.get("uid")]), 200


@app.get("/api/orders/<int:order_id>")
def order(order_id: int) -> tuple[Response, int]:
    # BOLA: any signed-in user gets any order.
    if _claims() is None:
        return _unauthorized()
    found = ORDERS.get(order_id)
    return (jsonify(found), 200) if found else (jsonify(error="not found"), 404)


@app.get("/api/v1/orders/<int:order_id>")
def order_v1(order_id: int) -> tuple[Response, int]:
    # Deprecated in the spec, never switched off.
    found = ORDERS.get(order_id)
    return (jsonify(found), 200) if found else (jsonify(error="not found"), 404)


@app.get("/api/search")
def search() -> Response:
    query = request.args.get("q", "")
    return jsonify(results=[{"id": i, "name": f"product {i}"} for i in range(3)], q_length=len(query))


@app.get("/api/admin/users")
def admin_users() -> tuple[Response, int]:
    claims = _claims()
    if claims is None:
        return _unauthorized()
    if claims.get("role") != "admin":
        return jsonify(error="forbidden"), 403
    return jsonify(users=[{"id": uid, "name": u["name"], "role": u["role"]} for uid, u in USERS.items()]), 200


@app.get("/api/internal/export")
def internal_export() -> Response:
    # In no spec, no authentication: the shadow endpoint.
    return jsonify(users=[{"id": uid, "email": u["email"]} for uid, u in USERS.items()])


@app.get("/health")
def health() -> Response:
    return Response("ok", mimetype="text/plain")


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    # SIGTERM as a normal exit, so the OpenTelemetry SDK flushes its spans on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    # No access log: its lines hold raw query strings and client addresses, and the demo prints the
    # app's output when the app fails.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
