"""Application log records are masked before export: the real SDK logging pipeline."""

from __future__ import annotations

import logging

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from otel_apisec import attributes as A
from otel_apisec.redaction import mask_sensitive_pairs
from otel_apisec.sdk.log_exporter import RecentValues, RedactingLogExporter
from otel_apisec.sdk.settings import load_settings

CARD, EMAIL, OPAQUE_KEY = "4111 1111 1111 1111", "frank.logged@example.com", "opaque-api-key-77f0c1d2"
AWS = "AKIAQLOGGEDX7Y2Z3W4A"


def test_log_bodies_and_attributes_are_masked_before_export() -> None:
    memory = InMemoryLogRecordExporter()
    recent = RecentValues()
    recent.add([OPAQUE_KEY])  # what an analysed request presented
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(
        RedactingLogExporter(memory, load_settings({"OTEL_APISEC_HMAC_KEY": "k"}), recent)))
    logger = logging.getLogger("test.app.payments")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=provider))
    logger.warning("charge failed card=%s for %s key %s aws %s",
                   CARD, EMAIL, OPAQUE_KEY, AWS, extra={"customer": EMAIL, "attempt": 3})
    logger.warning('GET /login?user=frank&password=hunter2hunter2 HTTP/1.1" 200')
    logger.warning("GET /search?contact=frank.logged%40example.com")  # a URL as logged: still encoded
    provider.force_flush()
    first, second, third = (record.log_record for record in memory.get_finished_logs())
    for raw in (CARD, EMAIL, OPAQUE_KEY, AWS):
        assert raw not in first.body
    assert first.body.startswith("charge failed card=")
    assert first.attributes["customer"] == A.REDACTED and first.attributes["attempt"] == 3
    assert second.body == f'GET /login?user=frank&password={A.REDACTED} HTTP/1.1" 200'
    assert third.body == f"GET /search?contact={A.REDACTED}"


def test_sensitive_pairs_are_masked_in_one_linear_pass() -> None:
    assert mask_sensitive_pairs("a=1&token=abc;x=y") == f"a=1&token={A.REDACTED};x=y"
    assert mask_sensitive_pairs("api_key=k1 apiKey=k2 monkey=k3") == f"api_key={A.REDACTED} apiKey={A.REDACTED} monkey=k3"
    assert mask_sensitive_pairs("=x==password=") == "=x==password="
    assert mask_sensitive_pairs("password=" * 50_000) == f"password={A.REDACTED}"  # '=' does not end a value


def test_structured_bodies_long_texts_and_embedded_credentials_are_masked() -> None:
    """The exporter shares the gateway's masker: nested bodies, bytes, text past 64 KiB, JWTs in text."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(
        RedactingLogExporter(memory, load_settings({"OTEL_APISEC_HMAC_KEY": "k"}), RecentValues())))
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmcmFuayJ9.c2lnbmF0dXJlLWJ5dGVz"
    provider.get_logger("app").emit(
        body={"user": {"password": "hunter2hunter2", "mail": EMAIL, "notes": [f"card {CARD}", f"raw {EMAIL}".encode()]}},
        attributes={"token": "opaque", "detail": "x" * 70_000 + f" {EMAIL}", "upstream": f"auth jwt={jwt}", "n": 1})
    provider.force_flush()
    (record,) = (finished.log_record for finished in memory.get_finished_logs())
    assert record.body == {"user": {"password": A.REDACTED, "mail": A.REDACTED, "notes": ["card ***", A.REDACTED]}}
    assert record.attributes["token"] == A.REDACTED and record.attributes["n"] == 1
    assert record.attributes["detail"].endswith(" ***") and record.attributes["upstream"] == "auth jwt=***"
