"""Property: no planted secret or PII leaves the gateway, wherever in an OTLP request it sits.

Two levels, the same generated requests (`tests/planted.py`):
- `TestRedactProcessor`: `RedactProcessor.process` in process, many examples, fast;
- `TestGateway`: a real `otel-apisec gateway` (the default pipeline `--forward` builds, with the
  findings file, audit log and OCSF file), started once for the module; each example is POSTed
  over OTLP/HTTP, forwarded to a real OTLP sink, and every byte the sink received (wire bytes,
  every decoded string and bytes field, the JSON form) and every line of every file is searched.
  One round trip per example (tens of milliseconds), so Hypothesis shrinks a failure to the
  smallest request and place that leaks; a final sweep searches everything once more for late
  output (the finding log records the OTLP exporter sends after the spans).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.processors.redact.processor import RedactProcessor
from otel_apisec.testing import key_values
from otel_apisec.testing.servers import free_port, gateway_process
from otel_apisec.testing.sink import OtlpSink
from tests.planted import (
    Plant,
    Planted,
    api_key_plant,
    basic_plant,
    card_plant,
    email_plant,
    jwt_plant,
    leaks,
    message_texts,
    pair_plant,
    requests,
)

_SIGNALS = {"traces": Signal.TRACES, "logs": Signal.LOGS, "metrics": Signal.METRICS}


def _items(signal: str, message: object) -> int:
    """Spans, log records or metric points in a request: redaction never drops any."""
    if isinstance(message, ExportTraceServiceRequest):
        return sum(len(s.spans) for r in message.resource_spans for s in r.scope_spans)
    if isinstance(message, ExportLogsServiceRequest):
        return sum(len(s.log_records) for r in message.resource_logs for s in r.scope_logs)
    assert isinstance(message, ExportMetricsServiceRequest), signal
    return sum(len(getattr(m, m.WhichOneof("data")).data_points)
               for r in message.resource_metrics for s in r.scope_metrics for m in s.metrics)


@pytest.fixture(scope="module")
def processor() -> RedactProcessor:
    return RedactProcessor(value_detectors=True)  # the gateway's default for `apisec/redact`


class TestRedactProcessor:
    @settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(generated=requests())
    def test_no_planted_value_survives_the_processor(self, processor: RedactProcessor, generated: tuple[str, Planted]) -> None:
        """Whatever the signal, place, container and surrounding text, the processed request holds
        no planted value in any form, and still holds every span, record and point."""
        signal, planted = generated
        before = _items(signal, planted.request)
        raw_before = planted.request.SerializeToString()
        assert leaks(planted.secrets, [raw_before]), "the planted values are in the input (the check can fail)"
        out = processor.process(_SIGNALS[signal], planted.request)
        assert out is not None and _items(signal, out) == before > 0
        assert leaks(planted.secrets, [out.SerializeToString(), *message_texts(out)]) == []


# --- the real gateway ---------------------------------------------------------------------------
@dataclass
class _Outputs:
    sink: OtlpSink
    http_url: str
    files: list[Path]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Outputs]:
    folder = tmp_path_factory.mktemp("leak-property")
    files = [folder / "findings.jsonl", folder / "audit.jsonl", folder / "ocsf.jsonl"]
    http_port = free_port()
    with OtlpSink("http/protobuf") as sink, gateway_process(
        "--grpc-endpoint", f"127.0.0.1:{free_port()}", "--http-endpoint", f"127.0.0.1:{http_port}",
        "--forward", sink.endpoint, "--forward-protocol", sink.protocol, "--metrics-endpoint", "off",
        "--findings-file", str(files[0]), "--audit-log", str(files[1]), "--ocsf-file", str(files[2]),
        env={"OTEL_APISEC_HMAC_KEY": "leak-property-key"},
    ):
        yield _Outputs(sink, f"http://127.0.0.1:{http_port}", files)


def _every_leak_request() -> tuple[ExportTraceServiceRequest, list[Plant]]:
    """A server span with every kind of leak: resource values, a JWT in text, a Basic
    credential, a card past 64 KiB, `password=` in attributes and events, secrets in bytes, and an
    email after `/` in the span name (the enrich processor finds the card in its URL: findings)."""
    jwt, basic = jwt_plant(10), basic_plant(10)
    card, long_card, email = card_plant(10, 0), card_plant(11, 0), email_plant(10, 0)
    key, password = api_key_plant(10, 0), pair_plant(10, "password", 0)
    plants = [jwt, basic, card, long_card, email, key, password]
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({
        "service.name": "shop", "host.name": f"build {email.text}", "app.deploy_token": jwt.text,
        "app.billing": f"card {card.text}"}))
    span = resource_spans.scope_spans.add().spans.add(
        trace_id=b"\x0a" * 16, span_id=b"\x0b" * 8, kind=Span.SPAN_KIND_SERVER, name=f"GET /users/{email.text}/x",
        start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_000_010_000_000)
    span.attributes.extend(key_values({
        "http.request.method": "GET", "http.target": f"/users/u-17/x?card={card.text}", "http.status_code": 200,
        "app.note": f"jwt={jwt.text}", "app.upstream": basic.text, "app.dump": "x" * 70_000 + f" {long_card.text}",
        "app.login": f"retry {password.text} ok", "app.blob": f"\x00key {key.text}".encode()}))
    span.events.add(name="login", time_unix_nano=1).attributes.extend(key_values({"detail": f"with {password.text}"}))
    return request, plants


def _finding_logs(message: object) -> bool:
    """The log records the OTLP exporter makes of finding events (`findings_as_logs`)."""
    return isinstance(message, ExportLogsServiceRequest) and any(
        record.event_name == "apisec.finding" for r in message.resource_logs for s in r.scope_logs for record in s.log_records)


def _file_lines(files: list[Path]) -> list[str]:
    return [line for path in files if path.exists() for line in path.read_text(errors="replace").splitlines()]


@pytest.mark.e2e
class TestGateway:
    sent: list[Planted] = []  # every example's request, for the final sweep

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                       HealthCheck.function_scoped_fixture])
    @given(generated=requests())
    def test_no_planted_value_leaves_the_gateway(self, gateway: _Outputs, generated: tuple[str, Planted]) -> None:
        """Each example through the default pipeline: the sink gets every item, no planted value in
        any form, and no finding record, audit line or OCSF event holds one either."""
        signal, planted = generated
        expected = _items(signal, planted.request)
        already = len(gateway.sink.requests(signal))
        lines_before = len(_file_lines(gateway.files))
        response = httpx.post(f"{gateway.http_url}/v1/{signal}", content=planted.request.SerializeToString(),
                              headers={"Content-Type": "application/x-protobuf"}, timeout=30)
        assert response.status_code == 200, response.text
        type(self).sent.append(planted)
        deadline = time.monotonic() + 20
        while True:  # finding log records of earlier traces may arrive in between: not counted
            arrived = gateway.sink.requests(signal)[already:]
            forwarded = sum(_items(signal, r.message) for r in arrived if not _finding_logs(r.message))
            if forwarded >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert forwarded == expected  # forwarded, nothing dropped
        texts = [text for r in arrived for text in (r.raw, *message_texts(r.message))]
        assert leaks(planted.secrets, texts + _file_lines(gateway.files)[lines_before:]) == []

    def test_every_leak_in_one_request(self, gateway: _Outputs) -> None:
        """Every kind of leak, in one request through the default pipeline."""
        request, plants = _every_leak_request()
        already = len(gateway.sink.requests("traces"))
        response = httpx.post(f"{gateway.http_url}/v1/traces", content=request.SerializeToString(),
                              headers={"Content-Type": "application/x-protobuf"}, timeout=30)
        assert response.status_code == 200, response.text
        type(self).sent.append(Planted(request, plants))
        deadline = time.monotonic() + 20
        while len(gateway.sink.requests("traces")) <= already and time.monotonic() < deadline:
            time.sleep(0.01)
        (arrived,) = gateway.sink.requests("traces")[already:]
        (span,) = [s for r in arrived.message.resource_spans for ss in r.scope_spans for s in ss.spans]
        assert span.name == "GET /users/***/x" and any(e.name == "apisec.finding" for e in span.events)
        findings = gateway.files[0].read_text()
        assert '"span_name":"GET /users/***/x"' in findings  # the record was written, from the masked span
        texts = [arrived.raw, *message_texts(arrived.message), *_file_lines(gateway.files)]
        assert leaks({secret for plant in plants for secret in plant.secrets}, texts) == []

    def test_everything_received_and_written_is_clean(self, gateway: _Outputs) -> None:
        """The sweep: all requests the sink received (finding log records included) and every file
        line, against every value planted by every example."""
        sent = type(self).sent
        if not sent:
            pytest.skip("runs after the property test")
        time.sleep(0.5)  # finding log records follow their spans through the exporter's queue
        received = gateway.sink.requests()
        lines = _file_lines(gateway.files)
        assert len(received) >= len(sent) and gateway.sink.spans() and gateway.sink.log_records()
        assert lines and all(path.stat().st_size > 0 for path in gateway.files)  # findings reached every file
        secrets = {secret for planted in sent for secret in planted.secrets}
        assert leaks(secrets, [text for r in received for text in (r.raw, *message_texts(r.message))] + lines) == []
