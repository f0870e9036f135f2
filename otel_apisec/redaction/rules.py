"""The masking rules every redaction path applies: credential shapes, sensitive pairs, URLs.

- a captured header attribute (`http.request.header.*`) whose header is a credential carrier
  (Authorization, Cookie, API key headers, ...) is masked whole (`is_credential_header_attribute`);
- query values under a sensitive key (`password`, `token`, `api_key`, ...) and user-info in URLs
  (`mask_url`);
- credentials embedded in any text (`mask_credentials`): JWTs, `Basic <base64>` credentials,
  `key=value` and `"key": "value"` pairs whose key is sensitive, also percent-encoded.
RE2 and plain `str` operations only: linear time on attacker-controlled text.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools

import re2

from otel_apisec import attributes as A
from otel_apisec.detect.sensitive_keys import is_sensitive_key

__all__ = [
    "Spans",
    "credential_spans",
    "is_credential_header_attribute",
    "is_sensitive_header",
    "mask_credentials",
    "mask_sensitive_pairs",
    "mask_url",
    "masked",
    "percent_decoded",
    "raw_spans",
]

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
_JSON_VALUE_STOPS = frozenset(",}] \t\r\n")
_QUOTES = "\"'"
_MAX_KEY_CHARS = 64
"""Longest key the quoted-pair rule looks back for: bounds its backward scan, so it stays linear."""
_MAX_SPACES = 8
_ASCII_ESCAPES = {f"{code:02x}": chr(code) for code in range(0x20, 0x7F)}
_ASCII_ESCAPES.update({key.upper(): char for key, char in _ASCII_ESCAPES.items()})

Spans = list[tuple[int, int]]
"""(start, end) character offsets to mask."""


def percent_decoded(raw: str) -> tuple[str, list[int]] | None:
    """`raw` with `%XX` escapes of printable ASCII decoded (and `+` as a space when it looks like a
    form-encoded query), and the decoded offsets of the escaped characters (sorted); None when
    nothing was decoded. Decoded offset `d` is raw offset `d + 2 * bisect_left(marks, d)`, for
    starts and exclusive ends alike (`raw_spans`)."""
    plus = "+" in raw and "=" in raw  # a form-encoded query: `+` is a space (`q=4111+1111+...`)
    if "%" not in raw and not plus:
        return None
    if plus:
        raw = raw.replace("+", " ")  # same length: offsets do not move
    parts = raw.split("%")
    out = [parts[0]]
    marks: list[int] = []
    at = len(parts[0])
    for part in parts[1:]:
        char = _ASCII_ESCAPES.get(part[:2])
        if char is None:
            out.append("%")
            out.append(part)
            at += 1 + len(part)
        else:
            marks.append(at)
            out.append(char)
            out.append(part[2:])
            at += len(part) - 1
    return ("".join(out), marks) if marks or plus else None


def raw_spans(spans: Spans, marks: list[int], offset: int = 0) -> Spans:
    """Spans of a percent-decoded text (see `percent_decoded`) as spans of the raw text, + `offset`."""
    return [(offset + start + 2 * bisect.bisect_left(marks, start), offset + end + 2 * bisect.bisect_left(marks, end))
            for start, end in spans]


def masked(text: str, spans: Spans) -> str:
    """`text` with the spans replaced, one `***` per run of overlapping or touching spans."""
    runs: list[list[int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if runs and start <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    out: list[str] = []
    copied = 0
    for start, end in runs:
        out.append(text[copied:start])
        out.append(A.REDACTED)
        copied = end
    out.append(text[copied:])
    return "".join(out)


def _opening_quote(text: str, at: int) -> str:
    """The quote token opening a value at `at`: `"`, `'`, an escaped `\\"` or `\\'`, or ""."""
    char = text[at:at + 1]
    if char and char in _QUOTES:
        return char
    if char == "\\" and text[at + 1:at + 2] in _QUOTES and text[at + 1:at + 2]:
        return text[at:at + 2]
    return ""


def _quoted_end(text: str, start: int, quote: str) -> int:
    """Index of the quote token closing a value that starts at `start` (a backslash escapes a
    plain quote); the end of the text when there is none (an unterminated value is masked to the end)."""
    end = text.find(quote, start)
    while end > 0 and len(quote) == 1 and text[end - 1] == "\\":
        end = text.find(quote, end + 1)
    return len(text) if end < 0 else end


def _pair_spans(text: str, every_key: bool = False) -> Spans:
    """Values of `key=value` pairs whose key is sensitive (or any key, with `every_key`), quoted
    ones whole (`password="two words"`, `password=\\"...\\"` in a logged string). One pass."""
    spans: Spans = []
    floor = 0  # keys never reach back before the previous value's end
    pos = text.find("=")
    while pos != -1:
        start = pos
        while start > floor and text[start - 1] in _KEY_CHARS:
            start -= 1
        if not (start < pos and (every_key or is_sensitive_key(text[start:pos]))):
            floor = pos + 1  # another key's value is searched for pairs too: `q=token%3D...`, `msg="password=..."`
            pos = text.find("=", floor)
            continue
        value_start = pos + 1
        quote = _opening_quote(text, value_start)
        if quote:
            value_start += len(quote)
            end = _quoted_end(text, value_start, quote)
        else:  # (`=` does not end a value: `password=a=b` is masked whole)
            end = value_start
            while end < len(text) and text[end] not in _VALUE_STOPS:
                end += 1
        if end > value_start:
            spans.append((value_start, end))
        floor = end
        pos = text.find("=", end)
    return spans


def _quoted_pair_spans(text: str) -> Spans:
    """Values of `"key": "value"` (JSON, also backslash-escaped inside a logged string) and
    `'key': 'value'` whose key is sensitive. Objects and arrays under such a key are left to their
    own pairs. One pass."""
    spans: Spans = []
    floor = 0
    pos = text.find(":")
    while pos != -1:
        next_from = pos + 1
        close = pos - 1
        while close > floor and pos - close <= _MAX_SPACES and text[close] == " ":
            close -= 1
        if close > floor and text[close] in _QUOTES:
            quote = text[close]  # the key's closing quote: its opening one must match
            key_end = close - 1 if text[close - 1] == "\\" else close
            start = key_end
            while start > floor and key_end - start < _MAX_KEY_CHARS and text[start - 1] in _KEY_CHARS:
                start -= 1
            if start > 0 and text[start - 1] == quote and start < key_end and is_sensitive_key(text[start:key_end]):
                value_start = pos + 1
                while value_start < len(text) and value_start - pos <= _MAX_SPACES and text[value_start] == " ":
                    value_start += 1
                token = _opening_quote(text, value_start)
                if token:
                    value_start += len(token)
                    end = _quoted_end(text, value_start, token)
                elif text.startswith(("{", "["), value_start):
                    end = value_start  # the pairs inside are masked on their own
                else:
                    end = value_start
                    while end < len(text) and text[end] not in _JSON_VALUE_STOPS:
                        end += 1
                if end > value_start:
                    spans.append((value_start, end))
                    next_from = floor = end
        pos = text.find(":", next_from)
    return spans


def mask_sensitive_pairs(text: str, every_key: bool = False) -> str:
    """`key=value` pairs whose key is sensitive (or any key, with `every_key`) get their value
    masked: query strings, form bodies, log lines (`login failed password=...`). Linear in `text`."""
    if "=" not in text:
        return text
    spans = _pair_spans(text, every_key)
    return masked(text, spans) if spans else text


# A JWS or JWE: a base64url JSON header (`eyJ` is `{"`) and two or four more dot-separated
# segments, any payload (claims, encrypted, detached). No left boundary: `Bearer%20eyJ...`.
_JWT = re2.compile(r"eyJ[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*){2,4}")
# `Basic <base64 of user:password>`.
_BASIC = re2.compile(r"(?i:basic)[ \t+]+([A-Za-z0-9+/_-]{4,}={0,2})")
_MAX_BASIC_CHARS = 4096
"""A longer `Basic` value is masked without decoding it: no credential is that long."""


def _is_basic_credential(token: str) -> bool:
    """Base64 (standard or URL-safe) of text with a `:` (`user:password`); `Basic plan` is not."""
    if len(token) > _MAX_BASIC_CHARS:
        return True
    data = token.rstrip("=")
    data = data[: len(data) - (len(data) % 4 == 1)]  # one char past a block cannot decode
    altchars = b"-_" if "-" in data or "_" in data else None
    try:
        decoded = base64.b64decode(data + "=" * (-len(data) % 4), altchars=altchars)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def _matches(pattern: re2._Regexp, text: str) -> list[re2._Match]:
    try:
        return list(pattern.finditer(text))
    except UnicodeEncodeError:  # a lone surrogate (Python strings in process): `?` keeps every offset
        return list(pattern.finditer(text.encode("utf-8", "replace").decode()))


def _credential_spans(text: str) -> Spans:
    spans: Spans = []
    if "eyJ" in text:
        spans.extend((m.start(), m.end()) for m in _matches(_JWT, text))
    if "asic" in text or "ASIC" in text:
        spans.extend((m.start(1), m.end(1)) for m in _matches(_BASIC, text) if _is_basic_credential(m.group(1)))
    if "=" in text:
        spans.extend(_pair_spans(text))
    if ":" in text and ('"' in text or "'" in text):
        spans.extend(_quoted_pair_spans(text))
    return spans


def credential_spans(text: str) -> Spans:
    """Where `text` holds credentials, whatever the attribute: JWTs anywhere, `Basic` credentials,
    `key=value` / `"key": "value"` pairs with a sensitive key; also in its percent-decoded form
    (`Basic%20...`, `password%3D...`), mapped back. Substring checks first: most texts hold none."""
    spans = _credential_spans(text)
    decoded = percent_decoded(text)
    if decoded is not None:
        spans.extend(raw_spans(_credential_spans(decoded[0]), decoded[1]))
    return spans


_SHORT = 256


def mask_credentials(text: str) -> str:
    """`text` with every `credential_spans` span masked."""
    if len(text) <= _SHORT:
        return _mask_short(text)
    spans = credential_spans(text)
    return masked(text, spans) if spans else text


@functools.lru_cache(maxsize=8192)  # methods, routes, user agents, header values repeat on every span
def _mask_short(text: str) -> str:
    spans = credential_spans(text)
    return masked(text, spans) if spans else text


def mask_url(url: str, every_key: bool = False) -> str:
    """URL user-info, and query values under a sensitive key (any key with `every_key`), masked."""
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
