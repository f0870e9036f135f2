"""The console's pages as HTML strings, from the same documents the JSON API serves: the inventory
contract, the governance document, finding records and incidents.

Every value came from recorded traffic, that is possibly from an attacker: each goes through `escape`
(`html.escape`, quotes too) or is a number formatted here. Links are built from escaped,
percent-encoded query strings; a trace link only from a 32-hex-digit trace ID."""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from otel_apisec.estate.html import compliance_html, escape, grade_html, number, table_html, text_html
from otel_apisec.gateway.console.pages.charts import SEVERITY_ORDER, bars, sparkline, time_series

__all__ = [
    "CSP", "INVENTORY_FILTERS", "INVENTORY_SORTS", "endpoint_page", "error_page", "findings_page", "governance_page",
    "incidents_page", "inventory_page", "login_page", "overview_page", "parse_time",
]

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
NAV = (("/", "Overview"), ("/inventory", "Inventory"), ("/findings", "Findings"), ("/governance", "Governance"),
       ("/incidents", "Incidents"))
INVENTORY_FILTERS = ("service", "method", "spec_status", "auth", "unauthenticated", "pii", "grade", "sort")
INVENTORY_SORTS = ("service", "method", "route", "spec_status", "calls", "errors", "unauthenticated", "findings",
                   "p95", "grade", "score", "last_seen")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SEVERITY_RANK = {name: len(SEVERITY_ORDER) - i for i, name in enumerate(SEVERITY_ORDER)}
_WINDOW_MINUTES = 60
_SHOWN_LABELS = ("alertname", "rule_id", "severity", "service", "route")  # the incident table's own columns


# -- layout ----------------------------------------------------------------------------------------------------------

def layout(title: str, active: str, body: str, *, signed_in: bool = False) -> str:
    nav = "".join(f'<a href="{href}"{" aria-current=page" if href == active else ""}>{escape(label)}</a>'
                  for href, label in NAV)
    logout = ('<form class="logout" method="post" action="/logout"><button type="submit">Sign out</button></form>'
              if signed_in else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            f'<title>{escape(title)} · otel-apisec console</title><link rel="stylesheet" href="/static/console.css">'
            '</head><body><a class="skip" href="#main">Skip to content</a>'
            f'<header><span class="brand">otel-apisec</span><nav aria-label="Console">{nav}</nav>{logout}</header>'
            f'<main id="main" tabindex="-1"><h1>{escape(title)}</h1>{body}</main>'
            '<footer class="muted">Values from the traffic never appear here: only names, types, counts and keyed '
            "hashes, as on the spans.</footer></body></html>\n")


def error_page(status: int, message: str) -> str:
    return layout(f"Error {status}", "", f'<p class="error" role="alert">{escape(message)}</p><p><a href="/">Overview</a></p>')


def login_page(next_path: str, failed: bool = False) -> str:
    error = '<p class="error" role="alert">That token is not right.</p>' if failed else ""
    body = (f"{error}<p>This console needs its bearer token (<code>service.console.bearer_token</code>). Once "
            "signed in, the browser keeps an HttpOnly, SameSite=Strict session cookie.</p>"
            '<form class="login" method="post" action="/login">'
            '<label for="token">Token</label> '
            '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>'
            f'<input type="hidden" name="next" value="{escape(next_path)}"> <button type="submit">Sign in</button></form>')
    return layout("Sign in", "", body)


def _link(path: str, **params: object) -> str:
    """An escaped href to a console page with the given (non-empty) query parameters."""
    query = urlencode({k: str(v) for k, v in params.items() if v not in (None, "")})
    return escape(f"{path}?{query}" if query else path)


def _endpoint_link(service: object, method: object, route: object, text: str | None = None) -> str:
    label = text if text is not None else f"{method or ''} {route or ''}".strip()
    if not route:
        return f"<code>{escape(label)}</code>" if label else "-"
    return (f'<a href="{_link("/endpoint", service=service, method=method, route=route)}">'
            f"<code>{escape(label)}</code></a>")


