"""NoSQL injection: MongoDB query operators where a scalar was expected (`{"$ne": 1}`,
`user[$ne]=`), and server-side JavaScript payloads (`$where`, `this.x.match`, `;return true`)."""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

_OPERATORS = (
    r"ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|not|nor|elemmatch|size|all|type|"
    r"mod|text|function|accumulator|jsonschema|lookup|comment|options|set|unset|rename|inc|push"
)
TRIGGERS: tuple[Trigger, ...] = (
    Trigger(r"(^|[\[{,\s\"'\xff])[$&](" + _OPERATORS + r")\b", caseless=True),
    Trigger(r"\|\|\s*['\"]?\w+['\"]?\s*==|\bthis\s*\.\s*\w+|\bdb\s*\.\s*\w+\s*\.\s*(insert|"
        r"find|drop|remove|update|mapreduce)|;\s*return\b|\bsleep\s*\(\s*\d|new\s+date\s*\(", caseless=True),
)

_KEY = re2.compile(r"^\s*\$(" + _OPERATORS + r")\s*$|\[\s*\$(" + _OPERATORS + r")\s*\]", )
_VALUE = re2.compile(
    r"(?i)(^|[{,\s\"'\[])\$(ne|eq|gt|gte|lt|lte|nin|regex|"
    r"where|exists|expr|or|nor|elemmatch|function|accumulator)\b\s*[\"']?\s*\]?\s*[:=]"
    r"|\[\s*\$(" + _OPERATORS + r")\s*\]"
    r"|['\"]\s*(\|\||&&)\s*['\"]?\w+['\"]?\s*==|^\s*\|\|\s*['\"]?\w+['\"]?\s*=="
    r"|(\|\||&&)\s*this\s*\.\s*\w+|\bthis\s*\.\s*\w+\s*\.\s*match\s*\(|\bthis\s*\.\s*\w+\s*(==|!=|>|<)"
    r"|\bdb\s*\.\s*\w+\s*\.\s*(insert|find|drop|remove|update|mapreduce)\w*\s*\("
    r"|['\"]\s*;\s*(return\b|sleep\s*\(|it\s*=\s*new\s+date|while\s*\()|^\s*\d*\s*;\s*return\s+(true|1|'|\")"
    r"|\bwhile\s*\(\s*\w+\s*-\s*\w+\s*<\s*\d+\s*\)"
    r"|\{\s*[\"']?&(exists|ne|gt)[\"']?\s*:"
)


def check(view: View) -> str | None:
    """A message when the field holds a NoSQL operator or server-side JS injection, else None."""
    if view.field.is_key:
        if _KEY.search(view.decoded.lower()):
            return "MongoDB query operator in a parameter or key name"
        return None
    for text in view.texts:
        if _VALUE.search(text):
            return "NoSQL operator or server-side JavaScript in a value"
    return None
