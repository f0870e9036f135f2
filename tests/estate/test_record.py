"""EndpointRecord: one call at a time, and records that merge in any order to the same figures."""

from __future__ import annotations

import itertools

import orjson

from otel_apisec.estate.facts import CallFacts, FindingFact
from otel_apisec.estate.record import EndpointRecord

_EMAIL = FindingFact("APISEC-PII-001", "pii.email", "low", "response.body.$.email")
_HSTS = FindingFact("APISEC-POS-002", "posture.missing_hsts", "low", "response.header.strict-transport-security", True)
_SQLI = FindingFact("APISEC-INJ-001", "injection.sqli", "high", "request.query.q")


def _call(t: float, **kw: object) -> CallFacts:
    base: dict[str, object] = {"service": "shop", "method": "GET", "route": "/users/{id}", "path": "/users/7",
                               "time_s": t, "duration_ms": 10.0 + t, "status": 200, "scheme": "https",
                               "trace_id": f"{int(t):032x}", "span_id": f"{int(t):016x}"}
    base.update(kw)
    return CallFacts(**base)  # type: ignore[arg-type]


CALLS = [
    _call(1, auth_scheme="bearer", auth_outcome="success", principal="p1", findings=(_EMAIL,), country="DE"),
    _call(2, auth_scheme="none", status=200, findings=(_HSTS,), posture_checked=True),
    _call(3, auth_scheme="none", status=401, query=(("limit", "integer"),)),
    _call(4, auth_scheme="session_cookie", principal="p2", status=500, findings=(_SQLI,)),
    _call(5, auth_scheme="basic", principal="p1", scheme="http", posture_checked=True),
]


def _record(calls: list[CallFacts]) -> EndpointRecord:
    record = EndpointRecord("GET", "/users/{id}", True)
    for call in calls:
        record.add(call)
    return record


def _figures(record: EndpointRecord) -> bytes:
    return orjson.dumps(record.to_state(), option=orjson.OPT_SORT_KEYS)


def test_one_call_at_a_time() -> None:
    record = _record(CALLS)
    assert record.calls == 5
    assert (record.first_seen, record.last_seen) == (1, 5)
    assert record.status_codes == {"200": 3, "401": 1, "500": 1}
    assert record.auth_schemes == {"bearer": 1, "cookie": 1, "basic": 1}
    assert (record.unauthenticated_calls, record.unauthenticated_success) == (2, 1)
    assert record.unauthenticated_example is not None and record.unauthenticated_example.span_id == f"{2:016x}"
    assert not record.auth_enforced
    assert record.principals.estimate() == 2
    assert record.pii_response == {"email": 1} and record.pii_request == {}
    assert record.findings == {"low": 1, "high": 1}, "posture facts are the endpoint's, not per-call findings"
    assert set(record.rules) == {"APISEC-PII-001", "APISEC-INJ-001"}
    assert record.posture == {}, "the latest posture check (call 5) found nothing"
    assert record.parameters == {"query:limit": {"integer": 1}}
    assert (record.errors_5xx, record.plain_http_calls) == (1, 1)
    assert record.latency_ms(0.5) is not None and abs(record.latency_ms(0.5) - 13.0) < 0.2


def test_posture_is_the_latest_check() -> None:
    record = _record(CALLS[:3])
    assert set(record.posture) == {"APISEC-POS-002"}
    assert record.posture["APISEC-POS-002"].example.span_id == f"{2:016x}"


def test_merge_in_any_order_gives_the_same_figures() -> None:
    expected = _figures(_record(CALLS))
    for order in itertools.permutations(range(3)):
        parts = [_record(CALLS[0:2]), _record(CALLS[2:4]), _record(CALLS[4:])]
        merged = EndpointRecord("GET", "/users/{id}", True)
        for index in order:
            merged.merge(parts[index])
        assert _figures(merged) == expected


def test_state_round_trip() -> None:
    record = _record(CALLS)
    again = EndpointRecord.from_state(orjson.loads(orjson.dumps(record.to_state())))
    assert _figures(again) == _figures(record)


def test_bounded_under_hostile_values() -> None:
    record = EndpointRecord("GET", "/x")
    for i in range(5000):
        record.add(_call(i, query=((f"p{i}", "string"),), country=f"C{i}", status=100 + i % 500))
    assert len(record.parameters) <= 128
    assert len(record.countries) <= 33
    assert len(record.status_codes) <= 65
    assert len(orjson.dumps(record.to_state())) < 64_000
