"""`CallFacts` of an analysed `HttpExchange`: how recorded traffic (a HAR entry, run through the
`Analyzer` by `otel-apisec inventory`) reaches the estate.

Only names, types, counts and keyed hashes come out. Parameter names are attacker input too: a name
that is not identifier-shaped (an email, a token, a long digit run) is not an API parameter and is
dropped, never stored.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import Any

import orjson

from otel_apisec.detect.api import Analysis
from otel_apisec.detect.auth_credentials import forwarded_https
from otel_apisec.estate import schema
from otel_apisec.estate.facts import CallFacts, FindingFact
from otel_apisec.model import Body, Finding, HttpExchange

__all__ = [
    "MAX_PARAMETERS",
    "MAX_SCHEMA_BODY_BYTES",
    "RATE_LIMIT_HEADERS",
    "STANDARD_REQUEST_HEADERS",
    "call_facts",
    "header_parameter",
    "host_service",
    "json_schema",
    "media_type_of",
    "parameter_name",
    "typed_parameters",
]

RATE_LIMIT_HEADERS = frozenset({
    "retry-after", "ratelimit", "ratelimit-policy", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset",
    "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-rate-limit-limit",
    "x-rate-limit-remaining", "x-rate-limit-reset",
})
"""Response headers that show the API enforces a rate limit (IETF draft RateLimit fields and the
common X- variants)."""

STANDARD_REQUEST_HEADERS = frozenset({
    # HTTP semantics, content negotiation, caching, conditionals, connection management.
    "a-im", "accept", "accept-charset", "accept-datetime", "accept-encoding", "accept-language", "authorization",
    "cache-control", "connection", "content-encoding", "content-length", "content-md5", "content-type", "cookie",
    "date", "dnt", "early-data", "expect", "forwarded", "from", "host", "http2-settings", "if-match",
    "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "keep-alive", "max-forwards", "origin",
    "pragma", "prefer", "priority", "proxy-authorization", "proxy-connection", "range", "referer", "save-data", "te",
    "trailer", "transfer-encoding", "upgrade", "upgrade-insecure-requests", "user-agent", "via", "warning",
    # Browser fetch metadata and client hints.
    "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user", "sec-gpc", "sec-purpose",
    "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "sec-websocket-key", "sec-websocket-version",
    "sec-websocket-extensions", "sec-websocket-protocol", "access-control-request-method",
    "access-control-request-headers",
    # Proxies, load balancers and tracing: infrastructure, not the API's parameters.
    "x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "x-forwarded-prefix",
    "x-real-ip", "x-request-id", "x-correlation-id", "x-amzn-trace-id", "x-cloud-trace-context", "traceparent",
    "tracestate", "baggage", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags",
    "x-envoy-expected-rq-timeout-ms", "x-envoy-attempt-count", "cdn-loop", "true-client-ip", "cf-connecting-ip",
    "cf-ipcountry", "cf-ray", "cf-visitor", "x-requested-with",
})
"""Request headers every client or proxy sends. The others (`x-api-key`, `x-tenant`) are the API's
own header parameters, recorded by name and value type."""

MAX_SCHEMA_BODY_BYTES = 1 << 20
"""JSON bodies larger than this are not parsed for their schema (bounded work per call)."""
MAX_PARAMETERS = 64
"""Query and header parameters taken from one call (or span), each."""
_MAX_NAME = 40
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.[]")
_MAX_DIGIT_RUN = 5
"""A name with a longer run of digits is a value (an account or card number), not a parameter."""
_MEDIA_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-/")
_MAX_MEDIA_TYPE = 100
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def parameter_name(name: str) -> str | None:
    """`name` when it is shaped like a parameter name (short, identifier characters, no long digit
    run), else None: the name itself may be personal or secret data."""
    if not name or len(name) > _MAX_NAME or not all(c in _NAME_CHARS for c in name):
        return None
    run = 0
    for c in name:
        run = run + 1 if c.isdigit() else 0
        if run > _MAX_DIGIT_RUN:
            return None
    return name


def host_service(exchange: HttpExchange) -> str:
    """The service of recorded traffic: the request's host, lower-cased, without its default port."""
    host = exchange.host.strip().lower()
    default_port = _DEFAULT_PORTS.get(exchange.scheme.lower())
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    return host or "unknown_service"


