"""An `Observation` (what the correlators see of one call) read off an OTLP server span.

The span has been through enrichment, in-process or by the gateway's `apisec/enrich`, so the
caller is already a keyed hash (`enduser.pseudo.id`, `apisec.token.hash`); a span that was not
enriched still gives the method, route, status and client, enough for rate and error patterns.
Object IDs come from the path and, when an agent captured it, from the JSON response body; the SDK
sends no body but keyed hashes of the response's IDs (`apisec.response.resource_ids`, `apisec.response.ids`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.correlate.api import Observation
from otel_apisec.correlate.ids import json_document, object_ids, resource_object_ids, response_object_ids
from otel_apisec.estate.exchange_facts import RATE_LIMIT_HEADERS
from otel_apisec.gateway.span_exchange import (
    _CLIENT,
    _METHOD,
    _STATUS,
    RESPONSE_BODY,
    WANTED_ARRAYS,
    SpanAttributes,
    _first,
    _int,
    _path_and_query,
    _text,
    read_span,
)

__all__ = ["observation_from_span", "observation_of"]

_RESPONSE_HEADER = "http.response.header."
_HTTP_MARKERS = frozenset({*_METHOD, "http.target", "url.path", "url.full", "http.url", "http.route"})
_LOCATION = _RESPONSE_HEADER + "location"
_MAX_RESOURCE_IDS = 256
_ID_HASH_ATTRIBUTES = WANTED_ARRAYS
_MAX_HASH_CHARS = 64
_KINDS = frozenset({Span.SPAN_KIND_SERVER, Span.SPAN_KIND_INTERNAL, Span.SPAN_KIND_UNSPECIFIED})


def observation_from_span(span: Span, service: str, country_of: Callable[[str], str | None] | None = None) -> Observation | None:
    """The call `span` describes, or None when it is not an HTTP server span."""
    return observation_of(span, read_span(span), service, country_of)


@functools.lru_cache(maxsize=4096)
def _rate_limit_header(key: str) -> bool:
    return key.startswith(_RESPONSE_HEADER) and key[len(_RESPONSE_HEADER):].replace("_", "-").lower() in RATE_LIMIT_HEADERS


def _rate_limit_header_seen(read: SpanAttributes) -> bool:
    return any(_rate_limit_header(key) for key, _ in read.headers) or any(_rate_limit_header(key) for key in read.header_keys)


def observation_of(
    span: Span, read: SpanAttributes, service: str, country_of: Callable[[str], str | None] | None = None,
) -> Observation | None:
    """`observation_from_span` from the span's attributes as `read` (shared with the other processors)."""
    if span.kind not in _KINDS:
        return None
    attrs = read.attrs
    if not attrs.keys() & _HTTP_MARKERS or (span.kind != Span.SPAN_KIND_SERVER and not attrs.keys() & _METHOD):
        return None
    path = _path_and_query(attrs)[0]
    route = _text(attrs.get("http.route")) or path
    status = _int(_first(attrs, _STATUS))
    client = _text(_first(attrs, _CLIENT))
    login_succeeded = attrs.get(A.AUTH_LOGIN_SUCCEEDED)
    hashes = _id_hashes(attrs)
    document = None if hashes else json_document(attrs.get(RESPONSE_BODY))
    end = span.end_time_unix_nano or span.start_time_unix_nano
    return Observation(
        time_s=end / 1e9,
        method=(_text(_first(attrs, _METHOD)) or "GET").upper(),
        route=route,
        path=path,
        status=status,
        client=client,
        principal=_text(attrs.get(A.ENDUSER_PSEUDO_ID)),
        token=_text(attrs.get(A.TOKEN_HASH)),
        auth_outcome=_text(attrs.get(A.AUTH_OUTCOME)) or "anonymous",
        is_login=attrs.get(A.AUTH_LOGIN) is True,
        login_succeeded=login_succeeded if isinstance(login_succeeded, bool) else None,
        login_pending=attrs.get(A.AUTH_LOGIN_PENDING) is True,
        object_ids=object_ids(path),
        response_ids=response_object_ids(document) if document is not None else (),
        resource_ids=_resource_ids(document, read) if not hashes else (),
        response_id_hashes=hashes.get(A.RESPONSE_IDS, ()),
        resource_id_hashes=hashes.get(A.RESPONSE_RESOURCE_IDS, ()),
        rate_limited=status == 429 or _rate_limit_header_seen(read),
        country=country_of(client) if client and country_of is not None else None,
        service=service,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
    )


def _resource_ids(document: object | None, read: SpanAttributes) -> tuple[str, ...]:
    """`Observation.resource_ids`: the body's own object or listed objects, then the `Location`
    header's last segment. Bounded: at most `_MAX_RESOURCE_IDS` items are looked at."""
    locations = (value for key, value in read.headers if key.lower() == _LOCATION)
    return resource_object_ids(document, locations, _MAX_RESOURCE_IDS)


def _id_hashes(attrs: dict[str, object]) -> dict[str, tuple[str, ...]]:
    """The keyed hashes of response IDs the SDK sent (`apisec.response.resource_ids`,
    `apisec.response.ids`), by attribute, as the one read of the span kept them; bounded in count
    and length. A key present with no list (a string) still counts, with no hash."""
    found: dict[str, tuple[str, ...]] = {}
    for key in _ID_HASH_ATTRIBUTES:
        if key not in attrs:
            continue
        values = attrs[key]
        items = values[:A.MAX_RESPONSE_IDS] if isinstance(values, tuple) else ()
        found[key] = tuple(v for v in items if len(v) <= _MAX_HASH_CHARS)
    return found
