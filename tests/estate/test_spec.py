"""estate.spec: OpenAPI 2.0 / 3.0 / 3.1 documents reduced to operations, with clear errors and bounds."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_apisec.estate import spec as spec_module
from otel_apisec.estate.spec import ApiSpec, SpecError, SpecOperation, load_spec, normalize_path


def _op(spec: ApiSpec, method: str, path: str) -> SpecOperation:
    return next(o for o in spec.operations if o.method == method and o.path == path)


def _params(op: SpecOperation) -> set[tuple[str, str, str | None]]:
    return {(p.location, p.name, p.type) for p in op.parameters}


def _write(tmp_path: Path, document: Any, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document, sort_keys=False))
    return path


def _minimal(**paths: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}


_OK = {"responses": {"200": {"description": "ok"}}}


# --- the public documents (npm @readme/oas-examples, see tests/testdata/openapi/README.md) ------
class TestPublicSpecs:
    def test_petstore_v3(self, oas_examples: Path) -> None:
        """Swagger Petstore 3.0 (YAML): the server's base path, $ref bodies, multipart and array parameters."""
        spec = load_spec(oas_examples / "3.0" / "yaml" / "petstore.yaml")
        assert (spec.openapi, spec.title, spec.base_paths) == ("3.0.0", "Swagger Petstore", ("/v2",))
        assert len(spec.operations) == 20
        status = _op(spec, "GET", "/pet/findByStatus").parameter("query", "status")
        assert (status.type, status.item_type, status.required) == ("array", "string", True)  # type: ignore[union-attr]
        get_pet = _op(spec, "GET", "/pet/{petId}")
        assert _params(get_pet) == {("path", "petId", "integer"), ("header", "api_key", "string")}
        assert get_pet.operation_id == "getPetById" and not get_pet.deprecated
        assert _op(spec, "GET", "/pet/findByTags").deprecated
        add = _op(spec, "POST", "/pet")  # requestBody: $ref to components.requestBodies, schema $ref
        assert {(p.name, p.type, p.required) for p in add.parameters if p.location == "body"} >= {
            ("name", "string", True), ("photoUrls", "array", True), ("id", "integer", False)}
        assert add.parameter("body", "photoUrls").item_type == "string"  # type: ignore[union-attr]
        assert not add.open_body
        upload = _op(spec, "POST", "/pet/{petId}/uploadImage")  # multipart/form-data fields are body keys
        assert _params(upload) == {("path", "petId", "integer"), ("body", "additionalMetadata", "string"),
                                   ("body", "file", "string")}
        assert not upload.open_body
        assert _params(_op(spec, "GET", "/user/login")) == {("query", "username", "string"),
                                                             ("query", "password", "string")}

    def test_petstore_v2(self, oas_examples: Path) -> None:
        """Swagger Petstore 2.0 (JSON): basePath, `in: body` via $ref, formData fields, array query items."""
        spec = load_spec(str(oas_examples / "2.0" / "json" / "petstore.json"))
        assert (spec.openapi, spec.base_paths, len(spec.operations)) == ("2.0", ("/v2",), 20)
        assert _op(spec, "GET", "/pet/findByStatus").parameter("query", "status").item_type == "string"  # type: ignore[union-attr]
        assert _params(_op(spec, "POST", "/pet/{petId}")) == {("path", "petId", "integer"), ("body", "name", "string"),
                                                               ("body", "status", "string")}
        assert ("body", "photoUrls", "array") in _params(_op(spec, "PUT", "/pet"))
        assert ("body", "username", "string") in _params(_op(spec, "POST", "/user/createWithList"))  # array body
        assert ("body", "file", "file") in _params(_op(spec, "POST", "/pet/{petId}/uploadImage"))
        assert _op(spec, "DELETE", "/pet/{petId}").parameter("header", "api_key") is not None

    def test_absolute_server_url(self, oas_examples: Path) -> None:
        """A server URL with a host gives its path as the base path."""
        assert load_spec(oas_examples / "3.0" / "json" / "petstore-expanded.json").base_paths == ("/api",)

    def test_server_variables(self, oas_examples: Path) -> None:
        """`{scheme}://developer.uspto.gov/ds-api`: variables take their defaults; path parameters lead the path."""
        spec = load_spec(oas_examples / "3.0" / "json" / "uspto.json")
        assert spec.base_paths == ("/ds-api",)
        assert _params(_op(spec, "POST", "/{dataset}/{version}/records")) >= {("path", "dataset", "string"),
                                                                               ("body", "rows", "integer")}

    def test_server_variables_at_every_level(self, oas_examples: Path) -> None:
        """Variables in API-, path- and operation-level server URLs; the operation's servers win over the path's."""
        spec = load_spec(oas_examples / "3.0" / "json" / "server-variables.json")
        assert spec.base_paths == ("/v2", "/v1")  # `{basePath}` defaults; a repeated one is kept once
        assert [(o.method, o.path, o.base_paths) for o in spec.operations] == [
            ("POST", "/global", ()),
            ("POST", "/operation", ("/anything/demo", "/anything/alt/demo")),
            ("PUT", "/path", ("/anything/common/demo", "/anything/alt-common/demo")),
            ("PUT", "/combo", ("/anything/demo", "/anything/alt/demo"))]

    def test_path_level_servers(self, oas_examples: Path) -> None:
        """Relative and absolute path/operation servers, a $ref'd path item, and empty `servers` lists (inherit)."""
        spec = load_spec(oas_examples / "3.0" / "json" / "server-path-level.json")
        assert {o.path: o.base_paths for o in spec.operations} == {
            "/relative-path-server": ("/v2",), "/relative-operation-server": ("/v3",),
            "/operation-server-variables": ("/v3",), "/path-item-ref-server": ("",),
            "/path-item-server-source": ("",), "/empty-operation-servers": ("",), "/empty-path-item-servers": ()}

    def test_common_parameters(self, oas_examples: Path) -> None:
        """Path-level parameters shared by the path's operations, a $ref'd parameter, two path parameters in one path,
        and an operation's own parameter overriding the path's."""
        spec = load_spec(oas_examples / "3.0" / "json" / "parameters-common.json")
        assert _params(_op(spec, "GET", "/anything/{id}")) == {("path", "id", "number"), ("header", "x-extra-id", "string")}
        assert _params(_op(spec, "POST", "/anything/{id}")) == {("path", "id", "number"), ("header", "x-extra-id", "string"),
                                                                 ("query", "limit", "integer")}
        assert _params(_op(spec, "GET", "/anything/{id}/{action}")) == {("path", "id", "number"), ("path", "action", "string")}
        assert _params(_op(spec, "GET", "/anything/{id}/override")) == {("path", "id", "string")}

    def test_openapi_31(self, oas_examples: Path) -> None:
        """Petstore 3.1: base path, `parameters: []`, an octet-stream body that lists no keys (open)."""
        spec = load_spec(oas_examples / "3.1" / "json" / "petstore.json")
        assert (spec.openapi, spec.base_paths, len(spec.operations)) == ("3.1.0", ("/v2",), 20)
        assert _params(_op(spec, "POST", "/pet/{petId}/uploadImage")) == {("path", "petId", "integer")}
        assert _op(spec, "POST", "/pet/{petId}/uploadImage").open_body
        assert ("body", "photoUrls", "array") in _params(_op(spec, "POST", "/pet"))

    def test_openapi_31_two_path_parameters(self, oas_examples: Path) -> None:
        """ReadMe's API (3.1): two path parameters in one path, declared in either order."""
        spec = load_spec(oas_examples / "3.1" / "json" / "readme.json")
        assert spec.openapi == "3.1.0" and spec.base_paths == ("/v2",)
        for method in ("GET", "DELETE"):
            assert {("path", "subdomain", "string"), ("path", "api_key_id", "string")} <= _params(
                _op(spec, method, "/projects/{subdomain}/apikeys/{api_key_id}"))

    def test_webhooks_only(self, oas_examples: Path) -> None:
        """A 3.1 document with webhooks and no paths has no operations a client calls."""
        spec = load_spec(oas_examples / "3.1" / "json" / "webhooks.json")
        assert spec.openapi == "3.1.0" and spec.operations == () and spec.base_paths == ("",)

    def test_invalid_v2_names_the_place(self, oas_examples: Path, tmp_path: Path) -> None:
        """Petstore 2.0 with `default: available` on its array parameter fails with file, JSON path and message."""
        document = json.loads((oas_examples / "2.0" / "json" / "petstore.json").read_text())
        document["paths"]["/pet/findByStatus"]["get"]["parameters"][0]["default"] = "available"
        path = _write(tmp_path, document, "petstore-v2-invalid.json")
        with pytest.raises(SpecError) as caught:
            load_spec(path)
        message = str(caught.value)
        assert message.startswith(str(path) + ": invalid OpenAPI 2.0 at ")
        assert "$.paths['/pet/findByStatus'].get.parameters[0]" in message
        assert "'available' is not of type 'array'" in message
        assert "\n" not in message

    def test_invalid_v31_names_the_place(self, oas_examples: Path, tmp_path: Path) -> None:
        """Petstore 3.1 with a `$ref: null` deep in a response schema: the error points at it."""
        document = yaml.safe_load((oas_examples / "3.1" / "yaml" / "petstore.yaml").read_text())
        media = document["paths"]["/pet/findByStatus"]["get"]["responses"]["200"]["content"]["application/json"]
        media["schema"]["items"]["$ref"] = None
        with pytest.raises(SpecError, match=r"invalid OpenAPI 3\.1\.0 at \$\.paths\['/pet/findByStatus'\]\.get\.responses"
                                            r".*\.items\['\$ref'\]: None is not of type 'string'"):
            load_spec(_write(tmp_path, document))


