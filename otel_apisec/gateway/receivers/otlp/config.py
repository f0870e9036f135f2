"""The `otlp` receiver: OTLP/gRPC and OTLP/HTTP listeners, configured as in the Collector.

    otlp:
      protocols:
        grpc: {endpoint: 0.0.0.0:4317, bearer_token: "${env:OTLP_TOKEN}"}
        http: {endpoint: 0.0.0.0:4318, tls: {cert_file: gw.crt, key_file: gw.key}}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otel_apisec.gateway.components.base import BuildContext, Factory, Stats
from otel_apisec.gateway.components.configtls import ServerTLSConfig
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option
from otel_apisec.gateway.receivers.otlp.base import DEFAULT_MAX_BYTES, parse_endpoint

if TYPE_CHECKING:
    from otel_apisec.gateway.receivers.otlp.grpc import GrpcReceiver
    from otel_apisec.gateway.receivers.otlp.http import HttpReceiver

__all__ = ["FACTORY", "GrpcConfig", "HttpConfig", "OtlpReceiver", "OtlpReceiverConfig"]

_logger = logging.getLogger("otel_apisec.gateway")
_TIMEOUT_BOUNDS = (0.01, 86_400.0)
_ENDPOINT = "HOST:PORT to listen on (grpc 127.0.0.1:4317, http 127.0.0.1:4318)"
# An OTLP/HTTP connection holds a thread, an OTLP/gRPC one only buffers in gRPC core, so gRPC takes
# more (an SDK process opens one per signal).
_MAX_CONNECTIONS = ("connections open at once (grpc 4096, http 256); past it, http closes its longest-idle keep-alive "
                    "connection to make room, else answers 503 with Retry-After without reading the request; grpc "
                    "closes the new connection")
# Above the SDKs' 60 s metric export interval, so a metrics exporter keeps its connection, and above Go's
# 90 s client idle timeout, so Go clients close first (no race with a request in flight).
_IDLE = "a keep-alive connection idle this long between requests is closed (grpc: one without RPCs gets a GOAWAY)"


@dataclass(frozen=True)
class _ListenerConfig(ConfigBase):
    """What both protocols take; each sets its own endpoint and connection limit."""

    endpoint: str = option("", _ENDPOINT)
    max_message_bytes: int = option(DEFAULT_MAX_BYTES, "largest request accepted (413 / RESOURCE_EXHAUSTED beyond)",
                                    bounds=(1, 2**31 - 1))
    bearer_token: str | None = option(None, "when set, clients must send `Authorization: Bearer <token>` (unset: "
                                      "any client that reaches the port may send; keep it out of the file with `${env:VAR}`)")
    tls: ServerTLSConfig | None = option(None, "cert_file and key_file, and client_ca_file to require client "
                                         "certificates (mTLS)")
    max_connections: int = option(1, _MAX_CONNECTIONS, bounds=(1, 1_000_000))
    # An SDK writes its headers at once; 10 s is also its default export timeout, after which it has given up.
    header_timeout_s: float = option(10.0, "the request line and headers must arrive within this, counted from the "
                                     "connection (TLS handshake included) or from a keep-alive request's first byte; "
                                     "grpc: the TLS and HTTP/2 handshake", bounds=_TIMEOUT_BOUNDS)

    def validate(self, path: str) -> None:
        try:
            parse_endpoint(self.endpoint)
        except ValueError:
            raise ConfigError(f"{path}.endpoint: expected HOST:PORT, got {self.endpoint!r}") from None
        if self.tls is not None:
            self.tls.check_loads(f"{path}.tls")

    def claims(self) -> tuple[tuple[str, str], ...]:
        host, port = parse_endpoint(self.endpoint)
        return (("endpoint", f"{host or '0.0.0.0'}:{port}"),) if port else ()


@dataclass(frozen=True)
class GrpcConfig(_ListenerConfig):
    REFUSED = {"body_timeout_s": "an http option"}

    endpoint: str = option("127.0.0.1:4317", _ENDPOINT)
    max_connections: int = option(4096, _MAX_CONNECTIONS, bounds=(1, 1_000_000))
    idle_timeout_s: float = option(120.0, _IDLE, bounds=_TIMEOUT_BOUNDS)


@dataclass(frozen=True)
class HttpConfig(_ListenerConfig):
    endpoint: str = option("127.0.0.1:4318", _ENDPOINT)
    max_connections: int = option(256, _MAX_CONNECTIONS, bounds=(1, 1_000_000))
    # Three times the SDKs' 10 s export timeout: a body still arriving then belongs to an abandoned request.
    body_timeout_s: float = option(30.0, "http only: the whole request body must arrive within this (a 16 MiB body "
                                   "needs about 560 KB/s)", bounds=_TIMEOUT_BOUNDS)
    idle_timeout_s: float = option(120.0, _IDLE, bounds=_TIMEOUT_BOUNDS)


@dataclass(frozen=True)
class OtlpReceiverConfig(ConfigBase):
    """`protocols.grpc` and/or `protocols.http`; a protocol listed with no options takes the defaults."""

    grpc: GrpcConfig | None = option(None, "OTLP/gRPC")
    http: HttpConfig | None = option(None, "OTLP/HTTP, protobuf and JSON")

    @classmethod
    def unwrap(cls, path: str, raw: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        unknown = sorted(str(key) for key in raw if key != "protocols")
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}: unknown option (allowed: protocols)")
        protocols = raw.get("protocols") or {}
        if not isinstance(protocols, Mapping):
            raise ConfigError(f"{path}.protocols: expected a mapping of grpc and/or http")
        unknown = sorted(str(key) for key in protocols if key not in ("grpc", "http"))
        if unknown:
            raise ConfigError(f"{path}.protocols.{unknown[0]}: unknown protocol (allowed: grpc, http)")
        return f"{path}.protocols", {name: {} if value is None else value for name, value in protocols.items()}

    def validate(self, path: str) -> None:
        if self.grpc is None and self.http is None:
            raise ConfigError(f"{path}: enable at least one of grpc, http")

    def claims(self) -> tuple[tuple[str, str], ...]:
        return tuple((f"protocols.{name}.{key}", value) for name, protocol in (("grpc", self.grpc), ("http", self.http))
                     if protocol is not None for key, value in protocol.claims())


class OtlpReceiver:
    """The built `otlp` receiver: its listeners behind the component protocol, plus `drain()`."""

    def __init__(self, grpc: GrpcReceiver | None, http: HttpReceiver | None) -> None:
        self.grpc, self.http = grpc, http
        self.listeners: list[GrpcReceiver | HttpReceiver] = [listener for listener in (grpc, http) if listener is not None]

    def start(self) -> None:
        for listener in self.listeners:
            listener.start()

    def drain(self) -> None:
        """Stop taking new exports (the service drains every receiver before stopping any)."""
        for listener in self.listeners:
            listener.drain()

    def shutdown(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for listener in self.listeners:
            try:
                listener.shutdown(max(0.0, deadline - time.monotonic()))
            except Exception:  # one listener failing to stop must not keep the others open
                _logger.exception("stopping a receiver failed")

    def stats(self) -> Stats:
        """What the OTLP/HTTP listener did about floods and slow senders (gRPC core keeps its own counts)."""
        if self.http is None:
            return {}
        counts = self.http.connection_counts()
        return {"refused_connections": counts.pop("refused", 0),
                **{f"closed_connections/{reason}": count for reason, count in counts.items()}}

    def addresses(self) -> list[tuple[str, str, int]]:
        """(protocol, host, port) of each listener, once started."""
        return [(protocol, *listener.address) for protocol, listener in (("grpc", self.grpc), ("http", self.http))
                if listener is not None]


def _create(config: OtlpReceiverConfig, ctx: BuildContext) -> OtlpReceiver:
    from otel_apisec.gateway.receivers.otlp.grpc import GrpcReceiver
    from otel_apisec.gateway.receivers.otlp.http import HttpReceiver
    from otel_apisec.gateway.tls import grpc_server_credentials, server_ssl_context

    if ctx.consumer is None:
        raise ValueError(f"receiver {ctx.id}: built without a consumer")
    grpc, http = config.grpc, config.http
    return OtlpReceiver(
        None if grpc is None else GrpcReceiver(
            ctx.consumer, grpc.endpoint, max_message_bytes=grpc.max_message_bytes, bearer_token=grpc.bearer_token,
            server_credentials=grpc_server_credentials(grpc.tls.files()) if grpc.tls else None,
            max_connections=grpc.max_connections, header_timeout_s=grpc.header_timeout_s,
            idle_timeout_s=grpc.idle_timeout_s, name=ctx.id),
        None if http is None else HttpReceiver(
            ctx.consumer, http.endpoint, max_body_bytes=http.max_message_bytes, bearer_token=http.bearer_token,
            ssl_context=server_ssl_context(http.tls.files()) if http.tls else None,
            max_connections=http.max_connections, header_timeout_s=http.header_timeout_s,
            body_timeout_s=http.body_timeout_s, idle_timeout_s=http.idle_timeout_s, name=ctx.id),
    )


FACTORY = Factory("otlp", OtlpReceiverConfig, _create)
