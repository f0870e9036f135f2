"""Security metrics of the traffic the gateway saw: findings by rule, severity, service and route,
auth outcomes by service and route, detector failures, open alerts. The processors tally as they go; the Prometheus
endpoint reads the tallies at scrape time (`selfmetrics.py`), and the OpenTelemetry metrics API
reports them into the gateway's own metrics pipelines (`security_meter_provider`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.metrics import Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from otel_apisec import attributes as A
from otel_apisec.correlate.ids import route_template
from otel_apisec.gateway.api import QueueFullError
from otel_apisec.sdk.telemetry import AttributeKey, Tally

if TYPE_CHECKING:
    from otel_apisec.estate.inventory import Estate

__all__ = ["EXPORT_INTERVAL_S", "SPEC_STATUSES", "SecurityTally", "ServiceFigures", "estate_figures",
           "security_meter_provider"]

log = logging.getLogger(__name__)

SPEC_STATUSES = ("documented", "shadow", "zombie", "orphan", "unknown")
"""`spec_status` label values: `unknown` for a service without a spec."""

EXPORT_INTERVAL_S = 60.0
"""How often the security metrics go into the metrics pipelines (the OTel SDK's default interval)."""
SERVICE_NAME = "otel-apisec-gateway"

MAX_SERIES = 10_000
"""Attribute sets kept per metric; beyond it new ones count under route and service `_other` (a
flood of odd routes, or of service names, must not grow the gateway's memory or the scrape without bound)."""


class SecurityTally:
    """What the processors saw, by the attributes in-process enrichment's metrics use."""

    def __init__(self, max_series: int = MAX_SERIES) -> None:
        self.findings = Tally(max_series)
        """security_rule.uuid, apisec.finding.kind, apisec.finding.severity, service.name, http.route -> findings."""
        self.auth_outcomes = Tally(max_series)
        """service.name, http.route, apisec.auth.outcome, apisec.auth.scheme -> analysed requests."""
        self.detector_failures = Tally(max_series)
        """apisec.detector, apisec.failure.reason -> analysed requests that lost a detector or one of
        its steps (`tokens.window`): `raised`, or `time_budget` when skipped."""
        self.estates: list[Callable[[], Estate]] = []
        """Snapshots of each inventory (cached by their processor): the estate metrics read them."""
        self._figures: dict[int, tuple[Estate, list[ServiceFigures]]] = {}

    def add_estate(self, snapshot: Callable[[], Estate]) -> None:
        """An inventory whose estate the metrics report (`apisec/inventory` registers itself)."""
        self.estates.append(snapshot)

    def estate(self) -> list[ServiceFigures]:
        """Per service: endpoints by spec status, unauthenticated endpoints, grade score. Never raises
        (a failing inventory is logged and left out of this collection)."""
        figures: list[ServiceFigures] = []
        for index, snapshot in enumerate(self.estates):
            try:
                estate = snapshot()
                cached = self._figures.get(index)
                if cached is None or cached[0] is not estate:  # the same cached snapshot: the same figures
                    cached = self._figures[index] = (estate, estate_figures(estate))
                figures.extend(cached[1])
            except Exception:  # a metric read must not fail the scrape or the export
                log.exception("reading the estate for its metrics failed")
        return figures

    @staticmethod
    def where(service: str, route: str | None) -> AttributeKey:
        """The service and route attributes: the span's resource `service.name` and the route's
        template (IDs as `{id}`), each left out when unknown (empty)."""
        return (((A.SERVICE, service),) if service else ()) + (((A.HTTP_ROUTE, route_template(route)),) if route else ())

    def finding(self, rule_id: str, kind: str, severity: str, where: AttributeKey) -> None:
        """One finding, `where` from `where(service, route)`."""
        self.findings.add([((A.RULE_ID, rule_id), (A.FINDING_KIND, kind), (A.FINDING_SEVERITY, severity), *where)])

    def auth_outcome(self, where: AttributeKey, outcome: str, scheme: str) -> None:
        """One analysed request's auth outcome, `where` from `where(service, route)`."""
        self.auth_outcomes.add([(*where, (A.AUTH_OUTCOME, outcome), (A.AUTH_SCHEME, scheme))])

    def detector_failed(self, failed: list[str], skipped: list[str]) -> None:
        """One analysis's `failed` and `skipped` detectors; the same attributes as in-process telemetry."""
        self.detector_failures.add([((A.DETECTOR, name), (A.FAILURE_REASON, "raised")) for name in failed]
                                   + [((A.DETECTOR, name), (A.FAILURE_REASON, "time_budget")) for name in skipped])


@dataclass
class ServiceFigures:
    service: str
    endpoints: dict[str, int] = field(default_factory=dict)
    """spec_status (`SPEC_STATUSES`) -> endpoints."""
    unauthenticated: int = 0
    score: float | None = None
    """The governance score, None when governance is not available."""


def estate_figures(estate: Estate) -> list[ServiceFigures]:
    """The estate metrics of a snapshot."""
    scores = _scores(estate)
    figures = []
    for service in estate.services:
        figure = ServiceFigures(service.service, dict.fromkeys(SPEC_STATUSES, 0), score=scores.get(service.service))
        for endpoint in service.endpoints:
            figure.endpoints[endpoint.spec_status or "unknown"] = figure.endpoints.get(endpoint.spec_status or "unknown", 0) + 1
            if endpoint.record.unauthenticated_success > 0:
                figure.unauthenticated += 1
        figures.append(figure)
    return figures


def _scores(estate: Estate) -> dict[str, float]:
    try:
        from otel_apisec.estate.governance import assess
    except ImportError:  # governance not built in: no score metric
        return {}
    governance = assess(estate)
    scores = {}
    for service in estate.services:
        grade = governance.service(service.service)
        if grade is not None:
            scores[service.service] = float(grade.score)
    return scores


def _estate_observations(tally: SecurityTally) -> Iterator[tuple[str, dict[str, str], float]]:
    """(metric name, attributes, value) of the estate metrics now."""
    for figure in tally.estate():
        service = {A.SERVICE: figure.service}
        for status, count in figure.endpoints.items():
            yield A.METRIC_ESTATE_ENDPOINTS, {**service, A.ESTATE_SPEC_STATUS: status}, count
        yield A.METRIC_ESTATE_UNAUTHENTICATED, service, figure.unauthenticated
        if figure.score is not None:
            yield A.METRIC_ESTATE_GRADE_SCORE, service, figure.score


def _estate_callback(tally: SecurityTally, name: str) -> Callable[[Any], list[Observation]]:
    def observe(options: Any) -> list[Observation]:
        return [Observation(value, attributes) for metric, attributes, value in _estate_observations(tally)
                if metric == name]
    return observe


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
    in-process enrichment uses (`apisec.findings`, `apisec.auth.outcomes`, `apisec.detector.failures`)
    plus `apisec.alerts.active`, collected every `interval_s` and at shutdown into the gateway's
    metrics pipelines, so the backend gets them like an app's metrics. Findings and auth outcomes
    also carry the monitored service as the data point attribute `service.name`: in-process the
    app's resource carries it, here the resource is the gateway's own."""

    reader = PeriodicExportingMetricReader(_PipelineExporter(consume), export_interval_millis=interval_s * 1000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": SERVICE_NAME}))
    meter = provider.get_meter("otel_apisec.gateway")
    meter.create_observable_counter(A.METRIC_FINDINGS, [tally.findings.observe], unit="{finding}",
                                    description="Findings by rule, kind, severity, service and route, "
                                    "per request and across requests")
    meter.create_observable_counter(A.METRIC_AUTH_OUTCOMES, [tally.auth_outcomes.observe], unit="{request}",
                                    description="Authentication outcomes by service and route")
    meter.create_observable_counter(A.METRIC_DETECTOR_FAILURES, [tally.detector_failures.observe], unit="{failure}",
                                    description="Detectors or detector steps that raised or ran out of time budget on a request")
    meter.create_observable_gauge(A.METRIC_ALERTS_ACTIVE, [lambda options: [Observation(alerts_active())]],
                                  unit="{alert}", description="Alert groups open (firing, not yet resolved)")
    meter.create_observable_gauge(A.METRIC_ESTATE_ENDPOINTS, [_estate_callback(tally, A.METRIC_ESTATE_ENDPOINTS)],
                                  unit="{endpoint}", description="API endpoints per service and spec status "
                                  "(documented, shadow, zombie, orphan; unknown without a spec)")
    meter.create_observable_gauge(A.METRIC_ESTATE_UNAUTHENTICATED,
                                  [_estate_callback(tally, A.METRIC_ESTATE_UNAUTHENTICATED)], unit="{endpoint}",
                                  description="Endpoints per service that answered a call without credentials successfully")
    meter.create_observable_gauge(A.METRIC_ESTATE_GRADE_SCORE, [_estate_callback(tally, A.METRIC_ESTATE_GRADE_SCORE)],
                                  unit="1", description="Governance score per service, 0-100")
    return provider
