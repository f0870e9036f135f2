"""Processor types: each module holds a config class and a `FACTORY`; the processors themselves
are in `otel_apisec.gateway` (processors, redact_processor, correlate, filter)."""

from typing import Any

from otel_apisec.gateway.components.base import Factory
from otel_apisec.gateway.components.processors import correlate, enrich, filter, redact

__all__ = ["FACTORIES"]

FACTORIES: dict[str, Factory[Any, Any]] = {
    factory.type: factory for factory in (enrich.FACTORY, redact.FACTORY, filter.FACTORY, correlate.FACTORY)
}
"""In the README table's order."""
