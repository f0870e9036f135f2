"""The console's endpoints over a real socket: auth, routing, findings filters and parameter checks."""

from __future__ import annotations

import pytest

from otel_apisec.gateway.console.findings import FindingsQuery, FindingsRing, QueryError, parse_findings_query
from tests.gateway.console.conftest import Console


def record(rule: str, severity: str, service: str = "shop", route: str | None = "/orders/{id}", kind: str = "pii",
           time: str = "2024-05-01T12:00:00.000Z") -> dict[str, object]:
    return {"rule_id": rule, "kind": kind, "severity": severity, "location": "request.query.card", "time": time,
            "service_name": service, "trace_id": "ab" * 16, "span_id": "cd" * 8, "route": route, "method": "GET"}


def test_healthz_needs_no_token(console: Console) -> None:
    """A probe gets 200 without credentials: it says nothing about the estate."""
    assert console.get("/healthz", token=None)[0] == 200


@pytest.mark.parametrize("token", [None, "wrong", "console-test-token-012345678"])
def test_wrong_or_missing_token_is_401_with_challenge(console: Console, token: str | None) -> None:
    """Every API path asks for the bearer token."""
    status, headers, body = console.get("/api/v1/findings", token=token)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert body == {"error": "missing or invalid bearer token"}


def test_right_token_is_200_json(console: Console) -> None:
    """The right token gets the document, as application/json."""
    status, headers, body = console.get("/api/v1/findings")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == {"findings": [], "count": 0}


def test_unknown_path_404_other_methods_405(console: Console) -> None:
    """Unknown paths are 404; the API is read-only."""
    assert console.get("/api/v1/nope")[0] == 404
    for method in ("POST", "DELETE", "PUT", "PATCH", "FROB"):
        status, headers, _ = console.get("/api/v1/findings", method=method)
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"


def test_inventory_without_an_inventory_processor_is_404(console: Console) -> None:
    """A gateway with no apisec/inventory processor says so."""
    status, _, body = console.get("/api/v1/inventory")
    assert status == 404 and "apisec/inventory" in body["error"]


def test_incidents(console: Console) -> None:
    """What the alert routers say, as given."""
    console.incidents["incidents"] = [{"rule_id": "APISEC-X", "status": "firing"}]
    assert console.get("/api/v1/incidents")[2]["incidents"][0]["rule_id"] == "APISEC-X"


def test_findings_newest_first_and_filters(console: Console) -> None:
    """service, route, kind, severity (that one and above), since and limit all narrow the answer."""
    ring = console.ring
    ring.emit(record("R1", "low", time="2024-05-01T10:00:00.000Z"))
    ring.emit(record("R2", "high", service="billing", route="/pay", kind="injection", time="2024-05-01T11:00:00.000Z"))
    ring.emit(record("R3", "critical", time="2024-05-01T12:00:00.000Z"))
    ids = lambda target: [f["rule_id"] for f in console.get(target)[2]["findings"]]  # noqa: E731
    assert ids("/api/v1/findings") == ["R3", "R2", "R1"]
    assert ids("/api/v1/findings?service=billing") == ["R2"]
    assert ids("/api/v1/findings?route=%2Forders%2F%7Bid%7D") == ["R3", "R1"]
    assert ids("/api/v1/findings?kind=injection") == ["R2"]
    assert ids("/api/v1/findings?severity=high") == ["R3", "R2"]
    assert ids("/api/v1/findings?since=2024-05-01T10:30:00Z") == ["R3", "R2"]
    assert ids("/api/v1/findings?since=1714561200") == ["R3", "R2"]  # 11:00:00Z: inclusive
    assert ids("/api/v1/findings?since=1714561201") == ["R3"]
    assert ids("/api/v1/findings?limit=1") == ["R3"]
    finding = console.get("/api/v1/findings?limit=1")[2]["findings"][0]
    for key in ("time", "service", "route", "trace_id", "span_id", "rule_id", "severity", "location"):
        assert key in finding


@pytest.mark.parametrize("query", [
    "severity=urgent", "since=yesterday", "since=-5", "since=nan", "limit=0", "limit=1001", "limit=ten", "limit=%D9%A3",
    "service=a&service=b", "colour=red", "service=" + "x" * 600, "since=%FF%FE", "&".join(f"p{i}=1" for i in range(40)),
    "since=%D9%A3%D9%A3", "limit=1e3",
])
def test_bad_parameters_are_400_with_a_message(console: Console, query: str) -> None:
    """Hostile or mistaken query strings get a JSON 400 naming the problem, never a 500."""
    status, _, body = console.get("/api/v1/findings?" + query)
    assert status == 400, (query, body)
    assert body["error"]


def test_unicode_filter_values_are_fine(console: Console) -> None:
    """A valid UTF-8 value that matches nothing is an empty answer."""
    assert console.get("/api/v1/findings?service=%E2%9C%93%F0%9F%98%80")[2]["count"] == 0


def test_parse_since_forms() -> None:
    """ISO 8601 with an offset, a naive one (UTC), and Unix seconds."""
    assert parse_findings_query({"since": "2024-05-01T12:00:00+00:00"}).since == 1714564800.0
    assert parse_findings_query({"since": "2024-05-01T12:00:00"}).since == 1714564800.0
    assert parse_findings_query({"since": "1714564800.5"}).since == 1714564800.5
    with pytest.raises(QueryError, match="since"):
        parse_findings_query({"since": "2024-13-01"})


def test_ring_is_bounded() -> None:
    """The ring keeps the newest max_findings records."""
    ring = FindingsRing(3)
    for index in range(10):
        ring.emit(record(f"R{index}", "low"))
    assert [r["rule_id"] for r in ring.query(FindingsQuery(limit=10))] == ["R9", "R8", "R7"]
    assert ring.stats() == {"findings_held": 3, "findings_received": 10}
