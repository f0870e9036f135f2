"""Which correlator emits which cross-request rule. The rules themselves (kind `abuse.*`) are
declared in the catalog, `otel_apisec.detect.rules.abuse`, like every other family."""

from __future__ import annotations

from otel_apisec.detect.rule import Rule

__all__ = ["correlator_name"]


def correlator_name(rule: Rule) -> str:
    """The name of the correlator that emits `rule`: its kind without `abuse.` (`brute_force`)."""
    return rule.kind.removeprefix("abuse.")
