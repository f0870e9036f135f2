"""otel-apisec's own metrics, through the OpenTelemetry metrics API.

Instruments come from the global meter provider (a proxy until the SDK sets one), so the
processor can be built before the configurator installs metrics.
"""

from __future__ import annotations

from opentelemetry import metrics

from otel_apisec import attributes as A
from otel_apisec.detect import Analysis

__all__ = ["ApisecMetrics"]


class ApisecMetrics:
    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        meter = metrics.get_meter("otel_apisec", meter_provider=meter_provider)
        self.findings = meter.create_counter(
            A.METRIC_FINDINGS, unit="{finding}", description="Findings by rule, route and severity")
        self.auth_outcomes = meter.create_counter(
            A.METRIC_AUTH_OUTCOMES, unit="{request}", description="Authentication outcomes by route")
        self.detector_failures = meter.create_counter(
            A.METRIC_DETECTOR_FAILURES, unit="{failure}",
            description="Detectors skipped on a request because they raised or ran out of time budget")
        self.unanalyzed = meter.create_counter(
            A.METRIC_UNANALYZED, unit="{span}",
            description="Server spans exported redacted but without analysis (queue full, capture dropped, error)")
        self.internal_errors = meter.create_counter(
            A.METRIC_INTERNAL_ERRORS, unit="{error}",
            description="Failures inside otel-apisec itself; the request was served unchanged")

    def record(self, analysis: Analysis, route: str | None) -> None:
        where = {A.HTTP_ROUTE: route} if route else {}
        self.auth_outcomes.add(1, {**where, A.AUTH_OUTCOME: analysis.auth.outcome.value,
                                   A.AUTH_SCHEME: analysis.auth.scheme.value})
        for finding in analysis.findings:
            self.findings.add(1, {**where, A.RULE_ID: finding.rule_id, A.FINDING_SEVERITY: finding.severity.label})
        for name in analysis.failed:
            self.detector_failures.add(1, {A.DETECTOR: name, A.FAILURE_REASON: "raised"})
        for name in analysis.skipped:
            self.detector_failures.add(1, {A.DETECTOR: name, A.FAILURE_REASON: "time_budget"})
