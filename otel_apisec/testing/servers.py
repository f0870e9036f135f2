"""Real servers for tests and benchmarks: a recording webhook receiver (http.server on loopback),
a real Prometheus Alertmanager (the `prometheus-alertmanager` Debian package) in a subprocess, and
`otel-apisec gateway` itself in a subprocess. Needs the dev extra (httpx, pytest).

A test that needs a system binary fails when it is missing and CI=true (CI installs it), and is
skipped otherwise (`require_binary`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

__all__ = [
    "Alertmanager",
    "Received",
    "WebhookRecorder",
    "free_port",
    "gateway_process",
    "require_binary",
    "run_alertmanager",
    "webhook_recorder",
]

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binary(*names: str) -> str:
    """The path of the first of `names` on PATH; fails the test under CI=true, else skips it."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{' or '.join(names)} is not installed (Debian: apt-get install {names[0]})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# ---------------------------------------------------------------------------------------------
# Webhook receiver


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    """The decoded JSON (None when the body was not JSON)."""
    raw: bytes
    at: float
    """time.monotonic() when it arrived."""


@dataclass
class WebhookRecorder:
    """Records every POST; answers `status` (settable: 503 simulates an outage)."""

    status: int = 200
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    body = None
                recorder._record(Received(self.path, dict(self.headers.items()), body, raw, time.monotonic()))
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="webhook-recorder", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _record(self, received: Received) -> None:
        with self._cond:
            self.requests.append(received)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout_s: float = 10.0) -> list[Received]:
        """Wait until `predicate(requests so far)` holds; fail the test with what came if it does not."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"webhook: condition not met in {timeout_s} s; got {[r.body for r in self.requests]!r}")
                self._cond.wait(left)
            return list(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def webhook_recorder() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()
    try:
        yield recorder
    finally:
        recorder.close()


# ---------------------------------------------------------------------------------------------
# Alertmanager

_CONFIG = """\
route:
  receiver: test-webhook
  group_by: [alertname, rule_id]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
  - name: test-webhook
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
"""


@dataclass
class Alertmanager:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """GET /api/v2/alerts: the active (not yet resolved) alerts."""
        response = httpx.get(f"{self.url}/api/v2/alerts", params=filters, timeout=5.0)
        response.raise_for_status()
        return response.json()

    def describe(self) -> str:
        state = "running" if self.process.poll() is None else f"exited with {self.process.returncode}"
        text = self.log_path.read_text(errors="replace")
        return f"--- alertmanager ({state}) log ---\n{text[-6000:]}"


@contextmanager
def run_alertmanager(work_dir: Path, webhook_url: str, group_wait: str = "50ms",
                     group_interval: str = "1s") -> Iterator[Alertmanager]:
    """Start Alertmanager on a free loopback port, routing every alert to `webhook_url`; wait for
    /-/ready; stop it (SIGTERM, then SIGKILL) however the test ends. Clustering is off."""
    binary = require_binary("prometheus-alertmanager", "alertmanager")
    config = work_dir / "alertmanager.yml"
    config.write_text(_CONFIG.format(webhook_url=webhook_url, group_wait=group_wait, group_interval=group_interval))
    (work_dir / "alertmanager-data").mkdir(exist_ok=True)
    port = free_port()
    log_path = work_dir / "alertmanager.log"
    command = [
        binary, f"--config.file={config}", f"--storage.path={work_dir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=debug",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    server = Alertmanager(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_ready(server)
        yield server
    except Exception as error:
        raise AssertionError(f"{error}\n{server.describe()}") from error
    finally:
        _stop(process)


def _wait_ready(server: Alertmanager) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no attempt"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError("alertmanager exited before it was ready")
        try:
            response = httpx.get(f"{server.url}/-/ready", timeout=2.0)
            if response.status_code == 200:
                return
            last = f"GET /-/ready -> {response.status_code}"
        except httpx.TransportError as error:
            last = repr(error)
        time.sleep(0.05)
    raise AssertionError(f"alertmanager not ready in {START_TIMEOUT_S} s ({last})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


# ---------------------------------------------------------------------------------------------
# The gateway


_CONFIG_FLAGS = ("--config", "--check-config")


def _with_console(args: tuple[str, ...], console: str) -> tuple[str, ...]:
    """`args` with the console at `console` unless they set it: `--console` in flag mode, else
    `service.console` in the `--config` file (a copy beside it is written when it does not)."""
    if any(arg == "--console" or arg.startswith("--console=") for arg in args):
        return args
    config_at = next((i + 1 for i, arg in enumerate(args) if arg in _CONFIG_FLAGS), None)
    if config_at is None:
        return (*args, "--console", console)
    if config_at >= len(args) or args[config_at - 1] == "--check-config":
        return args
    path = Path(args[config_at])
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    service = doc.get("service") if isinstance(doc, dict) else None
    if not isinstance(service, dict) or "console" in service:
        return args  # set there, or a config the gateway will refuse with its own message
    service["console"] = {"address": console}
    copy = path.with_name(f"{path.stem}.console{path.suffix or '.yaml'}")
    copy.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return (*args[:config_at], str(copy), *args[config_at + 1:])


def _drain(stream: Any, lines: list[str] | None) -> threading.Thread:
    """Read `stream` to its end in a thread (a pipe nobody reads blocks a chatty gateway), keeping
    the lines in `lines` when given."""
    def run() -> None:
        for line in stream:
            if lines is not None:
                lines.append(line)

    thread = threading.Thread(target=run, name="gateway-output", daemon=True)
    thread.start()
    return thread


@contextmanager
def gateway_process(*args: str, env: dict[str, str] | None = None, timeout_s: float = 30.0,
                    console: str = "off") -> Iterator[subprocess.Popen[str]]:
    """`otel-apisec gateway ARGS` in a subprocess, once it says it is listening; SIGTERM at the end,
    and the test fails unless it then drains and exits 0.

    `console` is where the console listens when ARGS do not say (`--console`, or `service.console`
    in the `--config` file): off by default, so that test gateways never take the default port
    (127.0.0.1:8890) from one another; a test that reads the console passes a free one. The
    gateway's stdout and stderr are read all along; a failure quotes stderr."""
    command = [sys.executable, "-m", "otel_apisec.cli.main", "gateway", *_with_console(args, console)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    stdout, stderr = process.stdout, process.stderr
    assert stdout is not None and stderr is not None  # PIPE
    errors: list[str] = []
    readers = [_drain(stdout, None)]
    try:
        deadline = time.monotonic() + timeout_s
        line = ""
        while "listening" not in line:
            if time.monotonic() > deadline:
                raise AssertionError(f"gateway not listening in {timeout_s} s: {''.join(errors)}")
            line = stderr.readline()
            errors.append(line)
            if not line and process.poll() is not None:
                raise AssertionError(f"gateway exited with {process.returncode}: {''.join(errors)}{stderr.read()}")
        readers.append(_drain(stderr, errors))
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        for reader in readers:
            reader.join(5)
    assert process.returncode == 0, "".join(errors)
