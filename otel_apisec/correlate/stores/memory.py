"""The default `StateStore`: in-process, thread-safe, bounded and compact.

Memory is the point. A million clients each holding a few keys must fit in a couple of hundred MB,
so entries are not Python objects: each kind of entry (counts, distinct sets, marks, recent lists,
claims) lives in its own table of parallel `array` columns, found through an open-addressing index
keyed by a 64-bit fingerprint of the key (`hash()`, which is SipHash with a per-process random key,
so clients cannot aim collisions). A count is six 4-byte counters; a distinct set of one member is
one 8-byte fingerprint; larger sets are packed bytes, and past `EXACT_LIMIT` members a windowed
HyperLogLog. Eviction is CLOCK (one reference bit per entry, an approximation of least recently
used, as Redis does it) under a cap on keys and a byte budget for the values that vary in size
(sets beyond one member, recent lists); every insert also frees up to two expired entries, so
memory follows the live keys, not the cap.

Windows use the caller's `now` (see `windows`); TTLs (`mark`, `recent`, `claim`) use `clock`.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable

from otel_apisec.correlate.sketch import WindowedHLL, sketch_bytes
from otel_apisec.correlate.windows import (
    COUNT_BUCKETS,
    DISTINCT_BUCKETS,
    bucket_of,
    check_amount,
    check_limit,
    check_positive,
)

__all__ = ["DEFAULT_MAX_KEYS", "DEFAULT_MAX_VALUE_BYTES", "EXACT_LIMIT", "MemoryStore"]

DEFAULT_MAX_KEYS = 3_000_000
"""Keys cost 55-65 bytes each (`bench/correlation_memory.py`), so a full cap is about 170-195 MB:
with `DEFAULT_MAX_VALUE_BYTES`, the state stays within the 200 MB the gateway promises. The default
correlators keep about eight keys per call of a new client, so a flood of a million one-off clients
evicts (least recently used first) instead of growing."""
DEFAULT_MAX_VALUE_BYTES = 16 << 20
"""Budget for values that vary in size: distinct sets beyond one member (packed members and
sketches) and recent lists."""
EXACT_LIMIT = 512
"""A distinct set holds up to this many members exactly (16 bytes each), then turns into a sketch."""

_EMPTY = -1
_SWEEP_STEPS = 2
_COUNTER_MAX = (1 << 32) - 1
_ZERO_COUNTERS = array("I", bytes(4 * COUNT_BUCKETS))
_SKETCH_BYTES = sketch_bytes(DISTINCT_BUCKETS)
_BYTES_OVERHEAD = 48
"""Heap cost of a `bytes` or `str` object beyond its payload (header plus allocator rounding)."""


def _fingerprint(*parts: object) -> int:
    return hash(parts) or 1  # 0 marks a free slot


class _Table:
    """Open-addressing index (linear probing, backward-shift deletion) from a fingerprint to a
    dense slot, and the columns every entry has: fingerprint (0 = free), expiry, CLOCK bit.

    A new entry starts unreferenced: a flood of one-off keys (a scan, a spray of client addresses)
    is evicted before keys that were used twice. It takes the slot just evicted, right behind the
    CLOCK hand, so it still has a whole turn of the hand to be used again."""

    def __init__(self) -> None:
        self.fingerprints = array("q")
        self.expires = array("d")
        self.referenced = bytearray()
        self.free = array("i")
        self.index = array("i", [_EMPTY]) * 8
        self.size = 0
        self.value_bytes = 0
        """Approximate heap size of the variable-size values (0 for fixed-size tables)."""
        self.evicted = 0
        self.expired = 0
        self._clock_hand = 0
        self._sweep_hand = 0

    def find(self, fingerprint: int) -> int:
        index, fingerprints, mask = self.index, self.fingerprints, len(self.index) - 1
        i = fingerprint & mask
        while True:
            slot = index[i]
            if slot == _EMPTY or fingerprints[slot] == fingerprint:
                return slot
            i = (i + 1) & mask

    def add(self, fingerprint: int, expires: float) -> int:
        if (self.size + 1) * 4 > len(self.index) * 3:
            self._grow()
        if self.free:
            slot = self.free.pop()
            self.fingerprints[slot] = fingerprint
            self.expires[slot] = expires
            self.referenced[slot] = 0
        else:
            slot = len(self.fingerprints)
            self.fingerprints.append(fingerprint)
            self.expires.append(expires)
            self.referenced.append(0)
            self._append_payload()
        self._place(slot)
        self.size += 1
        return slot

    def remove(self, slot: int) -> None:
        index, fingerprints, mask = self.index, self.fingerprints, len(self.index) - 1
        hole = fingerprints[slot] & mask
        while index[hole] != slot:
            hole = (hole + 1) & mask
        # Backward shift: pull later entries of the probe run into the hole so lookups never stop early.
        i = hole
        while True:
            i = (i + 1) & mask
            moving = index[i]
            if moving == _EMPTY:
                break
            home = fingerprints[moving] & mask
            if (hole < home <= i) if hole <= i else (home > hole or home <= i):
                continue  # its home lies after the hole: it must stay where it is
            index[hole] = moving
            hole = i
        index[hole] = _EMPTY
        fingerprints[slot] = 0
        self.referenced[slot] = 0
        self._clear_payload(slot)
        self.free.append(slot)
        self.size -= 1

    def victim(self, keep: int = _EMPTY, heavy_only: bool = False) -> int:
        """The next entry the CLOCK hand finds unreferenced (second chance for referenced ones), or
        `_EMPTY` if there is none besides `keep`."""
        fingerprints, referenced, total = self.fingerprints, self.referenced, len(self.fingerprints)
        for _ in range(2 * total + 1):
            slot = self._clock_hand
            self._clock_hand = slot + 1 if slot + 1 < total else 0
            if fingerprints[slot] == 0 or slot == keep or (heavy_only and not self._heavy(slot)):
                continue
            if referenced[slot]:
                referenced[slot] = 0
                continue
            return slot
        return _EMPTY

    def sweep(self, now: float) -> None:
        """Look at the next `_SWEEP_STEPS` slots under the sweep hand and free those expired."""
        fingerprints, expires, total = self.fingerprints, self.expires, len(self.fingerprints)
        slot = self._sweep_hand
        for _ in range(_SWEEP_STEPS if total >= _SWEEP_STEPS else total):
            if slot >= total:
                slot = 0
            if expires[slot] <= now and fingerprints[slot] != 0:
                self.remove(slot)
                self.expired += 1
            slot += 1
        self._sweep_hand = slot

    def _place(self, slot: int) -> None:
        index, mask = self.index, len(self.index) - 1
        i = self.fingerprints[slot] & mask
        while index[i] != _EMPTY:
            i = (i + 1) & mask
        index[i] = slot

    def _grow(self) -> None:
        self.index = array("i", [_EMPTY]) * (2 * len(self.index))
        for slot, fingerprint in enumerate(self.fingerprints):
            if fingerprint != 0:
                self._place(slot)

    def _append_payload(self) -> None:
        """Extend the payload columns by one slot (none for a plain TTL table)."""

    def _clear_payload(self, slot: int) -> None:
        """Reset a freed slot's payload so its next owner starts empty."""

    def _heavy(self, slot: int) -> bool:
        return True


