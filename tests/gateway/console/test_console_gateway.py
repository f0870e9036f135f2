"""A real Gateway: OTLP/HTTP spans in, the console's JSON out, over real sockets. Nothing raw leaves:
a card number and an e-mail address planted in the spans appear in no console answer."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from otel_apisec.gateway.config import ConfigError, parse_config
from otel_apisec.testing.servers import free_port

TOKEN = "gateway-console-token-abcdef"
CARD, EMAIL = "4111111111111111", "heidi.console@example.com"
CONTRACT_SERVICE_KEYS = {"service", "grade", "score", "endpoints"}
CONTRACT_ENDPOINT_KEYS = {"method", "route", "spec_status", "calls", "first_seen", "last_seen", "status_codes",
                          "auth_schemes", "unauthenticated_calls", "unauthenticated_success", "pii_types", "findings",
                          "grade", "score", "parameters"}


def config(tmp_path: Path, http_port: int, console_port: int, inventory: bool = True) -> dict[str, Any]:
    processors = ["apisec/enrich", *(["apisec/inventory"] if inventory else []), "apisec/redact"]
    return {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{http_port}"}}}},
        "processors": {name: {} for name in processors},
        "exporters": {"apisec/findings": {"path": str(tmp_path / "findings.jsonl")}},
        "service": {"telemetry": {"metrics": {"address": "off"}},
                    "console": {"address": f"127.0.0.1:{console_port}", "bearer_token": TOKEN},
                    "pipelines": {"traces": {"receivers": ["otlp"], "processors": processors,
                                             "exporters": ["apisec/findings"]}}},
    }


class Running:
    def __init__(self, http_port: int, console_port: int) -> None:
        self.http_port, self.console_port = http_port, console_port

    def send(self, spans: list[dict[str, object]], service: str = "shop") -> None:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{self.http_port}/v1/traces")))
        tracer = provider.get_tracer("agent")
        for attributes in spans:
            name = f"{attributes['http.request.method']} {attributes.get('http.route') or ''}".strip()
            with tracer.start_as_current_span(name, kind=SpanKind.SERVER, attributes=attributes):  # type: ignore[arg-type]
                pass
        provider.shutdown()

    def get(self, target: str, token: str | None = TOKEN) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.console_port, timeout=30)
        try:
            connection.request("GET", target, headers={"Authorization": f"Bearer {token}"} if token else {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture
def running(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    from otel_apisec.gateway.service import Gateway

    http_port, console_port = free_port(), free_port()
    gateway = Gateway(parse_config(config(tmp_path, http_port, console_port, getattr(request, "param", True))))
    gateway.start()
    try:
        assert gateway.console_server is not None and gateway.console_server.server_address[1] == console_port
        yield Running(http_port, console_port)
    finally:
        gateway.shutdown(5.0)


def span(path: str, query: str = "", status: int = 200, route: str | None = None) -> dict[str, object]:
    attributes: dict[str, object] = {"http.request.method": "GET", "url.scheme": "https", "url.path": path,
                                     "http.response.status_code": status, "server.address": "shop.example.com",
                                     "client.address": "203.0.113.9"}
    if query:
        attributes["url.query"] = query
    if route:
        attributes["http.route"] = route
    return attributes


RAW_TRAFFIC = [
    span("/api/users/1001/orders", f"card={CARD}"),
    span("/api/users/1002/orders", f"email={EMAIL}"),
    span("/api/users/1003/orders"),
    span(f"/api/profiles/{EMAIL}"),
    span("/api/users/me"),
    {**span("/api/items/7", route="/api/items/{id}"), "http.request.header.authorization": ["Bearer abc.def.ghi"]},
]


def test_findings_come_from_redacted_spans(running: Running) -> None:
    """The ring holds what the pipeline's exporters saw: records with their span context, no raw value."""
    running.send(RAW_TRAFFIC)
    status, body = running.get("/api/v1/findings?service=shop&limit=1000")
    assert status == 200
    findings = orjson.loads(body)["findings"]
    assert findings, "the planted card number and e-mail address must give findings"
    for finding in findings:
        assert finding["service"] == "shop" and len(finding["trace_id"]) == 32 and len(finding["span_id"]) == 16
        assert "time" in finding and "route" in finding
    assert CARD.encode() not in body and EMAIL.encode() not in body
    assert orjson.loads(running.get("/api/v1/findings?service=other")[1])["findings"] == []


def test_console_requires_its_token(running: Running) -> None:
    """Wrong token 401, right token 200."""
    assert running.get("/api/v1/findings", token="nope")[0] == 401
    assert running.get("/api/v1/findings")[0] == 200


def test_inventory_follows_the_contract_with_no_raw_value(running: Running) -> None:
    """Raw paths without a route are templated, typed IDs and the e-mail segment never stored raw."""
    running.send(RAW_TRAFFIC)
    status, body = running.get("/api/v1/inventory")
    assert status == 200, body
    assert CARD.encode() not in body and EMAIL.encode() not in body
    document = orjson.loads(body)
    assert isinstance(document["generated_at"], str)
    (service,) = [s for s in document["services"] if s["service"] == "shop"]
    assert CONTRACT_SERVICE_KEYS <= set(service)
    routes = {(e["method"], e["route"]) for e in service["endpoints"]}
    for endpoint in service["endpoints"]:
        assert CONTRACT_ENDPOINT_KEYS <= set(endpoint), set(endpoint) ^ CONTRACT_ENDPOINT_KEYS
        assert endpoint["spec_status"] is None  # no spec
        assert endpoint["calls"] > 0
    assert ("GET", "/api/items/{id}") in routes
    assert ("GET", "/api/users/me") in routes
    assert not any("1001" in route or "1002" in route for _, route in routes)
    orders = [e for e in service["endpoints"] if e["route"].startswith("/api/users/{") and e["route"].endswith("/orders")]
    assert len(orders) == 1 and orders[0]["calls"] == 3
    assert orders[0]["unauthenticated_success"] == 3
    governance_status, governance = running.get("/api/v1/governance")
    assert governance_status == 200 and CARD.encode() not in governance and EMAIL.encode() not in governance


@pytest.mark.parametrize("running", [False], indirect=True)
def test_without_an_inventory_processor_inventory_is_404(running: Running) -> None:
    """The console still serves findings and incidents; the estate endpoints say what is missing."""
    assert running.get("/api/v1/inventory")[0] == 404
    assert running.get("/api/v1/incidents")[0] == 200


def test_off_loopback_needs_a_token(tmp_path: Path) -> None:
    """0.0.0.0 without a bearer token is refused at config time, naming the key."""
    doc = config(tmp_path, free_port(), free_port())
    doc["service"]["console"] = {"address": "0.0.0.0:8890"}
    with pytest.raises(ConfigError, match="service.console.address: 0.0.0.0:8890 is not loopback"):
        parse_config(doc)
