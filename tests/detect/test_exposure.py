"""Unit tests for the exposure detector: key matching, caps, cheap prefilters, bounded time."""

from __future__ import annotations

import time

import orjson
import pytest

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.exposure import DETECTOR, _at_least
from otel_apisec.model import Finding
from otel_apisec.testing import make_exchange

ANALYZER = Analyzer(DetectConfig(hmac_key=b"unit"))


def run(exchange, analyzer: Analyzer = ANALYZER) -> list[Finding]:
    return list(DETECTOR(exchange, analyzer.context(exchange)))


class TestExposureDetector:
    def test_repeated_key_collapses(self) -> None:
        """The same sensitive key in 50 records is one finding that counts them."""
        doc = {"items": [{"id": i, "ssn": "078-05-1120"} for i in range(50)]}
        findings = run(make_exchange(response_json=doc))
        assert [(f.location, f.message) for f in findings] == [
            ("response.body.$.items[0].ssn", "Response returns sensitive field 'ssn' (in 50 records)")
        ]

    def test_findings_are_capped(self) -> None:
        """At most 20 sensitive-field findings per response."""
        doc = {f"k{i}": {"password": "x1"} for i in range(40)}
        assert len(run(make_exchange(response_json=doc))) == 20

    def test_credential_keys_are_high(self) -> None:
        """Password-like keys are high severity, identity keys medium."""
        findings = run(make_exchange(response_json={"client_secret": "abc", "dob": "1990-01-02"}))
        assert {f.location: f.severity.label for f in findings} == {
            "response.body.$.client_secret": "high",
            "response.body.$.dob": "medium",
        }

    def test_escaped_key_is_still_found(self) -> None:
        """A key written with JSON escapes cannot dodge the byte prefilter."""
        body = b'{"\\u0070assword": "hunter22"}'
        findings = run(make_exchange(response_body=body, response_content_type="application/json"))
        assert [f.location for f in findings] == ["response.body.$.password"]

    def test_threshold_from_config(self) -> None:
        """many_records_threshold decides the bulk rule."""
        doc = {"results": [{"id": i} for i in range(10)]}
        assert run(make_exchange(response_json=doc)) == []
        small = Analyzer(DetectConfig(hmac_key=b"unit", many_records_threshold=10))
        assert [f.kind for f in run(make_exchange(response_json=doc), small)] == ["exposure.bulk_records"]

    def test_no_raw_values_leak(self) -> None:
        """Field values never reach the findings."""
        findings = run(make_exchange(response_json={"user": {"api_key": "PLANTED-key-1"}}))
        assert findings and "PLANTED" not in repr(findings)

    def test_clean_megabyte_is_cheap(self) -> None:
        """A 1 MB clean JSON list with few braces per byte is handled in well under 50 ms."""
        body = orjson.dumps({"values": ["lorem ipsum dolor sit amet"] * 35_000})
        exchange = make_exchange(response_body=body, response_content_type="application/json")
        start = time.perf_counter()
        assert run(exchange) == []
        assert time.perf_counter() - start < 0.05

    @pytest.mark.parametrize("count", [0, 1, 99, 100, 101])
    def test_brace_gate_matches_count(self, count: int) -> None:
        """The bounded brace search answers exactly like `bytes.count(...) >= n`."""
        data = b'{"a":1},' * count + b"[]"
        for wanted in (0, 1, 99, 100, 101):
            assert _at_least(data, b"{", wanted) == (data.count(b"{") >= wanted)

    def test_few_records_are_not_parsed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A body with fewer objects than the threshold and no sensitive key is never parsed."""
        exchange = make_exchange(response_json={"items": [{"id": i} for i in range(98)]})  # 99 braces
        ctx = ANALYZER.context(exchange)
        monkeypatch.setattr(type(ctx), "body_json", lambda *_: pytest.fail("parsed"))
        assert list(DETECTOR(exchange, ctx)) == []
