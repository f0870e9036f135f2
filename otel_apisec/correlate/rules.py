"""The cross-request rules (kind `abuse.*`), one per correlator, and the correlator that emits each.

The rules themselves are declared in the catalog (`otel_apisec.detect.rules.abuse`); they are
re-exported here, beside the correlators that fire them.
"""

from __future__ import annotations

from otel_apisec.detect.rule import Rule
from otel_apisec.detect.rules.abuse import (
    ALL_RULES,
    BFLA,
    BRUTE_FORCE,
    CREDENTIAL_STUFFING,
    ENUMERATION,
    ERROR_STORM,
    NO_RATE_LIMIT,
    RATE_SPIKE,
    TOKEN_REUSE,
)

__all__ = [
    "ALL_RULES",
    "BFLA",
    "BRUTE_FORCE",
    "CREDENTIAL_STUFFING",
    "ENUMERATION",
    "ERROR_STORM",
    "NO_RATE_LIMIT",
    "RATE_SPIKE",
    "TOKEN_REUSE",
    "correlator_name",
]


def correlator_name(rule: Rule) -> str:
    """The name of the correlator that emits `rule`: its kind without `abuse.` (`brute_force`)."""
    return rule.kind.removeprefix("abuse.")
