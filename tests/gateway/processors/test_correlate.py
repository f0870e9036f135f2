"""Cross-request detection end to end: scripted attack traffic, sent by the Python SDK's OTLP exporter
to a real `otel-apisec gateway` process, comes out as findings on the forwarded spans and as
OTLP log records, as alerts at a real webhook receiver and a real Alertmanager, in a hash-chained
audit log that `otel-apisec audit verify` accepts, and as OCSF events. Two gateway replicas that
share a real Redis raise the brute-force alert that one gateway raises, once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from otel_apisec import attributes as A
from otel_apisec.pseudonym import keyed_hash
from otel_apisec.testing.redis import redis_server  # noqa: F401 - the session fixture
from otel_apisec.testing.servers import WebhookRecorder, free_port, gateway_process, run_alertmanager, webhook_recorder
from otel_apisec.testing.sink import OtlpSink, SpanRecord

pytestmark = pytest.mark.e2e

SIGNING_KEY = "correlation-test-signing-key-0123456789"
AUDIT_KEY = "audit-key-for-the-correlation-test"
PASSWORD = "Winter2026!-planted"
MALLORY = jwt.encode({"sub": "mallory-planted", "exp": int(time.time()) + 3600}, SIGNING_KEY, algorithm="HS256")
BOB = jwt.encode({"sub": "bob-planted", "exp": int(time.time()) + 3600}, SIGNING_KEY, algorithm="HS256")
PUBLIC_CLIENTS = ("81.2.69.142", "8.8.8.8")
"""Public addresses are personal data: spans mask them, findings name them by keyed hash."""
PLANTED = (PASSWORD, MALLORY, BOB, "mallory-planted", "bob-planted", *PUBLIC_CLIENTS)
CORRELATE_KEY = "correlate-deployment-key"
# Thresholds lowered so that a test sends tens of spans, not thousands.
THRESHOLDS = {
    "brute_force_client_failures": 5, "brute_force_account_failures": 50, "stuffing_client_accounts": 4,
    "sequential_length": 8, "token_clients": 3, "spike_min_requests": 20, "spike_factor": 5.0,
    "spike_min_active_hours": 3,
}
ABUSE_KINDS = {"abuse.brute_force", "abuse.credential_stuffing", "abuse.enumeration", "abuse.token_reuse",
               "abuse.rate_spike"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    route: str
    status: int
    client: str
    at_ns: int
    token: str | None = None
    body: dict[str, str] | None = None

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "http.request.method": self.method, "url.scheme": "https", "url.path": self.path, "http.route": self.route,
            "http.response.status_code": self.status, "client.address": self.client, "server.address": "shop.example",
        }
        if self.token:
            attributes["http.request.header.authorization"] = [f"Bearer {self.token}"]
        if self.body is not None:
            attributes["http.request.body"] = json.dumps(self.body)
            attributes["http.request.header.content-type"] = ["application/json"]
        return attributes


def attack_traffic(now_ns: int) -> list[Call]:
    minute, hour = 60 * 10**9, 3600 * 10**9
    calls = []
    # Brute force: one client, one account, six wrong passwords.
    calls += [Call("POST", "/api/login", "/api/login", 401, "203.0.113.10", now_ns - minute + i,
                   body={"username": "alice", "password": f"{PASSWORD}{i}"}) for i in range(6)]
    # Credential stuffing: one client, a different account each time.
    calls += [Call("POST", "/api/login", "/api/login", 401, "203.0.113.20", now_ns - minute + i,
                   body={"username": f"user{i}", "password": PASSWORD}) for i in range(5)]
    # An ID walk: one principal reading orders 100, 101, ... in turn.
    calls += [Call("GET", f"/api/orders/{100 + i}", "/api/orders/{id}", 200, "198.51.100.30", now_ns - minute + i,
                   token=MALLORY) for i in range(10)]
    # Token reuse: one token from four addresses (two of them in other countries).
    calls += [Call("GET", "/api/profile", "/api/profile", 200, client, now_ns - minute + i, token=BOB)
              for i, client in enumerate((*PUBLIC_CLIENTS, "198.51.100.40", "198.51.100.41"))]
    # A spike: a quiet client for four hours, then a burst.
    calls += [Call("GET", "/api/catalog", "/api/catalog", 200, "192.0.2.77", now_ns - 4 * hour + i * 30 * minute)
              for i in range(8)]
    calls += [Call("GET", "/api/catalog", "/api/catalog", 200, "192.0.2.77", now_ns - minute + i) for i in range(30)]
    return calls


def send(endpoint: str, calls: list[Call]) -> None:
    """Each call as an HTTP server span, with its own timestamps, through the SDK's gRPC exporter."""
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(BatchSpanProcessor(GrpcSpanExporter(endpoint=endpoint, insecure=True), max_export_batch_size=64))
    tracer = provider.get_tracer("java-like-agent")
    for call in calls:
        span = tracer.start_span(f"{call.method} {call.route}", kind=SpanKind.SERVER, attributes=call.attributes(),
                                 start_time=call.at_ns - 2_000_000)
        span.end(end_time=call.at_ns)
    provider.shutdown()


