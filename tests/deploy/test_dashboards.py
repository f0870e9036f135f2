"""The Grafana dashboards as code (deploy/grafana/): the committed JSON is what the generator writes,
every query reads metrics and labels that a real gateway exports (scraped from a gateway started
here and fed one span with findings), every query parses (promtool), and the provisioning files
point at the compose stack's services."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from otel_apisec.gateway.security_metrics import SPEC_STATUSES
from otel_apisec.model import AuthOutcome, Severity
from otel_apisec.testing.builders import server_span, trace_request
from otel_apisec.testing.servers import free_port, gateway_process, require_binary, webhook_recorder
from otel_apisec.testing.sink import OtlpSink

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
GENERATOR = GRAFANA / "dashboards.py"
REGENERATE = "run python deploy/grafana/dashboards.py"
TARGET_LABELS = {"instance", "job"}
"""Labels Prometheus adds to every scraped series."""
SCRAPE_WAIT_S = 10.0


def _generator() -> ModuleType:
    """deploy/grafana/dashboards.py, imported from its path (deploy/ is not a package)."""
    try:
        import grafana_foundation_sdk  # noqa: F401
    except ImportError:
        message = "grafana-foundation-sdk is not installed (the dev extra)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    spec = importlib.util.spec_from_file_location("grafana_dashboards", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _committed() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # a collapsed row's panels


@dataclass(frozen=True)
class Query:
    where: str
    expr: str


def _queries() -> list[Query]:
    """Every PromQL expression of the committed dashboards: panel targets and variable queries."""
    queries = []
    for name, dashboard in _committed().items():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                queries.append(Query(f"{name}: panel {panel['title']!r} {target['refId']}", target["expr"]))
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                text = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
                queries.append(Query(f"{name}: variable {variable['name']}", text))
    return queries


# --- a tiny PromQL reader: enough for the names and labels a query uses ------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NAME = re.compile(r"(?<![\w.$:])[A-Za-z_:][A-Za-z0-9_:]*")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_LABEL_VALUES = re.compile(r"^label_values\(\s*([A-Za-z_:][\w:]*)\s*,\s*([A-Za-z_]\w*)\s*\)$")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}


def _unquoted(expr: str) -> str:
    return _STRING.sub('""', expr)


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` reads: identifiers outside strings, matchers, ranges and groupings
    that are neither a function (followed by "(") nor a keyword."""
    text = _GROUPING.sub(" ", re.sub(r"\[[^\]]*\]", " ", re.sub(r"\{[^}]*\}", " ", _unquoted(expr))))
    return {m.group() for m in _NAME.finditer(text)
            if m.group() not in _KEYWORDS and not text[m.end():].lstrip().startswith("(")}


def selector_labels(expr: str) -> dict[str, set[str]]:
    """Metric name -> the label names its selectors match on."""
    found: dict[str, set[str]] = {}
    for name, matchers in _SELECTOR.findall(_unquoted(expr)):
        found.setdefault(name, set()).update(_MATCHER.findall(matchers))
    return found


def grouping_labels(expr: str) -> set[str]:
    return {label.strip() for _kind, labels in _GROUPING.findall(_unquoted(expr)) for label in labels.split(",") if label.strip()}


@pytest.mark.parametrize(("expr", "names", "labels"), [
    ('sum by (severity) (rate(otel_apisec_findings_total{severity=~"$severity"}[$__rate_interval]))',
     {"otel_apisec_findings_total"}, {"otel_apisec_findings_total": {"severity"}}),
    ("sum(increase(a_total[1h])) or vector(0) / b_gauge offset 5m > 1e3", {"a_total", "b_gauge"}, {}),
    ('topk(10, x{route="/a{b}", q!~"by(z)"})', {"x"}, {"x": {"route", "q"}}),
])
def test_the_promql_reader(expr: str, names: set[str], labels: dict[str, set[str]]) -> None:
    """The reader finds the metric names and matcher labels, and no function, keyword or number."""
    assert metric_names(expr) == names
    assert selector_labels(expr) == labels


# --- 1. stale JSON -----------------------------------------------------------------------------------------------


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    """Regenerating gives byte-identical files, and no other dashboard JSON lies beside them."""
    generator = _generator()
    fresh = generator.rendered()
    folder = GRAFANA / "dashboards"
    committed = {path.name for path in folder.glob("*.json")}
    assert committed == set(fresh), f"dashboards/ holds {sorted(committed)}, the generator writes {sorted(fresh)}: {REGENERATE}"
    for name, text in fresh.items():
        assert (folder / name).read_text(encoding="utf-8") == text, f"deploy/grafana/dashboards/{name} is stale: {REGENERATE}"
    assert generator.main(["--check"]) == 0


