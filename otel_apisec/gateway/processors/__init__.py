"""Processor types, one folder each: `config` (its config class and `FACTORY`) and `processor`."""

from typing import Any

from otel_apisec.gateway.components.base import Factory
from otel_apisec.gateway.processors import correlate, crs, enrich, filter, inventory, redact

__all__ = ["FACTORIES"]

FACTORIES: dict[str, Factory[Any, Any]] = {
    factory.type: factory for factory in (enrich.FACTORY, redact.FACTORY, filter.FACTORY, correlate.FACTORY,
                                            inventory.FACTORY, crs.FACTORY)
}
"""In the README table's order."""
