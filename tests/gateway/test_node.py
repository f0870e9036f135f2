"""A Node.js service, instrumented with the official @opentelemetry/* npm packages, sends its spans
to `otel-apisec gateway` (OTLP/HTTP protobuf); the gateway forwards them to an in-test OTLP receiver.

The Node agent records what it sees on the wire (method, URL, status, the captured request headers),
not the response body, so the assertions are about what can be known from that: the token state,
the auth outcome, attacks in the query, and that credentials and PII in headers and query never
reach the backend. The app (tests/node_app) exports only when SIGTERM flushes it: the batch delay is
longer than the test, so every span that arrives proves `provider.shutdown()` ran.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import jwt
import pytest

from otel_apisec import attributes as A
from otel_apisec.testing.servers import free_port
from otel_apisec.testing.sink import OtlpSink, SpanRecord

pytestmark = pytest.mark.e2e

NODE_APP = Path(__file__).resolve().parents[1] / "node_app"
NPM_CI_TIMEOUT_S = 300
START_TIMEOUT_S = 30

EXPIRED = jwt.encode({"sub": "node-user-42", "exp": 1_600_000_000}, "node-test-signing-key-0123456789abcdef", algorithm="HS256")
API_KEY = "sk_live_51NodeGatewayTestKey0123456789abcdef"
SESSION = "s%3Anode-session-7f3c9a1e5b2d4c6a8e0f"
EMAIL = "heidi.node@example.com"
SQLI = "1' OR '1'='1' --"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: the Node.js interop test needs Node.js >= 20.6 and npm "
                    f"(install them, e.g. `apt-get install nodejs npm`); it is not skipped on purpose")
    return path


@pytest.fixture(scope="session")
def node_app_dir() -> Path:
    """tests/node_app with its node_modules installed from package-lock.json (npm ci, when missing or stale)."""
    npm = _tool("npm")
    _tool("node")
    installed = NODE_APP / "node_modules" / ".package-lock.json"  # npm writes it last
    lock = NODE_APP / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        started = time.monotonic()
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_APP, capture_output=True, text=True,
                                timeout=NPM_CI_TIMEOUT_S)
        assert result.returncode == 0, f"npm ci failed in {NODE_APP}:\n{result.stdout}\n{result.stderr}"
        print(f"npm ci took {time.monotonic() - started:.1f} s", file=sys.stderr)
    return NODE_APP


def _wait_for_line(read: Callable[[], str], marker: str, process: subprocess.Popen[str], what: str) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in read().splitlines():
            if marker in line:
                return line
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}:\n{read()}")
        time.sleep(0.05)
    raise AssertionError(f"{what} did not print {marker!r} within {START_TIMEOUT_S} s:\n{read()}")


@dataclass(frozen=True)
class NodeRun:
    spans: list[SpanRecord]
    spans_before_sigterm: int
    raw: bytes
    findings: list[dict[str, object]]

    def span(self, path: str, **attributes: object) -> SpanRecord:
        """The one server span for `path` (url.path, or the path of the old http.target) with these attributes."""
        def path_of(span: SpanRecord) -> str:  # stable semconv (the default now), else the old http.target
            return str(span.attributes.get("url.path") or span.attributes.get("http.target", "")).split("?", 1)[0]

        matching = [s for s in self.spans if path_of(s) == path and all(s.attributes.get(k) == v for k, v in attributes.items())]
        assert len(matching) == 1, f"{len(matching)} spans for {path} {attributes}: {[s.attributes for s in self.spans]}"
        return matching[0]


@pytest.fixture(scope="module")
def node_run(node_app_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeRun]:
    """Sink <- gateway <- Node app; a handful of requests; the app stopped with SIGTERM; what reached the sink."""
    tmp = tmp_path_factory.mktemp("gateway_node")
    findings = tmp / "findings.jsonl"
    with OtlpSink("grpc") as sink, tempfile.TemporaryFile("w+") as gateway_log, tempfile.TemporaryFile("w+") as app_log:

        def read(log: object) -> str:
            log.seek(0)
            return log.read()

        grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--grpc-endpoint", f"127.0.0.1:{grpc_port}",
             "--http-endpoint", f"127.0.0.1:{http_port}", "--forward", sink.endpoint, "--forward-protocol", sink.protocol,
             "--findings-file", str(findings), "--metrics-endpoint", f"127.0.0.1:{metrics_port}", "--console", "off"],
            stdout=gateway_log, stderr=subprocess.STDOUT, text=True)
        app = None
        try:
            _wait_for_line(lambda: read(gateway_log), "listening", gateway, "the gateway")
            env = {**os.environ, "PORT": "0", "OTEL_SERVICE_NAME": "users-node",
                   "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{http_port}",
                   # Longer than the test: spans leave only when SIGTERM flushes them.
                   "OTEL_BSP_SCHEDULE_DELAY": "600000"}
            env.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
            app = subprocess.Popen([_tool("node"), "--require", "./tracing.js", "app.js"], cwd=node_app_dir, env=env,
                                   stdout=app_log, stderr=subprocess.STDOUT, text=True)
            url = _wait_for_line(lambda: read(app_log), "listening on ", app, "the Node app").split("listening on ", 1)[1]
            with httpx.Client(base_url=url.strip(), timeout=10) as client:
                statuses = [
                    client.get("/api/me", headers={"Authorization": f"Bearer {EXPIRED}", "User-Agent": "node-e2e"}).status_code,
                    client.get("/api/me").status_code,
                    client.get("/api/users/7", headers={"X-API-Key": API_KEY, "Cookie": f"sid={SESSION}"}).status_code,
                    client.get("/api/users/8", params={"email": EMAIL, "api_key": API_KEY}).status_code,
                    client.get("/api/users/9", params={"q": SQLI}).status_code,
                ]
            assert statuses == [401, 401, 200, 200, 200]
            time.sleep(0.3)  # what the app would have exported by now, the gateway would have forwarded
            before_sigterm = len(sink.spans())
            app.send_signal(signal.SIGTERM)
            assert app.wait(15) == 0, read(app_log)
            sink.wait_for_spans(lambda s: s.kind == "SERVER", count=len(statuses), timeout=20)
        except BaseException:
            print(f"--- gateway ---\n{read(gateway_log)}\n--- node app ---\n{read(app_log)}", file=sys.stderr)
            raise
        finally:
            if app is not None and app.poll() is None:
                app.kill()
                app.wait(5)
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(30)
        assert gateway.returncode == 0, read(gateway_log)
        spans, raw = sink.spans(), sink.raw()  # after the gateway drained: late duplicates would show
    lines = [json.loads(line) for line in findings.read_text().splitlines()] if findings.exists() else []
    yield NodeRun(spans, before_sigterm, raw, lines)


def test_every_request_arrives_once_as_a_node_server_span_flushed_by_sigterm(node_run: NodeRun) -> None:
    assert node_run.spans_before_sigterm == 0  # the batch delay outlasts the test: only shutdown() exports
    assert len(node_run.spans) == 5 and {s.kind for s in node_run.spans} == {"SERVER"}
    assert {s.scope for s in node_run.spans} == {"@opentelemetry/instrumentation-http"}
    assert {s.resource.get("service.name") for s in node_run.spans} == {"users-node"}
    assert all(A.AUTH_OUTCOME in s.attributes and A.RISK_SCORE in s.attributes for s in node_run.spans)


def test_expired_bearer_token_is_recognised_and_masked(node_run: NodeRun) -> None:
    span = node_run.span("/api/me", **{A.AUTH_SCHEME: "bearer"})
    assert span.attributes[A.TOKEN_STATE] == "expired"
    assert span.attributes[A.AUTH_OUTCOME] == "failure"
    assert span.attributes[A.TOKEN_ALG] == "HS256"
    assert span.attributes["http.request.header.authorization"] == [A.REDACTED]
    assert span.attributes["http.request.header.user-agent"] == ["node-e2e"]  # harmless headers pass unchanged
    assert [e.attributes[A.RULE_ID] for e in span.event(A.FINDING_EVENT)] == ["APISEC-TOK-003"]
    assert EXPIRED.encode() not in node_run.raw and EXPIRED.split(".")[2].encode() not in node_run.raw


def test_missing_credentials_with_401_is_an_auth_failure(node_run: NodeRun) -> None:
    span = node_run.span("/api/me", **{A.AUTH_SCHEME: "none"})
    assert span.attributes["http.response.status_code"] == 401
    assert span.attributes[A.AUTH_OUTCOME] == "failure"
    assert span.attributes[A.TOKEN_STATE] == "none"


def test_api_key_and_session_cookie_headers_are_masked(node_run: NodeRun) -> None:
    span = node_run.span("/api/users/7")
    assert span.attributes[A.AUTH_SCHEME] == "api_key" and span.attributes[A.AUTH_OUTCOME] == "success"
    assert span.attributes["http.request.header.x-api-key"] == [A.REDACTED]
    assert span.attributes["http.request.header.cookie"] == [A.REDACTED]
    assert span.attributes["http.route"] == "/api/users/:id"  # set by the app on the instrumentation's span


def test_pii_and_credentials_in_the_query_are_found_and_masked(node_run: NodeRun) -> None:
    span = node_run.span("/api/users/8")
    assert span.attributes[A.PII_TYPES] == ["email"]
    assert "APISEC-AUTH-002" in span.attributes[A.FINDINGS]  # a credential in the URL
    assert span.attributes["url.query"] == f"email={A.REDACTED}&api_key={A.REDACTED}"
    raw = node_run.raw
    for planted in (EMAIL, quote_plus(EMAIL), API_KEY, SESSION, quote_plus(SESSION)):
        assert planted.encode() not in raw, planted


def test_sql_injection_in_the_query_is_detected(node_run: NodeRun) -> None:
    span = node_run.span("/api/users/9")
    assert span.attributes[A.ATTACK_DETECTED] is True
    assert span.attributes[A.ATTACK_TYPES] == ["sqli"]
    assert span.attributes[A.SEVERITY_MAX] == "critical"
    (event,) = [e for e in span.event(A.FINDING_EVENT) if e.attributes[A.FINDING_KIND] == "sqli"]
    assert event.attributes[A.FINDING_LOCATION] == "request.query.q"


def test_findings_file_names_the_node_service_and_route(node_run: NodeRun) -> None:
    sqli = [f for f in node_run.findings if f["kind"] == "sqli"]
    assert len(sqli) == 1 and sqli[0]["service_name"] == "users-node" and sqli[0]["route"] == "/api/users/:id"
    assert {f["rule_id"] for f in node_run.findings} >= {"APISEC-TOK-003", "APISEC-PII-001", "APISEC-INJ-001"}