def test_the_check_flag_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check` writes nothing and exits 1 naming the stale file and the command to run."""
    generator = _generator()
    assert generator.main(["--out", str(tmp_path)]) == 0
    (tmp_path / "otel-apisec-security.json").write_text("{}\n", encoding="utf-8")
    assert generator.main(["--check", "--out", str(tmp_path)]) == 1
    assert "otel-apisec-security.json" in capsys.readouterr().err
    assert (tmp_path / "otel-apisec-security.json").read_text(encoding="utf-8") == "{}\n"


# --- 2. the metrics a real gateway exports ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    names: set[str]
    """Every metric name the gateway exports (the `# TYPE` lines, with or without samples)."""
    labels: dict[str, set[str]]
    """Metric name -> its label names, for the metrics that had samples."""
    text: str


@pytest.fixture(scope="module")
def scrape() -> Scrape:
    """/metrics of a real gateway fed one span with findings (a card number in the query: high, so
    an alert opens) and forwarding to a real OTLP receiver, alerts to a real webhook."""
    http_port, metrics_port = free_port(), free_port()
    span = server_span({
        "http.request.method": "GET", "url.scheme": "https", "server.address": "api.example.com",
        "url.path": "/api/orders/42", "url.query": "card=4111111111111111", "http.route": "/api/orders/{id}",
        "http.response.status_code": 200, "client.address": "203.0.113.9",
    }, "GET /api/orders/{id}")
    span.end_time_unix_nano = time.time_ns()
    span.start_time_unix_nano = span.end_time_unix_nano - 12_000_000
    with OtlpSink("http/protobuf") as sink, webhook_recorder() as webhook, gateway_process(
            "--grpc-endpoint", f"127.0.0.1:{free_port()}", "--http-endpoint", f"127.0.0.1:{http_port}",
            "--forward", sink.endpoint, "--forward-protocol", "http/protobuf", "--alert-webhook", webhook.url,
            "--metrics-endpoint", f"127.0.0.1:{metrics_port}"):
        response = httpx.post(f"http://127.0.0.1:{http_port}/v1/traces", content=trace_request(
            span, resource={"service.name": "shop"}).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"}, timeout=10.0)
        assert response.status_code == 200, response.text
        webhook.wait_for(lambda received: len(received) >= 1)
        deadline, text = time.monotonic() + SCRAPE_WAIT_S, ""
        wanted = ("otel_apisec_findings_total{", "otel_apisec_estate_grade_score{", "otel_apisec_auth_outcomes_total{",
                  'otel_apisec_gateway_exported_items_total{exporter="otlp"}')
        while not all(w in text for w in wanted):
            assert time.monotonic() < deadline, f"the scrape lacks {[w for w in wanted if w not in text]}:\n{text}"
            time.sleep(0.1)
            text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    names = set(re.findall(r"^# TYPE (\S+) \S+$", text, re.MULTILINE))
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return Scrape(names, labels, text)


def test_every_query_reads_metrics_the_gateway_exports(scrape: Scrape) -> None:
    """Each expression names at least one metric, and every metric it names is on the gateway's
    /metrics, under that exact name."""
    queries = _queries()
    assert len(queries) >= 30, [q.where for q in queries]
    unknown = []
    for query in queries:
        match = _LABEL_VALUES.match(query.expr)
        names = {match.group(1)} if match else metric_names(query.expr)
        assert names, f"{query.where}: no metric in {query.expr!r}"
        unknown += [f"{query.where}: {name}" for name in sorted(names - scrape.names)]
    assert not unknown, f"not exported by the gateway: {unknown}\nexported: {sorted(scrape.names)}"


def test_every_label_a_query_uses_is_on_its_metric(scrape: Scrape) -> None:
    """Matchers, groupings and label_values use labels the metric really carries (or that Prometheus
    adds: instance, job), for every metric the scrape had samples of."""
    checked, wrong = set(), []
    for query in _queries():
        match = _LABEL_VALUES.match(query.expr)
        if match:
            name, label = match.groups()
            checked.add(name)
            if label not in scrape.labels.get(name, set()) | TARGET_LABELS:
                wrong.append(f"{query.where}: {name} has no label {label}")
            continue
        names = metric_names(query.expr)
        for name, labels in selector_labels(query.expr).items():
            if name in scrape.labels:
                checked.add(name)
                missing = labels - scrape.labels[name] - TARGET_LABELS
                wrong += [f"{query.where}: {name} has no label {label}" for label in sorted(missing)]
        if names <= set(scrape.labels):  # every metric had samples: the union of their labels is known
            known = set().union(*(scrape.labels[name] for name in names)) | TARGET_LABELS
            wrong += [f"{query.where}: no metric has label {label}" for label in sorted(grouping_labels(query.expr) - known)]
    assert not wrong, wrong
    # Not vacuous: the security metrics and the pipeline's main counters were checked.
    assert checked >= {"otel_apisec_findings_total", "otel_apisec_auth_outcomes_total", "otel_apisec_estate_endpoints",
                       "otel_apisec_estate_grade_score", "otel_apisec_estate_unauthenticated_endpoints",
                       "otel_apisec_gateway_received_items_total", "otel_apisec_gateway_exported_items_total",
                       "otel_apisec_gateway_queue_depth"}, checked


_VALUES = re.compile(r'([A-Za-z_]\w*)\s*(=~|=)\s*"([^"$]*)"')
KNOWN_VALUES = {"severity": {s.label for s in Severity}, "outcome": {o.value for o in AuthOutcome},
                "spec_status": set(SPEC_STATUSES)}


def test_every_label_value_a_query_matches_is_one_the_gateway_emits() -> None:
    """A literal severity, auth outcome or spec status in a matcher is one the gateway writes (a typo
    would match nothing, silently)."""
    checked = 0
    for query in _queries():
        for label, operator, value in _VALUES.findall(query.expr):
            if label not in KNOWN_VALUES:
                continue
            for alternative in value.split("|") if operator == "=~" else [value]:
                assert alternative in KNOWN_VALUES[label], \
                    f"{query.where}: {label}{operator}{value!r}: {alternative!r} is never emitted"
                checked += 1
    assert checked >= 5


def test_the_dashboards_cover_the_issue_s_concerns() -> None:
    """Findings by severity, kind and service route; auth outcomes; unauthenticated endpoints; grade per service;
    active alerts; endpoints by spec status; received, refused, dropped, exported, queue, retries,
    processor errors and detector failures."""
    exprs = " ".join(q.expr for q in _queries())
    for needle in ("sum by (severity) (rate(otel_apisec_findings_total", "sum by (kind) (rate(otel_apisec_findings_total",
                   "sum by (service, route) (rate(otel_apisec_findings_total", "otel_apisec_auth_outcomes_total",
                   "otel_apisec_estate_unauthenticated_endpoints", "max by (service) (otel_apisec_estate_grade_score",
                   "otel_apisec_alerts_active", "sum by (spec_status)", "otel_apisec_gateway_received_items_total",
                   "otel_apisec_gateway_refused_items_total", "otel_apisec_gateway_dropped_items_total",
                   "otel_apisec_gateway_exported_items_total", "otel_apisec_gateway_queue_depth",
                   "otel_apisec_gateway_export_retries_total", "otel_apisec_gateway_processor_errors_total",
                   "otel_apisec_detector_failures_total"):
        assert needle in exprs, needle


# --- 3. the queries parse ----------------------------------------------------------------------------------------

_GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "6h", "$service": ".*", "$severity": ".*", "$instance": ".*"}


