"""The `apisec/alerts` exporter: findings routed to webhooks, Slack and the like (the sink is `otel_apisec.alerts`).

`config` holds its config class and `FACTORY`."""

from otel_apisec.gateway.exporters.alerts.config import FACTORY, AlertsConfig

__all__ = ["FACTORY", "AlertsConfig"]
