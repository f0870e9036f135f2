"""The posture family's rules (APISEC-POS-NNN, kinds `posture.<check>`): transport, headers, CORS, cookies, errors.

Scope (`otel_apisec.detect.rule`): response hygiene that every response of an endpoint shares is a
fact of the endpoint (`scope=ENDPOINT`), checked again only when its response shape changes: transport,
the security headers, rate-limit headers, banners, cookie flags, CORS `*` with credentials, an
Allow list naming TRACE. What one response shows beyond its endpoint's posture stays on that
exchange: a leaked stack trace or SQL error, CORS trusting this caller's origin (reflected, or
`null`), a TRACE request that succeeded, a sequential ID in this path.
"""

from __future__ import annotations

from otel_apisec.detect.rule import ENDPOINT, define
from otel_apisec.model import Severity

__all__ = [
    "COOKIE_NOT_HTTPONLY",
    "COOKIE_NOT_SECURE",
    "COOKIE_NO_SAMESITE",
    "CORS_REFLECTED_ORIGIN",
    "CORS_WILDCARD_CREDENTIALS",
    "DANGEROUS_METHOD",
    "FRAMEWORK_BANNER",
    "MISSING_CSP",
    "MISSING_FRAME_OPTIONS",
    "MISSING_HSTS",
    "MISSING_NOSNIFF",
    "MISSING_RATE_LIMIT",
    "PLAIN_HTTP",
    "SEQUENTIAL_ID",
    "SERVER_VERSION",
    "SQL_ERROR",
    "STACK_TRACE",
    "TRACE_ADVERTISED",
]

_API8 = "API8:2023"

PLAIN_HTTP = define(
    "APISEC-POS-001", "posture.plain_http", "API served over plain HTTP",
    Severity.MEDIUM, _API8, "CWE-319", "Serve the API over HTTPS only.",
    scope=ENDPOINT,
)
MISSING_HSTS = define(
    "APISEC-POS-002", "posture.missing_hsts", "HTTPS response without Strict-Transport-Security",
    Severity.LOW, _API8, "CWE-319", "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains`.",
    scope=ENDPOINT,
)
MISSING_NOSNIFF = define(
    "APISEC-POS-003", "posture.missing_nosniff", "Response without X-Content-Type-Options: nosniff",
    Severity.LOW, _API8, "CWE-693", "Send `X-Content-Type-Options: nosniff` on every response.",
    scope=ENDPOINT,
)
MISSING_FRAME_OPTIONS = define(
    "APISEC-POS-004", "posture.missing_frame_options",
    "Response can be framed (no X-Frame-Options or frame-ancestors)",
    Severity.LOW, _API8, "CWE-1021", "Send `X-Frame-Options: DENY` or CSP `frame-ancestors 'none'`.",
    scope=ENDPOINT,
)
MISSING_CSP = define(
    "APISEC-POS-005", "posture.missing_csp", "Response without Content-Security-Policy",
    Severity.LOW, _API8, "CWE-693",
    "Send a restrictive CSP (APIs: `default-src 'none'; frame-ancestors 'none'`).",
    scope=ENDPOINT,
)
CORS_WILDCARD_CREDENTIALS = define(
    "APISEC-POS-006", "posture.cors_wildcard_credentials", "CORS allows any origin together with credentials",
    Severity.MEDIUM, _API8, "CWE-942", "Allow-list origins explicitly; never combine `*` with credentials.",
    scope=ENDPOINT,
)
CORS_REFLECTED_ORIGIN = define(
    "APISEC-POS-007", "posture.cors_reflected_origin", "CORS trusts the caller's origin with credentials",
    Severity.HIGH, _API8, "CWE-942",
    "Check Origin against an allow-list before echoing it; never allow the `null` origin.",
)
COOKIE_NOT_SECURE = define(
    "APISEC-POS-008", "posture.cookie_not_secure", "Cookie set without the Secure flag",
    Severity.MEDIUM, _API8, "CWE-614", "Set `Secure` on every cookie.",
    scope=ENDPOINT,
)
COOKIE_NOT_HTTPONLY = define(
    "APISEC-POS-009", "posture.cookie_not_httponly", "Session cookie set without HttpOnly",
    Severity.MEDIUM, _API8, "CWE-1004", "Set `HttpOnly` on session and token cookies.",
    scope=ENDPOINT,
)
COOKIE_NO_SAMESITE = define(
    "APISEC-POS-010", "posture.cookie_no_samesite", "Session cookie set without a SameSite attribute",
    Severity.LOW, _API8, "CWE-1275", "Set `SameSite=Lax` or `Strict` on session cookies.",
    scope=ENDPOINT,
)
SERVER_VERSION = define(
    "APISEC-POS-011", "posture.server_version_banner", "Server header discloses a software version",
    Severity.LOW, _API8, "CWE-200", "Strip version numbers from the Server header.",
    scope=ENDPOINT,
)
FRAMEWORK_BANNER = define(
    "APISEC-POS-012", "posture.framework_banner", "Response header discloses the framework or runtime",
    Severity.LOW, _API8, "CWE-200", "Remove X-Powered-By, X-AspNet-Version and similar headers.",
    scope=ENDPOINT,
)
STACK_TRACE = define(
    "APISEC-POS-013", "posture.stack_trace", "Error response leaks a stack trace",
    Severity.MEDIUM, _API8, "CWE-209", "Return generic error bodies; log details server-side only.",
)
SQL_ERROR = define(
    "APISEC-POS-014", "posture.sql_error", "Response leaks a database error message",
    Severity.MEDIUM, _API8, "CWE-209", "Catch database errors and return a generic message.",
)
SEQUENTIAL_ID = define(
    "APISEC-POS-015", "posture.sequential_id",
    "Sequential numeric object ID in the path (BOLA enumeration risk)",
    Severity.INFO, "API1:2023", "CWE-639", "Check object ownership on every access; prefer unguessable IDs.",
)
MISSING_RATE_LIMIT = define(
    "APISEC-POS-016", "posture.missing_rate_limit_headers", "Response without rate-limit headers",
    Severity.INFO, "API4:2023", "CWE-770", "Rate-limit the API and advertise it (RateLimit-* / Retry-After).",
    scope=ENDPOINT,
)
DANGEROUS_METHOD = define(
    "APISEC-POS-017", "posture.dangerous_method", "TRACE/TRACK method enabled",
    Severity.MEDIUM, _API8, "CWE-749", "Disable TRACE and TRACK on the server and proxies.",
)
# An Allow list naming TRACE was once reported as APISEC-POS-017 too. It is a fact of the endpoint,
# a TRACE request that succeeded a fact of that exchange: each has its own rule, so its own scope.
TRACE_ADVERTISED = define(
    "APISEC-POS-018", "posture.trace_advertised", "Allow or Access-Control-Allow-Methods lists TRACE/TRACK",
    Severity.MEDIUM, _API8, "CWE-749",
    "Disable TRACE and TRACK on the server and proxies, and stop listing them in Allow headers.",
    scope=ENDPOINT,
)
