"""The gateway's OTLP exporter: forwarding to any backend over gRPC or HTTP.

`OtlpExporter` forwards each request as it was queued (the serialized bytes, not re-encoded) from
sender thread(s), retrying by the one policy of `otel_apisec.delivery.retry` (over HTTP its
statuses; over gRPC the codes the OTLP spec calls retryable), honouring the server's Retry-After /
RetryInfo; a request the backend refuses for good (400, INVALID_ARGUMENT, ...) is dropped and
counted. Over HTTP each sender thread keeps one `HttpSession` (keep-alive). Its queue is a
`BoundedQueue` (memory) or a `PersistentQueue` (disk: a backend outage plus a gateway restart
loses nothing).

With `findings_as_logs` (the default), each `apisec.finding` span event of a traces request also
goes to the backend as an OTLP log record (`finding_records.finding_logs`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_apisec.delivery import DeliveryError, HttpSession, RetryPolicy, check_headers, parse_endpoint, retry, with_credentials
from otel_apisec.gateway.api import QueueFullError, Request, Signal
from otel_apisec.gateway.exporters.otlp.queue import BoundedQueue, PersistentQueue, QueueItem
from otel_apisec.gateway.finding_records import finding_logs
from otel_apisec.gateway.runner import iter_items, iter_scopes
from otel_apisec.gateway.tls import grpc_channel_credentials

__all__ = ["OtlpExporter", "count_items"]

log = logging.getLogger(__name__)

ALL_SIGNALS = frozenset(Signal)
Protocol = Literal["grpc", "http/protobuf"]

# The OTLP services: gRPC method path and the response type (its partial_success field).
# signal -> (service module, service name, response type, rejected-count field)
_SERVICES: dict[Signal, tuple[Any, str, Any, str]] = {
    Signal.TRACES: (trace_service_pb2, "TraceService", trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
    Signal.METRICS: (metrics_service_pb2, "MetricsService", metrics_service_pb2.ExportMetricsServiceResponse,
                     "rejected_data_points"),
    Signal.LOGS: (logs_service_pb2, "LogsService", logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
}
# OTLP spec, "Failures": what a gRPC client retries (HTTP statuses: `delivery.retry`). RESOURCE_EXHAUSTED
# is retried even without RetryInfo: a gateway with a persistent queue prefers waiting to dropping.
_RETRYABLE_GRPC = frozenset({
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
})
_WHAT = "OTLP exporter endpoint"
_PROTOBUF = {"Content-Type": "application/x-protobuf"}
_RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"


def count_items(signal: Signal, request: Request) -> int:
    """Spans, metric data points or log records in a request."""
    if signal is not Signal.METRICS:
        items = "spans" if signal is Signal.TRACES else "log_records"
        return sum(len(getattr(scope, items)) for _resource, scope in iter_scopes(signal, request))
    total = 0
    for _resource, _scope, metric in iter_items(signal, request):
        data = metric.WhichOneof("data")
        if data:
            total += len(getattr(metric, data).data_points)
    return total


# ---------------------------------------------------------------------------------------------
# Transports: one send attempt each; a failure raises DeliveryError, classified.


@dataclass(frozen=True)
class _Accepted:
    """Delivered; `rejected` items the backend refused inside (OTLP partial success)."""

    rejected: int = 0
    error: str = ""


_SENT = _Accepted()


def _accepted(signal: Signal, response: Any) -> _Accepted:
    if not response.HasField("partial_success"):
        return _SENT
    partial = response.partial_success
    rejected = int(getattr(partial, _SERVICES[signal][3]))
    return _Accepted(rejected, partial.error_message[:200]) if rejected else _SENT


def _url(endpoint: str) -> str:
    """`host:port` is read as `http://host:port`, as the Collector does."""
    return endpoint if "://" in endpoint else f"http://{endpoint}"


def _retry_info(error: grpc.RpcError) -> float | None:
    """The server's RetryInfo delay, as a bare trailer or inside grpc-status-details-bin."""
    try:
        trailers = dict(error.trailing_metadata() or ())
    except Exception:  # a failed call may carry no metadata at all
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
        target = parse_endpoint(_url(endpoint), _WHAT, ("http", "https", "grpc", "grpcs"), 4317, bool(tls_files))
        options = [
            ("grpc.max_send_message_length", -1),
            # The channel's own reconnect backoff must not outlast ours, or a backend that is back
            # stays "unavailable" to this channel for up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", max(1, int(backoff[0] * 1000))),
            ("grpc.max_reconnect_backoff_ms", max(1, int(backoff[1] * 1000))),
        ]
        if target.tls:
            self._channel = grpc.secure_channel(target.authority, grpc_channel_credentials(tls_files), options=options)
        else:
            self._channel = grpc.insecure_channel(target.authority, options=options)
        headers = with_credentials(check_headers(headers, _WHAT), target, _WHAT)
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

    def send(self, signal: Signal, payload: bytes, timeout_s: float) -> _Accepted:
        try:
            response = self._calls[signal](payload, timeout=timeout_s, metadata=self._metadata, compression=self._compression)
        except grpc.RpcError as error:
            code = error.code()
            details = (error.details() or "")[:200]
            retryable = code in _RETRYABLE_GRPC
            raise DeliveryError(f"gRPC {code.name}: {details}", retryable, _retry_info(error) if retryable else None) from None
        return _accepted(signal, response)

    def interrupt(self) -> None:
        self._channel.close()  # cancels calls in flight

    def close(self) -> None:
        self._channel.close()


