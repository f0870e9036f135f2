"""The cross-request rules' case table (`TRAFFIC_CASES`, tests/cases/abuse.py): every case played
through the real `Correlation` engine with only its rule's correlator enabled, on the memory store
and on a real Redis (what replicas share), with the same findings; and the rules of the BOLA and
BFLA correlators each have a firing and a non-firing case."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from otel_apisec.correlate.api import CorrelationFinding, StateStore
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.correlate.stores.memory import MemoryStore
from otel_apisec.correlate.stores.redis import RedisStore
from otel_apisec.detect import load_catalog
from otel_apisec.detect.rule import Rule
from otel_apisec.testing.redis import RedisServer, redis_server  # noqa: F401
from tests.cases.abuse import KEY, TRAFFIC_CASES, TrafficCase

RULES: dict[str, Rule] = {rule.id: rule for rule in load_catalog()}
TABLED = ("bola", "path_principal", "bfla")
"""Correlators whose rules the table must cover, firing and not firing."""
IDS = [f"{c.rule_id}-{'pos' if c.fires else 'neg'}-{c.description}" for c in TRAFFIC_CASES]


def engine(case: TrafficCase, store: StateStore | None = None) -> Correlation:
    config = CorrelationConfig(correlators=(correlator_name(RULES[case.rule_id]),), **case.options)
    return Correlation(config, store if store is not None else MemoryStore(), hmac_key=KEY)


def play(case: TrafficCase, store: StateStore | None = None) -> list[CorrelationFinding]:
    correlation = engine(case, store)
    return [f for obs in case.observations for f in correlation.observe(obs)]


def outcome(findings: list[CorrelationFinding]) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    return [(f.rule.id, f.subject, f.evidence) for f in findings]


def check(case: TrafficCase, findings: list[CorrelationFinding]) -> None:
    mine = [f for f in findings if f.rule.id == case.rule_id]
    if not case.fires:
        assert mine == [], [f.record() for f in mine]
        return
    assert len(mine) == 1, [f.record() for f in mine]
    [finding] = mine
    if case.signal:
        assert finding.evidence["signal"] == case.signal
    assert finding.subject["enduser.pseudo.id"] == case.culprit
    assert {k: finding.evidence.get(k) for k in case.evidence} == case.evidence
    assert finding.effective_severity == finding.rule.severity


@pytest.mark.parametrize("case", TRAFFIC_CASES, ids=IDS)
def test_case_on_memory_store(case: TrafficCase) -> None:
    check(case, play(case))


@pytest.mark.parametrize("case", TRAFFIC_CASES, ids=IDS)
def test_case_on_redis_same_findings(case: TrafficCase, redis_server: RedisServer) -> None:  # noqa: F811
    """A Redis store reaches the same findings as the memory store."""
    store = RedisStore(redis_server.url, prefix=f"t{uuid.uuid4().hex[:8]}:", hmac_key=KEY)
    try:
        over_redis = play(case, store)
        check(case, over_redis)
        assert outcome(over_redis) == outcome(play(case))
    finally:
        store.close()


def test_cases_name_abuse_rules() -> None:
    """A case for a rule that does not exist, or that no correlator emits, is a typo; a positive
    case names its culprit."""
    for case in TRAFFIC_CASES:
        assert case.rule_id in RULES and RULES[case.rule_id].kind.startswith("abuse."), case.rule_id
        assert bool(case.culprit) == case.fires, case.description
        assert case.fires or not (case.signal or case.evidence), case.description


def test_bola_and_bfla_rules_have_both_outcomes() -> None:
    """Every abuse rule of the `bola`, `path_principal` and `bfla` correlators has a firing and a
    non-firing case."""
    tabled = [rule.id for rule in RULES.values() if rule.kind.startswith("abuse.") and correlator_name(rule) in TABLED]
    assert len(tabled) == len(TABLED)
    missing = [rule_id for rule_id in tabled
               if {c.fires for c in TRAFFIC_CASES if c.rule_id == rule_id} != {True, False}]
    assert not missing, f"rules without both a firing and a non-firing traffic case: {missing}"
