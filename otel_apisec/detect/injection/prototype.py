"""Prototype pollution (JavaScript): a key or value that walks into `Object.prototype` through
`__proto__` or `constructor.prototype`, in query keys (`?__proto__[admin]=1`,
`?a[constructor][prototype][x]=1`), JSON keys (`{"__proto__": {...}}`,
`{"constructor": {"prototype": {...}}}`) and values that are property paths (`a.__proto__.b`).
"""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

TRIGGERS: tuple[Trigger, ...] = (
    Trigger(r"__proto__"),
    Trigger(r"constructor\s*(\.|\[|\]\[|%5b)\s*['\"]?\s*prototype", caseless=True),
    # a JSON key `prototype` under a `constructor` key: the key alone, as its own text
    Trigger(r"(^|\xff|\")prototype($|\xff|\")"),
)

# `__proto__` as a property step (`a.__proto__.b`, `[__proto__]`, `"__proto__":`) or the whole text;
# prose that names it between spaces ("the __proto__ property") is not a property path.
_PROTO = re2.compile(r"(^\s*|[.\[\]\"'`])__proto__(\s*$|[.\[\]\"'`=:])")
_CONSTRUCTOR = re2.compile(r"(?i)(^|[^\w$])constructor\s*(\.|\[\s*['\"]?|\]\s*\[\s*['\"]?)\s*prototype\b")
_NESTED = re2.compile(r"(^|[.\]])constructor(\.|\[\d+\]\.|\[['\"]?)prototype(['\"]?\]|\.|$)")


def check(view: View) -> str | None:
    """A message when the field reaches an object's prototype, else None."""
    for text in view.texts:
        if _PROTO.search(text):
            return "Prototype pollution through __proto__"
        if _CONSTRUCTOR.search(text):
            return "Prototype pollution through constructor.prototype"
    if view.field.is_key and view.raw == "prototype" and _NESTED.search(view.field.location):
        return "Prototype pollution through constructor.prototype (nested keys)"
    return None
