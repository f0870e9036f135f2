"""Response security posture: transport, security headers, CORS, cookies, banners, leaked errors.

Treblle's 13 API security checks are the floor. At most one finding per check per exchange;
response-header checks run only when the exchange has a response (`status` is not None).
Missing-header findings point at the header that should be there (`response.header.<name>`).

Two kinds of check (`detect/rules/posture.py` gives each rule its scope):

* endpoint facts (transport, security and rate-limit headers, banners, cookie flags, CORS `*` with
  credentials, an Allow list naming TRACE) run only when `DetectContext.endpoint_due` says the
  endpoint is new or answers in a shape it has not shown lately. `endpoint_shape` is what they
  read, normalized, and nothing else they read: equal shapes give equal endpoint findings (a
  property test holds it to that). Values that change per response without changing a verdict
  (rate-limit counters, cookie values, CSP nonces, `X-Runtime`) are reduced to what is judged.
* exchange facts (stack traces and SQL errors in the body, CORS trusting this caller's origin, a
  TRACE request that succeeded, a sequential ID in the path) run on every exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import unquote, urlsplit

import re2

from otel_apisec.detect.api import DetectContext, ExchangeOutput
from otel_apisec.detect.auth_credentials import forwarded_https, is_session_cookie, transport_is_secure
from otel_apisec.detect.fields import is_textual
from otel_apisec.detect.posture_errors import error_markers, find_sql_error, find_stack_trace
from otel_apisec.detect.rules.posture import (
    COOKIE_NO_SAMESITE,
    COOKIE_NOT_HTTPONLY,
    COOKIE_NOT_SECURE,
    CORS_REFLECTED_ORIGIN,
    CORS_WILDCARD_CREDENTIALS,
    DANGEROUS_METHOD,
    FRAMEWORK_BANNER,
    MISSING_CSP,
    MISSING_FRAME_OPTIONS,
    MISSING_HSTS,
    MISSING_NOSNIFF,
    MISSING_RATE_LIMIT,
    PLAIN_HTTP,
    SEQUENTIAL_ID,
    SERVER_VERSION,
    SQL_ERROR,
    STACK_TRACE,
    TRACE_ADVERTISED,
)
from otel_apisec.model import HttpExchange, Severity

__all__ = ["DETECTOR", "PostureDetector", "endpoint_shape"]


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_BANNER_HEADERS = (
    "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-runtime", "x-generator",
    "x-php-version", "x-powered-cms", "x-backend-server",
)
_BANNER_SET = frozenset(_BANNER_HEADERS)
_RATE_LIMIT_PREFIXES = ("ratelimit", "x-ratelimit", "x-rate-limit", "retry-after")
_VERSION = re2.compile(r"[A-Za-z][\w.-]*/v?\d+(\.\d+)*|\b\d+\.\d+(\.\d+)+\b")
_TRACE_METHODS = frozenset({"TRACE", "TRACK"})
_MIN_HSTS_MAX_AGE = 86_400
_COOKIE_TOKEN_WORDS = ("token", "auth", "sess", "jwt")
_API_PATH_WORDS = frozenset({"api", "v", "version", "versions", "rev", "page"})
# A year after one of these (`/reports/2024`, `/archive/1999`) is a period, not an object ID.
_PERIOD_WORDS = frozenset(
    {"year", "years", "yr", "fy", "report", "reports", "archive", "archives", "calendar", "stats",
     "statistics", "history", "season", "seasons", "budget", "budgets", "tax", "taxes", "annual",
     "period", "periods", "summary", "summaries", "holidays", "blog", "news"}
)
_YEARS = range(1990, 2101)


def _media_type(exchange: HttpExchange) -> str:
    raw = exchange.response_headers.get("content-type") or (
        exchange.response_body.content_type if exchange.response_body else ""
    )
    return raw.split(";", 1)[0].strip().lower()


def _has_body(exchange: HttpExchange) -> bool:
    body = exchange.response_body
    return bool(body and body.data) or "content-type" in exchange.response_headers


def _hsts_ok(value: str | None) -> bool:
    if not value:
        return False
    for directive in value.split(";"):
        name, _, arg = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            arg = arg.strip().strip('"')
            # ASCII digits only (`"²".isdigit()` is true), long ones judged by length: int() of a
            # 4300-digit string raises in Python 3.11+.
            digits = arg.lstrip("0")
            return arg.isascii() and arg.isdigit() and (len(digits) > 9 or int(digits or "0") >= _MIN_HSTS_MAX_AGE)
    return False


def _site(host: str) -> str:
    """Last two labels of a host name: a cheap same-site test (no public-suffix list)."""
    bare = host.lower().rsplit("@", 1)[-1].split(":", 1)[0]
    return ".".join(bare.split(".")[-2:])


def _transport_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    if not transport_is_secure(exchange):
        yield PLAIN_HTTP.finding("request.path", "API called over plain HTTP")


def _set_cookies(exchange: HttpExchange) -> Iterator[tuple[str, frozenset[str]]]:
    """(name, lower-cased attribute names) of each cookie the response sets (the first 50), cookie
    deletions left out: all the cookie checks read, never a value."""
    for header in exchange.response_headers.get_all("set-cookie")[:50]:
        parts = header.split(";")
        name, _, value = parts[0].partition("=")
        name = name.strip()
        attributes = {p.strip().split("=", 1)[0].strip().lower(): p.strip() for p in parts[1:]}
        max_age = attributes.get("max-age", "").partition("=")[2].strip()
        if not name or not value.strip() or max_age in ("0", "-1"):
            continue  # cookie deletion: nothing worth protecting
        yield name, frozenset(attributes)


def _cookie_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    insecure: list[str] = []
    script_readable: list[str] = []
    no_samesite: list[str] = []
    for name, attributes in _set_cookies(exchange):
        sensitive = is_session_cookie(name) or any(w in name.lower() for w in _COOKIE_TOKEN_WORDS)
        if "secure" not in attributes:
            insecure.append(name)
        if sensitive and "httponly" not in attributes:
            script_readable.append(name)
        if sensitive and "samesite" not in attributes:
            no_samesite.append(name)
    where = "response.header.set-cookie"
    for rule, names in ((COOKIE_NOT_SECURE, insecure), (COOKIE_NOT_HTTPONLY, script_readable),
                        (COOKIE_NO_SAMESITE, no_samesite)):
        if names:
            yield rule.finding(where, f"{rule.title}: {', '.join(names[:5])}")


def _cors_credentials(exchange: HttpExchange) -> bool:
    return (exchange.response_headers.get("access-control-allow-credentials") or "").strip().lower() == "true"


def _cors_wildcard(exchange: HttpExchange) -> bool:
    return (exchange.response_headers.get("access-control-allow-origin") or "").strip() == "*"


def _cors_wildcard_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    """The endpoint's CORS policy: any origin, with credentials."""
    if _cors_wildcard(exchange) and _cors_credentials(exchange):
        yield CORS_WILDCARD_CREDENTIALS.finding("response.header.access-control-allow-origin")


