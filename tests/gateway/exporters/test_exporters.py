"""The gateway's exporters over real sockets: OTLP forwarding with retries and queues, findings JSONL, console."""

from __future__ import annotations

import base64
import io
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.enrich import finding_events, span_attributes
from otel_apisec.gateway.api import QueueFullError, Signal
from otel_apisec.gateway.exporters.console.exporter import ConsoleExporter
from otel_apisec.gateway.exporters.findings.exporter import FindingsFileExporter
from otel_apisec.gateway.exporters.otlp.exporter import OtlpExporter, count_items
from otel_apisec.gateway.exporters.otlp.queue import BoundedQueue, PersistentQueue
from otel_apisec.gateway.receivers.otlp.grpc import GrpcReceiver
from otel_apisec.gateway.receivers.otlp.http import HttpReceiver
from otel_apisec.gateway.tls import grpc_server_credentials, server_ssl_context
from otel_apisec.testing import key_values, make_exchange
from otel_apisec.testing.sink import OtlpSink

PROTOCOLS = ("http/protobuf", "grpc")
FAST = {"initial_backoff_s": 0.05, "max_backoff_s": 0.2, "timeout_s": 2.0}
REPO = Path(__file__).resolve().parents[3]


# ---------------------------------------------------------------------------------------------------------------
# Requests


_ids = iter(range(1, 1 << 40))


def _span(name: str = "GET /x", **kwargs: Any) -> trace_pb2.Span:
    n = next(_ids)
    start = 1_700_000_000_000_000_000 + n * 1000
    return trace_pb2.Span(trace_id=n.to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), name=name,
                          kind=trace_pb2.Span.SPAN_KIND_SERVER, start_time_unix_nano=start,
                          end_time_unix_nano=start + 12_300_000, **kwargs)


def _traces(spans: int = 3, service: str = "shop") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"service.name": service}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.spans.extend(_span(f"span {i}") for i in range(spans))
    return request


def _metrics() -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="requests")
    metric.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    metric.sum.data_points.add(as_int=7, time_unix_nano=1)
    metric.sum.data_points.add(as_int=8, time_unix_nano=2)
    return request


def _logs() -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.append(
        logs_pb2.LogRecord(body=AnyValue(string_value="hello"), severity_text="INFO"))
    return request


