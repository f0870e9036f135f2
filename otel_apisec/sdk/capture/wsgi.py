"""Capture for WSGI: Flask through its instrumentation's hooks, any other app through a middleware.

    # plain WSGI app, SDK configured in code
    app = OpenTelemetryMiddleware(ApisecWSGIMiddleware(app, runtime.registry, runtime.metrics))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import trace

from otel_apisec.sdk.capture.guard import guarded
from otel_apisec.sdk.capture.record import Capture
from otel_apisec.sdk.capture.registry import CaptureRegistry
from otel_apisec.sdk.capture.wsgi_io import TeeInput, TeeIterable
from otel_apisec.sdk.telemetry import ApisecMetrics

__all__ = ["ApisecWSGIMiddleware", "environ_headers", "flask_hooks", "start_wsgi_capture"]

_SPECIAL_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def _wsgi_text(value: str) -> str:
    # PEP 3333 hands the path over as latin-1 decoded bytes; URLs are UTF-8 in practice.
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Request headers from a WSGI environ (or Django's `request.META`)."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), _wsgi_text(str(value))))
        elif key in _SPECIAL_HEADERS and value:
            headers.append((_SPECIAL_HEADERS[key], str(value)))
    return headers


def start_wsgi_capture(capture: Capture, environ: dict[str, Any], tee_input: bool = True) -> None:
    """Request facts from the environ; `wsgi.input` is replaced by a tee the app reads through."""
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    capture.set_request(
        method=environ.get("REQUEST_METHOD", "GET"),
        scheme=environ.get("wsgi.url_scheme", "http"),
        host=host,
        path=_wsgi_text(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/",
        query=_wsgi_text(environ.get("QUERY_STRING", "")),
        headers=environ_headers(environ),
        client_address=environ.get("REMOTE_ADDR"),
    )
    if tee_input and "wsgi.input" in environ and capture.wants_request_body():
        environ["wsgi.input"] = TeeInput(environ["wsgi.input"], capture.request_body)


def _status_code(status: str) -> int | None:
    head = status.split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def flask_hooks(registry: CaptureRegistry, metrics: ApisecMetrics) -> dict[str, Callable[..., None]]:
    """`request_hook` and `response_hook` for `FlaskInstrumentor().instrument(...)`."""
    import flask  # only when Flask is there

    @guarded("capture.flask.response_body", metrics)
    def keep_response_body(capture: Capture, response: Any) -> Any:
        if not registry.settings.wants_body(response.content_type):
            return response
        if response.is_streamed:
            capture.stream_started()
            response.response = TeeIterable(response.response, capture.response_body, capture.finish)
        else:
            capture.response_body.set(response.get_data())
        return response

    @guarded("capture.flask.request", metrics)
    def request_hook(span: trace.Span, environ: dict[str, Any]) -> None:
        capture = registry.start(span)
        if capture is None:
            return
        start_wsgi_capture(capture, environ)
        # Runs inside Flask's request context, before the view: the callback gets the response
        # object before it is turned into WSGI, the one place its body is visible.
        flask.after_this_request(lambda response: keep_response_body(capture, response) or response)

    @guarded("capture.flask.response", metrics)
    def response_hook(span: trace.Span, status: str, response_headers: list[tuple[str, str]]) -> None:
        capture = registry.get(span.get_span_context().span_id) if span is not None else None
        if capture is not None:
            capture.set_response(_status_code(status), response_headers)

    return {"request_hook": request_hook, "response_hook": response_hook}


class ApisecWSGIMiddleware:
    """Capture for any WSGI app. Place it inside OpenTelemetry's WSGI middleware, so the server
    span is current when it runs."""

    def __init__(self, app: Callable[..., Iterable[bytes]], registry: CaptureRegistry, metrics: ApisecMetrics) -> None:
        self.app = app
        self._registry = registry
        self._start = guarded("capture.wsgi.request", metrics)(self._start_capture)
        self._wrap = guarded("capture.wsgi.response", metrics)(self._wrap_body)

    def _start_capture(self, environ: dict[str, Any]) -> Capture | None:
        capture = self._registry.start(trace.get_current_span())
        if capture is not None:
            start_wsgi_capture(capture, environ)
        return capture

    def _wrap_body(self, capture: Capture, result: Iterable[bytes]) -> Iterable[bytes]:
        capture.stream_started()
        return TeeIterable(result, capture.response_body, capture.finish)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        capture = self._start(environ)
        if capture is None:
            return self.app(environ, start_response)

        def capturing_start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            capture.set_response(_status_code(status), headers)
            return start_response(status, headers, *exc_info)

        result = self.app(environ, capturing_start_response)
        return self._wrap(capture, result) or result
