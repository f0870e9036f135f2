"""Programmatic API, for apps that configure the OpenTelemetry SDK in code.

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    import otel_apisec.sdk as apisec

    provider = TracerProvider()
    provider.add_span_processor(apisec.span_processor(BatchSpanProcessor(OTLPSpanExporter())))
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider, **apisec.hooks("flask"))

Everything here shares the process runtime (`OTEL_APISEC_*` settings, one capture registry),
exactly as under `opentelemetry-instrument`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace import SpanProcessor

from otel_apisec.sdk.capture.wsgi import ApisecWSGIMiddleware
from otel_apisec.sdk.distro import HOOKS
from otel_apisec.sdk.log_exporter import RedactingLogExporter
from otel_apisec.sdk.runtime import get_runtime
from otel_apisec.sdk.span_processor import ApisecSpanProcessor

__all__ = ["hooks", "log_exporter", "span_processor", "wsgi_middleware"]


def span_processor(exporting: SpanProcessor) -> ApisecSpanProcessor:
    """Wrap the processor that exports: it receives every span redacted, server spans enriched."""
    return get_runtime().span_processor(exporting)


def log_exporter(exporter: LogRecordExporter) -> RedactingLogExporter:
    """Wrap a log exporter so application log records are masked like spans."""
    return get_runtime().log_exporter(exporter)


def hooks(framework: str) -> dict[str, Callable[..., None]]:
    """Hook keyword arguments for `flask`, `django`, `fastapi`, `starlette` or `asgi` (any ASGI app
    wrapped in `opentelemetry.instrumentation.asgi.OpenTelemetryMiddleware`)."""
    factory = HOOKS.get(framework)
    if factory is None:
        raise ValueError(f"no capture hooks for {framework!r} (choose from {', '.join(sorted(HOOKS))})")
    runtime = get_runtime()
    return factory(runtime.registry, runtime.metrics)


def wsgi_middleware(app: Callable[..., Iterable[bytes]]) -> Any:
    """Capture for a plain WSGI app: `OpenTelemetryMiddleware(wsgi_middleware(app))`."""
    runtime = get_runtime()
    return ApisecWSGIMiddleware(app, runtime.registry, runtime.metrics)
