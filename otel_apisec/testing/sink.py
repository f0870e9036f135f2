"""An OTLP receiver for tests and benchmarks: OTLP/HTTP protobuf and OTLP/gRPC on 127.0.0.1, recording every export.

End-to-end tests point real exporters (in-process or in a subprocess via ``sink.env()``) at it and then
assert on decoded spans, metric points and log records, or on the raw bytes that left the process.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

__all__ = [
    "PROTOCOLS",
    "EventRecord",
    "LogRecordData",
    "MetricPoint",
    "OtlpSink",
    "ReceivedRequest",
    "SpanRecord",
    "decode_any_value",
    "decode_attributes",
]

PROTOCOLS = ("http/protobuf", "grpc")

# Signal name -> (request type, response type); the HTTP paths are /v1/<signal>.
_SIGNALS: dict[str, tuple[type[Message], type[Message]]] = {
    "traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    "metrics": (metrics_service_pb2.ExportMetricsServiceRequest, metrics_service_pb2.ExportMetricsServiceResponse),
    "logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
}


# ---------------------------------------------------------------------------------------------------------------
# Decoded records


@dataclass(frozen=True)
class EventRecord:
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class SpanRecord:
    name: str
    kind: str  # "SERVER", "INTERNAL", "CLIENT", "PRODUCER", "CONSUMER", "UNSPECIFIED"
    trace_id: str  # hex
    span_id: str  # hex
    parent_span_id: str  # hex, "" for a root span
    attributes: dict[str, Any]
    events: list[EventRecord]
    resource: dict[str, Any]
    scope: str
    status_code: str  # "UNSET", "OK", "ERROR"
    status_message: str = ""
    start_time_unix_nano: int = 0
    end_time_unix_nano: int = 0

    def event(self, name: str) -> list[EventRecord]:
        """This span's events called ``name``."""
        return [e for e in self.events if e.name == name]


@dataclass(frozen=True)
class MetricPoint:
    name: str
    attributes: dict[str, Any]
    value: int | float  # sums and gauges: the value; histograms: the count
    kind: str  # "sum", "gauge", "histogram" (exponential histograms are reported as "histogram" too)
    temporality: str = ""  # "cumulative", "delta", or "" for gauges
    time_unix_nano: int = 0
    histogram_sum: float | None = None
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""


@dataclass(frozen=True)
class LogRecordData:
    body: str  # a non-string body is given as str(decoded value)
    attributes: dict[str, Any]
    severity_text: str
    severity_number: int = 0
    trace_id: str = ""
    span_id: str = ""
    event_name: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = ""


@dataclass(frozen=True)
class ReceivedRequest:
    """One export call as it arrived."""

    signal: str  # "traces", "metrics", "logs"
    protocol: str
    message: Message
    raw: bytes  # the body after decompression (gRPC: message.SerializeToString())
    headers: dict[str, str]  # lower-cased names (HTTP headers or gRPC metadata)


