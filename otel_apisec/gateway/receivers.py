"""The gateway's OTLP receivers: OTLP/HTTP (protobuf and JSON) and OTLP/gRPC, handing each request to a Consumer.

Both speak the OTLP back-pressure protocol: when the consumer raises QueueFullError the client is told to
retry later (HTTP 429 + Retry-After; gRPC RESOURCE_EXHAUSTED + google.rpc.RetryInfo), which the OTel SDK
exporters honour, so a full queue slows senders down instead of growing memory. Anything a client sends,
however malformed, gets a status code; only the request fails, never the server.
"""

from __future__ import annotations

from otel_apisec.gateway.receiver_base import DEFAULT_MAX_BYTES, RESPONSE_TYPES, parse_endpoint
from otel_apisec.gateway.receiver_grpc import GrpcReceiver
from otel_apisec.gateway.receiver_http import HttpReceiver

__all__ = ["DEFAULT_MAX_BYTES", "RESPONSE_TYPES", "GrpcReceiver", "HttpReceiver", "parse_endpoint"]
