"""estate.drift: documented, shadow, zombie and orphan endpoints, and parameter drift, on edited public specs."""

from __future__ import annotations

import copy
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_apisec.estate.drift import DOCUMENTED, ORPHAN, SHADOW, ZOMBIE, Drift, diff
from otel_apisec.estate.spec import ApiSpec, SpecOperation, SpecParameter, load_spec

_OK = {"responses": {"200": {"description": "ok"}}}


def _load(tmp_path: Path, document: dict[str, Any]) -> ApiSpec:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document))
    return load_spec(path)


@pytest.fixture(scope="session")
def _petstore_document(oas_examples: Path) -> dict[str, Any]:
    return yaml.safe_load((oas_examples / "3.0" / "yaml" / "petstore.yaml").read_text())


@pytest.fixture()
def petstore(tmp_path: Path, _petstore_document: dict[str, Any]) -> ApiSpec:
    """The public Petstore 3.0 (servers: http://petstore.swagger.io/v2), edited: /store/inventory removed.
    GET /pet/findByTags is deprecated as published."""
    document = copy.deepcopy(_petstore_document)
    assert document["paths"]["/pet/findByTags"]["get"]["deprecated"] is True
    del document["paths"]["/store/inventory"]
    return _load(tmp_path, document)


def _spec(*operations: SpecOperation, base_paths: tuple[str, ...] = ("",)) -> ApiSpec:
    return ApiSpec("test", "t", "1", "3.1.0", base_paths, operations)


def _op(method: str, path: str, *parameters: SpecParameter, deprecated: bool = False, open_body: bool = False,
        base_paths: tuple[str, ...] = ()) -> SpecOperation:
    return SpecOperation(method, path, deprecated, parameters, None, open_body, base_paths)


def _status(drift: Drift, method: str, route: str) -> tuple[str, str | None, bool]:
    e = drift.endpoints[(method, route)]
    return e.status, e.spec_path, e.deprecated


