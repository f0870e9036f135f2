"""Exporter types: each module holds a config class and a `FACTORY`; the exporters themselves are
in `otel_apisec.gateway` (exporters, finding_exporters) and the sinks they feed."""

from typing import Any

from otel_apisec.gateway.components.base import Factory
from otel_apisec.gateway.components.exporters import alerts, audit, console, findings, ocsf, otlp

__all__ = ["FACTORIES"]

FACTORIES: dict[str, Factory[Any, Any]] = {
    factory.type: factory
    for factory in (otlp.FACTORY, findings.FACTORY, alerts.FACTORY, audit.FACTORY, ocsf.FACTORY, console.FACTORY)
}
"""In the README table's order."""
