"""Unit tests for the posture detector: scoping, one finding per check, spans, bounded time."""

from __future__ import annotations

import time

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.posture import DETECTOR
from otel_apisec.model import Finding
from otel_apisec.testing import make_exchange
from tests.cases.posture import HARDENED

ANALYZER = Analyzer(DetectConfig(hmac_key=b"unit"))


def run(exchange) -> list[Finding]:
    return list(DETECTOR(exchange, ANALYZER.context(exchange)))


class TestPostureDetector:
    def test_hardened_response_is_clean(self) -> None:
        """A response with every recommended header yields nothing."""
        assert run(make_exchange(response_headers=HARDENED, response_json={"ok": True})) == []

    def test_no_response_no_header_checks(self) -> None:
        """Without a response only request-side checks run."""
        findings = run(make_exchange("http://api.example.com/v1/users/7", status=None))
        assert sorted(f.kind for f in findings) == ["posture.plain_http", "posture.sequential_id"]

    def test_one_finding_per_check(self) -> None:
        """Three insecure cookies give one cookie_not_secure finding naming them."""
        headers = list(HARDENED.items()) + [("Set-Cookie", f"sid{i}=v; Path=/") for i in range(3)]
        findings = [
            f for f in run(make_exchange(response_headers=headers)) if f.kind == "posture.cookie_not_secure"
        ]
        assert len(findings) == 1 and "sid0, sid1, sid2" in findings[0].message

    def test_json_framing_is_info(self) -> None:
        """Framing and CSP gaps on JSON are info; on HTML they keep their low severity."""
        headers = {
            k: v for k, v in HARDENED.items() if k not in ("X-Frame-Options", "Content-Security-Policy")
        }
        findings = run(make_exchange(response_headers=headers, response_json={"ok": True}))
        assert {f.severity.label for f in findings} == {"info"}

    def test_stack_trace_span(self) -> None:
        """The stack-trace span points at the marker inside the body text."""
        body = 'oops\nTraceback (most recent call last):\n  File "/a.py", line 1, in f\n'
        exchange = make_exchange(status=500, response_headers=HARDENED, response_body=body)
        finding = next(f for f in run(exchange) if f.kind == "posture.stack_trace")
        start, end = finding.spans[0]
        assert body[start:end].startswith("Traceback") and "python" in finding.message

    def test_stack_trace_ignored_on_success(self) -> None:
        """A 200 documentation page quoting a traceback is not an error leak."""
        body = "Example: Traceback (most recent call last):"
        exchange = make_exchange(response_headers=HARDENED, response_body=body)
        assert [f.kind for f in run(exchange)] == []

    def test_large_pathological_body_is_fast(self) -> None:
        """A 1 MB error body built from near-miss fragments scans in well under 50 ms."""
        body = ("at com.x(" * 50_000 + 'File "' * 50_000 + "SQLSTATE" * 20_000)[:1_000_000]
        exchange = make_exchange(status=500, response_headers=HARDENED, response_body=body)
        start = time.perf_counter()
        run(exchange)
        assert time.perf_counter() - start < 0.05
