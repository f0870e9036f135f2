"""Builders of test inputs: `HttpExchange` values and OTLP trace requests and spans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec.model import Body, Headers, HttpExchange

__all__ = ["any_value", "key_values", "make_exchange", "server_span", "trace_request"]

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]


def _body(data: bytes | str | None, json: object, content_type: str | None) -> Body | None:
    if json is not None:
        return Body(orjson.dumps(json), content_type or "application/json")
    if data is None:
        return None
    raw = data.encode() if isinstance(data, str) else data
    return Body(raw, content_type or "text/plain")


def make_exchange(
    url: str = "https://api.example.com/",
    method: str = "GET",
    *,
    headers: HeaderInput = (),
    body: bytes | str | None = None,
    json: object = None,
    content_type: str | None = None,
    status: int | None = 200,
    response_headers: HeaderInput = (),
    response_body: bytes | str | None = None,
    response_json: object = None,
    response_content_type: str | None = None,
    route: str | None = None,
    client_address: str | None = "203.0.113.7",
    started_at: float | None = None,
) -> HttpExchange:
    """An `HttpExchange` from a URL and friendly keyword arguments.

    >>> make_exchange("http://h/p?q=1", headers={"User-Agent": "x"}, json={"a": 1}).query
    (('q', '1'),)
    """
    parts = urlsplit(url)
    return HttpExchange(
        method=method,
        scheme=parts.scheme or "https",
        host=parts.netloc,
        path=parts.path or "/",
        route=route,
        query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
        request_headers=Headers(headers),
        request_body=_body(body, json, content_type),
        status=status,
        response_headers=Headers(response_headers),
        response_body=_body(response_body, response_json, response_content_type),
        client_address=client_address,
        started_at=started_at,
    )


# --- OTLP requests by hand --------------------------------------------------------------------------------------

_START_NS = 1_700_000_000_000_000_000


def any_value(value: object) -> AnyValue:
    """A Python value as an OTLP AnyValue: str, bool, int, float, bytes, dict (kvlist), list or tuple (array)."""
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bool):  # before int: bool is an int
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, Mapping):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    return AnyValue(array_value=ArrayValue(values=[any_value(item) for item in value]))  # type: ignore[attr-defined]


def key_values(attributes: Mapping[str, object]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


def server_span(attributes: Mapping[str, object], name: str = "GET /", *, span_id: int = 1, duration_ms: float = 12.5) -> Span:
    """An HTTP server span as an agent would send it (trace id fixed, span id from `span_id`)."""
    return Span(
        trace_id=b"\x01" * 16, span_id=span_id.to_bytes(8, "big"), name=name, kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=_START_NS, end_time_unix_nano=_START_NS + int(duration_ms * 1e6),
        attributes=key_values(attributes),
    )


def trace_request(*spans: Span, resource: Mapping[str, object] | None = None) -> ExportTraceServiceRequest:
    """One OTLP trace export request holding `spans` under one resource (default `service.name=shop`)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource if resource is not None else {"service.name": "shop"}))
    resource_spans.scope_spans.add().spans.extend(spans)
    return request
