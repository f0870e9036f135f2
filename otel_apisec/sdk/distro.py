"""Entry points for `opentelemetry-instrument`: the `apisec` distro and configurator.

    OTEL_PYTHON_DISTRO=apisec OTEL_PYTHON_CONFIGURATOR=apisec opentelemetry-instrument python app.py

The configurator is the SDK's own, with every exporting span processor wrapped in
`ApisecSpanProcessor`; the distro passes capture hooks to the Flask, Django, FastAPI and
Starlette instrumentations. Standard `OTEL_*` variables keep their meaning.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from opentelemetry.environment_variables import OTEL_LOGS_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_TRACES_EXPORTER
from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_PROTOCOL
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_apisec.sdk.capture.asgi import asgi_hooks
from otel_apisec.sdk.capture.django import django_hooks
from otel_apisec.sdk.capture.wsgi import flask_hooks
from otel_apisec.sdk.runtime import get_runtime

__all__ = ["HOOKS", "ApisecConfigurator", "ApisecDistro"]

HOOKS: dict[str, Callable[..., dict[str, Any]]] = {
    "flask": flask_hooks,
    "django": django_hooks,
    "fastapi": asgi_hooks,
    "starlette": asgi_hooks,
    "asgi": asgi_hooks,  # no instrumentor of that name: for `OpenTelemetryMiddleware` in code
}
"""Instrumentor entry-point name -> the capture hooks it is given."""


class ApisecDistro(BaseDistro):
    def _configure(self, **kwargs: Any) -> None:
        # The same defaults as opentelemetry-distro, so switching distros changes nothing else.
        os.environ.setdefault(OTEL_TRACES_EXPORTER, "otlp")
        os.environ.setdefault(OTEL_METRICS_EXPORTER, "otlp")
        os.environ.setdefault(OTEL_LOGS_EXPORTER, "otlp")
        os.environ.setdefault(OTEL_EXPORTER_OTLP_PROTOCOL, "http/protobuf")

    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        runtime = get_runtime()
        hooks = HOOKS.get(entry_point.name)
        if hooks is not None and runtime.settings.enabled:
            kwargs.update(hooks(runtime.registry, runtime.metrics))
        super().load_instrumentor(entry_point, **kwargs)


def apisec_export_processor(exporter: SpanExporter) -> SpanProcessor:
    """What the configurator puts in front of each span exporter."""
    runtime = get_runtime()
    batch = BatchSpanProcessor(exporter)
    if not runtime.settings.enabled:
        return batch
    return runtime.span_processor(batch)


def apisec_log_processor(exporter: LogRecordExporter) -> LogRecordProcessor:
    """What the configurator puts in front of each log exporter."""
    runtime = get_runtime()
    if runtime.settings.enabled:
        exporter = runtime.log_exporter(exporter)
    return BatchLogRecordProcessor(exporter)


class ApisecConfigurator(_OTelSDKConfigurator):
    def _configure(self, **kwargs: Any) -> None:
        kwargs.setdefault("export_span_processor", apisec_export_processor)
        kwargs.setdefault("export_log_record_processor", apisec_log_processor)
        super()._configure(**kwargs)