def _trace(trace_url: str | None, trace_id: object, label: str = "trace") -> str:
    trace = str(trace_id or "")
    if not _TRACE_ID.fullmatch(trace):
        return "-"
    if trace_url is None:
        return f'<code title="trace ID">{escape(trace[:16])}…</code>'
    return f'<a href="{escape(trace_url.replace("{trace_id}", trace))}" rel="noreferrer">{escape(label)} {escape(trace[:8])}</a>'


def _select(name: str, label: str, options: Iterable[str], current: str | None, any_label: str = "any",
            ordered: bool = False) -> str:
    """A drop-down: `options` sorted (or in their order when `ordered`), the current value selected."""
    values = list(dict.fromkeys(options)) if ordered else sorted(set(options))
    items = [f'<option value=""{"" if current else " selected"}>{escape(any_label)}</option>']
    items.extend(f'<option value="{escape(o)}"{" selected" if o == current else ""}>{escape(o)}</option>' for o in values)
    return f'<label>{escape(label)} <select name="{escape(name)}">{"".join(items)}</select></label>'


def _input(name: str, label: str, current: str | None, placeholder: str = "") -> str:
    return (f'<label>{escape(label)} <input name="{escape(name)}" value="{escape(current or "")}" '
            f'placeholder="{escape(placeholder)}"></label>')


def _filters_form(action: str, fields: Sequence[str]) -> str:
    return (f'<form class="filters" method="get" action="{escape(action)}" role="search">{"".join(fields)}'
            f'<button type="submit">Apply</button> <a href="{escape(action)}">Reset</a></form>')


def _severity(label: object) -> str:
    name = str(label or "")
    css = name if name in SEVERITY_ORDER else "other"
    return f'<span class="sev sev-{css}">{escape(name or "-")}</span>'


def _findings_counts(findings: object) -> str:
    counts = findings if isinstance(findings, Mapping) else {}
    text = " ".join(f"{s}:{counts[s]}" for s in SEVERITY_ORDER if counts.get(s))
    return escape(text or "-")


def parse_time(text: object) -> float:
    try:
        return datetime.datetime.fromisoformat(str(text)).timestamp() if text else 0.0
    except ValueError:
        return 0.0


def _minute(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc).strftime("%H:%M")


def _errors(endpoint: Mapping[str, Any]) -> int:
    codes = endpoint.get("status_codes") or {}
    return sum(int(n) for code, n in codes.items() if str(code)[:1] in ("4", "5"))


# -- overview ------------------------------------------------------------------------------------------------------

