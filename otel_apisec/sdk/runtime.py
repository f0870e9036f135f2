"""The process-wide pieces the capture hooks and the span processor share.

`opentelemetry-instrument` builds the processor in the configurator and the hooks in the
distro, separately; both take them from here so they meet in one capture registry.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace import SpanProcessor

from otel_apisec.redaction.recent import RecentValues
from otel_apisec.sdk.capture.registry import CaptureRegistry
from otel_apisec.sdk.log_exporter import RedactingLogExporter
from otel_apisec.sdk.settings import ApisecSettings, load_settings
from otel_apisec.sdk.span_processor import ApisecSpanProcessor
from otel_apisec.sdk.telemetry import ApisecMetrics

__all__ = ["Runtime", "get_runtime"]

_logger = logging.getLogger("otel_apisec")
_lock = threading.Lock()
_runtime: Runtime | None = None


@dataclass(frozen=True)
class Runtime:
    settings: ApisecSettings
    registry: CaptureRegistry
    metrics: ApisecMetrics
    recent: RecentValues
    """Values the last requests exposed, for masking the app's log records."""

    @classmethod
    def create(cls, settings: ApisecSettings) -> Runtime:
        return cls(settings, CaptureRegistry(settings), ApisecMetrics(), RecentValues())

    def span_processor(self, exporting: SpanProcessor) -> ApisecSpanProcessor:
        """`exporting` wrapped so it receives every span redacted and server spans enriched."""
        return ApisecSpanProcessor(exporting, settings=self.settings, registry=self.registry,
                                   metrics=self.metrics, recent=self.recent)

    def log_exporter(self, exporter: LogRecordExporter) -> RedactingLogExporter:
        """`exporter` wrapped so application log records are masked like spans."""
        return RedactingLogExporter(exporter, self.settings, self.recent)


def get_runtime() -> Runtime:
    """The process's runtime, built from `OTEL_APISEC_*` on first use (bad values are logged)."""
    global _runtime
    with _lock:
        if _runtime is None:
            settings = load_settings(on_error=lambda error: _logger.error("otel-apisec: %s", error))
            _runtime = Runtime.create(settings)
        return _runtime
