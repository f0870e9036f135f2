"""The gateway's exporters: OTLP forwarding (gRPC or HTTP), findings as JSONL, and a console.

`OtlpExporter` forwards each request as it was queued (the serialized bytes, not re-encoded) from
sender thread(s), retrying what the OTLP spec calls retryable with exponential backoff and
jitter, honouring the server's Retry-After / RetryInfo; a request the backend refuses for good
(400, INVALID_ARGUMENT, ...) is dropped and counted. Its queue is a `BoundedQueue` (memory) or a
`PersistentQueue` (disk: a backend outage plus a gateway restart loses nothing).

`FindingsFileExporter` and `ConsoleExporter` write on the submitting thread: a line per finding or
span is microseconds of work into the page cache, and nothing is then left to lose at shutdown.
"""

from __future__ import annotations

import datetime
import email.utils
import gzip
import http.client
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

import grpc
import orjson
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from otel_apisec import attributes as A
from otel_apisec.gateway.api import QueueFullError, Request, Signal
from otel_apisec.gateway.queue import BoundedQueue, PersistentQueue, QueueItem
from otel_apisec.gateway.tls import client_ssl_context, grpc_channel_credentials

__all__ = [
    "ConsoleExporter",
    "FindingsFileExporter",
    "OtlpExporter",
    "count_items",
    "findings_from_request",
]

log = logging.getLogger(__name__)

ALL_SIGNALS = frozenset(Signal)
Protocol = Literal["grpc", "http/protobuf"]

# The OTLP services: gRPC method path and the response type (its partial_success field).
_SERVICES = {
    Signal.TRACES: (trace_service_pb2, "TraceService", trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
    Signal.METRICS: (metrics_service_pb2, "MetricsService", metrics_service_pb2.ExportMetricsServiceResponse,
                     "rejected_data_points"),
    Signal.LOGS: (logs_service_pb2, "LogsService", logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
}
# OTLP spec, "Failures": what a client retries. RESOURCE_EXHAUSTED is retried even without
# RetryInfo: a gateway with a persistent queue prefers waiting to dropping.
_RETRYABLE_GRPC = frozenset({
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
})
_RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
_RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"


def count_items(signal: Signal, request: Request) -> int:
    """Spans, metric data points or log records in a request."""
    if signal is Signal.TRACES:
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)  # type: ignore[union-attr]
    if signal is Signal.LOGS:
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)  # type: ignore[union-attr]
    total = 0
    for rm in request.resource_metrics:  # type: ignore[union-attr]
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                data = metric.WhichOneof("data")
                if data:
                    total += len(getattr(metric, data).data_points)
    return total


# ---------------------------------------------------------------------------------------------
# Transports: one send attempt each, the outcome classified.


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    retryable: bool = False
    retry_after_s: float | None = None
    rejected: int = 0
    error: str = ""


_SENT = _Outcome(True)


def _rejected(signal: Signal, response: Any) -> tuple[int, str]:
    if not response.HasField("partial_success"):
        return 0, ""
    partial = response.partial_success
    return int(getattr(partial, _SERVICES[signal][3])), partial.error_message[:200]


def _retry_after_header(value: str | None) -> float | None:
    """`Retry-After: 5` or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _retry_info(error: grpc.RpcError) -> float | None:
    """The server's RetryInfo delay, as a bare trailer or inside grpc-status-details-bin."""
    try:
        trailers = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 (a failed call may carry no metadata at all)
        return None
    info = error_details_pb2.RetryInfo()
    try:
        if "google.rpc.retryinfo-bin" in trailers:
            info.ParseFromString(trailers["google.rpc.retryinfo-bin"])
        elif "grpc-status-details-bin" in trailers:
            status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
            detail = next((d for d in status.details if d.type_url == _RETRY_INFO_TYPE), None)
            if detail is None:
                return None
            detail.Unpack(info)
        else:
            return None
    except (DecodeError, TypeError, ValueError):
        return None
    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9


