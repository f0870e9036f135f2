"""Exporter types, one folder each: `config` (its config class and `FACTORY`) and, where the gateway
implements it, `exporter`; `sink` is the exporter behind every finding sink (alerts, audit, OCSF)."""

from typing import Any

from otel_apisec.gateway.components.base import Factory
from otel_apisec.gateway.exporters import alerts, audit, console, findings, ocsf, otlp

__all__ = ["FACTORIES"]

FACTORIES: dict[str, Factory[Any, Any]] = {
    factory.type: factory
    for factory in (otlp.FACTORY, findings.FACTORY, alerts.FACTORY, audit.FACTORY, ocsf.FACTORY, console.FACTORY)
}
"""In the README table's order."""
