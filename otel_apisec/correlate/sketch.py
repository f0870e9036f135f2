"""A windowed HyperLogLog: distinct counts over the last few time buckets in fixed memory.

Members come in as 64-bit fingerprints (the store hashes them). Each of the `buckets` time buckets
has its own registers; a merged copy (register-wise max over the live buckets) plus a histogram of
its values is kept up to date on every add, so an estimate costs O(64), not O(registers). The
estimator is Ertl's improved raw estimator ("New cardinality estimation algorithms for HyperLogLog
sketches", 2017), which needs no bias tables and is accurate from 0 up.
"""

from __future__ import annotations

import math

PRECISION = 12
"""2^12 registers: standard error 1.04 / sqrt(4096) = 1.6 %."""
REGISTERS = 1 << PRECISION
_Q = 64 - PRECISION
_MASK64 = (1 << 64) - 1
_ALPHA_INF = 1 / (2 * math.log(2))


def sketch_bytes(buckets: int) -> int:
    """Approximate heap size of one `WindowedHLL` (registers per bucket, the merged copy, the rest)."""
    return REGISTERS * (buckets + 1) + 600


def register(fingerprint: int) -> tuple[int, int]:
    """Register index and value (leading zeros of the remaining 64 - p bits, plus one)."""
    bits = fingerprint & _MASK64
    return bits & (REGISTERS - 1), _Q + 1 - (bits >> PRECISION).bit_length()


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3


def estimate(histogram: list[int]) -> float:
    """Cardinality from a histogram of register values (histogram[k] = registers holding k)."""
    m = REGISTERS
    z = m * _tau(1.0 - histogram[_Q + 1] / m)
    for k in range(_Q, 0, -1):
        z = 0.5 * (z + histogram[k])
    z += m * _sigma(histogram[0] / m)
    return _ALPHA_INF * m * m / z


class WindowedHLL:
    """Distinct members seen in the buckets (last - buckets, last]; `last` is the newest bucket index."""

    __slots__ = ("buckets", "histogram", "last", "merged", "registers")

    def __init__(self, buckets: int, last: int) -> None:
        self.buckets = buckets
        self.last = last
        self.registers = bytearray(REGISTERS * buckets)
        self.merged = bytearray(REGISTERS)
        self.histogram = [0] * (_Q + 2)
        self.histogram[0] = REGISTERS

    def add(self, fingerprint: int, bucket: int) -> None:
        """Add a member seen in `bucket`; a bucket already out of the window is ignored."""
        if bucket > self.last:
            self._advance(bucket)
        elif bucket <= self.last - self.buckets:
            return
        index, value = register(fingerprint)
        at = (bucket % self.buckets) * REGISTERS + index
        if value > self.registers[at]:
            self.registers[at] = value
            old = self.merged[index]
            if value > old:
                self.merged[index] = value
                self.histogram[old] -= 1
                self.histogram[value] += 1

    def count(self) -> int:
        return round(estimate(self.histogram))

    def _advance(self, bucket: int) -> None:
        """Clear the buckets that fall out of the window, then rebuild the merged registers."""
        for stale in range(max(self.last + 1, bucket - self.buckets + 1), bucket + 1):
            start = (stale % self.buckets) * REGISTERS
            self.registers[start:start + REGISTERS] = bytes(REGISTERS)
        self.last = bucket
        rows = [self.registers[i * REGISTERS:(i + 1) * REGISTERS] for i in range(self.buckets)]
        self.merged = bytearray(map(max, *rows)) if len(rows) > 1 else rows[0]
        self.histogram = [self.merged.count(k) for k in range(_Q + 2)]
