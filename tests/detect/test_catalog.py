"""The rule catalog is a contract: IDs, kinds, titles, OWASP, CWE, severities and remediation
change only on purpose, and every rule is defined with its literal ID in `detect/rules/<family>.py`."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from otel_apisec.cli.rules import run_rules
from otel_apisec.detect import load_catalog

SNAPSHOT = Path(__file__).resolve().parents[1] / "testdata" / "detect" / "catalog.json"
RULES_DIR = Path(__file__).resolve().parents[2] / "otel_apisec" / "detect" / "rules"


class TestCatalog:
    def test_matches_the_snapshot(self) -> None:
        """`otel-apisec rules --format json` is byte for byte the committed snapshot (regenerate it
        with that command when a rule changes on purpose)."""
        out = io.StringIO()
        assert run_rules("json", out) == 0
        assert orjson.loads(out.getvalue())
        assert out.getvalue() == SNAPSHOT.read_text()

    def test_every_id_is_defined_literally_in_its_family_module(self) -> None:
        """`grep APISEC-PII-003` finds the one `define(...)` call of that rule under detect/rules/."""
        sources = {path.name: path.read_text() for path in sorted(RULES_DIR.glob("*.py"))}
        rules = load_catalog()
        assert rules
        for rule in rules:
            homes = [name for name, text in sources.items() if f'"{rule.id}"' in text]
            assert len(homes) == 1, f"{rule.id} is defined in {homes or 'no module'} under detect/rules/"