def _span_ids(requests: list[ExportTraceServiceRequest]) -> list[str]:
    return [s.span_id.hex() for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


# ---------------------------------------------------------------------------------------------------------------
# Network helpers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate: Callable[[], bool], timeout: float = 4.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class TcpForwarder:
    """A backend that comes up later on a fixed port: listens on `port`, pipes each connection to `target`."""

    def __init__(self, port: int, target: str) -> None:
        host, target_port = target.removeprefix("http://").rsplit(":", 1)
        self._target = (host, int(target_port))
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(16)
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()
        for s in self._sockets:
            s.close()


@pytest.fixture(params=PROTOCOLS)
def sink(request: pytest.FixtureRequest) -> Iterator[OtlpSink]:
    with OtlpSink(request.param) as started:
        yield started


def _exporter(endpoint: str, protocol: str, **kwargs: Any) -> OtlpExporter:
    return OtlpExporter(endpoint, protocol, **{**FAST, **kwargs})


# ---------------------------------------------------------------------------------------------------------------
# TLS to the backend


class _Recorder:
    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []

    def consume(self, signal: Signal, request: Any) -> None:
        self.traces.append(request)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
def test_tls_to_the_backend(certificate: tuple[Path, Path], protocol: str, mutual: bool) -> None:
    """`tls.ca_file` trusts a private CA; `cert_file`/`key_file` answer a backend that requires client
    certificates. The backend is the gateway's own receiver with TLS on."""
    cert, key = (str(p) for p in certificate)
    backend_tls = {"cert_file": cert, "key_file": key, **({"client_ca_file": cert} if mutual else {})}
    recorder = _Recorder()
    if protocol == "grpc":
        receiver: Any = GrpcReceiver(recorder, "127.0.0.1:0", server_credentials=grpc_server_credentials(backend_tls))
    else:
        receiver = HttpReceiver(recorder, "127.0.0.1:0", ssl_context=server_ssl_context(backend_tls))
    with receiver:
        endpoint = f"https://localhost:{receiver.address[1]}"
        client_tls = {"ca_file": cert, **({"cert_file": cert, "key_file": key} if mutual else {})}
        exporter = _exporter(endpoint, protocol, tls=client_tls)
        exporter.start()
        exporter.submit(Signal.TRACES, _traces(2))
        exporter.shutdown(5)
        assert exporter.sent == 1 and len(recorder.traces) == 1
        if mutual:  # without the client certificate the backend refuses: nothing is delivered
            refused = _exporter(endpoint, protocol, tls={"ca_file": cert}, max_elapsed_s=0.5)
            refused.start()
            refused.submit(Signal.TRACES, _traces(1))
            refused.shutdown(2)
            assert refused.sent == 0 and refused.dropped == 1
            assert len(recorder.traces) == 1


# ---------------------------------------------------------------------------------------------------------------
# Delivery


class TestDelivery:
    @pytest.mark.parametrize("compression", [None, "gzip"])
    def test_requests_arrive_intact(self, sink: OtlpSink, compression: str | None) -> None:
        """Traces, metrics and logs reach the backend byte for byte, with the configured headers."""
        exporter = _exporter(sink.endpoint, sink.protocol, headers={"X-Tenant": "blue"}, compression=compression)
        exporter.start()
        sent = {Signal.TRACES: _traces(3), Signal.METRICS: _metrics(), Signal.LOGS: _logs()}
        for signal, request in sent.items():
            exporter.submit(signal, request)
        exporter.shutdown(5)
        for signal, request in sent.items():
            [received] = sink.requests(signal.value)
            assert received.raw == request.SerializeToString()
            assert received.headers["x-tenant"] == "blue"
        assert exporter.stats() | {"queue_bytes": 0} == {
            "sent": 3, "sent_items": 3 + 2 + 1, "retried": 0, "dropped": 0, "dropped_items": 0,
            "rejected_items": 0, "queue_depth": 0, "queue_bytes": 0, "queue_corrupt": 0, "finding_logs_dropped": 0,
        }

    def test_shutdown_drains_the_queue_with_several_senders(self, sink: OtlpSink) -> None:
        """Everything submitted before shutdown is delivered once, by any of the sender threads."""
        exporter = _exporter(sink.endpoint, sink.protocol, workers=3)
        exporter.start()
        requests = [_traces(2) for _ in range(40)]
        for request in requests:
            exporter.submit(Signal.TRACES, request)
        exporter.shutdown(10)
        assert sorted(s.span_id for s in sink.spans()) == sorted(_span_ids(requests))
        assert exporter.sent == 40 and exporter.queue_depth == 0

    def test_credentials_in_the_url_are_sent_as_basic_auth(self, sink: OtlpSink) -> None:
        """The one rule of `otel_apisec.urls`, over HTTP and gRPC: userinfo becomes `Authorization: Basic`."""
        exporter = _exporter(sink.endpoint.replace("://", "://tenant:p%40ss@"), sink.protocol)
        exporter.start()
        exporter.submit(Signal.TRACES, _traces(1))
        exporter.shutdown(5)
        [received] = sink.requests("traces")
        assert received.headers["authorization"] == "Basic " + base64.b64encode(b"tenant:p@ss").decode()

    def test_backend_down_then_up(self, sink: OtlpSink) -> None:
        """Connection refused is retried with backoff until the backend appears on its port."""
        port = _free_port()
        exporter = _exporter(f"http://127.0.0.1:{port}", sink.protocol)
        exporter.start()
        request = _traces(4)
        exporter.submit(Signal.TRACES, request)
        _wait(lambda: exporter.retried >= 2)
        assert sink.spans() == [] and exporter.queue_depth == 1
        forwarder = TcpForwarder(port, sink.endpoint)
        try:
            _wait(lambda: exporter.sent == 1)
        finally:
            exporter.shutdown(2)
            forwarder.close()
        assert sorted(s.span_id for s in sink.spans()) == sorted(_span_ids([request]))
        assert exporter.dropped == 0

    def test_memory_queue_counts_what_shutdown_could_not_send(self) -> None:
        """Backend down: shutdown gives up at its timeout and counts the requests dropped."""
        exporter = _exporter(f"http://127.0.0.1:{_free_port()}", "http/protobuf")
        exporter.start()
        for _ in range(3):
            exporter.submit(Signal.TRACES, _traces(2))
        started = time.monotonic()
        exporter.shutdown(0.4)
        assert time.monotonic() - started < 2.0
        assert (exporter.sent, exporter.dropped, exporter.dropped_items, exporter.queue_depth) == (0, 3, 6, 0)
        assert exporter.retried >= 1
        with pytest.raises(QueueFullError):
            exporter.submit(Signal.TRACES, _traces(1))  # stopped: clients are told to come back


# ---------------------------------------------------------------------------------------------------------------
# A scripted backend: answers from a list, records when each request arrived.


class ScriptedHttp:
    """Answers each POST with the next (status, headers, body) of `script`; the last one repeats."""

    def __init__(self, script: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.script = script
        self.arrivals: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.arrivals.append(time.monotonic())
                status, headers, body = outer.script[min(len(outer.arrivals), len(outer.script)) - 1]
                self.send_response(status)
                for name, value in {"Content-Type": "application/x-protobuf", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ScriptedGrpc(trace_service_pb2_grpc.TraceServiceServicer):
    """Fails each Export with the next (code, retry delay or None) of `script`; None means succeed."""

    def __init__(self, script: list[tuple[grpc.StatusCode, float | None] | None], rich_status: bool = False) -> None:
        self.script = script
        self.rich_status = rich_status  # RetryInfo inside grpc-status-details-bin, as grpcio-status sends it
        self.arrivals: list[float] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        self.endpoint = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.arrivals.append(time.monotonic())
        step = self.script[min(len(self.arrivals), len(self.script)) - 1]
        if step is None:
            return trace_service_pb2.ExportTraceServiceResponse()
        code, delay = step
        if delay is not None:
            info = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=int(delay), nanos=int(delay % 1 * 1e9)))
            if self.rich_status:
                status = status_pb2.Status(code=code.value[0], message="scripted")
                status.details.add().Pack(info)
                context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
            else:
                context.set_trailing_metadata((("google.rpc.retryinfo-bin", info.SerializeToString()),))
        context.abort(code, "scripted")

    def close(self) -> None:
        self.server.stop(None)


class TestFailures:
    @pytest.mark.parametrize("status", [400, 500])
    def test_http_400_and_500_are_dropped_without_retry(self, status: int) -> None:
        """Final answers (the OTLP spec retries neither; see delivery.retry for 500)."""
        backend = ScriptedHttp([(status, {"Content-Type": "text/plain"}, b"bad request")])
        exporter = _exporter(backend.endpoint, "http/protobuf")
        try:
            exporter.start()
            exporter.submit(Signal.TRACES, _traces(5))
            _wait(lambda: exporter.dropped == 1)
            time.sleep(0.3)  # room for a wrong retry to show
        finally:
            exporter.shutdown(2)
            backend.close()
        assert len(backend.arrivals) == 1
        assert (exporter.sent, exporter.retried, exporter.dropped_items, exporter.queue_depth) == (0, 0, 5, 0)

    def test_grpc_invalid_argument_is_dropped_without_retry(self) -> None:
        backend = ScriptedGrpc([(grpc.StatusCode.INVALID_ARGUMENT, None)])
        exporter = _exporter(backend.endpoint, "grpc", signals=frozenset({Signal.TRACES}))
        try:
            exporter.start()
            exporter.submit(Signal.TRACES, _traces(2))
            _wait(lambda: exporter.dropped == 1)
            time.sleep(0.3)
        finally:
            exporter.shutdown(2)
            backend.close()
        assert len(backend.arrivals) == 1 and exporter.retried == 0 and exporter.dropped_items == 2

    def test_http_retry_after_is_honoured(self) -> None:
        """503 with Retry-After: 1 waits a second although the exporter's own backoff is 50 ms."""
        backend = ScriptedHttp([(503, {"Retry-After": "1"}, b""), (429, {}, b""), (200, {}, b"")])
        exporter = _exporter(backend.endpoint, "http/protobuf", max_backoff_s=5)
        try:
            exporter.start()
            exporter.submit(Signal.TRACES, _traces(1))
            _wait(lambda: exporter.sent == 1)
        finally:
            exporter.shutdown(2)
            backend.close()
        first, second, third = backend.arrivals
        assert second - first >= 0.9
        assert third - second < 0.9  # 429 without Retry-After: the exporter's own short backoff
        assert exporter.retried == 2 and exporter.dropped == 0

    @pytest.mark.parametrize("rich_status", [False, True])
    def test_grpc_retry_info_is_honoured(self, rich_status: bool) -> None:
        """RESOURCE_EXHAUSTED with RetryInfo, then UNAVAILABLE: retried as told, then delivered."""
        script = [(grpc.StatusCode.RESOURCE_EXHAUSTED, 0.8), (grpc.StatusCode.UNAVAILABLE, None), None]
        backend = ScriptedGrpc(script, rich_status)
        exporter = _exporter(backend.endpoint, "grpc", max_backoff_s=5)
        try:
            exporter.start()
            exporter.submit(Signal.TRACES, _traces(1))
            _wait(lambda: exporter.sent == 1)
        finally:
            exporter.shutdown(2)
            backend.close()
        first, second, third = backend.arrivals
        assert second - first >= 0.7
        assert third - second < 0.7
        assert exporter.retried == 2

    def test_partial_success_counts_rejected_spans(self) -> None:
        response = trace_service_pb2.ExportTraceServiceResponse()
        response.partial_success.rejected_spans = 2
        response.partial_success.error_message = "too old"
        backend = ScriptedHttp([(200, {}, response.SerializeToString())])
        exporter = _exporter(backend.endpoint, "http/protobuf")
        try:
            exporter.start()
            exporter.submit(Signal.TRACES, _traces(3))
            _wait(lambda: exporter.sent == 1)
        finally:
            exporter.shutdown(2)
            backend.close()
        assert exporter.rejected_items == 2 and exporter.sent_items == 3

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="protocol"):
            OtlpExporter("http://127.0.0.1:1", "http/json")
        with pytest.raises(ValueError, match="endpoint"):
            OtlpExporter("ftp://example.com", "http/protobuf")
        for protocol in PROTOCOLS:  # errors show the safe form of the URL only
            with pytest.raises(ValueError, match="scheme must be") as refused:
                OtlpExporter("ftp://user:s3cret@example.com/p?token=t0k", protocol)
            assert "s3cret" not in str(refused.value) and "t0k" not in str(refused.value)
            with pytest.raises(ValueError, match="credentials both in the URL") as refused:
                OtlpExporter("http://user:s3cret@127.0.0.1:1", protocol, headers={"Authorization": "Bearer x"})
            assert "s3cret" not in str(refused.value)
        exporter = OtlpExporter("127.0.0.1:1", "grpc", signals=frozenset({Signal.LOGS}))
        with pytest.raises(ValueError, match="does not take"):
            exporter.submit(Signal.TRACES, _traces(1))
        exporter.shutdown(0)