@dataclass(frozen=True)
class Endpoints:
    grpc: str
    metrics: str


@contextmanager
def gateway(config: dict[str, Any], tmp_path: Path, name: str = "gateway") -> Iterator[Endpoints]:
    grpc_port, metrics_port = free_port(), free_port()
    config = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}}},
        **config,
        "service": {"telemetry": {"metrics": {"address": f"127.0.0.1:{metrics_port}"}}, "pipelines": {
            "traces": {"receivers": ["otlp"], "processors": ["apisec/enrich", "apisec/correlate", "apisec/redact"],
                       "exporters": list(config["exporters"])},
            "metrics": {"receivers": ["otlp"], "exporters": ["otlp"]},
        }},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    with gateway_process("--config", str(path), env={"OTEL_APISEC_AUDIT_KEY": AUDIT_KEY}):
        yield Endpoints(f"http://127.0.0.1:{grpc_port}", f"http://127.0.0.1:{metrics_port}/metrics")


def abuse_events(spans: list[SpanRecord]) -> list[tuple[SpanRecord, dict[str, Any]]]:
    return [(s, e.attributes) for s in spans for e in s.events
            if e.name == A.FINDING_EVENT and str(e.attributes[A.FINDING_KIND]).startswith("abuse.")]


def audit_verify(audit: Path) -> subprocess.CompletedProcess[str]:
    """`otel-apisec audit verify` on the gateway's audit log, with its key, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "otel_apisec", "audit", "verify", str(audit)], capture_output=True,
                          text=True, env={"OTEL_APISEC_AUDIT_KEY": AUDIT_KEY, "PATH": "/usr/bin:/bin"}, timeout=60)


def webhook_alerts(recorder: WebhookRecorder) -> list[dict[str, Any]]:
    return [alert for request in recorder.requests for alert in (request.body or {}).get("alerts", [])]


def test_attack_traffic_raises_findings_alerts_audit_and_ocsf(tmp_path: Path) -> None:
    audit, ocsf = tmp_path / "audit.jsonl", tmp_path / "ocsf.jsonl"
    with OtlpSink("grpc") as sink, webhook_recorder() as hook, webhook_recorder() as am_hook, \
            run_alertmanager(tmp_path, am_hook.url) as alertmanager:
        config = {
            "processors": {"apisec/enrich": {"hmac_key": "test-deployment-key"},
                           "apisec/correlate": {**THRESHOLDS, "hmac_key": CORRELATE_KEY}, "apisec/redact": {}},
            "exporters": {
                "otlp": {"endpoint": sink.endpoint, "protocol": "grpc"},
                "apisec/alerts": {"receivers": [{"type": "webhook", "url": hook.url},
                                                {"type": "alertmanager", "url": alertmanager.url}]},
                "apisec/audit": {"path": str(audit), "min_severity": "high"},
                "apisec/ocsf": {"path": str(ocsf)},
            },
        }
        with gateway(config, tmp_path) as running:
            sent_at = time.monotonic()
            send(running.grpc, attack_traffic(time.time_ns()))
            spans = sink.wait_for_spans(lambda s: A.AUTH_OUTCOME in s.attributes, count=63)
            found = {attrs[A.FINDING_KIND] for _, attrs in abuse_events(spans)}
            assert found == ABUSE_KINDS, found
            # Alerts reach the webhook, one per incident, within 2 s of the spans' arrival.
            hook.wait_for(lambda _: {a["rule"]["kind"] for a in webhook_alerts(hook)} >= ABUSE_KINDS, timeout_s=10)
            assert time.monotonic() - sent_at < 10
            # ... and Alertmanager, which forwards them to its own receiver.
            deadline = time.monotonic() + 10
            while {a["labels"]["alertname"] for a in alertmanager.alerts()} < ABUSE_KINDS and time.monotonic() < deadline:
                time.sleep(0.1)
            listed = {a["labels"]["alertname"] for a in alertmanager.alerts()}
            assert listed >= ABUSE_KINDS, alertmanager.describe()
            am_hook.wait_for(lambda requests: any(r.body and r.body.get("alerts") for r in requests), timeout_s=10)
            scrape = urllib.request.urlopen(running.metrics, timeout=10).read().decode()
        raw = sink.raw()

    # On the spans: each finding names its subject and evidence, never a raw value.
    by_kind = {attrs[A.FINDING_KIND]: (span, attrs) for span, attrs in abuse_events(spans)}
    brute = [attrs for _, attrs in abuse_events(spans) if attrs[A.FINDING_KIND] == "abuse.brute_force"]
    # The brute-force client, and the stuffing client, which also failed five times: by keyed hash.
    clients = {keyed_hash(CORRELATE_KEY.encode(), address): address for address in ("203.0.113.10", "203.0.113.20")}
    assert sorted(clients[f[A.FINDING_SUBJECT_PREFIX + A.CLIENT_PSEUDO_ID]] for f in brute) == sorted(clients.values())
    assert not any(key.startswith(A.FINDING_SUBJECT_PREFIX + "client.address") for f in brute for key in f)
    assert all(f[A.FINDING_LOCATION] == A.CORRELATION_LOCATION and f[A.FINDING_GROUP_KEY] for f in brute)
    assert all(f[A.FINDING_EVIDENCE_PREFIX + "failed_logins"] >= 5 == f[A.FINDING_EVIDENCE_PREFIX + "threshold"] for f in brute)
    reuse_span, reuse = by_kind["abuse.token_reuse"]
    assert reuse[A.FINDING_SUBJECT_PREFIX + A.TOKEN_HASH] == reuse_span.attributes[A.TOKEN_HASH]
    assert {s.attributes.get(A.GEO_COUNTRY) for s in spans if s.attributes.get(A.TOKEN_HASH) == reuse_span.attributes[
        A.TOKEN_HASH]} == {"GB", "US", None}  # the two public addresses, and two in documentation ranges
    # Each fired once: 63 spans, one finding per incident (brute force twice: stuffing's client tried five times).
    assert sorted(attrs[A.FINDING_KIND] for _, attrs in abuse_events(spans)).count("abuse.enumeration") == 1
    # As OTLP log records linked to their spans.
    logs = [r for r in sink.log_records() if r.event_name == A.FINDING_EVENT and r.attributes[A.FINDING_KIND] in ABUSE_KINDS]
    assert {(r.trace_id, r.span_id) for r in logs} == {(s.trace_id, s.span_id) for s, _ in abuse_events(spans)}
    # Deduplicated alerts: one firing alert per incident, not one per span.
    firing = [a for a in webhook_alerts(hook) if a["status"] == "firing" and a["rule"]["kind"] in ABUSE_KINDS]
    assert len(firing) == len(abuse_events(spans))
    # Security metrics on the Prometheus endpoint.
    assert any(line.startswith("otel_apisec_findings_total{") and 'kind="abuse.brute_force"' in line
               for line in scrape.splitlines())
    (active,) = [float(line.split()[-1]) for line in scrape.splitlines() if line.startswith("otel_apisec_alerts_active ")]
    assert active >= len(firing)
    # ... and through the OpenTelemetry metrics API into the metrics pipeline: the gateway's last
    # collection, at shutdown, reached the backend.
    assert sink.metric_total(A.METRIC_FINDINGS, **{A.FINDING_KIND: "abuse.brute_force"}) == len(brute)
    assert sink.metric_total(A.METRIC_AUTH_OUTCOMES, **{A.AUTH_OUTCOME: "failure", A.HTTP_ROUTE: "/api/login"}) == 11
    assert sink.metric_total(A.METRIC_ALERTS_ACTIVE) >= len(firing)
    # The audit trail holds the high findings and the alerts, and verifies with its key.
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {r["kind"] for r in records} >= {"finding", "alert"}
    assert {r["record"]["kind"] for r in records if r["kind"] == "finding"} >= {"abuse.brute_force", "abuse.enumeration"}
    verify = audit_verify(audit)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # OCSF Detection Findings, valid against the packaged schema.
    from otel_apisec.siem.schema import ocsf_schema

    events = [json.loads(line) for line in ocsf.read_text().splitlines()]
    assert {e["class_uid"] for e in events} == {2004}
    schema = ocsf_schema()
    assert [schema.errors(event) for event in events] == [[] for _ in events]
    # Nothing planted left the gateway: not to the backend, the alert receivers, the audit log or the SIEM file.
    outputs = [raw, audit.read_bytes(), ocsf.read_bytes(), *(r.raw for r in hook.requests), *(r.raw for r in am_hook.requests)]
    for planted in PLANTED:
        assert not any(planted.encode() in output for output in outputs), planted


def test_tampering_with_the_audit_trail_is_caught(tmp_path: Path) -> None:
    """The gateway's audit log, edited afterwards, fails `audit verify` at the edited line."""
    audit = tmp_path / "audit.jsonl"
    with OtlpSink("grpc") as sink:
        config = {
            "processors": {"apisec/enrich": {}, "apisec/correlate": THRESHOLDS, "apisec/redact": {}},
            "exporters": {"otlp": {"endpoint": sink.endpoint, "protocol": "grpc"},
                          "apisec/audit": {"path": str(audit), "min_severity": "low"}},
        }
        with gateway(config, tmp_path) as running:
            send(running.grpc, attack_traffic(time.time_ns())[:11])
            sink.wait_for_spans(lambda s: A.AUTH_OUTCOME in s.attributes, count=11)
    lines = audit.read_text().splitlines()
    assert len(lines) > 3
    edited = json.loads(lines[2])
    edited["record"]["severity"] = "info"
    lines[2] = json.dumps(edited, sort_keys=True, separators=(",", ":"))
    audit.write_text("\n".join(lines) + "\n")
    verify = audit_verify(audit)
    assert verify.returncode == 1
    assert f"{audit}:3:" in verify.stdout + verify.stderr


