"""A generic webhook receiver: the documented JSON shape, or a Slack-compatible message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from otel_apisec.alerts.alert import Alert
from otel_apisec.alerts.slack import MAX_ALERTS_PER_MESSAGE, slack_message
from otel_apisec.alerts.transport import DEFAULT_TIMEOUT_S, JsonPoster

__all__ = ["WebhookAlerter"]

Format = Literal["json", "slack"]
JSON_SCHEMA_VERSION = "1"


class WebhookAlerter:
    """POSTs alerts to `url`. `json`: `{"version": "1", "source": "otel-apisec", "alerts": [Alert.to_json()...]}`,
    up to 100 alerts a request; `slack`: `{"text", "blocks"}`, up to 10 alerts a message.
    `headers` (an Authorization header, say) go with every request and are never logged."""

    def __init__(self, url: str, format: Format = "json", headers: Mapping[str, str] | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if format not in ("json", "slack"):
            raise ValueError(f"webhook format must be json or slack, not {format!r}")
        self._poster = JsonPoster(url, headers, timeout_s)
        self.format = format
        self.timeout_s = self._poster.timeout_s
        self.max_batch = MAX_ALERTS_PER_MESSAGE if format == "slack" else 100
        self.name = f"webhook/{format} {self._poster.origin}"

    def send(self, alerts: Sequence[Alert], timeout_s: float) -> None:
        if self.format == "slack":
            payload: object = slack_message(alerts)
        else:
            payload = {"version": JSON_SCHEMA_VERSION, "source": "otel-apisec", "alerts": [a.to_json() for a in alerts]}
        self._poster.post(payload, timeout_s)

    def close(self) -> None:
        self._poster.close()