class _HttpTransport:
    """One `HttpSession` (a keep-alive connection) per sender thread: connections are not thread-safe."""

    def __init__(
        self, endpoint: str, headers: Mapping[str, str], compression: Literal["gzip"] | None,
        tls_files: Mapping[str, str] | None = None,
    ) -> None:
        self._session = HttpSession(_url(endpoint), _WHAT, headers, tls=tls_files, compression=compression)

    def send(self, signal: Signal, payload: bytes, timeout_s: float) -> _Accepted:
        response = self._session.post(f"/v1/{signal.value}", payload, _PROTOBUF, timeout_s)
        response.raise_for_status(self._session.origin)
        if not response.body or not response.headers.get("Content-Type", "").startswith("application/x-protobuf"):
            return _SENT
        try:
            return _accepted(signal, _SERVICES[signal][2].FromString(response.body))
        except DecodeError:
            return _SENT

    def interrupt(self) -> None:
        self._session.interrupt()  # wakes a thread blocked reading the response

    def close(self) -> None:
        self._session.close()


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
        findings_as_logs: bool = True,
    ) -> None:
        if protocol not in ("grpc", "http/protobuf"):
            raise ValueError(f"protocol must be grpc or http/protobuf, not {protocol!r}")
        if compression not in (None, "gzip"):
            raise ValueError(f"compression must be gzip or None, not {compression!r}")
        if timeout_s <= 0 or workers < 1:
            raise ValueError("timeout_s must be positive and workers >= 1")
        self.name = name
        self.endpoint = endpoint
        self.protocol = protocol
        self.signals = frozenset(Signal(s) for s in signals)
        self.timeout_s = timeout_s
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_elapsed_s = max_elapsed_s
        self._retry = RetryPolicy(initial_backoff_s, max_backoff_s, max_elapsed_s)
        """`max_elapsed_s` counts from when the request was queued (wall-clock: it survives a restart)."""
        self.queue = queue if queue is not None else BoundedQueue()
        self._headers = dict(headers or {})
        self._compression = compression
        self.findings_as_logs = findings_as_logs and Signal.LOGS in self.signals
        self.finding_logs_dropped = 0
        """Finding log records not queued because the queue was full (the spans themselves were)."""
        self._tls = dict(tls) if tls else None
        """ca_file, cert_file, key_file for an https:// endpoint (`delivery.http.client_ssl_context`; gRPC: gateway/tls.py)."""
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
            "finding_logs_dropped": self.finding_logs_dropped,
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
        if signal is Signal.TRACES and self.findings_as_logs:
            self._submit_finding_logs(request)

    def _submit_finding_logs(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        logs = finding_logs(request)
        if logs is None:
            return
        items = count_items(Signal.LOGS, logs)
        try:
            self.queue.put(Signal.LOGS, logs.SerializeToString(), items)
        except QueueFullError:
            # The spans are queued and carry the same findings as events: refusing the request
            # now would make the client send those spans twice.
            with self._counter_lock:
                self.finding_logs_dropped += items

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
        def attempt() -> _Accepted:
            timeout = self.timeout_s
            if self._deadline is not None:  # shutting down: no attempt outlasts the drain
                timeout = max(0.05, min(timeout, self._deadline - time.monotonic()))
            return transport.send(item.signal, item.payload, timeout)

        try:
            accepted = retry(attempt, self._retry, self._abort.wait, self._retrying, item.enqueued_at, time.time)
        except DeliveryError as error:
            if not self._abort.is_set():  # aborted: left to queue.close(), kept on disk or counted dropped
                self._drop(item, str(error))
            return
        if accepted is not None:
            self._delivered(item, accepted)

    def _retrying(self, error: DeliveryError, delay: float) -> None:
        with self._counter_lock:
            self.retried += 1
            self._backoff_until = max(self._backoff_until, time.monotonic() + delay)
            first_failure, self._failing = not self._failing, True
        if first_failure:
            log.warning("exporter %s: %s; retrying with backoff", self.name, error)

    def _delivered(self, item: QueueItem, outcome: _Accepted) -> None:
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
