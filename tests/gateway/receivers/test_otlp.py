"""The gateway's OTLP receivers over real sockets: the SDK's own exporters, raw HTTP and raw gRPC calls."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_apisec.gateway.api import QueueFullError, Request, Signal
from otel_apisec.gateway.receivers.otlp.base import parse_endpoint
from otel_apisec.gateway.receivers.otlp.grpc import GrpcReceiver
from otel_apisec.gateway.receivers.otlp.http import HttpReceiver
from otel_apisec.gateway.receivers.otlp.json import parse_json_request, to_json
from otel_apisec.testing.sink import decode_attributes

TRACE_ID_HEX = "5b8efff798038103d269b633813fc60c"
SPAN_ID_HEX = "eee19b7ec3c1b174"
GARBAGE_PROTOBUF = b"\xff" * 16  # wire type 7 does not exist
EXPORT_TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class Recorder:
    """A Consumer that records what it is given; `fail(attempt)` may return an exception to raise instead."""

    def __init__(self, fail: Callable[[int], Exception | None] | None = None) -> None:
        self.fail = fail
        self.attempts = 0
        self.calls: list[tuple[Signal, Request]] = []
        self._lock = threading.Lock()

    def consume(self, signal: Signal, request: Request) -> None:
        with self._lock:
            self.attempts += 1
            attempt = self.attempts
        error = self.fail(attempt) if self.fail else None
        if error is not None:
            raise error
        with self._lock:
            self.calls.append((signal, request))

    def of(self, signal: Signal) -> list[Any]:
        return [request for s, request in self.calls if s is signal]

    def spans(self) -> list[trace_pb2.Span]:
        return [span for r in self.of(Signal.TRACES) for rs in r.resource_spans for ss in rs.scope_spans for span in ss.spans]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def http_receiver(recorder: Recorder) -> Iterator[HttpReceiver]:
    with HttpReceiver(recorder, "127.0.0.1:0") as receiver:
        yield receiver


@pytest.fixture
def grpc_receiver(recorder: Recorder) -> Iterator[GrpcReceiver]:
    with GrpcReceiver(recorder, "127.0.0.1:0") as receiver:
        yield receiver


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _request(
    receiver: HttpReceiver, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = receiver.address
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _post_protobuf(
    receiver: HttpReceiver, body: bytes, path: str = "/v1/traces", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    return _request(receiver, "POST", path, body, {"Content-Type": "application/x-protobuf", **headers})


def _trace_request(name: str = "GET /orders", **attributes: str) -> trace_service_pb2.ExportTraceServiceRequest:
    span = trace_pb2.Span(
        trace_id=bytes.fromhex(TRACE_ID_HEX),
        span_id=bytes.fromhex(SPAN_ID_HEX),
        name=name,
        kind=trace_pb2.Span.SPAN_KIND_SERVER,
        attributes=[KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in attributes.items()],
    )
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.append(span)
    return request


def _status_body(body: bytes) -> status_pb2.Status:
    return status_pb2.Status.FromString(body)


def _readable_span(name: str = "GET /orders") -> ReadableSpan:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("test").start_as_current_span(name, kind=SpanKind.SERVER, attributes={"url.path": "/orders"}):
        pass
    provider.shutdown()
    (span,) = memory.get_finished_spans()
    return span


def _send_all_signals_with_sdk(protocol: str, address: tuple[str, int], gzip_on: bool, headers: dict[str, str]) -> None:
    """The real SDK pipeline for each signal: provider -> processor/reader -> OTLP exporter -> the receiver."""
    host, port = address
    if protocol == "grpc":
        common: dict[str, Any] = {"endpoint": f"{host}:{port}", "insecure": True, "headers": headers}
        common["compression"] = grpc.Compression.Gzip if gzip_on else grpc.Compression.NoCompression
        span_exporter, metric_exporter, log_exporter = (
            GrpcSpanExporter(**common),
            GrpcMetricExporter(**common),
            GrpcLogExporter(**common),
        )
    else:
        compression = HttpCompression.Gzip if gzip_on else HttpCompression.NoCompression
        base = f"http://{host}:{port}/v1"
        span_exporter = HttpSpanExporter(f"{base}/traces", headers=headers, compression=compression)
        metric_exporter = HttpMetricExporter(f"{base}/metrics", headers=headers, compression=compression)
        log_exporter = HttpLogExporter(f"{base}/logs", headers=headers, compression=compression)
    resource = Resource({"service.name": "checkout"})

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    attributes = {"http.request.method": "GET", "url.path": "/orders", "http.request.header.x_api_key": ("k-123",)}
    with tracer_provider.get_tracer("test").start_as_current_span("GET /orders", kind=SpanKind.SERVER, attributes=attributes):
        pass
    tracer_provider.shutdown()

    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    meter_provider.get_meter("test").create_counter("requests").add(3, {"http.route": "/orders"})
    meter_provider.shutdown()  # the reader's last collection exports

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    logger_provider.get_logger("test").emit(body="order placed", attributes={"order.id": "o-42"}, severity_text="WARN")
    logger_provider.shutdown()


def _assert_all_signals_arrived(recorder: Recorder) -> None:
    (span,) = recorder.spans()
    assert span.name == "GET /orders" and span.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert decode_attributes(span.attributes) == {
        "http.request.method": "GET",
        "url.path": "/orders",
        "http.request.header.x_api_key": ["k-123"],
    }
    (traces,) = recorder.of(Signal.TRACES)
    assert decode_attributes(traces.resource_spans[0].resource.attributes)["service.name"] == "checkout"

    points = [
        (metric.name, decode_attributes(point.attributes), point.as_int)
        for request in recorder.of(Signal.METRICS)
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.sum.data_points
    ]
    assert ("requests", {"http.route": "/orders"}, 3) in points

    records = [
        r for request in recorder.of(Signal.LOGS) for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records
    ]
    assert [(r.body.string_value, decode_attributes(r.attributes), r.severity_text) for r in records] == [
        ("order placed", {"order.id": "o-42"}, "WARN")
    ]


# ---------------------------------------------------------------------------------------------------------------
# The SDK's own exporters


@pytest.mark.parametrize("gzip_on", [False, True], ids=["identity", "gzip"])
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_sdk_exporters_deliver_every_signal(protocol: str, gzip_on: bool, recorder: Recorder) -> None:
    receiver_type = HttpReceiver if protocol == "http" else GrpcReceiver
    with receiver_type(recorder, "127.0.0.1:0", bearer_token="s3cret") as receiver:
        _send_all_signals_with_sdk(protocol, receiver.address, gzip_on, {"authorization": "Bearer s3cret"})
    _assert_all_signals_arrived(recorder)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_sdk_exporter_honours_retry_info_on_queue_full(protocol: str) -> None:
    """The first export is refused with the queue-full answer; the SDK waits as told (not its own 0.8-1.2 s
    first backoff) and the second attempt lands. gRPC carries the exact delay in RetryInfo; HTTP's Retry-After
    is whole seconds."""
    retry_after_s = 0.05 if protocol == "grpc" else 2.0
    recorder = Recorder(fail=lambda attempt: QueueFullError(retry_after_s) if attempt == 1 else None)
    receiver_type = HttpReceiver if protocol == "http" else GrpcReceiver
    with receiver_type(recorder, "127.0.0.1:0") as receiver:
        host, port = receiver.address
        exporter: Any = (
            GrpcSpanExporter(f"{host}:{port}", insecure=True, timeout=10)
            if protocol == "grpc"
            else HttpSpanExporter(f"http://{host}:{port}/v1/traces", timeout=10)
        )
        started = time.monotonic()
        result = exporter.export([_readable_span()])
        elapsed = time.monotonic() - started
        exporter.shutdown()
    assert result is SpanExportResult.SUCCESS
    assert recorder.attempts == 2 and [s.name for s in recorder.spans()] == ["GET /orders"]
    if protocol == "grpc":
        assert elapsed < 0.75
    else:
        assert 1.9 <= elapsed < 4.0


# ---------------------------------------------------------------------------------------------------------------
# OTLP/HTTP: encodings


def test_json_body_with_hex_ids_round_trips(http_receiver: HttpReceiver, recorder: Recorder) -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "node-api"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "@opentelemetry/instrumentation-http"},
                        "spans": [
                            {
                                "traceId": TRACE_ID_HEX.upper(),  # hex, either case, never base64
                                "spanId": SPAN_ID_HEX,
                                "parentSpanId": "",
                                "name": "POST /login",
                                "kind": 2,  # an enum as an int
                                "startTimeUnixNano": "1700000000000000000",  # int64 as a string...
                                "endTimeUnixNano": 1700000000500000000,  # ...or as a number
                                "attributes": [{"key": "http.response.status_code", "value": {"intValue": "401"}}],
                                "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"}],
                                "status": {"code": 2},
                                "someFutureField": {"ignored": True},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    status, headers, body = _request(
        http_receiver, "POST", "/v1/traces", json.dumps(document).encode(), {"Content-Type": "application/json"}
    )
    assert (status, headers["content-type"], json.loads(body)) == (200, "application/json", {})
    (span,) = recorder.spans()
    assert span.trace_id == bytes.fromhex(TRACE_ID_HEX) and span.span_id == bytes.fromhex(SPAN_ID_HEX)
    assert span.parent_span_id == b""
    assert span.links[0].trace_id == bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    assert (span.kind, span.status.code) == (trace_pb2.Span.SPAN_KIND_SERVER, trace_pb2.Status.STATUS_CODE_ERROR)
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (1700000000000000000, 1700000000500000000)
    assert decode_attributes(span.attributes) == {"http.response.status_code": 401}
    # And back: to_json writes the ids as hex again.
    again = json.loads(to_json(Signal.TRACES, recorder.of(Signal.TRACES)[0]))
    out_span = again["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (out_span["traceId"], out_span["spanId"], out_span["kind"]) == (TRACE_ID_HEX, SPAN_ID_HEX, 2)
    assert "parentSpanId" not in out_span and out_span["links"][0]["spanId"] == "b7ad6b7169203331"


def test_json_ids_in_logs_and_metric_exemplars_are_hex() -> None:
    logs = {
        "resourceLogs": [
            {"scopeLogs": [{"logRecords": [{"traceId": TRACE_ID_HEX, "spanId": SPAN_ID_HEX, "body": {"stringValue": "x"}}]}]}
        ]
    }
    request = parse_json_request(Signal.LOGS, json.dumps(logs).encode())
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    assert (record.trace_id.hex(), record.span_id.hex()) == (TRACE_ID_HEX, SPAN_ID_HEX)
    assert json.loads(to_json(Signal.LOGS, request)) == logs

    exemplar = {"traceId": TRACE_ID_HEX, "spanId": SPAN_ID_HEX, "asDouble": 1.5}
    metrics = {
        "resourceMetrics": [
            {"scopeMetrics": [{"metrics": [{"name": "latency", "histogram": {"dataPoints": [{"exemplars": [exemplar]}]}}]}]}
        ]
    }
    request = parse_json_request(Signal.METRICS, json.dumps(metrics).encode())
    parsed = request.resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0].exemplars[0]
    assert (parsed.trace_id.hex(), parsed.span_id.hex(), parsed.as_double) == (TRACE_ID_HEX, SPAN_ID_HEX, 1.5)
    assert json.loads(to_json(Signal.METRICS, request)) == metrics


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "W47/95gDgQPSabYzgT/GDA=="}]}]}]}',
            "traceId must be 32 hex",
        ),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 12}]}]}]}', "spanId must be a hex string"),
        (b'{"resourceSpans": 3}', "resourceSpans"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"resourceSpans": [', "invalid JSON"),
    ],
    ids=["base64-id", "numeric-id", "wrong-shape", "not-an-object", "truncated"],
)
def test_bad_json_gets_400_with_a_json_status(
    http_receiver: HttpReceiver, recorder: Recorder, body: bytes, message_part: str
) -> None:
    status, headers, reply = _request(http_receiver, "POST", "/v1/traces", body, {"Content-Type": "application/json"})
    assert (status, headers["content-type"]) == (400, "application/json")
    rpc_status = json.loads(reply)
    assert rpc_status["code"] == code_pb2.INVALID_ARGUMENT and message_part in rpc_status["message"]
    assert recorder.calls == []


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_protobuf_body(http_receiver: HttpReceiver, recorder: Recorder, encoding: str) -> None:
    raw = _trace_request("GET /compressed", **{"url.path": "/compressed"}).SerializeToString()
    body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    status, headers, reply = _post_protobuf(http_receiver, body, **{"Content-Encoding": encoding})
    assert (status, headers["content-type"], reply) == (200, "application/x-protobuf", b"")
    assert [s.name for s in recorder.spans()] == ["GET /compressed"]


def test_chunked_body(http_receiver: HttpReceiver, recorder: Recorder) -> None:
    """Java's and Node's exporters stream gzip bodies with Transfer-Encoding: chunked."""
    raw = gzip.compress(_trace_request("GET /chunked").SerializeToString())
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(raw[i : i + 7]), raw[i : i + 7]) for i in range(0, len(raw), 7)) + b"0\r\n\r\n"
    host, port = http_receiver.address
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert [s.name for s in recorder.spans()] == ["GET /chunked"]


# ---------------------------------------------------------------------------------------------------------------
# OTLP/HTTP: errors, and the server survives them


def test_garbage_protobuf_gets_400_and_the_server_keeps_answering(http_receiver: HttpReceiver, recorder: Recorder) -> None:
    status, headers, body = _post_protobuf(http_receiver, GARBAGE_PROTOBUF)
    assert (status, headers["content-type"]) == (400, "application/x-protobuf")
    rpc_status = _status_body(body)
    assert rpc_status.code == code_pb2.INVALID_ARGUMENT and "malformed traces protobuf" in rpc_status.message
    assert _post_protobuf(http_receiver, gzip.compress(GARBAGE_PROTOBUF)[:-5], **{"Content-Encoding": "gzip"})[0] == 400
    status, _, _ = _post_protobuf(http_receiver, _trace_request("after the garbage").SerializeToString())
    assert status == 200 and [s.name for s in recorder.spans()] == ["after the garbage"]


def test_oversized_bodies_get_413(recorder: Recorder) -> None:
    limit = 64 * 1024
    with HttpReceiver(recorder, "127.0.0.1:0", max_body_bytes=limit) as receiver:
        status, _, body = _post_protobuf(receiver, b"\x00" * 8_000_000)  # refused on Content-Length, then swallowed
        assert status == 413 and "exceeds" in _status_body(body).message
        # A gzip bomb: 50 MB of zeros in ~50 kB, under the limit. Inflation stops at the limit.
        bomb = gzip.compress(b"\x00" * 50_000_000, compresslevel=9)
        assert len(bomb) < limit
        status, _, body = _post_protobuf(receiver, bomb, **{"Content-Encoding": "gzip"})
        assert status == 413 and f"decompressed body exceeds {limit}" in _status_body(body).message
        # The server is still there.
        assert _post_protobuf(receiver, _trace_request().SerializeToString())[0] == 200
    assert recorder.attempts == 1


def test_routing_and_content_type_errors(http_receiver: HttpReceiver, recorder: Recorder) -> None:
    valid = _trace_request().SerializeToString()
    status, _, body = _post_protobuf(http_receiver, valid, path="/v1/profiles")
    assert status == 404 and "unknown path" in _status_body(body).message
    status, headers, _ = _request(http_receiver, "GET", "/v1/traces")
    assert (status, headers["allow"]) == (405, "POST")
    status, _, body = _request(http_receiver, "POST", "/v1/traces", valid, {"Content-Type": "text/plain"})
    assert status == 415 and "application/x-protobuf or application/json" in json.loads(body)["message"]
    status, _, _ = _post_protobuf(http_receiver, valid, **{"Content-Encoding": "br"})
    assert status == 415
    assert recorder.calls == []


def test_bearer_token_is_required_when_configured(recorder: Recorder) -> None:
    valid = _trace_request().SerializeToString()
    with HttpReceiver(recorder, "127.0.0.1:0", bearer_token="s3cret") as receiver:
        for authorization in (None, "Bearer wrong", "Basic s3cret", "s3cret"):
            headers = {"Authorization": authorization} if authorization else {}
            status, reply_headers, body = _post_protobuf(receiver, valid, **headers)
            assert (status, reply_headers["www-authenticate"]) == (401, 'Bearer realm="otlp"'), authorization
            assert _status_body(body).code == code_pb2.UNAUTHENTICATED
        assert recorder.calls == []
        assert _post_protobuf(receiver, valid, Authorization="bearer s3cret")[0] == 200
        assert _request(receiver, "GET", "/health")[0] == 200  # health checks need no token
    assert len(recorder.calls) == 1


def test_queue_full_gets_429_with_retry_after() -> None:
    recorder = Recorder(fail=lambda attempt: QueueFullError(retry_after_s=2.5))
    with HttpReceiver(recorder, "127.0.0.1:0") as receiver:
        status, headers, body = _post_protobuf(receiver, _trace_request().SerializeToString())
        assert (status, headers["retry-after"]) == (429, "3")
        rpc_status = _status_body(body)
        assert rpc_status.code == code_pb2.RESOURCE_EXHAUSTED
        retry_info = error_details_pb2.RetryInfo()
        assert rpc_status.details[0].Unpack(retry_info) and retry_info.retry_delay.ToTimedelta().total_seconds() == 2.5
        # JSON clients get the same Status in JSON.
        status, headers, body = _request(receiver, "POST", "/v1/logs", b"{}", {"Content-Type": "application/json"})
        assert (status, headers["retry-after"], json.loads(body)["details"][0]["retryDelay"]) == (429, "3", "2.500s")


def test_consumer_bug_gets_500_and_the_server_survives() -> None:
    recorder = Recorder(fail=lambda attempt: RuntimeError("processor bug") if attempt == 1 else None)
    with HttpReceiver(recorder, "127.0.0.1:0") as receiver:
        status, _, body = _post_protobuf(receiver, _trace_request().SerializeToString())
        assert status == 500 and _status_body(body).code == code_pb2.INTERNAL
        assert "processor bug" not in _status_body(body).message  # internals stay in the log
        assert _post_protobuf(receiver, _trace_request("second").SerializeToString())[0] == 200
    assert [s.name for s in recorder.spans()] == ["second"]


def test_health_reports_draining(recorder: Recorder) -> None:
    receiver = HttpReceiver(recorder, "127.0.0.1:0").start()
    address = receiver.address
    try:
        assert _request(receiver, "GET", "/health")[::2] == (200, b"ok\n")
        assert _request(receiver, "POST", "/health")[0] == 405
        receiver.drain()
        assert _request(receiver, "GET", "/health")[::2] == (503, b"draining\n")
        status, headers, _ = _post_protobuf(receiver, _trace_request().SerializeToString())
        assert (status, headers["retry-after"]) == (503, "1")  # senders retry, later or elsewhere
        assert recorder.calls == []
    finally:
        receiver.shutdown()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=2).close()


def test_shutdown_closes_idle_keep_alive_connections(recorder: Recorder) -> None:
    receiver = HttpReceiver(recorder, "127.0.0.1:0").start()
    host, port = receiver.address
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b"ok\n"  # the connection stays open (HTTP/1.1 keep-alive)
    started = time.monotonic()
    receiver.shutdown()
    assert time.monotonic() - started < 2.0
    assert connection.sock is not None and connection.sock.recv(1) == b""  # the server closed it
    connection.close()


def test_busy_ports_fail_at_start(http_receiver: HttpReceiver, grpc_receiver: GrpcReceiver, recorder: Recorder) -> None:
    with pytest.raises(OSError):
        HttpReceiver(recorder, f"127.0.0.1:{http_receiver.address[1]}").start()
    with pytest.raises(OSError):
        GrpcReceiver(recorder, f"127.0.0.1:{grpc_receiver.address[1]}").start()


def test_parse_endpoint() -> None:
    assert parse_endpoint("127.0.0.1:4318") == ("127.0.0.1", 4318)
    assert parse_endpoint("[::1]:0") == ("::1", 0)
    assert parse_endpoint(":4317") == ("", 4317)
    for bad in ("localhost", "host:port", "h:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_endpoint(bad)


# ---------------------------------------------------------------------------------------------------------------
# OTLP/gRPC: errors


def _raw_export(receiver: GrpcReceiver, payload: bytes, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.RpcError:
    host, port = receiver.address
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        export = channel.unary_unary(EXPORT_TRACES, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            export(payload, metadata=metadata, timeout=5)
    return raised.value


def test_grpc_garbage_is_invalid_argument_and_the_server_keeps_answering(grpc_receiver: GrpcReceiver, recorder: Recorder) -> None:
    error = _raw_export(grpc_receiver, GARBAGE_PROTOBUF)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT and "malformed traces protobuf" in error.details()
    host, port = grpc_receiver.address
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(_trace_request("after"), timeout=5)
    assert [s.name for s in recorder.spans()] == ["after"]


def test_grpc_oversized_message_is_refused(recorder: Recorder) -> None:
    with GrpcReceiver(recorder, "127.0.0.1:0", max_message_bytes=4096) as receiver:
        error = _raw_export(receiver, _trace_request(name="x" * 10_000).SerializeToString())
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert recorder.attempts == 0


def test_grpc_bearer_token(recorder: Recorder) -> None:
    payload = _trace_request().SerializeToString()
    with GrpcReceiver(recorder, "127.0.0.1:0", bearer_token="s3cret") as receiver:
        for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", "s3cret"),)):
            error = _raw_export(receiver, payload, metadata)
            assert error.code() is grpc.StatusCode.UNAUTHENTICATED, metadata
        host, port = receiver.address
        with grpc.insecure_channel(f"{host}:{port}") as channel:
            export = channel.unary_unary(EXPORT_TRACES, request_serializer=None, response_deserializer=None)
            assert export(payload, metadata=(("authorization", "Bearer s3cret"),), timeout=5) == b""
    assert recorder.attempts == 1


def test_grpc_queue_full_is_resource_exhausted_with_retry_info() -> None:
    recorder = Recorder(fail=lambda attempt: QueueFullError(retry_after_s=1.5))
    with GrpcReceiver(recorder, "127.0.0.1:0") as receiver:
        error = _raw_export(receiver, _trace_request().SerializeToString())
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(error.trailing_metadata())
    retry_info = error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
    assert retry_info.retry_delay.ToTimedelta().total_seconds() == 1.5
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert status.code == code_pb2.RESOURCE_EXHAUSTED and status.details[0].Is(error_details_pb2.RetryInfo.DESCRIPTOR)


def test_grpc_consumer_bug_is_internal() -> None:
    recorder = Recorder(fail=lambda attempt: ValueError("bug") if attempt == 1 else None)
    with GrpcReceiver(recorder, "127.0.0.1:0") as receiver:
        error = _raw_export(receiver, _trace_request().SerializeToString())
        assert error.code() is grpc.StatusCode.INTERNAL
        host, port = receiver.address
        with grpc.insecure_channel(f"{host}:{port}") as channel:
            trace_service_pb2_grpc.TraceServiceStub(channel).Export(_trace_request("next"), timeout=5)
    assert [s.name for s in recorder.spans()] == ["next"]


# ---------------------------------------------------------------------------------------------------------------
# TLS and mTLS


def _https_health(port: int, cert: Path, client_key: Path | None) -> int:
    context = ssl.create_default_context(cafile=str(cert))
    if client_key is not None:
        context.load_cert_chain(cert, client_key)
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=5)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
def test_http_tls(certificate: tuple[Path, Path], recorder: Recorder, mutual: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    # requests lets these variables override the exporter's own certificate_file (psf/requests#3829).
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if mutual:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cert)
    with HttpReceiver(recorder, "127.0.0.1:0", ssl_context=context) as receiver:
        port = receiver.address[1]
        client_files = {"client_certificate_file": str(cert), "client_key_file": str(key)} if mutual else {}
        exporter = HttpSpanExporter(f"https://localhost:{port}/v1/traces", certificate_file=str(cert), timeout=5, **client_files)
        assert exporter.export([_readable_span("over TLS")]) is SpanExportResult.SUCCESS
        exporter.shutdown()
        if mutual:  # a client without a certificate is turned away at the handshake
            client = ssl.create_default_context(cafile=str(cert))
            with pytest.raises((ssl.SSLError, ConnectionError)):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                    with client.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                        if not tls.recv(100):
                            raise ConnectionError("closed")
        # Plain HTTP on the TLS port fails that one connection only.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
            plain.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = plain.recv(100)
            except ConnectionResetError:
                answer = b""
            assert not answer.startswith(b"HTTP/1.1 200")
        assert _https_health(port, cert, key if mutual else None) == 200  # and the server still serves TLS
    assert [s.name for s in recorder.spans()] == ["over TLS"]


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
def test_grpc_tls(certificate: tuple[Path, Path], recorder: Recorder, mutual: bool) -> None:
    cert, key = (p.read_bytes() for p in certificate)
    server_credentials = grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=cert if mutual else None, require_client_auth=mutual
    )
    with GrpcReceiver(recorder, "127.0.0.1:0", server_credentials=server_credentials) as receiver:
        port = receiver.address[1]
        client_credentials = grpc.ssl_channel_credentials(cert, *((key, cert) if mutual else ()))
        exporter = GrpcSpanExporter(f"localhost:{port}", credentials=client_credentials, insecure=False, timeout=5)
        assert exporter.export([_readable_span("over gRPC TLS")]) is SpanExportResult.SUCCESS
        exporter.shutdown()
    assert [s.name for s in recorder.spans()] == ["over gRPC TLS"]
