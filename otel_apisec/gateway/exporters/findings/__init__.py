"""The `apisec/findings` exporter: one JSON line per finding in a file.

`config` holds its config class and `FACTORY`; `exporter` the implementation."""

from otel_apisec.gateway.exporters.findings.config import FACTORY, FindingsConfig

__all__ = ["FACTORY", "FindingsConfig"]
