"""Delivery to one receiver: a bounded queue keyed by group, one sender thread, retry with backoff.

The queue holds the newest state of each group: an update for a group already waiting takes its
place (and its turn), so a receiver outage costs one slot per group, and what arrives after the
outage is the current count, not a backlog of stale ones.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from otel_apisec.alerts.alert import Alert
from otel_apisec.alerts.policy import AlertPolicy
from otel_apisec.delivery import DeliveryError

__all__ = ["Delivery", "DeliveryCounters", "Receiver"]

log = logging.getLogger(__name__)

_LOG_EVERY_S = 30.0


class Receiver(Protocol):
    name: str
    """For logs and stats: never the URL's path (a Slack webhook keeps its secret there)."""
    max_batch: int
    timeout_s: float

    def send(self, alerts: Sequence[Alert], timeout_s: float) -> None:
        """Deliver `alerts` in one request or raise `DeliveryError`. (An optional `close()` is
        called when the sender stops: the built-in receivers keep a connection open.)"""


@dataclass
class DeliveryCounters:
    sent: int = 0
    retried: int = 0
    """Alerts put back in the queue after a failed attempt."""
    failed: int = 0
    """Alerts given up: refused for good (a 4xx), or still failing after `retry_for_s`."""
    dropped: int = 0
    """Alerts never (or no longer) tried: the queue was full, or still queued when close timed out."""
    superseded: int = 0
    """Queued alerts replaced by a newer state of their group before they were sent."""


class _Entry:
    __slots__ = ("alert", "failing_since")

    def __init__(self, alert: Alert) -> None:
        self.alert = alert
        self.failing_since: float | None = None


class Delivery:
    def __init__(self, receiver: Receiver, policy: AlertPolicy) -> None:
        self.receiver = receiver
        self.counters = DeliveryCounters()
        self._policy = policy
        self._retry = policy.retry_policy()
        self._pending: OrderedDict[str, _Entry] = OrderedDict()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._abandoned = False
        self._deadline = math.inf
        self._failures = 0
        """Failed attempts in a row: the backoff's exponent (one per receiver, not per alert)."""
        self._retry_at = 0.0
        self._last_log = -math.inf
        self._failing = False
        self._thread = threading.Thread(target=self._run, name=f"apisec-alerts {receiver.name}", daemon=True)
        self._thread.start()

    def stats(self) -> dict[str, int | str]:
        with self._cond:
            return {"name": self.receiver.name, **asdict(self.counters), "queue_depth": len(self._pending) + self._in_flight}

    def put(self, alert: Alert) -> None:
        """Queue `alert`; never blocks on I/O."""
        with self._cond:
            if self._stopping:
                self.counters.dropped += 1
                return
            entry = self._pending.get(alert.group_id)
            if entry is not None:
                self.counters.superseded += 1
                if alert.version > entry.alert.version:
                    entry.alert, entry.failing_since = alert, None
                return
            if len(self._pending) >= self._policy.queue_size:
                self.counters.dropped += 1
                self._log_limited("queue full (%d alerts): dropped a %s alert, %d dropped so far",
                                  len(self._pending), alert.status, self.counters.dropped)
                return
            self._pending[alert.group_id] = _Entry(alert)
            self._cond.notify()

    def stop(self, deadline: float) -> None:
        """Send what is queued until `deadline` (time.monotonic()), then stop."""
        with self._cond:
            self._stopping = True
            self._deadline = deadline
            self._cond.notify_all()

    def join(self, deadline: float) -> None:
        self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            if self._thread.is_alive():  # stuck in a request past the deadline: its result no longer counts
                self._abandoned = True
                self._drop_unsent(self._in_flight)
                self._in_flight = 0

    def _drop_unsent(self, extra: int = 0) -> None:
        unsent = len(self._pending) + extra
        if unsent:
            self.counters.dropped += unsent
            self._pending.clear()
            log.warning("alerts %s: closed with %d alert(s) unsent", self.receiver.name, unsent)

    # -- sender thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
                timeout_s = self.receiver.timeout_s
                if self._stopping:
                    timeout_s = min(timeout_s, max(0.05, self._deadline - time.monotonic()))
            if batch is None:
                self._close_receiver()
                return
            try:
                self.receiver.send([entry.alert for entry in batch], timeout_s)
            except DeliveryError as error:
                self._settle(batch, error)
            except Exception as error:  # a bug must not kill the sender: count it, go on
                log.exception("alerts %s: could not send %d alert(s)", self.receiver.name, len(batch))
                self._settle(batch, DeliveryError(f"{type(error).__name__}: {error}", retryable=False))
            else:
                self._settle(batch, None)

    def _close_receiver(self) -> None:
        close = getattr(self.receiver, "close", None)  # optional in the protocol
        if callable(close):
            try:
                close()
            except Exception:  # stopping anyway
                log.exception("alerts %s: closing the receiver failed", self.receiver.name)

    def _next_batch(self) -> list[_Entry] | None:
        """Wait (holding the condition) until a batch may be sent; None: time to stop."""
        while True:
            now = time.monotonic()
            if self._stopping and (not self._pending or now >= self._deadline):
                self._drop_unsent()
                return None
            if self._pending and now >= self._retry_at:
                break
            wake_at = self._retry_at if self._pending else math.inf
            if self._stopping:
                wake_at = min(wake_at, self._deadline)
            self._cond.wait(None if wake_at == math.inf else wake_at - now)
        size = min(self.receiver.max_batch, len(self._pending))
        batch = [self._pending.popitem(last=False)[1] for _ in range(size)]
        self._in_flight = len(batch)
        return batch

    def _settle(self, batch: list[_Entry], error: DeliveryError | None) -> None:
        with self._cond:
            if self._abandoned:
                return
            self._in_flight = 0
            counters = self.counters
            if error is None:
                counters.sent += len(batch)
                self._failures = 0
                self._retry_at = 0.0
                if self._failing:
                    self._failing = False
                    log.info("alerts %s: delivering again", self.receiver.name)
                return
            self._failing = True
            if not error.retryable:
                counters.failed += len(batch)
                self._log_limited("%s; %d alert(s) refused, %d failed so far", error, len(batch), counters.failed)
                return
            now = time.monotonic()
            for entry in reversed(batch):  # back at the front, in their order
                group_id = entry.alert.group_id
                entry.failing_since = now if entry.failing_since is None else entry.failing_since
                if group_id in self._pending:
                    counters.superseded += 1
                elif self._retry.gives_up(0, now - entry.failing_since):
                    counters.failed += 1
                else:
                    counters.retried += 1
                    self._pending[group_id] = entry
                    self._pending.move_to_end(group_id, last=False)
            delay = self._retry.delay(self._failures, error.retry_after_s)
            self._failures += 1
            self._retry_at = now + delay
            self._log_limited("%s; %d alert(s) waiting, next try in %.1f s (%d failed so far)",
                              error, len(self._pending), delay, counters.failed)

    def _log_limited(self, message: str, *args: object) -> None:
        """A failing receiver logs once per `_LOG_EVERY_S`, not once per alert."""
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY_S:
            self._last_log = now
            log.warning("alerts %s: " + message, self.receiver.name, *args)
