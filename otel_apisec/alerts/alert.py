"""One alert as receivers see it: the state of a group of findings at one moment.

The generic JSON shape (`Alert.to_json`, the webhook's `json` format) is the documented contract;
the Alertmanager and Slack payloads are built from the same labels and annotations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from otel_apisec.correlate.api import iso_time
from otel_apisec.detect.rule import OWASP
from otel_apisec.findings import RECORD_KEYS, owasp_category
from otel_apisec.model import clean_text

__all__ = ["Alert", "Status"]

Status = Literal["firing", "resolved"]

# Bounds on what a finding puts into an alert: a route is the raw path when no template is known,
# so it can be attacker-sized.
MAX_LABEL_CHARS = 1024
MAX_TEXT_CHARS = 2048
# Copied from a finding record into an alert (every key of the one record shape), the rest left out.
_RECORD_KEYS = tuple(sorted(RECORD_KEYS))


def clip(text: Any, limit: int) -> str:
    text = clean_text("" if text is None else str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trim_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a finding record an alert shows (a copy: the caller may reuse its dict). Lone
    surrogates are replaced: a JSON encoder refuses them, and one would fail a whole batch."""
    return {key: clean_text(value) if isinstance(value, str) else value
            for key in _RECORD_KEYS if (value := record.get(key)) is not None}


@dataclass(frozen=True, slots=True)
class Alert:
    group_id: str
    """Stable ID of the group (a hash of its group-by values): receivers may deduplicate on it."""
    status: Status
    labels: dict[str, str]
    """Identity of the alert, fixed by the group's first finding (Alertmanager keys alerts on them)."""
    count: int
    """Findings in the group so far."""
    first_seen: float
    last_seen: float
    ends_at: float
    """Resolved: when. Firing: when the alert lapses unless re-sent (Alertmanager's endsAt)."""
    first_trace_id: str
    first_span_id: str
    latest: dict[str, Any]
    """The group's latest finding record (trimmed): its trace and span IDs, message, subject, evidence."""
    version: int
    """Grows with each alert of the group: the newest state wins in a receiver's queue."""

    @property
    def rule(self) -> dict[str, str]:
        latest = self.latest
        owasp = str(latest.get("owasp", ""))
        return {
            "id": str(latest.get("rule_id", "")),
            "kind": str(latest.get("kind", "")),
            "name": str(latest.get("rule_name", "")),
            "severity": self.labels.get("severity", ""),
            "owasp": owasp,
            "owasp_title": str(latest.get("owasp_title") or OWASP.get(owasp, "")),
            "cwe": str(latest.get("cwe", "")),
        }

    @property
    def summary(self) -> str:
        return clip(self.latest.get("rule_name") or self.labels["alertname"], MAX_TEXT_CHARS)

    @property
    def description(self) -> str:
        message = self.latest.get("message") or self.summary
        findings = "finding" if self.count == 1 else "findings"
        return clip(f"{message} ({self.count} {findings} since {iso_time(self.first_seen)})", MAX_TEXT_CHARS)

    def annotations(self) -> dict[str, str]:
        """Alertmanager annotations (all strings)."""
        rule = self.rule
        notes = {
            "summary": self.summary,
            "description": self.description,
            "owasp": owasp_category(rule["owasp"], rule["owasp_title"]),
            "cwe": rule["cwe"],
            "count": str(self.count),
            "first_seen": iso_time(self.first_seen),
            "last_seen": iso_time(self.last_seen),
            "trace_id": str(self.latest.get("trace_id", "")),
            "span_id": str(self.latest.get("span_id", "")),
            "first_trace_id": self.first_trace_id,
        }
        for key in ("subject", "evidence"):
            if self.latest.get(key):
                notes[key] = clip(orjson.dumps(self.latest[key], default=str).decode(), MAX_TEXT_CHARS)
        return {key: value for key, value in notes.items() if value}

    def to_json(self) -> dict[str, Any]:
        """The generic webhook shape (see the alerts README section)."""
        latest = self.latest
        return {
            "status": self.status,
            "group": self.group_id,
            "labels": dict(self.labels),
            "annotations": self.annotations(),
            "count": self.count,
            "first_seen": iso_time(self.first_seen),
            "last_seen": iso_time(self.last_seen),
            "ends_at": iso_time(self.ends_at),
            "rule": self.rule,
            "message": clip(latest.get("message", ""), MAX_TEXT_CHARS),
            "trace_id": latest.get("trace_id", ""),
            "span_id": latest.get("span_id", ""),
            "first_trace_id": self.first_trace_id,
            "first_span_id": self.first_span_id,
            "subject": latest.get("subject") or {},
            "evidence": latest.get("evidence") or {},
        }