def test_replicas_sharing_redis_raise_the_alert_one_gateway_raises(tmp_path: Path, redis_server: Any) -> None:  # noqa: F811
    """Six failed logins split between two replicas (three each, under the threshold of five on
    either alone) raise one brute-force finding and one alert, as six through one gateway do."""
    calls = attack_traffic(time.time_ns())[:6]
    results = []
    for replicas, store in ((1, "memory"), (2, redis_server.url)):
        with OtlpSink("grpc") as sink, webhook_recorder() as hook:
            config = {
                "processors": {"apisec/enrich": {"hmac_key": "shared-deployment-key"},
                               "apisec/correlate": {**THRESHOLDS, "store": store, "key_prefix": f"t{time.time_ns()}:",
                                                    "hmac_key": CORRELATE_KEY},
                               "apisec/redact": {}},
                "exporters": {"otlp": {"endpoint": sink.endpoint, "protocol": "grpc"},
                              "apisec/alerts": {"receivers": [{"type": "webhook", "url": hook.url}]}},
            }
            with gateway(config, tmp_path, "a") as first, gateway(config, tmp_path, "b") as second:
                targets = [first, second][:replicas]
                for index, call in enumerate(calls):
                    send(targets[index % replicas].grpc, [call])
                spans = sink.wait_for_spans(lambda s: A.AUTH_OUTCOME in s.attributes, count=6)
                hook.wait_for(lambda _: any(a["rule"]["kind"] == "abuse.brute_force" for a in webhook_alerts(hook)))
                time.sleep(0.5)  # a second, duplicate alert would have arrived by now
            findings = [attrs for _, attrs in abuse_events(spans)]
            alerts = [a for a in webhook_alerts(hook) if a["rule"]["kind"] == "abuse.brute_force"]
            results.append(([(f[A.FINDING_KIND], f[A.FINDING_SUBJECT_PREFIX + A.CLIENT_PSEUDO_ID]) for f in findings],
                            [(a["rule"]["id"], a["subject"]) for a in alerts]))
    assert results[0] == results[1]
    assert results[0][0] == [("abuse.brute_force", keyed_hash(CORRELATE_KEY.encode(), "203.0.113.10"))]
    assert len(results[0][1]) == 1


