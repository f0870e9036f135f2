"""The gateway's `apisec/filter` processor: spans with a finding (and errors) always kept, the rest
sampled by trace id."""

from __future__ import annotations

import random

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.config import ConfigError, parse_config
from otel_apisec.gateway.exporters.otlp.exporter import OtlpExporter
from otel_apisec.gateway.pipeline import PipelineRunner
from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor
from otel_apisec.gateway.processors.filter.processor import FilterProcessor, trace_hash
from otel_apisec.gateway.receivers.otlp.http import HttpReceiver
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.gateway.service import build_processor
from otel_apisec.testing.sink import OtlpSink

RNG = random.Random(20240611)


def _trace_id() -> bytes:
    return RNG.randbytes(16)


def _span(trace_id: bytes, name: str = "GET /", *, finding_event: bool = False, findings: list[str] | None = None,
          error: bool = False) -> Span:
    span = Span(trace_id=trace_id, span_id=RNG.randbytes(8), name=name)
    span.attributes.append(KeyValue(key="http.route", value=AnyValue(string_value="/")))
    if findings is not None:
        values = [AnyValue(string_value=rule) for rule in findings]
        span.attributes.append(KeyValue(key=A.FINDINGS, value=AnyValue(array_value=ArrayValue(values=values))))
    if finding_event:
        span.events.add(name=A.FINDING_EVENT)
    if error:
        span.status.code = Status.STATUS_CODE_ERROR
    return span


def _request(*groups: list[Span]) -> ExportTraceServiceRequest:
    """One ResourceSpans per group, each with one ScopeSpans."""
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)]) for spans in groups])


def _names(request: ExportTraceServiceRequest | None) -> list[str]:
    if request is None:
        return []
    return [span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]


def test_findings_are_kept_at_ratio_zero_and_the_rest_dropped() -> None:
    processor = FilterProcessor(sample_ratio=0.0)
    request = _request([
        _span(_trace_id(), "event", finding_event=True),
        _span(_trace_id(), "attribute", findings=["pii.email"]),  # below event_min_severity: no event
        _span(_trace_id(), "empty findings", findings=[]),
        _span(_trace_id(), "clean"),
    ])
    assert _names(processor.process(Signal.TRACES, request)) == ["event", "attribute"]
    assert processor.stats() == {"kept": 2, "dropped": 2, "kept_for_finding": 2, "kept_for_error": 0}


def test_errors_are_kept_unless_keep_errors_is_off() -> None:
    spans = [_span(_trace_id(), "failed", error=True), _span(_trace_id(), "ok")]
    kept = FilterProcessor(sample_ratio=0.0).process(Signal.TRACES, _request(list(spans)))
    assert _names(kept) == ["failed"]
    strict = FilterProcessor(sample_ratio=0.0, keep_errors=False)
    assert strict.process(Signal.TRACES, _request(spans)) is None
    assert strict.stats()["dropped"] == 2


def test_the_decision_follows_the_trace_id() -> None:
    processor = FilterProcessor(sample_ratio=0.5, hash_seed=7)
    ids = [_trace_id() for _ in range(200)]
    decisions = {trace_id: processor.sampled(trace_id) for trace_id in ids}
    assert 0 < sum(decisions.values()) < len(ids)  # both outcomes occur, so the checks below can fail
    # Two spans of each trace, in separate requests and in separate processors (gateway replicas):
    replica = FilterProcessor(sample_ratio=0.5, hash_seed=7)
    for trace_id in ids:
        first = processor.process(Signal.TRACES, _request([_span(trace_id, "root")]))
        second = replica.process(Signal.TRACES, _request([_span(trace_id, "child")]))
        assert (first is not None) == (second is not None) == decisions[trace_id]
    # Another seed makes other decisions (a downstream sampler with its own seed is independent).
    other = FilterProcessor(sample_ratio=0.5, hash_seed=8)
    assert sum(other.sampled(trace_id) != decisions[trace_id] for trace_id in ids) > 50


def test_hash_matches_the_collectors_probabilistic_sampler() -> None:
    """The Collector's own test vectors (computeHash & 0x3fff, seed 0), so a Collector with the same
    seed and percentage makes the same decisions."""
    assert trace_hash(b"", 0) & 0x3FFF == 0x3515
    assert trace_hash(bytes(16), 0) & 0x3FFF == 0x2455


def test_a_quarter_of_random_traces_is_kept_at_ratio_one_quarter() -> None:
    processor = FilterProcessor(sample_ratio=0.25)
    requests = [_request([_span(_trace_id(), "a"), _span(_trace_id(), "b")]) for _ in range(2_000)]
    kept = sum(len(_names(processor.process(Signal.TRACES, request))) for request in requests)
    assert 0.18 * 4_000 <= kept <= 0.32 * 4_000
    assert processor.stats()["kept"] + processor.stats()["dropped"] == 4_000
    assert processor.stats()["kept"] == kept


def test_ratio_one_keeps_everything_untouched() -> None:
    processor = FilterProcessor()
    request = _request([_span(_trace_id(), "a")], [_span(_trace_id(), "b"), _span(_trace_id(), "c")])
    before = request.SerializeToString()
    assert processor.process(Signal.TRACES, request) is request and request.SerializeToString() == before
    assert processor.stats() == {"kept": 3, "dropped": 0, "kept_for_finding": 0, "kept_for_error": 0}


