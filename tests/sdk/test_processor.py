"""ApisecSpanProcessor and the redactor with the real SDK: faults, budgets, bounds, masking."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask, request
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer
from otel_apisec.detect.catalog import EXCHANGE_DETECTORS
from otel_apisec.model import HttpExchange
from otel_apisec.redaction import Redactor
from otel_apisec.sdk.capture.wsgi import flask_hooks
from otel_apisec.sdk.settings import SettingsError, load_settings
from tests.sdk.apisec_sdk import Pipeline, pipeline


class Raising:
    name = "raising"

    def __call__(self, exchange: HttpExchange, ctx: object) -> Iterator[object]:
        raise RuntimeError("detector bug")


class Slow:
    name = "slow"

    def __call__(self, exchange: HttpExchange, ctx: object) -> Iterator[object]:
        spin_until = time.thread_time() + 0.05  # the budget counts CPU time, so burn some
        while time.thread_time() < spin_until:
            pass
        return iter(())


def served(pipe: Pipeline, path: str = "/orders/1", **kwargs: object) -> object:
    app = Flask(__name__)

    @app.route("/orders/<int:order_id>", methods=["GET", "POST"])
    def order(order_id: int) -> dict:
        return {"id": order_id, "note": request.args.get("note", "")}

    FlaskInstrumentor().instrument_app(app, tracer_provider=pipe.provider, **flask_hooks(pipe.registry, pipe.metrics))
    return app.test_client().get(path, **kwargs)


def test_a_detector_that_raises_is_skipped_counted_and_the_others_still_report() -> None:
    pipe = pipeline(Analyzer(exchange_detectors=[Raising(), *EXCHANGE_DETECTORS]), OTEL_APISEC_ANALYSIS="inline")
    response = served(pipe, headers={"Authorization": "Basic YWxpY2U6c2VjcmV0cGFzcw=="})
    assert response.status_code == 200 and response.json == {"id": 1, "note": ""}
    (span,) = pipe.server_spans()
    assert span.attributes[A.DETECTORS_FAILED] == ("raising",)
    assert span.attributes[A.AUTH_SCHEME] == "basic"  # the detectors after it still ran
    assert pipe.metric_total(A.METRIC_DETECTOR_FAILURES, **{A.DETECTOR: "raising", A.FAILURE_REASON: "raised"}) == 1


def test_detectors_past_the_time_budget_are_skipped_and_counted() -> None:
    pipe = pipeline(Analyzer(load_settings({"OTEL_APISEC_TIME_BUDGET_MS": "10"}).detect_config(),
                             exchange_detectors=[Slow(), *EXCHANGE_DETECTORS]))
    assert served(pipe, headers={"Authorization": "Basic YWxpY2U6c2VjcmV0cGFzcw=="}).status_code == 200
    (span,) = pipe.server_spans()
    assert "posture" in span.attributes[A.DETECTORS_SKIPPED]
    # The auth and token facts every span carries are never skipped.
    assert "auth" not in span.attributes[A.DETECTORS_SKIPPED] and span.attributes[A.AUTH_SCHEME] == "basic"
    assert pipe.metric_total(A.METRIC_DETECTOR_FAILURES, **{A.FAILURE_REASON: "time_budget"}) >= 1


def test_analysis_that_fails_outright_still_exports_the_span_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = pipeline()
    monkeypatch.setattr(pipe.processor.analyzer, "analyze",
                        lambda exchange: (_ for _ in ()).throw(MemoryError("boom")))
    assert served(pipe, "/orders/2?password=hunter22&note=4111111111111111").status_code == 200
    (span,) = pipe.server_spans()
    # Its exposed values are unknown, so every query value is masked.
    assert span.attributes["http.target"] == f"/orders/2?password={A.REDACTED}&note={A.REDACTED}"
    assert pipe.metric_total(A.METRIC_UNANALYZED, **{A.UNANALYZED_REASON: "error"}) == 1


def test_a_full_queue_exports_redacted_spans_and_counts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = pipeline(OTEL_APISEC_QUEUE_SIZE="1")
    release = threading.Event()
    analyze = pipe.processor.analyzer.analyze
    monkeypatch.setattr(pipe.processor.analyzer, "analyze", lambda exchange: release.wait(10) and analyze(exchange))
    tracer = pipe.provider.get_tracer("t")
    for i in range(3):  # the worker holds the first, the queue the second, the third finds it full
        with tracer.start_as_current_span(f"s{i}?", kind=SpanKind.SERVER) as span:
            span.set_attribute("url.query", "token=raw-token-1")
            pipe.registry.start(span)
        time.sleep(0.1)
    assert pipe.metric_total(A.METRIC_UNANALYZED, **{A.UNANALYZED_REASON: "queue_full"}) == 1
    release.set()
    spans = pipe.server_spans()
    assert len(spans) == 3
    assert {span.attributes["url.query"] for span in spans} == {f"token={A.REDACTED}"}  # analysed or strict
    assert sum(A.AUTH_OUTCOME in span.attributes for span in spans) == 2


def test_open_captures_are_bounded_and_evicted_requests_are_masked_strictly() -> None:
    pipe = pipeline(OTEL_APISEC_MAX_OPEN_CAPTURES="3")
    tracer = pipe.provider.get_tracer("t")
    spans = [tracer.start_span(f"s{i}", kind=SpanKind.SERVER, attributes={"url.query": "card=4111111111111111"})
             for i in range(10)]
    for span in spans:
        pipe.registry.start(span)
    assert len(pipe.registry) == 3 and pipe.registry.evicted == 7
    spans[0].end()
    (exported,) = pipe.server_spans()
    assert exported.attributes["url.query"] == f"card={A.REDACTED}"
    assert pipe.metric_total(A.METRIC_UNANALYZED, **{A.UNANALYZED_REASON: "capture_evicted"}) == 1


def test_every_span_is_redacted_not_only_captured_server_spans() -> None:
    pipe = pipeline()
    tracer = pipe.provider.get_tracer("t")
    with tracer.start_as_current_span("call upstream", kind=SpanKind.CLIENT) as span:
        span.set_attribute("url.full", "https://bob:pa55word@upstream.example/v1?api_key=sk_live_1234&page=2")
        span.set_attribute("http.request.header.authorization", ("Bearer abc.def",))
        span.set_status(Status(StatusCode.ERROR, "upstream said no"))
    pipe.provider.force_flush()
    (exported,) = pipe.exporter.get_finished_spans()
    assert exported.attributes["url.full"] == f"https://{A.REDACTED}@upstream.example/v1?api_key={A.REDACTED}&page=2"
    assert exported.attributes["http.request.header.authorization"] == (A.REDACTED,)
    assert exported.status.description == "upstream said no"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("http.target", "/a?token=abc&q=shoes", f"/a?token={A.REDACTED}&q=shoes"),
        ("url.query", "Password=x1&x=2", f"Password={A.REDACTED}&x=2"),
        ("http.url", "http://u:p@h/p#frag", f"http://{A.REDACTED}@h/p#frag"),
        ("http.request.header.x_api_key", ("k1",), (A.REDACTED,)),
        ("http.request.header.cookie", ("sid=1",), (A.REDACTED,)),
        ("http.request.header.accept", ("application/json",), ("application/json",)),
        ("http.response.header.set_cookie", ("sid=1",), (A.REDACTED,)),
        ("user.note", "mail carol@example.org now", f"mail {A.REDACTED} now"),
        ("user.notes", ("carol%40example.org",), (A.REDACTED,)),
        ("http.target", "/u/carol%40example.org?e=carol%40example.org", f"/u/{A.REDACTED}?e={A.REDACTED}"),
        ("http.status_code", 200, 200),
    ],
)
def test_redactor_masks_sensitive_places_and_exposed_values(key: str, value: object, expected: object) -> None:
    assert Redactor({"carol@example.org"}).value(key, value) == expected


def test_bad_settings_name_the_variable_and_the_distro_falls_back_to_the_default() -> None:
    with pytest.raises(SettingsError, match="OTEL_APISEC_MAX_BODY_BYTES='lots'"):
        load_settings({"OTEL_APISEC_MAX_BODY_BYTES": "lots"})
    with pytest.raises(SettingsError, match="unknown detector"):
        load_settings({"OTEL_APISEC_DETECTORS": "pii,magic"})
    errors: list[SettingsError] = []
    settings = load_settings({"OTEL_APISEC_ANALYSIS": "sometimes"}, on_error=errors.append)
    assert settings.analysis == "background" and "OTEL_APISEC_ANALYSIS" in str(errors[0])
    assert load_settings({"OTEL_APISEC_MAX_BODY_BYTES": "2MiB"}).max_body_bytes == 2 << 20
