"""Rule regression cases, one module per detector family (like CRS's per-rule YAML files).

Every family module exposes `CASES: list[Case]`. `tests/detect/test_rules.py` runs them all through the
real `Analyzer` and checks that every catalog rule has at least one firing and one non-firing case.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_apisec.model import HttpExchange


@dataclass(frozen=True)
class Case:
    rule_id: str
    fires: bool
    """True: the rule must fire on `exchange`. False: it must not."""
    description: str
    exchange: HttpExchange
    location: str | None = None
    """If set (positive cases), some finding of the rule must be at this location."""
