"""End to end: the API estate over real sockets, with real processes.

Real `otel-apisec gateway` processes receive OTLP from a Flask app under `opentelemetry-instrument`
(routes known from `http.route`) and raw spans built here (paths only, no route), and answer on
their console (`GET /api/v1/inventory`, ...). Around them: an OpenAPI document written here
(drift), an inventory file across a restart, a real redis-server shared by two replicas, the
console's token, and values planted to check that none comes out.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec.testing.builders import server_span, trace_request
from otel_apisec.testing.redis import RedisServer, redis_server  # noqa: F401  (the session fixture)
from otel_apisec.testing.servers import free_port, gateway_process
from otel_apisec.testing.sink import OtlpSink
from tests.apps import _shared
from tests.e2e_harness import run_app

pytestmark = pytest.mark.e2e

WAIT_S = 20.0
CONSOLE_PATHS = ("/api/v1/inventory", "/api/v1/governance", "/api/v1/findings", "/api/v1/incidents")
ENDPOINT_KEYS = {"method", "route", "spec_status", "calls", "first_seen", "last_seen", "status_codes", "auth_schemes",
                 "unauthenticated_calls", "unauthenticated_success", "pii_types", "findings", "grade", "score",
                 "parameters"}


@dataclass(frozen=True)
class Running:
    """A gateway's OTLP/HTTP receiver and console."""

    http_url: str
    console_url: str
    token: str | None = None

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        """GET a console path with the gateway's token, or `token` ("": none)."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.console_url}{path}", headers=headers, timeout=15.0)

    def inventory(self) -> dict[str, Any]:
        response = self.get("/api/v1/inventory")
        assert response.status_code == 200, response.text
        return response.json()

    def send(self, spans: list[Span], service: str) -> None:
        """One OTLP/HTTP protobuf export, as a Collector or an agent sends it."""
        body = trace_request(*spans, resource={"service.name": service}).SerializeToString()
        response = httpx.post(f"{self.http_url}/v1/traces", content=body,
                              headers={"Content-Type": "application/x-protobuf"}, timeout=15.0)
        assert response.status_code == 200, response.text


@contextmanager
def gateway(*args: str, env: dict[str, str] | None = None, token: str | None = None,
            console_host: str = "127.0.0.1") -> Iterator[Running]:
    """A gateway in flag mode on free ports, its console on one too."""
    http_port, console_port = free_port(), free_port()
    with gateway_process("--grpc-endpoint", f"127.0.0.1:{free_port()}", "--http-endpoint", f"127.0.0.1:{http_port}",
                         "--metrics-endpoint", "off", *args, env=env, console=f"{console_host}:{console_port}"):
        yield Running(f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{console_port}", token)


@contextmanager
def gateway_from_config(config: dict[str, Any], path: Path, env: dict[str, str]) -> Iterator[Running]:
    """A gateway from a YAML config that receives OTLP/HTTP and serves its console on free ports."""
    http_port, console_port = free_port(), free_port()
    config = {**config, "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{http_port}"}}}}}
    config["service"] = {**config["service"], "telemetry": {"metrics": {"address": "off"}},
                         "console": {"address": f"127.0.0.1:{console_port}"}}
    path.write_text(yaml.safe_dump(config))
    with gateway_process("--config", str(path), env=env):
        yield Running(f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{console_port}")


_span_ids = iter(range(1, 1 << 62))


def raw_span(method: str, path: str, status: int = 200, *, bearer: str | None = None,
             request_json: object = None, response_json: object = None) -> Span:
    """An HTTP server span with a raw path and no `http.route` (an agent that does not know the
    route), ending now; captured JSON bodies and the Authorization header when given."""
    attributes: dict[str, object] = {"http.request.method": method, "url.path": path, "url.scheme": "https",
                                     "server.address": "api.example.com", "client.address": "203.0.113.9",
                                     "http.response.status_code": status}
    if bearer is not None:
        attributes["http.request.header.authorization"] = [f"Bearer {bearer}"]
    if request_json is not None:
        attributes["http.request.header.content-type"] = ["application/json"]
        attributes["http.request.body"] = json.dumps(request_json)
    if response_json is not None:
        attributes["http.response.header.content-type"] = ["application/json"]
        attributes["http.response.body"] = json.dumps(response_json)
    span = server_span(attributes, method, span_id=next(_span_ids))
    span.trace_id = secrets.token_bytes(16)
    span.end_time_unix_nano = time.time_ns()
    span.start_time_unix_nano = span.end_time_unix_nano - 12_000_000
    return span


def endpoints(doc: dict[str, Any], service: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The service's endpoints by (method, route); {} when the service is not there."""
    for entry in doc["services"]:
        if entry["service"] == service:
            return {(e["method"], e["route"]): e for e in entry["endpoints"]}
    return {}