# ---------------------------------------------------------------------------------------------------------------
# Queues


class TestBoundedQueue:
    def test_full_by_count(self) -> None:
        exporter = OtlpExporter("http://127.0.0.1:1", "http/protobuf", queue=BoundedQueue(max_items=2, retry_after_s=3))
        exporter.submit(Signal.TRACES, _traces(1))
        exporter.submit(Signal.TRACES, _traces(1))
        with pytest.raises(QueueFullError) as raised:
            exporter.submit(Signal.TRACES, _traces(1))
        assert raised.value.retry_after_s >= 3
        assert exporter.queue_depth == 2
        exporter.shutdown(0)  # never started: both count as dropped
        assert (exporter.dropped, exporter.dropped_items) == (2, 2)

    def test_full_by_bytes_but_an_empty_queue_takes_anything(self) -> None:
        queue = BoundedQueue(max_items=100, max_bytes=1000)
        queue.put(Signal.TRACES, b"x" * 5000)  # larger than the limit: an empty queue still takes it
        with pytest.raises(QueueFullError):
            queue.put(Signal.TRACES, b"y")
        item = queue.get(0)
        assert item is not None and item.payload == b"x" * 5000
        queue.ack(item)
        queue.put(Signal.TRACES, b"z" * 600)
        with pytest.raises(QueueFullError):
            queue.put(Signal.TRACES, b"z" * 600)
        assert queue.depth == 1 and queue.bytes == 600

    def test_oldest_first_and_get_timeout(self) -> None:
        queue = BoundedQueue()
        for payload in (b"a", b"b", b"c"):
            queue.put(Signal.LOGS, payload, 1)
        taken = [queue.get(0) for _ in range(3)]
        assert [item.payload for item in taken if item] == [b"a", b"b", b"c"]
        started = time.monotonic()
        assert queue.get(0.1) is None and time.monotonic() - started >= 0.09


