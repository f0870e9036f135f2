"""The mergeable sketches: quantiles within DDSketch's 1 %, distinct counts, merge = one sketch of everything."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_apisec.estate.sketch import DistinctSketch, LatencySketch


def _true_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_quantiles_are_within_one_percent(q: float) -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1.2) for _ in range(20_000)]
    sketch = LatencySketch()
    for value in values:
        sketch.add(value)
    estimate = sketch.quantile(q)
    assert estimate is not None
    assert abs(estimate - _true_quantile(values, q)) <= 0.0101 * _true_quantile(values, q)


def test_empty_and_odd_values() -> None:
    sketch = LatencySketch()
    assert sketch.quantile(0.5) is None
    for value in (float("nan"), float("inf"), -1.0):
        sketch.add(value)
    assert sketch.count == 0
    sketch.add(0.0)
    assert sketch.quantile(0.5) == 0.0


_LATENCIES = st.lists(st.floats(min_value=0, max_value=1e7), max_size=200)


@given(_LATENCIES, _LATENCIES)
def test_merge_equals_one_sketch_of_both(a: list[float], b: list[float]) -> None:
    left, right, whole = LatencySketch(), LatencySketch(), LatencySketch()
    for value in a:
        left.add(value)
        whole.add(value)
    for value in b:
        right.add(value)
        whole.add(value)
    left.merge(right)
    assert left.to_state() == whole.to_state()
    assert LatencySketch.from_state(left.to_state()).quantile(0.95) == whole.quantile(0.95)


def test_bucket_count_is_bounded() -> None:
    sketch = LatencySketch()
    for exponent in range(-3000, 3000):
        sketch.add(1.01 ** exponent)
    assert len(sketch.buckets) <= 2048
    assert sketch.count == 6000


def test_distinct_is_exact_when_small_and_close_when_large() -> None:
    small = DistinctSketch()
    for i in range(50):
        small.add(f"p{i % 40}")
    assert small.estimate() == 40
    large = DistinctSketch()
    for i in range(20_000):
        large.add(f"principal-{i}")
    assert abs(large.estimate() - 20_000) / 20_000 < 0.05
    restored = DistinctSketch.from_state(large.to_state())
    assert restored.estimate() == large.estimate()


def test_distinct_merge_is_a_union() -> None:
    a, b = DistinctSketch(), DistinctSketch()
    for i in range(1000):
        a.add(f"u{i}")
    for i in range(500, 1500):
        b.add(f"u{i}")
    small = DistinctSketch()
    small.add("u1")
    small.add("other")
    a.merge(b)
    a.merge(small)
    assert abs(a.estimate() - 1501) / 1501 < 0.05
