"""The human report of `otel-apisec scan`: findings grouped by endpoint and by rule, most severe first.

Only aggregates are kept (counts, a few locations and entry indices per endpoint and rule), so
the report's memory does not grow with the number of findings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table
from rich.text import Text

from otel_apisec.detect.rule import Rule
from otel_apisec.model import Finding, HttpExchange, Severity

__all__ = ["SEVERITY_STYLE", "HumanReport", "endpoint_path"]

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_SHOWN_LOCATIONS = 3
_WIDE = 130
"""Console width from which the endpoint table also lists entry indices."""
_SHOWN_ENTRIES = 3
_MAX_ENDPOINTS = 5_000
_OTHER = ("*", "", "(other endpoints)")
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_identifier(segment: str) -> bool:
    """Numbers, UUIDs and long hex strings: the parts of a path that vary per object."""
    if segment.isdigit():
        return True
    bare = segment.replace("-", "")
    return len(bare) >= 16 and all(c in _HEX for c in bare) and any(c.isdigit() for c in bare)


def endpoint_path(exchange: HttpExchange) -> str:
    """The route template when known, else the path with identifiers replaced by `{id}`."""
    if exchange.route:
        return exchange.route
    segments = exchange.path.split("/")
    path = "/".join("{id}" if _is_identifier(s) else s for s in segments) or "/"
    return path if len(path) <= 80 else path[:77] + "..."


def severity_text(severity: Severity) -> Text:
    return Text(severity.label, style=SEVERITY_STYLE[severity])


@dataclass(slots=True)
class _RuleGroup:
    severity: Severity
    count: int = 0
    entries: int = 0
    entry_indices: list[int] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    more_locations: bool = False

    def add(self, index: int, finding: Finding) -> None:
        self.count += 1
        self.severity = max(self.severity, finding.severity)
        if not self.entry_indices or self.entry_indices[-1] != index:
            self.entries += 1
            if len(self.entry_indices) < _SHOWN_ENTRIES:
                self.entry_indices.append(index)
        if finding.location not in self.locations:
            if len(self.locations) < _SHOWN_LOCATIONS:
                self.locations.append(finding.location)
            else:
                self.more_locations = True


class HumanReport:
    """Collects findings per (method, host, endpoint) and rule, then renders rich tables."""

    def __init__(self, rules: dict[str, Rule]) -> None:
        self._rules = rules
        self._groups: dict[tuple[str, str, str], dict[str, _RuleGroup]] = {}
        self._hosts: Counter[str] = Counter()

    def add(self, index: int, exchange: HttpExchange, findings: list[Finding]) -> None:
        key = (exchange.method, exchange.host, endpoint_path(exchange))
        if exchange.host in self._hosts or len(self._hosts) < _MAX_ENDPOINTS:
            self._hosts[exchange.host] += 1
        if key not in self._groups:
            if len(self._groups) >= _MAX_ENDPOINTS:
                key = _OTHER
            self._groups.setdefault(key, {})
        groups = self._groups[key]
        for finding in findings:
            group = groups.get(finding.rule_id)
            if group is None:
                group = groups[finding.rule_id] = _RuleGroup(finding.severity)
            group.add(index, finding)

    def _endpoint_label(self, key: tuple[str, str, str], main_host: str) -> str:
        """`GET /users/{id}` on the busiest host, `GET other.host/path` elsewhere."""
        method, host, path = key
        return f"{method} {path}" if host == main_host else f"{method} {host}{path}"

    def _kind(self, rule_id: str) -> str:
        rule = self._rules.get(rule_id)
        return rule.kind if rule else ""

    def _title(self, rule_id: str) -> str:
        rule = self._rules.get(rule_id)
        return rule.title if rule else rule_id

    def render(self, console: Console, source: str, summary: dict[str, object]) -> None:
        with_findings = {k: g for k, g in self._groups.items() if g}
        console.print(Text(f"otel-apisec scan of {source}", style="bold"))
        if with_findings:
            console.print(self._endpoint_table(with_findings, wide=console.width >= _WIDE))
            console.print(self._rule_table(with_findings))
        else:
            console.print("No findings.")
        console.print(self._summary_line(summary, len(with_findings)))

    def _endpoint_table(self, groups: dict[tuple[str, str, str], dict[str, _RuleGroup]], wide: bool) -> Table:
        """One section per endpoint; narrow terminals drop the entry-index column."""
        table = Table(title="Findings by endpoint", title_justify="left", show_lines=False)
        table.add_column("Endpoint", overflow="fold", min_width=16, max_width=40)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Kind", overflow="fold", min_width=12)
        table.add_column("Count", justify="right")
        table.add_column("Where", overflow="fold", min_width=16)
        if wide:
            table.add_column("Entries", overflow="fold", max_width=20)

        def endpoint_order(item: tuple[tuple[str, str, str], dict[str, _RuleGroup]]) -> tuple:
            key, rules = item
            worst = max(g.severity for g in rules.values())
            return (-worst, -sum(g.count for g in rules.values()), key[2], key[0], key[1])

        main_host = min(self._hosts.items(), key=lambda item: (-item[1], item[0]))[0] if self._hosts else ""
        for n, (key, rules) in enumerate(sorted(groups.items(), key=endpoint_order)):
            if n:
                table.add_section()
            ordered = sorted(rules.items(), key=lambda item: (-item[1].severity, -item[1].count, item[0]))
            for row, (rule_id, group) in enumerate(ordered):
                where = "\n".join(group.locations) + ("\n..." if group.more_locations else "")
                entries = ", ".join(f"#{i}" for i in group.entry_indices)
                if group.entries > len(group.entry_indices):
                    entries += f" +{group.entries - len(group.entry_indices)}"
                cells: list[str | Text] = [
                    self._endpoint_label(key, main_host) if row == 0 else "",
                    severity_text(group.severity),
                    rule_id,
                    self._kind(rule_id),
                    str(group.count),
                    where,
                ]
                table.add_row(*cells, *([entries] if wide else []))
        return table

    def _rule_table(self, groups: dict[tuple[str, str, str], dict[str, _RuleGroup]]) -> Table:
        counts: dict[str, list] = {}
        for rules in groups.values():
            for rule_id, group in rules.items():
                total = counts.setdefault(rule_id, [group.severity, 0, 0])
                total[0] = max(total[0], group.severity)
                total[1] += group.count
                total[2] += 1
        table = Table(title="Findings by rule", title_justify="left")
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Kind", no_wrap=True)
        table.add_column("Title", overflow="fold")
        table.add_column("Count", justify="right")
        table.add_column("Endpoints", justify="right")
        for rule_id, (severity, count, endpoints) in sorted(counts.items(), key=lambda i: (-i[1][0], i[0])):
            table.add_row(severity_text(severity), rule_id, self._kind(rule_id), self._title(rule_id),
                          str(count), str(endpoints))
        return table

    def _summary_line(self, summary: dict[str, object], endpoints_with_findings: int) -> Text:
        by_severity: dict[str, int] = summary["by_severity"]  # type: ignore[assignment]
        line = Text()
        line.append(f"{summary['scanned']} of {summary['entries']} entries scanned", style="bold")
        if summary["errors"]:
            line.append(f", {summary['errors']} unreadable (skipped, see stderr)", style="bold red")
        line.append(f": {summary['findings']} findings")
        parts = [(s, by_severity[s.label]) for s in sorted(Severity, reverse=True) if by_severity[s.label]]
        if parts:
            line.append(" (")
            for i, (severity, count) in enumerate(parts):
                if i:
                    line.append(", ")
                line.append(f"{count} {severity.label}", style=SEVERITY_STYLE[severity])
            line.append(")")
        line.append(f" on {endpoints_with_findings} of {len(self._groups)} endpoints.")
        failures: dict[str, int] = summary["detector_failures"]  # type: ignore[assignment]
        if failures:
            failed = ", ".join(f"{name} ({count})" for name, count in failures.items())
            line.append(f"\nDetectors that failed on some entries: {failed}.", style="yellow")
        return line
