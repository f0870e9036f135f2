"""Alerts as a Slack message (incoming webhook, or any Slack-compatible receiver: Mattermost,
Rocket.Chat): `{"text": ..., "blocks": [...]}` with one section per alert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otel_apisec.alerts.alert import Alert, clip
from otel_apisec.correlate.api import iso_time
from otel_apisec.findings import owasp_category

__all__ = ["MAX_ALERTS_PER_MESSAGE", "slack_message"]

MAX_ALERTS_PER_MESSAGE = 10
"""Two blocks an alert, under Slack's 50 blocks a message."""
_SECTION_CHARS = 2900  # Slack: 3000 per text object
_FIELD_CHARS = 1900  # Slack: 2000 per field
_ICONS = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}


def escape(text: str) -> str:
    """Slack mrkdwn control characters: a route or message cannot become a link or an @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(alerts: Sequence[Alert]) -> dict[str, Any]:
    if not 0 < len(alerts) <= MAX_ALERTS_PER_MESSAGE:
        raise ValueError(f"a Slack message carries 1 to {MAX_ALERTS_PER_MESSAGE} alerts, not {len(alerts)}")
    blocks: list[dict[str, Any]] = []
    for alert in alerts:
        blocks.extend(_blocks(alert))
    return {"text": "\n".join(_headline(alert) for alert in alerts), "blocks": blocks}


def _headline(alert: Alert) -> str:
    """The plain-text line (notifications, and clients without blocks)."""
    where = " ".join(f"{name} {alert.labels[name]}" for name in ("service", "route") if alert.labels.get(name))
    findings = "finding" if alert.count == 1 else "findings"
    line = (f"{_ICONS[alert.status]} [{alert.status.upper()}] {alert.labels.get('severity', '').upper()} "
            f"{alert.summary} ({alert.labels['rule_id']}): {alert.count} {findings}" + (f", {where}" if where else ""))
    return clip(escape(line), _SECTION_CHARS)


def _blocks(alert: Alert) -> list[dict[str, Any]]:
    rule = alert.rule
    facts = {
        "Service": alert.labels.get("service", ""),
        "Route": " ".join(filter(None, (str(alert.latest.get("method", "")), alert.labels.get("route", "")))),
        "Findings": str(alert.count),
        "OWASP": owasp_category(rule["owasp"], rule["owasp_title"]),
        "First seen": iso_time(alert.first_seen),
        "Last seen": iso_time(alert.last_seen),
        "Trace": str(alert.latest.get("trace_id", "")),
        "CWE": rule["cwe"],
    }
    fields = [{"type": "mrkdwn", "text": clip(escape(f"*{name}*\n{value}"), _FIELD_CHARS)}
              for name, value in facts.items() if value]
    heading = f"{_ICONS[alert.status]} *[{alert.status.upper()}] {alert.labels.get('severity', '').upper()}* {alert.summary}"
    text = clip(escape(f"{heading}\n{alert.latest.get('message', '')}"), _SECTION_CHARS)
    context = clip(escape(f"rule {alert.labels['rule_id']} · group {alert.group_id}"), _FIELD_CHARS)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}, "fields": fields[:10]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