# --- reading the structure ----------------------------------------------------------------------
class TestStructure:
    def test_operation_parameters_override_path_parameters(self, tmp_path: Path) -> None:
        """Path-level parameters apply to each operation; an operation's own of the same name and place wins."""
        doc = _minimal(**{"/items/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}],
            "get": {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    **_OK},
            "delete": {**_OK, "deprecated": True},
        }})
        spec = load_spec(_write(tmp_path, doc))
        assert _params(_op(spec, "GET", "/items/{id}")) == {("path", "id", "integer"), ("header", "x-trace", "string")}
        delete = _op(spec, "DELETE", "/items/{id}")
        assert _params(delete) == {("path", "id", "string"), ("header", "x-trace", "string")}
        assert delete.deprecated and not _op(spec, "GET", "/items/{id}").deprecated

    def test_refs_everywhere(self, tmp_path: Path) -> None:
        """$ref'd path items, parameters, schemas, request bodies and composed schemas (allOf, 3.1 null types)."""
        doc = {
            "openapi": "3.1.0", "info": {"title": "t", "version": "2"},
            "paths": {"/users": {"$ref": "#/components/pathItems/Users"}},
            "components": {
                "pathItems": {"Users": {"post": {"parameters": [{"$ref": "#/components/parameters/Limit"}],
                                                 "requestBody": {"$ref": "#/components/requestBodies/User"}, **_OK}}},
                "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"$ref": "#/components/schemas/Int"}}},
                "requestBodies": {"User": {"content": {"application/json": {"schema": {
                    "allOf": [{"$ref": "#/components/schemas/Base"},
                              {"type": "object", "required": ["name"],
                               "properties": {"name": {"type": ["string", "null"]}}}]}}}}},
                "schemas": {"Int": {"type": "integer"},
                            "Base": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Int"}}}},
            },
        }
        op = _op(load_spec(_write(tmp_path, doc, "spec.json")), "POST", "/users")
        assert _params(op) == {("query", "limit", "integer"), ("body", "id", "integer"), ("body", "name", "string")}
        assert op.parameter("body", "name").required  # type: ignore[union-attr]
        assert not op.open_body

    def test_open_bodies(self, tmp_path: Path) -> None:
        """Bodies whose keys are not all listed: additionalProperties, a free-form object, no schema."""
        def body(schema: dict[str, Any] | None) -> dict[str, Any]:
            media: dict[str, Any] = {} if schema is None else {"schema": schema}
            return {"requestBody": {"content": {"application/json": media}}, **_OK}

        doc = _minimal(**{
            "/a": {"post": body({"type": "object", "properties": {"x": {"type": "string"}},
                                 "additionalProperties": True})},
            "/b": {"post": body({"type": "object"})},
            "/c": {"post": body(None)},
            "/d": {"post": body({"type": "object", "properties": {"x": {"type": "string"}}})},
            "/e": {"post": _OK},
        })
        spec = load_spec(_write(tmp_path, doc))
        assert [_op(spec, "POST", p).open_body for p in ("/a", "/b", "/c", "/d", "/e")] == [True, True, True, False, False]

    @pytest.mark.parametrize(("servers", "expected"), [
        ([{"url": "https://api.example.com/v2/"}], ("/v2",)),
        ([{"url": "/"}], ("",)),
        ([{"url": "v1"}], ("/v1",)),
        ([{"url": "//cdn.example.com/api//x"}], ("/api/x",)),
        ([{"url": "https://{host}/{base}", "variables": {"host": {"default": "h"},
                                                        "base": {"default": "v2", "enum": ["v1", "v2"]}}}],
         ("/v2", "/v1")),
        ([{"url": "https://a.example.com/api"}, {"url": "http://localhost:8080/api"}, {"url": "/staging"}],
         ("/api", "/staging")),
        (None, ("",)),
    ])
    def test_base_paths(self, tmp_path: Path, servers: Any, expected: tuple[str, ...]) -> None:
        """`servers` give base paths: absolute or relative URLs, variables with defaults (and enums), deduplicated."""
        doc = _minimal(**{"/x": {"get": _OK}})
        if servers is not None:
            doc["servers"] = servers
        assert load_spec(_write(tmp_path, doc)).base_paths == expected

    def test_operation_servers(self, tmp_path: Path) -> None:
        """Path- and operation-level servers override the API's base path for those operations."""
        doc = _minimal(**{"/x": {"servers": [{"url": "/legacy"}], "get": _OK,
                                 "post": {**_OK, "servers": [{"url": "https://up.example.com/upload"}]}},
                          "/y": {"get": _OK}})
        doc["servers"] = [{"url": "/api"}]
        spec = load_spec(_write(tmp_path, doc))
        assert [(o.method, o.path, o.base_paths) for o in spec.operations] == [
            ("GET", "/x", ("/legacy",)), ("POST", "/x", ("/upload",)), ("GET", "/y", ())]

    def test_swagger2_base_path_and_security(self, tmp_path: Path) -> None:
        """2.0: basePath, formData as body keys, apiKey security from securityDefinitions."""
        doc = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "basePath": "/api/",
               "securityDefinitions": {"key": {"type": "apiKey", "name": "X-Key", "in": "header"},
                                       "q": {"type": "apiKey", "name": "token", "in": "query"}},
               "security": [{"key": []}],
               "paths": {"/f": {"post": {"consumes": ["application/x-www-form-urlencoded"],
                                         "parameters": [{"name": "n", "in": "formData", "type": "integer"}],
                                         "security": [{"q": []}], **_OK},
                                "get": _OK}}}
        spec = load_spec(_write(tmp_path, doc, "s.json"))
        assert spec.base_paths == ("/api",)
        assert _params(_op(spec, "POST", "/f")) == {("body", "n", "integer"), ("query", "token", "string")}
        assert _params(_op(spec, "GET", "/f")) == {("header", "x-key", "string")}

    def test_yaml_integer_keys(self, tmp_path: Path) -> None:
        """Unquoted YAML status codes (`200:`) are read as the strings OpenAPI means."""
        path = tmp_path / "s.yaml"
        path.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n"
                        "      responses:\n        200: {description: ok}\n")
        assert [o.path for o in load_spec(path).operations] == ["/a"]

    def test_relative_file_refs(self, tmp_path: Path) -> None:
        """A $ref to a file beside the spec is followed (by the validator and by the reader)."""
        (tmp_path / "common.yaml").write_text(
            "Limit: {name: limit, in: query, schema: {$ref: '#/Int'}}\nInt: {type: integer}\n")
        doc = _minimal(**{"/a": {"get": {"parameters": [{"$ref": "common.yaml#/Limit"}], **_OK}}})
        assert _params(_op(load_spec(_write(tmp_path, doc)), "GET", "/a")) == {("query", "limit", "integer")}

    def test_normalize_path(self) -> None:
        """One leading slash, no trailing or doubled ones, the root as an empty string."""
        assert [normalize_path(p) for p in ("", "/", "//", "v1", "/a//b/", "/api/v3")] == ["", "", "", "/v1", "/a/b", "/api/v3"]


