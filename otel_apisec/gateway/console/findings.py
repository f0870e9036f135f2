"""The console's recent findings: a bounded ring of finding records, filtered when read.

Fed by a `SinkExporter` the Gateway appends to every traces pipeline, after the pipeline's
processors: the records come from the redacted spans, so the console never holds a raw value.
"""

from __future__ import annotations

import datetime
import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otel_apisec.model import Severity

__all__ = ["DEFAULT_LIMIT", "DEFAULT_MAX_FINDINGS", "MAX_LIMIT", "FindingsQuery", "FindingsRing", "QueryError",
           "parse_findings_query"]

DEFAULT_MAX_FINDINGS = 10_000
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_MAX_VALUE_CHARS = 512  # a filter value longer than any service, route or kind is a mistake or an attack
_FILTERS = ("service", "route", "severity", "kind", "since", "limit")


class QueryError(ValueError):
    """A bad query parameter: the message names it and says what is expected."""


@dataclass(frozen=True)
class FindingsQuery:
    service: str | None = None
    route: str | None = None
    severity: str | None = None
    """At least this severity (label)."""
    kind: str | None = None
    since: float | None = None
    """Unix seconds: findings seen at or after it."""
    limit: int = DEFAULT_LIMIT


def parse_findings_query(params: Mapping[str, str]) -> FindingsQuery:
    """Validate the query parameters of `GET /api/v1/findings` (each given at most once)."""
    unknown = sorted(name for name in params if name not in _FILTERS)
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0][:40]!r} (allowed: {', '.join(_FILTERS)})")
    for name, value in params.items():
        if len(value) > _MAX_VALUE_CHARS:
            raise QueryError(f"{name}: longer than {_MAX_VALUE_CHARS} characters")
    severity = params.get("severity") or None
    if severity is not None:
        try:
            severity = Severity.parse(severity).label
        except ValueError:
            raise QueryError(f"severity: expected one of {', '.join(s.label for s in Severity)}") from None
    since = _since(params["since"]) if params.get("since") else None
    limit = DEFAULT_LIMIT
    if params.get("limit"):
        text = params["limit"]
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise QueryError(f"limit: expected an integer from 1 to {MAX_LIMIT}")
        limit = int(text)
    return FindingsQuery(params.get("service") or None, params.get("route") or None, severity,
                         params.get("kind") or None, since, limit)


def _since(text: str) -> float:
    """ISO 8601 (`2024-05-01T12:00:00Z`, a date, an offset) or Unix seconds."""
    if not text.isascii():
        raise QueryError("since: expected ISO 8601 or Unix seconds")
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise QueryError("since: expected ISO 8601 (2024-05-01T12:00:00Z) or Unix seconds") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()
    if not math.isfinite(seconds) or seconds < 0:
        raise QueryError("since: expected ISO 8601 or non-negative Unix seconds")
    return seconds


def _seconds(iso: str) -> float:
    try:
        return datetime.datetime.fromisoformat(iso).timestamp() if iso else 0.0
    except ValueError:
        return 0.0


class FindingsRing:
    """The last `max_findings` finding records, newest last; a `FindingSink` (`emit`, `close`).

    `emit` is on the pipeline's thread: one append under a lock. Filtering happens at read."""

    def __init__(self, max_findings: int = DEFAULT_MAX_FINDINGS) -> None:
        if max_findings <= 0:
            raise ValueError("max_findings must be positive")
        self._records: deque[tuple[float, int, dict[str, Any]]] = deque(maxlen=max_findings)
        self._lock = threading.Lock()
        self.received = 0

    def emit(self, record: dict[str, Any]) -> None:
        entry = {**record, "service": record.get("service_name", ""), "route": record.get("route"),
                 "trace_id": record.get("trace_id", ""), "span_id": record.get("span_id", "")}
        rank = Severity.parse(str(record.get("severity") or "info")).value if record.get("severity") else 0
        with self._lock:
            self._records.append((_seconds(str(record.get("time") or "")), rank, entry))
            self.received += 1

    def close(self, timeout_s: float = 10.0) -> None:
        pass

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"findings_held": len(self._records), "findings_received": self.received}

    def query(self, query: FindingsQuery) -> list[dict[str, Any]]:
        """Newest first, at most `query.limit`."""
        with self._lock:
            entries = list(self._records)  # a copy of references: the filter runs without the lock
        minimum = Severity.parse(query.severity).value if query.severity else None
        result: list[dict[str, Any]] = []
        for seconds, rank, record in reversed(entries):
            if query.since is not None and seconds < query.since:
                continue
            if minimum is not None and rank < minimum:
                continue
            if query.service is not None and record["service"] != query.service:
                continue
            if query.route is not None and record["route"] != query.route:
                continue
            if query.kind is not None and record.get("kind") != query.kind:
                continue
            result.append(record)
            if len(result) >= query.limit:
                break
        return result
