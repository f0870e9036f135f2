"""Capture for Django through `DjangoInstrumentor().instrument(request_hook=..., response_hook=...)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace

from otel_apisec.sdk.capture.guard import guarded
from otel_apisec.sdk.capture.registry import CaptureRegistry
from otel_apisec.sdk.capture.wsgi import environ_headers
from otel_apisec.sdk.capture.wsgi_io import TeeInput, TeeIterable
from otel_apisec.sdk.telemetry import ApisecMetrics

__all__ = ["django_hooks"]


def django_hooks(registry: CaptureRegistry, metrics: ApisecMetrics) -> dict[str, Callable[..., None]]:
    @guarded("capture.django.request", metrics)
    def request_hook(span: trace.Span, request: Any) -> None:
        capture = registry.start(span)
        if capture is None:
            return
        meta = request.META
        capture.set_request(
            method=request.method or "GET",
            scheme=request.scheme or "http",
            host=meta.get("HTTP_HOST") or meta.get("SERVER_NAME", ""),  # not get_host(): it raises on bad hosts
            path=request.path,
            query=meta.get("QUERY_STRING", ""),
            headers=environ_headers(meta),
            client_address=meta.get("REMOTE_ADDR"),
        )
        # `request.body`, `request.read()` and form parsing all read `_stream`: tee it so the
        # view reads the whole body as usual while we keep a bounded copy.
        if capture.wants_request_body() and hasattr(request, "_stream"):
            request._stream = TeeInput(request._stream, capture.request_body)

    @guarded("capture.django.response", metrics)
    def response_hook(span: trace.Span, request: Any, response: Any) -> None:
        capture = registry.get(span.get_span_context().span_id)
        if capture is None:
            return
        capture.set_response(response.status_code, list(response.items()))
        if not capture.wants_response_body():
            return
        if not getattr(response, "streaming", False):
            capture.response_body.set(response.content)
        elif not getattr(response, "is_async", False):
            # Django registers the iterable's close() with the response, so `finish` runs when
            # the server closes the response after the last chunk.
            capture.stream_started()
            response.streaming_content = TeeIterable(response.streaming_content, capture.response_body, capture.finish)

    return {"request_hook": request_hook, "response_hook": response_hook}
