"""Span attributes and finding events derived from an analysis."""

from __future__ import annotations

import base64
import time
import warnings

import jwt
import pytest

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.enrich import finding_events, risk_score, span_attributes
from otel_apisec.model import Finding, Severity
from otel_apisec.testing import make_exchange

ANALYZER = Analyzer(DetectConfig(hmac_key=b"enrich"))
NAMES = {value for name, value in vars(A).items() if name.isupper() and isinstance(value, str)}


def _analyze(*args: object, **kwargs: object):
    return ANALYZER.analyze(make_exchange(*args, **kwargs))


def _finding(severity: Severity) -> Finding:
    return Finding("APISEC-INJ-001", "sqli", severity, "API8:2023", "CWE-89", "request.path", "m")


class TestSpanAttributes:
    def test_attack(self) -> None:
        """An injection sets attack.detected, its type, the rule ID and a high risk score."""
        attrs = span_attributes(_analyze("https://api.example.com/search?q=1'+OR+'1'='1"))
        assert attrs[A.ATTACK_DETECTED] is True
        assert attrs[A.ATTACK_TYPES] == ("sqli",)
        assert "APISEC-INJ-001" in attrs[A.FINDINGS]
        assert attrs[A.RISK_SCORE] >= 90
        assert attrs[A.AUTH_OUTCOME] == "anonymous"

    def test_pii_and_secrets_types(self) -> None:
        """PII and secret kinds become type lists without their prefix."""
        attrs = span_attributes(_analyze(response_json={"email": "jane.doe@example.org", "k": "AKIAIOSFODNN7EXAMPLE"}))
        assert attrs[A.PII_DETECTED] is True and "email" in attrs[A.PII_TYPES]
        assert attrs[A.SECRET_DETECTED] is True and attrs[A.SECRET_TYPES] == ("aws_access_key_id",)

    def test_failed_login_and_pseudonym(self) -> None:
        """A rejected Basic login is a failure, with the principal only as a keyed hash."""
        basic = base64.b64encode(b"alice:wrong-password").decode()
        attrs = span_attributes(_analyze("https://api.example.com/login", "POST",
                                         headers={"Authorization": f"Basic {basic}"}, status=401))
        assert attrs[A.AUTH_SCHEME] == "basic" and attrs[A.AUTH_OUTCOME] == "failure"
        pseudo = attrs[A.ENDUSER_PSEUDO_ID]
        assert isinstance(pseudo, str) and "alice" not in pseudo and len(pseudo) == 32

    def test_expired_token(self) -> None:
        """An expired JWT shows its state, algorithm and expiry, and a hash instead of the token."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            token = jwt.encode({"sub": "u1", "exp": int(time.time()) - 3600}, "k" * 40, algorithm="HS256")
        attrs = span_attributes(_analyze(headers={"Authorization": f"Bearer {token}"}))
        assert attrs[A.TOKEN_STATE] == "expired" and attrs[A.TOKEN_ALG] == "HS256"
        assert isinstance(attrs[A.TOKEN_EXPIRES_AT], float)
        assert token not in repr(attrs)

    def test_clean_exchange(self) -> None:
        """Nothing found: flags are false, lists empty, no severity attribute."""
        attrs = span_attributes(ANALYZER.analyze(make_exchange("http://localhost/health", status=None)))
        assert attrs[A.ATTACK_DETECTED] is False and attrs[A.PII_DETECTED] is False
        assert attrs[A.FINDINGS] == () and attrs[A.RISK_SCORE] == 0 and A.SEVERITY_MAX not in attrs

    def test_every_key_is_declared(self) -> None:
        """Attribute names come from the schema module only."""
        attrs = span_attributes(_analyze("https://api.example.com/search?q=<script>alert(1)</script>",
                                         response_json={"email": "jane.doe@example.org"}))
        assert set(attrs) <= NAMES


class TestFindingEvents:
    def test_one_event_per_finding_with_security_rule_attributes(self) -> None:
        """Each finding becomes an apisec.finding event carrying security_rule.* and location."""
        analysis = _analyze("https://api.example.com/search?q=1'+OR+'1'='1")
        events = finding_events(analysis)
        assert len(events) == len(analysis.findings)
        name, attrs = next(e for e in events if e[1][A.RULE_ID] == "APISEC-INJ-001")
        assert name == "apisec.finding"
        assert attrs[A.RULE_CATEGORY].startswith("API8:2023")
        assert attrs[A.FINDING_LOCATION] == "request.query.q"
        assert set(attrs) <= NAMES


class TestRiskScore:
    @pytest.mark.parametrize(
        ("severities", "score"),
        [
            ([], 0),
            ([Severity.INFO], 0),
            ([Severity.LOW, Severity.LOW], 10),
            ([Severity.MEDIUM], 40),
            ([Severity.HIGH, Severity.MEDIUM, Severity.MEDIUM], 80),
            ([Severity.CRITICAL] * 10, 100),
        ],
    )
    def test_table(self, severities: list[Severity], score: int) -> None:
        """The worst finding sets the base; more medium-or-worse findings add 5 each, capped at 100."""
        assert risk_score([_finding(s) for s in severities]) == score
