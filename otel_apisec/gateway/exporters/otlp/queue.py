"""The queues between an exporter's `submit` (receiver threads) and its sender thread(s).

Both hold serialized OTLP requests (`bytes`): a request is encoded once, at submit, so what is
sent is a snapshot even if a later pipeline stage changes the message. Same interface for both:

    queue.put(signal, payload, items)   # raises QueueFullError when full
    item = queue.get(timeout_s)         # oldest first; None on timeout
    queue.ack(item)                     # delivered (or deliberately dropped): forget it
    kept = queue.close()                # (requests, items) not acked: discarded (memory) / kept on disk

- `BoundedQueue`: in memory, bounded by request count and bytes.
- `PersistentQueue`: one file per request, durable before `put` returns (temp file, fsync,
  rename, fsync of the directory); a file is removed only on `ack`, and a new queue on the same
  directory resumes with what is there, oldest first. Delivery is at least once: a request sent
  but not yet acked when the process died is sent again.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from otel_apisec.gateway.api import QueueFullError, Signal

try:  # POSIX: one process per queue directory
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None  # type: ignore[assignment]

__all__ = ["BoundedQueue", "PersistentQueue", "QueueItem"]

log = logging.getLogger(__name__)


@dataclass
class QueueItem:
    signal: Signal
    payload: bytes
    items: int
    """Spans, data points or log records in the request (for counters)."""
    enqueued_at: float
    """Wall-clock time of `put` (survives a restart, unlike a monotonic clock)."""
    size: int = 0
    key: int = field(default=0, repr=False)
    """The queue's own handle (a sequence number)."""


class _QueueBase:
    """Bookkeeping shared by both queues: pending order, in-flight set, byte and count limits."""

    persistent = False

    def __init__(self, max_items: int | None, max_bytes: int, retry_after_s: float) -> None:
        if max_bytes <= 0 or (max_items is not None and max_items <= 0):
            raise ValueError("queue limits must be positive")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.retry_after_s = retry_after_s
        self.corrupt = 0
        """Files found unreadable and moved aside (persistent queue only)."""
        self._cond = threading.Condition()
        self._pending: collections.deque[QueueItem] = collections.deque()
        self._in_flight: dict[int, QueueItem] = {}
        self._count = 0  # pending + in flight + being written
        self._bytes = 0
        self._closed = False

    @property
    def depth(self) -> int:
        """Requests held: waiting, being sent, or being written."""
        return self._count

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def pending(self) -> int:
        """Requests waiting for a sender (not in flight)."""
        return len(self._pending)

    def _reserve(self, size: int) -> None:
        """Count a request in before it is stored; the caller holds the lock."""
        if self._closed:
            raise QueueFullError(self.retry_after_s)
        # An empty queue takes any request, so one larger than max_bytes is not refused forever.
        if self._count and (
            self._bytes + size > self.max_bytes or (self.max_items is not None and self._count >= self.max_items)
        ):
            raise QueueFullError(self.retry_after_s)
        self._count += 1
        self._bytes += size

    def _release(self, size: int) -> None:
        self._count -= 1
        self._bytes -= size

    def _take(self, timeout_s: float | None) -> QueueItem | None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item = self._pending.popleft()
            self._in_flight[item.key] = item
            return item

    def _forget(self, item: QueueItem) -> bool:
        with self._cond:
            if self._in_flight.pop(item.key, None) is None:
                return False
            self._release(item.size)
            self._cond.notify_all()
            return True

    def _close_counts(self) -> tuple[int, int]:
        with self._cond:
            self._closed = True
            left = [*self._pending, *self._in_flight.values()]
            self._cond.notify_all()
        return len(left), sum(item.items for item in left)


class BoundedQueue(_QueueBase):
    """In memory, at most `max_items` requests and `max_bytes` bytes (an empty queue takes one
    request of any size). What is left at `close` is discarded; the caller counts it dropped."""

    def __init__(self, max_items: int = 1000, max_bytes: int = 64 << 20, *, retry_after_s: float = 1.0) -> None:
        super().__init__(max_items, max_bytes, retry_after_s)
        self._keys = itertools.count(1)

    def put(self, signal: Signal, payload: bytes, items: int = 0) -> None:
        size = len(payload)
        with self._cond:
            self._reserve(size)
            item = QueueItem(Signal(signal), payload, items, time.time(), size, next(self._keys))
            self._pending.append(item)
            self._cond.notify()

    def get(self, timeout_s: float | None = None) -> QueueItem | None:
        return self._take(timeout_s)

    def ack(self, item: QueueItem) -> None:
        self._forget(item)

    def close(self) -> tuple[int, int]:
        """Stop; return (requests, items) discarded."""
        counts = self._close_counts()
        with self._cond:
            self._pending.clear()
            self._in_flight.clear()
            self._count = self._bytes = 0
        return counts


# File layout: header, then the serialized request. The CRC covers the payload; a torn or
# altered file fails it and is moved aside instead of being sent.
_MAGIC = b"OTQ1"
_HEADER = struct.Struct(">4s1sQIII")  # magic, signal, enqueued (ns since epoch), items, payload length, crc32
_SIGNAL_CODES = {Signal.TRACES: b"t", Signal.METRICS: b"m", Signal.LOGS: b"l"}
_SIGNALS_BY_CODE = {code: signal for signal, code in _SIGNAL_CODES.items()}
_SUFFIX = ".otlpq"
_TEMP_PREFIX = ".tmp-"
_CORRUPT_DIR = "corrupt"
_LOCK_FILE = ".lock"


class _CorruptFile(Exception):
    pass


