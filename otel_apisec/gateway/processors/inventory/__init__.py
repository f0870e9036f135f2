"""The `apisec/inventory` processor: the API estate (endpoints per service, their auth, data and
findings, drift against a spec) built from the enriched spans.

`config` holds its config class and `FACTORY`; `processor` the implementation."""

from otel_apisec.gateway.processors.inventory.config import FACTORY, InventoryConfig

__all__ = ["FACTORY", "InventoryConfig"]