def severity_series(records: Sequence[Mapping[str, Any]], now: float) -> tuple[dict[str, list[int]], list[str]]:
    """Counts per severity per minute over the last hour (ending at the newest finding when all are older)."""
    times = [parse_time(r.get("time")) for r in records]
    newest = max(times, default=now)
    end = now if newest >= now - _WINDOW_MINUTES * 60 else newest
    end_minute = int(end // 60) + 1
    start_minute = end_minute - _WINDOW_MINUTES
    series = {s: [0] * _WINDOW_MINUTES for s in SEVERITY_ORDER}
    for record, seconds in zip(records, times, strict=True):
        bucket = int(seconds // 60) - start_minute
        severity = str(record.get("severity") or "")
        if 0 <= bucket < _WINDOW_MINUTES and severity in series:
            series[severity][bucket] += 1
    labels = [_minute((start_minute + i) * 60) for i in range(_WINDOW_MINUTES)]
    return series, labels


def overview_page(inventory: Mapping[str, Any] | None, estate_note: str | None, records: Sequence[Mapping[str, Any]],
                  incidents: Mapping[str, Any], history: Mapping[str, Sequence[float]], now: float,
                  signed_in: bool) -> str:
    services: Sequence[Mapping[str, Any]] = (inventory or {}).get("services") or []
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_service.setdefault(str(record.get("service") or ""), []).append(record)
    rows = []
    for service in services:
        name = str(service.get("service") or "")
        endpoints = service.get("endpoints") or []
        calls = sum(int(e.get("calls") or 0) for e in endpoints)
        errors = sum(_errors(e) for e in endpoints)
        server_errors = sum(int(e.get("errors_5xx") or 0) for e in endpoints)
        rate = f"{100.0 * errors / calls:.1f}% ({100.0 * server_errors / calls:.1f}% 5xx)" if calls else "-"
        trend = list(history.get(name) or ())
        rows.append((f'<a href="{_link("/inventory", service=name)}">{escape(name)}</a>', grade_html(service.get("grade")),
                     escape(number(service.get("score"))), sparkline(trend, f"grade score trend of {name}: "
                                                                  + ", ".join(number(v) for v in trend[-10:])),
                     escape(len(endpoints)), escape(calls), escape(rate),
                     f'<a href="{_link("/findings", service=name)}">{len(by_service.get(name, ()))}</a>'))
    parts = []
    if estate_note:
        parts.append(f'<p class="muted">{escape(estate_note)}</p>')
    parts.append("<h2>Services</h2>")
    parts.append(table_html(("service", "grade", "score", "grade trend", "endpoints", "calls", "error rate (4xx+5xx)",
                         "findings"), rows, frozenset({2, 4, 5, 7}))
                 if rows else '<p class="muted">No API traffic seen yet.</p>')
    parts.append('<h2>Findings by severity, per minute (UTC)</h2><div class="charts">')
    names = [str(s.get("service") or "") for s in services] or sorted(by_service)
    for name in [*names, *sorted(set(by_service) - set(names))][:20]:
        series, labels = severity_series(by_service.get(name, []), now)
        parts.append(f'<figure><figcaption>{escape(name or "(no service)")}</figcaption>'
                     f"{time_series(series, labels, f'findings by severity per minute, {name}')}</figure>")
    if not names and not by_service:
        parts.append('<p class="muted">No findings yet.</p>')
    parts.append("</div>")
    attacked = Counter((str(r.get("service") or ""), str(r.get("method") or ""), str(r.get("route") or ""))
                       for r in records if r.get("route"))
    top = attacked.most_common(10)
    parts.append("<h2>Most attacked endpoints</h2>")
    if top:
        worst: dict[tuple[str, str, str], str] = {}
        kinds: dict[tuple[str, str, str], Counter[str]] = {}
        for r in records:
            key = (str(r.get("service") or ""), str(r.get("method") or ""), str(r.get("route") or ""))
            severity = str(r.get("severity") or "")
            if _SEVERITY_RANK.get(severity, 0) > _SEVERITY_RANK.get(worst.get(key, ""), 0):
                worst[key] = severity
            kinds.setdefault(key, Counter())[str(r.get("kind") or "")] += 1
        parts.append(bars([(f"{m} {r}".strip(), n) for (_, m, r), n in top], "findings per endpoint"))
        parts.append(table_html(("service", "endpoint", "findings", "worst", "top kinds"), (
            (escape(s), _endpoint_link(s, m, r), escape(n), _severity(worst.get((s, m, r))),
             escape(", ".join(f"{k} ({c})" for k, c in kinds[(s, m, r)].most_common(3))))
            for (s, m, r), n in top), frozenset({2})))
    else:
        parts.append('<p class="muted">No finding on a known route yet.</p>')
    open_incidents = [i for i in incidents.get("incidents") or () if isinstance(i, Mapping) and i.get("status") == "firing"]
    parts.append(f'<h2>Active incidents ({len(open_incidents)})</h2>')
    parts.append(_incident_table(open_incidents, None) if open_incidents
                 else '<p class="muted">No open incident (an <code>apisec/alerts</code> exporter groups them).</p>')
    return layout("Overview", "/", "".join(parts), signed_in=signed_in)


# -- inventory -------------------------------------------------------------------------------------------------------

def _endpoint_rows(inventory: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(str(s.get("service") or ""), e) for s in inventory.get("services") or () for e in s.get("endpoints") or ()]


def _sort_key(column: str) -> Any:
    grades = {"A": 0, "B": 1, "C": 2, "D": 3, "F": 4}
    keys = {
        "service": lambda row: row[0], "method": lambda row: str(row[1].get("method") or ""),
        "route": lambda row: str(row[1].get("route") or ""), "spec_status": lambda row: str(row[1].get("spec_status") or ""),
        "calls": lambda row: int(row[1].get("calls") or 0), "errors": lambda row: _errors(row[1]),
        "unauthenticated": lambda row: int(row[1].get("unauthenticated_calls") or 0),
        "findings": lambda row: sum((row[1].get("findings") or {}).values()),
        "p95": lambda row: float((row[1].get("latency_ms") or {}).get("p95") or 0),
        "grade": lambda row: grades.get(str(row[1].get("grade")), 5),
        "score": lambda row: float(row[1].get("score") or 0), "last_seen": lambda row: str(row[1].get("last_seen") or ""),
    }
    return keys[column]


def inventory_page(inventory: Mapping[str, Any], params: Mapping[str, str], signed_in: bool) -> str:
    rows = _endpoint_rows(inventory)
    service, method, spec, auth = (params.get(k) or None for k in ("service", "method", "spec_status", "auth"))
    pii, grade, unauth = params.get("pii") or None, params.get("grade") or None, params.get("unauthenticated") == "1"
    sort = params.get("sort") or "service"
    descending = sort.startswith("-")
    column = sort.lstrip("-")
    selected = []
    for svc, e in rows:
        schemes = e.get("auth_schemes") or []
        if ((service and svc != service) or (method and e.get("method") != method)
                or (spec and str(e.get("spec_status") or "none") != spec)
                or (auth and (auth not in schemes if auth != "none" else bool(schemes)))
                or (unauth and not e.get("unauthenticated_calls")) or (pii and pii not in (e.get("pii_types") or ()))
                or (grade and e.get("grade") != grade)):
            continue
        selected.append((svc, e))
    selected.sort(key=lambda row: (row[0], str(row[1].get("route")), str(row[1].get("method"))))
    selected.sort(key=_sort_key(column), reverse=descending)
    form = _filters_form("/inventory", [
        _select("service", "Service", (s for s, _ in rows), service),
        _select("method", "Method", (str(e.get("method")) for _, e in rows), method),
        _select("spec_status", "Spec status",
                ["none", *(str(e.get("spec_status")) for _, e in rows if e.get("spec_status"))], spec),
        _select("auth", "Auth", ["none", *(a for _, e in rows for a in e.get("auth_schemes") or ())], auth),
        _select("pii", "PII type", (p for _, e in rows for p in e.get("pii_types") or ()), pii),
        _select("grade", "Grade", ("A", "B", "C", "D", "F"), grade, ordered=True),
        f'<label><input type="checkbox" name="unauthenticated" value="1"{" checked" if unauth else ""}> '
        "unauthenticated calls only</label>",
        _select("sort", "Sort by", [*INVENTORY_SORTS, *(f"-{s}" for s in INVENTORY_SORTS)], params.get("sort"),
                "service", ordered=True),
    ])
    current = {k: v for k, v in params.items() if k != "sort" and v}

    def header(label: str, key: str) -> str:
        target = f"-{key}" if sort == key else key
        mark = " ▲" if sort == key else " ▼" if sort == f"-{key}" else ""
        aria = ' aria-sort="ascending"' if sort == key else ' aria-sort="descending"' if sort == f"-{key}" else ""
        return f'<a href="{_link("/inventory", **current, sort=target)}"{aria}>{escape(label)}{mark}</a>'

    heads = [("service", "service"), ("method", "method"), ("route", "route"), ("spec", "spec_status"),
             ("calls", "calls"), ("4xx+5xx", "errors"), ("auth", ""), ("unauth calls", "unauthenticated"),
             ("PII", ""), ("findings", "findings"), ("p50 / p95 ms", "p95"), ("grade", "grade"), ("score", "score")]
    head = "".join(f"<th scope=col>{header(label, key) if key else escape(label)}</th>" for label, key in heads)
    body = []
    for svc, e in selected:
        latency = e.get("latency_ms") or {}
        status = e.get("spec_status")
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in (
            escape(svc), escape(e.get("method")), _endpoint_link(svc, e.get("method"), e.get("route"), str(e.get("route") or "")),
            f'<span class="status-{escape(status)}">{escape(status)}</span>' if status else '<span class="muted">no spec</span>',
            escape(e.get("calls")), escape(_errors(e)), escape(", ".join(e.get("auth_schemes") or ()) or "none"),
            escape(e.get("unauthenticated_calls")), escape(", ".join(e.get("pii_types") or ()) or "-"),
            _findings_counts(e.get("findings")),
            escape(f"{number(latency.get('p50'))} / {number(latency.get('p95'))}"), grade_html(e.get("grade")),
            escape(number(e.get("score"))))) + "</tr>")
    table = (f'<table class="inventory"><caption>{len(selected)} of {len(rows)} endpoints</caption><thead><tr>{head}'
             f'</tr></thead><tbody>{"".join(body)}</tbody></table>')
    return layout("Inventory", "/inventory", form + table, signed_in=signed_in)


