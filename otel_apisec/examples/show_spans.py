"""`make demo-spans`: the demo Flask app under `opentelemetry-instrument`, a few requests, and the
`apisec.*` attributes its spans carried, read back from the console exporter.

No backend needed: spans go to a temporary file through `OTEL_TRACES_EXPORTER=console`.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent
SHOWN = ("apisec.auth.scheme", "apisec.auth.outcome", "apisec.token.state", "apisec.pii.types",
         "apisec.attack.types", "apisec.risk.score", "enduser.pseudo.id", "http.target")


def _jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


RAW_VALUES = ("sk_live_demo_1234", "s3cret-pass", "alice.example@example.com", "+1 415 555 0132", "guess")
REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "/api/users/7", {"Authorization": f"Bearer {_jwt({'sub': 'alice', 'exp': 1})}"}, None),
    ("GET", "/api/search?q=1'+OR+'1'='1&api_key=sk_live_demo_1234", {}, None),
    ("POST", "/api/login", {"Content-Type": "application/json"}, b'{"username": "bob", "password": "guess"}'),
    ("GET", "/api/users/8", {"Authorization": "Basic " + base64.b64encode(b"carol:s3cret-pass").decode()}, None),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _send(base: str, method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, body, headers, method=method)) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _spans(text: str) -> list[dict]:
    """The console exporter writes one indented JSON object per span."""
    decoder, spans, index = json.JSONDecoder(), [], 0
    while (start := text.find("{", index)) >= 0:
        span, index = decoder.raw_decode(text, start)
        spans.append(span)
    return spans


def main() -> int:
    port = _free_port()
    env = {**os.environ, "OTEL_PYTHON_DISTRO": "apisec", "OTEL_PYTHON_CONFIGURATOR": "apisec",
           "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
           "OTEL_SERVICE_NAME": "apisec-demo", "OTEL_APISEC_HMAC_KEY": "demo-key"}
    with tempfile.TemporaryFile("w+") as out:
        app = subprocess.Popen([str(BIN / "opentelemetry-instrument"), sys.executable, "-m",
                                "otel_apisec.examples.flask_app", str(port)], env=env, stdout=out, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _send(base, "GET", "/health", {}, None) == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            app.kill()
            print("the demo app did not start", file=sys.stderr)
            return 1
        statuses = [_send(base, *request) for request in REQUESTS]
        app.send_signal(signal.SIGINT)  # the SDK flushes its spans on the way out
        app.wait(30)
        out.seek(0)
        exported = out.read()
        spans = [s for s in _spans(exported) if s.get("kind") == "SpanKind.SERVER" and "health" not in s["name"]]
    table = Table(title="Server spans as otel-apisec enriched them (console exporter)", show_lines=True)
    table.add_column("request")
    table.add_column("attributes")
    for (method, path, _, _), status, span in zip(REQUESTS, statuses, spans, strict=False):
        attributes = span["attributes"]
        shown = "\n".join(f"{name} = {attributes[name]}" for name in SHOWN if name in attributes)
        table.add_row(f"{method} {path} -> {status}", shown)
    Console().print(table)
    leaked = [value for value in RAW_VALUES if value in exported]
    print(f"{len(spans)} spans, each with one apisec.finding event per finding (not shown).")
    print(f"Raw values sent ({', '.join(RAW_VALUES)}) found in the exported spans: {leaked or 'none'}")
    return 0 if len(spans) == len(REQUESTS) and not leaked else 1


if __name__ == "__main__":
    sys.exit(main())
