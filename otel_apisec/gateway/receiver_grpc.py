"""The OTLP/gRPC receiver: the TraceService, MetricsService and LogsService Export methods.

A full queue is answered RESOURCE_EXHAUSTED with google.rpc.RetryInfo (which the OTel SDK
exporters honour); a malformed message is INVALID_ARGUMENT, and the server goes on.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, error_details_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_apisec.gateway.api import REQUEST_TYPES, Consumer, QueueFullError, Signal
from otel_apisec.gateway.receiver_base import (
    DEFAULT_MAX_BYTES,
    RESPONSE_TYPES,
    bearer_ok,
    parse_endpoint,
    retry_delay,
    rpc_status,
)

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
    ) -> None:
        parse_endpoint(endpoint)  # fail early on a malformed endpoint
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

    def shutdown(self, grace_s: float = 5.0) -> None:
        """Refuse new RPCs, let those in progress finish for up to grace_s, stop."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop(grace_s).wait(grace_s + 1.0)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def __enter__(self) -> GrpcReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def _export_handler(self, signal: Signal) -> grpc.RpcMethodHandler:
        request_type = REQUEST_TYPES[signal]
        response_type = RESPONSE_TYPES[signal]

        def export(raw: bytes, context: grpc.ServicerContext) -> Message:
            metadata = dict(context.invocation_metadata())
            authorization = metadata.get("authorization")
            if not bearer_ok(self.bearer_token, authorization if isinstance(authorization, str) else None):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")
            try:
                request = request_type.FromString(raw)
            except DecodeError as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed {signal.value} protobuf: {error}")
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
