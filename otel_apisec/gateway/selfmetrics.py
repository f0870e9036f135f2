"""The gateway's own metrics on a Prometheus `/metrics` endpoint: received, exported, dropped,
queue depth; and the security metrics of the traffic: findings and auth outcomes (by `service`, the
span's resource `service.name`, as the estate metrics), open alerts.
Read from the components' counters at scrape time, so the hot path pays nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from otel_apisec import attributes as A
from otel_apisec.gateway.receivers.otlp.base import parse_endpoint
from otel_apisec.gateway.receivers.otlp.repair import CUT_VALUE, MAX_DEPTH, REPAIRS
from otel_apisec.sdk.telemetry import Tally

if TYPE_CHECKING:
    from otel_apisec.gateway.security_metrics import SecurityTally
    from otel_apisec.gateway.service import Gateway

__all__ = ["GatewayCollector", "estate_families", "serve_metrics"]

# Exporter counter -> (metric name, help). Items are spans, metric points or log records.
_EXPORTER_COUNTERS = {
    "sent_items": ("otel_apisec_gateway_exported_items", "Items the backend accepted"),
    "dropped_items": ("otel_apisec_gateway_dropped_items", "Items given up on (non-retryable error, or shutdown timeout)"),
    "rejected_items": ("otel_apisec_gateway_rejected_items", "Items the backend reported rejected (partial success)"),
    "retried": ("otel_apisec_gateway_export_retries", "Export attempts retried after a retryable failure"),
}


class GatewayCollector(Collector):
    """Every component's counters, read through the component protocol's `stats()` (and the
    receivers' routers', which count what each receiver handed to its pipelines)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        yield from self._receivers()
        yield _repaired_values()
        yield from self._exporters()
        yield from self._processors()
        yield from self._security()

    def _receivers(self) -> Iterator[Metric]:
        accepted = CounterMetricFamily("otel_apisec_gateway_received_items", "Items accepted by a receiver",
                                       labels=["receiver", "signal"])
        refused = CounterMetricFamily("otel_apisec_gateway_refused_items", "Items refused because a queue was full",
                                      labels=["receiver", "signal"])
        families = {"received_items": accepted, "refused_items": refused}
        for router in self.gateway.routers:
            for key, count in router.stats().items():
                name, _, signal = key.partition("/")
                families[name].add_metric([router.name, signal], count)
        # What the OTLP/HTTP listeners did about floods and slow senders (gRPC core keeps its own counts).
        refused_connections = CounterMetricFamily("otel_apisec_gateway_refused_connections",
                                                  "Connections refused past max_connections (503 + Retry-After)",
                                                  labels=["receiver"])
        closed = CounterMetricFamily("otel_apisec_gateway_closed_connections", "Connections a receiver closed: "
                                     "header_timeout, body_timeout, idle_timeout, idle_evicted (to make room)",
                                     labels=["receiver", "reason"])
        for name, receiver in self.gateway.components["receivers"].items():
            for key, value in sorted(receiver.stats().items()):
                counter, _, reason = key.partition("/")
                if counter == "refused_connections":
                    refused_connections.add_metric([name], value)
                elif counter == "closed_connections":
                    closed.add_metric([name, reason], value)
        yield from (accepted, refused, refused_connections, closed)

    def _exporters(self) -> Iterator[Metric]:
        families = {key: CounterMetricFamily(name, help_text, labels=["exporter"])
                    for key, (name, help_text) in _EXPORTER_COUNTERS.items()}
        depth = GaugeMetricFamily("otel_apisec_gateway_queue_depth", "Requests waiting in an exporter's queue",
                                  labels=["exporter"])
        for name, exporter in self.gateway.components["exporters"].items():
            stats = exporter.stats()
            for key, family in families.items():
                if key in stats:
                    family.add_metric([name], stats[key])
            if "queue_depth" in stats:
                depth.add_metric([name], stats["queue_depth"])
        yield from families.values()
        yield depth

    def _processors(self) -> Iterator[Metric]:
        errors = CounterMetricFamily("otel_apisec_gateway_processor_errors",
                                     "Items a processor failed on (masked strictly, or dropped)", labels=["processor"])
        outcomes = CounterMetricFamily("otel_apisec_gateway_processor_items",
                                       "Items by processor and outcome (the filter's kept and dropped spans)",
                                       labels=["processor", "outcome"])
        for name, processor in self.gateway.components["processors"].items():
            stats = dict(processor.stats())
            errors.add_metric([name], stats.pop("errors", 0))
            for outcome, count in stats.items():
                outcomes.add_metric([name, outcome], count)
        yield errors
        yield outcomes

    def _security(self) -> Iterator[Metric]:
        """What the traffic showed: findings, auth outcomes, detector failures, open alerts."""
        security = self.gateway.security
        yield _family("otel_apisec_findings", "Findings, per request and across requests", security.findings,
                      {"rule_id": A.RULE_ID, "kind": A.FINDING_KIND, "severity": A.FINDING_SEVERITY,
                       "service": A.SERVICE, "route": A.HTTP_ROUTE})
        yield _family("otel_apisec_auth_outcomes", "Analysed requests by auth outcome", security.auth_outcomes,
                      {"service": A.SERVICE, "route": A.HTTP_ROUTE, "outcome": A.AUTH_OUTCOME, "scheme": A.AUTH_SCHEME})
        yield _family("otel_apisec_detector_failures", "Detectors or detector steps that raised or ran out of time on a request",
                      security.detector_failures, {"detector": A.DETECTOR, "reason": A.FAILURE_REASON})
        yield GaugeMetricFamily("otel_apisec_alerts_active", "Alert groups open (firing, not yet resolved)",
                                value=self.gateway.alerts_active())
        yield from estate_families(security)


