"""otel-apisec's own metrics, through the OpenTelemetry metrics API.

Per-request counts (findings, auth outcomes, skipped detectors) are tallied in a dict and
reported by observable counters when the SDK collects: one dict increment per finding instead
of one `Counter.add` (several microseconds each) on every request. Rare events use plain
counters. Instruments come from the global meter provider (a proxy until the SDK sets one), so
the processor can be built before the configurator installs metrics.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from otel_apisec import attributes as A
from otel_apisec.detect import Analysis

__all__ = ["OTHER_ROUTE", "ApisecMetrics", "AttributeKey", "Tally"]

AttributeKey = tuple[tuple[str, str], ...]
"""An attribute set as (name, value) pairs, in a fixed order."""
OTHER_ROUTE = "_other"
"""The route (and service) of attribute sets beyond a tally's `max_series`."""
UNBOUNDED: frozenset[str] = frozenset({A.HTTP_ROUTE, A.SERVICE})
"""Attributes whose values the traffic chooses (routes by requests, services by senders): past
`max_series` they count as `_other`. The others (rule, kind, severity, outcome) are bounded by the code."""


class Tally:
    """Cumulative counts by attribute set, read by an observable counter's callback (or a scrape).

    With `max_series`, a new attribute set past that many counts under `http.route` (and
    `service.name`, where it has one) `_other`: those are the attributes the traffic chooses, and
    must not grow memory without bound. The series past the cap are then at most one per
    combination of the other attributes."""

    def __init__(self, max_series: int | None = None) -> None:
        self._counts: Counter[AttributeKey] = Counter()
        self._max_series = max_series
        self._lock = threading.Lock()

    def add(self, keys: Iterable[AttributeKey]) -> None:
        with self._lock:
            if self._max_series is None:
                self._counts.update(keys)
                return
            for key in keys:
                if key not in self._counts and len(self._counts) >= self._max_series:
                    key = tuple((name, OTHER_ROUTE if name in UNBOUNDED else value) for name, value in key)
                self._counts[key] += 1

    def snapshot(self) -> dict[AttributeKey, int]:
        with self._lock:
            return dict(self._counts)

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(count, dict(key)) for key, count in self.snapshot().items()]


class ApisecMetrics:
    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        meter = metrics.get_meter("otel_apisec", meter_provider=meter_provider)
        self._findings, self._auth, self._failures = Tally(), Tally(), Tally()
        meter.create_observable_counter(
            A.METRIC_FINDINGS, [self._findings.observe], unit="{finding}",
            description="Findings by rule, route and severity")
        meter.create_observable_counter(
            A.METRIC_AUTH_OUTCOMES, [self._auth.observe], unit="{request}",
            description="Authentication outcomes by route")
        meter.create_observable_counter(
            A.METRIC_DETECTOR_FAILURES, [self._failures.observe], unit="{failure}",
            description="Detectors skipped on a request because they raised or ran out of time budget")
        self.unanalyzed = meter.create_counter(
            A.METRIC_UNANALYZED, unit="{span}",
            description="Server spans exported redacted but without analysis (queue full, error)")
        self.internal_errors = meter.create_counter(
            A.METRIC_INTERNAL_ERRORS, unit="{error}",
            description="Failures inside otel-apisec itself; the request was served unchanged")

    def record(self, analysis: Analysis, route: str | None) -> None:
        where: AttributeKey = ((A.HTTP_ROUTE, route),) if route else ()
        self._auth.add([(*where, (A.AUTH_OUTCOME, analysis.auth.outcome.value), (A.AUTH_SCHEME, analysis.auth.scheme.value))])
        if analysis.findings:
            self._findings.add(
                (*where, (A.RULE_ID, f.rule_id), (A.FINDING_SEVERITY, f.severity.label)) for f in analysis.findings)
        if analysis.failed or analysis.skipped:
            self._failures.add([((A.DETECTOR, name), (A.FAILURE_REASON, "raised")) for name in analysis.failed]
                               + [((A.DETECTOR, name), (A.FAILURE_REASON, "time_budget")) for name in analysis.skipped])
