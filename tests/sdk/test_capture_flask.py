"""Flask capture in process: the real Flask instrumentation with our hooks, the real SDK, a WSGI client.

The same paths run through `opentelemetry-instrument` and real servers in test_e2e_instrument.py;
these tests reach the corners (streams never closed, huge bodies, failures) cheaply.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from flask import Flask, Response, request
from opentelemetry.instrumentation.flask import FlaskInstrumentor

from otel_apisec import attributes as A
from otel_apisec.sdk.capture.wsgi import flask_hooks
from tests.sdk.apisec_sdk import Pipeline, pipeline

EMAIL = "carol.planted@example.org"


def make_app(pipe: Pipeline) -> Flask:
    app = Flask(__name__)

    @app.post("/echo")
    def echo() -> dict:
        data = request.get_data()
        return {"received_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict:
        return {"id": user_id, "email": EMAIL}

    @app.get("/stream")
    def stream() -> Response:
        count = int(request.args.get("chunks", "3"))
        return Response((json.dumps({"n": i, "email": EMAIL}).encode() + b"\n" for i in range(count)),
                        mimetype="application/json")

    FlaskInstrumentor().instrument_app(
        app, tracer_provider=pipe.provider,
        **flask_hooks(pipe.registry, pipe.metrics),
    )
    return app


@pytest.mark.parametrize("mode", ["inline", "background"])
def test_response_pii_becomes_attributes_and_events(mode: str) -> None:
    pipe = pipeline(OTEL_APISEC_ANALYSIS=mode)
    response = make_app(pipe).test_client().get("/users/7")
    assert response.json == {"id": 7, "email": EMAIL}
    (span,) = pipe.server_spans()
    assert span.attributes[A.PII_DETECTED] is True
    assert "email" in span.attributes[A.PII_TYPES]
    assert span.attributes[A.AUTH_OUTCOME] == "anonymous"
    rule_ids = {event.attributes[A.RULE_ID] for event in span.events if event.name == A.FINDING_EVENT}
    assert rule_ids == set(span.attributes[A.FINDINGS])
    assert pipe.metric_total(A.METRIC_FINDINGS, **{A.HTTP_ROUTE: "/users/<int:user_id>"}) == len(span.events)


def test_app_reads_a_body_larger_than_the_limit_and_the_capture_stays_bounded() -> None:
    pipe = pipeline(OTEL_APISEC_MAX_BODY_BYTES="4KiB")
    body = json.dumps({"contact": EMAIL, "items": ["x" * 100] * 3000, "card": "4111 1111 1111 1111"}).encode()
    assert len(body) > 300_000
    response = make_app(pipe).test_client().post("/echo", data=body, content_type="application/json")
    assert response.json == {"received_bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    (span,) = pipe.server_spans()
    # The email in the first 4 KiB was analysed (a cut JSON body is scanned as text); the card
    # past the limit was never kept.
    kinds = {event.attributes[A.FINDING_KIND] for event in span.events if event.attributes[A.FINDING_LOCATION] == "request.body"}
    assert kinds == {"pii.email"}
    assert span.attributes[A.PII_TYPES] == ("email",)


def test_streamed_response_reaches_the_client_whole_and_is_analysed_after_it_ends() -> None:
    pipe = pipeline()
    client = make_app(pipe).test_client()
    response = client.get("/stream?chunks=200", buffered=False)
    assert pipe.server_spans() == []  # the span waits for its body
    lines = b"".join(response.response).splitlines()
    response.close()
    assert [json.loads(line)["n"] for line in lines] == list(range(200))
    (span,) = pipe.server_spans()
    assert "email" in span.attributes[A.PII_TYPES]


def test_a_stream_nobody_closes_is_analysed_after_the_wait_limit() -> None:
    pipe = pipeline(OTEL_APISEC_STREAM_WAIT_S="0.2")
    response = make_app(pipe).test_client().get("/stream", buffered=False)
    next(iter(response.response))  # one chunk read, never closed
    deadline = time.monotonic() + 5
    while not pipe.server_spans() and time.monotonic() < deadline:
        time.sleep(0.05)
    (span,) = pipe.server_spans()
    assert A.AUTH_OUTCOME in span.attributes


def test_a_failing_hook_is_counted_and_the_request_is_served_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = pipeline()

    def broken_start(span: object) -> None:
        raise RuntimeError("capture bug")

    monkeypatch.setattr(pipe.registry, "start", broken_start)
    response = make_app(pipe).test_client().get("/users/3")
    assert response.status_code == 200 and response.json["id"] == 3
    (span,) = pipe.server_spans()
    assert A.AUTH_OUTCOME not in span.attributes  # no capture, no analysis, still exported
    assert pipe.metric_total(A.METRIC_INTERNAL_ERRORS, **{A.COMPONENT: "capture.flask.request"}) == 1
