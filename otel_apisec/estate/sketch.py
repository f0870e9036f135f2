"""Mergeable sketches for per-endpoint figures that replicas and restarts must add up.

`LatencySketch` is a DDSketch (Masson, Rim, Lee, "DDSketch: a fast and fully-mergeable quantile
sketch with relative-error guarantees", VLDB 2019): log-spaced buckets, so any quantile is within
1 % of the true value and two sketches merge by adding their bucket counts. `DistinctSketch` counts
distinct principals exactly up to 64, then as a HyperLogLog (the correlators' registers and
estimator), and merges by union or register-wise max.
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import Any

from otel_apisec.correlate.sketch import PRECISION, REGISTERS, estimate, register

__all__ = ["DistinctSketch", "LatencySketch"]

_RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + _RELATIVE_ACCURACY) / (1 - _RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
_MIN_MS = 1e-3
"""Latencies below a microsecond count as zero."""
_MAX_BUCKETS = 2048
"""1 µs to 10^6 s spans about 1,400 buckets at 1 %: the bound is never reached by real latencies."""
_EXACT_MAX = 64


class LatencySketch:
    __slots__ = ("buckets", "count", "zeros")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.zeros = 0
        self.count = 0

    def add(self, value_ms: float) -> None:
        if not math.isfinite(value_ms) or value_ms < 0:
            return
        self.count += 1
        if value_ms < _MIN_MS:
            self.zeros += 1
            return
        index = math.ceil(math.log(value_ms) / _LOG_GAMMA)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        if len(self.buckets) > _MAX_BUCKETS:
            self._collapse()

    def merge(self, other: LatencySketch) -> None:
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.zeros += other.zeros
        self.count += other.count
        if len(self.buckets) > _MAX_BUCKETS:
            self._collapse()

    def _collapse(self) -> None:
        """Fold the lowest buckets into one, as DDSketch does: low quantiles lose accuracy first."""
        ordered = sorted(self.buckets)
        excess = ordered[: len(ordered) - _MAX_BUCKETS + 1]
        folded = sum(self.buckets.pop(index) for index in excess)
        target = ordered[len(excess)]
        self.buckets[target] = self.buckets.get(target, 0) + folded

    def quantile(self, q: float) -> float | None:
        """The q-quantile in ms (within 1 %), None when empty."""
        if self.count == 0:
            return None
        rank = q * (self.count - 1)
        seen = self.zeros
        if rank < seen:
            return 0.0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen > rank:
                return 2 * _GAMMA ** index / (_GAMMA + 1)
        return 2 * _GAMMA ** max(self.buckets) / (_GAMMA + 1)

    def to_state(self) -> dict[str, Any]:
        return {"b": {str(k): v for k, v in self.buckets.items()}, "z": self.zeros, "n": self.count}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LatencySketch:
        sketch = cls()
        sketch.buckets = {int(k): int(v) for k, v in state.get("b", {}).items()}
        sketch.zeros = int(state.get("z", 0))
        sketch.count = int(state.get("n", 0))
        return sketch


def _fingerprint(member: str) -> int:
    return int.from_bytes(hashlib.blake2b(member.encode("utf-8", "replace"), digest_size=8).digest(), "big")


class DistinctSketch:
    __slots__ = ("exact", "registers")

    def __init__(self) -> None:
        self.exact: set[int] | None = set()
        self.registers: bytearray | None = None

    def add(self, member: str) -> None:
        self._add_fingerprint(_fingerprint(member))

    def _add_fingerprint(self, fingerprint: int) -> None:
        if self.exact is not None:
            self.exact.add(fingerprint)
            if len(self.exact) > _EXACT_MAX:
                self._promote()
            return
        assert self.registers is not None
        index, value = register(fingerprint)
        if value > self.registers[index]:
            self.registers[index] = value

    def _promote(self) -> None:
        members, self.exact = self.exact or set(), None
        self.registers = bytearray(REGISTERS)
        for fingerprint in members:
            self._add_fingerprint(fingerprint)

    def merge(self, other: DistinctSketch) -> None:
        if other.exact is not None:
            for fingerprint in other.exact:
                self._add_fingerprint(fingerprint)
            return
        if self.exact is not None:
            self._promote()
        assert self.registers is not None and other.registers is not None
        self.registers = bytearray(map(max, self.registers, other.registers))

    def estimate(self) -> int:
        if self.exact is not None:
            return len(self.exact)
        assert self.registers is not None
        histogram = [0] * (64 - PRECISION + 2)
        for value in self.registers:
            histogram[value] += 1
        return round(estimate(histogram))

    def to_state(self) -> dict[str, Any]:
        if self.exact is not None:
            return {"e": sorted(self.exact)}
        assert self.registers is not None
        return {"r": base64.b64encode(bytes(self.registers)).decode()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DistinctSketch:
        sketch = cls()
        if "r" in state:
            registers = base64.b64decode(state["r"])
            if len(registers) != REGISTERS:
                raise ValueError("distinct sketch: wrong register count")
            sketch.exact, sketch.registers = None, bytearray(registers)
        else:
            sketch.exact = {int(v) for v in state.get("e", ())}
        return sketch
