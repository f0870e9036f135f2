"""A detector (or detector step) that fails in the gateway is counted: on the Prometheus endpoint
and in the OTLP metrics the gateway emits, by detector name, not only on the span. Findings and
auth outcomes are counted per service on both paths."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from otel_apisec import attributes as A
from otel_apisec.detect import tokens as tokens_module
from otel_apisec.detect.api import DetectContext
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.config import parse_config
from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor
from otel_apisec.gateway.security_metrics import security_meter_provider
from otel_apisec.gateway.selfmetrics import GatewayCollector
from otel_apisec.gateway.service import Gateway
from otel_apisec.model import Finding, HttpExchange

CONFIG = {
    "receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:0"}}}},
    "processors": {"apisec/enrich": {}},
    "exporters": {"console": {}},
    "service": {"telemetry": {"metrics": {"address": "off"}}, "pipelines": {
        "traces": {"receivers": ["otlp"], "processors": ["apisec/enrich"], "exporters": ["console"]},
        "metrics": {"receivers": ["otlp"], "exporters": ["console"]},
    }},
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


ALG_NONE_JWT = ".".join((_b64(b'{"alg":"none"}'), _b64(json.dumps({"sub": "u", "exp": 4102444800}).encode()), ""))


def _request(*services: str) -> ExportTraceServiceRequest:
    """One span with an alg-none JWT (APISEC-TOK-001) per service, each under its own resource
    (`service.name`); one span without a resource service when none is given."""
    attributes: dict[str, str | int] = {
        "http.request.method": "GET", "url.scheme": "https", "url.path": "/api/orders/4711", "http.route": "/api/orders/{id}",
        "server.address": "shop.example", "http.response.status_code": 200}
    span = Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="GET /api/orders", kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=1, end_time_unix_nano=2,
                attributes=[KeyValue(key=k, value=AnyValue(string_value=v) if isinstance(v, str) else AnyValue(int_value=v))
                            for k, v in attributes.items()])
    header = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=f"Bearer {ALG_NONE_JWT}")]))
    span.attributes.append(KeyValue(key="http.request.header.authorization", value=header))
    request = ExportTraceServiceRequest()
    for service in services or ("",):
        resource_spans = request.resource_spans.add()
        if service:
            resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
        resource_spans.scope_spans.add().spans.append(span)
    return request


class _Raising:
    name = "posture"

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterator[Finding]:
        raise RuntimeError("a detector bug")


def _otlp_points(requests: list[ExportMetricsServiceRequest], name: str) -> dict[tuple[tuple[str, str], ...], int]:
    points: dict[tuple[tuple[str, str], ...], int] = {}
    for request in requests:
        for metrics in request.resource_metrics:
            for scope in metrics.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.sum.data_points:
                            key = tuple(sorted((kv.key, kv.value.string_value) for kv in point.attributes))
                            points[key] = point.as_int
    return points


def test_failed_detectors_and_steps_are_counted_on_both_metric_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole detector that raises and a tokens step that raises are each counted once per span,
    by name, on `/metrics` and through OTLP; the span keeps the findings the rest produced."""
    gateway = Gateway(parse_config(CONFIG))
    enrich = gateway.processors["apisec/enrich"]
    assert isinstance(enrich, EnrichProcessor)
    enrich.analyzer.exchange_detectors = [_Raising() if d.name == "posture" else d for d in enrich.analyzer.exchange_detectors]

    def overflow(token: object, ctx: object) -> Iterator[object]:
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(tokens_module, "_CHECKS", tuple(
        (step, overflow if step == "tokens.window" else check) for step, check in tokens_module._CHECKS))

    request = _request()
    enrich.process(Signal.TRACES, request)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    attributes = {kv.key: kv.value for kv in span.attributes}
    assert [v.string_value for v in attributes[A.DETECTORS_FAILED].array_value.values] == ["posture", "tokens.window"]
    assert "APISEC-TOK-001" in [v.string_value for v in attributes[A.FINDINGS].array_value.values]
    assert enrich.errors == 0

    registry = CollectorRegistry()
    registry.register(GatewayCollector(gateway))
    scrape = generate_latest(registry).decode()
    assert 'otel_apisec_detector_failures_total{detector="tokens.window",reason="raised"} 1.0' in scrape
    assert 'otel_apisec_detector_failures_total{detector="posture",reason="raised"} 1.0' in scrape

    exported: list[ExportMetricsServiceRequest] = []
    provider = security_meter_provider(gateway.security, lambda: 0, exported.append, interval_s=3600)
    provider.force_flush()
    provider.shutdown()
    assert _otlp_points(exported, A.METRIC_DETECTOR_FAILURES) == {
        ((A.DETECTOR, "posture"), (A.FAILURE_REASON, "raised")): 1,
        ((A.DETECTOR, "tokens.window"), (A.FAILURE_REASON, "raised")): 1,
    }


def test_findings_and_auth_outcomes_are_counted_per_service_on_both_metric_paths() -> None:
    """Spans of two services (their resource's `service.name`) count under their own `service`
    label on `/metrics` and `service.name` attribute through OTLP; a span whose resource has no
    service name counts without one (an empty label)."""
    gateway = Gateway(parse_config(CONFIG))
    enrich = gateway.processors["apisec/enrich"]
    enrich.process(Signal.TRACES, _request("shop", "billing", "shop"))
    enrich.process(Signal.TRACES, _request())

    registry = CollectorRegistry()
    registry.register(GatewayCollector(gateway))
    samples = {(family.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in text_string_to_metric_families(generate_latest(registry).decode())
               for sample in family.samples if sample.name.endswith("_total")}
    findings = {dict(labels)["service"]: value for (name, labels), value in samples.items()
                if name == "otel_apisec_findings" and dict(labels)["rule_id"] == "APISEC-TOK-001"}
    assert findings == {"shop": 2.0, "billing": 1.0, "": 1.0}
    found = next(dict(labels) for (name, labels), _ in samples.items()
                 if name == "otel_apisec_findings" and dict(labels)["service"] == "billing")
    assert set(found) == {"rule_id", "kind", "severity", "service", "route"} and found["route"] == "/api/orders/{id}"
    outcomes: dict[str, float] = {}
    for (name, labels), value in samples.items():
        if name == "otel_apisec_auth_outcomes":
            outcomes[dict(labels)["service"]] = outcomes.get(dict(labels)["service"], 0.0) + value
    assert outcomes == {"shop": 2.0, "billing": 1.0, "": 1.0}

    exported: list[ExportMetricsServiceRequest] = []
    provider = security_meter_provider(gateway.security, lambda: 0, exported.append, interval_s=3600)
    provider.force_flush()
    provider.shutdown()
    per_service: dict[str | None, int] = {}
    for key, count in _otlp_points(exported, A.METRIC_FINDINGS).items():
        if (A.RULE_ID, "APISEC-TOK-001") in key:
            service = dict(key).get(A.SERVICE)
            per_service[service] = per_service.get(service, 0) + count
    assert per_service == {"shop": 2, "billing": 1, None: 1}
    auth_services = {dict(key).get(A.SERVICE) for key in _otlp_points(exported, A.METRIC_AUTH_OUTCOMES)}
    assert auth_services == {"shop", "billing", None}
    gateway.shutdown(1.0)
