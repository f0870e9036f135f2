"""The `apisec/filter` processor: drops spans that carry nothing of interest (health checks, static files).

`config` holds its config class and `FACTORY`; `processor` the implementation."""

from otel_apisec.gateway.processors.filter.config import FACTORY, FilterConfig

__all__ = ["FACTORY", "FilterConfig"]
