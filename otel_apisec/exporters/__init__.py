"""Exporters for findings and enriched telemetry: thin adapters around `otel_apisec.detect`."""