# --- the four classes on the public Petstore ----------------------------------------------------
class TestPetstoreClasses:
    def test_every_class(self, petstore: ApiSpec) -> None:
        """Documented, shadow (path gone; method unknown), zombie (deprecated; older version) and orphans."""
        drift = diff([
            ("GET", "/v2/pet/findByStatus", {}),
            ("GET", "/v2/pet/{id}", {}),
            ("PUT", "/v2/pet", {}),
            ("GET", "/v2/pet/findByTags", {}),
            ("GET", "/v2/store/inventory", {}),
            ("PATCH", "/v2/pet/{id}", {}),
            ("GET", "/v1/user/{username}", {}),
            ("GET", "/v2/admin/users", {}),
        ], petstore)
        assert _status(drift, "GET", "/v2/pet/findByStatus") == (DOCUMENTED, "/pet/findByStatus", False)
        assert _status(drift, "GET", "/v2/pet/{id}") == (DOCUMENTED, "/pet/{petId}", False)
        assert _status(drift, "PUT", "/v2/pet") == (DOCUMENTED, "/pet", False)
        assert _status(drift, "GET", "/v2/pet/findByTags") == (ZOMBIE, "/pet/findByTags", True)
        assert _status(drift, "GET", "/v2/store/inventory") == (SHADOW, None, False)
        assert _status(drift, "PATCH", "/v2/pet/{id}") == (SHADOW, "/pet/{petId}", False)
        assert _status(drift, "GET", "/v1/user/{username}") == (ZOMBIE, "/user/{username}", False)
        assert _status(drift, "GET", "/v2/admin/users") == (SHADOW, None, False)

        orphans = {(o.method, o.route) for o in drift.orphans}
        assert ("POST", "/v2/pet") in orphans and ("DELETE", "/v2/pet/{petId}") in orphans
        assert ("GET", "/v2/user/{username}") not in orphans  # called, through the older version
        assert ("GET", "/v2/store/inventory") not in orphans  # not in the edited spec at all
        assert not {("GET", "/v2/pet/findByStatus"), ("GET", "/v2/pet/{petId}"),
                    ("PUT", "/v2/pet"), ("GET", "/v2/pet/findByTags")} & orphans
        assert len(drift.orphans) == len(petstore.operations) - 5
        assert drift.counts() == {DOCUMENTED: 3, SHADOW: 3, ZOMBIE: 2, ORPHAN: len(petstore.operations) - 5}

    def test_deprecated_orphan(self, petstore: ApiSpec) -> None:
        """A deprecated operation nobody calls is an orphan that says it is deprecated."""
        orphan = next(o for o in diff([], petstore).orphans if o.spec_path == "/pet/findByTags")
        assert (orphan.method, orphan.route, orphan.deprecated, orphan.operation_id) == (
            "GET", "/v2/pet/findByTags", True, "findPetsByTags")

    def test_literal_routes_and_raw_values(self, petstore: ApiSpec) -> None:
        """Literal values match spec parameters; the most literal template wins."""
        drift = diff([("GET", "/v2/pet/42", {}), ("GET", "/v2/user/login", {}),
                      ("GET", "/v2/user/alice", {}), ("POST", "/v2/pet/7/uploadImage", {})], petstore)
        assert _status(drift, "GET", "/v2/pet/42")[:2] == (DOCUMENTED, "/pet/{petId}")
        assert _status(drift, "GET", "/v2/user/login")[:2] == (DOCUMENTED, "/user/login")
        assert _status(drift, "GET", "/v2/user/alice")[:2] == (DOCUMENTED, "/user/{username}")
        assert _status(drift, "POST", "/v2/pet/7/uploadImage")[:2] == (DOCUMENTED, "/pet/{petId}/uploadImage")

    def test_swagger2_base_path_versions(self, oas_examples: Path) -> None:
        """Petstore 2.0 (basePath /v2): /v1 calls are zombies, /v3 calls shadows, a stripped prefix still matches."""
        spec = load_spec(oas_examples / "2.0" / "json" / "petstore.json")
        drift = diff([("GET", "/v2/pet/{petId}", {}), ("GET", "/v1/pet/{petId}", {}), ("GET", "/v3/pet/{petId}", {}),
                      ("GET", "/pet/{petId}", {}), ("DELETE", "/v1/store/order/{id}", {})], spec)
        assert _status(drift, "GET", "/v2/pet/{petId}")[0] == DOCUMENTED
        assert _status(drift, "GET", "/v1/pet/{petId}") == (ZOMBIE, "/pet/{petId}", False)
        assert _status(drift, "GET", "/v3/pet/{petId}") == (SHADOW, "/pet/{petId}", False)
        assert _status(drift, "GET", "/pet/{petId}")[0] == DOCUMENTED
        assert _status(drift, "DELETE", "/v1/store/order/{id}")[0] == ZOMBIE
        assert all(o.route.startswith("/v2/") for o in drift.orphans)

    def test_versions_in_paths(self, tmp_path: Path) -> None:
        """Versions inside the spec's paths: v1 deprecated and still there, v2 current."""
        document = {"openapi": "3.0.3", "info": {"title": "t", "version": "2"}, "paths": {
            "/v1/users/{id}": {"get": {**_OK, "deprecated": True, "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]}},
            "/v2/users/{id}": {"get": {**_OK, "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]}},
            "/v2/orders": {"get": _OK}}}
        drift = diff([("GET", "/v1/users/{id}", {}), ("GET", "/v2/users/{id}", {}), ("GET", "/v1/orders", {})],
                     _load(tmp_path, document))
        assert _status(drift, "GET", "/v1/users/{id}") == (ZOMBIE, "/v1/users/{id}", True)
        assert _status(drift, "GET", "/v2/users/{id}") == (DOCUMENTED, "/v2/users/{id}", False)
        assert _status(drift, "GET", "/v1/orders") == (ZOMBIE, "/v2/orders", False)
        assert drift.orphans == ()


# --- parameter drift ----------------------------------------------------------------------------
class TestParameterDrift:
    def test_petstore(self, petstore: ApiSpec) -> None:
        """Undocumented query/header/body keys and contradicted types, each named with where and what."""
        drift = diff([
            ("GET", "/v2/pet/findByStatus", {"query:status": {"string": 5}, "query:limit": {"integer": 2}}),
            ("GET", "/v2/pet/{id}", {"path:id": {"string": 1, "integer": 9}, "header:api_key": {"string": 3},
                                     "header:x-debug": {"boolean": 1}}),
            ("POST", "/v2/pet", {"body:name": {"string": 1}, "body:id": {"string": 1},
                                 "body:is_admin": {"boolean": 1}, "body:category": {"null": 1}}),
            ("POST", "/v2/pet/{petId}/uploadImage", {"body:additionalMetadata": {"string": 1}, "body:file": {"string": 1}}),
            ("GET", "/v2/user/login", {"query:username": {"integer": 1}, "query:password": {"string": 1}}),
            ("GET", "/v2/pet/findByTags", {"query:tags": {"string": 1}, "query:page": {"integer": 1}}),
        ], petstore)
        drifts = {route: list(e.parameter_drift) for (_, route), e in drift.endpoints.items()}
        assert drifts["/v2/pet/findByStatus"] == [
            {"name": "limit", "in": "query", "issue": "undocumented", "seen": "integer", "documented": None}]
        assert drifts["/v2/pet/{id}"] == [
            {"name": "x-debug", "in": "header", "issue": "undocumented", "seen": "boolean", "documented": None},
            {"name": "petId", "in": "path", "issue": "type_mismatch", "seen": "string", "documented": "integer"}]
        assert drifts["/v2/pet"] == [
            {"name": "id", "in": "body", "issue": "type_mismatch", "seen": "string", "documented": "integer"},
            {"name": "is_admin", "in": "body", "issue": "undocumented", "seen": "boolean", "documented": None}]
        assert drifts["/v2/pet/{petId}/uploadImage"] == []  # multipart/form-data fields are documented body keys
        assert drifts["/v2/user/login"] == []  # integers are strings too
        assert drifts["/v2/pet/findByTags"] == [  # a zombie is still checked
            {"name": "page", "in": "query", "issue": "undocumented", "seen": "integer", "documented": None}]

    def test_open_body(self, oas_examples: Path) -> None:
        """Petstore 3.1 uploads an octet-stream body that lists no keys: no body key is undocumented."""
        spec = load_spec(oas_examples / "3.1" / "json" / "petstore.json")
        drift = diff([("POST", "/v2/pet/{petId}/uploadImage", {"body:anything": {"string": 1}, "query:tag": {"string": 1}})],
                     spec)
        assert drift.endpoints[("POST", "/v2/pet/{petId}/uploadImage")].parameter_drift == (
            {"name": "tag", "in": "query", "issue": "undocumented", "seen": "string", "documented": None},)

    def test_literal_path_values_are_typed(self, petstore: ApiSpec) -> None:
        """A literal in the route is checked against the spec's parameter type."""
        drift = diff([("GET", "/v2/store/order/abc", {}), ("GET", "/v2/store/order/5", {})], petstore)
        assert drift.endpoints[("GET", "/v2/store/order/abc")].parameter_drift == (
            {"name": "orderId", "in": "path", "issue": "type_mismatch", "seen": "string", "documented": "integer"},)
        assert drift.endpoints[("GET", "/v2/store/order/5")].parameter_drift == ()

    @pytest.mark.parametrize(("location", "documented", "item", "seen", "drifts"), [
        ("query", "string", None, "integer", False),
        ("query", "integer", None, "string", True),
        ("query", "number", None, "integer", False),
        ("query", "boolean", None, "string", True),
        ("query", "array", "integer", "integer", False),
        ("query", "array", "integer", "string", True),
        ("query", None, None, "string", False),
        ("header", "integer", None, "number", True),
        ("body", "string", None, "integer", True),
        ("body", "number", None, "integer", False),
        ("body", "integer", None, "number", True),
        ("body", "object", None, "array", True),
        ("body", "string", None, "null", False),
        ("body", "string", None, "any", False),
        ("body", "file", None, "string", False),
    ])
    def test_type_rules(self, location: str, documented: str | None, item: str | None, seen: str,
                        drifts: bool) -> None:
        """Text values of a string parameter never mismatch; JSON body types must agree (number holds integer)."""
        spec = _spec(_op("GET", "/x", SpecParameter("p", location, documented, False, item)))
        entries = diff([("GET", "/x", {f"{location}:p": {seen: 1}})], spec).endpoints[("GET", "/x")].parameter_drift
        assert bool(entries) is drifts
        if drifts:
            expected = f"array[{item}]" if documented == "array" else documented
            assert entries == ({"name": "p", "in": location, "issue": "type_mismatch", "seen": seen,
                                "documented": expected},)

    def test_headers_are_case_insensitive(self) -> None:
        """`X-Request-Id` in the spec documents `x-request-id` in traffic."""
        spec = _spec(_op("GET", "/x", SpecParameter("x-request-id", "header", "string")))
        assert diff([("GET", "/x", {"header:x-request-id": {"string": 1}})], spec).endpoints[
            ("GET", "/x")].parameter_drift == ()

    def test_shadow_has_no_parameter_drift(self) -> None:
        """Nothing to compare against on an undocumented endpoint."""
        drift = diff([("GET", "/nope", {"query:a": {"string": 1}})], _spec(_op("GET", "/x")))
        assert drift.endpoints[("GET", "/nope")].parameter_drift == ()


# --- matching -----------------------------------------------------------------------------------
class TestMatching:
    def test_most_literal_at_the_earliest_segment(self) -> None:
        """Among matching templates the one literal earliest wins, whatever the spec's order."""
        spec = _spec(_op("GET", "/{y}/b/c"), _op("GET", "/a/{x}/c"), _op("GET", "/{p}/{q}/{r}"))
        drift = diff([("GET", "/a/b/c", {}), ("GET", "/z/b/c", {}), ("GET", "/z/z/z", {})], spec)
        assert [drift.endpoints[("GET", r)].spec_path for r in ("/a/b/c", "/z/b/c", "/z/z/z")] == [
            "/a/{x}/c", "/{y}/b/c", "/{p}/{q}/{r}"]

    def test_prefers_a_template_with_the_method(self) -> None:
        """A literal path without the method yields to a parameter path that has it."""
        spec = _spec(_op("GET", "/pet/findByStatus"), _op("DELETE", "/pet/{petId}"))
        drift = diff([("DELETE", "/pet/findByStatus", {})], spec)
        assert _status(drift, "DELETE", "/pet/findByStatus") == (DOCUMENTED, "/pet/{petId}", False)

    def test_literal_spec_segment_needs_the_same_literal(self) -> None:
        """A route parameter never matches a literal spec segment (`/users/{id}` is not `/users/me`)."""
        drift = diff([("GET", "/users/{id}", {})], _spec(_op("GET", "/users/me")))
        assert _status(drift, "GET", "/users/{id}") == (SHADOW, None, False)

    @pytest.mark.parametrize("route", ["/files/{id}", "/files/<int:id>", "/files/:id", "/files/7/", "//files//7"])
    def test_route_spellings(self, route: str) -> None:
        """Framework placeholder styles, trailing and doubled slashes."""
        assert diff([("GET", route, {})], _spec(_op("GET", "/files/{fileId}"))).endpoints[
            ("GET", route)].status == DOCUMENTED

    @pytest.mark.parametrize(("route", "status"), [
        ("/files/report.pdf", DOCUMENTED), ("/files/a.b.c", DOCUMENTED), ("/files/report", SHADOW),
        ("/files/.pdf", SHADOW), ("/files/report.", SHADOW), ("/reports/2024.json", DOCUMENTED),
        ("/reports/2024.xml", SHADOW),
    ])
    def test_segment_patterns(self, route: str, status: str) -> None:
        """Templates with literal text around parameters (`{name}.{ext}`, `{year}.json`)."""
        spec = _spec(_op("GET", "/files/{name}.{ext}"), _op("GET", "/reports/{year}.json"))
        assert diff([("GET", route, {})], spec).endpoints[("GET", route)].status == status

    def test_head_is_served_by_get(self) -> None:
        """HEAD on a documented GET is documented."""
        drift = diff([("HEAD", "/x", {}), ("head", "/y", {})], _spec(_op("GET", "/x"), _op("GET", "/y")))
        assert drift.endpoints[("HEAD", "/x")].status == DOCUMENTED
        assert drift.endpoints[("head", "/y")].status == DOCUMENTED  # keyed as given, matched in upper case

    def test_orphans_take_the_base_path_traffic_uses(self) -> None:
        """With several servers, an orphan is shown under the base path that the calls used."""
        spec = _spec(_op("GET", "/a"), _op("GET", "/b"), _op("GET", "/c", base_paths=("/uploads",)),
                     base_paths=("/api", "/staging"))
        assert [o.route for o in diff([("GET", "/staging/a", {})], spec).orphans] == ["/staging/b", "/uploads/c"]
        assert [o.route for o in diff([], spec).orphans] == ["/api/a", "/api/b", "/uploads/c"]

    def test_root_path(self) -> None:
        """`/` under an empty base path is called as `/`."""
        drift = diff([], _spec(_op("GET", "/")))
        assert [o.route for o in drift.orphans] == ["/"]
        assert diff([("GET", "/", {})], _spec(_op("GET", "/"))).endpoints[("GET", "/")].status == DOCUMENTED

    def test_deterministic(self, petstore: ApiSpec) -> None:
        """The same observations in any order give the same result."""
        observed = [("GET", f"/v2/{p}", {"query:q": {"string": 1}}) for p in
                    ("pet/{id}", "user/{u}", "store/order/{o}", "nope", "pet/findByStatus", "v1/x")]
        first = diff(observed, petstore)
        shuffled = observed[:]
        random.Random(7).shuffle(shuffled)
        second = diff(shuffled, petstore)
        assert first.orphans == second.orphans
        assert {k: v for k, v in first.endpoints.items()} == {k: v for k, v in second.endpoints.items()}

    def test_bounded_work(self) -> None:
        """Long routes and parameter-heavy specs take bounded time."""
        operations = [_op("GET", "/" + "/".join(f"{{p{i}}}" if (i + j) % 2 else f"s{i}" for i in range(40)))
                      for j in range(50)]
        operations.append(_op("GET", "/" + "/".join(f"{{p{i}}}" for i in range(40))))
        spec = _spec(*operations)
        routes = ["/" + "/".join(f"s{i}" for i in range(40)), "/x" * 10_000, "/" + "/".join("{id}" for _ in range(40))]
        start = time.perf_counter()
        drift = diff([("GET", r, {}) for r in routes], spec)
        assert time.perf_counter() - start < 2
        assert drift.endpoints[("GET", "/x" * 10_000)].status == SHADOW
        assert drift.endpoints[("GET", routes[2])].status == DOCUMENTED
