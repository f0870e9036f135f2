"""Where otel-apisec's per-request time goes, and the two ways of putting results on a span.

    .venv/bin/python bench/enrich_paths.py            # about 30 s
    .venv/bin/python bench/enrich_paths.py --quick

Exchanges are captured from the overhead benchmark's Flask app (2 KB JSON each way) through the
real hooks. Each step is timed alone over those exchanges, median of rounds, in one run:

- "hooks" design: enrich the live span from inside the instrumentation's hooks
  (`set_attributes` + `add_event` on an SDK span before it ends);
- "export path" design (what otel-apisec does): rebuild the ended span with the attributes and
  events added and every attribute redacted.

Both need the analysis; the hooks design still needs an export-time pass to mask attributes
other instrumentation writes after the hooks ran (response headers, `http.target` in ASGI).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from apps.flask_bench_app import create_app, order_body
from flask import Flask
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind
from rich.console import Console
from rich.table import Table

from otel_apisec.detect import Analyzer
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.enrich import finding_events, span_attributes
from otel_apisec.model import Severity
from otel_apisec.redaction import Redactor
from otel_apisec.sdk.capture.record import Capture
from otel_apisec.sdk.capture.registry import CaptureRegistry
from otel_apisec.sdk.capture.wsgi import flask_hooks
from otel_apisec.sdk.rebuild import rebuilt_span
from otel_apisec.sdk.settings import load_settings
from otel_apisec.sdk.telemetry import ApisecMetrics

ROUTE = "/api/orders/<int:order_id>"


class _Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: object) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def captured(count: int) -> tuple[list[tuple[ReadableSpan, Capture]], Analyzer]:
    """`count` real requests through the Flask hooks: their ended spans and captures."""
    settings = load_settings({"OTEL_APISEC_HMAC_KEY": "bench"})
    registry, keep = CaptureRegistry(settings), _Keep()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(keep))
    app: Flask = create_app()
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider, **flask_hooks(registry, ApisecMetrics()))
    client = app.test_client()
    captures = []
    for i in range(count):
        client.post(f"/api/orders/{i}", data=order_body(i), content_type="application/json")
        span = keep.spans[-1]
        captures.append((span, registry.take(span.context.span_id)))
    return captures, Analyzer(settings.detect_config())


def timed(step: Callable[[int], object], count: int, rounds: int) -> float:
    """Median over rounds of the mean µs per call of step(i) for i in range(count)."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(count):
            step(i)
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    count, rounds = (50, 5) if args.quick else (100, 15)
    pairs, analyzer = captured(count)
    exchanges = [capture.exchange(route=ROUTE) for _, capture in pairs]
    analyses = [analyzer.analyze(exchange) for exchange in exchanges]
    redactors = [Redactor(exposed_values(e, a)) for e, a in zip(exchanges, analyses, strict=True)]
    extras = [(span_attributes(a), finding_events(a)) for a in analyses]
    tracer = TracerProvider().get_tracer("bench")

    def live_span(i: int, enrich: bool) -> None:
        span = tracer.start_span("POST /api/orders/<int:order_id>", kind=SpanKind.SERVER,
                                 attributes=dict(pairs[i][0].attributes or {}))
        if enrich:
            attributes, events = extras[i]
            span.set_attributes(attributes)
            for name, event_attributes in events:
                span.add_event(name, event_attributes)
        span.end()
        if enrich:
            rebuilt_span(span, redactors[i])  # the masking pass it still needs at export

    enriched = [rebuilt_span(pairs[i][0], redactors[i], *extras[i]) for i in range(count)]
    medium_up = [rebuilt_span(pairs[i][0], redactors[i], extras[i][0], finding_events(analyses[i], Severity.MEDIUM))
                 for i in range(count)]
    plain = [rebuilt_span(pairs[i][0], Redactor()) for i in range(count)]
    steps = [
        ("capture -> HttpExchange", lambda i: pairs[i][1].exchange(route=ROUTE)),
        ("analysis (all detectors)", lambda i: analyzer.analyze(exchanges[i])),
        ("exposed values", lambda i: exposed_values(exchanges[i], analyses[i])),
        ("attributes + events", lambda i: (span_attributes(analyses[i]), finding_events(analyses[i]))),
        ("export-path design: rebuild, redact", lambda i: rebuilt_span(pairs[i][0], redactors[i], *extras[i])),
        ("OTLP encoding, plain span", lambda i: encode_spans([plain[i]]).SerializeToString()),
        ("OTLP encoding, enriched span", lambda i: encode_spans([enriched[i]]).SerializeToString()),
        ("OTLP encoding, enriched span, events from medium up",
         lambda i: encode_spans([medium_up[i]]).SerializeToString()),
    ]
    table = Table(title=f"Per request, µs (median of {rounds} rounds over {count} captured 2 KB + 2 KB exchanges)")
    table.add_column("step")
    table.add_column("µs", justify="right")
    for name, step in steps:
        table.add_row(name, f"{timed(step, count, rounds):,.1f}")
    # The hooks design, less the span's own creation (which plain OpenTelemetry pays anyway).
    hooks = timed(lambda i: live_span(i, True), count, rounds) - timed(lambda i: live_span(i, False), count, rounds)
    table.add_row("hooks design: set on the live span, then mask at export", f"{hooks:,.1f}")
    console = Console()
    console.print(f"command: python bench/enrich_paths.py{' --quick' if args.quick else ''}")
    console.print(table)
    events = statistics.median(len(e) for _, e in extras)
    console.print(f"median finding events per span: {events:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
