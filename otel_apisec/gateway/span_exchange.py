"""An `HttpExchange` rebuilt from the attributes of an OTLP server span, whatever agent wrote it.

Both generations of the HTTP semantic conventions are read (old: `http.method`, `http.target`,
`net.peer.ip`, ...; stable: `http.request.method`, `url.path`, `client.address`, ...), the first
present name winning. Captured headers come from `http.request.header.<name>` and
`http.response.header.<name>`: Python instrumentations write `_` where the header has `-`, Java
and Node keep `-`, so `_` is read as `-`. Bodies come from `http.request.body` and
`http.response.body`, where the Hypertrace agents put them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.model import Body, Headers, HttpExchange

__all__ = [
    "BODY_ATTRIBUTES", "MAX_BODY_BYTES", "MAX_HEADER_VALUES", "WANTED", "WANTED_ARRAYS", "SpanAttributes",
    "exchange_from_span", "exchange_of", "parse_query", "read_span", "request_of",
]

MAX_BODY_BYTES = 1 << 20
"""A body attribute longer than this is cut here and marked truncated."""
MAX_HEADER_VALUES = 256
"""Captured header values read from one span at most; the rest are ignored."""
REQUEST_BODY = "http.request.body"
RESPONSE_BODY = "http.response.body"
BODY_ATTRIBUTES = frozenset({REQUEST_BODY, RESPONSE_BODY})

_HEADER_STEM = "http.re"  # shared by both header prefixes: one test for most keys
_REQUEST_HEADER = "http.request.header."
_RESPONSE_HEADER = "http.response.header."
_SERVER, _INTERNAL, _UNSPECIFIED = Span.SPAN_KIND_SERVER, Span.SPAN_KIND_INTERNAL, Span.SPAN_KIND_UNSPECIFIED
_DEFAULT_PORTS = {"http": 80, "https": 443}

# The attributes read here (headers and bodies aside); first present name wins, in this order.
_METHOD = ("http.request.method", "http.method")
_SCHEME = ("url.scheme", "http.scheme")
_TARGET = ("http.target",)
_URL = ("url.full", "http.url")
_STATUS = ("http.response.status_code", "http.status_code")
_CLIENT = ("client.address", "http.client_ip", "net.sock.peer.addr", "net.peer.ip", "network.peer.address")
_USER_AGENT = ("user_agent.original", "http.user_agent")
_ENRICHED = A.AUTH_OUTCOME
WANTED_ARRAYS = frozenset({A.RESPONSE_RESOURCE_IDS, A.RESPONSE_IDS})
"""Wanted keys whose value is a list (the response IDs' keyed hashes the SDK sends): `attrs` holds
all of its string items, as a tuple, where other keys keep the first item only."""
WANTED = frozenset({
    *_METHOD, *_SCHEME, *_TARGET, *_URL, *_STATUS, *_CLIENT, *_USER_AGENT,
    "http.request.method_original", "http.host", "server.address", "server.port", "net.host.name", "net.host.port",
    "url.path", "url.query", "http.route", *BODY_ATTRIBUTES, _ENRICHED,
    # for the correlators' Observation (span_observation) and the filter
    A.ENDUSER_PSEUDO_ID, A.TOKEN_HASH, A.AUTH_LOGIN, A.AUTH_LOGIN_SUCCEEDED, A.AUTH_LOGIN_PENDING, A.FINDINGS,
    # for the inventory's CallFacts (span_facts)
    A.AUTH_SCHEME, A.GEO_COUNTRY, A.POSTURE_CHECKED,
    *WANTED_ARRAYS,
})
"""The keys whose values a reader of spans wants: enrichment, correlation, the filter."""
# Without any of these a SERVER span is not an HTTP one (gRPC, messaging, ...).
_HTTP_MARKERS = frozenset({*_METHOD, *_TARGET, *_URL, "url.path", "http.route"})
_LOCATORS = frozenset({*_TARGET, *_URL, "url.path"})


def _scalar(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bytes_value":
        return value.bytes_value
    if kind == "array_value":  # a single-valued list where a scalar is expected: take its first
        items = value.array_value.values
        return _scalar(items[0]) if items else None
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    return None


def _first(attrs: dict[str, object], names: tuple[str, ...]) -> object:
    for name in names:
        value = attrs.get(name)
        if value is not None and value != "":
            return value
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def _body(value: object, content_type: str | None) -> Body | None:
    if value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
    if not data:
        return None
    truncated = len(data) > MAX_BODY_BYTES
    return Body(data[:MAX_BODY_BYTES] if truncated else data, content_type or "", truncated)


def _host(attrs: dict[str, object], scheme: str, url_host: str, request_headers: Headers) -> str:
    host = _text(attrs.get("http.host"))
    if host:
        return host
    for name_key, port_key in (("server.address", "server.port"), ("net.host.name", "net.host.port")):
        name = _text(attrs.get(name_key))
        if name:
            port = _int(attrs.get(port_key))
            return name if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{name}:{port}"
    return url_host or request_headers.get("host") or ""


def _path_and_query(attrs: dict[str, object]) -> tuple[str, str, str, str]:
    """(path, raw query, scheme from URL, host from URL)."""
    target = _text(_first(attrs, _TARGET))
    path = _text(attrs.get("url.path"))
    if path:
        query = _text(attrs.get("url.query")) or ""
        if not query and target and "?" in target:
            query = target.split("?", 1)[1]
        return path, query, "", ""
    if target:
        path, _, query = target.partition("?")
        return path.split("#", 1)[0] or "/", query.split("#", 1)[0], "", ""
    url = _text(_first(attrs, _URL))
    if url:
        try:
            parts = urlsplit(url)
        except ValueError:  # an invalid IPv6 netloc: keep what follows the authority
            return "/", "", "", ""
        return parts.path or "/", parts.query, parts.scheme, parts.netloc.rpartition("@")[2]
    return "/", "", "", ""


class SpanAttributes:
    """One pass over a span's attributes: what every reader of them needs, so none walks them again.

    `attrs` holds the values of the keys some reader wants (`WANTED`), as they are now: whoever
    edits one in place updates it here too (`redact_span` does), and attributes appended later are
    read on demand (`read_appended`)."""

    __slots__ = ("attrs", "count", "header_keys", "headers", "nested", "strings")

    def __init__(self) -> None:
        self.attrs: dict[str, object] = {}
        """Wanted keys -> their scalar value (an array: its first item; the last of repeated keys)."""
        self.headers: list[tuple[str, str]] = []
        """(captured header attribute key, one string value)."""
        self.header_keys: list[str] = []
        """Header attribute keys whose value is not a non-empty string (arrays included)."""
        self.strings: list[tuple[str, AnyValue, str]] = []
        """Every string value as (key, the AnyValue holding it, the string), array items included;
        an AnyValue may be assigned a new string in place."""
        self.nested: list[tuple[str, AnyValue]] = []
        """Values that are neither strings nor arrays of them: maps and bytes."""
        self.count = 0
        """Attributes read so far."""

    @property
    def enriched(self) -> bool:
        """The span carries `apisec.auth.outcome`: enriched in-process (or by the gateway) already."""
        return _ENRICHED in self.attrs

    def read_appended(self, span: Span) -> None:
        """Read the attributes appended to `span` since the last read."""
        kvs = span.attributes
        if len(kvs) > self.count:
            self._read(kvs[self.count:] if self.count else kvs)
            self.count = len(kvs)

    def drop_values(self) -> None:
        """Let go of `strings` and `nested` (the AnyValues, for masking) once the span is masked: a
        batch keeps its reads until its last processor, and thousands of live tuples and message
        wrappers cost every garbage collection. A later `redact_span` reads the span again."""
        self.strings = self.nested = _DROPPED

    @property
    def dropped(self) -> bool:
        return self.strings is _DROPPED

    def _read(self, kvs: Iterable[KeyValue]) -> None:
        attrs, headers = self.attrs, self.headers
        strings, nested = (self.strings, self.nested) if not self.dropped else ([], [])
        for kv in kvs:
            key = kv.key
            value = kv.value
            text = value.string_value  # "" for other kinds: the common case costs one access
            if text:
                strings.append((key, value, text))
                if key in WANTED:
                    attrs[key] = text
                elif key.startswith(_HEADER_STEM):
                    headers.append((key, text))
                continue
            header = key.startswith(_HEADER_STEM) and key not in WANTED
            if header:
                self.header_keys.append(key)
            which = value.WhichOneof("value")
            if which == "array_value":
                items: list[str] = []
                for item in value.array_value.values:
                    item_text = item.string_value
                    if item_text:
                        strings.append((key, item, item_text))
                        items.append(item_text)
                        if header:
                            headers.append((key, item_text))
                if key in WANTED:
                    attrs[key] = tuple(items) if key in WANTED_ARRAYS else _scalar(value)
            elif which == "kvlist_value" or which == "bytes_value":
                nested.append((key, value))
                if key in WANTED:
                    attrs[key] = _scalar(value)
            elif which is not None and key in WANTED:
                attrs[key] = _scalar(value)


_DROPPED: list[Any] = []
"""What `strings` and `nested` are once dropped (never appended to: see `_read`)."""


def read_span(span: Span) -> SpanAttributes:
    """One pass over the attributes of `span`."""
    read = SpanAttributes()
    read.read_appended(span)
    return read


def exchange_of(span: Span, read: SpanAttributes) -> HttpExchange | None:
    """The exchange `span` describes, from its attributes as `read` (see `exchange_from_span`)."""
    return None if read.enriched else request_of(span, read)


def request_of(span: Span, read: SpanAttributes) -> HttpExchange | None:
    """The exchange `span` describes, enriched already or not (for readers that see spans after
    enrichment, such as the `apisec/crs` processor): its values as they are now, masked ones masked."""
    kind = span.kind
    if not (kind == _SERVER or kind == _INTERNAL or kind == _UNSPECIFIED):
        return None
    return _exchange(span, kind, read.attrs, read.headers)


@functools.lru_cache(maxsize=4096)
def _header_name(key: str) -> tuple[bool, str] | None:
    """(is a request header, header name) for a captured header attribute key, else None."""
    if key.startswith(_REQUEST_HEADER):
        return True, key[len(_REQUEST_HEADER):].replace("_", "-")
    if key.startswith(_RESPONSE_HEADER):
        return False, key[len(_RESPONSE_HEADER):].replace("_", "-")
    return None


def _exchange(span: Span, kind: int, attrs: dict[str, object], headers: list[tuple[str, str]]) -> HttpExchange | None:
    if not attrs.keys() & _HTTP_MARKERS:
        return None
    method = _text(_first(attrs, _METHOD))
    if kind != _SERVER and not (method and attrs.keys() & _LOCATORS):
        return None
    request_headers: list[tuple[str, str]] = []
    response_headers: list[tuple[str, str]] = []
    for key, text in headers[:MAX_HEADER_VALUES]:
        side = _header_name(key)
        if side is not None:
            (request_headers if side[0] else response_headers).append((side[1], text))
    if method == "_OTHER":  # stable semconv: an unknown method, the original kept aside
        method = _text(attrs.get("http.request.method_original")) or method
    path, query, url_scheme, url_host = _path_and_query(attrs)
    scheme = (_text(_first(attrs, _SCHEME)) or url_scheme or "http").lower()
    user_agent = _text(_first(attrs, _USER_AGENT))
    if user_agent and not any(name.lower() == "user-agent" for name, _ in request_headers):
        request_headers.append(("User-Agent", user_agent))
    req_headers, resp_headers = Headers(request_headers), Headers(response_headers)
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    return HttpExchange(
        method=(method or "GET").upper(),
        scheme=scheme,
        host=_host(attrs, scheme, url_host, req_headers),
        path=path,
        route=_text(attrs.get("http.route")) or None,
        query=parse_query(query),
        request_headers=req_headers,
        request_body=_body(attrs.get(REQUEST_BODY), req_headers.get("content-type")),
        status=_int(_first(attrs, _STATUS)),
        response_headers=resp_headers,
        response_body=_body(attrs.get(RESPONSE_BODY), resp_headers.get("content-type")),
        client_address=_text(_first(attrs, _CLIENT)),
        started_at=start / 1e9 if start else None,
        duration_ms=(end - start) / 1e6 if start and end >= start else None,
    )


def parse_query(query: str) -> tuple[tuple[str, str], ...]:
    """`urllib.parse.parse_qsl(query, keep_blank_values=True)`, without its per-call overhead."""
    if not query:
        return ()
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return tuple(pairs)


def _unquote_plus(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text


def exchange_from_span(span: Span) -> HttpExchange | None:
    """The HTTP exchange a server span describes, or None when it is not an HTTP server span.

    A SERVER span needs one HTTP request attribute (method, target, URL, path or route); an
    INTERNAL or UNSPECIFIED span (some ASGI servers make their request span INTERNAL) needs the
    method and a target, URL or path. CLIENT, PRODUCER and CONSUMER spans are never exchanges,
    nor are spans already enriched in-process (they carry `apisec.auth.outcome`).
    """
    return exchange_of(span, read_span(span))
