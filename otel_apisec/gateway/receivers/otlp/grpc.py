"""The OTLP/gRPC receiver: the TraceService, MetricsService and LogsService Export methods.

A full queue is answered RESOURCE_EXHAUSTED with google.rpc.RetryInfo (which the OTel SDK
exporters honour); a malformed message is INVALID_ARGUMENT, and the server goes on.
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures

import grpc
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_apisec.gateway.api import Consumer, QueueFullError, Signal
from otel_apisec.gateway.receivers.otlp.base import (
    DEFAULT_MAX_BYTES,
    RESPONSE_TYPES,
    bearer_ok,
    parse_endpoint,
    retry_delay,
    rpc_status,
)
from otel_apisec.gateway.receivers.otlp.repair import decode_protobuf

__all__ = ["GrpcReceiver"]

logger = logging.getLogger("otel_apisec.gateway.receivers")

_GRPC_SERVICES: dict[Signal, str] = {
    Signal.TRACES: trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name,
    Signal.METRICS: metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name,
    Signal.LOGS: logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name,
}


# ---------------------------------------------------------------------------------------------------------------
# OTLP/gRPC


class GrpcReceiver:
    """OTLP/gRPC: the TraceService, MetricsService and LogsService Export methods (gzip handled by grpcio).

    Requests are decoded here rather than by grpcio, so a malformed message is INVALID_ARGUMENT (grpcio
    would say INTERNAL) and an unauthenticated one is rejected before any decoding.

    Connections cost no thread here (gRPC core multiplexes them), so the limits are gRPC core's own:
    past `max_connections` a new connection is closed at accept, a connection must finish its TLS and
    HTTP/2 handshake within `header_timeout_s`, and one without RPCs for `idle_timeout_s` gets a GOAWAY.
    Clients reconnect on their own in each case.
    """

    def __init__(
        self,
        consumer: Consumer,
        endpoint: str = "127.0.0.1:4317",
        *,
        max_message_bytes: int = DEFAULT_MAX_BYTES,
        bearer_token: str | None = None,
        server_credentials: grpc.ServerCredentials | None = None,
        max_workers: int = 8,
        max_connections: int = 4096,
        header_timeout_s: float = 10.0,
        idle_timeout_s: float = 120.0,
        name: str = "otlp",
    ) -> None:
        parse_endpoint(endpoint)  # fail early on a malformed endpoint
        if max_connections <= 0 or not min(header_timeout_s, idle_timeout_s) > 0:
            raise ValueError("max_connections, header_timeout_s and idle_timeout_s must be positive")
        self.max_connections = max_connections
        self.header_timeout_s, self.idle_timeout_s = header_timeout_s, idle_timeout_s
        self.name = name
        self._stopped: threading.Event | None = None
        self.consumer = consumer
        self.endpoint = endpoint
        self.max_message_bytes = max_message_bytes
        self.bearer_token = bearer_token.encode() if bearer_token else None
        self.server_credentials = server_credentials
        self.max_workers = max_workers
        self._server: grpc.Server | None = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self._port = 0

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound; the port is the real one when the endpoint asked for 0."""
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return parse_endpoint(self.endpoint)[0], self._port

    def start(self) -> GrpcReceiver:
        if self._server is not None:
            return self
        executor = futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix="otlp-grpc-receiver")
        handlers = [
            grpc.method_handlers_generic_handler(_GRPC_SERVICES[signal], {"Export": self._export_handler(signal)})
            for signal in Signal
        ]
        server = grpc.server(
            executor,
            handlers=handlers,
            options=[
                ("grpc.max_receive_message_length", self.max_message_bytes),
                ("grpc.max_send_message_length", self.max_message_bytes),
                ("grpc.so_reuseport", 0),  # a second gateway on the same port must fail, not share it silently
                ("grpc.max_allowed_incoming_connections", self.max_connections),
                ("grpc.server_handshake_timeout_ms", _ms(self.header_timeout_s)),
                ("grpc.max_connection_idle_ms", _ms(self.idle_timeout_s)),
            ],
            maximum_concurrent_rpcs=self.max_workers * 8,  # beyond that grpcio answers RESOURCE_EXHAUSTED itself
        )
        try:
            if self.server_credentials is not None:
                port = server.add_secure_port(self.endpoint, self.server_credentials)
            else:
                port = server.add_insecure_port(self.endpoint)
        except RuntimeError as error:
            executor.shutdown(wait=False)
            raise OSError(f"OTLP/gRPC receiver cannot listen on {self.endpoint}: {error}") from None
        if not port:
            executor.shutdown(wait=False)
            raise OSError(f"OTLP/gRPC receiver cannot listen on {self.endpoint}")
        server.start()
        self._server, self._executor, self._port = server, executor, port
        logger.info("OTLP/gRPC receiver listening on %s:%d%s", *self.address, " (TLS)" if self.server_credentials else "")
        return self

    def drain(self, grace_s: float = 5.0) -> None:
        """Refuse new RPCs (UNAVAILABLE) and give those in progress grace_s; returns at once."""
        if self._server is not None and self._stopped is None:
            self._stopped = self._server.stop(grace_s)

    def shutdown(self, grace_s: float = 5.0) -> None:
        """Refuse new RPCs, let those in progress finish for up to grace_s (from drain(), if called), stop."""
        self.drain(grace_s)
        server, stopped, self._server, self._stopped = self._server, self._stopped, None, None
        if server is None or stopped is None:
            return
        stopped.wait(grace_s + 1.0)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def __enter__(self) -> GrpcReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def _export_handler(self, signal: Signal) -> grpc.RpcMethodHandler:
        response_type = RESPONSE_TYPES[signal]

        def export(raw: bytes, context: grpc.ServicerContext) -> Message:
            metadata = dict(context.invocation_metadata())
            authorization = metadata.get("authorization")
            if not bearer_ok(self.bearer_token, authorization if isinstance(authorization, str) else None):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")
            try:  # one invalid UTF-8 string or too-deep value is repaired (and counted), not the batch refused
                request = decode_protobuf(signal, raw, receiver=self.name, protocol="grpc")
            except ValueError as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            try:
                self.consumer.consume(signal, request)
            except QueueFullError as error:
                _abort_retry_later(context, str(error), error.retry_after_s)
            except Exception:
                logger.exception("OTLP/gRPC receiver: the consumer failed on a %s request", signal.value)
                context.abort(grpc.StatusCode.INTERNAL, f"internal error while processing the {signal.value} request")
            return response_type()

        return grpc.unary_unary_rpc_method_handler(
            export, request_deserializer=None, response_serializer=response_type.SerializeToString
        )


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _abort_retry_later(context: grpc.ServicerContext, message: str, retry_after_s: float) -> None:
    """RESOURCE_EXHAUSTED with RetryInfo where the clients look for it: the OTel Python exporter reads the
    `google.rpc.retryinfo-bin` trailer, the Go and Java ones the Status details in `grpc-status-details-bin`."""
    retry_info = error_details_pb2.RetryInfo(retry_delay=retry_delay(retry_after_s))
    status = rpc_status(code_pb2.RESOURCE_EXHAUSTED, message, retry_after_s)
    context.set_trailing_metadata(
        (
            ("google.rpc.retryinfo-bin", retry_info.SerializeToString()),
            ("grpc-status-details-bin", status.SerializeToString()),
        )
    )
    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, message)
