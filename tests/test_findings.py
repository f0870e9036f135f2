"""The one finding model: event attributes ↔ record, per request and across requests."""

from __future__ import annotations

import ast
from typing import Any

import pytest

import otel_apisec.findings
from otel_apisec import attributes as A
from otel_apisec.correlate.api import CorrelationFinding, Observation
from otel_apisec.detect import get_rule, load_catalog
from otel_apisec.detect.rule import OWASP
from otel_apisec.findings import (
    RECORD_KEYS,
    Seen,
    correlation_record,
    is_across_requests,
    log_summary,
    owasp_category,
    record_from_event,
    request_event,
    traffic_event,
)
from otel_apisec.model import Severity

load_catalog()
NAMES = {value for name, value in vars(A).items() if name.isupper() and isinstance(value, str)}
SQLI = get_rule("APISEC-INJ-001")
BRUTE = get_rule("APISEC-ABU-001")
SEEN = Seen("2023-11-14T22:13:20.000Z", "shop", "ab" * 16, "cd" * 8, "GET /search", "/search", "GET")


def _declared(attributes: dict[str, Any]) -> bool:
    return all(key in NAMES or key.startswith((A.FINDING_SUBJECT_PREFIX, A.FINDING_EVIDENCE_PREFIX)) for key in attributes)


class TestRequestEvent:
    def test_structured_owasp_category(self) -> None:
        """The category is the OWASP id alone, nothing to split; the record names it too."""
        attributes = request_event(SQLI.finding("request.query.q"))
        assert attributes[A.RULE_CATEGORY] == SQLI.owasp
        record = record_from_event(attributes, SEEN)
        assert (record["owasp"], record["owasp_title"]) == (SQLI.owasp, OWASP[SQLI.owasp])
        assert attributes[A.RULE_REFERENCE] == SQLI.cwe and attributes[A.RULE_NAME] == SQLI.title
        assert _declared(attributes)

    def test_record_keeps_the_scan_contract(self) -> None:
        """The record read back from the event agrees with `scan --format jsonl` on every shared key."""
        finding = SQLI.finding("request.query.q", severity=Severity.HIGH)
        record = record_from_event(request_event(finding), SEEN)
        scan = finding.to_dict()
        assert {key: record[key] for key in ("rule_id", "kind", "severity", "owasp", "cwe", "location")} == {
            key: scan[key] for key in ("rule_id", "kind", "severity", "owasp", "cwe", "location")}
        assert record["owasp_title"] == OWASP[SQLI.owasp] and record["rule_name"] == SQLI.title
        assert (record["time"], record["span_name"], record["route"], record["method"]) == (
            SEEN.time, SEEN.span_name, SEEN.route, SEEN.method)
        assert not is_across_requests(record) and "message" not in record and set(record) <= RECORD_KEYS

    def test_span_context_left_out_when_unknown(self) -> None:
        """A span without route or method gives a record without those keys (not empty ones)."""
        record = record_from_event(request_event(SQLI.finding("request.path")), Seen("t", "s", "a", "b", "GET"))
        assert "route" not in record and "method" not in record and record["span_name"] == "GET"

    def test_events_of_older_senders_still_read(self) -> None:
        """An event whose category is the older "<id> <name>" text gives the same record."""
        attributes = request_event(SQLI.finding("request.query.q"))
        legacy = {**attributes, A.RULE_CATEGORY: f"{SQLI.owasp} {OWASP[SQLI.owasp]}"}
        assert record_from_event(legacy, SEEN) == record_from_event(attributes, SEEN)


class TestTrafficEvent:
    SUBJECT = {A.CLIENT_PSEUDO_ID: "c0ffee", A.ENDUSER_PSEUDO_ID: "beef"}
    EVIDENCE = {"failed_logins": 20, "threshold": 20, "window_s": 600.0}

    def test_round_trip_matches_the_correlators_own_record(self) -> None:
        """Event → record equals `CorrelationFinding.record()` but for the location the span adds."""
        attributes = traffic_event(BRUTE, Severity.HIGH, "20 failed logins", "k", self.SUBJECT, self.EVIDENCE)
        assert attributes[A.FINDING_LOCATION] == A.CORRELATION_LOCATION and _declared(attributes)
        seen = Seen(SEEN.time, SEEN.service_name, SEEN.trace_id, SEEN.span_id, route="/login", method="POST")
        via_span = record_from_event(attributes, seen)
        direct = correlation_record(BRUTE, Severity.HIGH, "20 failed logins", "k", self.SUBJECT, self.EVIDENCE, seen)
        assert via_span.pop("location") == A.CORRELATION_LOCATION
        assert via_span == direct and is_across_requests(direct) and set(direct) <= RECORD_KEYS
        assert log_summary(attributes) == ("high", "20 failed logins")

    def test_correlation_finding_record_keeps_its_keys(self) -> None:
        """`CorrelationFinding.record()` has the keys it always had, empty route and method included."""
        obs = Observation(time_s=1_700_000_000.0, route="", method="GET", service="auth", trace_id="t", span_id="s")
        record = CorrelationFinding(BRUTE, obs, {"client.address": "203.0.113.9"}, {"n": 1}, "m", None, "g").record()
        assert list(record) == ["rule_id", "kind", "severity", "owasp", "owasp_title", "cwe", "rule_name", "message",
                                "time", "service_name", "trace_id", "span_id", "route", "method", "group_key",
                                "subject", "evidence"]
        assert record["route"] == "" and record["severity"] == BRUTE.severity.label


@pytest.mark.parametrize(("owasp", "title", "text"), [
    ("API2:2023", None, "API2:2023 Broken Authentication"),
    ("API2:2023", "Custom", "API2:2023 Custom"),
    ("API99:2030", None, "API99:2030"),
])
def test_owasp_category(owasp: str, title: str | None, text: str) -> None:
    """The readable category: the id and its name, the name from OWASP's list when not given."""
    assert owasp_category(owasp, title) == text


def test_the_model_imports_no_opentelemetry() -> None:
    """Plain data and conversions: encoding to OTLP is the gateway's and the SDK's business."""
    tree = ast.parse(open(otel_apisec.findings.__file__).read())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in modules if m.startswith("opentelemetry")}
