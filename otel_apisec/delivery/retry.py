"""The one retry policy of every sender (OTLP exporter, alert receivers, OCSF webhook).

What is retried: connection errors and timeouts, and the statuses that say "later": 408 (the
server timed out waiting for the request), 429 (throttled), 502, 503, 504 (a proxy or an
overloaded server). Every other answer is final, 500 included: a 500 is what a server says when
this request broke it, so retrying re-sends a poison request, and with a queue (the OTLP exporter
retries until delivered by default) it holds up everything behind it; the OTLP spec forbids
retrying it for the same reason. Transient trouble shows as 502/503/504.

When: exponential backoff from `initial_backoff_s`, doubling, at most `max_backoff_s`, with
jitter on the upper half (senders that failed together do not retry together). A server's
`Retry-After` replaces it, capped at `max_backoff_s` (a server cannot park a sender longer than
its own longest wait) and at least `initial_backoff_s` (`Retry-After: 0` cannot make it spin).

Until: `max_elapsed_s` after the caller's start, and/or `max_retries`; None: no limit.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from otel_apisec.retry_after import retry_after_seconds

__all__ = ["RETRYABLE_STATUSES", "DeliveryError", "RetryPolicy", "retry", "status_error"]

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})

T = TypeVar("T")


class DeliveryError(Exception):
    """One attempt failed. `retryable`: worth another try; `retry_after_s`: the server's wait.
    The message names the destination by its safe form only."""

    def __init__(self, message: str, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


def status_error(where: str, status: int, text: str = "", retry_after: str | None = None) -> DeliveryError:
    """The error for a non-2xx answer, classified by the one set of retryable statuses."""
    retryable = status in RETRYABLE_STATUSES
    shown = "".join(c if c.isprintable() else " " for c in text[:200]).strip()  # the body is the server's text: one line
    return DeliveryError(f"{where}: HTTP {status}" + (f": {shown}" if shown else ""), retryable,
                         retry_after_seconds(retry_after) if retryable else None)


@dataclass(frozen=True)
class RetryPolicy:
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_elapsed_s: float | None = None
    """Give up this long after the start the caller counts from; None: no limit."""
    max_retries: int | None = None
    """Give up after this many retries; None: no limit."""

    def __post_init__(self) -> None:
        for name in ("initial_backoff_s", "max_backoff_s", "max_elapsed_s"):
            value = getattr(self, name)
            if value is None and name == "max_elapsed_s":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a number of seconds >= 0, not {value!r}")
        if self.initial_backoff_s <= 0 or self.max_backoff_s < self.initial_backoff_s:
            raise ValueError(f"initial_backoff_s must be positive and max_backoff_s ({self.max_backoff_s}) at least "
                             f"initial_backoff_s ({self.initial_backoff_s})")
        if self.max_retries is not None and (isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int)
                                             or self.max_retries < 0):
            raise ValueError(f"max_retries: expected an integer >= 0, not {self.max_retries!r}")

    def delay(self, retries: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number `retries + 1`."""
        if retry_after_s is not None:
            return min(max(retry_after_s, self.initial_backoff_s), self.max_backoff_s)
        base = min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** min(retries, 32))
        return base * random.uniform(0.5, 1.0)

    def gives_up(self, retries: int, elapsed_s: float) -> bool:
        """True once `retries` retries or `elapsed_s` seconds are as many as the policy allows."""
        return ((self.max_retries is not None and retries >= self.max_retries)
                or (self.max_elapsed_s is not None and elapsed_s >= self.max_elapsed_s))


def retry(
    send: Callable[[], T],
    policy: RetryPolicy,
    wait: Callable[[float], bool],
    on_retry: Callable[[DeliveryError, float], None] = lambda error, delay: None,
    started: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T | None:
    """`send()` until it returns, as the policy says. Raises the last `DeliveryError` when it is
    final or the policy gives up (its message then says after how many retries); returns None
    when `wait(delay)` returns True (the caller is stopping: the item is not given up, only left).
    `started` (on `clock`): where `max_elapsed_s` counts from; default now."""
    started = clock() if started is None else started
    retries = 0
    while True:
        try:
            return send()
        except DeliveryError as error:
            if not error.retryable:
                raise
            if policy.gives_up(retries, clock() - started):
                raise DeliveryError(f"{error} (gave up after {retries} retries, {clock() - started:.1f} s)",
                                    retryable=False) from None
            delay = policy.delay(retries, error.retry_after_s)
            retries += 1
            on_retry(error, delay)
            if wait(delay):
                return None
