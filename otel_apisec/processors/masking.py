"""Moved to `otel_apisec.redaction.text`; re-exported here for the old import path."""

from otel_apisec.redaction.text import ValueMasker

__all__ = ["ValueMasker"]
