"""The `apisec/findings` exporter: one JSON line per finding event, to a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from otel_apisec.gateway.api import Exporter
from otel_apisec.gateway.components.base import BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option

__all__ = ["FACTORY", "FindingsConfig"]


@dataclass(frozen=True)
class FindingsConfig(ConfigBase):
    path: str | None = option(None, "JSONL file, one finding a line (required)")

    def validate(self, path: str) -> None:
        if not self.path:
            raise ConfigError(f"{path}.path: required")
        if Path(self.path).is_dir():
            raise ConfigError(f"{path}.path: {self.path}: a directory, not a file")


def _create(config: FindingsConfig, ctx: BuildContext) -> Built[Exporter]:
    from otel_apisec.gateway.exporters.findings.exporter import FindingsFileExporter

    exporter = FindingsFileExporter(str(config.path))
    return Built(exporter, start=exporter.start, shutdown=exporter.shutdown,
                 stats=lambda: {"written": exporter.written, "errors": exporter.errors})


FACTORY = Factory("apisec/findings", FindingsConfig, _create)
