"""The raw values of one exchange that must never leave the process.

Credentials the caller presented (tokens, API keys, Basic user and password, session cookies)
and every PII or secret a detector found (`Analysis.exposed`, cut out by the findings' spans).
The export path masks these wherever they turn up in span attributes, events or names,
whoever wrote them. The set itself stays in memory and is dropped with the capture.
"""

from __future__ import annotations

from otel_apisec.detect.api import Analysis
from otel_apisec.detect.auth_credentials import is_session_cookie, presented_credentials, request_cookies
from otel_apisec.detect.token_jwt import find_jwts
from otel_apisec.model import HttpExchange

__all__ = ["MIN_EXPOSED_LENGTH", "exposed_values"]

MIN_EXPOSED_LENGTH = 4
"""Shorter values (a PIN-like `1234` excepted by length) would mask unrelated text everywhere."""


def exposed_values(exchange: HttpExchange, analysis: Analysis) -> set[str]:
    values = set(analysis.exposed)
    for credential in presented_credentials(exchange):
        values.update(v for v in (credential.secret, credential.user, credential.password) if v)
    values.update(candidate.token for candidate in find_jwts(exchange))
    values.update(value for name, value in request_cookies(exchange) if is_session_cookie(name))
    return {value for value in values if len(value) >= MIN_EXPOSED_LENGTH}