class TestPersistentQueue:
    def test_outage_plus_restart_loses_nothing(self, sink: OtlpSink, tmp_path: Path) -> None:
        """Backend down, gateway stops; a new exporter on the same directory delivers every span exactly once."""
        down = _exporter(f"http://127.0.0.1:{_free_port()}", sink.protocol, queue=PersistentQueue(tmp_path))
        down.start()
        requests = [_traces(3) for _ in range(5)] + [_metrics()]
        for request in requests[:5]:
            down.submit(Signal.TRACES, request)
        down.submit(Signal.METRICS, requests[5])
        _wait(lambda: down.retried >= 1)
        down.shutdown(0.3)
        assert (down.sent, down.dropped) == (0, 0)
        assert len(list(tmp_path.glob("*.otlpq"))) == 6

        up = _exporter(sink.endpoint, sink.protocol, queue=PersistentQueue(tmp_path))
        assert up.queue_depth == 6
        up.start()
        _wait(lambda: up.sent == 6)
        up.shutdown(2)
        received = sorted(s.span_id for s in sink.spans())
        assert received == sorted(_span_ids(requests[:5])) and len(received) == 15
        assert [p.value for p in sink.metric_points()] == [7, 8]
        assert [r.raw for r in sink.requests("traces")] == [r.SerializeToString() for r in requests[:5]]  # oldest first
        assert list(tmp_path.glob("*.otlpq")) == [] and up.sent_items == 17

    def test_a_killed_gateway_loses_nothing(self, tmp_path: Path) -> None:
        """Accepted means on disk: SIGKILL right after submit returns, then a new process delivers everything."""
        port = _free_port()
        script = textwrap.dedent(f"""
            import sys
            from otel_apisec.gateway.api import Signal
            from otel_apisec.gateway.exporters.otlp.exporter import OtlpExporter
            from otel_apisec.gateway.exporters.otlp.queue import PersistentQueue
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
            exporter = OtlpExporter("http://127.0.0.1:{port}", "http/protobuf",
                                    queue=PersistentQueue(sys.argv[1]), initial_backoff_s=0.05)
            exporter.start()
            ids = []
            for n in range(4):
                request = ExportTraceServiceRequest()
                spans = request.resource_spans.add().scope_spans.add().spans
                for i in (2 * n + 1, 2 * n + 2):
                    spans.add(trace_id=i.to_bytes(16, "big"), span_id=i.to_bytes(8, "big"), name="s")
                exporter.submit(Signal.TRACES, request)
                ids += [s.span_id.hex() for s in request.resource_spans[0].scope_spans[0].spans]
            print(" ".join(ids), flush=True)
            sys.stdin.read()
        """)
        child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            expected = child.stdout.readline().split()
        finally:
            child.kill()
            child.wait(5)
        assert len(expected) == 8
        with OtlpSink("http/protobuf") as sink:
            exporter = _exporter(sink.endpoint, "http/protobuf", queue=PersistentQueue(tmp_path))
            exporter.start()
            _wait(lambda: exporter.sent == 4)
            exporter.shutdown(2)
            assert sorted(s.span_id for s in sink.spans()) == sorted(expected)

    def test_corrupt_files_are_moved_aside(self, tmp_path: Path) -> None:
        queue = PersistentQueue(tmp_path, fsync=False)
        for payload in (b"first", b"second", b"third"):
            queue.put(Signal.LOGS, payload, 1)
        queue.close()
        files = sorted(tmp_path.glob("*.otlpq"))
        data = bytearray(files[1].read_bytes())
        data[-1] ^= 0xFF
        files[1].write_bytes(bytes(data))
        (tmp_path / "not-a-queue-file.txt").write_text("?")
        (tmp_path / ".tmp-00000000000000000099.otlpq").write_bytes(b"half written")

        queue = PersistentQueue(tmp_path)
        assert queue.depth == 3 and queue.corrupt == 1  # the odd name at start-up; the bad checksum when read
        taken = [queue.get(0), queue.get(0)]
        assert [item.payload for item in taken if item] == [b"first", b"third"]
        assert queue.get(0) is None and queue.corrupt == 2
        assert sorted(p.name for p in (tmp_path / "corrupt").iterdir()) == sorted([files[1].name, "not-a-queue-file.txt"])
        assert not list(tmp_path.glob(".tmp-*"))
        for item in taken:
            assert item is not None
            queue.ack(item)
        assert queue.depth == 0 and not list(tmp_path.glob("*.otlpq"))
        queue.close()

    def test_full_and_exclusive(self, tmp_path: Path) -> None:
        queue = PersistentQueue(tmp_path, max_bytes=200, fsync=False)
        queue.put(Signal.TRACES, b"a" * 150)
        with pytest.raises(QueueFullError):
            queue.put(Signal.TRACES, b"b" * 150)
        with pytest.raises(RuntimeError, match="in use"):
            PersistentQueue(tmp_path)
        queue.close()
        again = PersistentQueue(tmp_path)  # the lock goes with close
        assert again.depth == 1
        again.close()


