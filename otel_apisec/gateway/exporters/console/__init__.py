"""The `console` exporter: one compact line per span on stdout.

`config` holds its config class and `FACTORY`; `exporter` the implementation."""

from otel_apisec.gateway.exporters.console.config import FACTORY, ConsoleConfig

__all__ = ["FACTORY", "ConsoleConfig"]
