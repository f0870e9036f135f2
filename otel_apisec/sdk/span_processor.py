"""`ApisecSpanProcessor`: analyses each server span's capture and hands an enriched, redacted copy on.

It wraps the processor that exports (usually a `BatchSpanProcessor`):

    provider.add_span_processor(ApisecSpanProcessor(BatchSpanProcessor(OTLPSpanExporter())))

Every span goes through the redactor, captured or not. Server spans with a capture are analysed
first: on a worker thread by default (`OTEL_APISEC_ANALYSIS=background`, the request never
waits) or on the thread that ends the span (`inline`). A span whose response body is still
streaming waits, bounded by `OTEL_APISEC_STREAM_WAIT_S`, until the body is done.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import orjson
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_apisec import attributes as A
from otel_apisec.compiled_cache import folder_cache
from otel_apisec.detect import Analyzer
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.enrich import finding_events, response_id_attributes, span_attributes
from otel_apisec.model import Body, Headers, HttpExchange
from otel_apisec.pseudonym import deployment_key
from otel_apisec.redaction.attributes import Redactor
from otel_apisec.redaction.recent import RecentValues
from otel_apisec.sdk.capture.record import Capture
from otel_apisec.sdk.capture.registry import CaptureRegistry
from otel_apisec.sdk.rebuild import rebuilt_span
from otel_apisec.sdk.settings import ApisecSettings, load_settings
from otel_apisec.sdk.telemetry import ApisecMetrics

__all__ = ["ApisecSpanProcessor"]

_logger = logging.getLogger("otel_apisec")
_STOP = object()
_PLAIN = Redactor()
_STRICT = Redactor(strict=True)


class ApisecSpanProcessor(SpanProcessor):
    def __init__(
        self,
        inner: SpanProcessor,
        settings: ApisecSettings | None = None,
        registry: CaptureRegistry | None = None,
        analyzer: Analyzer | None = None,
        metrics: ApisecMetrics | None = None,
        recent: RecentValues | None = None,
    ) -> None:
        self.inner = inner
        self.settings = settings if settings is not None else load_settings()
        self.registry = registry if registry is not None else CaptureRegistry(self.settings)
        self.analyzer = analyzer if analyzer is not None else Analyzer(
            self.settings.detect_config(), compiled_cache=folder_cache(self.settings.cache_dir))
        self.metrics = metrics if metrics is not None else ApisecMetrics()
        self.recent = recent
        self._id_key = deployment_key(self.settings.hmac_key)
        """Hashes the response's object IDs (`apisec.response.*ids`), as principals are hashed."""
        self._background = self.settings.analysis == "background"
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.settings.queue_size)
        self._waiting: dict[int, tuple[float, Capture]] = {}
        self._waiting_lock = threading.Lock()
        self._stopped = False
        # Inline analyses run on many request threads; one Analyzer (Hyperscan scratch, memo) at a time.
        self._analysis_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        if self._background:
            self._worker = threading.Thread(target=self._work, name="otel-apisec-analysis", daemon=True)
            self._worker.start()
        else:
            self._warm_up()

    def _warm_up(self) -> None:
        """One analysis of a made-up exchange, so the first real request does not pay for lazy
        imports and metadata loading (about 10 ms) inside its time budget."""
        try:
            self.analyzer.analyze(warm_up_exchange())
        except Exception:  # a failing detector shows up, counted, on real requests
            pass

    # --- SpanProcessor ------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Span) -> None:
        self.inner._on_ending(span)  # the SDK's own hook, passed through

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if self._waiting and not self._background:
                self._release_waiting()  # inline mode has no worker to watch the deadlines
            # Any kind: uvicorn can hand a request the previous one's context (CPython #140947), and
            # the ASGI instrumentation then makes its server span INTERNAL. Captures are per request.
            capture = self.registry.take(span.context.span_id)
            if capture is None and self.registry.was_evicted(span.context.span_id):
                self.metrics.unanalyzed.add(1, {A.UNANALYZED_REASON: "capture_evicted"})
                self._forward(span, _STRICT)
            elif capture is None:
                self._forward(span, None)  # nothing to analyse: redact here, it is cheap
            elif not self._wait_for_body(span, capture):
                self._submit(span, capture)
        except Exception:  # never let our failure reach the app ending the span
            self._internal_error("processor.on_end")
            self._forward(span, None)

    def shutdown(self) -> None:
        self._release_waiting(force=True)
        if self._worker is not None and not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)
            self._worker.join(timeout=30)
        self._stopped = True
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        if self._worker is not None and self._worker.is_alive():
            done = threading.Event()
            try:
                self._queue.put(done, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                return False
            if not done.wait(max(0.0, deadline - time.monotonic())):
                return False
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        return self.inner.force_flush(remaining)

    # --- streamed bodies ----------------------------------------------------------------------
    def _wait_for_body(self, span: ReadableSpan, capture: Capture) -> bool:
        """Park the span until its streamed response body is done; False if it already is."""
        span_id = span.context.span_id

        def resume() -> None:
            with self._waiting_lock:
                self._waiting.pop(span_id, None)
            self._submit(span, capture)

        with self._waiting_lock:
            parked = capture.when_finished(resume)
            if parked:
                self._waiting[span_id] = (time.monotonic() + self.settings.stream_wait_s, capture)
        return parked

    def _release_waiting(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._waiting_lock:
            due = [capture for deadline, capture in self._waiting.values() if force or deadline <= now]
        for capture in due:
            capture.finish()  # analyse what arrived; the body is marked truncated if it was cut

    # --- analysis -----------------------------------------------------------------------------
    def _submit(self, span: ReadableSpan, capture: Capture | None) -> None:
        if not self._background or self._stopped:
            self._process(span, capture)
            return
        try:
            self._queue.put_nowait((span, capture))
        except queue.Full:
            self.metrics.unanalyzed.add(1, {A.UNANALYZED_REASON: "queue_full"})
            self._forward(span, _STRICT)

    def _work(self) -> None:
        self._warm_up()
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                item = None
            if self._waiting:
                self._release_waiting()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
            elif item is not None:
                self._process(*item)

    def _process(self, span: ReadableSpan, capture: Capture | None) -> None:
        if capture is None:
            self._forward(span, None)
            return
        try:
            route = _route(span)
            exchange = capture.exchange(route=route, duration_ms=_duration_ms(span))
            with self._analysis_lock:
                analysis = self.analyzer.analyze(exchange)
            exposed = exposed_values(exchange, analysis)
            if exposed and self.recent is not None:
                self.recent.add(exposed)
            redactor = Redactor(exposed)
            events = finding_events(analysis, self.settings.event_min_severity)
            attributes = span_attributes(analysis) | response_id_attributes(exchange, self._id_key, analysis.response_json)
            enriched = rebuilt_span(span, redactor, attributes, events)
            self.metrics.record(analysis, route)
        except Exception:  # the span still goes out, masked, without analysis
            self._internal_error("processor.analysis")
            self.metrics.unanalyzed.add(1, {A.UNANALYZED_REASON: "error"})
            self._forward(span, _STRICT)
            return
        self.inner.on_end(enriched)

    def _forward(self, span: ReadableSpan, redactor: Redactor | None) -> None:
        """Hand on a redacted copy; a span we cannot redact is dropped, never exported raw."""
        try:
            copy = rebuilt_span(span, redactor or _PLAIN)
        except Exception:
            self._internal_error("processor.redact")
            return
        self.inner.on_end(copy)

    def _internal_error(self, component: str) -> None:
        self.metrics.internal_errors.add(1, {A.COMPONENT: component})
        _logger.debug("otel-apisec %s failed", component, exc_info=True)


def warm_up_exchange() -> HttpExchange:
    """A made-up exchange with something for every detector: a JWT, a session cookie, PII, an injection."""
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3YXJtLXVwIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlLW5vdC12YWxpZA"
    request = {"email": "warm.up@example.com", "phone": "+1 415 555 0132", "card": "4111 1111 1111 1111"}
    response = {"iban": "GB82 WEST 1234 5698 7654 32", "ssn": "123-45-6780", "note": "<b>' OR 1=1</b>"}
    return HttpExchange(
        method="POST",
        scheme="https",
        host="warm-up.invalid",  # a reserved name: no real endpoint's posture is marked as already checked
        path="/api/users/7",
        query=(("q", "1"),),
        request_headers=Headers({"Authorization": f"Bearer {token}", "Cookie": "sessionid=warm-up-session"}),
        request_body=Body(orjson.dumps(request), "application/json"),
        status=200,
        response_body=Body(orjson.dumps(response), "application/json"),
        client_address="203.0.113.7",
    )


def _route(span: ReadableSpan) -> str | None:
    route = (span.attributes or {}).get(A.HTTP_ROUTE)
    return str(route) if route else None


def _duration_ms(span: ReadableSpan) -> float | None:
    if span.start_time is None or span.end_time is None:
        return None
    return (span.end_time - span.start_time) / 1e6
