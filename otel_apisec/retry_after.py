"""The `Retry-After` response header, read for every HTTP sender by `otel_apisec.delivery.retry`."""

from __future__ import annotations

import datetime
import email.utils

__all__ = ["retry_after_seconds"]


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After: 5` or an HTTP date, in seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
