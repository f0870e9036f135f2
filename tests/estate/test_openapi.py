"""estate.openapi: the OpenAPI 3.1 document rebuilt from traffic validates, says what was seen, and nothing more."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from otel_apisec.estate import schema
from otel_apisec.estate.drift import DOCUMENTED, diff
from otel_apisec.estate.facts import CallFacts
from otel_apisec.estate.inventory import Endpoint, ServiceEstate
from otel_apisec.estate.openapi import OPENAPI_VERSION, build_openapi
from otel_apisec.estate.record import EndpointRecord
from otel_apisec.estate.spec import load_spec

T0 = 1_717_243_200.0  # 2024-06-01T12:00:00Z


def _record(method: str, route: str, *calls: dict[str, Any]) -> EndpointRecord:
    """A record fed through the real `EndpointRecord.add`, one CallFacts per dict of overrides."""
    record = EndpointRecord(method, route, True)
    for i, overrides in enumerate(calls):
        fields = {"status": 200, "scheme": "https", **overrides}
        path_parameters = fields.pop("path_parameters", ())
        facts = CallFacts(service="svc", method=method, route=route, path=route, time_s=T0 + i, **fields)
        record.add(facts, path_parameters)
    return record


def _service(*endpoints: tuple[str, str, EndpointRecord], name: str = "shop") -> ServiceEstate:
    return ServiceEstate(name, [Endpoint(name, method, route, record) for method, route, record in endpoints])


def _built(service: ServiceEstate) -> dict[str, Any]:
    document = build_openapi(service)
    validate(document)  # openapi-spec-validator, OpenAPI 3.1
    return document


class TestShapes:
    def test_two_path_parameters(self) -> None:
        """`/orgs/{org}/users/{id}`: both declared, typed from the values seen, with body and response schemas."""
        record = _record("PUT", "/orgs/{org}/users/{id}",
                         {"path_parameters": (("org", "string"), ("id", "integer")), "auth_scheme": "bearer",
                          "request_schema": schema.infer({"name": "Ann", "age": 31}),
                          "response_schema": schema.infer({"id": 7, "email": "ann@example.com"}),
                          "response_media_type": "application/json; charset=utf-8"},
                         {"path_parameters": (("org", "string"), ("id", "integer")), "status": 404,
                          "auth_scheme": "bearer"})
        document = _built(_service(("PUT", "/orgs/{org}/users/{id}", record)))
        assert document["openapi"] == OPENAPI_VERSION == "3.1.0"
        operation = document["paths"]["/orgs/{org}/users/{id}"]["put"]
        assert operation["parameters"] == [
            {"name": "org", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"] == {
            "age": {"type": "integer"}, "name": {"type": "string"}}
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["email"] == {
            "format": "email", "type": "string"}
        assert "content" not in operation["responses"]["404"]
        assert operation["security"] == [{"bearerAuth": []}]
        assert (operation["x-calls"], operation["x-first-seen"], operation["x-last-seen"]) == (
            2, "2024-06-01T12:00:00.000Z", "2024-06-01T12:00:01.000Z")
        assert operation["responses"]["200"]["x-calls"] == 1
        assert document["components"]["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer"}}

    def test_no_success_at_all(self) -> None:
        """A route that only ever failed: its responses, no content, still valid."""
        record = _record("DELETE", "/items/{id}", {"status": 500}, {"status": 403},
                         {"status": 403, "response_schema": schema.infer({"error": "no"})})
        operation = _built(_service(("DELETE", "/items/{id}", record)))["paths"]["/items/{id}"]["delete"]
        assert sorted(operation["responses"]) == ["403", "500"]
        assert all("content" not in r for r in operation["responses"].values())

    def test_odd_names(self) -> None:
        """Odd query, header and path parameter names are kept (path names made template-safe), and valid."""
        record = _record("GET", "/search/{user name}/{id}/{id}/<int:n>",
                         {"query": (("user[name]", "string"), ("a b", "integer"), ("naïve", "boolean"),
                                    ("", "string")),
                          "request_headers": (("x-weird.header", "string"), ("accept", "string"),
                                              ("content-type", "string"))})
        document = _built(_service(("GET", "/search/{user name}/{id}/{id}/<int:n>", record)))
        (path, item), = document["paths"].items()
        assert path == "/search/{user_name}/{id}/{id2}/{n}"
        names = [(p["in"], p["name"]) for p in item["get"]["parameters"]]
        assert names == [("path", "user_name"), ("path", "id"), ("path", "id2"), ("path", "n"),
                         ("query", "a b"), ("query", "naïve"), ("query", "user[name]"), ("header", "x-weird.header")]

    def test_status_codes_outside_http(self) -> None:
        """Codes OpenAPI cannot name go to `default`; an endpoint without any status gets `default` alone."""
        odd = _record("GET", "/odd", {"status": 999}, {"status": 200})
        silent = _record("GET", "/silent", {"status": None})
        document = _built(_service(("GET", "/odd", odd), ("GET", "/silent", silent)))
        assert sorted(document["paths"]["/odd"]["get"]["responses"]) == ["200", "default"]
        assert list(document["paths"]["/silent"]["get"]["responses"]) == ["default"]

    def test_one_path_per_shape(self) -> None:
        """`/pets/{id}` and `/pets/{petId}` are one OpenAPI path (its first spelling); methods stay apart."""
        a = _record("GET", "/pets/{id}", {"path_parameters": (("id", "integer"),)})
        b = _record("DELETE", "/pets/{petId}", {"path_parameters": (("petId", "string"),)})
        c = _record("GET", "/pets/{petId}", {"path_parameters": (("petId", "string"),)})
        document = _built(_service(("GET", "/pets/{id}", a), ("DELETE", "/pets/{petId}", b), ("GET", "/pets/{petId}", c)))
        assert list(document["paths"]) == ["/pets/{id}"]
        item = document["paths"]["/pets/{id}"]
        assert sorted(item) == ["delete", "get"]
        assert item["get"]["x-calls"] == 2
        assert item["get"]["parameters"][0] == {"name": "id", "in": "path", "required": True,
                                                "schema": {"type": "string"}}  # integer and string seen
        assert item["delete"]["parameters"][0]["name"] == "id"

    def test_operation_ids_unique(self) -> None:
        """Routes that spell the same words still get distinct operationIds."""
        endpoints = [(m, r, _record(m, r, {})) for m, r in
                     (("GET", "/a-b"), ("GET", "/a_b"), ("GET", "/ab"), ("POST", "/a-b"), ("GET", "/a.b"))]
        document = _built(_service(*endpoints))
        ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
        assert len(ids) == len(set(ids)) == 5

    def test_orphans_left_out(self) -> None:
        """Endpoints never called (spec orphans) are not in the rebuilt document."""
        called = _record("GET", "/a", {})
        document = _built(_service(("GET", "/a", called), ("GET", "/never", EndpointRecord("GET", "/never", True))))
        assert list(document["paths"]) == ["/a"]

    def test_empty_service(self) -> None:
        """A service without calls is a valid document with no paths."""
        assert _built(_service())["paths"] == {}

    def test_other_methods(self) -> None:
        """A method OpenAPI 3.1 has no field for is kept as an extension, and the document stays valid."""
        document = _built(_service(("PROPFIND", "/dav", _record("PROPFIND", "/dav", {}))))
        assert list(document["paths"]["/dav"]["x-other-operations"]) == ["PROPFIND"]


class TestSecurity:
    def test_schemes(self) -> None:
        """bearer/basic/digest -> http; api_key -> apiKey in the header seen; cookie -> apiKey in cookie; other ignored."""
        endpoints = [
            ("GET", "/b", _record("GET", "/b", {"auth_scheme": "bearer"})),
            ("GET", "/ba", _record("GET", "/ba", {"auth_scheme": "basic"})),
            ("GET", "/d", _record("GET", "/d", {"auth_scheme": "digest"})),
            ("GET", "/k", _record("GET", "/k", {"auth_scheme": "api_key",
                                                "request_headers": (("x-api-key", "string"), ("x-req", "string"))})),
            ("GET", "/c", _record("GET", "/c", {"auth_scheme": "session_cookie"})),
            ("GET", "/o", _record("GET", "/o", {"auth_scheme": "other"})),
        ]
        document = _built(_service(*endpoints))
        assert document["components"]["securitySchemes"] == {
            "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "basicAuth": {"type": "http", "scheme": "basic"},
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
            "digestAuth": {"type": "http", "scheme": "digest"},
        }
        key_op = document["paths"]["/k"]["get"]
        assert key_op["security"] == [{"apiKeyAuth": []}]
        assert [p["name"] for p in key_op["parameters"]] == ["x-req"]  # the key header is the scheme, not a parameter
        assert "security" not in document["paths"]["/o"]["get"]

    def test_anonymous_success(self) -> None:
        """An endpoint that also answered 2xx without credentials lists the empty requirement."""
        record = _record("GET", "/mixed", {"auth_scheme": "bearer"}, {"auth_scheme": "none"})
        operation = _built(_service(("GET", "/mixed", record)))["paths"]["/mixed"]["get"]
        assert operation["security"] == [{"bearerAuth": []}, {}]

    def test_no_auth_no_components(self) -> None:
        """Without any scheme seen there is no components section and no security."""
        document = _built(_service(("GET", "/open", _record("GET", "/open", {}))))
        assert "components" not in document and "security" not in document["paths"]["/open"]["get"]


class TestDocument:
    def _petstore_traffic(self) -> list[tuple[str, str, EndpointRecord]]:
        return [
            ("GET", "/api/v3/pet/findByStatus", _record("GET", "/api/v3/pet/findByStatus",
                                                       {"query": (("status", "string"),),
                                                        "response_schema": schema.infer([{"id": 1, "name": "Rex"}])})),
            ("GET", "/api/v3/pet/{petId}", _record("GET", "/api/v3/pet/{petId}",
                                                   {"path_parameters": (("petId", "integer"),),
                                                    "auth_scheme": "api_key",
                                                    "request_headers": (("api_key", "string"),)})),
            ("POST", "/api/v3/pet", _record("POST", "/api/v3/pet",
                                            {"request_schema": schema.infer({"name": "Rex", "photoUrls": ["u"]}),
                                             "status": 201})),
        ]

    def test_deterministic(self) -> None:
        """Same estate, any endpoint order: the same bytes."""
        endpoints = self._petstore_traffic()
        first = json.dumps(build_openapi(_service(*endpoints)))
        shuffled = endpoints[:]
        random.Random(3).shuffle(shuffled)
        assert json.dumps(build_openapi(_service(*shuffled))) == first

    def test_no_values(self) -> None:
        """Bodies' values never reach the document; their names do."""
        text = json.dumps(_built(_service(*self._petstore_traffic())))
        assert "photoUrls" in text and "Rex" not in text

    def test_spec_facts_carried(self) -> None:
        """A deprecated, documented endpoint says so."""
        record = _record("GET", "/old", {})
        service = ServiceEstate("svc", [Endpoint("svc", "GET", "/old", record, "zombie", "/old", True)])
        operation = _built(service)["paths"]["/old"]["get"]
        assert operation["deprecated"] is True and operation["x-spec-status"] == "zombie"

    def test_round_trip(self, tmp_path: Path) -> None:
        """The rebuilt document loads as a spec, and the same traffic is documented by it, without drift."""
        endpoints = self._petstore_traffic()
        path = tmp_path / "rebuilt.json"
        path.write_text(json.dumps(build_openapi(_service(*endpoints))))
        spec = load_spec(path)
        drift = diff([(m, r, rec.parameters) for m, r, rec in endpoints], spec)
        assert {e.status for e in drift.endpoints.values()} == {DOCUMENTED}
        assert all(e.parameter_drift == () for e in drift.endpoints.values())
        assert drift.orphans == ()

    @pytest.mark.parametrize("name", ["", "service with spaces", "ünïcode"])
    def test_titles(self, name: str) -> None:
        """Any service name makes a valid title."""
        assert _built(_service(name=name))["info"]["title"] == (name or "unknown_service")