# ---------------------------------------------------------------------------------------------------------------
# Findings JSONL and console

ANALYZER = Analyzer(DetectConfig(hmac_key=b"exporters"))


def _enriched_request() -> tuple[ExportTraceServiceRequest, list[dict[str, object]]]:
    """A span enriched as in-process enrichment does it, and the findings `scan` would report for the exchange."""
    analysis = ANALYZER.analyze(make_exchange(
        "https://api.example.com/search?q=1'+OR+'1'='1", response_json={"email": "jane.doe@example.org"}))
    span = _span("GET /search", attributes=key_values({**span_attributes(analysis), "http.route": "/search",
                                                  "http.request.method": "GET"}))
    for name, attributes in finding_events(analysis):
        span.events.add(name=name, time_unix_nano=span.end_time_unix_nano, attributes=key_values(attributes))
    request = _traces(1, service="search-api")
    request.resource_spans[0].scope_spans[0].spans.append(span)
    return request, [finding.to_dict() for finding in analysis.findings]


class TestFindingsFile:
    def test_one_line_per_finding_with_scan_keys(self, tmp_path: Path) -> None:
        path = tmp_path / "out" / "findings.jsonl"
        exporter = FindingsFileExporter(path)
        exporter.start()
        request, expected = _enriched_request()
        assert len(expected) >= 2
        exporter.submit(Signal.TRACES, request)
        exporter.submit(Signal.LOGS, _logs())  # not traces: ignored
        exporter.submit(Signal.TRACES, request)  # appended
        exporter.shutdown()
        lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        assert len(lines) == 2 * len(expected) and exporter.written == len(lines)
        span = request.resource_spans[0].scope_spans[0].spans[-1]
        shared = ("rule_id", "kind", "severity", "owasp", "cwe", "location")
        assert [{k: line[k] for k in shared} for line in lines[: len(expected)]] == [
            {k: finding[k] for k in shared} for finding in expected]
        for line in lines:
            assert line["trace_id"] == span.trace_id.hex() and line["span_id"] == span.span_id.hex()
            assert line["service_name"] == "search-api" and line["span_name"] == "GET /search"
            assert line["route"] == "/search" and line["method"] == "GET"
            assert line["time"].startswith("2023-11-14T") and line["time"].endswith("Z")
        assert {line["kind"] for line in lines} >= {"sqli", "pii.email"}
        assert "jane.doe" not in path.read_text()

    def test_concurrent_writers_never_interleave(self, tmp_path: Path) -> None:
        exporter = FindingsFileExporter(tmp_path / "f.jsonl")
        request, expected = _enriched_request()
        threads = [threading.Thread(target=lambda: [exporter.submit(Signal.TRACES, request) for _ in range(20)])
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        exporter.shutdown()
        lines = (tmp_path / "f.jsonl").read_bytes().splitlines()
        assert len(lines) == 80 * len(expected)
        assert all(orjson.loads(line)["rule_id"] for line in lines)


class TestConsole:
    def test_one_compact_line_per_span(self) -> None:
        stream = io.StringIO()
        exporter = ConsoleExporter(stream)
        request, _ = _enriched_request()
        request.resource_spans[0].scope_spans[0].spans[0].name = "GET /\x1b[2Jevil"
        exporter.submit(Signal.TRACES, request)
        exporter.submit(Signal.METRICS, _metrics())
        exporter.shutdown()
        plain, enriched = stream.getvalue().splitlines()
        assert "\x1b" not in plain and '"GET /\\x1b[2Jevil"' in plain and "risk=" not in plain
        assert enriched.startswith("2023-11-14T") and " search-api SERVER \"GET /search\" UNSET 12.3ms risk=" in enriched
        assert "severity=" in enriched and "APISEC-INJ-001" in enriched


def test_count_items() -> None:
    assert count_items(Signal.TRACES, _traces(4)) == 4
    assert count_items(Signal.METRICS, _metrics()) == 2
    assert count_items(Signal.LOGS, _logs()) == 1
