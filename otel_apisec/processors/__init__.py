"""OpenTelemetry span and log processors (SDK side and gateway side): thin adapters around `otel_apisec.detect`."""
