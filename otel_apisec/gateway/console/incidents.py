"""`GET /api/v1/incidents`: the alert groups of every `apisec/alerts` exporter, open and recently resolved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_apisec.alerts.router import AlertRouter
from otel_apisec.gateway.api import Exporter
from otel_apisec.gateway.exporters.sink import SinkExporter
from otel_apisec.gateway.finding_records import iso_from_nanos

__all__ = ["alert_routers", "incidents_document"]


def alert_routers(exporters: Mapping[str, Exporter]) -> dict[str, AlertRouter]:
    """The alert routers behind the gateway's exporters, by exporter id."""
    return {cid: exporter.sink for cid, exporter in exporters.items()
            if isinstance(exporter, SinkExporter) and isinstance(exporter.sink, AlertRouter)}


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else iso_from_nanos(int(seconds * 1e9))


def incidents_document(routers: Mapping[str, AlertRouter]) -> dict[str, Any]:
    raw = sorted(((cid, incident) for cid, router in routers.items() for incident in router.incidents()),
                 key=lambda item: -item[1]["last_seen"])  # most recently seen first
    incidents = [{**incident, "exporter": cid, "first_seen": _iso(incident["first_seen"]),
                  "last_seen": _iso(incident["last_seen"]), "resolved_at": _iso(incident["resolved_at"])}
                 for cid, incident in raw]
    return {"incidents": incidents,
            "open": sum(1 for incident in incidents if incident["status"] == "firing")}
