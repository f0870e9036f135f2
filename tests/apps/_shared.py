"""What every test app answers, in one place, so the four frameworks behave byte for byte alike.

Plain functions over plain values: each app only adapts them to its framework's request and
response types. The end-to-end test imports this module too, to know what the client must get.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import signal
import sys

CORRECT_PASSWORD = "correct-horse-battery"
USER_NAME = "Alice Example"
USER_EMAIL = "alice.example@example.com"
USER_PHONE = "+1 415 555 0132"
STREAM_MEDIA_TYPE = "application/x-ndjson"
BIG_MEDIA_TYPE = "text/plain"
_BIG_PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"  # 64 bytes


def json_or_none(raw: bytes) -> object:
    """The request body as JSON, or None when it is not JSON (the login then fails)."""
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def login(body: object) -> tuple[int, dict[str, object]]:
    """(status, JSON) for POST /api/login; the token is opaque (random), not a JWT."""
    password = body.get("password") if isinstance(body, dict) else None
    if password == CORRECT_PASSWORD:
        return 200, {"token": secrets.token_urlsafe(24)}
    return 401, {"error": "invalid credentials"}


def user(user_id: int) -> dict[str, object]:
    return {"id": user_id, "name": USER_NAME, "email": USER_EMAIL, "phone": USER_PHONE}


def me(authorization: str | None) -> tuple[int, dict[str, object]]:
    """The app trusts any Authorization header: token checks are the security layer's to report."""
    if authorization:
        return 200, {"ok": True}
    return 401, {"error": "unauthorized"}


def search(q: str, url: str) -> dict[str, object]:
    # Like many real apps, log the whole request URL (query string and all): the leak test checks
    # that what this puts into exported log records is masked.
    logging.getLogger("testapp.search").warning("search request %s", url)
    return {"results": [], "q_length": len(q)}


def echo(data: bytes) -> dict[str, object]:
    return {"received_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def stream_chunk(index: int, size: int) -> bytes:
    """Chunk `index` of GET /api/stream: one JSON line of exactly `size` bytes (digits if too small)."""
    head, tail = f'{{"chunk": {index}, "pad": "', '"}\n'
    fill = size - len(head) - len(tail)
    if fill < 0:
        return (str(index % 10) * size).encode()
    return (head + "x" * fill + tail).encode()


def stream_body(chunks: int, size: int) -> bytes:
    """What the client of GET /api/stream?chunks=N&size=S must receive, all chunks joined."""
    return b"".join(stream_chunk(i, size) for i in range(chunks))


def big_body(size: int) -> bytes:
    """GET /api/big?size=S: `size` bytes of a repeating pattern."""
    repeats = size // len(_BIG_PATTERN) + 1
    return (_BIG_PATTERN * repeats)[:size]


def int_param(value: str | None, default: int, limit: int = 50_000_000) -> int:
    """A non-negative query integer, bounded so a typo cannot make the app allocate gigabytes."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        number = default
    return max(0, min(number, limit))


def exit_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit, so atexit hooks (the OpenTelemetry SDK's flush) run.

    uvicorn does this itself; the werkzeug and Django development servers just die.
    """
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
