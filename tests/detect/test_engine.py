"""The prefilter engine: both backends agree, and a trigger hit is never lost across fields."""

from __future__ import annotations

import random

import pytest
import re2

from otel_apisec.detect import engine
from otel_apisec.detect.engine import PatternSet, Trigger

TRIGGERS = [
    Trigger(r"union\s+select", caseless=True),
    Trigger(r"AKIA[0-9A-Z]{16}"),
    Trigger(r"@[A-Za-z0-9-]+\.[A-Za-z]{2}"),
    Trigger(r"\.\./"),
]


def _expected(texts: list[bytes]) -> set[tuple[int, int]]:
    """What scanning each text alone with RE2 finds."""
    hits = set()
    for t_index, trigger in enumerate(TRIGGERS):
        pattern = re2.compile(("(?i)" if trigger.caseless else "") + trigger.expr)
        for index, text in enumerate(texts):
            if pattern.search(text.decode("latin-1")):
                hits.add((index, t_index))
    return hits


@pytest.fixture(params=["native", "re2"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "re2":
        monkeypatch.setattr(engine, "_hs", None)
    return request.param


class TestPatternSet:
    def test_reports_each_hit_with_its_text(self, backend: str) -> None:
        """Each trigger is attributed to the text it matched in."""
        texts = [b"hello", b"1 UNION  select x", b"key AKIAIOSFODNN7EXAMPLE", b"", b"x@example.com"]
        assert PatternSet(TRIGGERS).scan(texts) == {(1, 0), (2, 1), (4, 2)}

    def test_never_misses_a_hit_on_random_fields(self, backend: str) -> None:
        """On random field lists, every per-field hit is also found by the joined scan."""
        rng = random.Random(7)
        atoms = ["a", " ", "../", "@ex.com", "UNION SELECT", "AKIAIOSFODNN7EXAMPLE", "\n", "é", "x"]
        patterns = PatternSet(TRIGGERS)
        for _ in range(200):
            texts = ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 6))).encode() for _ in range(5)]
            assert _expected(texts) <= patterns.scan(texts)

    def test_repeated_trigger_in_a_large_text(self, backend: str) -> None:
        """A megabyte of one repeated trigger is reported once, for the right text."""
        texts = [b"x", b"../" * 300_000, b"AKIAIOSFODNN7EXAMPLE"]
        assert PatternSet(TRIGGERS).scan(texts) == {(1, 3), (2, 1)}

    def test_many_small_texts_full_of_triggers(self, backend: str) -> None:
        """When joined small texts exceed the callback budget, every text is still attributed."""
        texts = [b"../" * 1000 if i % 2 else b"clean" for i in range(400)] + [b"a@example.com"]
        expected = {(i, 3) for i in range(1, 400, 2)} | {(400, 2)}
        assert PatternSet(TRIGGERS).scan(texts) == expected

    def test_empty_inputs(self, backend: str) -> None:
        """No texts or no triggers means no hits, not an error."""
        assert PatternSet(TRIGGERS).scan([]) == set()
        assert PatternSet([]).scan([b"anything"]) == set()

    def test_bad_trigger_fails_at_load_time(self) -> None:
        """A pattern RE2 cannot compile is rejected when the set is built, naming it."""
        with pytest.raises(ValueError, match="does not compile"):
            PatternSet([Trigger(r"(?<=x)y")])

    def test_linear_on_pathological_input(self, backend: str) -> None:
        """A megabyte of near-misses completes (RE2/Hyperscan never backtrack)."""
        assert PatternSet(TRIGGERS).scan([b"union " * 200_000, b"." * 1_000_000]) == set()


def test_trigger_sets_are_identical_across_processes() -> None:
    """Triggers do not depend on hash randomisation, so compiled databases can be cached by key."""
    import subprocess
    import sys

    script = (
        "from otel_apisec.detect import catalog\n"
        "print([(t.expr, t.caseless) for d in catalog.FIELD_DETECTORS for t in d.triggers])"
    )
    runs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(runs) == 1
