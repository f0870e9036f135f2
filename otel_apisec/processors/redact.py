"""Moved to `otel_apisec.redaction`; re-exported here for the old import path."""

from otel_apisec import redaction as _redaction
from otel_apisec.redaction import *  # noqa: F403

__all__ = _redaction.__all__  # pyright: ignore[reportUnsupportedDunderAll]