# -- endpoint --------------------------------------------------------------------------------------------------------

def _schema(schema: object) -> str:
    if not schema:
        return '<p class="muted">none recorded</p>'
    return f"<pre>{escape(json.dumps(schema, indent=2, sort_keys=True, default=str)[:20000])}</pre>"


def endpoint_page(service: str, endpoint: Mapping[str, Any], grades: Mapping[str, Any] | None,
                  records: Sequence[Mapping[str, Any]], trace_url: str | None, signed_in: bool) -> str:
    e = endpoint
    latency = e.get("latency_ms") or {}
    facts = table_html(("fact", "value"), [
        ("service", escape(service)), ("spec status", escape(e.get("spec_status") or "no spec")),
        ("route source", escape(e.get("route_source"))), ("calls", escape(e.get("calls"))),
        ("first / last seen", escape(f"{e.get('first_seen') or '-'} / {e.get('last_seen') or '-'}")),
        ("status codes", escape(text_html(e.get("status_codes")))), ("auth schemes", escape(text_html(e.get("auth_schemes")))),
        ("auth enforced", escape(text_html(e.get("auth_enforced")))),
        ("unauthenticated calls / 2xx", escape(f"{e.get('unauthenticated_calls')} / {e.get('unauthenticated_success')}")),
        ("PII types", escape(text_html(e.get("pii_types")))), ("secrets", escape(text_html(e.get("secrets")))),
        ("distinct principals (estimate)", escape(text_html(e.get("principals")))),
        ("rate limited / plain HTTP / 5xx", escape(f"{e.get('rate_limited_calls')} / {e.get('plain_http_calls')} / "
                                               f"{e.get('errors_5xx')}")),
        ("grade", f"{grade_html(e.get('grade'))} {escape(number(e.get('score')))}"),
        ("failed checks", escape(text_html((grades or {}).get("failed")))),
    ])
    posture = table_html(("rule", "kind", "severity", "count", "scope"), [
        (f"<code>{escape(t.get('rule_id'))}</code>", escape(t.get("kind")), _severity(t.get("severity")), escape(t.get("count")),
         escape(scope)) for scope, key in (("posture", "posture"), ("per call", "rules"))
        for t in e.get(key) or () if isinstance(t, Mapping)]) if (e.get("posture") or e.get("rules")) \
        else '<p class="muted">no posture fact or rule hit</p>'
    parameters = table_html(("name", "in", "types", "calls"), [
        (f"<code>{escape(p.get('name'))}</code>", escape(p.get("in")), escape(text_html(p.get("types"))), escape(p.get("calls")))
        for p in e.get("parameters") or () if isinstance(p, Mapping)]) if e.get("parameters") \
        else '<p class="muted">no parameters seen</p>'
    drift = e.get("parameter_drift") or []
    countries = sorted(((str(c), float(n)) for c, n in (e.get("countries") or {}).items()), key=lambda x: -x[1])[:15]
    latency_items = [(q, float(latency[q])) for q in ("p50", "p95") if isinstance(latency.get(q), (int, float))]
    body = [
        f'<p><a href="{_link("/inventory", service=service)}">← {escape(service)} inventory</a> · '
        f'<a href="{_link("/findings", service=service, route=e.get("route"))}">all findings of this route</a></p>',
        "<h2>Posture</h2>", facts, posture,
        "<h2>Latency</h2>", bars(latency_items, "latency in milliseconds", unit=" ms"),
        "<h2>Countries</h2>", bars(countries, "calls per client country"),
        "<h2>Parameters</h2>", parameters,
    ]
    if drift:
        body.append(table_html(("parameter", "in", "issue"), [(escape(d.get("name")), escape(d.get("in")), escape(d.get("issue")))
                                                          for d in drift if isinstance(d, Mapping)]))
    body += ["<h2>Request schema</h2>", _schema(e.get("request_schema")),
             "<h2>Response schema</h2>", _schema(e.get("response_schema")),
             f"<h2>Recent findings ({len(records)})</h2>", _findings_table(records, trace_url)]
    return layout(f"{e.get('method')} {e.get('route')}", "/inventory", "".join(body), signed_in=signed_in)