def _cors_origin_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    """This response trusting this caller's origin: reflected cross-site with credentials, or `null`."""
    headers = exchange.response_headers
    allow_origin = (headers.get("access-control-allow-origin") or "").strip()
    if not allow_origin or allow_origin == "*":
        return
    credentials = _cors_credentials(exchange)
    where = "response.header.access-control-allow-origin"
    origin = (exchange.request_headers.get("origin") or "").strip()
    if allow_origin.lower() == "null":
        yield CORS_REFLECTED_ORIGIN.finding(
            where, "CORS allows the `null` origin (sandboxed frames, file: pages)",
            severity=None if credentials else Severity.MEDIUM,
        )
    elif credentials and origin and allow_origin == origin:
        try:
            origin_host = urlsplit(origin).hostname or ""
        except ValueError:  # `http://[x` is no origin a browser sends; echoed with credentials all the same
            origin_host = ""
        if _site(origin_host) != _site(exchange.host):
            yield CORS_REFLECTED_ORIGIN.finding(
                where,
                "CORS echoes a cross-site request Origin with credentials; verify an allow-list is enforced",
                severity=Severity.MEDIUM,
            )


def _server(exchange: HttpExchange) -> str:
    return (exchange.response_headers.get("server") or "")[:512]


def _banner(exchange: HttpExchange, names: list[str] | None = None) -> str | None:
    """The first framework banner header the response sends (its value is not judged). `names`:
    `response_headers.names()`, when the caller has them (most responses send no banner)."""
    headers = exchange.response_headers
    if not _BANNER_SET.intersection(headers.names() if names is None else names):
        return None
    return next((h for h in _BANNER_HEADERS if (headers.get(h) or "").strip()), None)


