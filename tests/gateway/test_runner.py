"""The pipeline runner: one walk over the spans, one read of each span's attributes shared by the
processors, and failures caught, counted and masked without losing the spans."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.stores.memory import MemoryStore
from otel_apisec.detect import Analyzer
from otel_apisec.gateway import pipeline, runner, span_exchange
from otel_apisec.gateway.api import Processor, Request, Signal
from otel_apisec.gateway.pipeline import PipelineRunner
from otel_apisec.gateway.processors.correlate.processor import CorrelateProcessor
from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor, mask_strictly
from otel_apisec.gateway.processors.filter.processor import FilterProcessor
from otel_apisec.gateway.processors.redact.processor import RedactProcessor
from otel_apisec.gateway.runner import ProcessorCounts, SpanHandler, SpanView, TraceBatch, iter_spans
from otel_apisec.testing import key_values, server_span, trace_request

SECRET = "Bearer abc.def.ghi-planted-token"
ATTRIBUTES = {
    "http.request.method": "POST", "url.path": "/login", "http.route": "/login", "http.response.status_code": 401,
    "client.address": "203.0.113.7", "http.request.header.authorization": [SECRET],
}


class Capture:
    """An exporter that keeps what it is given."""

    signals = frozenset(Signal)

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def submit(self, signal: Signal, request: Request) -> None:
        self.requests.append(request)

    def start(self) -> None:
        pass

    def shutdown(self, timeout_s: float = 30.0) -> None:
        pass


class Raising:
    """A span processor that raises on the spans named `fail`."""

    def __init__(self, masks: bool) -> None:
        self.mask_strictly: Callable[[Span], None] | None = mask_strictly if masks else None
        self.counts = ProcessorCounts()

    def process(self, signal: Signal, request: Request) -> Request | None:
        return runner.process_spans(self, signal, request)

    def spans(self, batch: TraceBatch) -> contextlib.AbstractContextManager[SpanHandler]:
        return contextlib.nullcontext(self._span)

    def _span(self, view: SpanView) -> bool:
        if view.span.name == "fail":
            raise RuntimeError("boom")
        return True


def _spans(request: Request) -> list[Span]:
    return [span for _resource, _scope, span in iter_spans(request)]


def _attrs(span: Span) -> dict[str, AnyValue]:
    return {kv.key: kv.value for kv in span.attributes}


def _correlate() -> CorrelateProcessor:
    return CorrelateProcessor(Correlation(CorrelationConfig(), MemoryStore()), b"key")


def _request() -> ExportTraceServiceRequest:
    names = ["ok", "fail", "ok2"]
    return trace_request(*(server_span(ATTRIBUTES, name=name, span_id=index + 1) for index, name in enumerate(names)))


class TestOneWalk:
    def test_the_spans_are_walked_once_per_request(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Enrich, correlate, filter and redact share one TraceBatch: one walk over resource, scope, span."""
        made: list[TraceBatch] = []

        class Counted(TraceBatch):
            def __init__(self, request: ExportTraceServiceRequest) -> None:
                super().__init__(request)
                made.append(self)

        monkeypatch.setattr(pipeline, "TraceBatch", Counted)
        exporter = Capture()
        processors: list[Processor] = [EnrichProcessor(Analyzer()), _correlate(), FilterProcessor(sample_ratio=0.5),
                                       RedactProcessor(value_detectors=False)]
        PipelineRunner("traces", Signal.TRACES, processors, [exporter]).consume(Signal.TRACES, _request())
        assert len(made) == 1 and len(made[0].views) == 3
        assert exporter.requests

    def test_attributes_are_read_once_and_derived_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each attribute is read once for enrich, correlate and filter; the exchange and observation are derived once."""
        read_keys: list[tuple[int, str]] = []
        derived = {"exchange": 0, "observation": 0}
        original_read = span_exchange.SpanAttributes._read
        original_exchange, original_observation = runner.exchange_of, runner.observation_of

        def counted_read(self: span_exchange.SpanAttributes, kvs: Iterable[KeyValue]) -> None:
            kvs = list(kvs)
            read_keys.extend((id(self), kv.key) for kv in kvs)
            original_read(self, kvs)

        def exchange_of(*args: object) -> object:
            derived["exchange"] += 1
            return original_exchange(*args)

        def observation_of(*args: object) -> object:
            derived["observation"] += 1
            return original_observation(*args)

        monkeypatch.setattr(span_exchange.SpanAttributes, "_read", counted_read)
        monkeypatch.setattr(runner, "exchange_of", exchange_of)
        monkeypatch.setattr(runner, "observation_of", observation_of)
        request = _request()
        processors: list[Processor] = [EnrichProcessor(Analyzer()), _correlate(), FilterProcessor(sample_ratio=0.0)]
        PipelineRunner("traces", Signal.TRACES, processors, [Capture()]).consume(Signal.TRACES, request)
        assert read_keys, "nothing was read: the test would prove nothing"
        assert len(read_keys) == len(set(read_keys)), "an attribute was read twice"
        assert len({reader for reader, _key in read_keys}) == 3  # one read per span
        assert derived == {"exchange": 3, "observation": 3}

    def test_correlate_sees_what_enrich_added_and_masked(self) -> None:
        """The shared view follows enrichment: appended attributes are read, masked values are current."""
        request = trace_request(server_span(ATTRIBUTES))
        batch = TraceBatch(request)
        enrich = EnrichProcessor(Analyzer())
        assert runner.run_spans(enrich, batch)
        view = batch.views[0]
        assert view.attribute(A.AUTH_OUTCOME) == _attrs(view.span)[A.AUTH_OUTCOME].string_value
        observation = view.observation()
        assert observation is not None and observation.auth_outcome != "anonymous"
        assert SECRET not in str(view.attributes().strings)


class TestFailures:
    def test_a_masking_processor_failing_on_a_span_is_counted_and_the_span_arrives_masked(self) -> None:
        """The runner masks the failed span strictly and forwards every span."""
        exporter = Capture()
        failing = Raising(masks=True)
        PipelineRunner("traces", Signal.TRACES, [failing], [exporter]).consume(Signal.TRACES, _request())
        spans = _spans(exporter.requests[0])
        assert [span.name for span in spans] == ["ok", "fail", "ok2"]
        assert failing.counts.errors == 1 and failing.counts.dropped == 0
        assert _attrs(spans[1])["http.request.header.authorization"].array_value.values[0].string_value == A.REDACTED
        assert _attrs(spans[0])["http.request.header.authorization"].array_value.values[0].string_value == SECRET

    def test_a_processor_that_does_not_mask_leaves_the_span_as_it_was(self) -> None:
        """A failing non-masking processor is counted; its span goes on unchanged."""
        exporter = Capture()
        failing = Raising(masks=False)
        before = _request().SerializeToString()
        PipelineRunner("traces", Signal.TRACES, [failing], [exporter]).consume(Signal.TRACES, _request())
        assert failing.counts.errors == 1 and exporter.requests[0].SerializeToString() == before

    def test_a_failing_pass_masks_every_span(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """When a masking processor's batch work fails (the value scan), every span is masked strictly."""
        redact = RedactProcessor(value_detectors=True)

        def broken(run: object) -> None:
            raise RuntimeError("scanner down")

        monkeypatch.setattr(redact, "_scan_values", broken)
        exporter = Capture()
        PipelineRunner("traces", Signal.TRACES, [redact], [exporter]).consume(Signal.TRACES, _request())
        spans = _spans(exporter.requests[0])
        assert len(spans) == 3 and redact.counts.errors == 3
        assert all(SECRET not in span.SerializeToString().decode("utf-8", "replace") for span in spans)

    def test_a_span_that_cannot_be_masked_is_dropped(self) -> None:
        """If strict masking fails too, that span is counted in dropped and not forwarded."""

        def unmaskable(span: Span) -> None:
            raise RuntimeError("mask failed")

        exporter = Capture()
        failing = Raising(masks=True)
        failing.mask_strictly = unmaskable
        PipelineRunner("traces", Signal.TRACES, [failing], [exporter]).consume(Signal.TRACES, _request())
        assert [span.name for span in _spans(exporter.requests[0])] == ["ok", "ok2"]
        assert (failing.counts.errors, failing.counts.dropped) == (1, 1)

    def test_a_plain_processor_failing_never_raises_into_the_receiver(self) -> None:
        """A processor without span support that raises is counted by the runner; the request goes on."""

        class Broken:
            def process(self, signal: Signal, request: Request) -> Request | None:
                raise RuntimeError("boom")

        exporter = Capture()
        runner_ = PipelineRunner("logs", Signal.LOGS, [Broken()], [exporter])
        logs = ExportLogsServiceRequest()
        logs.resource_logs.add().scope_logs.add().log_records.append(LogRecord(attributes=key_values({"a": "b"})))
        runner_.consume(Signal.LOGS, logs)
        assert exporter.requests == [logs] and runner_.stats() == {"processor_errors/0": 1}

    def test_a_masking_processor_failing_on_logs_drops_them(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Logs have no strict masking: a masking processor that fails on them fails closed."""
        redact = RedactProcessor(value_detectors=False)

        def broken(*args: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(redact, "_log", broken)
        exporter = Capture()
        logs = ExportLogsServiceRequest()
        logs.resource_logs.add().scope_logs.add().log_records.append(LogRecord(attributes=key_values({"a": "b"})))
        PipelineRunner("logs", Signal.LOGS, [redact], [exporter]).consume(Signal.LOGS, logs)
        assert exporter.requests == [] and (redact.counts.errors, redact.counts.dropped) == (1, 1)


class TestDrops:
    def test_a_processor_returning_none_drops_the_request(self) -> None:
        """As before the runner: None from `process` stops the request before any exporter."""

        class Drop:
            def process(self, signal: Signal, request: Request) -> Request | None:
                return None

        exporter = Capture()
        PipelineRunner("traces", Signal.TRACES, [EnrichProcessor(Analyzer()), Drop()], [exporter]).consume(
            Signal.TRACES, _request())
        assert exporter.requests == []

    def test_a_handler_refusing_every_span_drops_the_request(self) -> None:
        """A span processor that drops every span leaves no request to export."""

        class DropAll(Raising):
            def _span(self, view: SpanView) -> bool:
                return False

        exporter = Capture()
        PipelineRunner("traces", Signal.TRACES, [DropAll(masks=False)], [exporter]).consume(Signal.TRACES, _request())
        assert exporter.requests == []

    def test_removing_spans_keeps_the_views_in_step(self) -> None:
        """After a removal, each remaining view's index is its span's position in its scope."""
        batch = TraceBatch(_request())
        assert batch.remove([1])
        assert [(view.index, view.span.name) for view in batch.views] == [(0, "ok"), (1, "ok2")]
        assert [span.name for span in batch.views[0].scope.spans] == ["ok", "ok2"]


def _iterated(request: ExportTraceServiceRequest) -> Iterator[str]:
    return (span.name for _r, _s, span in iter_spans(request))


def test_iter_spans_walks_every_resource_and_scope() -> None:
    """iter_spans yields every span of every scope of every resource, in order."""
    request = _request()
    request.resource_spans.add().scope_spans.add().spans.append(server_span({}, name="other"))
    assert list(_iterated(request)) == ["ok", "fail", "ok2", "other"]
