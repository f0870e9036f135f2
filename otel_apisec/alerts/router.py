"""`AlertRouter`: the `FindingSink` that turns finding records into alerts for one or more receivers.

`emit` runs on the caller's thread and does no I/O: it groups the record (a dict lookup under a
lock) and, for a new group, queues the firing alert to every receiver, whose sender thread posts
it at once (no batch timer: what queued up while a request was in flight goes in the next one).
A scheduler thread sends the re-sends and resolves as they fall due.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from otel_apisec.alerts.alert import Alert
from otel_apisec.alerts.delivery import Delivery, Receiver
from otel_apisec.alerts.grouping import AlertGrouper
from otel_apisec.alerts.policy import AlertPolicy

__all__ = ["AlertRouter"]

log = logging.getLogger(__name__)

_MAX_SLEEP_S = 60.0  # the scheduler looks again at least this often (wall-clock jumps)
_TOTALS = ("sent", "retried", "failed", "dropped", "superseded", "queue_depth")


class AlertRouter:
    """Groups findings into alerts (see `AlertPolicy`) and delivers them to `receivers`
    (`WebhookAlerter`, `AlertmanagerAlerter`, or anything with `name`, `max_batch`, `timeout_s`
    and `send(alerts, timeout_s)`). Never raises into the caller; `stats()` has the counters."""

    def __init__(self, receivers: Sequence[Receiver], policy: AlertPolicy | None = None) -> None:
        if not receivers:
            raise ValueError("alerts: at least one receiver is required")
        self.policy = policy if policy is not None else AlertPolicy()
        self._grouper = AlertGrouper(self.policy)
        self._cond = threading.Condition()
        self._closed = False
        self._wake_at = math.inf
        self.errors = 0
        """Records that could not be handled at all (not a mapping, say); logged."""
        self.late = 0
        """Records emitted after close."""
        self._deliveries = [Delivery(receiver, self.policy) for receiver in receivers]
        self.listeners: list[Callable[[Alert], None]] = []
        """Called with every alert raised, updated or resolved, before delivery (the audit trail)."""
        self._scheduler = threading.Thread(target=self._run, name="apisec-alerts-scheduler", daemon=True)
        self._scheduler.start()

    def emit(self, record: Mapping[str, Any]) -> None:
        try:
            with self._cond:
                if self._closed:
                    self.late += 1
                    return
                alert = self._grouper.add(record, time.time())
                if alert is not None:
                    self._dispatch(alert)
                if self._grouper.next_due() < self._wake_at:
                    self._cond.notify()
        except Exception as error:  # never break the host
            with self._cond:
                self.errors += 1
                errors = self.errors
            if errors == 1 or errors % 1000 == 0:
                log.warning("alerts: could not handle a finding record (%s; %d so far)", type(error).__name__, errors)

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is due and queued, for up to `timeout_s`, then stop. Open groups are not
        resolved: the gateway stopping does not end an attack (Alertmanager lets them lapse at endsAt)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            if self._closed:
                return
            self._closed = True
            for alert in self._grouper.due(time.time()):
                self._dispatch(alert)
            self._cond.notify_all()
        self._scheduler.join(max(0.0, deadline - time.monotonic()))
        for delivery in self._deliveries:
            delivery.stop(deadline)
        for delivery in self._deliveries:
            delivery.join(deadline)

    def stats(self) -> dict[str, Any]:
        """Grouping counters, delivery totals over all receivers, and `receivers` (one dict each)."""
        with self._cond:
            grouping = {**asdict(self._grouper.counters), "open_groups": self._grouper.open_groups,
                        "errors": self.errors, "late": self.late}
        receivers = [delivery.stats() for delivery in self._deliveries]
        totals = {name: sum(int(r[name]) for r in receivers) for name in _TOTALS}
        return {**grouping, **totals, "receivers": receivers}

    def incidents(self) -> list[dict[str, Any]]:
        """Open alert groups and the recently resolved ones (`AlertGrouper.incidents`), for the console."""
        with self._cond:
            return self._grouper.incidents()

    def _dispatch(self, alert: Alert) -> None:
        # Under the router's lock, so each receiver queues a group's alerts in the order they were made.
        for listener in self.listeners:
            try:
                listener(alert)
            except Exception:  # a failing listener must not stop delivery
                self.errors += 1
                log.exception("alerts: a listener failed")
        for delivery in self._deliveries:
            delivery.put(alert)

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                for alert in self._grouper.due(time.time()):
                    self._dispatch(alert)
                self._wake_at = self._grouper.next_due()
                self._cond.wait(min(max(0.0, self._wake_at - time.time()), _MAX_SLEEP_S))