def test_every_query_parses(tmp_path: Path) -> None:
    """promtool parses every expression (Grafana's variables replaced by what Grafana sends)."""
    promtool = require_binary("promtool")
    rules = []
    for index, query in enumerate(q for q in _queries() if not _LABEL_VALUES.match(q.expr)):
        expr = query.expr
        for variable, value in _GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"{query.where}: a variable this test does not know: {query.expr}"
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


# --- 4. shape and provisioning -----------------------------------------------------------------------------------


def test_the_dashboards_are_well_formed() -> None:
    """Unique uids; unique panel ids; panels inside the 24-column grid and not overlapping; every
    panel reads Prometheus through the `datasource` variable; a `service` variable on the security
    overview."""
    dashboards = _committed()
    assert len({d["uid"] for d in dashboards.values()}) == len(dashboards) == 2
    titles = {d["title"] for d in dashboards.values()}
    assert titles == {"otel-apisec: security overview", "otel-apisec: gateway pipeline health"}
    for name, dashboard in dashboards.items():
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        panels = list(_panels(dashboard))
        assert len({p["id"] for p in panels}) == len(panels), name
        cells: dict[tuple[int, int], str] = {}
        for panel in panels:
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, (name, panel["title"])
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in cells, f"{name}: {panel['title']!r} overlaps {cells[(x, y)]!r}"
                    cells[(x, y)] = panel["title"]
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (name, panel["title"])
                assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"]), (name, panel["title"])
    security = dashboards["otel-apisec-security.json"]
    assert "service" in {v["name"] for v in security["templating"]["list"]}


def test_provisioning_points_at_the_compose_services() -> None:
    """Prometheus (the default) at http://prometheus:9090, Jaeger at http://jaeger:16686, and the
    dashboards provider reading the folder the compose file mounts ./grafana/dashboards at."""
    provisioning = GRAFANA / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text(encoding="utf-8"))
    by_type = {s["type"]: s for s in sources["datasources"]}
    assert by_type["prometheus"]["url"] == "http://prometheus:9090" and by_type["prometheus"]["isDefault"] is True
    assert by_type["jaeger"]["url"] == "http://jaeger:16686"
    provider = yaml.safe_load((provisioning / "dashboards" / "dashboards.yaml").read_text(encoding="utf-8"))
    assert [p["options"]["path"] for p in provider["providers"]] == ["/var/lib/grafana/dashboards"]
    assert sources["apiVersion"] == provider["apiVersion"] == 1
