"""The `apisec/ocsf` exporter: findings as OCSF Detection Finding events, to a file or a SIEM webhook."""

from __future__ import annotations

import importlib.util
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from otel_apisec.delivery import check_headers, client_ssl_context, parse_endpoint, with_credentials
from otel_apisec.gateway.api import Exporter
from otel_apisec.gateway.components.base import SEVERITIES, BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, check_file, option

__all__ = ["FACTORY", "OcsfConfig"]

_SCHEMA_PACKAGES = ("jsonschema", "ocsf_json_schema")  # the `siem` extra


@dataclass(frozen=True)
class OcsfConfig(ConfigBase):
    path: str | None = option(None, "JSONL file of OCSF Detection Finding events (this or endpoint)")
    endpoint: str | None = option(None, "http(s) URL that gets the events as NDJSON batches (this or path)")
    headers: Mapping[str, str] = option(
        {}, "headers sent with every webhook request (credentials go here, or as `user:password@` in the URL, sent as Basic)")
    """Write credentials as `${env:VAR}`; only the URL's scheme, host and port are ever logged."""
    ca_file: str | None = option(None, "PEM bundle to trust for an https endpoint instead of the system store")
    batch_size: int = option(100, "events per webhook request", bounds=(1, 10_000))
    queue_size: int = option(10_000, "events waiting for the webhook before new ones are dropped", bounds=(1, 10_000_000))
    validate_events: bool = option(False, "check every event against the packaged OCSF schema first (needs the `siem` "
                                   "extra; about 1 ms an event)", key="validate")
    min_severity: str = option("medium", "lowest finding severity exported", choices=SEVERITIES)

    def validate(self, path: str) -> None:
        if (self.path is None) == (self.endpoint is None):
            raise ConfigError(f"{path}: set exactly one of path (a file) and endpoint (a webhook URL)")
        if self.path is not None and Path(self.path).is_dir():
            raise ConfigError(f"{path}.path: {self.path}: a directory, not a file")
        check_file(f"{path}.ca_file", self.ca_file)
        if self.endpoint is not None:
            self._check_webhook(path, self.endpoint)
        missing = [name for name in _SCHEMA_PACKAGES if self.validate_events and importlib.util.find_spec(name) is None]
        if missing:  # else the sink's construction would fail at start-up
            raise ConfigError(f"{path}.validate: needs the `siem` extra (pip install 'otel-apisec[siem]'; "
                              f"missing {', '.join(missing)})")

    def _check_webhook(self, path: str, url: str) -> None:
        """The webhook sink's own checks (`otel_apisec.delivery`), run now instead of at its construction."""
        try:
            endpoint = parse_endpoint(url, "URL")
        except ValueError as error:
            raise ConfigError(f"{path}.endpoint: {error}") from None
        try:
            with_credentials(check_headers(self.headers, "webhook"), endpoint, "URL")
        except ValueError as error:
            raise ConfigError(f"{path}.headers: {error}") from None
        if self.ca_file is not None:
            if not endpoint.tls:
                raise ConfigError(f"{path}.ca_file: only for an https endpoint, not {endpoint.safe!r}")
            try:
                client_ssl_context({"ca_file": self.ca_file})
            except (ssl.SSLError, OSError) as error:
                raise ConfigError(f"{path}.ca_file: cannot load: {error}") from None


def _create(config: OcsfConfig, ctx: BuildContext) -> Built[Exporter]:
    from otel_apisec.correlate.api import FindingSink
    from otel_apisec.gateway.exporters.sink import SinkExporter
    from otel_apisec.model import Severity
    from otel_apisec.siem.sinks import OcsfFileSink, OcsfWebhookSink

    sink: FindingSink
    if config.endpoint:
        sink = OcsfWebhookSink(config.endpoint, headers=config.headers, batch_size=config.batch_size,
                               queue_size=config.queue_size, ca_file=config.ca_file, validate=config.validate_events)
    else:
        sink = OcsfFileSink(str(config.path), validate=config.validate_events)
    exporter = SinkExporter(sink, "apisec/ocsf", min_severity=Severity.parse(config.min_severity))
    return Built(exporter, start=exporter.start, shutdown=exporter.shutdown, stats=exporter.stats)


FACTORY = Factory("apisec/ocsf", OcsfConfig, _create)
