"""The line format of the audit log: canonical bytes, digests, and parsing one line.

A line is the canonical JSON of `{"seq", "time", "kind", "record", "prev", "hash"}` plus `\\n`.
Canonical JSON is exactly Python's

    json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)

encoded as ASCII: keys sorted, no spaces, every non-ASCII character escaped as `\\uXXXX` (so the
file is plain ASCII and no bidi or control character reaches a terminal raw), no NaN/Infinity.
`hash` is the digest of the canonical JSON of the same object without `hash`:
HMAC-SHA256(key, body) when the log has a key, SHA-256(body) otherwise, as lowercase hex. `prev`
is the previous line's `hash` (`GENESIS`, 64 zeros, for the first record of a chain), so each
digest covers the whole history before it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FIELDS",
    "GENESIS",
    "KINDS",
    "MAX_LINE_BYTES",
    "Entry",
    "EntryError",
    "canonical",
    "encode",
    "parse",
    "seal_problem",
    "unkeyed_digest_matches",
]

GENESIS = "0" * 64
"""`prev` of the first record of a new chain."""
KINDS = ("finding", "alert", "recovery")
"""`recovery` records are written by the log itself: they state records it could not write."""
FIELDS = frozenset({"hash", "kind", "prev", "record", "seq", "time"})
MAX_LINE_BYTES = 1 << 20
"""A record whose line would be longer is refused (and counted): the verifier reads lines up to
this size, so memory stays bounded whatever a file holds."""

_HEX = frozenset("0123456789abcdef")
_HASH_PREFIX = b'{"hash":"'
"""Canonical lines start so: `hash` sorts before every other field."""


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of `value` (see the module docstring). Raises TypeError or
    ValueError for what JSON cannot hold (NaN, sets, objects)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _digest(body: bytes, key: bytes | None) -> str:
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _line(body: bytes, digest: str) -> bytes:
    """canonical(body object + hash) without re-serializing: `hash` goes first, then body's fields."""
    return _HASH_PREFIX + digest.encode("ascii") + b'",' + body[1:] + b"\n"


def encode(seq: int, time: str, kind: str, record: Any, prev: str, key: bytes | None) -> tuple[bytes, str]:
    """The line (with its newline) for one record, and its hash."""
    body = canonical({"kind": kind, "prev": prev, "record": record, "seq": seq, "time": time})
    digest = _digest(body, key)
    return _line(body, digest), digest


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed line. `record` is the finding or alert dict as written."""

    seq: int
    time: str
    kind: str
    record: dict[str, Any]
    prev: str
    hash: str

    def body(self) -> bytes:
        return canonical({"kind": self.kind, "prev": self.prev, "record": self.record, "seq": self.seq, "time": self.time})


class EntryError(ValueError):
    """A line is not an audit record. `problem` is `json` (not JSON) or `shape` (JSON, but not
    the audit record's fields and types)."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def _is_hex_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def parse(line: bytes) -> Entry:
    """Parse one line (without its newline) into an `Entry`; raises `EntryError`. Checks fields and
    types only: `seal_problem` checks the digest."""
    try:
        value = json.loads(line)
    except UnicodeDecodeError:
        raise EntryError("json", "not JSON: not valid UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise EntryError("json", f"not JSON: {exc.msg} at column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # over-long integers, absurd nesting
        raise EntryError("json", f"not JSON this reader accepts: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise EntryError("shape", f"not an audit record: a JSON {type(value).__name__}, not an object")
    missing = sorted(FIELDS - value.keys())
    extra = sorted(value.keys() - FIELDS)
    if missing or extra:
        parts = ([f"missing field(s) {', '.join(missing)}"] if missing else []) + (
            [f"unexpected field(s) {', '.join(extra)}"] if extra else [])
        raise EntryError("shape", f"not an audit record: {'; '.join(parts)}")
    seq, kind = value["seq"], value["kind"]
    if type(seq) is not int or seq < 1:
        raise EntryError("shape", f"'seq' must be a positive integer, not {seq!r}"[:200])
    if kind not in KINDS:
        raise EntryError("shape", f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}"[:200])
    if not isinstance(value["time"], str):
        raise EntryError("shape", "'time' must be a string")
    if not isinstance(value["record"], dict):
        raise EntryError("shape", "'record' must be an object")
    for name in ("prev", "hash"):
        if not _is_hex_digest(value[name]):
            raise EntryError("shape", f"{name!r} must be 64 lowercase hex digits")
    return Entry(seq, value["time"], kind, value["record"], value["prev"], value["hash"])


def seal_problem(entry: Entry, line: bytes, key: bytes | None) -> tuple[str, str] | None:
    """None when `line` is the canonical form of `entry` and its digest is right; else
    (`digest` | `canonical`, message)."""
    body = entry.body()
    if not hmac.compare_digest(_digest(body, key), entry.hash):
        return "digest", "record edited: its hash does not match its content"
    if _line(body, entry.hash) != line + b"\n":
        return "canonical", "line rewritten: the JSON is not in canonical form (reformatted, or a duplicated key)"
    return None


def unkeyed_digest_matches(entry: Entry) -> bool:
    """Is `entry.hash` the plain SHA-256 of its body? (to tell 'not keyed' from 'wrong key')"""
    return hmac.compare_digest(_digest(entry.body(), None), entry.hash)