# -- findings --------------------------------------------------------------------------------------------------------

def finding_client(record: Mapping[str, Any]) -> str:
    """The client pseudonym a record names: its span's, or its subject's (a correlated finding)."""
    for source in (record, record.get("subject") or {}):
        if isinstance(source, Mapping):
            for key in ("client_pseudo_id", "apisec.client.pseudo.id", "client.pseudo.id", "client"):
                if source.get(key):
                    return str(source[key])
    return ""


def finding_country(record: Mapping[str, Any]) -> str:
    for source in (record, record.get("subject") or {}, record.get("evidence") or {}):
        if isinstance(source, Mapping):
            for key in ("country", "geo.country.iso_code", "client_country"):
                if source.get(key):
                    return str(source[key])
    return ""


def _findings_table(records: Sequence[Mapping[str, Any]], trace_url: str | None) -> str:
    if not records:
        return '<p class="muted">No finding matches.</p>'
    rows = []
    for r in records:
        rule = f"<code>{escape(r.get('rule_id'))}</code>" + (f"<br>{escape(r.get('rule_name'))}" if r.get("rule_name") else "")
        rows.append((escape(r.get("time")), _severity(r.get("severity")), escape(r.get("service")),
                     _endpoint_link(r.get("service"), r.get("method"), r.get("route")), rule, escape(r.get("kind")),
                     escape(r.get("location") or "-"), f"<code>{escape(finding_client(r) or '-')}</code>",
                     escape(finding_country(r) or "-"), escape(r.get("message") or "-"), _trace(trace_url, r.get("trace_id"))))
    return table_html(("time (UTC)", "severity", "service", "endpoint", "rule", "kind", "location", "client", "country",
                   "message", "trace"), rows)


