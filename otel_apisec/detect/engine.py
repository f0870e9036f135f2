"""Linear-time multi-pattern prefilter shared by all field detectors.

Every field detector declares *triggers*: cheap patterns that any text it could fire on must
contain. All triggers are compiled into one Hyperscan database (RE2 sets where Hyperscan is not
available) and every field of an exchange is scanned in one pass. A detector then runs only on
the fields where one of its triggers hit, and confirms with its own linear-time logic (RE2,
libinjection, validators). Attacker input therefore never meets a backtracking regex.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

import re2

try:  # Hyperscan needs x86-64 with SSSE3; RE2 sets are the portable fallback.
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on non-x86 machines only
    _hs = None  # type: ignore[assignment]  # every use checks for None first

__all__ = ["BACKEND", "CompiledCache", "PatternSet", "Trigger"]

BACKEND = "hyperscan" if _hs is not None else "re2"
_HS_VERSION = metadata.version("hyperscan") if _hs is not None else ""
# Joins small texts for one scan. 0xFF never occurs in UTF-8, so no text contains it; a
# trigger that must match at a field's start or end names it: `(^|\xff|...)`, `($|\xff|...)`
# (and `"`, where a raw JSON body delimits its strings).
_SEPARATOR = b"\xff"

# Texts longer than this are scanned alone, each trigger reported once.
_JOIN_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Trigger:
    """A prefilter pattern, in the syntax Hyperscan and RE2 share (no lookaround, no backrefs)."""

    expr: str
    caseless: bool = False


class CompiledCache(Protocol):
    """Where compiled databases may be kept between processes (the CLI uses a cache folder).

    The engine does no I/O itself: it asks `get` before compiling and offers the result to `put`.
    """

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...

    def __hash__(self) -> int: ...  # a key of the compiled-database cache


def _cache_key(triggers: tuple[Trigger, ...], single_match: bool) -> str:
    material = repr((_HS_VERSION, single_match, [(t.expr, t.caseless) for t in triggers]))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


@functools.lru_cache(maxsize=16)
def _compile_hyperscan(
    triggers: tuple[Trigger, ...], single_match: bool, cache: CompiledCache | None = None
) -> _hs.Database:
    """Compiling takes about a second for the default set: done once per process per set, and
    once per machine with a `cache`.

    A compiled database is immutable; each thread scans with its own scratch space.
    """
    assert _hs is not None
    key = _cache_key(triggers, single_match) if cache is not None else ""
    if cache is not None:
        stored = cache.get(key)
        if stored is not None:
            try:
                return _hs.loadb(stored, _hs.HS_MODE_BLOCK)
            except Exception:  # corrupt or foreign: compile afresh and replace it
                pass
    db = _hs.Database()
    base = _hs.HS_FLAG_PREFILTER | (_hs.HS_FLAG_SINGLEMATCH if single_match else 0)
    db.compile(
        expressions=[t.expr.encode() for t in triggers],
        ids=list(range(len(triggers))),
        elements=len(triggers),
        flags=[base | (_hs.HS_FLAG_CASELESS if t.caseless else 0) for t in triggers],
    )
    if cache is not None:
        cache.put(key, _hs.dumpb(db))
    return db


class PatternSet:
    """Triggers compiled once; `scan` tells which trigger hit which text.

    Safe to share across threads: each thread gets its own Hyperscan scratch space.
    """

    def __init__(self, triggers: Sequence[Trigger], cache: CompiledCache | None = None) -> None:
        self.triggers = tuple(triggers)
        for index, trigger in enumerate(self.triggers):
            try:  # fail at load time on a pattern RE2 would reject, whatever the backend
                re2.compile(trigger.expr)
            except re2.error as exc:
                raise ValueError(f"trigger {index} {trigger.expr!r} does not compile: {exc}") from None
        self._local = threading.local()
        native = _hs is not None and bool(self.triggers)
        # Two databases: one reports every match end (for many small texts joined into one
        # buffer), one reports each trigger once per scan (for large texts scanned alone), so
        # a megabyte of repeated trigger text costs one callback, not a million.
        self._joined_db = _compile_hyperscan(self.triggers, False, cache) if native else None
        self._single_db = _compile_hyperscan(self.triggers, True, cache) if native else None
        self._sets = None if native or not self.triggers else self._compile_re2()

    def _compile_re2(self) -> tuple[Any, Any]:  # re2.Set: the re2 module has no type information
        def build(caseless: bool) -> Any:
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
        if self._joined_db is None:
            return self._scan_re2(texts)
        hits: set[tuple[int, int]] = set()
        small: list[int] = []
        for index, text in enumerate(texts):
            if len(text) > _JOIN_LIMIT:
                hits.update((index, trigger) for trigger in self._scan_alone(text))
            else:
                small.append(index)
        rest = self._scan_joined(texts, small, hits)
        for index in rest:  # callback budget ran out: every small text alone
            hits.update((index, trigger) for trigger in self._scan_alone(texts[index]))
        return hits

    def match_ends(self, text: bytes, budget: int) -> list[tuple[int, int]] | None:
        """Every (trigger, end offset) in one text, or None when there are more than `budget`
        (or no Hyperscan): the caller then falls back to `scan`."""
        if self._joined_db is None:
            return None
        ends: list[tuple[int, int]] = []

        def on_match(trigger: int, _start: int, end: int, _flags: int, _ctx: object) -> bool:
            ends.append((trigger, end))
            return len(ends) > budget  # True stops the scan

        try:
            self._joined_db.scan(text, match_event_handler=on_match, scratch=self._scratch("joined", self._joined_db))
        except _hs.ScanTerminated:
            return None
        return ends

    def _scratch(self, name: str, db: _hs.Database) -> _hs.Scratch:
        scratch: _hs.Scratch | None = getattr(self._local, name, None)
        if scratch is None:
            scratch = _hs.Scratch(db)
            setattr(self._local, name, scratch)
        return scratch

    def _scan_alone(self, text: bytes) -> set[int]:
        found: set[int] = set()

        def on_match(trigger: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
            found.add(trigger)

        assert self._single_db is not None
        scratch = self._scratch("single", self._single_db)
        self._single_db.scan(text, match_event_handler=on_match, scratch=scratch)
        return found

    def _scan_joined(self, texts: Sequence[bytes], indices: list[int], hits: set[tuple[int, int]]) -> list[int]:
        """Scan small texts as one buffer; return the indices left unscanned if the budget ran out."""
        if not indices:
            return []
        starts: list[int] = []
        position = 0
        for index in indices:
            starts.append(position)
            position += len(texts[index]) + len(_SEPARATOR)
        ends = self.match_ends(_SEPARATOR.join(texts[index] for index in indices), 8 * len(indices) + 256)
        if ends is None:  # callback budget ran out: the caller rescans every text alone
            return indices
        find = bisect.bisect_right
        for trigger, end in ends:
            hits.add((indices[find(starts, end - 1) - 1], trigger))
        return []

    def _scan_re2(self, texts: Sequence[bytes]) -> set[tuple[int, int]]:
        assert self._sets is not None
        hits: set[tuple[int, int]] = set()
        for index, text in enumerate(texts):
            for rset in self._sets:
                hits.update((index, trigger) for trigger in rset.Match(text) or ())
        return hits