def decode_any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [decode_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return decode_attributes(value.kvlist_value.values)
    return getattr(value, kind)


def decode_attributes(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: decode_any_value(kv.value) for kv in attributes}


def _enum_suffix(enum_name: str, prefix: str) -> str:
    return enum_name[len(prefix) :] if enum_name.startswith(prefix) else enum_name


def _decode_spans(request: trace_service_pb2.ExportTraceServiceRequest) -> list[SpanRecord]:
    records = []
    for resource_spans in request.resource_spans:
        resource = decode_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                records.append(
                    SpanRecord(
                        name=span.name,
                        kind=_enum_suffix(trace_pb2.Span.SpanKind.Name(span.kind), "SPAN_KIND_"),
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes=decode_attributes(span.attributes),
                        events=[EventRecord(e.name, decode_attributes(e.attributes)) for e in span.events],
                        resource=resource,
                        scope=scope_spans.scope.name,
                        status_code=_enum_suffix(trace_pb2.Status.StatusCode.Name(span.status.code), "STATUS_CODE_"),
                        status_message=span.status.message,
                        start_time_unix_nano=span.start_time_unix_nano,
                        end_time_unix_nano=span.end_time_unix_nano,
                    )
                )
    return records


def _temporality(value: int) -> str:
    return _enum_suffix(metrics_pb2.AggregationTemporality.Name(value), "AGGREGATION_TEMPORALITY_").lower()


def _number(point: metrics_pb2.NumberDataPoint) -> int | float:
    return point.as_int if point.WhichOneof("value") == "as_int" else point.as_double


def _metric_point(
    metric: metrics_pb2.Metric, point: Any, value: int | float, kind: str, temporality: str, resource: dict[str, Any], scope: str
) -> MetricPoint:
    return MetricPoint(
        name=metric.name,
        attributes=decode_attributes(point.attributes),
        value=value,
        kind=kind,
        temporality=temporality,
        time_unix_nano=point.time_unix_nano,
        histogram_sum=point.sum if kind == "histogram" else None,
        resource=resource,
        scope=scope,
    )


def _decode_metrics(request: metrics_service_pb2.ExportMetricsServiceRequest) -> list[MetricPoint]:
    records = []
    for resource_metrics in request.resource_metrics:
        resource = decode_attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                data = metric.WhichOneof("data")
                if data == "sum":
                    temporality = _temporality(metric.sum.aggregation_temporality)
                    for p in metric.sum.data_points:
                        records.append(_metric_point(metric, p, _number(p), "sum", temporality, resource, scope))
                elif data == "gauge":
                    for p in metric.gauge.data_points:
                        records.append(_metric_point(metric, p, _number(p), "gauge", "", resource, scope))
                elif data in ("histogram", "exponential_histogram"):
                    histogram = getattr(metric, data)
                    temporality = _temporality(histogram.aggregation_temporality)
                    for p in histogram.data_points:
                        records.append(_metric_point(metric, p, p.count, "histogram", temporality, resource, scope))
    return records


def _decode_logs(request: logs_service_pb2.ExportLogsServiceRequest) -> list[LogRecordData]:
    records = []
    for resource_logs in request.resource_logs:
        resource = decode_attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for log in scope_logs.log_records:
                body = decode_any_value(log.body)
                records.append(
                    LogRecordData(
                        body=body if isinstance(body, str) else ("" if body is None else str(body)),
                        attributes=decode_attributes(log.attributes),
                        severity_text=log.severity_text,
                        severity_number=int(log.severity_number),
                        trace_id=log.trace_id.hex(),
                        span_id=log.span_id.hex(),
                        event_name=log.event_name,
                        resource=resource,
                        scope=scope_logs.scope.name,
                    )
                )
    return records


def _series_key(point: MetricPoint) -> tuple[str, str]:
    # Attribute values may be lists (unhashable); repr of the sorted items identifies a series well enough.
    return point.name, repr(sorted(point.attributes.items()))


# ---------------------------------------------------------------------------------------------------------------
# Transports


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's requests.Session expects
    timeout = 30  # an idle keep-alive connection must not hold its thread forever
    server: _HttpServer

    def do_POST(self) -> None:  # http.server's naming
        signal = self.path.split("?", 1)[0].rstrip("/").removeprefix("/v1/")
        body = self._read_body()
        if signal not in _SIGNALS:
            self._reply(404, b"unknown OTLP path", "text/plain")
            return
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/x-protobuf":
            self._reply(415, b"only application/x-protobuf is supported", "text/plain")
            return
        try:
            raw = self._decompress(body)
            request_type, response_type = _SIGNALS[signal]
            message = request_type.FromString(raw)
        except (OSError, EOFError, zlib.error, DecodeError, ValueError) as error:
            self._reply(400, f"bad OTLP body: {error}".encode(), "text/plain")
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.sink._record(signal, message, raw, headers)
        self._reply(200, response_type().SerializeToString(), "application/x-protobuf")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _decompress(self, body: bytes) -> bytes:
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding in ("", "identity"):
            return body
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")

    def _reply(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # overridden signature
        pass  # keep test output clean


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sink: OtlpSink, port: int) -> None:
        self.sink = sink
        super().__init__(("127.0.0.1", port), _HttpHandler)


class _GrpcServicer(
    trace_service_pb2_grpc.TraceServiceServicer,
    metrics_service_pb2_grpc.MetricsServiceServicer,
    logs_service_pb2_grpc.LogsServiceServicer,
):
    def __init__(self, sink: OtlpSink) -> None:
        self._sink = sink

    def _handle(self, signal: str, request: Message, context: grpc.ServicerContext) -> Message:
        headers = {item.key.lower(): str(item.value) for item in context.invocation_metadata()}
        self._sink._record(signal, request, request.SerializeToString(), headers)
        return _SIGNALS[signal][1]()

    def Export(self, request: Message, context: grpc.ServicerContext) -> Message:  # gRPC naming
        # The three services share the method name; the request type tells them apart.
        for signal, (request_type, _) in _SIGNALS.items():
            if isinstance(request, request_type):
                return self._handle(signal, request, context)
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unexpected request {type(request).__name__}")
        raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------------------------
# The sink


class OtlpSink:
    """A real OTLP endpoint on 127.0.0.1 (a free port, or `port`); use as a context manager or start()/stop()."""

    def __init__(self, protocol: str = "http/protobuf", port: int = 0) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
        self.protocol = protocol
        self._port = port
        self.endpoint = ""
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._spans: list[SpanRecord] = []
        self._points: list[MetricPoint] = []
        self._logs: list[LogRecordData] = []
        self._http: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: grpc.Server | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> OtlpSink:
        if self.endpoint:
            return self
        if self.protocol == "grpc":
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-sink-grpc"))
            servicer = _GrpcServicer(self)
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
            metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(servicer, server)
            logs_service_pb2_grpc.add_LogsServiceServicer_to_server(servicer, server)
            port = server.add_insecure_port(f"127.0.0.1:{self._port}")
            if not port:
                raise RuntimeError("gRPC sink could not bind 127.0.0.1")
            server.start()
            self._grpc = server
        else:
            self._http = _HttpServer(self, self._port)
            port = self._http.server_address[1]
            self._http_thread = threading.Thread(
                target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="otlp-sink-http", daemon=True
            )
            self._http_thread.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=1).wait(5)
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            if self._http_thread is not None:
                self._http_thread.join(5)
            self._http = None
            self._http_thread = None
        self.endpoint = ""

    def __enter__(self) -> OtlpSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment for a process (or the SDK's env-driven setup) that should export everything here."""
        if not self.endpoint:
            raise RuntimeError("start the sink before asking for its environment")
        return {
            "OTEL_EXPORTER_OTLP_PROTOCOL": self.protocol,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
        }

    def signal_url(self, signal: str) -> str:
        """The URL to hand an exporter constructor: HTTP exporters need the /v1/<signal> path, gRPC ones do not."""
        if signal not in _SIGNALS:
            raise ValueError(f"signal must be one of {tuple(_SIGNALS)}")
        return f"{self.endpoint}/v1/{signal}" if self.protocol == "http/protobuf" else self.endpoint

    # -- recording -------------------------------------------------------------------------------------------------

    def _record(self, signal: str, message: Message, raw: bytes, headers: dict[str, str]) -> None:
        spans: list[SpanRecord] = []
        points: list[MetricPoint] = []
        logs: list[LogRecordData] = []
        if signal == "traces":
            spans = _decode_spans(message)
        elif signal == "metrics":
            points = _decode_metrics(message)
        else:
            logs = _decode_logs(message)
        with self._lock:
            self._requests.append(ReceivedRequest(signal, self.protocol, message, raw, headers))
            self._spans += spans
            self._points += points
            self._logs += logs

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._spans.clear()
            self._points.clear()
            self._logs.clear()

    # -- reading ---------------------------------------------------------------------------------------------------

    def requests(self, signal: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self._requests if signal is None or r.signal == signal]

    def spans(self) -> list[SpanRecord]:
        with self._lock:
            return list(self._spans)

    def metric_points(self) -> list[MetricPoint]:
        with self._lock:
            return list(self._points)

    def log_records(self) -> list[LogRecordData]:
        with self._lock:
            return list(self._logs)

    def raw(self) -> bytes:
        """Every request body received so far (decompressed), all signals, concatenated in arrival order."""
        with self._lock:
            return b"".join(r.raw for r in self._requests)

    def metric_total(self, name: str, **attribute_filter: Any) -> float:
        """Sum over the series of ``name`` whose attributes include ``attribute_filter`` (dotted keys: pass a dict
        via ``**{"http.route": "/x"}``): cumulative series and gauges count their latest point, delta series the
        sum of their points; histograms count observations."""
        latest: dict[tuple[str, str], MetricPoint] = {}
        delta_total = 0.0
        for point in self.metric_points():
            if point.name != name or any(point.attributes.get(k) != v for k, v in attribute_filter.items()):
                continue
            if point.temporality == "delta":
                delta_total += point.value
                continue
            key = _series_key(point)
            if key not in latest or point.time_unix_nano >= latest[key].time_unix_nano:
                latest[key] = point
        return delta_total + sum(p.value for p in latest.values())

    # -- waiting ---------------------------------------------------------------------------------------------------

    def wait_for_spans(self, predicate: Callable[[SpanRecord], bool], count: int = 1, timeout: float = 30) -> list[SpanRecord]:
        """Poll until at least ``count`` received spans satisfy ``predicate``; return all that do."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            matching = [s for s in spans if predicate(s)]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                got = "\n".join(f"  {s.kind} {s.name!r} {s.attributes}" for s in spans) or "  (none)"
                raise AssertionError(
                    f"wanted {count} matching span(s) within {timeout}s, {len(matching)} matched; received:\n{got}"
                )
            time.sleep(0.05)

    def wait_for_metric(
        self, name: str, predicate: Callable[[MetricPoint], bool] = lambda p: True, timeout: float = 30
    ) -> list[MetricPoint]:
        """Poll until a point of metric ``name`` satisfies ``predicate``; return every such point."""
        deadline = time.monotonic() + timeout
        while True:
            points = self.metric_points()
            matching = [p for p in points if p.name == name and predicate(p)]
            if matching:
                return matching
            if time.monotonic() >= deadline:
                got = "\n".join(f"  {p.kind} {p.name!r} {p.attributes} = {p.value}" for p in points) or "  (none)"
                raise AssertionError(f"no point of metric {name!r} matched within {timeout}s; received:\n{got}")
            time.sleep(0.05)
