"""Deduplication and grouping: one attack is one alert, not a thousand.

Pure logic, no threads and no clock: every call gets `now` (Unix seconds), so tests and replays
are deterministic. A group's first finding yields a firing alert at once; later findings only
update its count and last_seen, re-sent at most every `repeat_interval_s`; `resolve_after_s`
without a finding yields the resolved alert and forgets the group.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from otel_apisec.alerts.alert import MAX_LABEL_CHARS, Alert, Status, clip, trim_record
from otel_apisec.alerts.policy import AlertPolicy, label_name
from otel_apisec.model import Severity

__all__ = ["AlertGrouper", "GroupingCounters"]

_CORRELATION_GROUP = ("rule_id", "group_key")
_PER_SPAN_GROUP = ("rule_id", "service_name", "route")
_RESOLVED_KEPT = 100  # recently resolved groups kept for `incidents()` (the console), newest last


@dataclass
class GroupingCounters:
    received: int = 0
    filtered: int = 0
    """Below `min_severity`."""
    invalid: int = 0
    """Not a finding record (no rule_id, unknown severity)."""
    raised: int = 0
    """Groups opened: each one a new firing alert."""
    deduplicated: int = 0
    """Findings folded into an open group (no new alert)."""
    updates: int = 0
    """Firing alerts re-sent with a new count."""
    resolved: int = 0
    evicted: int = 0
    """Open groups forgotten to stay within `max_groups` (no resolve is sent for them)."""


@dataclass(slots=True)
class _Group:
    group_id: str
    labels: dict[str, str]
    first_seen: float
    first_trace_id: str
    first_span_id: str
    last_seen: float
    last_sent: float
    latest: dict[str, Any]
    count: int = 1
    dirty: bool = False
    """Findings arrived since the last send."""
    version: int = 0
    wake_at: float = math.inf
    """Time of this group's live entry in the schedule (older entries for it are stale)."""