class _GrpcTransport:
    """One channel for all sender threads. Requests go out as the queued bytes: the generated
    stubs' method paths with an identity serializer, so nothing is decoded and re-encoded."""

    def __init__(
        self, endpoint: str, headers: Mapping[str, str], compression: str | None, backoff: tuple[float, float],
        tls_files: Mapping[str, str] | None = None,
    ) -> None:
        target, tls = _grpc_target(endpoint)
        options = [
            ("grpc.max_send_message_length", -1),
            # The channel's own reconnect backoff must not outlast ours, or a backend that is back
            # stays "unavailable" to this channel for up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", max(1, int(backoff[0] * 1000))),
            ("grpc.max_reconnect_backoff_ms", max(1, int(backoff[1] * 1000))),
        ]
        if tls:
            self._channel = grpc.secure_channel(target, grpc_channel_credentials(tls_files), options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._metadata = tuple((key.lower(), value) for key, value in headers.items())
        self._compression = grpc.Compression.Gzip if compression == "gzip" else None
        self._calls = {
            signal: self._channel.unary_unary(
                f"/{module.DESCRIPTOR.services_by_name[service].full_name}/Export",
                request_serializer=None,  # bytes as queued
                response_deserializer=response_type.FromString,
            )
            for signal, (module, service, response_type, _) in _SERVICES.items()
        }

    def send(self, signal: Signal, payload: bytes, timeout_s: float) -> _Outcome:
        try:
            response = self._calls[signal](payload, timeout=timeout_s, metadata=self._metadata, compression=self._compression)
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            details = (error.details() or "")[:200]  # type: ignore[attr-defined]
            return _Outcome(False, code in _RETRYABLE_GRPC, _retry_info(error), error=f"gRPC {code.name}: {details}")
        rejected, message = _rejected(signal, response)
        return _Outcome(True, rejected=rejected, error=message) if rejected else _SENT

    def interrupt(self) -> None:
        self._channel.close()  # cancels calls in flight

    def close(self) -> None:
        self._channel.close()


def _grpc_target(endpoint: str) -> tuple[str, bool]:
    """`host:port`, `http://host:port` (plaintext) or `https://host:port` (TLS); port 4317 by default."""
    if "://" not in endpoint:
        endpoint = f"http://{endpoint}"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https", "grpc", "grpcs") or not parts.hostname:
        raise ValueError(f"OTLP gRPC endpoint {endpoint!r}: expected host:port, http://host:port or https://host:port")
    target = parts.netloc.rsplit("@", 1)[-1]
    if parts.port is None:
        target = f"{target}:4317"
    return target, parts.scheme in ("https", "grpcs")


class _HttpTransport:
    """One keep-alive connection per sender thread (http.client connections are not thread-safe)."""

    def __init__(
        self, endpoint: str, headers: Mapping[str, str], compression: str | None, tls_files: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OTLP HTTP endpoint {endpoint!r}: expected http://host:port or https://host:port")
        self._tls = parts.scheme == "https"
        self._ssl_context = client_ssl_context(tls_files) if self._tls else None
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._base = parts.path.rstrip("/")
        self._gzip = compression == "gzip"
        self._headers = {**headers, "Content-Type": "application/x-protobuf"}
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._tls:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout_s, context=self._ssl_context)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)

    def send(self, signal: Signal, payload: bytes, timeout_s: float) -> _Outcome:
        body = gzip.compress(payload, compresslevel=5) if self._gzip else payload
        path = f"{self._base}/v1/{signal.value}"
        for attempt in range(2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._connect(timeout_s)
            else:
                self._conn.timeout = timeout_s
                if self._conn.sock is not None:
                    self._conn.sock.settimeout(timeout_s)
            conn = self._conn
            try:
                conn.request("POST", path, body, self._headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection: once more, on a new one
                return _Outcome(False, True, error=f"{type(error).__name__}: {error}")
            if response.will_close:
                self.close()
            return self._outcome(signal, response, data)
        raise AssertionError("unreachable")

    @staticmethod
    def _outcome(signal: Signal, response: http.client.HTTPResponse, data: bytes) -> _Outcome:
        status = response.status
        if 200 <= status < 300:
            if not data or not response.getheader("Content-Type", "").startswith("application/x-protobuf"):
                return _SENT
            try:
                rejected, message = _rejected(signal, _SERVICES[signal][2].FromString(data))
            except DecodeError:
                return _SENT
            return _Outcome(True, rejected=rejected, error=message) if rejected else _SENT
        text = data[:200].decode("utf-8", "replace")
        retry_after = _retry_after_header(response.getheader("Retry-After"))
        return _Outcome(False, status in _RETRYABLE_HTTP, retry_after, error=f"HTTP {status}: {text}")

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(2)  # wakes a thread blocked reading the response
            except OSError:
                pass

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


# ---------------------------------------------------------------------------------------------
# OTLP exporter


class OtlpExporter:
    """Forwards requests to an OTLP backend from `workers` sender threads.

    Counters (attributes, and `stats()`): `sent`, `retried`, `dropped` count requests (a retry is
    one more attempt); `sent_items`, `dropped_items` and `rejected_items` count spans, data points
    and log records; `queue_depth` is the requests held. With `max_elapsed_s` unset a request is
    retried until it is delivered or the exporter shuts down; `shutdown(timeout_s)` keeps trying
    until the timeout, then leaves the rest on disk (persistent queue) or counts it dropped."""

    def __init__(
        self,
        endpoint: str,
        protocol: Protocol = "grpc",
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        queue: BoundedQueue | PersistentQueue | None = None,
        signals: frozenset[Signal] = ALL_SIGNALS,
        max_backoff_s: float = 30.0,
        initial_backoff_s: float = 1.0,
        max_elapsed_s: float | None = None,
        compression: Literal["gzip"] | None = None,
        workers: int = 1,
        name: str = "otlp",
        tls: Mapping[str, str] | None = None,
    ) -> None:
        if protocol not in ("grpc", "http/protobuf"):
            raise ValueError(f"protocol must be grpc or http/protobuf, not {protocol!r}")
        if compression not in (None, "gzip"):
            raise ValueError(f"compression must be gzip or None, not {compression!r}")
        if timeout_s <= 0 or initial_backoff_s <= 0 or max_backoff_s < initial_backoff_s or workers < 1:
            raise ValueError("timeout_s and initial_backoff_s must be positive, max_backoff_s >= initial_backoff_s, workers >= 1")
        self.name = name
        self.endpoint = endpoint
        self.protocol = protocol
        self.signals = frozenset(Signal(s) for s in signals)
        self.timeout_s = timeout_s
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_elapsed_s = max_elapsed_s
        self.queue = queue if queue is not None else BoundedQueue()
        self._headers = dict(headers or {})
        self._compression = compression
        self._tls = dict(tls) if tls else None
        """ca_file, cert_file, key_file for an https:// endpoint (see gateway/tls.py)."""
        self._workers = workers
        # Built now, so a bad endpoint fails at start-up, not on the first request.
        self._grpc = (
            _GrpcTransport(endpoint, self._headers, compression, (initial_backoff_s, max_backoff_s), tls)
            if protocol == "grpc" else None
        )
        if self._grpc is None:
            _HttpTransport(endpoint, self._headers, compression, tls)
        self._http_transports: list[_HttpTransport] = []
        self._threads: list[threading.Thread] = []
        self._counter_lock = threading.Lock()
        self._lifecycle_lock = threading.Lock()
        self._stopping = False
        self._abort = threading.Event()
        self._deadline: float | None = None
        self._backoff_until = 0.0
        self._failing = False
        self._last_drop_log = 0.0
        self.sent = self.sent_items = 0
        self.retried = 0
        self.dropped = self.dropped_items = 0
        self.rejected_items = 0

    @property
    def queue_depth(self) -> int:
        return self.queue.depth

    def stats(self) -> dict[str, int]:
        return {
            "sent": self.sent, "sent_items": self.sent_items, "retried": self.retried,
            "dropped": self.dropped, "dropped_items": self.dropped_items, "rejected_items": self.rejected_items,
            "queue_depth": self.queue.depth, "queue_bytes": self.queue.bytes, "queue_corrupt": self.queue.corrupt,
        }

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lifecycle_lock:
            if self._threads or self._stopping:
                return
            for index in range(self._workers):
                thread = threading.Thread(target=self._run, name=f"apisec-export-{self.name}-{index}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def submit(self, signal: Signal, request: Request) -> None:
        if signal not in self.signals:
            raise ValueError(f"exporter {self.name} does not take {signal}")
        if self._stopping:
            raise QueueFullError(self._retry_after())
        payload = request.SerializeToString()
        try:
            self.queue.put(signal, payload, count_items(signal, request))
        except QueueFullError:
            raise QueueFullError(self._retry_after()) from None

    def _retry_after(self) -> float:
        """What a refused client should wait: the queue's hint, or longer while the backend is failing."""
        return max(self.queue.retry_after_s, self._backoff_until - time.monotonic())

    def shutdown(self, timeout_s: float = 30.0) -> None:
        with self._lifecycle_lock:
            if self._stopping:
                return
            self._stopping = True
        self._deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, self._deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            self._abort.set()
            for transport in self._transports():
                transport.interrupt()
            for thread in self._threads:
                thread.join(5.0)
        left, left_items = self.queue.close()
        if left and self.queue.persistent:
            log.info("exporter %s: %d request(s) left in %s for the next run", self.name, left, self.queue.directory)  # type: ignore[union-attr]
        elif left:
            with self._counter_lock:
                self.dropped += left
                self.dropped_items += left_items
            log.warning("exporter %s: shutdown timeout, %d request(s) (%d items) dropped", self.name, left, left_items)
        for transport in self._transports():
            transport.close()

    def _transports(self) -> list[_GrpcTransport | _HttpTransport]:
        return [self._grpc] if self._grpc is not None else list(self._http_transports)

    # -- sending --------------------------------------------------------------------------------

    def _run(self) -> None:
        transport: _GrpcTransport | _HttpTransport
        if self._grpc is not None:
            transport = self._grpc
        else:
            transport = _HttpTransport(self.endpoint, self._headers, self._compression, self._tls)
            with self._counter_lock:
                self._http_transports.append(transport)
        while not self._abort.is_set():
            item = self.queue.get(timeout_s=0.1)
            if item is None:
                if self._stopping and not self.queue.pending:
                    return
                continue
            try:
                self._deliver(transport, item)
            except Exception:  # a bug must not kill the sender and silently stall the queue
                log.exception("exporter %s: unexpected error sending a request; it is dropped", self.name)
                self._drop(item, "internal error")

    def _deliver(self, transport: _GrpcTransport | _HttpTransport, item: QueueItem) -> None:
        attempt = 0
        while True:
            timeout = self.timeout_s
            if self._deadline is not None:
                timeout = max(0.05, min(timeout, self._deadline - time.monotonic()))
            outcome = transport.send(item.signal, item.payload, timeout)
            if outcome.ok:
                self._delivered(item, outcome)
                return
            if self._abort.is_set():
                return  # left to queue.close(): kept on disk, or counted dropped
            if not outcome.retryable:
                self._drop(item, outcome.error)
                return
            if self.max_elapsed_s is not None and time.time() - item.enqueued_at > self.max_elapsed_s:
                self._drop(item, f"still failing after {self.max_elapsed_s:g} s: {outcome.error}")
                return
            delay = self._backoff(attempt, outcome.retry_after_s)
            attempt += 1
            with self._counter_lock:
                self.retried += 1
                self._backoff_until = max(self._backoff_until, time.monotonic() + delay)
                first_failure, self._failing = not self._failing, True
            if first_failure:
                log.warning("exporter %s: %s; retrying with backoff", self.name, outcome.error)
            if self._abort.wait(delay):
                return

    def _backoff(self, attempt: int, server_delay: float | None) -> float:
        if server_delay is not None:
            # Honoured, but a server cannot park the exporter longer than max_backoff_s.
            return min(max(server_delay, 0.0), self.max_backoff_s)
        base = min(self.max_backoff_s, self.initial_backoff_s * (2 ** min(attempt, 32)))
        return base * random.uniform(0.5, 1.0)  # jitter: senders that failed together do not retry together

    def _delivered(self, item: QueueItem, outcome: _Outcome) -> None:
        self.queue.ack(item)
        with self._counter_lock:
            self.sent += 1
            self.sent_items += item.items
            self.rejected_items += outcome.rejected
            recovered, self._failing = self._failing, False
        if recovered:
            log.info("exporter %s: delivering again", self.name)
        if outcome.rejected:
            log.warning("exporter %s: backend rejected %d item(s): %s", self.name, outcome.rejected, outcome.error)

    def _drop(self, item: QueueItem, why: str) -> None:
        self.queue.ack(item)
        with self._counter_lock:
            self.dropped += 1
            self.dropped_items += item.items
            now = time.monotonic()
            loud = now - self._last_drop_log > 10.0
            if loud:
                self._last_drop_log = now
        if loud:  # at most one warning per 10 s; the counters have the rest
            log.warning("exporter %s: dropped a %s request (%d items, %d dropped so far): %s",
                        self.name, item.signal.value, item.items, self.dropped, why)


# ---------------------------------------------------------------------------------------------
# Findings as JSONL


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def _attributes(attributes: Any, wanted: frozenset[str] | None = None) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in attributes if wanted is None or kv.key in wanted}


def _iso(unix_nano: int) -> str:
    if not unix_nano:
        return ""
    moment = datetime.datetime.fromtimestamp(unix_nano / 1e9, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _resource_service(attributes: Any) -> str:
    for kv in attributes:
        if kv.key == "service.name":
            return kv.value.string_value
    return ""


_SPAN_CONTEXT_KEYS = frozenset({A.HTTP_ROUTE, "http.request.method", "http.method"})


def findings_from_request(request: trace_service_pb2.ExportTraceServiceRequest) -> Iterator[dict[str, Any]]:
    """One dict per `apisec.finding` span event. The keys `rule_id`, `kind`, `severity`, `owasp`,
    `cwe` and `location` mean what they mean in `scan --format jsonl`; then `rule_name`, `time`
    (the event's, ISO 8601 UTC), `service_name`, `trace_id`, `span_id`, `span_name`, and the span's
    `route` and `method` when it has them."""
    for resource_spans in request.resource_spans:
        service: str | None = None
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                events = [event for event in span.events if event.name == A.FINDING_EVENT]
                if not events:
                    continue
                if service is None:
                    service = _resource_service(resource_spans.resource.attributes)
                context = _attributes(span.attributes, _SPAN_CONTEXT_KEYS)
                method = context.get("http.request.method") or context.get("http.method")
                for event in events:
                    yield _finding_line(event, span, service, context.get(A.HTTP_ROUTE), method)


def _finding_line(event: trace_pb2.Span.Event, span: trace_pb2.Span, service: str, route: Any, method: Any) -> dict[str, Any]:
    attrs = _attributes(event.attributes)
    category = str(attrs.get(A.RULE_CATEGORY) or "")
    line: dict[str, Any] = {
        "rule_id": attrs.get(A.RULE_ID, ""),
        "kind": attrs.get(A.FINDING_KIND, ""),
        "severity": attrs.get(A.FINDING_SEVERITY, ""),
        "owasp": category.split(" ", 1)[0],
        "cwe": attrs.get(A.RULE_REFERENCE, ""),
        "location": attrs.get(A.FINDING_LOCATION, ""),
        "rule_name": attrs.get(A.RULE_NAME, ""),
        "time": _iso(event.time_unix_nano or span.end_time_unix_nano),
        "service_name": service,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "span_name": span.name,
    }
    if route:
        line["route"] = route
    if method:
        line["method"] = method
    return line


class FindingsFileExporter:
    """Appends one JSON line per finding event of the traces it gets to `path` (flushed per
    request; safe to share between threads)."""

    signals = frozenset({Signal.TRACES})

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.written = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._file: Any = None

    def start(self) -> None:
        with self._lock:
            self._open()

    def _open(self) -> Any:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 (held open for the exporter's life)
        return self._file

    def submit(self, signal: Signal, request: Request) -> None:
        if signal is not Signal.TRACES:
            return
        lines = [orjson.dumps(finding) + b"\n" for finding in findings_from_request(request)]  # type: ignore[arg-type]
        if not lines:
            return
        with self._lock:
            try:
                handle = self._open()
                handle.write(b"".join(lines))
                handle.flush()
            except OSError as error:  # a full disk loses findings lines, never the spans themselves
                self.errors += len(lines)
                log.error("findings file %s: cannot write %d finding(s): %s", self.path, len(lines), error)
                return
            self.written += len(lines)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


# ---------------------------------------------------------------------------------------------
# Console


def _printable(text: str, limit: int = 200) -> str:
    """Span names come from requests: no terminal escape sequence gets through to a console."""
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)


_SUMMARY_KEYS = frozenset({A.RISK_SCORE, A.SEVERITY_MAX, A.AUTH_OUTCOME, A.FINDINGS})


class ConsoleExporter:
    """One compact line per span: time, service, kind, name, status, duration, and the apisec
    summary when the span was analysed, e.g.

        2026-01-02T03:04:05.678Z shop SERVER "GET /login" ERROR 12.3ms risk=70 severity=high auth=failure findings=...
    """

    signals = frozenset({Signal.TRACES})

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def submit(self, signal: Signal, request: Request) -> None:
        if signal is not Signal.TRACES:
            return
        lines = []
        for resource_spans in request.resource_spans:  # type: ignore[union-attr]
            service = _printable(_resource_service(resource_spans.resource.attributes) or "-", 60)
            for scope_spans in resource_spans.scope_spans:
                lines.extend(self._line(service, span) for span in scope_spans.spans)
        if lines:
            with self._lock:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()

    @staticmethod
    def _line(service: str, span: trace_pb2.Span) -> str:
        kind = trace_pb2.Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_")
        status = trace_pb2.Status.StatusCode.Name(span.status.code).removeprefix("STATUS_CODE_")
        duration_ms = max(0, span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
        name = _printable(span.name)
        parts = [_iso(span.start_time_unix_nano) or "-", service, kind, f'"{name}"', status, f"{duration_ms:.1f}ms"]
        summary = _attributes(span.attributes, _SUMMARY_KEYS)
        if A.RISK_SCORE in summary:
            parts.append(f"risk={summary[A.RISK_SCORE]}")
        if A.SEVERITY_MAX in summary:
            parts.append(f"severity={summary[A.SEVERITY_MAX]}")
        if summary.get(A.AUTH_OUTCOME) not in (None, "none"):
            parts.append(f"auth={summary[A.AUTH_OUTCOME]}")
        if summary.get(A.FINDINGS):
            parts.append("findings=" + _printable(",".join(str(f) for f in summary[A.FINDINGS])))
        return " ".join(parts)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                pass