# --- errors and bounds --------------------------------------------------------------------------
class TestErrors:
    @pytest.mark.parametrize(("content", "message"), [
        (b"", "not an OpenAPI document (the top level is not a mapping)"),
        (b"- a\n- b\n", "not an OpenAPI document (the top level is not a mapping)"),
        (b"title: x\n", "not an OpenAPI document (no `openapi` or `swagger` field"),
        (b"swagger: '1.2'\n", "unsupported swagger version '1.2'"),
        (b"openapi: 3.1\ninfo: {title: t, version: '1'}\npaths: {}\n", "unsupported openapi version 3.1"),
        (b"openapi: 4.0.0\n", "unsupported openapi version '4.0.0'"),
        (b"{\"openapi\": \"3.0.0\",", "not valid JSON"),
        (b"openapi: [\n", "not valid YAML or JSON"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (b"openapi: 3.0.3\ninfo: {title: t}\npaths: {}\n", "invalid OpenAPI 3.0.3 at $.info: 'version' is a required"),
        (b"openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a/{id}:\n    get:\n"
         b"      responses: {'200': {description: ok}}\n", "invalid OpenAPI 3.0.3"),
    ])
    def test_one_clear_line(self, tmp_path: Path, content: bytes, message: str) -> None:
        """Every unusable file gives one line that names it and says what is wrong."""
        path = tmp_path / "bad.yaml"
        path.write_bytes(content)
        with pytest.raises(SpecError) as caught:
            load_spec(path)
        text = str(caught.value)
        assert text.startswith(f"{path}: ") and message in text and "\n" not in text

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that is not there: `cannot read it`."""
        with pytest.raises(SpecError, match="cannot read it"):
            load_spec(tmp_path / "nope.yaml")

    def test_too_big(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A spec over the size bound is refused before it is parsed."""
        monkeypatch.setattr(spec_module, "MAX_SPEC_BYTES", 100)
        path = _write(tmp_path, _minimal(**{f"/p{i}": {"get": _OK} for i in range(10)}))
        with pytest.raises(SpecError, match="MB of spec"):
            load_spec(path)

    def test_yaml_alias_bomb(self, tmp_path: Path) -> None:
        """Billion laughs: aliases that expand past the value bound are refused at once."""
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
        path = tmp_path / "bomb.yaml"
        path.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-bomb:\n"
                        + "\n".join("  " + line for line in lines) + "\n")
        start = time.perf_counter()
        with pytest.raises(SpecError, match="YAML aliases expanded"):
            load_spec(path)
        assert time.perf_counter() - start < 2

    def test_recursive_alias(self, tmp_path: Path) -> None:
        """An alias that contains itself is refused."""
        path = tmp_path / "r.yaml"
        path.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-r: &r [*r]\n")
        with pytest.raises(SpecError, match="refers to itself"):
            load_spec(path)

    @pytest.mark.parametrize("name", ["deep.json", "deep.yaml"])
    def test_deep_nesting(self, tmp_path: Path, name: str) -> None:
        """Absurd nesting is an error, not a crash."""
        path = tmp_path / name
        path.write_text('{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}, "x-d": '
                        + "[" * 3000 + "]" * 3000 + "}")
        with pytest.raises(SpecError, match="nested|depth"):
            load_spec(path)

    def test_ref_cycle(self, tmp_path: Path) -> None:
        """A $ref chain that loops is refused, with the file named."""
        doc = _minimal(a={})
        doc["paths"] = {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/p"}], **_OK}}}
        doc["components"] = {"parameters": {"p": {"$ref": "#/components/parameters/q"},
                                            "q": {"$ref": "#/components/parameters/p"}}}
        with pytest.raises(SpecError, match=r"spec\.yaml: .*(cycle|\$ref)"):
            load_spec(_write(tmp_path, doc))

    def test_no_network(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A $ref to a URL is refused without any network call."""
        import jsonschema_path.handlers.urllib as handler_module
        import jsonschema_path.retrievers as retriever_module

        real = urllib.request.urlopen
        calls: list[str] = []

        def guard(url: Any, *args: Any, **kwargs: Any) -> Any:
            text = url if isinstance(url, str) else url.full_url
            if not text.startswith("file:"):  # the validator reads its own bundled schemas by file: URL
                calls.append(text)
                raise AssertionError(f"network call to {text}")
            return real(url, *args, **kwargs)

        for module in (urllib.request, handler_module, retriever_module):
            monkeypatch.setattr(module, "urlopen", guard)
        doc = _minimal(**{"/a": {"get": {"parameters": [{"$ref": "http://127.0.0.1:9/p.yaml#/P"}], **_OK}}})
        with pytest.raises(SpecError, match="only files beside the spec are followed, never URLs"):
            load_spec(_write(tmp_path, doc))
        assert calls == []

    def test_ref_outside_the_folder(self, tmp_path: Path) -> None:
        """A $ref may not climb out of the spec's folder."""
        (tmp_path / "outside.yaml").write_text("P: {name: q, in: query, schema: {type: string}}\n")
        folder = tmp_path / "spec"
        folder.mkdir()
        doc = _minimal(**{"/a": {"get": {"parameters": [{"$ref": "../outside.yaml#/P"}], **_OK}}})
        with pytest.raises(SpecError, match="outside the spec's folder"):
            load_spec(_write(folder, doc))
