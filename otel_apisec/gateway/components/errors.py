"""The one error of a gateway config."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """The config is invalid; the message starts with the key path (`exporters.otlp.protcol: ...`)."""
