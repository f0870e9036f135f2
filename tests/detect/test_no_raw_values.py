"""Nothing raw leaves: planted secrets and PII never appear in findings or facts."""

from __future__ import annotations

import base64
import warnings

import jwt
import orjson

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.testing import make_exchange

CARD = "4111 1111 1111 1111"
SSN = "219-09-9999"
EMAIL = "planted.person@example.org"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PASSWORD = "hunter2-planted"
API_KEY = "k3y-planted-0123456789abcdef"
IBAN = "GB82 WEST 1234 5698 7654 32"
with warnings.catch_warnings():  # the weak key is the point: PyJWT rightly warns about it
    warnings.simplefilter("ignore")
    TOKEN = jwt.encode({"sub": "planted-subject", "email": EMAIL}, "secret", algorithm="HS256")
BASIC = base64.b64encode(f"planted-user:{PASSWORD}".encode()).decode()
PLANTED = [CARD, CARD.replace(" ", ""), SSN, EMAIL, AWS_KEY, PASSWORD, API_KEY, IBAN, TOKEN, BASIC,
           "planted-subject", "planted-user"]


def _exchanges():
    yield make_exchange(
        f"http://api.example.com/login?api_key={API_KEY}&email={EMAIL}",
        method="POST",
        headers={"Authorization": f"Basic {BASIC}", "X-Api-Key": API_KEY},
        json={"username": "planted-user", "password": PASSWORD, "card": CARD},
        status=401,
        response_json={"error": "bad credentials", "echo": {"ssn": SSN, "iban": IBAN, "aws": AWS_KEY}},
    )
    yield make_exchange(
        f"https://api.example.com/orders?access_token={TOKEN}",
        headers={"Authorization": f"Bearer {TOKEN}", "Cookie": f"session={API_KEY}"},
        response_json={"password": PASSWORD, "owner": EMAIL, "card_number": CARD.replace(" ", "")},
    )


class TestNoRawValues:
    def test_findings_and_facts_hold_no_planted_value(self) -> None:
        """Serialized findings, auth facts and token facts contain none of the planted values."""
        analyzer = Analyzer(DetectConfig(hmac_key=b"k"))
        for exchange in _exchanges():
            analysis = analyzer.analyze(exchange)
            assert analysis.findings, "the planted exchange should produce findings"
            dumped = orjson.dumps([f.to_dict() for f in analysis.findings]).decode() + repr(analysis.auth) + repr(
                analysis.token
            )
            leaked = [value for value in PLANTED if value in dumped]
            assert leaked == [], f"raw values in output: {leaked}"

    def test_principal_is_a_keyed_hash(self) -> None:
        """The principal is recorded, as a hash that differs under another key."""
        exchange = next(_exchanges())
        one = Analyzer(DetectConfig(hmac_key=b"one")).analyze(exchange).auth.principal_hash
        two = Analyzer(DetectConfig(hmac_key=b"two")).analyze(exchange).auth.principal_hash
        assert one and two and one != two
