"""The `apisec/enrich` processor: runs the detectors on spans that arrive without apisec.* attributes.

`config` holds its config class and `FACTORY`; `processor` the implementation."""

from otel_apisec.gateway.processors.enrich.config import FACTORY, EnrichConfig

__all__ = ["FACTORY", "EnrichConfig"]