@dataclass
class AlertGrouper:
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    counters: GroupingCounters = field(default_factory=GroupingCounters)

    def __post_init__(self) -> None:
        self._groups: OrderedDict[str, _Group] = OrderedDict()  # least recently updated first
        self._schedule: list[tuple[float, int, str]] = []  # (when, tiebreak, group id)
        self._tiebreak = itertools.count()
        self._resolved: deque[dict[str, Any]] = deque(maxlen=_RESOLVED_KEPT)

    @property
    def open_groups(self) -> int:
        return len(self._groups)

    def next_due(self) -> float:
        """When `due` may next have something to say (inf: nothing open)."""
        return self._schedule[0][0] if self._schedule else math.inf

    def add(self, record: Mapping[str, Any], now: float) -> Alert | None:
        """Take one finding record; return the alert to send now, if any."""
        counters = self.counters
        counters.received += 1
        try:
            severity = Severity.parse(str(record.get("severity", "")))
        except ValueError:
            counters.invalid += 1
            return None
        if not record.get("rule_id"):
            counters.invalid += 1
            return None
        if severity < self.policy.min_severity:
            counters.filtered += 1
            return None
        fields = self._group_fields(record)
        values = [_field(record, name) for name in fields]
        group_id = hashlib.blake2b(orjson.dumps([fields, values]), digest_size=8).hexdigest()
        group = self._groups.get(group_id)
        if group is None:
            return self._open(group_id, record, severity, dict(zip(fields, values, strict=True)), now)
        self._groups.move_to_end(group_id)
        group.count += 1
        group.last_seen = max(group.last_seen, now)
        group.latest = trim_record(record)
        if now >= group.last_sent + self.policy.repeat_interval_s:
            counters.updates += 1
            return self._send(group, "firing", now)
        counters.deduplicated += 1
        if not group.dirty:
            group.dirty = True
            self._wake(group, group.last_sent + self.policy.repeat_interval_s)
        return None

    def due(self, now: float) -> list[Alert]:
        """Re-sends and resolves that are due at `now`."""
        alerts: list[Alert] = []
        schedule = self._schedule
        while schedule and schedule[0][0] <= now:
            when, _, group_id = heapq.heappop(schedule)
            group = self._groups.get(group_id)
            if group is None or group.wake_at != when:
                continue  # stale: the group is gone or has an earlier entry
            group.wake_at = math.inf
            if now >= group.last_seen + self.policy.resolve_after_s:
                del self._groups[group_id]
                self.counters.resolved += 1
                self._resolved.append(_incident(group, "resolved", now))
                alerts.append(self._alert(group, "resolved", now))
                continue
            if group.dirty and now >= group.last_sent + self.policy.repeat_interval_s:
                self.counters.updates += 1
                alerts.append(self._send(group, "firing", now))
            else:
                self._reschedule(group)
        return alerts

    def incidents(self) -> list[dict[str, Any]]:
        """Read-only: the open groups (firing) and the last resolved ones, most recently seen first."""
        open_groups = [_incident(group, "firing", None) for group in self._groups.values()]
        return sorted([*open_groups, *self._resolved], key=lambda incident: -incident["last_seen"])

    # -- internals ------------------------------------------------------------------------------

    def _group_fields(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        if self.policy.group_by:
            return self.policy.group_by
        return _CORRELATION_GROUP if record.get("group_key") else _PER_SPAN_GROUP

    def _open(self, group_id: str, record: Mapping[str, Any], severity: Severity, key: dict[str, str], now: float) -> Alert:
        if len(self._groups) >= self.policy.max_groups:
            self._groups.popitem(last=False)
            self.counters.evicted += 1
        labels = {
            "alertname": str(record.get("kind") or record["rule_id"]),
            "rule_id": str(record["rule_id"]),
            "severity": severity.label,
            "service": str(record.get("service_name") or ""),
            "route": str(record.get("route") or ""),
        }
        labels.update((label_name(name), value) for name, value in key.items())
        labels = {name: clip(value, MAX_LABEL_CHARS) for name, value in labels.items() if value}
        group = _Group(
            group_id=group_id, labels=labels, first_seen=now, last_seen=now, last_sent=now,
            first_trace_id=str(record.get("trace_id", "")), first_span_id=str(record.get("span_id", "")),
            latest=trim_record(record),
        )
        self._groups[group_id] = group
        self.counters.raised += 1
        self._prune_schedule()
        return self._send(group, "firing", now)

    def _send(self, group: _Group, status: Status, now: float) -> Alert:
        group.last_sent = now
        group.dirty = False
        self._reschedule(group)
        return self._alert(group, status, now)

    def _alert(self, group: _Group, status: Status, now: float) -> Alert:
        group.version += 1
        ends_at = now if status == "resolved" else now + self.policy.firing_ttl_s
        return Alert(
            group_id=group.group_id, status=status, labels=group.labels, count=group.count,
            first_seen=group.first_seen, last_seen=group.last_seen, ends_at=ends_at,
            first_trace_id=group.first_trace_id, first_span_id=group.first_span_id,
            latest=group.latest, version=group.version,
        )

    def _reschedule(self, group: _Group) -> None:
        when = group.last_seen + self.policy.resolve_after_s
        if group.dirty:
            when = min(when, group.last_sent + self.policy.repeat_interval_s)
        self._wake(group, when)

    def _wake(self, group: _Group, when: float) -> None:
        if when < group.wake_at:  # the later entry, if any, turns stale
            group.wake_at = when
            heapq.heappush(self._schedule, (when, next(self._tiebreak), group.group_id))

    def _prune_schedule(self) -> None:
        """Drop stale entries (of evicted and rescheduled groups) once they outnumber the live ones,
        so churn through many short-lived groups cannot grow the schedule without bound."""
        if len(self._schedule) <= 2 * len(self._groups) + 1024:
            return
        self._schedule = [entry for entry in self._schedule
                          if (group := self._groups.get(entry[2])) is not None and group.wake_at == entry[0]]
        heapq.heapify(self._schedule)


def _incident(group: _Group, status: Status, resolved_at: float | None) -> dict[str, Any]:
    return {
        "group_id": group.group_id, "status": status, "rule_id": group.labels.get("rule_id", ""),
        "severity": group.labels.get("severity", ""), "group_key": group.latest.get("group_key"),
        "labels": dict(group.labels), "count": group.count,
        "first_seen": group.first_seen, "last_seen": group.last_seen, "resolved_at": resolved_at,
        "first_trace_id": group.first_trace_id, "first_span_id": group.first_span_id,
    }


def _field(record: Mapping[str, Any], name: str) -> str:
    head, _, key = name.partition(".")
    value = record.get(head)
    if key:
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)
