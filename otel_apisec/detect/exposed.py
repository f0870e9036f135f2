"""The raw values of one exchange that must never leave the process.

Credentials the caller presented (tokens, API keys, Basic user and password, session cookies)
and every PII or secret a detector found, cut out of the captured text by the finding's spans.
The export path masks these wherever they turn up in span attributes, events or names,
whoever wrote them. The set itself stays in memory and is dropped with the capture.
"""

from __future__ import annotations

from otel_apisec.detect.api import Analysis
from otel_apisec.detect.auth_credentials import is_session_cookie, presented_credentials, request_cookies
from otel_apisec.detect.fields import exchange_fields
from otel_apisec.detect.token_jwt import find_jwts
from otel_apisec.model import HttpExchange

__all__ = ["MIN_EXPOSED_LENGTH", "exposed_values"]

MIN_EXPOSED_LENGTH = 4
"""Shorter values (a PIN-like `1234` excepted by length) would mask unrelated text everywhere."""


def exposed_values(exchange: HttpExchange, analysis: Analysis) -> set[str]:
    values: set[str] = set()
    for credential in presented_credentials(exchange):
        values.update(v for v in (credential.secret, credential.user, credential.password) if v)
    values.update(candidate.token for candidate in find_jwts(exchange))
    values.update(value for name, value in request_cookies(exchange) if is_session_cookie(name))
    spans_at: dict[str, list[tuple[int, int]]] = {}
    for finding in analysis.findings:
        if finding.spans:
            spans_at.setdefault(finding.location, []).extend(finding.spans)
    if spans_at:
        for field in exchange_fields(exchange):
            spans = spans_at.get(field.location)
            if spans is None or field.is_key:
                continue
            text = exchange.path if field.location == "request.path" else field.text
            values.update(text[start:end] for start, end in spans if end <= len(text))
    return {value for value in values if len(value) >= MIN_EXPOSED_LENGTH}
