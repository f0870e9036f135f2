"""`otel-apisec rules`: the rule catalog as a table or as JSON."""

from __future__ import annotations

from typing import IO

import orjson
from rich.console import Console
from rich.table import Table

from otel_apisec.cli.report import severity_text
from otel_apisec.detect import load_catalog

__all__ = ["run_rules"]


def run_rules(output_format: str, out: IO[str]) -> int:
    rules = load_catalog()
    if output_format == "json":
        data = orjson.dumps([rule.to_dict() for rule in rules], option=orjson.OPT_INDENT_2)
        out.write(data.decode() + "\n")
        return 0
    table = Table(title=f"{len(rules)} rules", title_justify="left")
    for name in ("ID", "Kind", "Severity", "OWASP", "CWE", "Title"):
        table.add_column(name, no_wrap=name != "Title", overflow="fold")
    for rule in rules:
        table.add_row(rule.id, rule.kind, severity_text(rule.severity), rule.owasp, rule.cwe, rule.title)
    terminal = out.isatty() if hasattr(out, "isatty") else False
    Console(file=out, width=None if terminal else 160, highlight=False).print(table)
    return 0
