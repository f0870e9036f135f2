"""Capture for ASGI apps (FastAPI, Starlette, plain ASGI) through the ASGI instrumentation's hooks.

The server hook opens the capture; the receive and send hooks see every body message, so no
stream is wrapped and the app's own `receive`/`send` stay untouched. The server span ends after
the last body message, so the capture is complete when the span ends. (The hooks run only when
the instrumentation keeps its `receive`/`send` spans, its default.)

    # plain ASGI app, SDK configured in code
    app = OpenTelemetryMiddleware(app, **asgi_hooks(runtime.registry, runtime.metrics))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace

from otel_apisec.sdk.capture.guard import guarded
from otel_apisec.sdk.capture.registry import CaptureRegistry
from otel_apisec.sdk.telemetry import ApisecMetrics

__all__ = ["asgi_hooks"]


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _headers(raw: Any) -> list[tuple[str, str]]:
    return [(_text(name).lower(), _text(value)) for name, value in raw or ()]


def asgi_hooks(registry: CaptureRegistry, metrics: ApisecMetrics) -> dict[str, Callable[..., None]]:
    """`server_request_hook`, `client_request_hook`, `client_response_hook` for the ASGI instrumentations."""

    def capture_of(span: trace.Span) -> Any:
        parent = getattr(span, "parent", None)  # receive/send spans are children of the server span
        return registry.get(parent.span_id) if parent is not None else None

    @guarded("capture.asgi.request", metrics)
    def server_request_hook(span: trace.Span, scope: dict[str, Any]) -> None:
        if scope.get("type") != "http":
            return
        capture = registry.start(span)
        if capture is None:
            return
        headers = _headers(scope.get("headers"))
        host = next((value for name, value in headers if name == "host"), "")
        client = scope.get("client")
        capture.set_request(
            method=scope.get("method", "GET"),
            scheme=scope.get("scheme", "http"),
            host=host,
            path=scope.get("root_path", "") + scope.get("path", "/"),
            query=_text(scope.get("query_string", b"")),
            headers=headers,
            client_address=client[0] if client else None,
        )

    @guarded("capture.asgi.receive", metrics)
    def client_request_hook(span: trace.Span, scope: dict[str, Any], message: dict[str, Any]) -> None:
        if message.get("type") == "http.request":
            capture = capture_of(span)
            if capture is not None and capture.wants_request_body():
                capture.request_body.add(message.get("body", b""))

    @guarded("capture.asgi.send", metrics)
    def client_response_hook(span: trace.Span, scope: dict[str, Any], message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind not in ("http.response.start", "http.response.body"):
            return
        capture = capture_of(span)
        if capture is None:
            return
        if kind == "http.response.start":
            capture.set_response(message.get("status"), _headers(message.get("headers")))
        elif capture.wants_response_body():
            capture.response_body.add(message.get("body", b""))

    return {
        "server_request_hook": server_request_hook,
        "client_request_hook": client_request_hook,
        "client_response_hook": client_response_hook,
    }
