"""The request's `Cookie` header as (name, value) pairs, in linear time, parsed once per exchange.

`http.cookies.SimpleCookie` is not used: its unquoting is quadratic on runs of backslashes in
a quoted value (CVE-2024-7592, still in Python 3.11.7), so one crafted header held the analysis
lock for minutes. It also takes `path=`, `expires=` and `$`-names for attributes of the cookie
before them, hiding them from the detectors although Django and Starlette apps receive them.

The grammar is RFC 6265's `cookie-string` read leniently, the way Django and Starlette read it:
pairs split on every `;` (a quoted value never holds one in RFC 6265, and browsers split there
too), spaces around names and values dropped, the value taken after the first `=`. Pairs without
`=` or with an empty name are skipped. A value wrapped in double quotes loses the quotes and is
unescaped in one pass as `http.cookies` does for those apps (`\\ooo` octal, `\\c` for `c`), so
the detectors see what the application sees.
"""

from __future__ import annotations

from otel_apisec.model import HttpExchange

__all__ = ["MAX_COOKIE_CHARS", "MAX_COOKIES", "parse_cookie_header", "parse_cookies", "request_cookies"]

MAX_COOKIE_CHARS = 64 * 1024
"""Characters of one `Cookie` header read; the rest is ignored. Servers refuse longer header lines
(gunicorn 8 KiB, nginx 8 KiB, Node 16 KiB for all headers) and browsers send at most ~180 cookies
of 4 KiB per site, so a longer header is an attack on us, not a cookie jar an application reads."""
MAX_COOKIES = 300
"""Pairs taken per exchange: each becomes a field every field detector scans, and browsers keep
at most ~180 per site (RFC 6265 asks for 50)."""

_OCTAL = frozenset("01234567")


def _unquote(value: str) -> str:
    """A quoted value without its quotes and with escapes resolved, in one left-to-right pass."""
    inner = value[1:-1]
    if "\\" not in inner:
        return inner
    out: list[str] = []
    start = 0
    while (slash := inner.find("\\", start)) >= 0 and slash + 1 < len(inner):
        out.append(inner[start:slash])
        octal = inner[slash + 1:slash + 4]
        if len(octal) == 3 and octal[0] in "0123" and octal[1] in _OCTAL and octal[2] in _OCTAL:
            out.append(chr(int(octal, 8)))
            start = slash + 4
        else:
            out.append(inner[slash + 1])
            start = slash + 2
    out.append(inner[start:])  # a lone trailing backslash stays
    return "".join(out)


def parse_cookie_header(
    header: str, max_pairs: int = MAX_COOKIES, max_chars: int = MAX_COOKIE_CHARS
) -> list[tuple[str, str]]:
    """The (name, value) pairs of one `Cookie` header value, in order, duplicates kept. Never raises."""
    pairs: list[tuple[str, str]] = []
    for part in header[:max_chars].split(";"):
        if len(pairs) >= max_pairs:
            break
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _unquote(value)
        pairs.append((name, value))
    return pairs


def parse_cookies(header_values: list[str], max_pairs: int = MAX_COOKIES) -> list[tuple[str, str]]:
    """Pairs of several `Cookie` header values (HTTP/2 may send one per cookie), `max_pairs` in all."""
    pairs: list[tuple[str, str]] = []
    for header in header_values:
        pairs.extend(parse_cookie_header(header, max_pairs - len(pairs)))
    return pairs


def request_cookies(exchange: HttpExchange) -> tuple[tuple[str, str], ...]:
    """`exchange.cookies` when the producer gave them (HAR), else its `Cookie` headers parsed, once
    per exchange: the result is kept on the exchange, so every detector shares one parse."""
    if exchange.cookies:
        return exchange.cookies
    parsed = exchange.parsed_cookies
    if parsed is None:
        parsed = tuple(parse_cookies(exchange.request_headers.get_all("cookie")))
        exchange.keep_parsed_cookies(parsed)
    return parsed
