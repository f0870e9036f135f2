"""The `apisec/crs` processor (optional, the `crs` extra): ModSecurity v3 running the OWASP Core
Rule Set over each HTTP server span's request and response, in the gateway, off the app's request
path. CRS matches become `APISEC-CRS-NNN` findings beside the native ones.

`config` holds its config class and `FACTORY`; `engine` drives ModSecurity; `processor` edits spans."""

from otel_apisec.gateway.processors.crs.config import FACTORY, CrsConfig

__all__ = ["CrsConfig", "FACTORY"]
