"""The gateway's OTLP receivers: OTLP/HTTP (protobuf and JSON) and OTLP/gRPC, handing each request to a Consumer.

Both speak the OTLP back-pressure protocol: when the consumer raises QueueFullError the client is told to
retry later (HTTP 429 + Retry-After; gRPC RESOURCE_EXHAUSTED + google.rpc.RetryInfo), which the OTel SDK
exporters honour, so a full queue slows senders down instead of growing memory. Anything a client sends,
however malformed, gets a status code; only the request fails, never the server.

`config` holds the config classes, `FACTORY` and the built component; `http` and `grpc` the two
servers, `base` what they share, `json` the OTLP/JSON codec and `repair` the decoding of hostile input.
"""

from otel_apisec.gateway.receivers.otlp.config import FACTORY, GrpcConfig, HttpConfig, OtlpReceiver, OtlpReceiverConfig

__all__ = ["FACTORY", "GrpcConfig", "HttpConfig", "OtlpReceiver", "OtlpReceiverConfig"]
