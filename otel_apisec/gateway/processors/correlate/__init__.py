"""The `apisec/correlate` processor: stateful detection across requests (windows per client, principal, endpoint).

`config` holds its config class and `FACTORY`; `processor` the implementation."""

from otel_apisec.gateway.processors.correlate.config import FACTORY, CorrelateConfig

__all__ = ["FACTORY", "CorrelateConfig"]
