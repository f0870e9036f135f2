"""Undo what attackers encode, in linear time, before the attack-class checks run.

Every step is one left-to-right pass (bounded splits, RE2, `str` methods) whose output is never
longer than its input, and the decoding loop is bounded, so the whole pipeline is O(n).
"""

from __future__ import annotations

import html.entities
import unicodedata
from collections.abc import Callable

import re2

__all__ = ["MAX_ROUNDS", "collapse_sql_comments", "decode", "looks_encoded"]

MAX_ROUNDS = 4
"""Nested encodings peeled at most (`%25252e` is three rounds)."""
MAX_DECODE_CHARS = 1 << 16
"""Only this much of a field is decoded. Attack payloads are short; the raw text is still
checked in full, so only an encoded payload behind 64 KB of padding goes undecoded."""
MAX_SUBSTITUTIONS = 512
"""Escapes replaced per decoder and round: decoders split on the escape character at C speed
with this many splits at most, so an escape flood (`%25` x 300k) costs a bounded loop."""
_MAX_OVERLONG = 64
"""Overlong forms replaced per round (RE2 substitution calls back into Python per match)."""

# Characters that only show up in text when something was encoded or is being smuggled.
_ENCODED_HINT = re2.compile(
    r"%[0-9a-fA-F]{2}|%u[0-9a-fA-F]{4}|&#|&[a-zA-Z]{2,8};?|\\[uUxX][0-9a-fA-F]{2}|\\[nrt]|\\[0-7]{3}"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{00a0}\x{1680}\x{180e}\x{2000}-\x{200f}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}\x{ff00}-\x{ffef}]"
)
_LETTER_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
# Overlong UTF-8 forms of `.`, `/` and `\` that lenient servers still decode.
_OVERLONG = re2.compile(r"%[cC]0%(?:[aA][eEfF]|2[eEfF]|5[cC])|%[cC]1%(?:9[cC]|"
    r"[8-9][cCfF]|[pP][cC])|%[eE]0%80%[aA][eEfF]")
_OVERLONG_MAP = {
    "ae": ".", "af": "/", "2e": ".", "2f": "/", "5c": "\\",
    "9c": "\\", "8c": "\\", "9f": "/", "8f": "/", "pc": "\\",
}
_CONTROLS = re2.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{200b}-\x{200f}\x{2060}\x{feff}]")
_SPACES = re2.compile(
    r"[\t\x{00a0}\x{1680}\x{180e}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
_CONTROL_TABLE = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                                 *range(0x200B, 0x2010), 0x2060, 0xFEFF])
_SPACE_TABLE = dict.fromkeys([0x09, 0xA0, 0x1680, 0x180E, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
                              0x205F, 0x3000], " ")
