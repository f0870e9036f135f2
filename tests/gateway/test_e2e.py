"""`otel-apisec gateway` end to end over real sockets: the SDK's own OTLP exporters send to it, it
forwards to an in-test OTLP receiver."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from otel_apisec import attributes as A
from otel_apisec.testing.servers import free_port, gateway_process
from otel_apisec.testing.sink import OtlpSink

pytestmark = pytest.mark.e2e

EXPIRED = jwt.encode({"sub": "gw-user-17", "exp": 1_600_000_000}, "gateway-test-signing-key-0123456789abcdef", algorithm="HS256")
CARD, EMAIL = "4111111111111111", "heidi.gateway@example.com"


@dataclass(frozen=True)
class RunningGateway:
    grpc_url: str
    http_url: str
    metrics_url: str
    findings: Path


@contextmanager
def gateway(sink: OtlpSink, tmp_path: Path, *extra: str) -> Iterator[RunningGateway]:
    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    findings = tmp_path / "findings.jsonl"
    with gateway_process("--grpc-endpoint", f"127.0.0.1:{grpc_port}", "--http-endpoint", f"127.0.0.1:{http_port}",
                         "--forward", sink.endpoint, "--forward-protocol", sink.protocol, "--findings-file", str(findings),
                         "--metrics-endpoint", f"127.0.0.1:{metrics_port}", *extra):
        yield RunningGateway(f"http://127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}",
                             f"http://127.0.0.1:{metrics_port}/metrics", findings)


def api_span(provider: TracerProvider, name: str, attributes: dict[str, object]) -> None:
    with provider.get_tracer("java-like-agent").start_as_current_span(name, kind=SpanKind.SERVER, attributes=attributes):
        pass


@pytest.mark.parametrize("sink_protocol", ["grpc", "http/protobuf"])
def test_spans_from_sdk_exporters_come_out_enriched_and_redacted(sink_protocol: str, tmp_path: Path) -> None:
    with OtlpSink(sink_protocol) as sink, gateway(sink, tmp_path) as running:
        grpc_url, http_url = running.grpc_url, running.http_url
        resource = Resource.create({"service.name": "orders-java"})
        for exporter in (GrpcSpanExporter(endpoint=grpc_url, insecure=True), HttpSpanExporter(endpoint=f"{http_url}/v1/traces")):
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            # Stable semconv and hyphenated header names, as the Java and Node agents write them.
            api_span(provider, "GET /api/orders/{id}", {
                "http.request.method": "GET", "url.scheme": "https", "url.path": "/api/orders/42",
                "url.query": f"card={CARD}", "http.route": "/api/orders/{id}", "http.response.status_code": 401,
                "server.address": "api.example.com", "client.address": "203.0.113.9",
                "http.request.header.authorization": [f"Bearer {EXPIRED}"],
            })
            # Old semconv, underscore header names, as the Python instrumentations write them.
            api_span(provider, "POST /api/profile", {
                "http.method": "POST", "http.scheme": "http", "http.host": "api.example.com",
                "http.target": f"/api/profile?email={EMAIL}", "http.status_code": 200,
                "http.request.header.user_agent": ["curl/8.5"],
            })
            provider.shutdown()
        spans = sink.wait_for_spans(lambda s: A.AUTH_OUTCOME in s.attributes, count=4)
        time.sleep(0.5)
        scrape = urllib.request.urlopen(running.metrics_url, timeout=10).read().decode()
    raw = sink.raw()
    # Each finding event also arrived as an OTLP log record linked to its span.
    events = [(s.trace_id, s.span_id, e.attributes[A.RULE_ID]) for s in spans for e in s.events if e.name == A.FINDING_EVENT]
    finding_logs = [r for r in sink.log_records() if r.event_name == A.FINDING_EVENT]
    assert sorted((r.trace_id, r.span_id, r.attributes[A.RULE_ID]) for r in finding_logs) == sorted(events)
    assert {r.resource["service.name"] for r in finding_logs} == {"orders-java"}
    assert all(r.severity_text and r.severity_number > 0 and r.body for r in finding_logs)
    token_spans = [s for s in spans if s.attributes.get(A.TOKEN_STATE) == "expired"]
    assert len(token_spans) == 2 and all(s.attributes[A.AUTH_OUTCOME] == "failure" for s in token_spans)
    assert all(s.attributes["http.request.header.authorization"] == [A.REDACTED] for s in token_spans)
    pii_spans = [s for s in spans if s.attributes.get(A.PII_DETECTED)]
    assert len(pii_spans) == 4  # the card in one, the email in the other, through each receiver
    assert all(any(e.name == A.FINDING_EVENT for e in s.events) for s in spans)
    for planted in (EXPIRED, CARD, EMAIL):
        assert planted.encode() not in raw
    # The gateway's own Prometheus metrics counted what went through.
    assert 'otel_apisec_gateway_received_items_total{receiver="otlp",signal="traces"} 4.0' in scrape
    assert f'otel_apisec_gateway_exported_items_total{{exporter="otlp"}} {4 + len(finding_logs)}.0' in scrape
    lines = [json.loads(line) for line in running.findings.read_text().splitlines()]
    assert {"rule_id", "kind"} <= set(lines[0]) and any(line["kind"] == "pii.credit_card" for line in lines)


def test_logs_and_metrics_pass_through_redacted(tmp_path: Path) -> None:
    with OtlpSink("grpc") as sink, gateway(sink, tmp_path) as running:
        grpc_url = running.grpc_url
        logs = LoggerProvider()
        logs.add_log_record_processor(SimpleLogRecordProcessor(GrpcLogExporter(endpoint=grpc_url, insecure=True)))
        logs.get_logger("app").emit(body=f"payment failed for card={CARD} password=hunter2hunter2", attributes={"user": EMAIL})
        logs.shutdown()
        reader = PeriodicExportingMetricReader(GrpcMetricExporter(endpoint=grpc_url, insecure=True))
        meters = MeterProvider(metric_readers=[reader])
        meters.get_meter("app").create_counter("orders").add(3, {"route": "/api/orders"})
        meters.shutdown()
        sink.wait_for_metric("orders")
        deadline = time.monotonic() + 10
        while not sink.log_records() and time.monotonic() < deadline:
            time.sleep(0.1)
    (record,) = sink.log_records()
    assert record.body.startswith("payment failed for card=") and CARD not in record.body and "hunter2hunter2" not in record.body
    assert record.attributes["user"] != EMAIL
    assert sink.metric_total("orders", route="/api/orders") == 3


def test_check_config_reports_the_bad_key(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {otlp: {endpoint: http://x:4317, protcol: grpc}}\n"
                      "service: {pipelines: {traces: {receivers: [otlp], exporters: [otlp]}}}\n")
    result = subprocess.run([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--check-config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "exporters.otlp.protcol: unknown option" in result.stderr
    config.write_text(config.read_text().replace("protcol", "protocol"))
    result = subprocess.run([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--check-config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "valid" in result.stdout


def test_backend_outage_and_gateway_restart_lose_nothing_with_the_persistent_queue(tmp_path: Path) -> None:
    """Spans sent while the backend is down survive a gateway restart and arrive once it is up."""
    sink_port, http_port = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"receivers: {{otlp: {{protocols: {{http: {{endpoint: 127.0.0.1:{http_port}}}}}}}}}\n"
        "processors: {apisec/enrich: {}, apisec/redact: {}}\n"
        f"exporters: {{otlp: {{endpoint: http://127.0.0.1:{sink_port}, protocol: grpc, storage: {tmp_path / 'queue'}}}}}\n"
        "service:\n  telemetry: {metrics: {address: off}}\n  console: {address: 'off'}\n"
        "  pipelines: {traces: {receivers: [otlp], processors: [apisec/enrich, apisec/redact], exporters: [otlp]}}\n")

    def start() -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--config", str(config)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while "listening" not in (line := process.stderr.readline()):
            assert line or process.poll() is None, "the gateway exited"
        return process

    first = start()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(HttpSpanExporter(endpoint=f"http://127.0.0.1:{http_port}/v1/traces")))
    for i in range(20):
        api_span(provider, f"GET /api/items/{i}", {"http.method": "GET", "http.target": f"/api/items/{i}?card={CARD}",
                                                   "http.status_code": 200})
    provider.shutdown()
    first.send_signal(signal.SIGTERM)  # the backend is still down: the queue stays on disk
    assert first.wait(60) == 0
    assert list((tmp_path / "queue").iterdir()), "the undelivered requests are on disk"

    with OtlpSink("grpc", port=sink_port) as sink:  # the backend comes up where the gateway forwards
        second = start()
        try:
            spans = sink.wait_for_spans(lambda s: s.name.startswith("GET /api/items/"), count=20, timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(60)
    assert sorted(int(s.name.rsplit("/", 1)[1]) for s in spans) == list(range(20))
    assert all(s.attributes[A.PII_DETECTED] for s in spans) and CARD.encode() not in sink.raw()
