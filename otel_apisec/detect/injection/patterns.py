"""RE2 compilation for the family's large heuristic alternations."""

from __future__ import annotations

import re2

__all__ = ["compile_large"]

_MAX_MEM = 64 << 20
"""Large alternations outgrow RE2's default 8 MB DFA budget and fall back to the slower NFA
(still linear, but noisy in logs); a bigger budget keeps them on the DFA."""


def compile_large(pattern: str) -> re2._Regexp:
    options = re2.Options()
    options.max_mem = _MAX_MEM
    return re2.compile(pattern, options)
