"""Verify an audit chain: every digest, every link, every seq, across rotated files.

Problems found, each with its file, line number and seq:

    digest     a record was edited (its hash does not match its content; with a key, only the
               key holder could have made a matching one)
    canonical  the line is not in canonical form (reformatted by a tool, or a duplicated key)
    gap        seq jumps forward: records were removed
    order      seq goes backwards: records were reordered or duplicated
    prev       seq is right but `prev` is not the previous record's hash: a record was rewritten
               with a recomputed hash (no key), or one was removed and the rest renumbered
    start      the chain does not begin at seq 1 with the genesis `prev` (older files deleted:
               allowed with `allow_partial_start`)
    json       not JSON;  shape  JSON, but not an audit record;  too-long  a line over 1 MiB
    truncated  the last line has no newline: the file was cut, or the writer crashed mid-write

Every problem is reported, not just the first (the first `max_problems` are kept, the rest
counted). After an unreadable line the next record is taken as is (its link to the unknown line
cannot be checked); after a record whose seq goes backwards, the chain goes on from the record
before it, so one swap costs two problems, not a cascade. Cutting whole records off the end of
the newest file is the one change a chain cannot show: compare `head` with a copy kept elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from otel_apisec.audit.files import ChainFilesError, chain_files, looks_like_audit_file
from otel_apisec.audit.format import (
    GENESIS,
    MAX_LINE_BYTES,
    Entry,
    EntryError,
    parse,
    seal_problem,
    unkeyed_digest_matches,
)
from otel_apisec.audit.keys import KEY_ENV, check_key

__all__ = ["FileSummary", "NotAnAuditLogError", "Problem", "VerifyResult", "verify"]

_SNIFF_LINES = 1000
"""A file none of whose first lines is an audit record is not an audit log (a usage error, not tampering)."""
_PROGRESS_EVERY = 1024


class NotAnAuditLogError(ChainFilesError):
    """A file given to the verifier is not an audit log at all."""


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    seq: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: " + (f"seq {self.seq}: " if self.seq is not None else "") + self.message


@dataclass(slots=True)
class FileSummary:
    path: str
    lines: int = 0
    records: int = 0
    bytes: int = 0


@dataclass(slots=True)
class VerifyResult:
    keyed: bool
    files: list[FileSummary] = field(default_factory=list)
    records: int = 0
    problems: list[Problem] = field(default_factory=list)
    """The first `max_problems` problems, in file order."""
    problem_count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head: str | None = None
    """Hash of the last record: compare it with a copy kept elsewhere to catch a cut-off end."""
    partial_start: bool = False
    """The chain starts mid-way and `allow_partial_start` accepted it."""
    hint: str | None = None
    """A likely cause when every digest fails (wrong key, key missing, log not keyed)."""

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "keyed": self.keyed, "records": self.records, "first_seq": self.first_seq,
            "last_seq": self.last_seq, "head": self.head, "partial_start": self.partial_start,
            "files": [{"path": f.path, "lines": f.lines, "records": f.records, "bytes": f.bytes} for f in self.files],
            "problem_count": self.problem_count,
            "problems": [{"file": p.file, "line": p.line, "seq": p.seq, "kind": p.kind, "message": p.message}
                         for p in self.problems],
            "hint": self.hint,
        }


def verify(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    key: bytes | None = None,
    *,
    allow_partial_start: bool = False,
    max_problems: int = 100,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Verify one chain. `paths`: a directory, a live file (its rotated siblings come along), or
    several files (see `chain_files`). `progress` gets the bytes read so far, now and then.
    Raises `ChainFilesError` (no such log, not an audit log) or `OSError` (unreadable)."""
    files = chain_files([paths] if isinstance(paths, (str, os.PathLike)) else paths)
    checker = _Checker(check_key(key, "verification key"), allow_partial_start, max_problems, progress)
    for path in files:
        with open(path, "rb") as handle:
            checker.check_file(path, handle)
    return checker.finish()


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes, int, str]]:
    """(line number, content without newline, bytes read, status `line` | `torn` | `too-long`),
    reading at most MAX_LINE_BYTES + 1 bytes at a time."""
    number = 0
    while chunk := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if chunk.endswith(b"\n"):
            yield number, chunk[:-1], len(chunk), "line"
        elif len(chunk) <= MAX_LINE_BYTES:
            yield number, chunk, len(chunk), "torn"
        else:
            size = len(chunk)
            while chunk and not chunk.endswith(b"\n"):
                chunk = handle.readline(MAX_LINE_BYTES + 1)
                size += len(chunk)
            yield number, b"", size, "too-long"