def findings_page(records: Sequence[Mapping[str, Any]], params: Mapping[str, str], choices: Mapping[str, Iterable[str]],
                  trace_url: str | None, signed_in: bool) -> str:
    form = _filters_form("/findings", [
        _select("service", "Service", choices["service"], params.get("service")),
        _input("route", "Route", params.get("route"), "/users/{id}"),
        _select("severity", "Severity at least", SEVERITY_ORDER, params.get("severity"), ordered=True),
        _select("kind", "Kind", choices["kind"], params.get("kind")),
        _input("client", "Client pseudonym", params.get("client")),
        _input("country", "Country", params.get("country"), "DE"),
        _input("since", "Since", params.get("since"), "2024-05-01T12:00:00Z"),
        _input("limit", "Limit", params.get("limit"), "100"),
    ])
    return layout("Findings", "/findings", form + f'<p class="count">{len(records)} findings, newest first</p>'
                  + _findings_table(records, trace_url), signed_in=signed_in)


# -- governance ------------------------------------------------------------------------------------------------------

def governance_page(governance: Mapping[str, Any], trace_url: str | None, signed_in: bool) -> str:
    services = [s for s in governance.get("services") or () if isinstance(s, Mapping)]
    if not services:
        return layout("Governance", "/governance", '<p class="muted">No API traffic seen yet.</p>', signed_in=signed_in)
    parts = ['<nav aria-label="Services"><ul class="inline">' + "".join(
        f'<li><a href="#service-{i}">{escape(s.get("service"))}</a></li>' for i, s in enumerate(services)) + "</ul></nav>"]
    for index, service in enumerate(services):
        categories = service.get("categories") or {}
        items = [(str(c).replace("_", " "), float(v.get("score") or 0)) for c, v in categories.items() if isinstance(v, Mapping)]
        deductions = [d for d in service.get("deductions") or () if isinstance(d, Mapping)]
        rows = [(f"<code>{escape(d.get('check'))}</code><br>{escape(d.get('title'))}"
                 + (f'<br><span class="muted">{escape(text_html(d.get("detail")))}</span>' if d.get("detail") else ""),
                 escape(d.get("category")), escape(number(d.get("points"))),
                 f"<code>{escape(d.get('endpoint'))}</code>" if d.get("endpoint") else '<span class="muted">service</span>',
                 escape(d.get("count")), f"<code>{escape(d.get('rule') or '-')}</code>",
                 _trace(trace_url, (d.get("example") or {}).get("trace_id"), "evidence"))
                for d in deductions]
        parts.append(
            f'<section class="service" id="service-{index}" aria-labelledby="gh-{index}">'
            f'<h2 id="gh-{index}">{escape(service.get("service"))} {grade_html(service.get("grade"))} '
            f'<span class="muted">{escape(number(service.get("score")))} / 100</span></h2>'
            f"<h3>Categories</h3>{bars(items, 'category scores out of 100')}"
            f"<h3>Deductions ({escape(service.get('deductions_total', len(deductions)))})</h3>"
            + (table_html(("check", "category", "points", "endpoint", "count", "rule", "evidence"), rows, frozenset({2, 4}))
               if rows else '<p class="muted">no deductions</p>')
            + f"<h3>Compliance</h3>{_regulations(service.get('compliance'))}{compliance_html(service.get('compliance'))}"
            "</section>")
    return layout("Governance", "/governance", "".join(parts), signed_in=signed_in)


