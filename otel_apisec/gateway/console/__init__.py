"""The console listener (`service.console`, `--console`): the estate, governance, recent findings and
alert incidents as JSON, for the HTML console and for scripts. See `api.py` for the endpoints."""

from otel_apisec.gateway.console.api import ConsoleApi, Response
from otel_apisec.gateway.console.findings import FindingsRing
from otel_apisec.gateway.console.server import ConsoleServer

__all__ = ["ConsoleApi", "ConsoleServer", "FindingsRing", "Response"]