class _CountTable(_Table):
    """Payload: `COUNT_BUCKETS` counters per slot, a ring indexed by bucket number. The newest
    bucket is not stored: it is `expires / width - COUNT_BUCKETS`."""

    def __init__(self) -> None:
        super().__init__()
        self.counters = array("I")

    def _append_payload(self) -> None:
        self.counters.extend(_ZERO_COUNTERS)

    def _clear_payload(self, slot: int) -> None:
        base = slot * COUNT_BUCKETS
        self.counters[base:base + COUNT_BUCKETS] = _ZERO_COUNTERS


class _DistinctTable(_Table):
    """Payload: `single` holds the member of a one-member set (seen in the key's newest bucket,
    `expires / width - DISTINCT_BUCKETS`); `sets` holds larger sets, as packed (fingerprint, bucket)
    int64 pairs or a `WindowedHLL`."""

    def __init__(self) -> None:
        super().__init__()
        self.single = array("q")
        self.sets: list[bytes | WindowedHLL | None] = []

    def store(self, slot: int, held: bytes | WindowedHLL | None) -> None:
        self.value_bytes += _set_weight(held) - _set_weight(self.sets[slot])
        self.sets[slot] = held

    def _append_payload(self) -> None:
        self.single.append(0)
        self.sets.append(None)

    def _clear_payload(self, slot: int) -> None:
        self.store(slot, None)

    def _heavy(self, slot: int) -> bool:
        return self.sets[slot] is not None


