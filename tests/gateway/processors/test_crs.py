"""`apisec/crs`: real ModSecurity v3 (PyPI libmodsecurity) running the system's OWASP CRS (Debian's
modsecurity-crs in CI) over spans. Every APISEC-CRS rule fires on a request of its class and not on
a benign one; summaries merge with the native findings; nothing matched is written out; hostile
spans stay bounded; bad config is refused in one line."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_apisec import attributes as A
from otel_apisec.detect.rules.crs import CRS_RULES
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.components.base import BuildContext
from otel_apisec.gateway.components.confmap import ConfigError
from otel_apisec.gateway.processors.crs.config import FACTORY
from otel_apisec.gateway.processors.crs.engine import CrsError, find_rules_dir
from otel_apisec.gateway.processors.enrich.config import FACTORY as ENRICH
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.testing.builders import server_span, trace_request
from otel_apisec.testing.sink import decode_attributes


def _rules_dir() -> Path:
    try:
        import libmodsecurity  # noqa: F401

        return find_rules_dir()
    except (ImportError, CrsError) as error:
        if os.environ.get("CI"):
            raise  # CI installs both (.ci/run, the dev extra): missing there is a failure
        pytest.skip(f"no ModSecurity or CRS here: {error}")


@pytest.fixture(scope="module")
def rules_dir() -> Path:
    return _rules_dir()


@pytest.fixture(scope="module")
def crs(rules_dir: Path) -> Any:
    return _build()


def _build(**options: Any) -> Any:
    tally = SecurityTally()
    return FACTORY.create(FACTORY.config("processors.apisec/crs", options), BuildContext("apisec/crs", tally)).impl


def _installed_ids(rules_dir: Path) -> set[int]:
    ids: set[int] = set()
    for path in rules_dir.glob("*.conf"):
        text = path.read_text(errors="replace")
        at = text.find('"id:')
        while at >= 0:
            digits = text[at + 4: at + 11].split(",")[0]
            if digits.isdigit():
                ids.add(int(digits))
            at = text.find('"id:', at + 1)
    return ids


BASE: dict[str, Any] = {
    "http.request.method": "GET", "url.scheme": "https", "url.path": "/api/products", "server.address": "shop.example",
    "http.response.status_code": 200, "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "http.request.header.accept": ["application/json"],
}


def span_of(**attributes: Any) -> Any:
    return server_span({**BASE, **attributes})


def run(processor: Any, *spans: Any) -> list[Any]:
    request = trace_request(*spans)
    out = processor.process(Signal.TRACES, request)
    assert out is request
    return list(request.resource_spans[0].scope_spans[0].spans)


def rule_ids(span: Any) -> set[str]:
    return {decode_attributes(e.attributes)[A.RULE_ID] for e in span.events if e.name == A.FINDING_EVENT}


# rule -> (CRS IDs that must be installed, span attributes that fire it, benign attributes of the same shape)
CASES: dict[str, tuple[tuple[int, ...], dict[str, Any], dict[str, Any]]] = {
    "APISEC-CRS-001": ((913100,), {"user_agent.original": "sqlmap/1.8.4#stable (https://sqlmap.org)"},
                       {"user_agent.original": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15"}),
    "APISEC-CRS-002": ((920270,), {"url.query": "q=ab%00cd"}, {"url.query": "q=abcd"}),
    "APISEC-CRS-003": ((921130,), {"url.query": "lang=en%0d%0aContent-Length:%200%0d%0a%0d%0aHTTP/1.1%20200%20OK"},
                       {"url.query": "lang=en-GB"}),
    "APISEC-CRS-004": ((930100,), {"url.query": "file=..%2f..%2f..%2fetc%2fshadow"}, {"url.query": "file=report-2024.pdf"}),
    "APISEC-CRS-005": ((930130,), {"url.path": "/.env"}, {"url.path": "/environment/status"}),
    "APISEC-CRS-006": ((931100,), {"url.query": "page=http://198.51.100.7/shell.txt?"},
                       {"url.query": "page=welcome"}),
    "APISEC-CRS-007": ((932100, 932160), {"url.query": "host=example.com;cat%20/etc/passwd"},
                       {"url.query": "host=example.com"}),
    "APISEC-CRS-008": ((933100,), {"url.query": "tpl=%3C%3Fphp%20system(%24_GET%5Bc%5D)%3B%20%3F%3E"},
                       {"url.query": "tpl=invoice-modern"}),
    "APISEC-CRS-009": ((934100,), {"url.query": "profile=_$$ND_FUNC$$_function(){require('child_process')}()"},
                       {"url.query": "profile=compact"}),
    "APISEC-CRS-010": ((934130,), {"url.query": "__proto__%5Badmin%5D=true"}, {"url.query": "proto=https"}),
    "APISEC-CRS-011": ((941100,), {"url.query": "q=%3Cscript%3Ealert(document.domain)%3C%2Fscript%3E"},
                       {"url.query": "q=script%20writing%20tips"}),
    "APISEC-CRS-012": ((942100,), {"url.query": "id=1%27%20or%201%3D1--%20-"}, {"url.query": "q=O%27Reilly%20books"}),
    "APISEC-CRS-013": ((943120,), {"url.query": "jsessionid=2F4B8C0D"}, {"url.query": "session=evening"}),
    "APISEC-CRS-014": ((944110,), {"url.query": "c=java.lang.Runtime.getRuntime().exec(%27id%27)"},
                       {"url.query": "c=java%20tutorial"}),
    "APISEC-CRS-015": ((951230,), {
        "http.response.body": "<html>You have an error in your SQL syntax; check the manual that corresponds to your "
                              "MySQL server version for the right syntax</html>",
        "http.response.header.content_type": ["text/html"]},
        {"http.response.body": "<html><p>Your order has shipped.</p></html>",
         "http.response.header.content_type": ["text/html"]}),
    "APISEC-CRS-016": ((955100,), {
        "http.response.body": "<html><title>r57 Shell Version 1.50</title></html>",
        "http.response.header.content_type": ["text/html"]},
        {"http.response.body": "<html><title>Shell Oil annual report</title></html>",
         "http.response.header.content_type": ["text/html"]}),
    "APISEC-CRS-017": ((921200,), {"url.query": "user=*)(uid%3D*))(%7C(uid%3D*"}, {"url.query": "user=alice"}),
}


def test_every_crs_rule_has_a_case() -> None:
    assert set(CASES) == {rule.id for rule in CRS_RULES}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_its_class_and_not_on_benign(rule_id: str, crs: Any, rules_dir: Path) -> None:
    needed, firing, benign = CASES[rule_id]
    missing = set(needed) - _installed_ids(rules_dir)
    if missing:
        pytest.skip(f"the installed CRS has no rule {sorted(missing)} (CRS v4 only)")
    fired, quiet = run(crs, span_of(**firing), span_of(**benign))
    assert rule_id in rule_ids(fired), decode_attributes(fired.attributes).get(A.CRS_RULE_IDS)
    crs_ids = decode_attributes(fired.attributes)[A.CRS_RULE_IDS]
    assert set(needed) & set(crs_ids)
    assert rule_id not in rule_ids(quiet)


def test_findings_merge_into_the_enriched_summary_and_hold_no_matched_text(crs: Any) -> None:
    enrich = ENRICH.create(ENRICH.config("processors.apisec/enrich", {}), BuildContext("apisec/enrich", SecurityTally()))
    payload = "1' or 1=1-- -"
    span = span_of(**{"url.query": "id=1%27%20or%201%3D1--%20-&email=ann.lee%40example.org",
                      "http.request.header.x_probe": ["() { :; }; /bin/cat /etc/passwd"]})
    request = trace_request(span)
    enrich.impl.process(Signal.TRACES, request)
    crs.process(Signal.TRACES, request)
    out = request.resource_spans[0].scope_spans[0].spans[0]
    attributes = decode_attributes(out.attributes)
    findings = attributes[A.FINDINGS]
    assert "APISEC-INJ-001" in findings and "APISEC-CRS-012" in findings  # native and CRS side by side
    assert "sqli" in attributes[A.ATTACK_TYPES] and attributes[A.ATTACK_DETECTED] is True
    assert attributes[A.SEVERITY_MAX] == "critical" and attributes[A.RISK_SCORE] >= 90
    assert attributes[A.CRS_ANOMALY_SCORE] >= 5
    assert sum(1 for kv in out.attributes if kv.key == A.FINDINGS) == 1  # replaced in place, not appended
    crs_events = [decode_attributes(e.attributes) for e in out.events
                  if decode_attributes(e.attributes)[A.RULE_ID].startswith("APISEC-CRS-")]
    assert {e[A.FINDING_LOCATION] for e in crs_events} >= {"request.query.id"}
    added = repr(crs_events) + repr(attributes[A.CRS_RULE_IDS])
    for planted in (payload, "or 1=1", "/etc/passwd", "ann.lee", "example.org"):
        assert planted not in added


def test_findings_are_counted_for_the_metrics(rules_dir: Path) -> None:
    processor = _build()
    run(processor, span_of(**{"url.query": "id=1%27%20or%201%3D1--%20-"}), span_of())
    families = repr(processor.tally.findings.snapshot())
    assert "APISEC-CRS-012" in families
    assert processor.stats()["spans_inspected"] == 2 and processor.stats()["spans_matched"] == 1


def test_removed_rules_are_off(rules_dir: Path) -> None:
    processor = _build(removed_rules=[942100])
    (out,) = run(processor, span_of(**{"url.query": "id=1%27%20or%201%3D1--%20-"}))
    assert 942100 not in decode_attributes(out.attributes).get(A.CRS_RULE_IDS, [])


def test_a_crs_setup_file_is_loaded_before_the_rules(tmp_path: Path, rules_dir: Path) -> None:
    setup = tmp_path / "crs-setup.conf"
    setup.write_text('SecAction "id:900100,phase:1,pass,nolog,t:none,setvar:tx.critical_anomaly_score=7"\n')
    (out,) = run(_build(setup_file=str(setup)), span_of(**{"url.query": "id=1%27%20or%201%3D1--%20-"}))
    assert "APISEC-CRS-012" in rule_ids(out)
    setup.write_text('SecAction "id:900100,phase:1,pass,nolog,setvar:tx.x=1,no_such_action"\n')
    with pytest.raises(ConfigError, match="crs-setup.conf: ModSecurity cannot load it"):
        _build(setup_file=str(setup))


def test_absence_of_headers_a_span_did_not_capture_is_not_a_finding(crs: Any) -> None:
    (out,) = run(crs, server_span({"http.request.method": "POST", "url.path": "/api/orders",
                                   "http.response.status_code": 201, "server.address": "shop.example"}))
    assert not rule_ids(out)


def test_non_http_spans_pass_untouched(crs: Any) -> None:
    span = server_span({"rpc.system": "grpc", "rpc.method": "Get"})
    before = span.SerializeToString()
    (out,) = run(crs, span)
    assert out.SerializeToString() == before


def test_bad_config_is_refused_in_one_line(tmp_path: Path, rules_dir: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        FACTORY.config("processors.apisec/crs", {"rules_dir": str(tmp_path / "nowhere")})
    empty = tmp_path / "rules"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no \\*.conf rule files"):
        _build(rules_dir=str(empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "REQUEST-999-BROKEN.conf").write_text('SecRule ARGS "@rx x" "id:1,phase:2,nonsense_action"\n')
    with pytest.raises(ConfigError, match="REQUEST-999-BROKEN.conf: ModSecurity cannot load it"):
        _build(rules_dir=str(broken))
    with pytest.raises(ConfigError, match="paranoia_level"):
        FACTORY.config("processors.apisec/crs", {"paranoia_level": 5})


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=2000)
_value = st.one_of(_text, st.binary(max_size=2000), st.integers(-(2**63), 2**63 - 1), st.booleans(), st.lists(_text, max_size=3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["url.path", "url.query", "http.target", "url.full", "http.request.body",
                                        "http.response.body", "http.request.header.content_type",
                                        "http.request.header.cookie", "user_agent.original", "http.request.method",
                                        "http.response.status_code", "server.address"]), _value, max_size=8))
def test_hostile_spans_are_bounded_and_normal_ones_still_served(crs: Any, attributes: dict[str, Any]) -> None:
    started = time.perf_counter()
    run(crs, server_span({**BASE, **attributes}))
    assert time.perf_counter() - started < 2.0
    (normal,) = run(crs, span_of(**{"url.query": "id=1%27%20or%201%3D1--%20-"}))
    assert "APISEC-CRS-012" in rule_ids(normal)


def test_matches_on_bytes_that_are_not_utf8_are_reported(crs: Any) -> None:
    """ModSecurity cuts long log data at a byte count, inside a multi-byte character: the binding
    then raises on reading it. The match is still reported (at `request`)."""
    (out,) = run(crs, span_of(**{"url.query": "q=" + quote("<script>alert(1)</script>" + "\u00bc" * 2000)}))
    assert "APISEC-CRS-011" in rule_ids(out)


@pytest.mark.parametrize("body", [
    "a" * 60_000, "(" * 30_000 + ")" * 30_000, "'" + "or " * 20_000, "<" + "a " * 30_000 + ">",
    '{"a":' * 5_000 + "1" + "}" * 5_000, "%" * 60_000, "\\x00" * 15_000,
])
def test_large_and_pathological_bodies_take_bounded_time(crs: Any, body: str) -> None:
    started = time.perf_counter()
    run(crs, span_of(**{"http.request.method": "POST", "http.request.body": body,
                        "http.request.header.content_type": ["application/json"]}))
    assert time.perf_counter() - started < 3.0


PASSWORD, TOKEN = "Tr0ub4dor&3-crs-e2e", "sk_live_51CrsE2eTokenAbcdefghijklmnop"


@pytest.mark.e2e
def test_gateway_with_crs_flag_end_to_end(tmp_path: Path, rules_dir: Path) -> None:
    """`otel-apisec gateway --crs` over real sockets: spans from the SDK's OTLP exporter come out
    with CRS findings beside the native ones, counted in /metrics and the findings file, and
    nothing planted leaves."""
    import json
    import urllib.request

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind

    from otel_apisec.testing.servers import free_port, gateway_process
    from otel_apisec.testing.sink import OtlpSink

    http_port, metrics_port = free_port(), free_port()
    findings = tmp_path / "findings.jsonl"
    body = json.dumps({"user": "ann", "password": PASSWORD, "note": "x; cat /etc/passwd", "api_key": TOKEN})
    with OtlpSink("http/protobuf") as sink, gateway_process(
        "--grpc-endpoint", f"127.0.0.1:{free_port()}", "--http-endpoint", f"127.0.0.1:{http_port}",
        "--forward", sink.endpoint, "--forward-protocol", sink.protocol, "--findings-file", str(findings),
        "--metrics-endpoint", f"127.0.0.1:{metrics_port}", "--crs", str(rules_dir),
    ):
        provider = TracerProvider(resource=Resource.create({"service.name": "orders-node"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{http_port}/v1/traces")))
        tracer = provider.get_tracer("node-like-agent")
        for name, attributes in (
            ("POST /api/notes", {"http.request.method": "POST", "url.path": "/api/notes", "url.scheme": "https",
                                 "server.address": "api.example.com", "http.response.status_code": 201,
                                 "http.request.header.content-type": ["application/json"], "http.request.body": body}),
            ("GET /api/items", {"http.request.method": "GET", "url.path": "/api/items", "url.scheme": "https",
                                "url.query": "sort=name&page=2", "server.address": "api.example.com",
                                "http.response.status_code": 200}),
        ):
            with tracer.start_as_current_span(name, kind=SpanKind.SERVER, attributes=attributes):
                pass
        provider.shutdown()
        spans = sink.wait_for_spans(lambda s: A.AUTH_OUTCOME in s.attributes, count=2)
        scrape = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    by_name = {s.name: s for s in spans}
    attack = by_name["POST /api/notes"]
    crs_events = [e.attributes for e in attack.event(A.FINDING_EVENT) if e.attributes[A.RULE_ID].startswith("APISEC-CRS")]
    assert any(e[A.RULE_ID] == "APISEC-CRS-007" and e[A.FINDING_LOCATION].startswith("request.body") for e in crs_events)
    assert "APISEC-CRS-007" in attack.attributes[A.FINDINGS] and attack.attributes[A.CRS_ANOMALY_SCORE] >= 5
    assert "command_injection" in attack.attributes[A.ATTACK_TYPES]
    benign = by_name["GET /api/items"]
    assert A.CRS_RULE_IDS not in benign.attributes
    assert any(line.startswith("otel_apisec_findings_total{") and 'rule_id="APISEC-CRS-007"' in line
               for line in scrape.splitlines())
    records = [json.loads(line) for line in findings.read_text().splitlines()]
    assert any(r["rule_id"] == "APISEC-CRS-007" for r in records)
    for planted in (PASSWORD, TOKEN):
        assert planted.encode() not in sink.raw()
        assert planted not in findings.read_text()


def test_crs_before_enrich_is_refused() -> None:
    from otel_apisec.gateway.config import parse_config

    doc = {"receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:0"}}}},
           "processors": {"apisec/crs": {}, "apisec/enrich": {}}, "exporters": {"console": {}},
           "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["apisec/crs", "apisec/enrich"],
                                                "exporters": ["console"]}}}}
    with pytest.raises(ConfigError, match="service.pipelines.traces.processors: apisec/crs must come after apisec/enrich"):
        parse_config(doc)
    doc["service"]["pipelines"]["traces"]["processors"] = ["apisec/enrich", "apisec/crs"]
    assert parse_config(doc).pipelines[0].processors == ("apisec/enrich", "apisec/crs")