class _Checker:
    def __init__(self, key: bytes | None, allow_partial_start: bool, max_problems: int,
                 progress: Callable[[int], None] | None) -> None:
        self.key = key
        self.allow_partial_start = allow_partial_start
        self.max_problems = max_problems
        self.progress = progress
        self.result = VerifyResult(keyed=key is not None)
        self.bytes_read = 0
        self.digest_failures = 0
        self.first_digest_failure: Entry | None = None
        self.last_where = ""
        self.resync = False  # the line before was unreadable: the next record's link is unknown

    def problem(self, file: Path, line: int, seq: int | None, kind: str, message: str) -> None:
        self.result.problem_count += 1
        if len(self.result.problems) < self.max_problems:
            self.result.problems.append(Problem(str(file), line, seq, kind, message))

    def check_file(self, path: Path, handle: IO[bytes]) -> None:
        summary = FileSummary(str(path))
        self.result.files.append(summary)
        for number, line, size, status in _lines(handle):
            summary.lines += 1
            summary.bytes += size
            self.bytes_read += size
            if self.progress is not None and number % _PROGRESS_EVERY == 0:
                self.progress(self.bytes_read)
            if summary.records == 0 and summary.lines == _SNIFF_LINES + 1:
                self._not_an_audit_log(path)
            if status == "torn":
                self.problem(path, number, None, "truncated", "incomplete last line (no newline at the end): "
                             "the file was cut, or the writer crashed mid-write")
                continue
            if status == "too-long":
                self.problem(path, number, None, "too-long", f"line over {MAX_LINE_BYTES} bytes: not an audit record")
                self.resync = True
                continue
            try:
                entry = parse(line)
            except EntryError as exc:
                self.problem(path, number, None, exc.problem, str(exc))
                self.resync = True
                continue
            summary.records += 1
            self.result.records += 1
            sealed = seal_problem(entry, line, self.key)
            if sealed is not None:
                self.problem(path, number, entry.seq, *sealed)
                if sealed[0] == "digest":
                    self.digest_failures += 1
                    self.first_digest_failure = self.first_digest_failure or entry
            self.link(entry, path, number)
        if summary.lines and not summary.records:
            self._not_an_audit_log(path)
        if self.progress is not None:
            self.progress(self.bytes_read)

    def _not_an_audit_log(self, path: Path) -> None:
        if not looks_like_audit_file(path):
            raise NotAnAuditLogError(f"{path} is not an audit log: no line in it is an audit record "
                                     '(a line of the audit trail starts with {"hash":")')

    def link(self, entry: Entry, path: Path, number: int) -> None:
        """Check `entry` against the record before it, then make it the chain's end."""
        result = self.result
        last = result.last_seq
        if last is None:
            if entry.prev == GENESIS:
                if entry.seq != 1:
                    self.problem(path, number, entry.seq, "start", f"the first record of a chain (genesis prev) has seq 1, "
                                 f"not {entry.seq}")
            elif self.allow_partial_start:
                result.partial_start = True
            else:
                self.problem(path, number, entry.seq, "start", "the chain starts mid-way (prev is not the genesis "
                             "hash): earlier records or files are missing; if old rotated files were deleted on "
                             "purpose (keep), verify with --allow-partial-start")
            result.first_seq = entry.seq
        elif entry.seq <= last:
            self.problem(path, number, entry.seq, "order", f"seq {entry.seq} comes after seq {last}: "
                         "records reordered or duplicated")
            return  # the chain goes on from the record before
        elif self.resync:
            pass  # the link to an unreadable line cannot be checked
        elif entry.seq > last + 1:
            missing = entry.seq - last - 1
            self.problem(path, number, entry.seq, "gap", f"seq jumps from {last} to {entry.seq}: "
                         f"{missing} record{'s' if missing > 1 else ''} missing")
        elif entry.prev != result.head:
            self.problem(path, number, entry.seq, "prev", f"prev is not the hash of seq {last} ({self.last_where}): "
                         "that record was rewritten, or records were removed and the rest renumbered")
        self.resync = False
        result.last_seq, result.head, self.last_where = entry.seq, entry.hash, f"{path}:{number}"

    def finish(self) -> VerifyResult:
        result = self.result
        failed = self.first_digest_failure
        if failed is not None and self.key is not None and unkeyed_digest_matches(failed):
            result.hint = "the log was written without a key (plain SHA-256): verify it without a key"
        elif result.records and self.digest_failures == result.records:
            result.hint = ("every record's hash mismatches: wrong key?" if self.key is not None else
                           "every record's hash mismatches: the log is probably HMAC-keyed; give its key "
                           f"(--key-env, --key-file, or {KEY_ENV})")
        return result
