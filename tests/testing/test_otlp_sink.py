"""The in-test OTLP receiver, proven with the real SDK exporters over both protocols (no mocks)."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_apisec.testing.sink import OtlpSink

RESOURCE = Resource.create({"service.name": "sink-test"})
TIMEOUT_MS = 10_000  # generous: the machine is shared and noisy


@pytest.fixture(params=["http/protobuf", "grpc"])
def sink(request: pytest.FixtureRequest) -> Iterator[OtlpSink]:
    with OtlpSink(request.param) as started:
        yield started


def _span_exporter(sink: OtlpSink, **kwargs: Any) -> Any:
    exporter_type = HttpSpanExporter if sink.protocol == "http/protobuf" else GrpcSpanExporter
    return exporter_type(endpoint=sink.signal_url("traces"), timeout=10, **kwargs)


def _metric_exporter(sink: OtlpSink) -> Any:
    exporter_type = HttpMetricExporter if sink.protocol == "http/protobuf" else GrpcMetricExporter
    return exporter_type(endpoint=sink.signal_url("metrics"), timeout=10)


def _log_exporter(sink: OtlpSink) -> Any:
    exporter_type = HttpLogExporter if sink.protocol == "http/protobuf" else GrpcLogExporter
    return exporter_type(endpoint=sink.signal_url("logs"), timeout=10)


def _tracer_provider(exporter: Any) -> TracerProvider:
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    return provider


def test_spans_arrive_decoded_with_attributes_events_and_parentage(sink: OtlpSink) -> None:
    provider = _tracer_provider(_span_exporter(sink))
    tracer = provider.get_tracer("sink.test.scope")
    with tracer.start_as_current_span("GET /users/{id}", kind=SpanKind.SERVER) as server:
        server.set_attribute("http.route", "/users/{id}")
        server.set_attribute("http.response.status_code", 403)
        server.set_attribute("apisec.attack.detected", True)
        server.set_attribute("apisec.risk.score", 0.75)
        server.set_attribute("apisec.findings", ["APISEC-001", "APISEC-002"])
        server.add_event("apisec.finding", {"security_rule.uuid": "APISEC-001", "security_rule.name": "rule one"})
        server.set_status(Status(StatusCode.ERROR, "denied"))
        with tracer.start_as_current_span("child"):
            pass
    assert provider.force_flush(TIMEOUT_MS)
    provider.shutdown()

    [span] = sink.wait_for_spans(lambda s: s.kind == "SERVER", timeout=10)
    assert span.name == "GET /users/{id}"
    assert span.attributes == {
        "http.route": "/users/{id}",
        "http.response.status_code": 403,
        "apisec.attack.detected": True,
        "apisec.risk.score": 0.75,
        "apisec.findings": ["APISEC-001", "APISEC-002"],
    }
    assert [e.name for e in span.events] == ["apisec.finding"]
    assert span.event("apisec.finding")[0].attributes == {"security_rule.uuid": "APISEC-001", "security_rule.name": "rule one"}
    assert (span.status_code, span.status_message) == ("ERROR", "denied")
    assert span.resource["service.name"] == "sink-test"
    assert span.scope == "sink.test.scope"
    assert span.parent_span_id == ""
    assert len(span.trace_id) == 32 and len(span.span_id) == 16

    [child] = sink.wait_for_spans(lambda s: s.name == "child", timeout=10)
    assert child.kind == "INTERNAL"
    assert (child.trace_id, child.parent_span_id) == (span.trace_id, span.span_id)
    assert [r.signal for r in sink.requests()] == ["traces"]


def test_raw_holds_the_decompressed_bodies(sink: OtlpSink) -> None:
    # Both exporters gzip here, so finding the planted text proves the sink decompressed before recording.
    if sink.protocol == "http/protobuf":
        exporter = _span_exporter(sink, compression=HttpCompression.Gzip)
    else:
        from grpc import Compression as GrpcCompression

        exporter = _span_exporter(sink, compression=GrpcCompression.Gzip)
    provider = _tracer_provider(exporter)
    with provider.get_tracer("raw").start_as_current_span("planted") as span:
        span.set_attribute("note", "PLANTED-needle-7f3a")
    assert provider.force_flush(TIMEOUT_MS)
    provider.shutdown()

    sink.wait_for_spans(lambda s: s.name == "planted", timeout=10)
    assert b"PLANTED-needle-7f3a" in sink.raw()
    assert b"never-sent-text" not in sink.raw()
    if sink.protocol == "http/protobuf":
        assert sink.requests()[0].headers.get("content-encoding") == "gzip"


def test_metrics_keep_the_latest_cumulative_value_per_series(sink: OtlpSink) -> None:
    reader = PeriodicExportingMetricReader(_metric_exporter(sink), export_interval_millis=3_600_000)
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("sink.test.meter")
    findings = meter.create_counter("apisec.findings")
    latency = meter.create_histogram("http.server.request.duration", unit="s")

    findings.add(2, {"http.route": "/a", "security_rule.uuid": "R1"})
    findings.add(1, {"http.route": "/b", "security_rule.uuid": "R1"})
    latency.record(0.5, {"http.route": "/a"})
    assert provider.force_flush(TIMEOUT_MS)
    sink.wait_for_metric("apisec.findings", timeout=10)

    findings.add(3, {"http.route": "/a", "security_rule.uuid": "R1"})
    latency.record(0.25, {"http.route": "/a"})
    assert provider.force_flush(TIMEOUT_MS)
    points = sink.wait_for_metric("apisec.findings", lambda p: p.value == 5, timeout=10)
    provider.shutdown()

    assert points[0].kind == "sum" and points[0].temporality == "cumulative"
    assert points[0].attributes == {"http.route": "/a", "security_rule.uuid": "R1"}
    # Two exports of the /a series (2, then 5): the total is the latest value, not 7.
    assert sink.metric_total("apisec.findings", **{"http.route": "/a"}) == 5
    assert sink.metric_total("apisec.findings") == 6
    assert sink.metric_total("apisec.findings", **{"security_rule.uuid": "R2"}) == 0
    assert sink.metric_total("http.server.request.duration") == 2  # histogram: observations
    # shutdown() exported once more, so take the newest histogram point.
    histogram_points = [p for p in sink.metric_points() if p.name == "http.server.request.duration"]
    latest_histogram = max(histogram_points, key=lambda p: p.time_unix_nano)
    assert latest_histogram.value == 2
    assert latest_histogram.kind == "histogram" and latest_histogram.histogram_sum == pytest.approx(0.75)
    assert latest_histogram.scope == "sink.test.meter"


def test_log_records_arrive_decoded(sink: OtlpSink) -> None:
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(BatchLogRecordProcessor(_log_exporter(sink), schedule_delay_millis=60_000))
    provider.get_logger("sink.test.logger").emit(
        severity_text="WARN", body="token rejected", attributes={"apisec.auth.outcome": "failure"}
    )
    assert provider.force_flush(TIMEOUT_MS)
    provider.shutdown()

    [record] = sink.log_records()
    assert (record.body, record.severity_text) == ("token rejected", "WARN")
    assert record.attributes == {"apisec.auth.outcome": "failure"}
    assert record.scope == "sink.test.logger" and record.resource["service.name"] == "sink-test"


def test_env_drives_exporters_built_without_arguments(sink: OtlpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    env = sink.env()
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == sink.endpoint and env["OTEL_EXPORTER_OTLP_PROTOCOL"] == sink.protocol
    assert {env[f"OTEL_{s}_EXPORTER"] for s in ("TRACES", "METRICS", "LOGS")} == {"otlp"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    exporter = HttpSpanExporter() if sink.protocol == "http/protobuf" else GrpcSpanExporter()
    provider = _tracer_provider(exporter)
    provider.get_tracer("env").start_span("from-env").end()
    assert provider.force_flush(TIMEOUT_MS)
    provider.shutdown()
    sink.wait_for_spans(lambda s: s.name == "from-env", timeout=10)


def test_wait_for_spans_reports_what_it_got_when_nothing_matches(sink: OtlpSink) -> None:
    provider = _tracer_provider(_span_exporter(sink))
    with provider.get_tracer("t").start_as_current_span("only-span") as span:
        span.set_attribute("marker", "m1")
    assert provider.force_flush(TIMEOUT_MS)
    provider.shutdown()
    sink.wait_for_spans(lambda s: s.name == "only-span", timeout=10)

    with pytest.raises(AssertionError, match=r"(?s)wanted 2 matching.*only-span.*'marker': 'm1'") as raised:
        sink.wait_for_spans(lambda s: s.name == "only-span", count=2, timeout=0.2)
    assert "1 matched" in str(raised.value)
    with pytest.raises(AssertionError, match="no point of metric 'absent'"):
        sink.wait_for_metric("absent", timeout=0.1)


def test_clear_forgets_everything(sink: OtlpSink) -> None:
    provider = _tracer_provider(_span_exporter(sink))
    provider.get_tracer("t").start_span("gone").end()
    assert provider.force_flush(TIMEOUT_MS)
    provider.shutdown()
    sink.wait_for_spans(lambda s: s.name == "gone", timeout=10)
    sink.clear()
    assert (sink.spans(), sink.requests(), sink.raw()) == ([], [], b"")


# -- OTLP/HTTP details the SDK exporter does not exercise -----------------------------------------------------------


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def _one_span_request(name: str) -> bytes:
    request = trace_service_pb2.ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.name = name
    span.trace_id = bytes(range(16))
    span.span_id = bytes(range(8))
    return request.SerializeToString()


def test_http_replies_with_the_export_response_and_accepts_deflate() -> None:
    with OtlpSink("http/protobuf") as sink:
        protobuf = {"Content-Type": "application/x-protobuf"}
        status, content_type, body = _post(
            sink.signal_url("traces"), zlib.compress(_one_span_request("deflated")), {**protobuf, "Content-Encoding": "deflate"}
        )
        assert (status, content_type) == (200, "application/x-protobuf")
        assert trace_service_pb2.ExportTraceServiceResponse.FromString(body) == trace_service_pb2.ExportTraceServiceResponse()
        [span] = sink.spans()
        assert (span.name, span.trace_id, span.kind) == ("deflated", bytes(range(16)).hex(), "UNSPECIFIED")

        assert _post(f"{sink.endpoint}/v1/unknown", b"", protobuf)[0] == 404
        assert _post(sink.signal_url("traces"), b"{}", {"Content-Type": "application/json"})[0] == 415
        assert _post(sink.signal_url("traces"), b"not gzip", {**protobuf, "Content-Encoding": "gzip"})[0] == 400
        assert (
            _post(sink.signal_url("traces"), gzip.compress(_one_span_request("gz")), {**protobuf, "Content-Encoding": "gzip"})[0]
            == 200
        )
        assert [s.name for s in sink.spans()] == ["deflated", "gz"]
        assert len(sink.requests()) == 2  # rejected requests are not recorded


def test_start_and_stop_without_a_with_block_and_unknown_protocols_are_refused() -> None:
    sink = OtlpSink("grpc").start()
    assert sink.endpoint.startswith("http://127.0.0.1:") and sink.endpoint != "http://127.0.0.1:0"
    sink.stop()
    assert sink.endpoint == ""
    with pytest.raises(RuntimeError):
        sink.env()
    with pytest.raises(ValueError):
        OtlpSink("http/json")
