"""LDAP filter injection: input that closes the application's filter and opens its own
(`*)(uid=*))(|(uid=*`, `admin)(&)`, `*(|(objectclass=*))`)."""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

TRIGGERS: tuple[Trigger, ...] = (
    # led by the metacharacters; a letter class in front (`[a-z]\s*=`) would run on every byte
    Trigger(r"\)\s*\(|\(\s*[|&!]|\*\s*[()|&]|=\s*\*\s*\)"),
)

_ATTR = r"[a-z][\w;-]{0,40}"
_HEURISTICS = re2.compile(
    r"(?i)\)\s*\(\s*[|&!]?\s*\(?\s*" + _ATTR + r"\s*[~<>]?=|\)\s*\(\s*[|&!]\s*\)?"
    r"|\(\s*[|&!]\s*\(\s*" + _ATTR + r"\s*[~<>]?=|" + _ATTR + r"\s*=\s*\*\s*\)\s*\)"
    r"|^\s*\*?\s*\)\s*\(|\*\s*\)\s*\(|\(\s*objectclass\s*=\s*\*?\s*\)|\)\s*\)\s*\(\s*[|&]"
    # a value made only of filter metacharacters that close the filter or open an operator
    # (`*))` + NUL truncation, `*()|&`, `*|`): filter-syntax probes, not text
    r"|^\s*\*[\s*]*(\)[\s)]*|\([\s()]*[|&!][|&!\s]*|[|&][|&\s]*)['\"]?\s*(\x00|%00)?\s*$"
)


def check(view: View) -> str | None:
    """A message when the field closes and reopens an LDAP filter, else None."""
    for text in view.texts:
        if _HEURISTICS.search(text):
            return "LDAP filter metacharacters that rewrite the filter"
    return None
