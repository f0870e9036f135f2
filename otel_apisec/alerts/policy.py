"""How findings become alerts: what is grouped together, how often a group is re-sent, when it
is resolved, and how hard delivery tries. The one place for the defaults (the gateway config
reads them from here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from otel_apisec.delivery import RetryPolicy
from otel_apisec.model import Severity

__all__ = ["AlertPolicy", "label_name"]

# Record fields whose label has another name (Alertmanager's and Prometheus' usual `service`).
_LABEL_NAMES = {"service_name": "service"}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def label_name(field_name: str) -> str:
    """The label a record field becomes: `subject.client` -> `subject_client`."""
    return _LABEL_NAMES.get(field_name, field_name.replace(".", "_"))


@dataclass(frozen=True)
class AlertPolicy:
    min_severity: Severity = Severity.MEDIUM
    """Findings below this severity raise no alert (per-span `low`/`info` findings page nobody)."""
    group_by: tuple[str, ...] = ()
    """Record fields that identify one incident, like Alertmanager's `group_by`; `a.b` reads key `b`
    of the dict field `a` (`subject.client`). Empty: `rule_id` + `group_key` for correlation
    findings, `rule_id` + `service_name` + `route` for per-span findings (which have no group key)."""
    repeat_interval_s: float = 300.0
    """An open group is re-sent (count, last_seen) at most this often, and only if it saw new findings."""
    resolve_after_s: float = 900.0
    """A group with no new finding for this long is resolved."""
    max_groups: int = 10_000
    """Open groups kept; past it the least recently updated one is forgotten (counted as evicted)."""
    queue_size: int = 1_000
    """Alerts waiting per receiver; past it new ones are dropped (counted). A newer state of a group
    already waiting replaces it in place, so an outage costs one slot per group, not per update."""
    retry_for_s: float = 300.0
    """How long an alert is retried (see `otel_apisec.delivery.retry` for what is) before it is given up
    (counted as failed)."""
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    """Longest wait between tries, a server's Retry-After included."""

    def __post_init__(self) -> None:
        if isinstance(self.min_severity, str):
            try:
                object.__setattr__(self, "min_severity", Severity.parse(self.min_severity))
            except ValueError as error:
                raise ValueError(f"min_severity: {error}") from None
        elif not isinstance(self.min_severity, Severity):
            raise ValueError(f"min_severity: expected a severity name, not {self.min_severity!r}")
        if isinstance(self.group_by, str) or not all(isinstance(name, str) for name in self.group_by):
            raise ValueError(f"group_by: expected a list of record field names, not {self.group_by!r}")
        object.__setattr__(self, "group_by", tuple(self.group_by))
        for name in self.group_by:
            parts = name.split(".")
            if len(parts) > 2 or not all(parts) or not set(name) <= _NAME_CHARS | {"."} or name[0].isdigit():
                raise ValueError(f"group_by: {name!r} is not a record field name (letters, digits, _; "
                                 f"at most one '.' to read a key of a dict field, as in subject.client)")
        for spec in fields(self):
            if spec.name.endswith("_s"):
                value = getattr(self, spec.name)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                    raise ValueError(f"{spec.name}: expected a positive number of seconds, not {value!r}")
        if self.max_backoff_s < self.initial_backoff_s:
            raise ValueError(f"max_backoff_s ({self.max_backoff_s}) is below initial_backoff_s ({self.initial_backoff_s})")
        for name in ("max_groups", "queue_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, not {value!r}")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.initial_backoff_s, self.max_backoff_s, max_elapsed_s=self.retry_for_s)

    @property
    def firing_ttl_s(self) -> float:
        """How long a firing alert stays valid after each send (Alertmanager's `endsAt`). The next
        send (a resend or the resolve) comes within max(repeat, resolve_after); twice that leaves
        room for a slow or retried delivery, and still ends an alert whose resolve was lost."""
        return 2 * max(self.repeat_interval_s, self.resolve_after_s)
