"""The programmatic API (`otel_apisec.sdk`) as the README shows it, with the SDK configured in code."""

from __future__ import annotations

import pytest
from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from werkzeug.test import Client

import otel_apisec.sdk as apisec
from otel_apisec import attributes as A


def provider_and_exporter() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(apisec.span_processor(SimpleSpanProcessor(exporter)))
    return provider, exporter


def test_flask_app_configured_in_code_gets_enriched_spans() -> None:
    provider, exporter = provider_and_exporter()
    app = Flask(__name__)

    @app.get("/api/profile")
    def profile() -> dict:
        return {"email": "grace.code@example.com"}

    FlaskInstrumentor().instrument_app(app, tracer_provider=provider, **apisec.hooks("flask"))
    assert app.test_client().get("/api/profile?token=t0ps3cret").status_code == 200
    provider.force_flush()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[A.PII_TYPES] == ("email",)
    assert span.attributes["http.target"] == f"/api/profile?token={A.REDACTED}"


def test_plain_wsgi_middleware_from_the_api() -> None:
    provider, exporter = provider_and_exporter()

    def app(environ: dict, start_response: object) -> list[bytes]:
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [b'{"error": "bad credentials"}']

    wrapped = OpenTelemetryMiddleware(apisec.wsgi_middleware(app), tracer_provider=provider)
    assert Client(wrapped).get("/login", headers={"Authorization": "Basic Ym9iOmh1bnRlcjI="}).status_code == 401
    provider.force_flush()
    (span,) = exporter.get_finished_spans()
    assert span.attributes[A.AUTH_SCHEME] == "basic" and span.attributes[A.AUTH_OUTCOME] == "failure"


def test_unknown_framework_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no capture hooks for 'bottle'.*flask"):
        apisec.hooks("bottle")
