"""`CallFacts` (what one call tells the estate) read off an enriched HTTP server span.

The span has been through `apisec/enrich` (auth scheme and outcome, the caller's keyed hash, one
`apisec.finding` event per finding) and usually `apisec/correlate` (`geo.country.iso_code`); the
inventory runs before `apisec/redact`, so captured bodies still hold their real values and their
JSON types come out right. Only names, types, counts and keyed hashes come out, never a value.

Bounded per span: bodies over `MAX_SCHEMA_BODY_BYTES` are not parsed, at most `MAX_FINDING_EVENTS`
events are read, and query and header parameters are capped (their names are attacker input:
`exchange_facts.parameter_name` drops the ones shaped like values).
"""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.estate import schema
from otel_apisec.estate.exchange_facts import MAX_PARAMETERS, header_parameter, json_schema, media_type_of, typed_parameters
from otel_apisec.estate.facts import CallFacts, FindingFact
from otel_apisec.gateway.runner import SpanView
from otel_apisec.gateway.span_exchange import (
    _METHOD,
    _SCHEME,
    _STATUS,
    REQUEST_BODY,
    RESPONSE_BODY,
    _first,
    _int,
    _path_and_query,
    _text,
    parse_query,
)
from otel_apisec.gateway.span_observation import _rate_limit_header_seen

__all__ = ["MAX_FINDING_EVENTS", "MAX_SCHEMA_BODY_BYTES", "call_facts_of"]

MAX_SCHEMA_BODY_BYTES = 256 << 10
"""Captured bodies larger than this are not parsed for their schema (bounded work per span)."""
MAX_FINDING_EVENTS = 256
"""`apisec.finding` events read from one span at most."""
_REQUEST_HEADER = "http.request.header."
_RESPONSE_HEADER = "http.response.header."
_KINDS = frozenset({Span.SPAN_KIND_SERVER, Span.SPAN_KIND_INTERNAL, Span.SPAN_KIND_UNSPECIFIED})
_HTTP_MARKERS = frozenset({*_METHOD, "http.target", "url.path", "url.full", "http.url", "http.route"})


def call_facts_of(view: SpanView) -> CallFacts | None:
    """What the call `view` describes tells the estate; None when it is not an HTTP server span."""
    span = view.span
    if span.kind not in _KINDS:
        return None
    read = view.attributes()
    attrs = read.attrs
    if not attrs.keys() & _HTTP_MARKERS or (span.kind != Span.SPAN_KIND_SERVER and not attrs.keys() & _METHOD):
        return None
    path, query, url_scheme, _host = _path_and_query(attrs)
    request_headers: dict[str, str] = {}
    forwarded_proto = ""
    content_type = ""
    for key, text in read.headers:
        if key.startswith(_REQUEST_HEADER):
            name = _header_name(key)
            if name == "x-forwarded-proto":
                forwarded_proto = text
            elif name not in request_headers and len(request_headers) < MAX_PARAMETERS:
                kept = header_parameter(name)
                if kept is not None:
                    request_headers[kept] = schema.value_type(text)
        elif key.startswith(_RESPONSE_HEADER) and _response_header_name(key) == "content-type":
            content_type = text
    scheme = (_text(_first(attrs, _SCHEME)) or url_scheme or "http").lower()
    if forwarded_proto.split(",", 1)[0].strip().lower() == "https":
        scheme = "https"
    findings, endpoint_scope = _findings(span)
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    status = _int(_first(attrs, _STATUS))
    principal = _text(attrs.get(A.ENDUSER_PSEUDO_ID))
    country = _text(attrs.get(A.GEO_COUNTRY))
    return CallFacts(
        service=view.service or "unknown_service",
        method=(_text(_first(attrs, _METHOD)) or "GET").upper(),
        route=_text(attrs.get("http.route")) or None,
        path=path.partition("?")[0] or "/",
        time_s=(end or start) / 1e9,
        duration_ms=(end - start) / 1e6 if start and end >= start else None,
        status=status,
        scheme="https" if scheme == "https" else "http",
        auth_scheme=_text(attrs.get(A.AUTH_SCHEME)) or "none",
        auth_outcome=_text(attrs.get(A.AUTH_OUTCOME)) or "anonymous",
        principal=principal or None,
        country=country or None,
        findings=findings,
        query=typed_parameters(parse_query(query[:8192])),  # a longer query's tail is not read
        request_headers=tuple(request_headers.items()),
        request_schema=_json_schema(attrs.get(REQUEST_BODY)),
        response_schema=_json_schema(attrs.get(RESPONSE_BODY)),
        response_media_type=media_type_of(content_type),
        rate_limit_headers=status == 429 or _rate_limit_header_seen(read),
        posture_checked=endpoint_scope or attrs.get(A.POSTURE_CHECKED) is True,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
    )


@functools.lru_cache(maxsize=4096)
def _header_name(key: str) -> str:
    """Python instrumentations write `_` where the header has `-`: read it as `-`."""
    return key[len(_REQUEST_HEADER):].replace("_", "-").lower()


@functools.lru_cache(maxsize=1024)
def _response_header_name(key: str) -> str:
    return key[len(_RESPONSE_HEADER):].replace("_", "-").lower()


def _json_schema(body: object) -> dict[str, Any] | None:
    return json_schema(body, MAX_SCHEMA_BODY_BYTES) if isinstance(body, (str, bytes)) else None


def _findings(span: Span) -> tuple[tuple[FindingFact, ...], bool]:
    """The span's findings, and whether one is a posture fact of the endpoint."""
    facts = []
    endpoint_scope = False
    read = 0
    for event in span.events:
        if event.name != A.FINDING_EVENT:
            continue
        read += 1
        if read > MAX_FINDING_EVENTS:
            break
        values: dict[str, str] = {}
        for kv in event.attributes:
            if kv.key in _EVENT_KEYS:
                values[kv.key] = kv.value.string_value
        scoped = values.get(A.FINDING_SCOPE) == "endpoint"
        endpoint_scope = endpoint_scope or scoped
        facts.append(FindingFact(values.get(A.RULE_ID, ""), values.get(A.FINDING_KIND, ""),
                                 values.get(A.FINDING_SEVERITY, "") or "info", values.get(A.FINDING_LOCATION, ""),
                                 scoped))
    return tuple(facts), endpoint_scope


_EVENT_KEYS = frozenset({A.RULE_ID, A.FINDING_KIND, A.FINDING_SEVERITY, A.FINDING_LOCATION, A.FINDING_SCOPE})
