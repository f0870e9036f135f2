"""Prometheus Alertmanager, API v2: `POST /api/v2/alerts` with a list of alerts.

Alertmanager keys an alert on its labels, so a group's labels never change; a firing alert carries
an `endsAt` in the future (refreshed by each re-send) so that it lapses by itself if the resolve
is lost, and the resolve is the same alert with `endsAt` = now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from otel_apisec.alerts.alert import Alert
from otel_apisec.alerts.transport import DEFAULT_TIMEOUT_S, JsonPoster
from otel_apisec.correlate.api import iso_time

__all__ = ["AlertmanagerAlerter"]

_PATH = "/api/v2/alerts"


class AlertmanagerAlerter:
    """`url`: the Alertmanager's base URL (`http://alertmanager:9093`, or with a route prefix);
    `generator_url`: optional link back to the finding, `{trace_id}` and `{span_id}` filled in
    (`https://jaeger.example/trace/{trace_id}`)."""

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 generator_url: str | None = None) -> None:
        if generator_url is not None and (not isinstance(generator_url, str)
                                          or urlsplit(generator_url).scheme not in ("http", "https")):
            raise ValueError(f"alertmanager generator_url must be an http(s) URL template, not {generator_url!r}")
        self._poster = JsonPoster(url, headers, timeout_s)
        self._path = "" if self._poster.path.rstrip("/").endswith(_PATH) else _PATH  # a URL that names the API already
        self._generator_url = generator_url
        self.timeout_s = self._poster.timeout_s
        self.max_batch = 100
        self.name = f"alertmanager {self._poster.origin}"

    def payload(self, alert: Alert) -> dict[str, Any]:
        body: dict[str, Any] = {
            "labels": dict(alert.labels),
            "annotations": alert.annotations(),
            "startsAt": iso_time(alert.first_seen),
            "endsAt": iso_time(alert.ends_at),
        }
        if self._generator_url:
            body["generatorURL"] = (self._generator_url
                                    .replace("{trace_id}", str(alert.latest.get("trace_id", "")))
                                    .replace("{span_id}", str(alert.latest.get("span_id", ""))))
        return body

    def send(self, alerts: Sequence[Alert], timeout_s: float) -> None:
        self._poster.post([self.payload(alert) for alert in alerts], timeout_s, self._path)

    def close(self) -> None:
        self._poster.close()
