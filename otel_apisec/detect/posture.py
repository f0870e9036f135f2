"""Response security posture: transport, security headers, CORS, cookies, banners, leaked errors.

Treblle's 13 API security checks are the floor. At most one finding per check per exchange;
response-header checks run only when the exchange has a response (`status` is not None).
Missing-header findings point at the header that should be there (`response.header.<name>`).
"""

from __future__ import annotations

from collections.abc import Iterator
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
)
from otel_apisec.model import HttpExchange, Severity

__all__ = ["DETECTOR", "PostureDetector"]


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_BANNER_HEADERS = (
    "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-runtime", "x-generator",
    "x-php-version", "x-powered-cms", "x-backend-server",
)
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


def _cookie_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    insecure: list[str] = []
    script_readable: list[str] = []
    no_samesite: list[str] = []
    for header in exchange.response_headers.get_all("set-cookie")[:50]:
        parts = header.split(";")
        name, _, value = parts[0].partition("=")
        name = name.strip()
        attributes = {p.strip().split("=", 1)[0].strip().lower(): p.strip() for p in parts[1:]}
        max_age = attributes.get("max-age", "").partition("=")[2].strip()
        if not name or not value.strip() or max_age in ("0", "-1"):
            continue  # cookie deletion: nothing worth protecting
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


def _cors_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    headers = exchange.response_headers
    allow_origin = (headers.get("access-control-allow-origin") or "").strip()
    if not allow_origin:
        return
    credentials = (headers.get("access-control-allow-credentials") or "").strip().lower() == "true"
    where = "response.header.access-control-allow-origin"
    origin = (exchange.request_headers.get("origin") or "").strip()
    if allow_origin == "*" and credentials:
        yield CORS_WILDCARD_CREDENTIALS.finding(where)
    elif allow_origin.lower() == "null":
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


def _banner_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    headers = exchange.response_headers
    server = (headers.get("server") or "")[:512]
    if server and _VERSION.search(server):
        yield SERVER_VERSION.finding("response.header.server")
    banner = next((h for h in _BANNER_HEADERS if (headers.get(h) or "").strip()), None)
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
    csp = " ".join(headers.get_all("content-security-policy")).lower()
    if not headers.get("x-frame-options") and "frame-ancestors" not in csp:
        yield MISSING_FRAME_OPTIONS.finding("response.header.x-frame-options", severity=content_severity)
    if not csp:
        yield MISSING_CSP.finding("response.header.content-security-policy", severity=content_severity)
    if not any(name.startswith(_RATE_LIMIT_PREFIXES) for name in headers.names()):
        yield MISSING_RATE_LIMIT.finding("response.header.ratelimit")


def _method_checks(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    status = exchange.status or 0
    if exchange.method.upper() in _TRACE_METHODS and 200 <= status < 300:
        yield DANGEROUS_METHOD.finding("request.path", f"{exchange.method.upper()} request succeeded")
        return
    for header in ("allow", "access-control-allow-methods"):
        methods = {m.strip().upper() for m in (exchange.response_headers.get(header) or "").split(",")}
        if methods & _TRACE_METHODS:
            yield DANGEROUS_METHOD.finding(f"response.header.{header}", f"{header} header lists TRACE/TRACK")
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


class PostureDetector:
    name = "posture"

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterator[ExchangeOutput]:
        # Each group of checks is a step of its own: a header that breaks one loses its findings only.
        yield from ctx.guarded("posture.transport", _transport_checks, exchange)
        yield from ctx.guarded("posture.sequential_id", _sequential_id, exchange)
        yield from ctx.guarded("posture.method", _method_checks, exchange)
        if exchange.status is None:
            return
        yield from ctx.guarded("posture.headers", _header_checks, exchange)
        yield from ctx.guarded("posture.cors", _cors_checks, exchange)
        yield from ctx.guarded("posture.cookies", _cookie_checks, exchange)
        yield from ctx.guarded("posture.banners", _banner_checks, exchange)
        yield from ctx.guarded("posture.body", _body_checks, exchange, ctx)


DETECTOR = PostureDetector()
