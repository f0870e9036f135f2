"""The `apisec/alerts` exporter: findings grouped into incidents, sent to Alertmanager and webhooks.
Its policy options' defaults are `AlertPolicy`'s; its receivers are checked by `alerts.config`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otel_apisec.alerts.config import parse_config as parse_alerts
from otel_apisec.alerts.policy import AlertPolicy
from otel_apisec.gateway.api import Exporter
from otel_apisec.gateway.components.base import SEVERITIES, BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option

__all__ = ["FACTORY", "AlertsConfig"]

_POLICY = AlertPolicy()
_SECONDS = (0.001, 30 * 86_400.0)


@dataclass(frozen=True)
class AlertsConfig(ConfigBase):
    receivers: tuple[Mapping[str, Any], ...] | None = option(
        None, "where alerts go (required): `{type: alertmanager, url}` (API v2) and/or `{type: webhook, url, format: "
        "json or slack, headers}`")
    """A webhook's credentials go in its `headers` (or URL), written as `${env:VAR}`."""
    min_severity: str = option(_POLICY.min_severity.label, "lowest finding severity that raises an alert",
                               choices=SEVERITIES)
    group_by: tuple[str, ...] = option(_POLICY.group_by, "record fields that make one incident (empty: rule_id + "
                                       "group_key; rule_id + service_name + route for per-span findings)")
    repeat_interval_s: float = option(_POLICY.repeat_interval_s, "re-send an open alert at most this often, when it saw "
                                      "new findings", bounds=_SECONDS)
    resolve_after_s: float = option(_POLICY.resolve_after_s, "resolve a group after this long without a finding",
                                    bounds=_SECONDS)
    max_groups: int = option(_POLICY.max_groups, "open groups kept (the least recently updated is evicted)",
                             bounds=(1, 10_000_000))
    queue_size: int = option(_POLICY.queue_size, "alerts waiting per receiver", bounds=(1, 10_000_000))
    retry_for_s: float = option(_POLICY.retry_for_s, "retry a failing delivery this long", bounds=_SECONDS)
    max_backoff_s: float = option(_POLICY.max_backoff_s, "longest wait between retries",
                                  bounds=(_POLICY.initial_backoff_s, 86_400.0))

    def validate(self, path: str) -> None:
        if not self.receivers:
            raise ConfigError(f"{path}.receivers: required, a non-empty list of receivers (type: webhook or alertmanager)")
        try:
            parse_alerts(self.alert_options(), path)  # builds the receivers' clients: no socket, no thread
        except ValueError as error:  # its message starts with the key path
            raise ConfigError(str(error)) from None

    def alert_options(self) -> dict[str, Any]:
        """The mapping `alerts.config` reads (lists for its receivers)."""
        options = self.as_options()
        options["receivers"] = [dict(receiver) for receiver in self.receivers or ()]
        return options


def _create(config: AlertsConfig, ctx: BuildContext) -> Built[Exporter]:
    from otel_apisec.alerts.config import router_from_config
    from otel_apisec.gateway.exporters.sink import SinkExporter

    exporter = SinkExporter(router_from_config(config.alert_options(), f"exporters.{ctx.id}"), "apisec/alerts")
    return Built(exporter, start=exporter.start, shutdown=exporter.shutdown, stats=exporter.stats)


FACTORY = Factory("apisec/alerts", AlertsConfig, _create)
