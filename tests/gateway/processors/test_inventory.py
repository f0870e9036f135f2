"""`apisec/inventory` over built spans: what reaches the inventory, persistence, replicas on one
real Redis, and the bounds under hostile spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.gateway.anyvalue import set_value
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.components.base import BuildContext
from otel_apisec.gateway.components.confmap import ConfigError
from otel_apisec.gateway.processors.inventory.config import FACTORY
from otel_apisec.gateway.processors.inventory.processor import InventoryProcessor
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.gateway.selfmetrics import estate_families
from otel_apisec.testing.redis import RedisServer, redis_server  # noqa: F401 - the session fixture
from otel_apisec.testing.servers import free_port

T0 = 1_700_000_000 * 10**9
_SCOPE = getattr(A, "FINDING_SCOPE", "apisec.finding.scope")


def span(method: str, path: str, status: int = 200, *, route: str | None = None, auth: str = "bearer",
         outcome: str = "success", findings: tuple[dict[str, str], ...] = (), n: int = 0, **extra: Any) -> Span:
    s = Span(name=f"{method} {route or path}", kind=Span.SPAN_KIND_SERVER, trace_id=n.to_bytes(16, "big"),
             span_id=(n + 1).to_bytes(8, "big"), start_time_unix_nano=T0 + n * 10**6,
             end_time_unix_nano=T0 + n * 10**6 + 25 * 10**6)
    attributes: dict[str, Any] = {"http.request.method": method, "url.path": path, "url.scheme": "https",
                                  "http.response.status_code": status, A.AUTH_SCHEME: auth, A.AUTH_OUTCOME: outcome,
                                  **extra}
    if route:
        attributes["http.route"] = route
    for key, value in attributes.items():
        set_value(s.attributes.add(key=key).value, value)
    for finding in findings:
        event = s.events.add(name=A.FINDING_EVENT, time_unix_nano=s.end_time_unix_nano)
        for key, value in finding.items():
            set_value(event.attributes.add(key=key).value, value)
    return s


def request(spans: list[Span], service: str = "shop") -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    resource = req.resource_spans.add()
    set_value(resource.resource.attributes.add(key="service.name").value, service)
    resource.scope_spans.add().spans.extend(spans)
    return req


def build(tmp_path: Path | None = None, **options: Any) -> tuple[InventoryProcessor, Any, SecurityTally]:
    tally = SecurityTally()
    built = FACTORY.create(FACTORY.config("processors.apisec/inventory", options), BuildContext("apisec/inventory", tally))
    return built.impl, built, tally


def feed(processor: InventoryProcessor, spans: list[Span], service: str = "shop") -> ExportTraceServiceRequest:
    req = request(spans, service)
    before = req.SerializeToString()
    out = processor.process(Signal.TRACES, req)
    assert out is req and req.SerializeToString() == before  # spans pass unchanged
    return req


def endpoints(processor: InventoryProcessor, service: str = "shop") -> dict[str, Any]:
    estate = processor.snapshot()
    svc = estate.service(service)
    assert svc is not None
    return {f"{e.method} {e.route}": e for e in svc.endpoints}


def test_http_route_is_the_endpoint_and_raw_paths_are_inferred() -> None:
    processor, built, _ = build()
    feed(processor, [span("GET", f"/users/{i}", route="/users/<int:user_id>", n=i) for i in range(3)]
         + [span("GET", f"/orders/{1000 + i}", n=10 + i) for i in range(3)]
         + [span("GET", "/orders/mine", n=20)])
    found = endpoints(processor)
    assert found["GET /users/{user_id}"].record.calls == 3
    assert found["GET /users/{user_id}"].record.route_known
    orders = [name for name in found if name.startswith("GET /orders/")]
    assert "GET /orders/mine" in orders and len(orders) == 2  # typed IDs templated, the literal sibling kept
    assert not any("1000" in name for name in found)
    assert all(e.spec_status is None for e in found.values())
    built.shutdown(1.0)


def test_unauthenticated_successes_are_flagged_and_metrics_report_them() -> None:
    processor, built, tally = build()
    feed(processor, [span("GET", "/public/items", auth="none", outcome="anonymous", n=1),
                     span("GET", "/private", auth="none", outcome="anonymous", status=401, n=2),
                     span("GET", "/private", auth="bearer", n=3)])
    found = endpoints(processor)
    assert found["GET /public/items"].record.unauthenticated_success == 1
    assert found["GET /private"].record.unauthenticated_calls == 1
    assert found["GET /private"].record.unauthenticated_success == 0
    families = {f.name: f for f in estate_families(tally)}
    unauthenticated = families["otel_apisec_estate_unauthenticated_endpoints"].samples
    assert [(s.labels, s.value) for s in unauthenticated] == [({"service": "shop"}, 1)]
    by_status = {s.labels["spec_status"]: s.value for s in families["otel_apisec_estate_endpoints"].samples}
    assert by_status["unknown"] == 2 and by_status["shadow"] == 0
    assert tally.estate()[0] is tally.estate()[0]  # a cached snapshot gives the cached figures
    built.shutdown(1.0)


def test_findings_by_severity_and_posture_facts() -> None:
    processor, built, _ = build()
    pii = {A.RULE_ID: "APISEC-PII-EMAIL", A.FINDING_KIND: "pii.email", A.FINDING_SEVERITY: "medium",
           A.FINDING_LOCATION: "response.body.$.email"}
    attack = {A.RULE_ID: "APISEC-SQLI", A.FINDING_KIND: "attack.sqli", A.FINDING_SEVERITY: "high",
              A.FINDING_LOCATION: "request.query.q"}
    hsts = {A.RULE_ID: "APISEC-HDR-HSTS", A.FINDING_KIND: "posture.hsts", A.FINDING_SEVERITY: "low",
            A.FINDING_LOCATION: "response.headers", _SCOPE: "endpoint"}
    feed(processor, [span("GET", "/me", route="/me", findings=(pii, hsts), n=1),
                     span("GET", "/me", route="/me", findings=(pii, attack), n=2)])
    record = endpoints(processor)["GET /me"].record
    assert record.severity_counts()["medium"] == 2 and record.severity_counts()["high"] == 1
    assert record.severity_counts()["low"] == 0  # posture is the endpoint's, not a per-call finding
    assert record.pii_response == {"email": 2}
    assert set(record.posture) == {"APISEC-HDR-HSTS"}
    assert record.rules["APISEC-SQLI"].example.span_id == (3).to_bytes(8, "big").hex()
    built.shutdown(1.0)


def test_a_clean_posture_check_clears_the_endpoint_posture() -> None:
    """`apisec.posture.checked` on a span with no posture fact (the endpoint's new response shape is
    clean) replaces the endpoint's posture: the missing HSTS seen before is gone."""
    processor, built, _ = build()
    hsts = {A.RULE_ID: "APISEC-HDR-HSTS", A.FINDING_KIND: "posture.hsts", A.FINDING_SEVERITY: "low",
            A.FINDING_LOCATION: "response.headers", _SCOPE: "endpoint"}
    feed(processor, [span("GET", "/me", route="/me", findings=(hsts,), n=1, **{A.POSTURE_CHECKED: True})])
    assert set(endpoints(processor)["GET /me"].record.posture) == {"APISEC-HDR-HSTS"}
    feed(processor, [span("GET", "/me", route="/me", n=2)])  # same shape: not checked, posture stays
    assert set(endpoints(processor)["GET /me"].record.posture) == {"APISEC-HDR-HSTS"}
    feed(processor, [span("GET", "/me", route="/me", n=3, **{A.POSTURE_CHECKED: True})])
    assert endpoints(processor)["GET /me"].record.posture == {}
    built.shutdown(1.0)


