"""Detection core: pure detectors over `HttpExchange`, a stable rule catalog, one analyzer.

No OpenTelemetry import and no I/O below this package (a test enforces it).
"""

from otel_apisec.detect.api import (
    Analysis,
    Analyzer,
    DetectConfig,
    DetectContext,
    ExchangeDetector,
    FieldDetector,
)
from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.fields import Direction, Field, Source
from otel_apisec.detect.rule import OWASP, Rule, all_rules, define, get_rule

__all__ = [
    "OWASP",
    "Analysis",
    "Analyzer",
    "DetectConfig",
    "DetectContext",
    "Direction",
    "ExchangeDetector",
    "Field",
    "FieldDetector",
    "Rule",
    "Source",
    "Trigger",
    "all_rules",
    "define",
    "get_rule",
    "load_catalog",
]


def load_catalog() -> list[Rule]:
    """Every rule of every family, sorted by ID."""
    from otel_apisec.detect import catalog, rules  # noqa: F401  (importing them registers the rules)

    return all_rules()
