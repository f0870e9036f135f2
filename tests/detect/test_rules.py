"""Table-driven regression: every rule fires on its positive cases and stays quiet on its negatives."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import tests.cases as cases_pkg
from otel_apisec.detect import Analyzer, DetectConfig, load_catalog
from tests.cases import Case


def _all_cases() -> list[Case]:
    found: list[Case] = []
    for info in pkgutil.iter_modules(cases_pkg.__path__):
        module = importlib.import_module(f"tests.cases.{info.name}")
        found.extend(getattr(module, "CASES", []))
    return found


CASES = _all_cases()
CONFIG = DetectConfig(hmac_key=b"test-key")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule_id}-{'pos' if c.fires else 'neg'}-{c.description}" for c in CASES])
def test_rule_case(case: Case) -> None:
    """The rule fires exactly when the case says it should, on the first response of its endpoint
    (a fresh Analyzer per case: endpoint-scope rules are checked once per endpoint and shape, and
    many cases share an endpoint)."""
    analysis = Analyzer(CONFIG).analyze(case.exchange)
    assert not analysis.failed, f"detectors raised: {analysis.failed}"
    hits = [f for f in analysis.findings if f.rule_id == case.rule_id]
    if case.fires:
        assert hits, f"{case.rule_id} did not fire; got {[f.rule_id for f in analysis.findings]}"
        if case.location is not None:
            assert case.location in [f.location for f in hits], [f.location for f in hits]
    else:
        assert not hits, f"{case.rule_id} fired at {[f.location for f in hits]}"


def test_every_rule_has_positive_and_negative_cases() -> None:
    """No rule ships without a firing and a non-firing regression case."""
    positive = {c.rule_id for c in CASES if c.fires}
    negative = {c.rule_id for c in CASES if not c.fires}
    # Cross-request rules (abuse.*) fire on traffic, not on one exchange: tests/correlate/test_correlators.py
    # covers each with its attack scenario and the benign mix; BOLA, path principal and BFLA also have
    # TRAFFIC_CASES (tests/cases/abuse.py), checked by tests/correlate/test_traffic_cases.py. CRS rules
    # (APISEC-CRS) are ModSecurity's in the gateway: tests/gateway/processors/test_crs.py has a firing and a benign case for each.
    missing = [
        rule.id for rule in load_catalog()
        if not rule.kind.startswith("abuse.") and not rule.id.startswith("APISEC-CRS-")
        and (rule.id not in positive or rule.id not in negative)
    ]
    assert not missing, f"rules without both a positive and a negative case: {missing}"


def test_cases_name_known_rules() -> None:
    """A case for a rule that does not exist is a typo, not a test."""
    known = {rule.id for rule in load_catalog()}
    assert {c.rule_id for c in CASES} <= known
