"""TLS for the gateway's receivers (server side, optional mTLS) and its OTLP exporter (client side).

The option names follow the Collector's `configtls`: `cert_file`, `key_file`, `client_ca_file`
on receivers; `ca_file`, `cert_file`, `key_file` on exporters. `config.py` has checked the keys
and that every file exists.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import grpc

__all__ = ["grpc_channel_credentials", "grpc_server_credentials", "server_ssl_context"]  # HTTPS clients: delivery.http


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def server_ssl_context(tls: Mapping[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls["cert_file"], tls["key_file"])
    if tls.get("client_ca_file"):
        context.load_verify_locations(tls["client_ca_file"])
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def grpc_server_credentials(tls: Mapping[str, str]) -> grpc.ServerCredentials:
    client_ca = _read(tls["client_ca_file"]) if tls.get("client_ca_file") else None
    return grpc.ssl_server_credentials([(_read(tls["key_file"]), _read(tls["cert_file"]))],
                                       root_certificates=client_ca, require_client_auth=client_ca is not None)


def grpc_channel_credentials(tls: Mapping[str, str] | None) -> grpc.ChannelCredentials:
    tls = tls or {}
    root = _read(tls["ca_file"]) if tls.get("ca_file") else None
    if tls.get("cert_file"):
        return grpc.ssl_channel_credentials(root, _read(tls["key_file"]), _read(tls["cert_file"]))
    return grpc.ssl_channel_credentials(root)