def _banner_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    server = _server(exchange)
    if server and _VERSION.search(server):
        yield SERVER_VERSION.finding("response.header.server")
    banner = _banner(exchange)
    if banner:
        yield FRAMEWORK_BANNER.finding(
            f"response.header.{banner}", f"Response header {banner} discloses the stack"
        )


def _header_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    headers = exchange.response_headers
    https = exchange.is_tls or forwarded_https(exchange)
    if https and not _hsts_ok(headers.get("strict-transport-security")):
        yield MISSING_HSTS.finding("response.header.strict-transport-security")
    if not _has_body(exchange):
        return
    html = _media_type(exchange) in _HTML_TYPES
    content_severity = None if html else Severity.INFO  # framing and CSP matter most for renderable pages
    if (headers.get("x-content-type-options") or "").strip().lower() != "nosniff":
        yield MISSING_NOSNIFF.finding("response.header.x-content-type-options")
    csp, frame_ancestors = _csp(exchange)
    if not headers.get("x-frame-options") and not frame_ancestors:
        yield MISSING_FRAME_OPTIONS.finding("response.header.x-frame-options", severity=content_severity)
    if not csp:
        yield MISSING_CSP.finding("response.header.content-security-policy", severity=content_severity)
    if not _rate_limited(exchange):
        yield MISSING_RATE_LIMIT.finding("response.header.ratelimit")


def _csp(exchange: HttpExchange) -> tuple[bool, bool]:
    """(a CSP is sent, it has `frame-ancestors`): all that is judged of it (nonces vary per response)."""
    csp = " ".join(exchange.response_headers.get_all("content-security-policy")).lower()
    return bool(csp), "frame-ancestors" in csp


def _rate_limited(exchange: HttpExchange, names: list[str] | None = None) -> bool:
    """Rate-limit headers are sent (their values count down per response, and are not judged)."""
    return any(name.startswith(_RATE_LIMIT_PREFIXES) for name in names or exchange.response_headers.names())