def wait_for(running: Running, ready: Callable[[dict[str, Any]], bool], what: str,
             timeout_s: float = WAIT_S) -> dict[str, Any]:
    """The first inventory document `ready` accepts; fails with the last one after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        doc = running.inventory()
        if ready(doc):
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen in {timeout_s} s; inventory: {json.dumps(doc)[:4000]}")
        time.sleep(0.2)


def calls_of(doc: dict[str, Any], service: str) -> dict[tuple[str, str], int]:
    return {key: e["calls"] for key, e in endpoints(doc, service).items()}


# --- 1. inventory from an instrumented app and from raw spans -------------------------------------------------

USER_NAMES = ("alice", "bob", "carol", "dave")


def _profile(name: str) -> dict[str, object]:
    return {"login": name, "display_name": name.title(), "followers": len(name)}


def test_inventory_from_an_instrumented_flask_app_and_raw_spans() -> None:
    with gateway() as running, OtlpSink("http/protobuf") as sink:
        # run_app points the app at a sink; this one only lends its protocol: the gateway is the endpoint.
        app_env: dict[str, str | None] = {"OTEL_EXPORTER_OTLP_ENDPOINT": running.http_url, "OTEL_METRICS_EXPORTER": "none"}
        with run_app("flask", sink, app_env) as app, httpx.Client(base_url=app.url, timeout=30.0) as client:
            assert client.get("/api/users/7").status_code == 200  # no credentials, 200
            assert client.get("/api/users/8").status_code == 200
            assert client.get("/api/me", headers={"Authorization": "Bearer e2e-opaque-token"}).status_code == 200
            assert client.get("/api/me").status_code == 401  # no credentials, refused
        # Raw paths, no route: typed ids are templated at once, names on evidence, `me` stays literal.
        spans = [raw_span("GET", f"/api/orders/{n}", bearer="e2e-orders-token", response_json={"id": n, "total": 9.5})
                 for n in (123, 456)]
        spans += [raw_span("GET", f"/api/users/{name}", response_json=_profile(name)) for name in USER_NAMES]
        spans.append(raw_span("GET", "/api/users/me", bearer="e2e-me-token", response_json=_profile("me")))
        running.send(spans, "raw-api")

        doc = wait_for(running, lambda d: sum(calls_of(d, "e2e-flask").values()) >= 4
                       and sum(calls_of(d, "raw-api").values()) >= 7, "the app's 4 calls and 7 raw spans")

    assert set(doc) >= {"generated_at", "services"} and doc["generated_at"].endswith("Z")
    for service in doc["services"]:
        assert set(service) >= {"service", "grade", "score", "endpoints"}
        assert service["grade"] in ("A", "B", "C", "D", "F") and 0 <= service["score"] <= 100
        for endpoint in service["endpoints"]:
            assert set(endpoint) >= ENDPOINT_KEYS, ENDPOINT_KEYS - set(endpoint)

    flask = endpoints(doc, "e2e-flask")
    users, me = flask[("GET", "/api/users/{user_id}")], flask[("GET", "/api/me")]
    assert users["route_source"] == "http.route" and users["calls"] == 2
    assert users["status_codes"] == {"200": 2}
    assert users["unauthenticated_success"] == 2, "answered 200 without credentials: flagged"
    assert {"name": "user_id", "in": "path"}.items() <= users["parameters"][0].items(), users["parameters"]
    assert me["calls"] == 2 and me["status_codes"] == {"200": 1, "401": 1}
    assert me["auth_schemes"] == ["bearer"]
    assert me["unauthenticated_calls"] == 1 and me["unauthenticated_success"] == 0, "refused without credentials"
    assert users["first_seen"] <= users["last_seen"]

    raw = endpoints(doc, "raw-api")
    assert set(raw) == {("GET", "/api/orders/{order_id}"), ("GET", "/api/users/{user}"), ("GET", "/api/users/me")}, raw
    orders, named = raw[("GET", "/api/orders/{order_id}")], raw[("GET", "/api/users/{user}")]
    literal = raw[("GET", "/api/users/me")]
    assert (orders["calls"], named["calls"], literal["calls"]) == (2, 4, 1)
    assert orders["route_source"] == named["route_source"] == "inferred"
    assert orders["auth_schemes"] == ["bearer"] and orders["unauthenticated_success"] == 0
    assert named["auth_schemes"] == [] and named["unauthenticated_success"] == 4
    assert literal["unauthenticated_success"] == 0
    # The path parameters are listed under the inferred route's names (a typed `{id}`, and a string segment).
    path_parameters = {(p["name"], tuple(p["types"]), p["calls"]) for e in (orders, named) for p in e["parameters"]
                       if p["in"] == "path"}
    assert path_parameters == {("order_id", ("integer",), 2), ("user", ("string",), 4)}, path_parameters


# --- 2. spec drift --------------------------------------------------------------------------------------------

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "shop", "version": "2.0.0"},
    "servers": [{"url": "https://api.example.com/api"}],
    "paths": {
        "/orders/{orderId}": {
            "parameters": [{"name": "orderId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"responses": {"200": {"description": "an order"}}},
        },
        "/reports/legacy": {"get": {"deprecated": True, "responses": {"200": {"description": "old report"}}}},
        "/health": {"get": {"responses": {"200": {"description": "up"}}}},
    },
}


def test_spec_drift_classes_through_the_gateway(tmp_path: Path) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    with gateway("--spec", f"shop={spec}") as running:
        running.send([
            raw_span("GET", "/api/orders/1", bearer="t"), raw_span("GET", "/api/orders/2", bearer="t"),  # documented
            raw_span("GET", "/api/reports/legacy", bearer="t"),  # deprecated, still called: zombie
            raw_span("DELETE", "/api/orders/3", 204, bearer="t"),  # known path, undocumented method: shadow
            raw_span("POST", "/api/admin/export", bearer="t"),  # unknown path: shadow
        ], "shop")
        doc = wait_for(running, lambda d: sum(calls_of(d, "shop").values()) >= 5, "5 calls of shop")

    shop = next(s for s in doc["services"] if s["service"] == "shop")
    status = {(e["method"], e["route"]): e["spec_status"] for e in shop["endpoints"]}
    by_class: dict[str, set[tuple[str, str]]] = {}
    for key, value in status.items():
        by_class.setdefault(value, set()).add(key)
    assert {method for method, _ in by_class.get("documented", set())} == {"GET"}, status
    assert by_class.get("zombie") == {("GET", "/api/reports/legacy")}, status
    assert {method for method, _ in by_class.get("shadow", set())} == {"DELETE", "POST"}, status
    assert ("POST", "/api/admin/export") in by_class["shadow"], status
    orphans = by_class.get("orphan", set())
    assert {route for _, route in orphans} == {"/api/health"}, status
    documented = next(e for e in shop["endpoints"] if e["spec_status"] == "documented")
    assert documented["calls"] == 2
    orphan = next(e for e in shop["endpoints"] if e["spec_status"] == "orphan")
    assert orphan["calls"] == 0


# --- 3. a restart keeps the inventory -------------------------------------------------------------------------


def test_a_restart_keeps_the_inventory(tmp_path: Path) -> None:
    saved = tmp_path / "inventory.json"
    with gateway("--inventory-file", str(saved)) as running:
        running.send([raw_span("GET", f"/api/orders/{n}", bearer="t") for n in (1, 2, 3)]
                     + [raw_span("POST", "/api/login", 401)], "shop")
        before = wait_for(running, lambda d: sum(calls_of(d, "shop").values()) == 4, "4 calls")
    assert saved.is_file(), "written at shutdown"
    with gateway("--inventory-file", str(saved)) as running:
        after_restart = running.inventory()
        assert calls_of(after_restart, "shop") == calls_of(before, "shop") == {
            ("GET", "/api/orders/{order_id}"): 3, ("POST", "/api/login"): 1}
        kept = endpoints(after_restart, "shop")[("GET", "/api/orders/{order_id}")]
        assert kept["first_seen"] == endpoints(before, "shop")[("GET", "/api/orders/{order_id}")]["first_seen"]
        running.send([raw_span("GET", "/api/orders/4", bearer="t")], "shop")  # counting goes on from there
        wait_for(running, lambda d: calls_of(d, "shop").get(("GET", "/api/orders/{order_id}")) == 4, "4 order calls")


# --- 4. two replicas, one Redis ------------------------------------------------------------------------------


def _replica_config(redis_url: str, prefix: str, replica_id: str) -> dict[str, Any]:
    """What `--state-store redis://...` builds, with a short flush interval (no flag for it)."""
    key = "${env:OTEL_APISEC_HMAC_KEY}"
    inventory = {"store": redis_url, "key_prefix": prefix, "flush_interval_s": 0.5}
    if replica_id:
        inventory["replica_id"] = replica_id
    return {
        "processors": {"apisec/enrich": {"hmac_key": key}, "apisec/inventory": inventory, "apisec/redact": {}},
        "exporters": {"console": {}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["console"],
                                             "processors": ["apisec/enrich", "apisec/inventory", "apisec/redact"]}}},
    }


@pytest.mark.parametrize("replica_ids", [("replica-a", "replica-b"), ("", "")],
                         ids=["replica-ids-set", "default-replica-ids"])
def test_two_replicas_on_one_redis_give_one_inventory(tmp_path: Path, redis_server: RedisServer,  # noqa: F811
                                                      replica_ids: tuple[str, str]) -> None:
    prefix = f"e2e-estate-{secrets.token_hex(4)}:"
    env = {"OTEL_APISEC_HMAC_KEY": "e2e-replicas-key"}
    with gateway_from_config(_replica_config(redis_server.url, prefix, replica_ids[0]), tmp_path / "one.yaml", env) as one, \
            gateway_from_config(_replica_config(redis_server.url, prefix, replica_ids[1]), tmp_path / "two.yaml", env) as two:
        one.send([raw_span("GET", f"/api/orders/{n}", bearer="t") for n in (1, 2, 3)], "shop")
        two.send([raw_span("GET", f"/api/orders/{n}", bearer="t") for n in (4, 5)]
                 + [raw_span("GET", "/api/status")], "shop")
        expected = {("GET", "/api/orders/{order_id}"): 5, ("GET", "/api/status"): 1}
        # 0.5 s flushes: 8 s is 16 of them (the default-id case waits only that long to fail).
        docs = [wait_for(replica, lambda d: calls_of(d, "shop") == expected, f"replica {name}: calls summed", 8.0)
                for name, replica in (("one", one), ("two", two))]
    assert endpoints(docs[0], "shop").keys() == endpoints(docs[1], "shop").keys()


# --- 5. the console's token -----------------------------------------------------------------------------------


def test_console_off_loopback_needs_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OTEL_APISEC_CONSOLE_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "otel_apisec", "gateway", "--grpc-endpoint", f"127.0.0.1:{free_port()}",
         "--http-endpoint", f"127.0.0.1:{free_port()}", "--metrics-endpoint", "off", "--console", f"0.0.0.0:{free_port()}"],
        capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--console 0.0.0.0:" in lines[0] and "not loopback: set OTEL_APISEC_CONSOLE_TOKEN" in lines[0], lines

    token = "e2e-console-" + secrets.token_hex(16)
    with gateway(env={"OTEL_APISEC_CONSOLE_TOKEN": token}, console_host="0.0.0.0", token=token) as running:
        for path in CONSOLE_PATHS:
            refused = running.get(path, token="")
            assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer"), path
            assert running.get(path, token="e2e-wrong-token").status_code == 401, path
            assert running.get(path).status_code == 200, path
        assert httpx.get(f"{running.console_url}/healthz", timeout=5).status_code == 200  # says nothing: no token


# --- 6. nothing raw leaves ------------------------------------------------------------------------------------


def test_no_planted_value_reaches_the_console_or_the_inventory_file(tmp_path: Path) -> None:
    planted = {
        "bearer token": "e2ePlantedTok" + secrets.token_hex(12),
        "password": "e2e-Planted-Pw-" + secrets.token_hex(8),
        "email": f"planted.{secrets.token_hex(4)}@example.com",
        "card": "4111111111111111",
    }
    saved = tmp_path / "inventory.json"
    spans = [
        raw_span("POST", "/api/login", 200, request_json={"username": "alice", "password": planted["password"]},
                 response_json={"ok": True}),
        raw_span("GET", f"/api/users/{planted['email']}/orders", 200, bearer=planted["bearer token"],
                 response_json={"orders": [{"id": 1, "card": planted["card"]}]}),
        raw_span("GET", "/api/payments/42", 200, bearer=planted["bearer token"],
                 response_json={"id": 42, "card_number": planted["card"], "holder": _shared.USER_NAME}),
    ]
    with gateway("--inventory-file", str(saved)) as running:
        running.send(spans, "shop")
        doc = wait_for(running, lambda d: sum(calls_of(d, "shop").values()) == 3, "3 calls")
        answers = {}
        for path in CONSOLE_PATHS:
            response = running.get(path)
            assert response.status_code == 200, path
            answers[path] = response.text
    # The values arrived and were seen: only their names and types come out.
    shop = endpoints(doc, "shop")
    assert {"credit_card", "email"} <= {t for e in shop.values() for t in e["pii_types"]}, shop
    assert any(p["name"] == "password" and p["in"] == "body" for p in shop[("POST", "/api/login")]["parameters"])
    assert any(e["auth_schemes"] == ["bearer"] for e in shop.values())
    assert json.loads(answers["/api/v1/findings"])["findings"], "the card gives findings: the search has material"
    answers["inventory file"] = saved.read_text()
    leaks = [(name, where) for where, text in answers.items() for name, value in planted.items() if value in text]
    assert not leaks, f"planted values found: {leaks}"


def test_a_masked_path_segment_becomes_a_parameter() -> None:
    with gateway() as running:
        running.send([raw_span("GET", "/api/users/jane.roe@example.com/orders")], "shop")
        doc = wait_for(running, lambda d: sum(calls_of(d, "shop").values()) == 1, "1 call")
    (route,) = [route for _, route in endpoints(doc, "shop")]
    assert route.startswith("/api/users/{") and route.endswith("}/orders"), route
