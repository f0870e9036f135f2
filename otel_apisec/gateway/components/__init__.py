"""The gateway's component model, after the OpenTelemetry Collector's: per type a frozen config
class (its defaults, and `validate(path)` naming the key path), a factory that builds the component
only from a validated config, and the built component behind one protocol (`start`, `shutdown`,
`stats`). The components themselves live one folder each under `receivers/`, `processors/` and
`exporters/`; `otel_apisec.gateway.factories` lists them all.

    base.py       BuildContext, Built, Component, Factory, the receiver protocol
    confmap.py    ConfigBase: decoding a YAML mapping into a config class, unknown keys as errors
    expand.py     ${env:VAR} expansion
    configtls.py  the TLS settings servers and clients share
"""

from otel_apisec.gateway.components.base import BuildContext, Built, Component, Factory, ReceiverComponent, Stats
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError
from otel_apisec.gateway.components.expand import expand_env

__all__ = [
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
