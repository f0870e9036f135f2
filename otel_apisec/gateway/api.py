"""The contracts between the gateway's receivers, processors and exporters."""

from __future__ import annotations

import enum
from typing import Protocol

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["REQUEST_TYPES", "Consumer", "Exporter", "Processor", "QueueFullError", "Request", "Signal"]


class Signal(str, enum.Enum):
    TRACES = "traces"
    METRICS = "metrics"
    LOGS = "logs"


Request = ExportTraceServiceRequest | ExportMetricsServiceRequest | ExportLogsServiceRequest

REQUEST_TYPES: dict[Signal, type[Request]] = {
    Signal.TRACES: ExportTraceServiceRequest,
    Signal.METRICS: ExportMetricsServiceRequest,
    Signal.LOGS: ExportLogsServiceRequest,
}


class QueueFullError(Exception):
    """An exporter's queue is full: the receiver answers 429 / RESOURCE_EXHAUSTED with this delay."""

    def __init__(self, retry_after_s: float = 1.0) -> None:
        super().__init__(f"queue full, retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class Consumer(Protocol):
    """What receivers hand decoded requests to (the pipeline). Raises QueueFullError when it
    cannot take more; any other exception is a bug and the receiver answers 500 / INTERNAL."""

    def consume(self, signal: Signal, request: Request) -> None: ...


class Processor(Protocol):
    """Transforms a request in place or returns a new one; None drops it. Runs on the receiver's
    thread, so it must be quick and never block on I/O."""

    def process(self, signal: Signal, request: Request) -> Request | None: ...


class Exporter(Protocol):
    """Takes requests without blocking (queue) and sends them on its own thread(s)."""

    signals: frozenset[Signal]
    """The signals this exporter wants; the pipeline hands it no others."""

    def start(self) -> None: ...

    def submit(self, signal: Signal, request: Request) -> None:
        """Enqueue; raises QueueFullError when the bounded queue is full."""

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop taking requests, drain the queue (persist what is left, when persistent), stop."""
