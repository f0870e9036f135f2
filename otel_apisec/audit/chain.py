"""`AuditLog`: the append-only, hash-chained JSONL audit trail of findings and alerts.

Each record is one line (format: `otel_apisec.audit.format`), written with one `write()` on an
`O_APPEND` descriptor while a lock is held, so lines never interleave and the chain has one order.
A write goes to the page cache (microseconds); with `fsync=True` each record also waits for the
disk. Writing happens on the caller's thread: an audit trail must not drop records because a queue
filled up.

What the chain proves: with a key (HMAC-SHA256), nobody without the key can edit, remove, insert
or reorder records without `otel-apisec audit verify` noticing (except cutting records off the end:
compare the verifier's `head` with one you kept elsewhere). Without a key (SHA-256) the chain
catches accidental damage and clumsy edits, but anyone who can write the file can recompute every
hash after an edit: only a head kept elsewhere catches that.

Restart: opening an existing log resumes `seq` and `prev` from its last line, whose digest must
verify with the given key (else `AuditLogError`: wrong key, or a tampered log; nothing is written).
A torn last line (a crash mid-write, no final newline) is cut away with a logged warning, and a
`recovery` record in the chain states how many bytes were dropped. Records that could not be
written (disk full, a record JSON cannot hold) are counted and logged, and the next record written
is preceded by a `recovery` record giving their number: a loss is visible in the chain itself.

Rotation: when a record would take the file past `max_bytes`, the file is renamed to
`<name>.<last seq, 12 digits>` and a new file continues the chain (`seq` and `prev` carry on).
`keep` bounds the rotated files kept (the oldest are deleted); then the oldest remaining file
starts mid-chain, which `verify(..., allow_partial_start=True)` accepts. One process writes a log
at a time: it holds a `flock` on `.<name>.lock` (hidden, so `audit.jsonl*` globs skip it; POSIX only).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from otel_apisec.audit.files import lock_path, rotated_path, rotated_siblings
from otel_apisec.audit.format import GENESIS, MAX_LINE_BYTES, Entry, EntryError, canonical, encode, parse, seal_problem
from otel_apisec.audit.keys import check_key
from otel_apisec.correlate.api import iso_time

__all__ = ["DEFAULT_MAX_BYTES", "FILE_MODE", "AuditLog", "AuditLogError"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 << 20
"""Rotate at 64 MiB: a file stays quick to verify and to ship."""
FILE_MODE = 0o640
"""Owner writes; a log shipper in the owner's group may read."""
_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_TAIL_WINDOW = 2 * MAX_LINE_BYTES + 2
"""Enough to hold the last complete line and a torn one after it."""
_CALLER_KINDS = ("finding", "alert")


class AuditLogError(Exception):
    """The log cannot be opened or continued (bad last record, in use, unreadable)."""


class _Refused(Exception):
    """This record cannot be written (it is too long); the log itself is fine."""


def _positive_or_none(name: str, value: int | None) -> int | None:
    if value is not None and (type(value) is not int or value <= 0):
        raise ValueError(f"AuditLog {name} must be a positive integer or None, not {value!r}")
    return value