def estate_families(security: SecurityTally) -> list[GaugeMetricFamily]:
    """The API estate per service, from each inventory's cached snapshot (`apisec/inventory`)."""
    endpoints = GaugeMetricFamily("otel_apisec_estate_endpoints", "API endpoints per service and spec status "
                                  "(documented, shadow, zombie, orphan; unknown without a spec)",
                                  labels=["service", "spec_status"])
    unauthenticated = GaugeMetricFamily("otel_apisec_estate_unauthenticated_endpoints",
                                        "Endpoints that answered a call without credentials successfully",
                                        labels=["service"])
    score = GaugeMetricFamily("otel_apisec_estate_grade_score", "Governance score per service, 0-100",
                              labels=["service"])
    for figure in security.estate():
        for status, count in figure.endpoints.items():
            endpoints.add_metric([figure.service, status], count)
        unauthenticated.add_metric([figure.service], figure.unauthenticated)
        if figure.score is not None:
            score.add_metric([figure.service], figure.score)
    return [endpoints, unauthenticated, score]


def _family(name: str, help_text: str, tally: Tally, labels: dict[str, str]) -> CounterMetricFamily:
    """A counter family from a tally: one Prometheus label per attribute (empty when the set lacks it)."""
    family = CounterMetricFamily(name, help_text, labels=list(labels))
    for key, count in tally.snapshot().items():
        attributes = dict(key)
        family.add_metric([str(attributes.get(attribute, "")) for attribute in labels.values()], count)
    return family


def _repaired_values() -> CounterMetricFamily:
    """Values the receivers repaired so as not to refuse a whole request for them (receivers/otlp/repair.py)."""
    family = CounterMetricFamily(
        "otel_apisec_gateway_repaired_values",
        "Values repaired instead of refusing their request: invalid_utf8 (strings with invalid UTF-8, now holding U+FFFD), "
        f"too_deep (values nested past {MAX_DEPTH} levels, now the string {CUT_VALUE!r})",
        labels=["receiver", "protocol", "signal", "reason"],
    )
    for labels, count in sorted(REPAIRS.snapshot().items()):
        family.add_metric(list(labels), count)
    return family


def serve_metrics(gateway: Gateway, address: str) -> Any:
    """Serve `/metrics` on `address` (HOST:PORT); returns the server (`.shutdown()`, `.server_address`)."""
    registry = CollectorRegistry()
    registry.register(GatewayCollector(gateway))
    host, port = parse_endpoint(address)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
