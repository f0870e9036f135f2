"""A console on a free port over a findings ring and fake sources (the real Gateway is in test_console_gateway)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from otel_apisec.gateway.console import ConsoleApi, ConsoleServer, FindingsRing

TOKEN = "console-test-token-0123456789"


@dataclass
class Console:
    server: ConsoleServer
    ring: FindingsRing
    incidents: dict[str, Any] = field(default_factory=lambda: {"incidents": [], "open": 0})

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def get(self, target: str, token: str | None = TOKEN, method: str = "GET",
            body: bytes | None = None) -> tuple[int, dict[str, str], Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            return response.status, dict(response.getheaders()), orjson.loads(raw) if raw else None
        finally:
            connection.close()


@pytest.fixture
def console() -> Iterator[Console]:
    ring = FindingsRing(100)
    holder: dict[str, Any] = {"incidents": [], "open": 0}
    api = ConsoleApi(lambda: [], ring, lambda: holder, TOKEN)
    server = ConsoleServer(api, "127.0.0.1:0", max_connections=8, header_timeout_s=0.5, idle_timeout_s=1.0)
    with server:
        yield Console(server, ring, holder)
