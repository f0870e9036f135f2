"""The `apisec/redact` processor: removes or masks what must not be stored before spans leave the gateway.

`config` holds its config class and `FACTORY`; `processor` the implementation."""

from otel_apisec.gateway.processors.redact.config import FACTORY, RedactConfig

__all__ = ["FACTORY", "RedactConfig"]
