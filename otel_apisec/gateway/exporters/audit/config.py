"""The `apisec/audit` exporter: the hash-chained JSONL audit log of findings and alerts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from otel_apisec.audit.chain import DEFAULT_MAX_BYTES
from otel_apisec.audit.keys import KEY_ENV, AuditKeyError, key_from_env, key_from_file
from otel_apisec.gateway.api import Exporter
from otel_apisec.gateway.components.base import SEVERITIES, BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, check_file, option

__all__ = ["FACTORY", "AuditConfig"]


@dataclass(frozen=True)
class AuditConfig(ConfigBase):
    path: str | None = option(None, "the hash-chained JSONL audit log of findings and alerts (required)")
    key_env: str = option(KEY_ENV, "environment variable holding the HMAC key of the chain (unset variable: a plain "
                          "SHA-256 chain)")
    """Without a key anyone who can write the file can rewrite the chain consistently: set one."""
    key_file: str | None = option(None, "file holding the HMAC key (instead of key_env)")
    max_bytes: int | None = option(DEFAULT_MAX_BYTES, "rotate the file past this size (the chain goes on in the next)",
                                   bounds=(1, 1 << 50))
    keep: int | None = option(None, "rotated files kept (default: all; deleting old ones cuts the chain's start)",
                              bounds=(1, 1_000_000))
    fsync: bool = option(False, "fsync every record (slower; survives a power cut)")
    min_severity: str = option("medium", "lowest finding severity recorded (alerts are always recorded)",
                               choices=SEVERITIES)

    def validate(self, path: str) -> None:
        if not self.path:
            raise ConfigError(f"{path}.path: required")
        if Path(self.path).is_dir():
            raise ConfigError(f"{path}.path: {self.path}: a directory, not a file")
        # The key is read and checked (at least 16 bytes) now, as start-up will.
        check_file(f"{path}.key_file", self.key_file)
        try:
            self.key()
        except AuditKeyError as error:
            raise ConfigError(f"{path}.{'key_file' if self.key_file else 'key_env'}: {error}") from None

    def key(self) -> bytes | None:
        """The chain's HMAC key: from key_file, else from the key_env variable when set, else None."""
        if self.key_file:
            return key_from_file(self.key_file)
        return key_from_env(self.key_env) if os.environ.get(self.key_env) else None

    def claims(self) -> tuple[tuple[str, str], ...]:
        # One writer per chain: a second one would find the file locked at start-up.
        return (("path", str(Path(self.path).resolve())),) if self.path else ()


def _create(config: AuditConfig, ctx: BuildContext) -> Built[Exporter]:
    from otel_apisec.audit.chain import AuditLog
    from otel_apisec.gateway.exporters.sink import SinkExporter
    from otel_apisec.model import Severity

    log = AuditLog(str(config.path), key=config.key(), max_bytes=config.max_bytes, keep=config.keep, fsync=config.fsync)
    exporter = SinkExporter(log, "apisec/audit", min_severity=Severity.parse(config.min_severity))
    return Built(exporter, start=exporter.start, shutdown=exporter.shutdown, stats=exporter.stats)


FACTORY = Factory("apisec/audit", AuditConfig, _create)
