"""Undo what attackers encode, in linear time, before the attack-class checks run.

Every step is one left-to-right pass (RE2 substitutions, `str` methods) whose output is never
longer than its input, and the decoding loop is bounded, so the whole pipeline is O(n).
"""

from __future__ import annotations

import html.entities
import unicodedata

import re2

__all__ = ["MAX_ROUNDS", "collapse_sql_comments", "decode", "looks_encoded"]

MAX_ROUNDS = 4
"""Nested encodings peeled at most (`%25252e` is three rounds)."""
MAX_DECODE_CHARS = 1 << 16
"""Only this much of a field is decoded. Attack payloads are short; the raw text is still
checked in full, so only an encoded payload behind 64 KB of padding goes undecoded."""
MAX_SUBSTITUTIONS = 512
"""Escapes replaced per decoder and round: RE2 substitution calls back into Python per match,
so this bounds the cost of escape floods (`%25` x 300k) while real payloads fit easily."""

# Characters that only show up in text when something was encoded or is being smuggled.
_ENCODED_HINT = re2.compile(
    r"%[0-9a-fA-F]{2}|%u[0-9a-fA-F]{4}|&#|&[a-zA-Z]{2,8};?|\\[uUxX][0-9a-fA-F]{2}|\\[nrt]|\\[0-7]{3}"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{00a0}\x{1680}\x{180e}\x{2000}-\x{200f}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}\x{ff00}-\x{ffef}]"
)
_PERCENT = re2.compile(r"%(?:[uU]([0-9a-fA-F]{4})|([0-9a-fA-F]{2}))")
_ESCAPE = re2.compile(r"\\(?:[uU]\{?([0-9a-fA-F]{4})\}?|[xX]([0-9a-fA-F]{2})|([nrt]))")
_LETTER_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_ENTITY = re2.compile(r"&(?:#[xX]0*([0-9a-fA-F]{1,6})|#0*([0-9]{1,7})|([a-zA-Z][a-zA-Z0-9]{1,31}));?")
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


def _percent(match: re2._Match) -> str:  # type: ignore[name-defined]
    wide, byte = match.group(1), match.group(2)
    return _char(int(wide or byte, 16))


def _escape(match: re2._Match) -> str:  # type: ignore[name-defined]
    wide, byte, letter = match.group(1), match.group(2), match.group(3)
    if letter is not None:
        return _LETTER_ESCAPES[letter]
    return _char(int(wide or byte, 16))


def _entity(match: re2._Match) -> str:  # type: ignore[name-defined]
    hex_code, dec_code, name = match.group(1), match.group(2), match.group(3)
    if hex_code is not None:
        return _char(int(hex_code, 16))
    if dec_code is not None:
        return _char(int(dec_code))
    text = _ENTITIES.get(name.lower())
    return match.group(0) if text is None else text


def _overlong(match: re2._Match) -> str:  # type: ignore[name-defined]
    return _OVERLONG_MAP.get(match.group(0)[-2:].lower(), "")


def _decode_percent(text: str) -> str:
    """%XX and %uXXXX; byte runs that form UTF-8 are joined back into characters."""
    text = _OVERLONG.sub(_overlong, text, count=MAX_SUBSTITUTIONS)
    decoded = _PERCENT.sub(_percent, text, count=MAX_SUBSTITUTIONS)
    if not decoded.isascii():
        try:  # %C3%A9 decoded byte-wise is mojibake; re-read it as UTF-8 when it is valid
            decoded = decoded.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return decoded


def looks_encoded(text: str) -> bool:
    """True when `text` holds an escape, entity or smuggling character worth decoding."""
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
        text = _ENTITY.sub(_entity, text, count=MAX_SUBSTITUTIONS)
        text = _ESCAPE.sub(_escape, text, count=MAX_SUBSTITUTIONS)
        text = _CONTROLS.sub("", text, count=MAX_SUBSTITUTIONS)
        text = _SPACES.sub(" ", text, count=MAX_SUBSTITUTIONS)
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