def typed_parameters(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """(name, value type) of the first occurrence of each name shaped like a parameter, at most
    `MAX_PARAMETERS`: never a value."""
    seen: dict[str, str] = {}
    for name, value in pairs:
        kept = parameter_name(name)
        if kept is not None and kept not in seen:
            seen[kept] = schema.value_type(value)
            if len(seen) >= MAX_PARAMETERS:
                break
    return tuple(seen.items())


@functools.lru_cache(maxsize=4096)
def header_parameter(name: str) -> str | None:
    """A lower-cased request header name as a parameter: None for standard headers, HTTP/2
    pseudo-headers (`:authority`) and names that may be data."""
    if name in STANDARD_REQUEST_HEADERS or name.startswith(":"):
        return None
    return parameter_name(name)


def json_schema(data: str | bytes, max_bytes: int) -> dict[str, Any] | None:
    """`schema.infer` of a JSON object or array body of at most `max_bytes`, else None."""
    if not data or len(data) > max_bytes or data.lstrip()[:1] not in ("{", "[", b"{", b"["):
        return None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:  # also raised past orjson's nesting limit
        return None
    return schema.infer(document)


def media_type_of(content_type: str) -> str | None:
    """`application/json` from `Application/JSON; charset=utf-8`; None when it is not shaped like one."""
    media = content_type.split(";", 1)[0].strip().lower()
    if not media or len(media) > _MAX_MEDIA_TYPE or media.count("/") != 1 or not all(c in _MEDIA_CHARS for c in media):
        return None
    return media


def _request_headers(exchange: HttpExchange) -> tuple[tuple[str, str], ...]:
    seen: dict[str, str] = {}
    for name, value in exchange.request_headers:
        lowered = name.lower()
        if lowered in seen:
            continue
        kept = header_parameter(lowered)
        if kept is not None and len(seen) < MAX_PARAMETERS:
            seen[kept] = schema.value_type(value)
    return tuple(seen.items())


def _json_schema(body: Body | None) -> dict[str, Any] | None:
    if body is None or body.truncated or ("json" not in body.media_type and body.media_type):
        return None
    return json_schema(body.data, MAX_SCHEMA_BODY_BYTES)


def _media_type(exchange: HttpExchange) -> str | None:
    return media_type_of(exchange.response_headers.get("content-type") or (
        exchange.response_body.content_type if exchange.response_body else ""))


def _finding_fact(finding: Finding) -> FindingFact:
    return FindingFact(finding.rule_id, finding.kind, finding.severity.label, finding.location, finding.endpoint_scope)


def call_facts(exchange: HttpExchange, analysis: Analysis, service: str, entry: int | None = None,
               country: str | None = None) -> CallFacts:
    """What `exchange` and its `analysis` tell the estate. `entry` is the HAR entry index (the
    evidence when there is no span); `country` the client's, when the caller looked it up."""
    if exchange.started_at is not None:
        end = exchange.started_at + (exchange.duration_ms or 0.0) / 1000.0
    else:
        end = time.time()
    findings = tuple(_finding_fact(f) for f in analysis.findings)
    response_headers = exchange.response_headers
    return CallFacts(
        service=service,
        method=exchange.method.upper(),
        route=exchange.route,
        path=exchange.path.partition("?")[0] or "/",
        time_s=end,
        duration_ms=exchange.duration_ms,
        status=exchange.status,
        scheme="https" if exchange.is_tls or forwarded_https(exchange) else "http",
        auth_scheme=analysis.auth.scheme.value,
        auth_outcome=analysis.auth.outcome.value,
        principal=analysis.auth.principal_hash,
        country=country,
        findings=findings,
        query=typed_parameters(exchange.query),
        request_headers=_request_headers(exchange),
        request_schema=_json_schema(exchange.request_body),
        response_schema=_json_schema(exchange.response_body),
        response_media_type=_media_type(exchange),
        rate_limit_headers=any(name in RATE_LIMIT_HEADERS for name in response_headers.names()),
        posture_checked=analysis.posture_checked,
        entry=entry,
    )
