"""`RecentValues`: what the last analysed requests exposed, kept so their logs can be masked.

The in-process enrich processor adds to it; the log exporter masks what it holds. Both sit on
this module rather than on each other.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["RecentValues"]


class RecentValues:
    """The raw values the last analysed requests exposed, bounded (oldest forgotten first).

    In memory only, for masking logs written about those requests."""

    def __init__(self, capacity: int = 1024) -> None:
        self._values: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            for value in values:
                self._values[value] = None
                self._values.move_to_end(value)
            while len(self._values) > self._capacity:
                self._values.popitem(last=False)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._values)
