"""Security metrics of the traffic the gateway saw: findings by rule, severity and route, and auth
outcomes by route. The processors tally as they go; the Prometheus endpoint reads the tallies
at scrape time (`selfmetrics.py`)."""

from __future__ import annotations

import threading
from collections import Counter

from otel_apisec.correlate.ids import route_template

__all__ = ["SecurityTally"]

MAX_SERIES = 10_000
"""Label sets kept per metric; beyond it new ones count under route `_other` (a flood of odd
routes must not grow the gateway's memory or the scrape without bound)."""
OTHER_ROUTE = "_other"


class SecurityTally:
    def __init__(self, max_series: int = MAX_SERIES) -> None:
        self.findings: Counter[tuple[str, str, str, str]] = Counter()
        """(rule_id, kind, severity, route) -> findings."""
        self.auth_outcomes: Counter[tuple[str, str, str]] = Counter()
        """(route, outcome, scheme) -> analysed requests."""
        self._max_series = max_series
        self._lock = threading.Lock()

    @staticmethod
    def route(route: str | None) -> str:
        """The label for a route: its template (IDs as `{id}`), or empty when unknown."""
        return route_template(route) if route else ""

    def finding(self, rule_id: str, kind: str, severity: str, route: str) -> None:
        with self._lock:
            key = (rule_id, kind, severity, route)
            if key not in self.findings and len(self.findings) >= self._max_series:
                key = (rule_id, kind, severity, OTHER_ROUTE)
            self.findings[key] += 1

    def auth_outcome(self, route: str, outcome: str, scheme: str) -> None:
        with self._lock:
            key = (route, outcome, scheme)
            if key not in self.auth_outcomes and len(self.auth_outcomes) >= self._max_series:
                key = (OTHER_ROUTE, outcome, scheme)
            self.auth_outcomes[key] += 1

    def snapshot(self) -> tuple[dict[tuple[str, str, str, str], int], dict[tuple[str, str, str], int]]:
        with self._lock:
            return dict(self.findings), dict(self.auth_outcomes)