def _encode(signal: Signal, payload: bytes, items: int, enqueued_at: float) -> bytes:
    header = _HEADER.pack(_MAGIC, _SIGNAL_CODES[signal], int(enqueued_at * 1e9), items, len(payload), zlib.crc32(payload))
    return header + payload


def _decode(data: bytes) -> tuple[Signal, bytes, int, float]:
    if len(data) < _HEADER.size:
        raise _CorruptFile("shorter than the header")
    magic, code, enqueued_ns, items, length, crc = _HEADER.unpack_from(data)
    payload = data[_HEADER.size:]
    if magic != _MAGIC or code not in _SIGNALS_BY_CODE:
        raise _CorruptFile("bad header")
    if len(payload) != length or zlib.crc32(payload) != crc:
        raise _CorruptFile("payload length or checksum mismatch")
    return _SIGNALS_BY_CODE[code], payload, items, enqueued_ns / 1e9


class PersistentQueue(_QueueBase):
    """On disk under `directory`: one file per request, written durably before `put` returns and
    removed on `ack`. A new queue on the same directory reloads the files, oldest first; payloads
    are read when taken, so a large backlog does not sit in memory. Unreadable files are moved to
    `directory/corrupt/` and counted in `corrupt`. One process at a time per directory (flock).

    `fsync=False` trades durability against power loss for speed (a process crash still loses
    nothing: the page cache survives it)."""

    persistent = True

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_bytes: int = 1 << 30,
        *,
        max_items: int | None = None,
        fsync: bool = True,
        retry_after_s: float = 1.0,
    ) -> None:
        super().__init__(max_items, max_bytes, retry_after_s)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        self._lock_fd: int | None = self._lock_directory()
        self._dir_fd = os.open(self.directory, os.O_RDONLY) if fsync and hasattr(os, "O_DIRECTORY") else None
        self._next_key = self._reload() + 1

    # -- start-up -------------------------------------------------------------------------------

    def _lock_directory(self) -> int:
        fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise RuntimeError(f"persistent queue {self.directory} is in use by another exporter or process") from None
        return fd

    def _reload(self) -> int:
        """Index the files left by an earlier run; return the highest sequence number seen."""
        found: list[tuple[int, Path, int]] = []
        for entry in os.scandir(self.directory):
            if not entry.is_file() or entry.name == _LOCK_FILE:
                continue
            path = Path(entry.path)
            if entry.name.startswith(_TEMP_PREFIX):
                path.unlink(missing_ok=True)  # never renamed: its put did not return, the client retried
                continue
            stem = entry.name[: -len(_SUFFIX)] if entry.name.endswith(_SUFFIX) else ""
            if not stem.isdigit():
                self._move_aside(path, "not a queue file name")
                continue
            found.append((int(stem), path, entry.stat().st_size))
        found.sort()
        for key, _path, size in found:
            # Signal and counts are read with the payload at `get`; until then only the size matters.
            self._count += 1
            self._bytes += size
            self._pending.append(QueueItem(Signal.TRACES, b"", 0, 0.0, size, key))
        if found:
            log.info("persistent queue %s: %d request(s) from an earlier run", self.directory, len(found))
        return found[-1][0] if found else 0

    def _path(self, key: int) -> Path:
        return self.directory / f"{key:020d}{_SUFFIX}"

    def _move_aside(self, path: Path, why: str) -> None:
        self.corrupt += 1
        target_dir = self.directory / _CORRUPT_DIR
        try:
            target_dir.mkdir(exist_ok=True)
            os.replace(path, target_dir / path.name)
        except OSError:
            path.unlink(missing_ok=True)
        log.warning("persistent queue %s: %s moved aside (%s)", self.directory, path.name, why)

    # -- the queue interface ---------------------------------------------------------------------

    def put(self, signal: Signal, payload: bytes, items: int = 0) -> None:
        signal = Signal(signal)
        now = time.time()
        data = _encode(signal, payload, items, now)
        with self._cond:
            self._reserve(len(data))
            key = self._next_key
            self._next_key += 1
        # Written outside the lock, so concurrent receivers write in parallel.
        try:
            self._write(key, data)
        except OSError as error:
            with self._cond:
                self._release(len(data))
            log.error("persistent queue %s: cannot store a request: %s", self.directory, error)
            raise QueueFullError(self.retry_after_s) from error
        with self._cond:
            self._pending.append(QueueItem(signal, b"", items, now, len(data), key))
            self._cond.notify()

    def _write(self, key: int, data: bytes) -> None:
        final = self._path(key)
        temp = self.directory / f"{_TEMP_PREFIX}{final.name}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if self._fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(temp, final)
        if self._dir_fd is not None:
            os.fsync(self._dir_fd)  # the rename itself must survive a power loss

    def get(self, timeout_s: float | None = None) -> QueueItem | None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            item = self._take(remaining)
            if item is None:
                return None
            path = self._path(item.key)
            try:
                item.signal, item.payload, item.items, item.enqueued_at = _decode(path.read_bytes())
                return item
            except FileNotFoundError:
                log.warning("persistent queue %s: %s vanished", self.directory, path.name)
            except (OSError, _CorruptFile) as error:
                self._move_aside(path, str(error))
            self._forget(item)

    def ack(self, item: QueueItem) -> None:
        if self._forget(item):
            try:
                self._path(item.key).unlink(missing_ok=True)
            except OSError as error:  # sent again after a restart: at least once
                log.warning("persistent queue %s: cannot remove %s: %s", self.directory, item.key, error)
        item.payload = b""

    def close(self) -> tuple[int, int]:
        """Stop; return (requests, items) left on disk for the next run. Items not yet read from
        disk count as 0 items (their counts are in the files)."""
        counts = self._close_counts()
        for fd in (self._dir_fd, self._lock_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._dir_fd = self._lock_fd = None
        return counts