def test_parameters_bodies_and_headers_give_names_and_types_never_values() -> None:
    processor, built, _ = build()
    feed(processor, [span("POST", "/items", route="/items", n=1, **{
        "url.query": "limit=10&secret=hunter2", "http.request.header.x_tenant": "acme-corp",
        "http.request.header.user_agent": "curl/8", "http.request.header.x_forwarded_proto": "https",
        "http.request.body": '{"name": "widget", "price": 9.5}', "http.response.body": '{"id": 7}',
        "http.response.header.content_type": "application/json; charset=utf-8",
        "http.response.header.x_ratelimit_remaining": "9", A.ENDUSER_PSEUDO_ID: "u-hash-1", A.GEO_COUNTRY: "DE"})])
    record = endpoints(processor)["POST /items"].record
    assert set(record.parameters) >= {"query:limit", "query:secret", "header:x-tenant", "body:name", "body:price"}
    assert "header:user-agent" not in record.parameters
    assert record.response_media_types == {"application/json": 1}
    assert record.rate_limited_calls == 1 and record.countries == {"DE": 1} and record.plain_http_calls == 0
    state = repr(record.to_state())
    assert "hunter2" not in state and "acme-corp" not in state and "widget" not in state
    built.shutdown(1.0)


def test_restart_with_persist_path_keeps_the_inventory(tmp_path: Path) -> None:
    path = tmp_path / "state" / "inventory.json"
    processor, built, _ = build(persist_path=str(path))
    feed(processor, [span("GET", "/users/1", route="/users/{id}", n=1), span("GET", "/users/2", route="/users/{id}", n=2)])
    built.shutdown(5.0)
    assert path.exists()
    again, built_again, _ = build(persist_path=str(path))
    feed(again, [span("GET", "/users/3", route="/users/{id}", n=3)])
    assert endpoints(again)["GET /users/{id}"].record.calls == 3
    built_again.shutdown(5.0)


