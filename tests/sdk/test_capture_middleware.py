"""Plain WSGI and ASGI apps (no framework instrumentation): OpenTelemetry's own middleware with ours."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as AsgiMiddleware
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as WsgiMiddleware
from werkzeug.test import Client

from otel_apisec import attributes as A
from otel_apisec.sdk.capture.asgi import asgi_hooks
from otel_apisec.sdk.capture.wsgi import ApisecWSGIMiddleware
from tests.sdk.apisec_sdk import pipeline

SECRET_BODY = json.dumps({"pad": "x" * 5000, "note": "card 4111 1111 1111 1111"}).encode()


def wsgi_app(environ: dict, start_response: object) -> Iterator[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json")])
    yield b'{"received": %d, ' % len(body)
    yield b'"owner": "erin.owner@example.com"}'


def test_plain_wsgi_app_request_and_streamed_response_are_captured() -> None:
    pipe = pipeline(OTEL_APISEC_MAX_BODY_BYTES="1KiB")
    app = WsgiMiddleware(ApisecWSGIMiddleware(wsgi_app, pipe.registry, pipe.metrics), tracer_provider=pipe.provider)
    response = Client(app).post("/upload", data=SECRET_BODY, content_type="application/json")
    assert response.get_json() == {"received": len(SECRET_BODY), "owner": "erin.owner@example.com"}
    (span,) = pipe.server_spans()
    assert span.attributes[A.PII_TYPES] == ("email",)  # from the response; the card sits past the 1 KiB kept


async def asgi_app(scope: dict, receive: object, send: object) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json")]})
    for part in (b'{"received": %d,' % len(body), b' "owner": "erin.owner@example.com"}'):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_plain_asgi_app_bodies_are_captured_from_receive_and_send_messages() -> None:
    pipe = pipeline()  # 64 KiB kept: the card is seen
    app = AsgiMiddleware(asgi_app, tracer_provider=pipe.provider, **asgi_hooks(pipe.registry, pipe.metrics))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client:
            return await client.post("/upload?debug=1", content=SECRET_BODY, headers={"content-type": "application/json"})

    response = asyncio.run(call())
    assert response.status_code == 201
    assert response.json() == {"received": len(SECRET_BODY), "owner": "erin.owner@example.com"}
    (span,) = pipe.server_spans()
    assert set(span.attributes[A.PII_TYPES]) == {"credit_card", "email"}