class _RecentTable(_Table):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, ...]] = []

    def store(self, slot: int, values: tuple[str, ...]) -> None:
        self.value_bytes += _list_weight(values) - _list_weight(self.values[slot])
        self.values[slot] = values

    def _append_payload(self) -> None:
        self.values.append(())

    def _clear_payload(self, slot: int) -> None:
        self.store(slot, ())


def _list_weight(values: tuple[str, ...]) -> int:
    return 40 + sum(8 + _BYTES_OVERHEAD + len(value) for value in values) if values else 0


def _set_weight(held: bytes | WindowedHLL | None) -> int:
    if held is None:
        return 0
    if isinstance(held, WindowedHLL):
        return _SKETCH_BYTES
    return len(held) + _BYTES_OVERHEAD


class MemoryStore:
    """The in-process `StateStore`. `max_keys` caps entries of all kinds together;
    `max_value_bytes` caps the memory of distinct sets beyond one member and of recent lists;
    together they bound the store at about `max_keys * 65 + max_value_bytes` bytes. `evictions`
    counts entries dropped for room (expired ones freed on the way count in `expirations`). When
    the key cap is reached the victim comes from the kind with the most entries, so a flood of
    per-client counts does not push out claims and marks."""

    def __init__(
        self,
        max_keys: int = DEFAULT_MAX_KEYS,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be an int >= 1, got {max_keys!r}")
        if not isinstance(max_value_bytes, int) or max_value_bytes < 2 * _SKETCH_BYTES:
            raise ValueError(f"max_value_bytes must be an int >= {2 * _SKETCH_BYTES} (two sketches), got {max_value_bytes!r}")
        self.max_keys = max_keys
        self.max_value_bytes = max_value_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._counts = _CountTable()
        self._sets = _DistinctTable()
        self._marks = _Table()
        self._recent = _RecentTable()
        self._claims = _Table()
        self._tables = (self._counts, self._sets, self._marks, self._recent, self._claims)

    def __len__(self) -> int:
        return self._counts.size + self._sets.size + self._marks.size + self._recent.size + self._claims.size

    @property
    def evictions(self) -> int:
        return sum(table.evicted for table in self._tables)

    @property
    def expirations(self) -> int:
        return sum(table.expired for table in self._tables)

    # -- windowed counts -------------------------------------------------------------------------

    def count(self, key: str, now: float, window_s: float, amount: int = 1) -> int:
        check_amount(amount)
        bucket = bucket_of(now, window_s, COUNT_BUCKETS)
        width = window_s / COUNT_BUCKETS
        fingerprint = _fingerprint(key, window_s)
        with self._lock:
            table = self._counts
            slot = table.find(fingerprint)
            if slot == _EMPTY:
                slot = self._add(table, fingerprint, now, (bucket + COUNT_BUCKETS) * width)
                newest = bucket
            else:
                table.referenced[slot] = 1
                newest = round(table.expires[slot] / width) - COUNT_BUCKETS
            counters, base = table.counters, slot * COUNT_BUCKETS
            if bucket > newest:  # the window slid: zero the buckets it slid over
                for passed in range(max(newest + 1, bucket - COUNT_BUCKETS + 1), bucket + 1):
                    counters[base + passed % COUNT_BUCKETS] = 0
                newest = bucket
                table.expires[slot] = (bucket + COUNT_BUCKETS) * width
            elif bucket <= newest - COUNT_BUCKETS:
                return amount  # over a window late: its buckets are gone, it can only count itself
            at = base + bucket % COUNT_BUCKETS
            counters[at] = min(counters[at] + amount, _COUNTER_MAX)
            return _window_total(counters, base, bucket, newest)

    def peek_count(self, key: str, now: float, window_s: float) -> int:
        bucket = bucket_of(now, window_s, COUNT_BUCKETS)
        width = window_s / COUNT_BUCKETS
        with self._lock:
            table = self._counts
            slot = table.find(_fingerprint(key, window_s))
            if slot == _EMPTY:
                return 0
            table.referenced[slot] = 1
            newest = round(table.expires[slot] / width) - COUNT_BUCKETS
            return _window_total(table.counters, slot * COUNT_BUCKETS, bucket, newest)

    # -- windowed distinct members ---------------------------------------------------------------

    def distinct(self, key: str, member: str, now: float, window_s: float) -> int:
        bucket = bucket_of(now, window_s, DISTINCT_BUCKETS)
        width = window_s / DISTINCT_BUCKETS
        fingerprint, member_fp = _fingerprint(key, window_s), hash(member)
        with self._lock:
            table = self._sets
            slot = table.find(fingerprint)
            if slot == _EMPTY:
                slot = self._add(table, fingerprint, now, (bucket + DISTINCT_BUCKETS) * width)
                table.single[slot] = member_fp
                return 1
            table.referenced[slot] = 1
            held = table.sets[slot]
            if isinstance(held, WindowedHLL):
                held.add(member_fp, bucket)
                table.expires[slot] = (held.last + DISTINCT_BUCKETS) * width
                return held.count()
            if held is None:
                newest = round(table.expires[slot] / width) - DISTINCT_BUCKETS
                members = array("q", (table.single[slot], newest))
            else:
                members = array("q")
                members.frombytes(held)
            total = self._add_member(slot, members, member_fp, bucket, width)
            self._trim_values(table, keep=slot)
            return total

    def _add_member(self, slot: int, members: array, member_fp: int, bucket: int, width: float) -> int:
        """Add to a packed (fingerprint, newest bucket) set, drop members out of the window, store
        the set back in its cheapest form; return how many members the window of `bucket` holds."""
        table, oldest = self._sets, bucket - DISTINCT_BUCKETS
        if min(members[1::2]) <= oldest:
            members = array("q", [v for f, b in zip(members[0::2], members[1::2], strict=True) if b > oldest for v in (f, b)])
        fingerprints = members[0::2]
        if member_fp in fingerprints:
            at = 2 * fingerprints.index(member_fp) + 1
            members[at] = max(members[at], bucket)
        else:
            members.extend((member_fp, bucket))
        newest = max(members[1::2])
        table.expires[slot] = (newest + DISTINCT_BUCKETS) * width
        total = len(members) // 2
        if total == 1:
            table.single[slot] = members[0]
            table.store(slot, None)
        elif total <= EXACT_LIMIT:
            table.store(slot, members.tobytes())
        else:
            sketch = WindowedHLL(DISTINCT_BUCKETS, newest)
            for f, b in zip(members[0::2], members[1::2], strict=True):
                sketch.add(f, b)
            table.store(slot, sketch)
            return sketch.count()  # a sketch answers for its newest window
        if newest > bucket:  # a late call: members first seen after its bucket are not in its window
            total = sum(1 for f, b in zip(members[0::2], members[1::2], strict=True) if b <= bucket or f == member_fp)
        return total

    def _trim_values(self, grown: _Table, keep: int) -> None:
        """Evict sets and lists (from the kind holding more bytes) until the value budget holds;
        never the entry just written (`keep` in `grown`)."""
        while self._sets.value_bytes + self._recent.value_bytes > self.max_value_bytes:
            for table in sorted((self._sets, self._recent), key=lambda t: t.value_bytes, reverse=True):
                slot = table.victim(keep=keep if table is grown else _EMPTY, heavy_only=True)
                if slot != _EMPTY:
                    table.remove(slot)
                    table.evicted += 1
                    break
            else:
                return  # nothing left to evict but the entry just written

    # -- marks, recent values, claims (TTL on the store's clock) ----------------------------------

    def mark(self, key: str, member: str, ttl_s: float) -> None:
        check_positive("ttl_s", ttl_s)
        fingerprint = _fingerprint(key, member)
        with self._lock:
            now = self._clock()
            table = self._marks
            slot = table.find(fingerprint)
            if slot == _EMPTY:
                self._add(table, fingerprint, now, now + ttl_s)
            else:
                table.expires[slot] = now + ttl_s
                table.referenced[slot] = 1

    def marked(self, key: str, member: str) -> bool:
        with self._lock:
            table = self._marks
            slot = table.find(_fingerprint(key, member))
            if slot == _EMPTY:
                return False
            if table.expires[slot] <= self._clock():
                table.remove(slot)
                table.expired += 1
                return False
            table.referenced[slot] = 1
            return True

    def recent(self, key: str, value: str, limit: int, ttl_s: float) -> list[str]:
        check_limit(limit)
        check_positive("ttl_s", ttl_s)
        fingerprint = _fingerprint(key)
        with self._lock:
            now = self._clock()
            table = self._recent
            slot = table.find(fingerprint)
            if slot == _EMPTY:
                slot = self._add(table, fingerprint, now, now + ttl_s)
                values: tuple[str, ...] = ()
            else:
                values = table.values[slot] if table.expires[slot] > now else ()
                table.expires[slot] = now + ttl_s
                table.referenced[slot] = 1
            values = (*values, value)[-limit:]
            table.store(slot, values)
            self._trim_values(table, keep=slot)
            return list(values)

    def claim(self, key: str, ttl_s: float) -> bool:
        check_positive("ttl_s", ttl_s)
        fingerprint = _fingerprint(key)
        with self._lock:
            now = self._clock()
            table = self._claims
            slot = table.find(fingerprint)
            if slot == _EMPTY:
                self._add(table, fingerprint, now, now + ttl_s)
                return True
            if table.expires[slot] > now:
                return False
            table.expires[slot] = now + ttl_s
            table.referenced[slot] = 1
            return True

    def close(self) -> None:
        with self._lock:
            self._reset()

    # -- room ------------------------------------------------------------------------------------

    def _add(self, table: _Table, fingerprint: int, now: float, expires: float) -> int:
        """Insert a new entry: free expired entries on the way, evict if the key cap is reached."""
        table.sweep(now)
        while len(self) >= self.max_keys:
            fullest = max(self._tables, key=lambda t: t.size)
            fullest.remove(fullest.victim())
            fullest.evicted += 1
        return table.add(fingerprint, expires)


def _window_total(counters: array, base: int, bucket: int, newest: int) -> int:
    """Sum of the buckets (bucket - N, bucket] that the ring (newest - N, newest] still holds."""
    if bucket >= newest + COUNT_BUCKETS:
        return 0
    if bucket == newest:
        return sum(counters[base:base + COUNT_BUCKETS])
    low = max(bucket, newest) - COUNT_BUCKETS + 1
    return sum(counters[base + b % COUNT_BUCKETS] for b in range(low, min(bucket, newest) + 1))