# MySQL versioned comments `/*!50000select*/` run their content: keep it, drop the markers.
_VERSIONED = re2.compile(r"/\*!\d{0,6}")
_COMMENT = re2.compile(r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/")

_ENTITIES: dict[str, str] = {
    name.rstrip(";").lower(): text for name, text in html.entities.html5.items()
}


def _char(code: int) -> str:
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd" if code else ""
    return chr(code)


_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
_OCTAL = frozenset("01234567")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _run(text: str, start: int, allowed: frozenset[str], limit: int) -> int:
    """End of the run of `allowed` characters from `start`, at most `limit` long."""
    end = start
    stop = min(len(text), start + limit)
    while end < stop and text[end] in allowed:
        end += 1
    return end


def _split_decode(text: str, mark: str, decode_one: Callable[[str], tuple[str, int] | None]) -> str:
    """`text` with each escape led by `mark` replaced: `decode_one(rest)` gives the replacement
    and how many characters of `rest` it used, or None to keep the mark. One C-speed split with
    at most MAX_SUBSTITUTIONS pieces, so floods cost a bounded Python loop."""
    if mark not in text:
        return text
    parts = text.split(mark, MAX_SUBSTITUTIONS)
    out = [parts[0]]
    for part in parts[1:]:
        decoded = decode_one(part)
        if decoded is None:
            out.append(mark)
            out.append(part)
        else:
            out.append(decoded[0])
            out.append(part[decoded[1]:])
    return "".join(out)


def _percent(rest: str) -> tuple[str, int] | None:
    if rest[:1] in ("u", "U") and _run(rest, 1, _HEX, 4) == 5:
        return _char(int(rest[1:5], 16)), 5
    if _run(rest, 0, _HEX, 2) == 2:
        return _char(int(rest[:2], 16)), 2
    return None


def _escape(rest: str) -> tuple[str, int] | None:
    lead = rest[:1]
    if lead in ("u", "U"):
        brace = 1 if rest[1:2] == "{" else 0
        end = _run(rest, 1 + brace, _HEX, 4)
        if end == 5 + brace:
            close = 1 if brace and rest[end:end + 1] == "}" else 0
            return _char(int(rest[1 + brace:end], 16)), end + close
        return None
    if lead in ("x", "X"):
        return (_char(int(rest[1:3], 16)), 3) if _run(rest, 1, _HEX, 2) == 3 else None
    if lead in _LETTER_ESCAPES:
        return _LETTER_ESCAPES[lead], 1
    if lead in ("0", "1", "2", "3") and _run(rest, 0, _OCTAL, 3) == 3:  # JavaScript octal `\152`
        return _char(int(rest[:3], 8)), 3
    return None


def _entity(rest: str) -> tuple[str, int] | None:
    if rest[:1] == "#":
        if rest[1:2] in ("x", "X"):
            end = _run(rest, 2, _HEX, 32)
            code = int(rest[2:end], 16) if 2 < end <= 2 + 16 else None
        else:
            end = _run(rest, 1, _DIGITS, 32)
            code = int(rest[1:end]) if 1 < end <= 1 + 16 else None
        if code is None:
            return None
        return _char(code), end + (1 if rest[end:end + 1] == ";" else 0)
    end = _run(rest, 0, _NAME_CHARS, 32)
    if end < 2 or not rest[0].isalpha():
        return None
    text = _ENTITIES.get(rest[:end].lower())
    if text is None:
        return None
    return text, end + (1 if rest[end:end + 1] == ";" else 0)


def _overlong(match: re2._Match) -> str:
    return _OVERLONG_MAP.get(match.group(0)[-2:].lower(), "")


def _decode_percent(text: str) -> str:
    """%XX and %uXXXX; byte runs that form UTF-8 are joined back into characters."""
    if _OVERLONG.search(text):
        text = _OVERLONG.sub(_overlong, text, count=_MAX_OVERLONG)
    decoded = _split_decode(text, "%", _percent)
    if not decoded.isascii():
        try:  # %C3%A9 decoded byte-wise is mojibake; re-read it as UTF-8 when it is valid
            decoded = decoded.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return decoded


def looks_encoded(text: str) -> bool:
    """True when `text` holds an escape, entity or smuggling character worth decoding."""
    if text.isascii() and text.isprintable() and "%" not in text and "&" not in text and "\\" not in text:
        return False  # the common case, decided at C speed without a regex call
    return _ENCODED_HINT.search(text) is not None


def decode(text: str) -> str:
    """`text` with URL, %u, HTML-entity and backslash escapes peeled (bounded rounds),
    control characters dropped, odd spaces made plain and full-width forms folded (NFKC)."""
    text = text[:MAX_DECODE_CHARS]
    for _ in range(MAX_ROUNDS):
        if not looks_encoded(text):
            break
        previous = text
        text = _decode_percent(text)
        text = _split_decode(text, "&", _entity)
        text = _split_decode(text, "\\", _escape)
        if _CONTROLS.search(text):
            text = text.translate(_CONTROL_TABLE)
        if _SPACES.search(text):
            text = text.translate(_SPACE_TABLE)
        if text == previous:
            break
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text


def collapse_sql_comments(text: str, joiner: str) -> str:
    """SQL comments replaced by `joiner`: "" glues `UN/**/ION`, " " separates `SELECT/**/x`."""
    if "/*" not in text:
        return text
    text = text.replace("/**/", joiner)  # the common case, at C speed
    if "/*" in text:
        text = _VERSIONED.sub(" ", text, count=MAX_SUBSTITUTIONS)
        text = _COMMENT.sub(joiner, text, count=MAX_SUBSTITUTIONS)
    return text.replace("*/", " ")
