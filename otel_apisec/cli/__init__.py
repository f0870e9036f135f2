"""The `otel-apisec` command line: `scan` HAR/JSONL captures, list the `rules`."""

from otel_apisec.cli.main import main

__all__ = ["main"]