def test_redis_down_costs_correlation_never_the_spans(tmp_path: Path) -> None:
    """With its Redis unreachable, the gateway forwards every span, enriched and masked, and counts
    the calls it could not correlate."""
    with OtlpSink("grpc") as sink:
        config = {
            "processors": {"apisec/enrich": {}, "apisec/redact": {},
                           "apisec/correlate": {**THRESHOLDS, "store": f"redis://127.0.0.1:{free_port()}/0",
                                                "hmac_key": CORRELATE_KEY}},
            "exporters": {"otlp": {"endpoint": sink.endpoint, "protocol": "grpc"}},
        }
        with gateway(config, tmp_path) as running:
            send(running.grpc, attack_traffic(time.time_ns())[:6])
            spans = sink.wait_for_spans(lambda s: A.AUTH_OUTCOME in s.attributes, count=6)
            scrape = urllib.request.urlopen(running.metrics, timeout=10).read().decode()
    assert abuse_events(spans) == []
    assert all(s.attributes[A.AUTH_OUTCOME] == "failure" for s in spans)
    assert PASSWORD.encode() not in sink.raw()
    (errors,) = [float(line.split()[-1]) for line in scrape.splitlines()
                 if line.startswith("otel_apisec_gateway_processor_items_total{")
                 and 'outcome="store_errors"' in line and 'processor="apisec/correlate"' in line]
    assert errors == 6