def test_periodic_persist(tmp_path: Path) -> None:
    path = tmp_path / "inventory.json"
    processor, built, _ = build(persist_path=str(path), persist_interval_s=1)
    feed(processor, [span("GET", "/a", route="/a", n=1)])
    processor.flush()  # what the timer does every interval
    assert path.exists()
    built.shutdown(1.0)


def test_two_replicas_on_one_redis_give_one_inventory(redis_server: RedisServer) -> None:  # noqa: F811
    options = {"store": redis_server.url, "key_prefix": "test-inventory-replicas:", "flush_interval_s": 60}
    a, built_a, _ = build(replica_id="a", **options)
    b, built_b, _ = build(replica_id="b", **options)
    feed(a, [span("GET", "/users/1", route="/users/{id}", n=1), span("GET", "/health", route="/health", n=2)])
    feed(b, [span("GET", "/users/2", route="/users/{id}", auth="none", outcome="anonymous", n=3)])
    a.flush()
    b.flush()
    for processor in (a, b):
        found = endpoints(processor)
        assert found["GET /users/{id}"].record.calls == 2
        assert found["GET /users/{id}"].record.unauthenticated_success == 1
        assert found["GET /health"].record.calls == 1
    built_b.shutdown(5.0)
    # b restarts and finds its own records in Redis: nothing lost, nothing counted twice.
    b2, built_b2, _ = build(replica_id="b", **options)
    assert endpoints(b2)["GET /users/{id}"].record.calls == 2
    built_a.shutdown(5.0)
    built_b2.shutdown(5.0)


def test_redis_down_is_counted_and_spans_still_pass() -> None:
    processor, built, _ = build(store=f"redis://127.0.0.1:{free_port()}/0", replica_id="r1")
    feed(processor, [span("GET", "/a", route="/a", n=1)])
    processor.flush()
    assert endpoints(processor)["GET /a"].record.calls == 1  # this replica's own inventory, from memory
    assert processor.stats()["store_errors"] >= 2
    assert processor.stats()["errors"] == 0
    built.shutdown(1.0)


def _letters(n: int) -> str:
    """A distinct lower-case word per number: literal segments, which no typing turns into a parameter."""
    word = ""
    while True:
        n, digit = divmod(n, 26)
        word += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return word + "s"


def test_hostile_paths_keep_memory_bounded() -> None:
    """100k distinct literal paths: records stay at the bound, the rest are counted, not stored."""
    processor, built, _ = build(max_endpoints=20)
    for chunk in range(100):
        processor.process(Signal.TRACES, request([span("GET", f"/{_letters(chunk * 1000 + i)}", n=i)
                                                 for i in range(1000)]))
    records = processor.inventory.records()["shop"]
    assert len(records) <= 20
    assert processor.observed == 100_000
    assert processor.stats()["dropped_calls"] > 0
    assert all(len(r.route) < 64 for r in records)
    built.shutdown(1.0)


def test_huge_bodies_are_not_parsed() -> None:
    processor, built, _ = build()
    huge = '{"a": "' + "x" * (300 << 10) + '"}'
    feed(processor, [span("POST", "/upload", route="/upload", n=1, **{"http.request.body": huge})])
    record = endpoints(processor)["POST /upload"].record
    assert record.calls == 1 and record.request_schema is None
    built.shutdown(1.0)


def test_a_bad_spec_is_a_config_error_naming_its_service(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.0.3\npaths: [not, a, mapping]\n")
    with pytest.raises(ConfigError, match=r"processors\.apisec/inventory\.specs\.shop"):
        FACTORY.config("processors.apisec/inventory", {"specs": {"shop": str(bad)}})
    with pytest.raises(ConfigError, match=r"processors\.apisec/inventory\.specs\.shop"):
        FACTORY.config("processors.apisec/inventory", {"specs": {"shop": str(tmp_path / "absent.yaml")}})


def test_store_option_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"\.store"):
        FACTORY.config("processors.apisec/inventory", {"store": "postgres://x"})
