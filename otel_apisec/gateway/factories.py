"""Every component type the gateway knows, by config section (`receivers`, `processors`, `exporters`)."""

from typing import Any

from otel_apisec.gateway.components.base import Factory
from otel_apisec.gateway.exporters import FACTORIES as EXPORTERS
from otel_apisec.gateway.processors import FACTORIES as PROCESSORS
from otel_apisec.gateway.receivers import FACTORIES as RECEIVERS

__all__ = ["EXPORTERS", "FACTORIES", "PROCESSORS", "RECEIVERS"]

FACTORIES: dict[str, dict[str, Factory[Any, Any]]] = {"receivers": RECEIVERS, "processors": PROCESSORS, "exporters": EXPORTERS}
"""Every component type, by config section."""