def test_empty_containers_are_removed_and_an_empty_request_dropped() -> None:
    processor = FilterProcessor(sample_ratio=0.0)
    hit = _span(_trace_id(), "hit", finding_event=True)
    request = _request([_span(_trace_id(), "clean-1")], [_span(_trace_id(), "clean-2"), hit])
    request.resource_spans[1].scope_spans.append(ScopeSpans(spans=[_span(_trace_id(), "clean-3")]))
    result = processor.process(Signal.TRACES, request)
    assert result is not None and len(result.resource_spans) == 1
    (resource,) = result.resource_spans
    assert [[span.name for span in scope.spans] for scope in resource.scope_spans] == [["hit"]]
    assert processor.process(Signal.TRACES, _request([_span(_trace_id(), "clean")])) is None


def test_other_signals_pass_through() -> None:
    processor = FilterProcessor(sample_ratio=0.0)
    logs = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[LogRecord()])])])
    assert processor.process(Signal.LOGS, logs) is logs and len(logs.resource_logs[0].scope_logs[0].log_records) == 1
    assert processor.stats()["kept"] == processor.stats()["dropped"] == 0


def _config(options: object) -> dict:
    return {"receivers": {"otlp": {"protocols": {"http": {}}}}, "processors": {"apisec/filter": options},
            "exporters": {"console": {}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["apisec/filter"],
                                                 "exporters": ["console"]}}}}


def test_config_builds_the_processor_with_defaults_and_options() -> None:
    default = parse_config(_config(None)).processors["apisec/filter"]
    assert default.options == {"sample_ratio": 1.0, "keep_errors": True, "hash_seed": 0}
    component = parse_config(_config({"sample_ratio": 0, "keep_errors": False, "hash_seed": 42})).processors["apisec/filter"]
    processor = build_processor(component, SecurityTally())
    assert isinstance(processor, FilterProcessor)
    assert (processor.sample_ratio, processor.keep_errors, processor.hash_seed) == (0.0, False, 42)


@pytest.mark.parametrize(("options", "message"), [
    ({"sample_ratio": 1.5}, "processors.apisec/filter.sample_ratio: 1.5 is outside [0.0, 1.0]"),
    ({"sample_ratio": -0.1}, "processors.apisec/filter.sample_ratio: -0.1 is outside"),
    ({"sample_ratio": float("nan")}, "processors.apisec/filter.sample_ratio: nan is outside"),
    ({"sample_ratio": "half"}, "processors.apisec/filter.sample_ratio: expected int or float, got str"),
    ({"keep_errors": "yes"}, "processors.apisec/filter.keep_errors: expected bool, got str"),
    ({"hash_seed": 2**32}, "processors.apisec/filter.hash_seed: 4294967296 is outside [0, 4294967295]"),
    ({"hash_seed": 1.5}, "processors.apisec/filter.hash_seed: expected int, got float"),
    ({"sample_rate": 0.5}, "processors.apisec/filter.sample_rate: unknown option"),
])
def test_config_errors_name_the_key(options: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(_config(options))
    assert message in str(error.value)


def test_sdk_spans_through_enrich_and_filter_keep_only_findings_and_errors() -> None:
    """The SDK's OTLP/HTTP exporter -> receiver -> enrich -> filter (ratio 0) -> OTLP exporter -> sink."""
    with OtlpSink("http/protobuf") as sink:
        exporter = OtlpExporter(sink.endpoint, "http/protobuf", timeout_s=5.0)
        filter_processor = FilterProcessor(sample_ratio=0.0)
        runner = PipelineRunner("traces", Signal.TRACES, [EnrichProcessor(Analyzer()), filter_processor], [exporter])
        exporter.start()
        try:
            with HttpReceiver(runner, "127.0.0.1:0") as receiver:
                host, port = receiver.address
                provider = TracerProvider()
                provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://{host}:{port}/v1/traces")))
                tracer = provider.get_tracer("node-like-agent")
                server = {"http.request.method": "GET", "url.scheme": "https", "server.address": "api.example.com",
                          "http.route": "/api/items", "http.response.status_code": 200,
                          "http.response.header.strict-transport-security": ["max-age=31536000"]}  # no posture finding
                with tracer.start_as_current_span("GET /api/items", kind=SpanKind.SERVER,
                                                  attributes={**server, "url.path": "/api/items", "url.query": "page=2"}):
                    pass
                pay = {**server, "url.path": "/api/pay", "url.query": "card=4111111111111111"}
                with tracer.start_as_current_span("GET /api/pay", kind=SpanKind.SERVER, attributes=pay):
                    pass
                with tracer.start_as_current_span("db query") as failed:
                    failed.set_status(StatusCode.ERROR, "timeout")
                provider.shutdown()
        finally:
            exporter.shutdown(10.0)  # drains the queue: everything the filter kept has reached the sink
        names = sorted(span.name for span in sink.spans())
    assert names == ["GET /api/pay", "db query"]
    assert filter_processor.stats() == {"kept": 2, "dropped": 1, "kept_for_finding": 1, "kept_for_error": 1}
