"""`make demo`: the gateway with its console, the demo API under `opentelemetry-instrument` sending to
it, the traffic player, and a running summary. No Docker, no backend.

    python -m otel_apisec.examples.demo.run                     # until Ctrl-C
    DEMO_SECONDS=45 python -m otel_apisec.examples.demo.run     # 45 s of traffic, a summary, exit 0

The gateway runs from a config written to a temporary folder: receive OTLP/gRPC, enrich, correlate,
take the inventory against `openapi.yaml`, redact; findings to a JSONL file, alerts (high and
critical) to a webhook this process answers. Nothing is forwarded: the console is the place to look.
Its address is 127.0.0.1:8890, or a free port when that one is taken (`DEMO_CONSOLE` sets another).

Only counts, rule IDs and names, routes and grades are printed: never a token, password or PII
(the findings file and the console hold them masked already). Exit status 0 after a run that found
something, ended by DEMO_SECONDS or Ctrl-C (the summary is printed either way); 1, with the reason on
stderr, when the gateway or the app did not start or stopped, or nothing was found.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import yaml

from otel_apisec.examples.demo.traffic import CYCLE_ROUNDS, Player

__all__ = ["SERVICE", "main"]

SERVICE = "demo"
SPEC = Path(__file__).resolve().parent / "openapi.yaml"
DEFAULT_CONSOLE = ("127.0.0.1", 8890)
START_TIMEOUT_S = 60.0
STATUS_EVERY_S = 5.0
ROUND_S = 1.0
SETTLE_S = 3.0
"""After the traffic stops: how long the last spans may take to reach the findings (the app's batch
delay and background analysis, the gateway's pipeline)."""
SEVERITIES = ("critical", "high", "medium", "low", "info")
_BIN = Path(sys.executable).parent


class DemoError(RuntimeError):
    """The demo cannot go on: the message says why, in one line."""


def _say(text: str = "") -> None:
    print(text, flush=True)


# -- processes and ports ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _console_address() -> str:
    """`DEMO_CONSOLE`, else 127.0.0.1:8890 when free, else a free port."""
    if os.environ.get("DEMO_CONSOLE"):
        return os.environ["DEMO_CONSOLE"]
    with socket.socket() as sock:
        try:
            sock.bind(DEFAULT_CONSOLE)
        except OSError:
            return f"127.0.0.1:{_free_port()}"
    return f"{DEFAULT_CONSOLE[0]}:{DEFAULT_CONSOLE[1]}"


class _AlertSink:
    """The alerts' webhook: answers 200 and counts what came (the incidents are read from the console)."""

    def __init__(self) -> None:
        self.received = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.received += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.2,), name="demo-alerts", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/alerts"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _gateway_config(work: Path, grpc_port: int, console: str, alerts_url: str) -> Path:
    processors = ["apisec/enrich", "apisec/correlate", "apisec/inventory", "apisec/redact"]
    doc = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}}},
        "processors": {
            "apisec/enrich": {"hmac_key": "${env:OTEL_APISEC_HMAC_KEY}"},
            "apisec/correlate": {"store": "memory", "hmac_key": "${env:OTEL_APISEC_HMAC_KEY}"},
            "apisec/inventory": {"specs": {SERVICE: str(SPEC)}},
            "apisec/redact": {},
        },
        "exporters": {
            "apisec/findings": {"path": str(work / "findings.jsonl")},
            "apisec/alerts": {"receivers": [{"type": "webhook", "url": alerts_url}], "min_severity": "high"},
        },
        "service": {
            "telemetry": {"metrics": {"address": "off"}},
            "console": {"address": console},
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": processors,
                                     "exporters": ["apisec/findings", "apisec/alerts"]}},
        },
    }
    path = work / "gateway.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _instrument_command() -> str:
    for name in ("opentelemetry-instrument", "opentelemetry-instrument.exe"):
        if (_BIN / name).exists():
            return str(_BIN / name)
    raise DemoError(f"opentelemetry-instrument not found beside {sys.executable}: install otel-apisec with its "
                    "flask extra (`pip install -e '.[dev]'`, which `make demo` does)")


def _log_tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


