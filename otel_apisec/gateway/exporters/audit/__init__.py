"""The `apisec/audit` exporter: findings appended to a hash-chained audit log (the sink is `otel_apisec.audit`).

`config` holds its config class and `FACTORY`."""

from otel_apisec.gateway.exporters.audit.config import FACTORY, AuditConfig

__all__ = ["FACTORY", "AuditConfig"]
