"""The `otlp` exporter: traces, metrics and logs (findings as log records) to any OTLP
backend, through a bounded or persistent queue.

`config` holds its config class and `FACTORY`; `exporter`, `queue` the implementation."""

from otel_apisec.gateway.exporters.otlp.config import FACTORY, OtlpExporterConfig

__all__ = ["FACTORY", "OtlpExporterConfig"]
