"""Masking of raw values in everything a span carries, whoever wrote it.

Three rules, applied to every attribute of the span and of its events, and to its name:
- a captured header attribute (`http.request.header.*`) whose header is a credential carrier
  (Authorization, Cookie, API key headers, ...) is masked whole;
- query values under a sensitive key (`password`, `token`, `api_key`, ...) in URL attributes
  (`url.query`, `url.full`, `http.target`, ...) are masked, and URL userinfo too;
- every exposed value of the exchange (credentials, detected PII and secrets), raw or
  percent-encoded, is masked wherever it appears.
Plain `str.replace`/`split` only: linear time on attacker-controlled text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from otel_apisec import attributes as A
from otel_apisec.detect.sensitive_keys import is_sensitive_key

__all__ = ["Redactor", "is_credential_header_attribute", "is_sensitive_header", "mask_sensitive_pairs"]

_CREDENTIAL_HEADER_WORDS = ("auth", "token", "secret", "key", "cookie", "session", "password", "signature", "credential")


@functools.lru_cache(maxsize=4096)  # attribute keys repeat on every span
def is_credential_header_attribute(key: str) -> bool:
    """`http.request.header.x_api_key` (a captured-header attribute) names a credential header."""
    if not key.startswith(A.CAPTURED_HEADER_PREFIXES):
        return False
    return is_sensitive_header(key.split(".", 3)[3])


def is_sensitive_header(name: str) -> bool:
    lower = name.lower()
    return any(word in lower for word in _CREDENTIAL_HEADER_WORDS) or is_sensitive_key(lower)


_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_VALUE_STOPS = frozenset("&; \t\r\n,\"'#)]}>")


def mask_sensitive_pairs(text: str, every_key: bool = False) -> str:
    """`key=value` pairs whose key is sensitive (or any key, with `every_key`) get their value
    masked: query strings, form bodies, log lines (`login failed password=...`). One pass,
    linear in `text`."""
    if "=" not in text:
        return text
    out: list[str] = []
    copied = 0  # text[:copied] is in `out`
    floor = 0  # keys never reach back before the previous value's end
    pos = text.find("=")
    while pos != -1:
        start = pos
        while start > floor and text[start - 1] in _KEY_CHARS:
            start -= 1
        end = pos + 1
        while end < len(text) and text[end] not in _VALUE_STOPS:
            end += 1
        if end > pos + 1 and start < pos and (every_key or is_sensitive_key(text[start:pos])):
            out.append(text[copied:pos + 1])
            out.append(A.REDACTED)
            copied = end
        floor = end
        pos = text.find("=", end)
    out.append(text[copied:])
    return "".join(out)


def _mask_url(url: str, every_key: bool) -> str:
    scheme_end = url.find("://")
    if scheme_end >= 0:
        authority_end = len(url)
        for stop in "/?#":
            found = url.find(stop, scheme_end + 3)
            if found >= 0:
                authority_end = min(authority_end, found)
        at = url.rfind("@", scheme_end + 3, authority_end)
        if at >= 0:
            url = f"{url[:scheme_end + 3]}{A.REDACTED}{url[at:]}"
    return mask_sensitive_pairs(url, every_key)


class Redactor:
    """Masks one exchange's exposed values (and the always-sensitive places) in span data.

    `strict` is for a request span whose exchange could not be analysed: its exposed values are
    unknown, so every query value in URL attributes is masked, whatever its key.
    """

    def __init__(self, exposed: Iterable[str] = (), strict: bool = False) -> None:
        self._strict = strict
        variants: set[str] = set()
        for value in exposed:
            variants.update({value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)})
        # Longest first, so a value that contains another is masked whole.
        self._values = sorted(variants, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, A.REDACTED)
        return text

    def value(self, key: str, value: object) -> object:
        if is_credential_header_attribute(key):
            return (A.REDACTED,) * len(value) if isinstance(value, (list, tuple)) else A.REDACTED
        if isinstance(value, str):
            if key in A.URL_ATTRIBUTES:
                value = _mask_url(value, self._strict)
            return self.text(value) if self._values else value
        if isinstance(value, (list, tuple)) and self._values and value and isinstance(value[0], str):
            return tuple(self.text(item) for item in value)
        return value

    def attributes(self, attributes: Mapping[str, object] | None) -> dict[str, object]:
        return {key: self.value(key, value) for key, value in (attributes or {}).items()}
