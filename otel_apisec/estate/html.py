"""The HTML report of `otel-apisec report`: one self-contained file, from the inventory contract
document and the governance document (the same two the gateway's console API serves).

Self-contained: inline CSS, no script, no external resource of any kind (a Content-Security-Policy
of `default-src 'none'` says so to the browser too), so it opens offline and from an e-mail.
Every value came from recorded traffic, that is from an attacker: each goes through `html.escape`.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["render_report"]

_CSS = """
:root { --fg:#1d2330; --muted:#5d6677; --line:#d9dee7; --bg:#f6f7fa; --card:#fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 16px 24px; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 19px; margin: 0 0 12px; } h3 { font-size: 15px; margin: 20px 0 8px; }
section.service { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 20px; margin: 20px 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--bg); font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted { color: var(--muted); }
.grade { display: inline-block; min-width: 2em; padding: 0 6px; border-radius: 4px; text-align: center; font-weight: 700;
         color: #fff; }
.g-A { background: #1e8e3e; } .g-B { background: #5f9e2f; } .g-C { background: #c99a06; } .g-D { background: #d9730d; }
.g-F { background: #c5221f; } .g-none { background: #8a93a3; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 180px; }
.bar { height: 6px; background: var(--line); border-radius: 3px; margin-top: 4px; }
.bar > span { display: block; height: 6px; border-radius: 3px; background: #3b6fd8; }
.pass { color: #1e8e3e; font-weight: 600; } .fail { color: #c5221f; font-weight: 600; } .na { color: var(--muted); }
.status-shadow, .status-zombie { color: #c5221f; font-weight: 600; } .status-orphan { color: #d9730d; }
.status-documented { color: #1e8e3e; }
ul.compact { margin: 4px 0; padding-left: 20px; }
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_DRIFT_STATUSES = ("shadow", "zombie", "orphan")
_SEVERITIES = ("critical", "high", "medium", "low", "info")


def escape(value: object) -> str:
    """Escaped text of any value (quotes too: values also land in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def number(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.1f}"
    return str(value)


def grade_html(grade: object) -> str:
    letter = grade if grade in ("A", "B", "C", "D", "F") else None
    return f'<span class="grade g-{letter or "none"}">{escape(letter or "-")}</span>'


def text_html(value: object) -> str:
    """A plain-text rendering of a JSON value: lists joined, dicts as `key: value`."""
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(text_html(v) for v in value) or "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {text_html(v)}" for k, v in value.items()) or "-"
    return number(value) if isinstance(value, (int, float)) else str(value)


def table_html(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: frozenset[int] = frozenset()) -> str:
    """A table; `rows` hold cells already rendered (escaped) as HTML."""
    head = "".join(f'<th{" class=n" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{cell}</td>' for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Evidence:
    """Renders an example: a span, or the entry of the input it came from."""

    def __init__(self, inputs: Sequence[Mapping[str, Any]]) -> None:
        self._inputs = list(inputs)

    def __call__(self, example: object) -> str:
        if not isinstance(example, Mapping):
            return "-"
        parts = []
        trace_id, span_id = example.get("trace_id"), example.get("span_id")
        if trace_id:
            parts.append(f"trace <code>{escape(trace_id)}</code> span <code>{escape(span_id)}</code>")
        entry = example.get("entry")
        if isinstance(entry, int):
            parts.append(self._entry(entry))
        return "; ".join(parts) or "-"

    def _entry(self, entry: int) -> str:
        if len(self._inputs) > 1:
            for source in self._inputs:
                first = int(source.get("first_entry", 0))
                if first <= entry < first + int(source.get("entries", 0)):
                    name = os.path.basename(str(source.get("file", "")))
                    return f"entry {escape(entry - first)} of <code>{escape(name)}</code>"
        return f"entry {escape(entry)}"


def _category_cards(categories: object) -> str:
    if not isinstance(categories, Mapping) or not categories:
        return '<p class="muted">no category scores</p>'
    cards = []
    for name, value in categories.items():
        score = value.get("score") if isinstance(value, Mapping) else value
        width = max(0.0, min(100.0, float(score))) if isinstance(score, (int, float)) else 0.0
        grade = grade_html(value.get("grade")) if isinstance(value, Mapping) and value.get("grade") else ""
        cards.append(f'<div class="card"><div>{escape(str(name).replace("_", " "))} {grade}</div>'
                     f"<strong>{escape(number(score))}</strong> / 100"
                     f'<div class="bar"><span style="width:{width:.0f}%"></span></div></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _deductions(deductions: object, evidence: _Evidence) -> str:
    if not isinstance(deductions, list) or not deductions:
        return '<p class="muted">no deductions</p>'
    rows = []
    for d in deductions:
        if not isinstance(d, Mapping):
            continue
        check = f"<code>{escape(d.get('check'))}</code>"
        if d.get("title"):
            check += f"<br>{escape(d.get('title'))}"
        if d.get("detail"):
            check += f'<br><span class="muted">{escape(text_html(d.get("detail")))}</span>'
        if d.get("rule"):
            check += f'<br><span class="muted">rule <code>{escape(d.get("rule"))}</code></span>'
        rows.append((check, escape(text_html(d.get("category"))), escape(number(d.get("weight"))),
                     escape(number(d.get("points"))),
                     f"<code>{escape(d.get('endpoint'))}</code>" if d.get("endpoint") else "<span class=muted>service</span>",
                     escape(number(d.get("count"))), evidence(d.get("example"))))
    return table_html(("check", "category", "weight", "points", "endpoint", "count", "example"), rows, frozenset({2, 3, 5}))


def _inventory(endpoints: Sequence[Mapping[str, Any]]) -> str:
    if not endpoints:
        return '<p class="muted">no endpoints</p>'
    rows = []
    for ep in endpoints:
        status = ep.get("spec_status")
        findings = ep.get("findings") or {}
        latency = ep.get("latency_ms") or {}
        rows.append((
            escape(ep.get("method")), f"<code>{escape(ep.get('route'))}</code>",
            f'<span class="status-{escape(status)}">{escape(status)}</span>' if status else "-",
            escape(ep.get("calls")),
            escape(" ".join(f"{k}:{v}" for k, v in (ep.get("status_codes") or {}).items()) or "-"),
            escape(", ".join(ep.get("auth_schemes") or ()) or ("none" if ep.get("calls") else "-")),
            escape(ep.get("unauthenticated_success")),
            escape(", ".join(ep.get("pii_types") or ()) or "-"),
            escape(" ".join(f"{s}:{findings[s]}" for s in _SEVERITIES if findings.get(s)) or "-"),
            escape(f"{number(latency.get('p50'))} / {number(latency.get('p95'))}"),
            escape(ep.get("last_seen") or "-"),
            grade_html(ep.get("grade")),
        ))
    return table_html(("method", "route", "spec", "calls", "statuses", "auth", "unauth 2xx", "PII", "findings",
                   "p50 / p95 ms", "last seen", "grade"), rows, frozenset({3, 6}))


def _rules(endpoints: Sequence[Mapping[str, Any]], evidence: _Evidence) -> str:
    """Per endpoint, the rules behind its figures: per-call findings and posture facts, each with an example."""
    rows = []
    for ep in endpoints:
        for source, tallies in (("call", ep.get("rules")), ("posture", ep.get("posture"))):
            for tally in tallies or ():
                if isinstance(tally, Mapping):
                    rows.append((f"<code>{escape(ep.get('method'))} {escape(ep.get('route'))}</code>",
                                 f"<code>{escape(tally.get('rule_id'))}</code>", escape(tally.get("kind")), escape(source),
                                 escape(tally.get("severity")), escape(tally.get("count")), evidence(tally.get("example"))))
    if not rows:
        return '<p class="muted">no findings</p>'
    return table_html(("endpoint", "rule", "kind", "scope", "severity", "count", "example"), rows, frozenset({5}))


def _drift(service: Mapping[str, Any]) -> str:
    endpoints: Sequence[Mapping[str, Any]] = service.get("endpoints") or []
    if not service.get("spec"):
        return '<p class="muted">No spec given for this service (otel-apisec report --spec SERVICE=FILE).</p>'
    parts = [f'<p>Spec: <code>{escape(os.path.basename(str(service["spec"])))}</code></p>']
    for status in _DRIFT_STATUSES:
        names = [ep for ep in endpoints if ep.get("spec_status") == status]
        items = "".join(f"<li><code>{escape(ep.get('method'))} {escape(ep.get('route'))}</code>"
                        + (f" <span class=muted>(spec {escape(ep.get('spec_path'))})</span>" if ep.get("spec_path") else "")
                        + (f" <span class=muted>{escape(ep.get('calls'))} calls</span>" if ep.get("calls") else "")
                        + "</li>" for ep in names)
        parts.append(f"<h4>{escape(status)} ({len(names)})</h4>"
                     + (f'<ul class="compact">{items}</ul>' if names else '<p class="muted">none</p>'))
    rows = []
    for ep in endpoints:
        for issue in ep.get("parameter_drift") or ():
            if isinstance(issue, Mapping):
                rows.append((f"<code>{escape(ep.get('method'))} {escape(ep.get('route'))}</code>", escape(issue.get("name")),
                             escape(issue.get("in")), escape(issue.get("issue")), escape(text_html(issue.get("seen"))),
                             escape(text_html(issue.get("documented")))))
    parts.append("<h4>parameter drift</h4>" + (table_html(("endpoint", "parameter", "in", "issue", "seen", "documented"), rows)
                                              if rows else '<p class="muted">none</p>'))
    return "".join(parts)


def compliance_html(compliance: object) -> str:
    if not isinstance(compliance, Mapping) or not compliance:
        return '<p class="muted">no compliance checks</p>'
    parts = []
    for regulation, result in compliance.items():
        result = result if isinstance(result, Mapping) else {}
        rows = []
        for check in result.get("checks") or ():
            if isinstance(check, Mapping):
                status = str(check.get("status", ""))
                css = {"pass": "pass", "fail": "fail"}.get(status, "na")
                title = f" {escape(check.get('title'))}" if check.get("title") else ""
                label = f"<code>{escape(check.get('check'))}</code>{title}"
                rows.append((label, f'<span class="{css}">{escape(status)}</span>'))
        failing = result.get("failing_endpoints") or []
        failing_html = ("".join(f"<li><code>{escape(text_html(f))}</code></li>" for f in failing))
        parts.append(
            f"<h4>{escape(regulation)}: {escape(number(result.get('percent')))}%</h4>"
            + (table_html(("check", "status"), rows) if rows else '<p class="muted">no applicable checks</p>')
            + (f'<p>failing endpoints:</p><ul class="compact">{failing_html}</ul>' if failing else "")
        )
    return "".join(parts)


def _governance_by_service(governance: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    services = governance.get("services") or []
    if isinstance(services, Mapping):
        return {str(k): v for k, v in services.items() if isinstance(v, Mapping)}
    return {str(s.get("service")): s for s in services if isinstance(s, Mapping)}


def _service_section(index: int, service: Mapping[str, Any], grades: Mapping[str, Any], evidence: _Evidence) -> str:
    endpoints = service.get("endpoints") or []
    calls = sum(int(ep.get("calls") or 0) for ep in endpoints)
    return (
        f'<section class="service" id="service-{index}">'
        f"<h2>{escape(service.get('service'))} {grade_html(service.get('grade'))} "
        f'<span class="muted">{escape(number(service.get("score")))} / 100 · {len(endpoints)} endpoints'
        f' · {calls} calls</span></h2>'
        f"<h3>Categories</h3>{_category_cards(grades.get('categories'))}"
        f"<h3>Deductions</h3>{_deductions(grades.get('deductions'), evidence)}"
        f"<h3>Inventory</h3>{_inventory(endpoints)}"
        f"<h3>Findings by rule</h3>{_rules(endpoints, evidence)}"
        f"<h3>Spec drift</h3>{_drift(service)}"
        f"<h3>Compliance</h3>{compliance_html(grades.get('compliance'))}"
        "</section>"
    )


def render_report(inventory: Mapping[str, Any], governance: Mapping[str, Any], tool: str = "otel-apisec") -> str:
    """The report: `inventory` is the contract document (`estate.contract.inventory_document`, with
    the CLI's `inputs`), `governance` the governance document (`Governance.to_dict()`)."""
    services: Sequence[Mapping[str, Any]] = inventory.get("services") or []
    inputs: Sequence[Mapping[str, Any]] = inventory.get("inputs") or []
    evidence = _Evidence(inputs)
    by_service = _governance_by_service(governance)
    summary = table_html(
        ("service", "grade", "score", "endpoints", "calls", "spec"),
        ((f'<a href="#service-{i}">{escape(s.get("service"))}</a>', grade_html(s.get("grade")), escape(number(s.get("score"))),
          escape(len(s.get("endpoints") or ())), escape(sum(int(ep.get("calls") or 0) for ep in s.get("endpoints") or ())),
          escape(os.path.basename(str(s["spec"]))) if s.get("spec") else "-")
         for i, s in enumerate(services)),
        frozenset({2, 3, 4}),
    )
    sections = "".join(_service_section(i, s, by_service.get(str(s.get("service"))) or {}, evidence)
                       for i, s in enumerate(services))
    sources = ", ".join(
        f"<code>{escape(os.path.basename(str(src.get('file'))))}</code> ({escape(src.get('entries'))} entries"
        + (f", {escape(src.get('unreadable'))} unreadable" if src.get("unreadable") else "") + ")"
        for src in inputs
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>API estate report</title><style>{_CSS}</style></head><body>"
        f"<header><h1>API estate report</h1><p class=\"muted\">Generated {escape(inventory.get('generated_at'))} "
        f"by {escape(tool)}{' from ' + sources if sources else ''}.</p></header>"
        f"<main><h2>Services</h2>{summary if services else '<p class=muted>no API traffic in the input</p>'}"
        f"{sections}</main>"
        '<footer class="muted">Grades: A 90-100, B 80-89, C 70-79, D 60-69, F below 60. Values from the traffic '
        "never appear: only names, types, counts and keyed hashes.</footer>"
        "</body></html>\n"
    )
