"""The gateway's components after the OpenTelemetry Collector's model: per type a frozen config
class (its defaults, and `validate(path)` naming the key path), a factory that builds the component
only from a validated config, and the built component behind one protocol (`start`, `shutdown`,
`stats`). One folder per kind; the implementations stay in `otel_apisec.gateway`'s modules.

    receivers/otlp.py            processors/enrich.py, redact.py, filter.py, correlate.py
    exporters/otlp.py, findings.py, alerts.py, audit.py, ocsf.py, console.py
"""

from typing import Any

from otel_apisec.gateway.components.base import BuildContext, Built, Component, Factory, ReceiverComponent, Stats
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError
from otel_apisec.gateway.components.expand import expand_env
from otel_apisec.gateway.components.exporters import FACTORIES as EXPORTERS
from otel_apisec.gateway.components.processors import FACTORIES as PROCESSORS
from otel_apisec.gateway.components.receivers import FACTORIES as RECEIVERS

__all__ = [
    "EXPORTERS",
    "FACTORIES",
    "PROCESSORS",
    "RECEIVERS",
    "BuildContext",
    "Built",
    "Component",
    "ConfigBase",
    "ConfigError",
    "Factory",
    "ReceiverComponent",
    "Stats",
    "expand_env",
]

FACTORIES: dict[str, dict[str, Factory[Any, Any]]] = {"receivers": RECEIVERS, "processors": PROCESSORS, "exporters": EXPORTERS}
"""Every component type, by config section."""
