"""Receiver types, one folder each: its config class, its `FACTORY` and the receiver itself."""

from typing import Any

from otel_apisec.gateway.components.base import Factory
from otel_apisec.gateway.receivers import otlp

__all__ = ["FACTORIES"]

FACTORIES: dict[str, Factory[Any, Any]] = {factory.type: factory for factory in (otlp.FACTORY,)}
