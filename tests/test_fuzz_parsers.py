"""Every parser that meets attacker bytes, fuzzed for a bounded number of inputs in the suite.

The targets and seeds are shared with `make fuzz` (`tests/fuzz/`), which runs them under atheris
for millions of inputs; here hypothesis draws random bytes and mutations of valid seeds, so a
regression in any parser shows up in CI, not only in a long fuzz run.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.targets import SEEDS, TARGETS

_PER_INPUT_S = 2.0  # generous for a shared CI machine; a quadratic parser on 64 KiB takes far longer


@st.composite
def _mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A valid seed with a few byte-level edits: flips, inserts, deletes, duplicated runs."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(("flip", "insert", "delete", "repeat")))
        if edit == "flip" and position < len(data):
            data[position] ^= draw(st.integers(1, 255))
        elif edit == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        elif edit == "repeat":
            data[position:position] = data[position : position + 8] * draw(st.integers(2, 2000))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_survives_hostile_bytes(name: str) -> None:
    """Random and mutated inputs: no unexpected exception, no broken invariant, each input in bounded time."""
    target = TARGETS[name]
    for seed in SEEDS[name]:
        target(seed)  # the valid seeds themselves first: the slow first call builds the analyzer

    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.binary(max_size=4096), _mutated(SEEDS[name])))
    def run(data: bytes) -> None:
        started = time.perf_counter()
        target(data)
        elapsed = time.perf_counter() - started
        assert elapsed < _PER_INPUT_S, f"{name} took {elapsed:.2f} s on {len(data)} bytes"

    run()


def test_every_target_has_seeds() -> None:
    """A target without seeds would start from noise and reach little of its parser."""
    assert set(SEEDS) == set(TARGETS)
    assert all(SEEDS[name] for name in TARGETS)