def _trace_request(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    """This exchange: a TRACE/TRACK request that succeeded."""
    status = exchange.status or 0
    if exchange.method.upper() in _TRACE_METHODS and 200 <= status < 300:
        yield DANGEROUS_METHOD.finding("request.path", f"{exchange.method.upper()} request succeeded")


_ALLOW_HEADERS = ("allow", "access-control-allow-methods")


def _trace_advertised(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    """The endpoint: its Allow or Access-Control-Allow-Methods header lists TRACE/TRACK."""
    for header in _ALLOW_HEADERS:
        methods = {m.strip().upper() for m in (exchange.response_headers.get(header) or "").split(",")}
        if methods & _TRACE_METHODS:
            yield TRACE_ADVERTISED.finding(f"response.header.{header}", f"{header} header lists TRACE/TRACK")
            return


def _body_checks(exchange: HttpExchange, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    body = exchange.response_body
    if body is None or not body.data:
        return
    media = body.media_type or _media_type(exchange)
    if media and not is_textual(media):
        return
    data = body.data[: ctx.config.max_body_bytes]
    maybe_trace, maybe_sql = error_markers(data, stack_traces=(exchange.status or 0) >= 400)
    if not (maybe_trace or maybe_sql):
        return  # the clean path: no RE2 pass, no decoding
    text = data.decode("utf-8", "replace")
    trace = find_stack_trace(text) if maybe_trace else None
    if trace is not None:
        message = f"Error response leaks a {trace[0]} stack trace"
        yield STACK_TRACE.finding("response.body", message, (trace[1],))
    sql = find_sql_error(text) if maybe_sql else None
    if sql is not None:
        message = f"Response leaks a {sql[0]} database error message"
        yield SQL_ERROR.finding("response.body", message, (sql[1],))


def _is_year(segment: str) -> bool:
    return len(segment) == 4 and segment.isascii() and segment.isdigit() and int(segment) in _YEARS


def _small_number(segment: str, top: int) -> bool:
    return 1 <= len(segment) <= 2 and segment.isascii() and segment.isdigit() and 1 <= int(segment) <= top


def _period_segments(segments: list[str]) -> set[int]:
    """Indices of path segments that name a time period, not an object.

    A year after a period word (`/reports/2024`), a year range (`/1999/2000`), and dates
    (`/2024/05`, `/2024/05/17`) with their month and day.
    """
    found: set[int] = set()
    previous = ""
    for index, segment in enumerate(segments):
        if _is_year(segment):
            following = segments[index + 1 : index + 3]
            if previous.lower() in _PERIOD_WORDS or _is_year(previous):
                found.add(index)
            if following and _is_year(following[0]):
                found.update((index, index + 1))
            elif following and _small_number(following[0], 12):
                found.update((index, index + 1))
                if len(following) > 1 and _small_number(following[1], 31):
                    found.add(index + 2)
        previous = segment or previous
    return found


def _sequential_id(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    if exchange.status is not None and not 200 <= exchange.status < 300:
        return
    segments = unquote(exchange.path).split("/")
    periods = _period_segments(segments)
    offset = 0
    previous = ""
    for index, segment in enumerate(segments):
        numeric = segment.isascii() and segment.isdigit() and len(segment) <= 19
        if numeric and index not in periods and previous.lower() not in _API_PATH_WORDS:
            yield SEQUENTIAL_ID.finding("request.path", spans=((offset, offset + len(segment)),))
            return
        previous = segment or previous
        offset += len(segment) + 1


_VALUE_HEADERS = ("strict-transport-security", "x-content-type-options", "x-frame-options", *_ALLOW_HEADERS)
"""Headers whose first value an endpoint check judges as a whole: kept as is in the shape."""


def endpoint_shape(exchange: HttpExchange) -> tuple[object, ...]:
    """Every input of the endpoint-scope checks, normalized: two exchanges of one shape get the
    same endpoint findings. A dozen header lookups, no pattern: cheaper than the checks.

    Transport (TLS, also at a proxy; loopback), whether there is a response, a body and its media
    type; HSTS, nosniff, frame options and Allow lists as sent; whether a CSP is sent and has
    `frame-ancestors`; whether rate-limit headers are sent; CORS `*` and credentials; the Server
    header; the banner header named; each cookie set, by name and attribute names.
    """
    headers = exchange.response_headers
    if exchange.status is None:  # no response: only transport and Allow lists are judged
        return (False, transport_is_secure(exchange), tuple(headers.get(name) for name in _ALLOW_HEADERS))
    names = headers.names()
    return (
        True,
        transport_is_secure(exchange),
        exchange.is_tls or forwarded_https(exchange),
        _has_body(exchange),
        _media_type(exchange) in _HTML_TYPES,
        tuple(headers.get(name) for name in _VALUE_HEADERS),
        _csp(exchange),
        _rate_limited(exchange, names),
        _cors_wildcard(exchange),
        _cors_credentials(exchange),
        _server(exchange),
        _banner(exchange, names),
        tuple(_set_cookies(exchange)),
    )


_ENDPOINT_STEPS: tuple[tuple[str, Callable[[HttpExchange], Iterator[ExchangeOutput]], bool], ...] = (
    # (step, checks, needs a response), in report order
    ("posture.transport", _transport_checks, False),
    ("posture.method", _trace_advertised, False),
    ("posture.headers", _header_checks, True),
    ("posture.cors", _cors_wildcard_checks, True),
    ("posture.cookies", _cookie_checks, True),
    ("posture.banners", _banner_checks, True),
)


class PostureDetector:
    name = "posture"

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterator[ExchangeOutput]:
        # Each group of checks is a step of its own: a header that breaks one loses its findings only.
        yield from ctx.guarded("posture.sequential_id", _sequential_id, exchange)
        yield from ctx.guarded("posture.trace_request", _trace_request, exchange)
        if exchange.status is not None:
            yield from ctx.guarded("posture.cors_origin", _cors_origin_checks, exchange)
            yield from ctx.guarded("posture.body", _body_checks, exchange, ctx)
        yield from self._endpoint_facts(exchange, ctx)

    @staticmethod
    def _endpoint_facts(exchange: HttpExchange, ctx: DetectContext) -> list[ExchangeOutput]:
        """The endpoint-scope checks, when the endpoint's shape is new (or `posture_per_endpoint` is off)."""
        shape = ctx.guarded("posture.shape", lambda e: (endpoint_shape(e),), exchange)
        if not shape or not ctx.endpoint_due(shape[0]):
            return []
        failed = len(ctx.failed)
        found: list[ExchangeOutput] = []
        for step, checks, needs_response in _ENDPOINT_STEPS:
            if exchange.status is not None or not needs_response:
                found.extend(ctx.guarded(step, checks, exchange))
        if len(ctx.failed) > failed:  # a step broke on this response: check the next one of its shape again
            ctx.endpoint_failed(shape[0])
        return found


DETECTOR = PostureDetector()
