"""Security metrics of the traffic the gateway saw: findings by rule, severity and route, auth
outcomes by route, open alerts. The processors tally as they go; the Prometheus endpoint reads
the tallies at scrape time (`selfmetrics.py`), and the OpenTelemetry metrics API reports them
into the gateway's own metrics pipelines (`security_meter_provider`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from otel_apisec import attributes as A
from otel_apisec.correlate.ids import route_template
from otel_apisec.gateway.api import QueueFullError

__all__ = ["EXPORT_INTERVAL_S", "SecurityTally", "security_meter_provider"]

EXPORT_INTERVAL_S = 60.0
"""How often the security metrics go into the metrics pipelines (the OTel SDK's default interval)."""
SERVICE_NAME = "otel-apisec-gateway"

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


class _PipelineExporter(MetricExporter):
    """Hands what the SDK collected to the gateway's own metrics pipelines, as an OTLP request."""

    def __init__(self, consume: Callable[[ExportMetricsServiceRequest], None]) -> None:
        super().__init__()
        self._consume = consume

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        try:
            self._consume(encode_metrics(metrics_data))
        except QueueFullError:
            return MetricExportResult.FAILURE  # cumulative counters: the next collection carries the counts
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def security_meter_provider(
    tally: SecurityTally,
    alerts_active: Callable[[], int],
    consume: Callable[[ExportMetricsServiceRequest], None],
    interval_s: float = EXPORT_INTERVAL_S,
) -> MeterProvider:
    """The security metrics through the OpenTelemetry metrics API, with the names and attributes
    in-process enrichment uses (`apisec.findings`, `apisec.auth.outcomes`) plus `apisec.alerts.active`,
    collected every `interval_s` and at shutdown into the gateway's metrics pipelines, so the
    backend gets them like an app's metrics."""

    def findings(options: CallbackOptions) -> Iterable[Observation]:
        counts, _ = tally.snapshot()
        return [Observation(count, {A.RULE_ID: rule_id, A.FINDING_KIND: kind, A.FINDING_SEVERITY: severity,
                                    **({A.HTTP_ROUTE: route} if route else {})})
                for (rule_id, kind, severity, route), count in counts.items()]

    def auth_outcomes(options: CallbackOptions) -> Iterable[Observation]:
        _, counts = tally.snapshot()
        return [Observation(count, {A.AUTH_OUTCOME: outcome, A.AUTH_SCHEME: scheme, **({A.HTTP_ROUTE: route} if route else {})})
                for (route, outcome, scheme), count in counts.items()]

    reader = PeriodicExportingMetricReader(_PipelineExporter(consume), export_interval_millis=interval_s * 1000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": SERVICE_NAME}))
    meter = provider.get_meter("otel_apisec.gateway")
    meter.create_observable_counter(A.METRIC_FINDINGS, [findings], unit="{finding}",
                                    description="Findings by rule, kind, severity and route, per request and across requests")
    meter.create_observable_counter(A.METRIC_AUTH_OUTCOMES, [auth_outcomes], unit="{request}",
                                    description="Authentication outcomes by route")
    meter.create_observable_gauge(A.METRIC_ALERTS_ACTIVE, [lambda options: [Observation(alerts_active())]],
                                  unit="{alert}", description="Alert groups open (firing, not yet resolved)")
    return provider
