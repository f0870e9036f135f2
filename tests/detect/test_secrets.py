"""Unit tests for the secrets field detector: JWT placement, specificity, spans, speed."""

from __future__ import annotations

import json
import time

import pytest

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.engine import PatternSet
from otel_apisec.detect.secrets import DETECTOR
from otel_apisec.model import Body, HttpExchange, Severity
from otel_apisec.testing import make_exchange
from tests.cases.secrets import GITHUB, JWT, PEM, SERVICE_ACCOUNT

ANALYZER = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"secrets"})))


def _rules(exchange: HttpExchange) -> list[str]:
    return [f.rule_id for f in ANALYZER.analyze(exchange).findings]


class TestSecretsDetector:
    def test_jwt_in_cookie_and_query_left_to_tokens_family(self) -> None:
        """JWTs in cookies and query strings are owned by the tokens family."""
        assert (
            _rules(make_exchange(f"https://api.example.com/x?t={JWT}", headers={"Cookie": f"s={JWT}"})) == []
        )

    def test_issued_jwt_is_low(self) -> None:
        """A JWT returned under access_token in a response is the normal OAuth flow: LOW."""
        (finding,) = ANALYZER.analyze(make_exchange(response_json={"access_token": JWT})).findings
        assert finding.severity is Severity.LOW

    def test_bearer_jwt_reported_once_as_jwt(self) -> None:
        """`Bearer <jwt>` in a body is reported by the more specific JWT rule only."""
        assert _rules(make_exchange(json={"note": f"Bearer {JWT}"}, method="POST")) == ["APISEC-SEC-011"]

    def test_service_account_wins_over_generic_private_key(self) -> None:
        """A PEM inside a service-account file is reported as the service account, not twice."""
        assert _rules(make_exchange(json={"c": SERVICE_ACCOUNT}, method="POST")) == ["APISEC-SEC-004"]

    def test_key_file_body_reported_once_as_service_account(self) -> None:
        """A body that is the key file yields the service-account rule on its private_key, not also SEC-010."""
        found = ANALYZER.analyze(make_exchange(json=json.loads(SERVICE_ACCOUNT), method="POST")).findings
        assert [(f.rule_id, f.location) for f in found] == [("APISEC-SEC-004", "request.body.$.private_key")]

    def test_pem_under_another_key_of_a_key_file_is_plain(self) -> None:
        """Only the PEM the key file maps under the field's own key is promoted; a sibling copy elsewhere is not."""
        doc = {"file": json.loads(SERVICE_ACCOUNT), "backup": PEM}
        found = ANALYZER.analyze(make_exchange(json=doc, method="POST")).findings
        assert sorted((f.rule_id, f.location) for f in found) == [
            ("APISEC-SEC-004", "request.body.$.file.private_key"),
            ("APISEC-SEC-010", "request.body.$.backup"),
        ]

    def test_pem_span_reaches_end_marker(self) -> None:
        """The private-key span runs from BEGIN to END when the block is complete."""
        (finding,) = ANALYZER.analyze(make_exchange(json={"k": PEM}, method="POST")).findings
        assert finding.spans == ((0, len(PEM)),)

    def test_url_credentials_span_is_userinfo(self) -> None:
        """The URL-credentials span covers `user:password`, and the message never the password."""
        url = "redis://app:Zq9xW2vB7n@cache.internal:6379"
        (finding,) = ANALYZER.analyze(make_exchange(json={"u": url}, method="POST")).findings
        ((start, end),) = finding.spans
        assert url[start:end] == "app:Zq9xW2vB7n" and "Zq9x" not in finding.message

    @pytest.mark.parametrize("value", [GITHUB, JWT, PEM, "AKIAIOSFODNN7EXAMPLE", "https://u:Zq9xW2vB7n@h"])
    def test_findings_imply_a_trigger_hit(self, value: str) -> None:
        """Invariant: text that yields a finding matches one of the detector's triggers."""
        assert PatternSet(DETECTOR.triggers).scan([value.encode()])

    @pytest.mark.parametrize(
        "unit", ["eyJhbGciOi.", "Bearer ", "://a:b", "aws_secret ", "AKIAIOSFODNN7EXAMPLE "]
    )
    def test_pathological_text_is_fast(self, unit: str) -> None:
        """1 MB of repeated near-candidates finishes quickly."""
        body = Body((unit * ((1 << 20) // len(unit))).encode(), "text/plain")
        whole = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"secrets"}), max_body_bytes=1 << 20))
        whole.analyze(HttpExchange())  # compiled before the clock starts
        started = time.perf_counter()
        whole.analyze(HttpExchange(method="POST", request_body=body))
        assert time.perf_counter() - started < 0.5