class AuditLog:
    """A `FindingSink` that appends findings (`emit`) and alerts (`append("alert", ...)`) to a
    hash-chained JSONL file. Thread-safe; never raises on a write failure (see `failed`)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        key: bytes | None = None,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        fsync: bool = False,
        keep: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._key = check_key(key, "AuditLog key")
        self._max_bytes = _positive_or_none("max_bytes", max_bytes)
        self._keep = _positive_or_none("keep", keep)
        self._fsync = fsync
        self.written = 0
        """Records written (recovery records included)."""
        self.failed = 0
        """Records that could not be written."""
        self.rotations = 0
        self._lock = threading.Lock()
        self._closed = False
        self._failing = False
        self._lost = 0
        self._torn = 0
        self._dirty = False  # a failed write may have left part of a line: cut it before the next
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(lock_path(self.path), _OPEN_FLAGS, FILE_MODE)
        except OSError as exc:
            raise AuditLogError(f"audit log {self.path}: cannot open: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._fd = os.open(self.path, _OPEN_FLAGS, FILE_MODE)
            self._size, self._seq, self._prev = self._resume()
        except BaseException as exc:
            os.close(self._lock_fd)
            if hasattr(self, "_fd"):
                os.close(self._fd)
            if isinstance(exc, BlockingIOError):
                raise AuditLogError(f"audit log {self.path} is in use by another writer ({lock_path(self.path).name} "
                                    "is locked)") from None
            if isinstance(exc, OSError):
                raise AuditLogError(f"audit log {self.path}: cannot open: {exc.strerror or exc}") from None
            raise
        if self._torn:
            with self._lock:
                if not self._write_recovery_locked():
                    log.error("audit log %s: cannot write the recovery record now; it goes before the next record",
                              self.path)

    # --- the FindingSink API -------------------------------------------------------------------

    def emit(self, record: dict[str, Any]) -> None:
        self.append("finding", record)

    def append(self, kind: str, record: dict[str, Any]) -> int | None:
        """Append one record; returns its seq, or None when it could not be written (counted in
        `failed`, logged). `kind` is `finding` or `alert`."""
        if kind not in _CALLER_KINDS:
            raise ValueError(f"audit record kind must be one of {', '.join(_CALLER_KINDS)}, not {kind!r}")
        if not isinstance(record, dict):
            raise TypeError(f"an audit record must be a dict, not {type(record).__name__}")
        try:
            plain = json.loads(canonical(record))  # exactly what a verifier will parse back
        except (TypeError, ValueError) as exc:
            with self._lock:
                self._fail(f"the record is not JSON: {exc}")
            return None
        with self._lock:
            if self._closed:
                self._fail("the log is closed")
                return None
            if not self._write_recovery_locked():
                self._fail("the log cannot be written")
                return None
            try:
                seq = self._write_locked(kind, plain)
            except (OSError, _Refused) as exc:
                self._fail(str(exc))
                return None
            if self._failing:
                log.warning("audit log %s: writing again", self.path)
                self._failing = False
            return seq

    def close(self, timeout_s: float = 10.0) -> None:
        """Close the file and release the lock (writes are synchronous: nothing is queued)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._fd)
            os.close(self._lock_fd)

    def stats(self) -> dict[str, int]:
        """Counters for the gateway's self-metrics."""
        with self._lock:
            return {"written": self.written, "failed": self.failed, "rotations": self.rotations, "last_seq": self._seq}

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def last_seq(self) -> int:
        """Seq of the last record written (0 for an empty chain)."""
        return self._seq

    @property
    def head(self) -> str:
        """Hash of the last record: keep it elsewhere to detect records cut off the end."""
        return self._prev

    # --- writing -------------------------------------------------------------------------------

    def _fail(self, reason: str) -> None:
        self.failed += 1
        self._lost += 1
        if not self._failing:
            log.error("audit log %s: a record was not written (%s); further failures are counted, not logged, "
                      "until a write succeeds", self.path, reason)
            self._failing = True

    def _write_recovery_locked(self) -> bool:
        """Write the pending recovery record, if any; False when that failed."""
        if not (self._lost or self._torn):
            return True
        record = {"lost_records": self._lost, "torn_bytes": self._torn,
                  "message": "records were lost: see lost_records (writes that failed) and torn_bytes "
                             "(an incomplete last line cut away on open)"}
        try:
            self._write_locked("recovery", record)
        except (OSError, _Refused):
            return False
        self._lost = self._torn = 0
        return True

    def _write_locked(self, kind: str, record: dict[str, Any]) -> int:
        seq = self._seq + 1
        line, digest = encode(seq, iso_time(time.time()), kind, record, self._prev, self._key)
        if len(line) > MAX_LINE_BYTES:
            raise _Refused(f"its line would be {len(line)} bytes, over the {MAX_LINE_BYTES} limit")
        if self._max_bytes is not None and self._size and self._size + len(line) > self._max_bytes:
            self._rotate_locked()
        try:
            if self._dirty:
                os.ftruncate(self._fd, self._size)
                self._dirty = False
            count = os.write(self._fd, line)
            if count != len(line):
                raise OSError(f"short write: {count} of {len(line)} bytes")
            if self._fsync:
                os.fsync(self._fd)
        except OSError:
            self._dirty = True
            try:
                os.ftruncate(self._fd, self._size)
                self._dirty = False
            except OSError:
                pass  # retried before the next write, which fails until it succeeds
            raise
        self._seq, self._prev = seq, digest
        self._size += len(line)
        self.written += 1
        return seq

    def _rotate_locked(self) -> None:
        """Rename the live file after its last seq and continue in a new one. On failure, log it and
        keep writing to the current file: a big file beats a lost record."""
        target = rotated_path(self.path, self._seq)
        try:
            if target.exists():  # never overwrite a rotated file
                raise OSError(f"{target.name} exists")
            os.rename(self.path, target)
        except OSError as exc:
            log.error("audit log %s: cannot rotate (%s); writing on in the current file", self.path, exc)
            return
        try:
            fd = os.open(self.path, _OPEN_FLAGS, FILE_MODE)
        except OSError as exc:
            log.error("audit log %s: cannot start a new file (%s); writing on in the current file", self.path, exc)
            try:
                os.rename(target, self.path)
            except OSError:
                log.error("audit log %s: cannot rename %s back; records go on in it", self.path, target.name)
            return
        os.close(self._fd)
        self._fd, self._size = fd, 0
        self.rotations += 1
        if self._fsync:
            _fsync_directory(self.path.parent)
        if self._keep is not None:
            for old in rotated_siblings(self.path)[:-self._keep]:
                try:
                    old.unlink()
                except OSError as exc:
                    log.error("audit log %s: cannot delete old rotated file %s: %s", self.path, old.name, exc)

    # --- resuming ------------------------------------------------------------------------------

    def _resume(self) -> tuple[int, int, str]:
        """(size of the live file, seq and hash of the last record). The last record is checked
        before anything is changed; then a torn tail is cut."""
        size = os.fstat(self._fd).st_size
        last, complete = _tail(self._fd, size, self.path)
        if last is None:  # no complete line: the chain may go on from the newest rotated file
            rotated = rotated_siblings(self.path)
            if rotated:
                with open(rotated[-1], "rb") as handle:
                    rotated_size = os.fstat(handle.fileno()).st_size
                    last, rotated_complete = _tail(handle.fileno(), rotated_size, rotated[-1])
                if rotated_complete < rotated_size:
                    raise AuditLogError(f"audit log {self.path}: rotated file {rotated[-1].name} ends with an "
                                        "incomplete line; check it with `otel-apisec audit verify`")
        entry = None if last is None else self._check_last(*last)
        if complete < size:
            os.ftruncate(self._fd, complete)
            self._torn = size - complete
            log.warning("audit log %s: cut an incomplete last line (%d bytes, a crash mid-write?); "
                        "a recovery record notes it", self.path, self._torn)
        return (complete, 0, GENESIS) if entry is None else (complete, entry.seq, entry.hash)

    def _check_last(self, line: bytes, where: Path) -> Entry:
        try:
            entry = parse(line)
        except EntryError as exc:
            problem = str(exc)
        else:
            sealed = seal_problem(entry, line, self._key)
            if sealed is None:
                return entry
            problem = sealed[1] + (" (or it was written with another key, or without one)" if sealed[0] == "digest" else "")
        raise AuditLogError(f"audit log {self.path}: the last record of {where.name} cannot be continued: {problem}. "
                            f"Check the log with `otel-apisec audit verify {self.path}`; to start a new chain, "
                            "move its files aside")


def _tail(fd: int, size: int, path: Path) -> tuple[tuple[bytes, Path] | None, int]:
    """((last complete line, path) or None, offset just after it): what follows it is torn."""
    window = min(size, _TAIL_WINDOW)
    data = os.pread(fd, window, size - window)
    covers_start = window == size
    end = data.rfind(b"\n") + 1
    if end == 0 and not covers_start:
        raise AuditLogError(f"audit log {path}: no line end in its last {window} bytes: not an audit log")
    complete = size - window + end
    if end == 0:
        return None, complete
    start = data.rfind(b"\n", 0, end - 1) + 1
    if start == 0 and not covers_start:
        raise AuditLogError(f"audit log {path}: its last line is over {MAX_LINE_BYTES} bytes: not an audit record")
    return (data[start:end - 1], path), complete


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("audit log: cannot fsync directory %s: %s", directory, exc)
