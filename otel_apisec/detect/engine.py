"""Linear-time multi-pattern prefilter shared by all field detectors.

Every field detector declares *triggers*: cheap patterns that any text it could fire on must
contain. All triggers are compiled into one Hyperscan database (RE2 sets where Hyperscan is not
available) and every field of an exchange is scanned in one pass. A detector then runs only on
the fields where one of its triggers hit, and confirms with its own linear-time logic (RE2,
libinjection, validators). Attacker input therefore never meets a backtracking regex.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import re2

try:  # Hyperscan needs x86-64 with SSSE3; RE2 sets are the portable fallback.
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on non-x86 machines only
    _hs = None

__all__ = ["BACKEND", "PatternSet", "Trigger"]

BACKEND = "hyperscan" if _hs is not None else "re2"
_SEPARATOR = b"\n"


@dataclass(frozen=True, slots=True)
class Trigger:
    """A prefilter pattern, in the syntax Hyperscan and RE2 share (no lookaround, no backrefs)."""

    expr: str
    caseless: bool = False


class PatternSet:
    """Triggers compiled once; `scan` tells which trigger hit which text.

    Safe to share across threads: each thread gets its own Hyperscan scratch space.
    """

    def __init__(self, triggers: Sequence[Trigger]) -> None:
        self.triggers = tuple(triggers)
        for index, trigger in enumerate(self.triggers):
            try:  # fail at load time on a pattern RE2 would reject, whatever the backend
                re2.compile(trigger.expr)
            except re2.error as exc:
                raise ValueError(f"trigger {index} {trigger.expr!r} does not compile: {exc}") from None
        self._local = threading.local()
        self._db = self._compile_hyperscan() if _hs is not None and self.triggers else None
        self._sets = None if self._db is not None or not self.triggers else self._compile_re2()

    def _compile_hyperscan(self) -> object:
        assert _hs is not None
        db = _hs.Database()
        flags = [
            _hs.HS_FLAG_PREFILTER | (_hs.HS_FLAG_CASELESS if t.caseless else 0) for t in self.triggers
        ]
        db.compile(
            expressions=[t.expr.encode() for t in self.triggers],
            ids=list(range(len(self.triggers))),
            elements=len(self.triggers),
            flags=flags,
        )
        return db

    def _compile_re2(self) -> tuple[object, object]:
        def build(caseless: bool) -> object:
            options = re2.Options()
            options.case_sensitive = not caseless
            options.encoding = re2.Options.Encoding.LATIN1
            rset = re2.Set.SearchSet(options)
            for t in self.triggers:
                # Keep trigger indices aligned in both sets; the other case gets a never-match.
                rset.Add(t.expr if t.caseless == caseless else r"[^\x00-\xff]")
            rset.Compile()
            return rset

        return build(False), build(True)

    def scan(self, texts: Sequence[bytes]) -> set[tuple[int, int]]:
        """Distinct (text index, trigger index) pairs. A hit may be spurious, never missing."""
        if not self.triggers or not texts:
            return set()
        if self._db is None:
            return self._scan_re2(texts)
        starts: list[int] = []
        position = 0
        for text in texts:
            starts.append(position)
            position += len(text) + len(_SEPARATOR)
        ends: list[tuple[int, int]] = []
        append = ends.append

        def on_match(trigger: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            append((trigger, end))

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _hs.Scratch(self._db)  # type: ignore[union-attr]
        self._db.scan(_SEPARATOR.join(texts), match_event_handler=on_match, scratch=scratch)  # type: ignore[attr-defined]
        find = bisect.bisect_right
        return {(find(starts, end - 1) - 1, trigger) for trigger, end in ends}

    def _scan_re2(self, texts: Sequence[bytes]) -> set[tuple[int, int]]:
        assert self._sets is not None
        hits: set[tuple[int, int]] = set()
        for index, text in enumerate(texts):
            for rset in self._sets:
                hits.update((index, trigger) for trigger in rset.Match(text) or ())  # type: ignore[attr-defined]
        return hits
