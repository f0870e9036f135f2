"""Pattern-proposes, validator-confirms matching shared by the PII and secrets detectors.

A `Shape` is one RE2 pattern whose group 1 is a candidate value, preceded by a boundary the
pattern consumes itself (RE2 has no lookbehind); the boundary after the candidate is checked
here, so adjacent values are all found. A validator then confirms the candidate (check digit,
structure, context) and names it, or vetoes it. Spans are char offsets in the field's text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import re2

from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.fields import Field
from otel_apisec.detect.rule import Rule
from otel_apisec.model import Finding, Severity

__all__ = [
    "MAX_CANDIDATES",
    "MAX_CONTEXT_WORDS",
    "Match",
    "Shape",
    "Validator",
    "compile_re2",
    "find",
    "subject",
    "tokens_of",
]

Validator = Callable[[str, Field, DetectContext], "str | None"]
"""(candidate, field, ctx) -> a message naming what was found (never the value), or None to veto."""

_SEPARATORS = " -.()/"
_MAX_SHRINK = 3
MAX_CANDIDATES = 128
"""Candidates validated per shape and field: bounds the cost of adversarial text (a 1 MB body of
`4111 4111 ...` or `a@b.cd a@b.cd ...`); a field holding more values than this reports the first,
and the analysis is marked incomplete (`pii.<kind>.candidates` in `Analysis.failed`), so the
redaction masks that text whole rather than let the rest out."""
MAX_CONTEXT_WORDS = 32
"""Context words (`phone:`, `DOB`) looked at per field, for the same reason."""
# Longest candidate a windowed (context) search needs to see past the window's end.
_MAX_CANDIDATE_LEN = 64


def compile_re2(pattern: str, caseless: bool = False) -> re2._Regexp:
    """Compile once at import; RE2 keeps matching linear on attacker input."""
    options = re2.Options()
    options.case_sensitive = not caseless
    options.max_mem = 32 << 20
    return re2.compile(pattern, options)


@dataclass(frozen=True, slots=True)
class Match:
    start: int
    end: int
    message: str


@dataclass(frozen=True, slots=True)
class Shape:
    rule: Rule
    pattern: re2._Regexp
    """Group 1 is the candidate; anything before it is a consumed left boundary."""
    validate: Validator
    tail: str = ""
    """Characters that must not follow the candidate (it would be part of something longer)."""
    no_separated_digit: bool = False
    """Also reject a candidate followed by a separator and a digit (`123-45-6789-1`)."""
    tail_before_digit: str = ""
    """Characters that must not follow the candidate when a digit comes next (`4111...1.5` is a
    number; `4111...1.` ends a sentence)."""
    shrink: bool = False
    """On veto, retry shorter candidates cut at separators (a card followed by ` 2024`)."""
    not_after: tuple[str, ...] = ()
    """Reject a candidate right after one of these (the one-character left boundary cannot say
    `//`: URL user-info such as `ftp://user@host` is not an email)."""
    not_after_grouped_digit: bool = False
    """Reject a candidate right after a digit and a separator (`9491 3588 ...`): it would be the
    tail of a longer grouped number (a tracking number, a spaced IBAN), not a value of its own."""
    severity: Severity | None = None

    def finding(self, field: Field, match: Match) -> Finding:
        span = (match.start + field.offset, match.end + field.offset)
        return self.rule.finding(field.location, match.message, spans=(span,), severity=self.severity)


def _tail_ok(shape: Shape, text: str, end: int) -> bool:
    if end >= len(text):
        return True
    nxt = text[end]
    if nxt in shape.tail:
        return False
    if (shape.no_separated_digit and nxt in _SEPARATORS) or nxt in shape.tail_before_digit:
        return not text[end + 1 : end + 2].isdigit()
    return True


def _confirm(shape: Shape, text: str, start: int, end: int, field: Field, ctx: DetectContext) -> Match | None:
    tries = 0
    while end > start and tries <= _MAX_SHRINK:
        if _tail_ok(shape, text, end):
            message = shape.validate(text[start:end], field, ctx)
            if message is not None:
                return Match(start, end, message)
        if not shape.shrink:
            return None
        cut = max(text.rfind(sep, start, end) for sep in _SEPARATORS)
        if cut <= start:
            return None
        end = cut
        while end > start and text[end - 1] in _SEPARATORS:
            end -= 1
        tries += 1
    return None


def find(
    shape: Shape,
    text: str,
    field: Field,
    ctx: DetectContext,
    window: tuple[int, int] | None = None,
    data: str | bytes | None = None,
) -> Iterator[Match]:
    """Confirmed matches of `shape` in `text` (optionally only candidates starting in `window`).

    `data` is `subject(text)` when the caller already has it (windowed searches reuse it)."""
    data = subject(text) if data is None else data
    if window is None:
        matches = shape.pattern.finditer(data)
        stop = len(text)
    else:  # bounded search, so many context words in one text stay linear overall
        pos, stop = window
        matches = shape.pattern.finditer(data, pos, min(len(text), stop + _MAX_CANDIDATE_LEN))
    for count, m in enumerate(matches):
        start, end = m.start(1), m.end(1)
        if start > stop:
            return
        if count >= MAX_CANDIDATES:  # values past the bound go unseen: say so, so maskers fail closed
            ctx.incomplete(f"pii.{shape.rule.kind}.candidates")
            return
        if shape.not_after and text.endswith(shape.not_after, 0, start):
            continue
        if shape.not_after_grouped_digit and start >= 2 and text[start - 1] in _SEPARATORS:
            if text[start - 2].isdigit():
                continue
        found = _confirm(shape, text, start, end, field, ctx)
        if found is not None:
            yield found


def subject(text: str) -> str | bytes:
    """What to run a pattern on: ASCII bytes when possible (same offsets as the str, and the re2
    binding skips its costly per-call UTF-8 offset translation), else the str itself."""
    return text.encode("ascii") if text.isascii() else text


def tokens_of(name: str) -> list[str]:
    """`homePhone_no` -> ['home', 'phone', 'no']: words of a key, split at case changes and separators."""
    words: list[str] = []
    current: list[str] = []
    prev = ""
    for ch in name:
        if not ch.isalnum():
            if current:
                words.append("".join(current))
            current, prev = [], ""
            continue
        if current and ch.isupper() and prev.islower():
            words.append("".join(current))
            current = []
        current.append(ch.lower())
        prev = ch
    if current:
        words.append("".join(current))
    return words
