"""TLS settings, named as the Collector's `configtls`: a receiver's server side (optional mTLS) and
an exporter's client side. `check_loads` loads the files as start-up will, so a wrong file or a key
that does not match its certificate fails `--check-config`, not the start; the component's own
`validate` calls it after its checks (an exporter's TLS needs an https:// endpoint first)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, check_file, option

__all__ = ["ClientTLSConfig", "ServerTLSConfig"]


def _files(tls: ConfigBase) -> dict[str, str]:
    return {key: value for key, value in tls.as_options().items() if value is not None}


def _load(path: str, load: Callable[[], None]) -> None:
    try:
        load()
    except (ssl.SSLError, OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot load the TLS files: {error}") from None


@dataclass(frozen=True)
class ServerTLSConfig(ConfigBase):
    """A listener's certificate; with `client_ca_file`, clients must present a certificate it signed."""

    cert_file: str | None = option(None, "certificate chain (PEM), required")
    key_file: str | None = option(None, "its private key (PEM), required")
    client_ca_file: str | None = option(None, "CAs whose client certificates are required (mTLS); unset: any client")

    def validate(self, path: str) -> None:
        for key in ("cert_file", "key_file"):
            if getattr(self, key) is None:
                raise ConfigError(f"{path}.{key}: required (a file path)")
        for key, value in _files(self).items():
            check_file(f"{path}.{key}", value)

    def check_loads(self, path: str) -> None:
        def load() -> None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
            if self.client_ca_file:
                context.load_verify_locations(self.client_ca_file)

        _load(path, load)

    def files(self) -> dict[str, str]:
        """The set keys, as `gateway/tls.py` takes them."""
        return _files(self)


@dataclass(frozen=True)
class ClientTLSConfig(ConfigBase):
    """How an exporter checks the backend (`ca_file`, else the system store) and proves itself (mTLS)."""

    ca_file: str | None = option(None, "CAs to trust instead of the system store")
    cert_file: str | None = option(None, "client certificate (PEM), for mTLS")
    key_file: str | None = option(None, "its private key (PEM)")

    def validate(self, path: str) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError(f"{path}: cert_file and key_file go together")
        for key, value in _files(self).items():
            check_file(f"{path}.{key}", value)

    def check_loads(self, path: str) -> None:
        def load() -> None:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file:
                context.load_cert_chain(self.cert_file, str(self.key_file))

        _load(path, load)

    def files(self) -> dict[str, str]:
        return _files(self)
