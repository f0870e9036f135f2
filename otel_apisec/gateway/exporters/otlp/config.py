"""The `otlp` exporter: every signal to an OTLP backend, through a memory or a persistent queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from otel_apisec.delivery import check_headers, parse_endpoint, with_credentials
from otel_apisec.gateway.api import Exporter
from otel_apisec.gateway.components.base import BuildContext, Built, Factory
from otel_apisec.gateway.components.configtls import ClientTLSConfig
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option

__all__ = ["FACTORY", "OtlpExporterConfig"]

PERSISTENT_DRAIN_S = 5.0
"""A persistent queue keeps what is left on disk for the next start: no point waiting long on shutdown
for a backend that is down."""
_SCHEMES: dict[str, tuple[tuple[str, ...], int | None]] = {
    "grpc": (("http", "https", "grpc", "grpcs"), 4317), "http/protobuf": (("http", "https"), None)}
_SECONDS = (0.001, 86_400.0)


@dataclass(frozen=True)
class OtlpExporterConfig(ConfigBase):
    endpoint: str | None = option(None, "backend URL, e.g. http://collector:4317 (required)")
    protocol: str = option("grpc", "wire protocol", choices=("grpc", "http/protobuf"))
    headers: Mapping[str, str] = option({}, "extra headers / metadata sent with every request")
    """Credentials go here: write them as `${env:VAR}`, not into the file."""
    timeout_s: float = option(10.0, "per-request timeout", bounds=_SECONDS)
    queue_size: int = option(1000, "requests held in memory before receivers answer 429", bounds=(1, 10_000_000))
    queue_max_bytes: int = option(64 << 20, "bytes held in the memory queue before receivers answer 429",
                                  bounds=(1, 1 << 40))
    storage: str | None = option(None, "directory for a persistent queue (survives restarts and outages)")
    storage_max_bytes: int = option(1 << 30, "bytes the persistent queue may hold on disk", bounds=(1, 1 << 50))
    fsync: bool = option(True, "fsync each queued request before acknowledging it (off: faster, a crash may lose the "
                         "last ones)")
    compression: str = option("none", "request compression", choices=("none", "gzip"))
    workers: int = option(1, "sender threads", bounds=(1, 64))
    max_backoff_s: float = option(30.0, "longest wait between retries, a server's `Retry-After` included", bounds=(1.0, 86_400.0))
    """At least the exporter's 1 s first backoff."""
    max_elapsed_s: float | None = option(None, "give up on a request after this long (default: retry until delivered)",
                                         bounds=_SECONDS)
    findings_as_logs: bool = option(True, "also send each `apisec.finding` span event as an OTLP log record (event_name "
                                    "`apisec.finding`, linked to its span)")
    tls: ClientTLSConfig | None = option(None, "for an https:// endpoint: ca_file (trust these CAs instead of the system "
                                         "store), cert_file and key_file (a client certificate, for mTLS)")

    def validate(self, path: str) -> None:
        if not self.endpoint:
            raise ConfigError(f"{path}.endpoint: required")
        # The exporter's own checks (`otel_apisec.delivery`), run now instead of at its construction.
        url = self.endpoint if "://" in self.endpoint else f"http://{self.endpoint}"  # `host:port`, as the Collector reads it
        schemes, port = _SCHEMES[self.protocol]
        try:
            endpoint = parse_endpoint(url, "URL", schemes, port)
        except ValueError as error:
            raise ConfigError(f"{path}.endpoint: {error}") from None
        try:
            with_credentials(check_headers(self.headers, "exporter"), endpoint, "URL")
        except ValueError as error:
            raise ConfigError(f"{path}.headers: {error}") from None
        if self.tls is not None:
            if not endpoint.tls:
                raise ConfigError(f"{path}.tls: TLS options need an https:// endpoint, not {endpoint.safe!r}")
            self.tls.check_loads(f"{path}.tls")
        if self.storage is not None and Path(self.storage).exists() and not Path(self.storage).is_dir():
            raise ConfigError(f"{path}.storage: {self.storage}: not a directory")

    def claims(self) -> tuple[tuple[str, str], ...]:
        # One exporter per queue directory: a second one would find it locked at start-up.
        return (("storage", str(Path(self.storage).resolve())),) if self.storage else ()


def _create(config: OtlpExporterConfig, ctx: BuildContext) -> Built[Exporter]:
    from otel_apisec.gateway.exporters.otlp.exporter import OtlpExporter
    from otel_apisec.gateway.exporters.otlp.queue import BoundedQueue, PersistentQueue

    queue: BoundedQueue | PersistentQueue
    if config.storage:
        queue = PersistentQueue(config.storage, config.storage_max_bytes, fsync=config.fsync)
    else:
        queue = BoundedQueue(config.queue_size, config.queue_max_bytes)
    exporter = OtlpExporter(
        str(config.endpoint), "http/protobuf" if config.protocol == "http/protobuf" else "grpc",
        headers=config.headers, timeout_s=config.timeout_s, queue=queue,
        compression="gzip" if config.compression == "gzip" else None, workers=config.workers,
        max_backoff_s=config.max_backoff_s, tls=config.tls.files() if config.tls else None,
        findings_as_logs=config.findings_as_logs, max_elapsed_s=config.max_elapsed_s, name=ctx.id,
    )
    drain_s = PERSISTENT_DRAIN_S if config.storage else None
    return Built(exporter, start=exporter.start, stats=exporter.stats,
                 shutdown=lambda timeout_s: exporter.shutdown(min(timeout_s, drain_s) if drain_s else timeout_s))


FACTORY = Factory("otlp", OtlpExporterConfig, _create)
