"""Receiver types: each module holds a config class, a `FACTORY` and the built component."""

from typing import Any

from otel_apisec.gateway.components.base import Factory
from otel_apisec.gateway.components.receivers import otlp

__all__ = ["FACTORIES"]

FACTORIES: dict[str, Factory[Any, Any]] = {factory.type: factory for factory in (otlp.FACTORY,)}
