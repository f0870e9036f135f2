"""The `apisec/ocsf` exporter: findings as OCSF events to a file or a SIEM webhook (the sink is `otel_apisec.siem`).

`config` holds its config class and `FACTORY`."""

from otel_apisec.gateway.exporters.ocsf.config import FACTORY, OcsfConfig

__all__ = ["FACTORY", "OcsfConfig"]
