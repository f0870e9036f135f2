"""deploy/prometheus/rules.yaml: `promtool check rules` accepts it, `promtool test rules` passes its
unit tests (rules_test.yaml), each rule has a firing and a quiet case, and every metric, label and
label value the rules use is one the gateway really exports: a real gateway is scraped here after a
span with findings, so renaming a metric breaks this test rather than silencing an alert.

promtool comes from Debian's `prometheus` package; without it these tests fail, on purpose.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from otel_apisec.detect.catalog import EXCHANGE_DETECTORS  # noqa: F401  (importing it registers every rule)
from otel_apisec.detect.rule import all_rules
from otel_apisec.enrich import ATTACK_KINDS
from otel_apisec.gateway.security_metrics import SPEC_STATUSES
from otel_apisec.model import Severity
from otel_apisec.testing.builders import server_span, trace_request
from otel_apisec.testing.servers import free_port, gateway_process
from otel_apisec.testing.sink import OtlpSink

DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES, RULES_TEST = DIR / "rules.yaml", DIR / "rules_test.yaml"
ALERT_SEVERITIES = {"critical", "warning", "info"}
ANNOTATIONS = {"summary", "description", "runbook"}
SCRAPE_LABELS = {"instance", "job"}
"""Labels Prometheus adds to every scraped series."""
SCRAPE_TIMEOUT_S = 20.0

_METRIC = re.compile(r"\b(otel_apisec_[a-z0-9_]+)\b")
_SELECTOR = re.compile(r"\b(otel_apisec_[a-z0-9_]+)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
_TEMPLATE_LABEL = re.compile(r"\$labels\.(\w+)")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("`promtool` is not on PATH: the alerting rules' tests need it (Debian: "
                    "`apt-get install --no-install-recommends prometheus`); they are not skipped on purpose")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], capture_output=True, text=True, timeout=120, cwd=DIR)


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [rule for group in doc["groups"] for rule in group["rules"]]
    assert rules and all("alert" in rule for rule in rules), "alerting rules only, and at least one"
    return rules


def _matchers(expr: str) -> Iterator[tuple[str, str, str, str]]:
    """(metric, label, operator, value) of every matcher in a selector of `expr`."""
    for metric, body in _SELECTOR.findall(expr):
        for label, operator, value in _MATCHER.findall(body):
            yield metric, label, operator, value.replace("\\\\", "\\")


def test_promtool_checks_the_rules() -> None:
    """`promtool check rules` accepts the file (syntax, PromQL, templates)."""
    result = _run("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    """`promtool test rules rules_test.yaml`: every expected alert fires, with its labels and annotations, and no other."""
    result = _run("test", "rules", RULES_TEST.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    """Each alert fires in some test, and in some test an evaluation expects it quiet or series do not fire it."""
    doc = yaml.safe_load(RULES_TEST.read_text(encoding="utf-8"))
    assert doc["rule_files"] == [RULES.name]
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in doc["tests"]:
        for case in test["alert_rule_test"]:
            alerts = case.get("exp_alerts") or []
            if alerts:
                firing.add(case["alertname"])
                # Series that do not fire: more input series than alerts expected from them.
                if len(test["input_series"]) > len(alerts):
                    quiet.add(case["alertname"])
            else:
                quiet.add(case["alertname"])
            for alert in alerts:
                assert ANNOTATIONS <= set(alert.get("exp_annotations", {})), f"{case['alertname']}: annotations not tested"
    names = {rule["alert"] for rule in _rules()}
    assert names - firing == set(), "rules never seen firing"
    assert names - quiet == set(), "rules never seen quiet"
    assert (firing | quiet) - names == set(), "tests of rules that do not exist"


def test_rules_carry_severity_and_annotations() -> None:
    """Each rule has a unique name, a `severity` label Alertmanager routes on, a summary, a description and a runbook hint."""
    rules = _rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["alert"].startswith("Apisec"), rule["alert"]
        assert rule.get("labels", {}).get("severity") in ALERT_SEVERITIES, rule["alert"]
        assert set(rule.get("annotations", {})) == ANNOTATIONS, rule["alert"]
        assert all(text.strip() for text in rule["annotations"].values()), rule["alert"]


def test_attack_burst_kinds_are_the_attack_kinds() -> None:
    """The attack burst rule matches exactly `otel_apisec.enrich.ATTACK_KINDS`: a new attack kind must be added to it."""
    (rule,) = [rule for rule in _rules() if rule["alert"] == "ApisecAttackBurst"]
    kinds = [value for _, label, operator, value in _matchers(rule["expr"]) if label == "kind" and operator == "=~"]
    assert len(kinds) == 1
    assert set(kinds[0].split("|")) == ATTACK_KINDS


def test_label_values_are_ones_the_gateway_emits() -> None:
    """Every alternative of a kind, severity or spec_status matcher matches a value the gateway emits
    (a typo would match nothing, and the alert would never fire)."""
    known = {"kind": {rule.kind for rule in all_rules()}, "severity": {s.label for s in Severity},
             "spec_status": set(SPEC_STATUSES)}
    checked = 0
    for rule in _rules():
        for metric, label, operator, value in _matchers(rule["expr"]):
            if label not in known or operator not in ("=", "=~"):
                continue
            alternatives = value.split("|") if operator == "=~" else [value]
            for alternative in alternatives:
                pattern = re.compile(alternative if operator == "=~" else re.escape(alternative))
                where = f"{rule['alert']}: {metric}{{{label}{operator}{value!r}}}"
                assert any(pattern.fullmatch(v) for v in known[label]), f"{where}: {alternative!r} matches no {label} emitted"
                checked += 1
    assert checked >= 5  # the check saw the matchers


# ---------------------------------------------------------------------------------------------------------------
# A real gateway's /metrics


def _injection_span() -> Any:
    return server_span({"http.request.method": "GET", "url.path": "/search", "url.query": "q=1' OR '1'='1' --",
                        "url.scheme": "https", "http.route": "/search", "http.response.status_code": 200,
                        "server.address": "api.example.com", "client.address": "203.0.113.9"}, "GET /search")


@pytest.fixture(scope="module")
def scraped() -> dict[str, set[str] | None]:
    """Metric name -> the label names of its samples (None: exported with no sample yet), from a real
    gateway forwarding to an OTLP receiver after one span with an SQL injection."""
    http_port, metrics_port = free_port(), free_port()
    with OtlpSink("http/protobuf") as sink, gateway_process(
            "--grpc-endpoint", f"127.0.0.1:{free_port()}", "--http-endpoint", f"127.0.0.1:{http_port}",
            "--metrics-endpoint", f"127.0.0.1:{metrics_port}", "--forward", sink.endpoint,
            "--forward-protocol", "http/protobuf"):
        response = httpx.post(f"http://127.0.0.1:{http_port}/v1/traces",
                              content=trace_request(_injection_span()).SerializeToString(),
                              headers={"Content-Type": "application/x-protobuf"}, timeout=10.0)
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + SCRAPE_TIMEOUT_S
        while True:
            text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10.0).text
            if 'kind="sqli"' in text and "otel_apisec_estate_grade_score{" in text:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no SQLi finding and grade in /metrics after {SCRAPE_TIMEOUT_S} s:\n{text}")
            time.sleep(0.1)
    names: dict[str, set[str] | None] = {}
    for family in text_string_to_metric_families(text):
        names.setdefault(family.name + "_total" if family.type == "counter" else family.name, None)
        for sample in family.samples:
            names[sample.name] = (names.get(sample.name) or set()) | set(sample.labels)
    return names


def test_metrics_and_labels_are_ones_a_real_gateway_exports(scraped: dict[str, set[str] | None]) -> None:
    """Every metric in an expression is on a real scrape; every label in a matcher, a grouping or a
    `$labels` template is on that metric's samples (or added by Prometheus)."""
    assert scraped.get("otel_apisec_findings_total") == {"rule_id", "kind", "severity", "service", "route"}  # the scrape is real
    labelled = 0
    for rule in _rules():
        expr, name = rule["expr"], rule["alert"]
        metrics = set(_METRIC.findall(expr))
        assert metrics, f"{name}: uses no otel_apisec metric"
        missing = sorted(metrics - set(scraped))
        assert not missing, f"{name}: {missing} not exported by the gateway (exported: {sorted(scraped)})"
        known = [labels for metric in metrics if (labels := scraped[metric]) is not None]
        if len(known) < len(metrics):
            continue  # a family without samples in this scrape (detector failures): its name is checked
        labels = set().union(*known) | SCRAPE_LABELS
        used = {label for _, label, _, _ in _matchers(expr)}
        used |= {label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label.strip()}
        used |= {label for text in rule["annotations"].values() for label in _TEMPLATE_LABEL.findall(text)}
        assert used <= labels, f"{name}: labels {sorted(used - labels)} are not on {sorted(metrics)} ({sorted(labels)})"
        labelled += 1
    assert labelled >= len(_rules()) - 2  # at most the detector-failure rule goes unchecked for labels
