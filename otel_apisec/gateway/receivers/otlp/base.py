"""What both OTLP receivers share: endpoints, bearer-token checks, and the google.rpc.Status that
OTLP puts in error bodies (HTTP) and grpc-status-details-bin (gRPC)."""

from __future__ import annotations

import hmac
import math

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_apisec.gateway.api import Signal

__all__ = ["DEFAULT_MAX_BYTES", "RESPONSE_TYPES", "bearer_ok", "parse_endpoint", "retry_delay", "rpc_status"]

DEFAULT_MAX_BYTES = 16 * 1024 * 1024

RESPONSE_TYPES: dict[Signal, type[Message]] = {
    Signal.TRACES: trace_service_pb2.ExportTraceServiceResponse,
    Signal.METRICS: metrics_service_pb2.ExportMetricsServiceResponse,
    Signal.LOGS: logs_service_pb2.ExportLogsServiceResponse,
}

def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """Parse "HOST:PORT" or "[IPv6]:PORT" into (host, port); an empty host means every interface, as in the Collector."""
    host, sep, port = endpoint.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"endpoint must be HOST:PORT, got {endpoint!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def bearer_ok(expected: bytes | None, authorization: str | None) -> bool:
    if expected is None:
        return True
    scheme, _, token = (authorization or "").strip().partition(" ")
    # compare_digest even when the scheme is wrong, so timing says nothing about which part failed.
    matches = hmac.compare_digest(token.strip().encode("utf-8", "replace"), expected)
    return matches and scheme.lower() == "bearer"


def retry_delay(retry_after_s: float) -> Duration:
    seconds = retry_after_s if math.isfinite(retry_after_s) and retry_after_s >= 0 else 1.0
    whole = int(seconds)
    return Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))


def rpc_status(code: int, message: str, retry_after_s: float | None = None) -> status_pb2.Status:
    """The google.rpc.Status OTLP puts in error bodies (HTTP) and grpc-status-details-bin (gRPC)."""
    status = status_pb2.Status(code=code, message=message)
    if retry_after_s is not None:
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=retry_delay(retry_after_s)))
    return status
