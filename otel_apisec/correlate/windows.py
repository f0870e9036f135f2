"""Window arithmetic and argument checks that every `StateStore` shares, so the in-memory and the
Redis store cut time the same way and reject the same bad input with the same message.

A sliding window of `window_s` is cut into `buckets` buckets of `window_s / buckets` seconds. A
count or distinct set at `now` covers the buckets (b - buckets, b], where b is the bucket of `now`:
exact to one bucket (the oldest part of the window drops out a bucket at a time)."""

from __future__ import annotations

import math

COUNT_BUCKETS = 6
"""Buckets per count window: per key, six 4-byte counters in memory, six small keys in Redis."""
DISTINCT_BUCKETS = 4
"""Buckets per distinct window: a sketch keeps registers per bucket, so fewer than for counts."""
MAX_RECENT = 1000
"""Largest `limit` for `recent` (it bounds the memory of one list)."""


def bucket_of(now: float, window_s: float, buckets: int) -> int:
    """Index of the bucket holding `now` (buckets are counted from the Unix epoch)."""
    check_positive("window_s", window_s)
    if not math.isfinite(now):
        raise ValueError(f"now must be a finite number of Unix seconds, got {now!r}")
    return math.floor(now * buckets / window_s)


def check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_amount(amount: int) -> None:
    if not isinstance(amount, int) or amount < 0:
        raise ValueError(f"amount must be an int >= 0, got {amount!r}")


def check_limit(limit: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_RECENT:
        raise ValueError(f"limit must be an int from 1 to {MAX_RECENT}, got {limit!r}")
