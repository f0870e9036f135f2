"""Helpers for tests, shipped with the library so users can test their own rules and configs.

`make_exchange` and the OTLP builders are here; the rest are submodules that need the dev extra:
`otel_apisec.testing.sink` (an OTLP receiver that records what arrives),
`otel_apisec.testing.servers` (webhook recorder, Alertmanager, the gateway in a subprocess),
`otel_apisec.testing.redis` (a real redis-server) and `otel_apisec.testing.traffic` (simulated
benign and attack traffic for the correlators).
"""

from otel_apisec.testing.builders import any_value, key_values, make_exchange, server_span, trace_request

__all__ = ["any_value", "key_values", "make_exchange", "server_span", "trace_request"]
