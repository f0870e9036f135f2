"""Planted secrets: run real apps under `opentelemetry-instrument`, send credentials, keys and PII
everywhere a client can put them, capture every header through the instrumentation's own
`OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*`, and search every exported byte for them."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import httpx
import jwt
import pytest

from otel_apisec import attributes as A
from otel_apisec.testing.sink import OtlpSink
from tests.e2e_harness import run_app

pytestmark = pytest.mark.e2e

JWT = jwt.encode({"sub": "planted-subject-4711", "exp": 4102444800}, "planted-jwt-signing-key-0000000000", algorithm="HS256")
BASIC_USER, BASIC_PASSWORD = "planted.user", "Planted-Pa55word!"
API_KEY = "pk_planted_9f8e7d6c5b4a3f2e1d0c"
SESSION = "planted-session-0123456789abcdef"
CARD = "4111111111111111"
EMAIL = "dave.planted@example.net"
AWS_KEY = "AKIAQPLANTEDX7Y2Z3W4"
LOGIN_PASSWORD = "Planted-Login-Pass!"
RESPONSE_EMAIL = "alice.example@example.com"  # what /api/users/<id> returns

PLANTED = [JWT, JWT.split(".")[2], BASIC_USER, BASIC_PASSWORD, API_KEY, SESSION, CARD, EMAIL, AWS_KEY, LOGIN_PASSWORD,
           RESPONSE_EMAIL, base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()]


def encodings(value: str) -> set[bytes]:
    return {form.encode() for form in (value, quote(value, safe=""), quote_plus(value), quote(value))}


@pytest.mark.parametrize(("framework", "protocol"), [("flask", "http/protobuf"), ("fastapi", "grpc")])
def test_no_exported_byte_holds_a_planted_value(framework: str, protocol: str) -> None:
    capture_all = {
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST": ".*",
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE": ".*",
        # The app's logs go out too, and the test apps log every search URL, query string included.
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
    }
    with OtlpSink(protocol) as sink:
        with run_app(framework, sink, capture_all) as app, httpx.Client(base_url=app.url) as client:
            query = {"q": "shoes", "card": CARD, "email": EMAIL, "aws": AWS_KEY, "api_key": API_KEY}
            headers = {"Authorization": f"Bearer {JWT}", "X-API-Key": API_KEY, "Cookie": f"sessionid={SESSION}"}
            assert client.get("/api/search", params=query, headers=headers).status_code == 200
            assert client.get("/api/me", auth=(BASIC_USER, BASIC_PASSWORD)).status_code == 200
            assert client.post("/api/login", json={"username": EMAIL, "password": LOGIN_PASSWORD}).status_code == 401
            assert client.get("/api/users/7", headers=headers).json()["email"] == RESPONSE_EMAIL
            spans = sink.wait_for_spans(lambda span: A.AUTH_OUTCOME in span.attributes, count=4)
            sink.wait_for_metric(A.METRIC_AUTH_OUTCOMES)
        raw = sink.raw()
        logs = sink.log_records()

    # The test is not vacuous: the enriched spans and the captured headers did arrive.
    assert any(A.PII_DETECTED in span.attributes and span.attributes[A.PII_DETECTED] for span in spans)
    assert any(key.startswith("http.request.header.") for span in spans for key in span.attributes)
    assert b"shoes" in raw and A.REDACTED.encode() in raw
    assert any("search request" in str(record.body) and "shoes" in str(record.body) for record in logs)
    leaked = [value for value in PLANTED for form in encodings(value) if form in raw]
    assert leaked == []