def _regulations(compliance: object) -> str:
    if not isinstance(compliance, Mapping) or not compliance:
        return ""
    rows = []
    for regulation, result in compliance.items():
        result = result if isinstance(result, Mapping) else {}
        statuses = [c.get("status") for c in result.get("checks") or () if isinstance(c, Mapping)]
        verdict = "fail" if "fail" in statuses else "pass"
        rows.append((escape(regulation), f'<span class="{verdict}">{verdict}</span>', escape(number(result.get("percent"))),
                     escape(statuses.count("fail")), escape(len(result.get("failing_endpoints") or ()))))
    return table_html(("regulation", "result", "% checks passing", "failing checks", "failing endpoints"), rows,
                  frozenset({2, 3, 4}))


# -- incidents -------------------------------------------------------------------------------------------------------

def _incident_table(incidents: Sequence[Mapping[str, Any]], trace_url: str | None) -> str:
    rows = []
    for i in incidents:
        labels = i.get("labels") or {}
        rows.append((_severity(i.get("severity")), f"<code>{escape(i.get('rule_id'))}</code>",
                     escape(labels.get("alertname")), escape(labels.get("service")),
                     _endpoint_link(labels.get("service"), None, labels.get("route"), str(labels.get("route") or "")),
                     escape(text_html({k: v for k, v in labels.items() if k not in _SHOWN_LABELS})),
                     escape(i.get("count")), escape(i.get("first_seen")), escape(i.get("last_seen")),
                     escape(i.get("resolved_at") or "-"),
                     _trace(trace_url, i.get("first_trace_id"), "first trace")))
    return table_html(("severity", "rule", "alert", "service", "route", "group", "count", "first seen", "last seen",
                   "resolved", "trace"), rows, frozenset({6}))


def incidents_page(incidents: Mapping[str, Any], trace_url: str | None, signed_in: bool) -> str:
    all_incidents = [i for i in incidents.get("incidents") or () if isinstance(i, Mapping)]
    firing = [i for i in all_incidents if i.get("status") == "firing"]
    resolved = [i for i in all_incidents if i.get("status") != "firing"]
    body = (f"<h2>Open ({len(firing)})</h2>"
            + (_incident_table(firing, trace_url) if firing else '<p class="muted">No open incident.</p>')
            + f"<h2>Resolved ({len(resolved)})</h2>"
            + (_incident_table(resolved, trace_url) if resolved else '<p class="muted">None resolved recently.</p>'))
    return layout("Incidents", "/incidents", body, signed_in=signed_in)