@contextmanager
def _process(name: str, command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`command` running with its output in `log_path`; SIGTERM (then SIGKILL) on the way out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # Ctrl-C reaches only the runner, which stops them in order
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wait_http(name: str, url: str, process: subprocess.Popen[bytes], log_path: Path, stop: threading.Event) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if stop.is_set():
            raise DemoError(f"interrupted while the {name} was starting")
        if process.poll() is not None:
            raise DemoError(f"the {name} exited with status {process.returncode} before it answered; its output:\n"
                            f"{_log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        stop.wait(0.2)
    raise DemoError(f"the {name} did not answer {url} in {START_TIMEOUT_S:g} s; its output:\n{_log_tail(log_path)}")


# -- what the gateway found ---------------------------------------------------------------------------


@dataclass
class Findings:
    """The findings file, read as it grows: counts only."""

    path: Path
    by_severity: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(rule_id, rule_name, severity) -> findings."""
    routes: dict[str, set[str]] = field(default_factory=dict)
    """rule_id -> the routes it was found on."""
    across_requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(rule_id, rule_name) -> findings made across requests (brute force, enumeration, ...)."""
    _offset: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())

    def read(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as stream:
            stream.seek(self._offset)
            data = stream.read()
        end = data.rfind(b"\n") + 1  # a line being written waits for the next read
        self._offset += end
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                self._count(record)

    def _count(self, record: dict[str, Any]) -> None:
        rule, name, severity = str(record.get("rule_id", "")), str(record.get("rule_name", "")), str(record.get("severity", ""))
        self.by_severity[severity] += 1
        self.by_rule[(rule, name, severity)] += 1
        if record.get("route"):
            self.routes.setdefault(rule, set()).add(f"{record.get('method') or ''} {record['route']}".strip())
        if "group_key" in record or "subject" in record:
            self.across_requests[(rule, name)] += 1

    def severity_line(self) -> str:
        return ", ".join(f"{severity} {self.by_severity[severity]}" for severity in SEVERITIES)


def _get(console: str, path: str) -> Any:
    try:
        with urllib.request.urlopen(f"http://{console}{path}", timeout=15.0) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def _grades(console: str) -> dict[str, str]:
    """Service -> `C (72/100)`, from GET /api/v1/governance."""
    document = _get(console, "/api/v1/governance")
    services = document.get("services") if isinstance(document, dict) else None
    grades = {}
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and service.get("service"):
            grades[str(service["service"])] = f"{service.get('grade', '?')} ({service.get('score', '?')}/100)"
    return grades


def _incidents(console: str) -> list[dict[str, Any]]:
    document = _get(console, "/api/v1/incidents")
    incidents = document.get("incidents") if isinstance(document, dict) else None
    return [i for i in incidents if isinstance(i, dict)] if isinstance(incidents, list) else []


def _spec_status(console: str) -> tuple[Counter[str], dict[str, list[str]]]:
    """Endpoints per spec status, and the shadow and zombie ones by name, from GET /api/v1/inventory."""
    document = _get(console, "/api/v1/inventory")
    counts: Counter[str] = Counter()
    named: dict[str, list[str]] = {"shadow": [], "zombie": []}
    services = document.get("services") if isinstance(document, dict) else None
    for service in services if isinstance(services, list) else []:
        for endpoint in service.get("endpoints", []) if isinstance(service, dict) else []:
            status = str(endpoint.get("spec_status") or "no spec")
            counts[status] += 1
            if status in named:
                named[status].append(f"{endpoint.get('method', '')} {endpoint.get('route', '')}")
    return counts, named


# -- the run ------------------------------------------------------------------------------------------


def _status_line(elapsed: float, player: Player, findings: Findings, console: str) -> str:
    incidents = _incidents(console)
    open_incidents = sum(1 for incident in incidents if incident.get("status") == "firing")
    grades = _grades(console)
    grade = ", ".join(f"{service} {grade}" for service, grade in sorted(grades.items())) or "not yet"
    return (f"[{elapsed:5.0f} s] {sum(player.sent.values())} requests | findings {findings.total}: "
            f"{findings.severity_line()} | incidents open {open_incidents} | grade {grade}")


def _summary(player: Player, findings: Findings, console: str, alerts: _AlertSink, out: IO[str]) -> None:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say()
    say("=== otel-apisec demo: summary ===")
    say(f"console: http://{console}/  (JSON API under /api/v1/)")
    say(f"traffic: {sum(player.sent.values())} requests ("
        + ", ".join(f"{scenario} {count}" for scenario, count in player.sent.most_common()) + ")")
    say(f"findings: {findings.total} ({findings.severity_line()})")
    for (rule, name, severity), count in sorted(findings.by_rule.items(),
                                                key=lambda item: (SEVERITIES.index(item[0][2]) if item[0][2] in SEVERITIES
                                                                  else 9, -item[1], item[0][0])):
        routes = sorted(findings.routes.get(rule, ()))
        shown = ", ".join(routes[:3]) + (f" (+{len(routes) - 3})" if len(routes) > 3 else "")
        say(f"  {severity:<8} {rule:<15} {count:>5}  {name}" + (f"  on {shown}" if shown else ""))
    say(f"across requests (correlation): {sum(findings.across_requests.values()) or 'none'}")
    for (rule, name), count in sorted(findings.across_requests.items()):
        say(f"  {rule:<15} {count:>5}  {name}")
    incidents = sorted(_incidents(console), key=_incident_order)
    open_incidents = [incident for incident in incidents if incident.get("status") == "firing"]
    say(f"incidents: {len(open_incidents)} open, {len(incidents) - len(open_incidents)} resolved; "
        f"{alerts.received} alert notifications sent to the demo's webhook")
    for incident in incidents:
        labels = incident.get("labels")
        labels = labels if isinstance(labels, dict) else {}
        where = labels.get("route") or labels.get("alertname") or ""
        say(f"  {incident.get('status', ''):<8} {incident.get('severity', ''):<8} {incident.get('rule_id', ''):<15} "
            f"{labels.get('service', '')} {where}  ({_plural(int(incident.get('count') or 0), 'finding')})")
    counts, named = _spec_status(console)
    say("inventory: " + (", ".join(f"{status} {count}" for status, count in sorted(counts.items())) or "empty"))
    for status, endpoints in named.items():
        if endpoints:
            say(f"  {status}: {', '.join(sorted(endpoints))}")
    grades = _grades(console)
    for service, grade in sorted(grades.items()):
        say(f"grade: {service} {grade}")
    if not grades:
        say("grade: none yet")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _incident_order(incident: dict[str, Any]) -> tuple[int, int, str]:
    """Open first, then the most severe, then by rule."""
    severity = str(incident.get("severity", ""))
    return (incident.get("status") != "firing", SEVERITIES.index(severity) if severity in SEVERITIES else 9,
            str(incident.get("rule_id", "")))


def _seconds() -> float | None:
    text = os.environ.get("DEMO_SECONDS", "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise DemoError(f"DEMO_SECONDS={text!r}: expected a number of seconds") from None
    if seconds <= 0:
        raise DemoError(f"DEMO_SECONDS={text!r}: expected a number of seconds above 0")
    return seconds


def run(out: IO[str] = sys.stdout) -> int:
    seconds = _seconds()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="otel-apisec-demo-")))
        alerts = _AlertSink()
        stack.callback(alerts.close)
        console, grpc_port, app_port = _console_address(), _free_port(), _free_port()
        config = _gateway_config(work, grpc_port, console, alerts.url)
        key = secrets.token_hex(16)  # one pseudonym key for the app and the gateway, new each run
        env = {**os.environ, "OTEL_APISEC_HMAC_KEY": key, "PYTHONUNBUFFERED": "1"}

        _say(f"otel-apisec demo: starting the gateway (OTLP/gRPC 127.0.0.1:{grpc_port}, console {console}) ...")
        gateway_log = work / "gateway.log"
        gateway = stack.enter_context(_process("gateway", [sys.executable, "-m", "otel_apisec", "gateway",
                                                           "--config", str(config)], env, gateway_log))

        # Both start at once (the app's exporter retries until the gateway listens); no traffic before both answer.
        _say(f"otel-apisec demo: starting the demo API under opentelemetry-instrument (http://127.0.0.1:{app_port}) ...")
        app_env = {
            **env,
            "OTEL_PYTHON_DISTRO": "apisec", "OTEL_PYTHON_CONFIGURATOR": "apisec", "OTEL_SERVICE_NAME": SERVICE,
            "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{grpc_port}",
            "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "OTEL_BSP_SCHEDULE_DELAY": "500",
        }
        app_log = work / "app.log"
        app = stack.enter_context(_process("demo API", [_instrument_command(), sys.executable, "-m",
                                                        "otel_apisec.examples.demo.app", str(app_port)], app_env, app_log))
        _wait_http("gateway", f"http://{console}/healthz", gateway, gateway_log, stop)
        _wait_http("demo API", f"http://127.0.0.1:{app_port}/health", app, app_log, stop)

        _say()
        _say(f"  console: http://{console}/   (JSON API: http://{console}/api/v1/findings, incidents, inventory, governance)")
        _say(f"  traffic: normal users, and every {CYCLE_ROUNDS} s a brute force, an ID walk, an injection, "
             "a forged weak-secret JWT and shadow-endpoint calls")
        _say("  " + (f"running {seconds:g} s" if seconds else "running until Ctrl-C"))
        _say()
        player, findings = Player(f"http://127.0.0.1:{app_port}"), Findings(work / "findings.jsonl")
        started = time.monotonic()
        next_status, number = started + STATUS_EVERY_S, 0
        while not stop.is_set() and (seconds is None or time.monotonic() - started < seconds):
            for name, process in (("gateway", gateway), ("demo API", app)):
                if process.poll() is not None:
                    log = gateway_log if process is gateway else app_log
                    raise DemoError(f"the {name} stopped (status {process.returncode}); its output:\n{_log_tail(log)}")
            round_started = time.monotonic()
            player.play_round(number)
            number += 1
            if time.monotonic() >= next_status:
                findings.read()
                _say(_status_line(time.monotonic() - started, player, findings, console))
                next_status += STATUS_EVERY_S
            stop.wait(max(0.0, ROUND_S - (time.monotonic() - round_started)))

        _say("otel-apisec demo: traffic stopped; stopping the demo API (it flushes its spans) ...")
        _stop(app)
        _settle(findings)
        _summary(player, findings, console, alerts, out)
        if not player.sent:
            raise DemoError("the demo API answered no request")
        if not findings.total:
            raise DemoError("the gateway reported no finding: see its console, or run again")
    return 0


def _settle(findings: Findings) -> None:
    """Wait until the findings file stops growing (at most `SETTLE_S` after it last grew)."""
    deadline = time.monotonic() + SETTLE_S
    last = -1
    while time.monotonic() < deadline:
        findings.read()
        if findings.total != last:
            last, deadline = findings.total, time.monotonic() + SETTLE_S / 3
        time.sleep(0.25)


def main() -> int:
    try:
        return run()
    except DemoError as error:
        print(f"otel-apisec demo: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
