"""The `console` exporter: one line per span on stdout (what `otel-apisec gateway` does without `--forward`)."""

from __future__ import annotations

from dataclasses import dataclass

from otel_apisec.gateway.api import Exporter
from otel_apisec.gateway.components.base import BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase

__all__ = ["FACTORY", "ConsoleConfig"]


@dataclass(frozen=True)
class ConsoleConfig(ConfigBase):
    """No options."""


def _create(config: ConsoleConfig, ctx: BuildContext) -> Built[Exporter]:
    from otel_apisec.gateway.exporters.console.exporter import ConsoleExporter

    exporter = ConsoleExporter()
    return Built(exporter, start=exporter.start, shutdown=exporter.shutdown)


FACTORY = Factory("console", ConsoleConfig, _create)
