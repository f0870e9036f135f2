"""OpenAPI documents (Swagger 2.0, OpenAPI 3.0, 3.1 and 3.2) reduced to what spec drift needs:
each operation's method, path template, base paths, deprecation and parameters with their types.

A spec is checked with openapi-spec-validator before it is used, so a broken one fails at start-up
with one line naming the file, the place and the fault (`SpecError`), not later with a guess.
Specs are files the operator names, but they are still parsed with bounds: at most
`MAX_SPEC_BYTES` (all `$ref`'d files together), YAML aliases may not expand past `_MAX_NODES`
values, `$ref` chains stop after `_MAX_REF_HOPS`, and a `$ref` may name a file only inside the
spec's own folder (never a URL: loading a spec makes no network call).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import orjson
import yaml
from jsonschema_path import SchemaPath
from jsonschema_path.loaders import JsonschemaSafeLoader

__all__ = ["MAX_SPEC_BYTES", "ApiSpec", "SpecError", "SpecOperation", "SpecParameter", "load_spec", "normalize_path"]

MAX_SPEC_BYTES = 20 * 1024 * 1024
"""The spec file and every file it `$ref`s, together."""
_MAX_NODES = 5_000_000
"""Values in the parsed document, YAML aliases expanded (a few aliases can stand for billions)."""
_MAX_NESTING = 256
_MAX_REF_HOPS = 32
_MAX_REF_FILES = 64
_MAX_OPERATIONS = 20_000
_MAX_PARAMETERS = 256
_MAX_BASE_PATHS = 16
_MAX_SCHEMA_DEPTH = 8
_MAX_MESSAGE = 200

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")
_LOCATIONS = {"path": "path", "query": "query", "header": "header", "cookie": "cookie", "formData": "body",
              "querystring": "query"}
"""OpenAPI `in` values -> the estate's parameter locations (form fields are body keys)."""


class SpecError(ValueError):
    """A spec that cannot be used: one line naming the file, where, and what is wrong."""


@dataclass(frozen=True, slots=True)
class SpecParameter:
    name: str
    """Lower-cased for headers (header names are case-insensitive)."""
    location: str
    """path, query, header, cookie or body (a top-level key of the request body, form fields included)."""
    type: str | None
    """JSON Schema type; None when the spec does not say (or says several)."""
    required: bool = False
    item_type: str | None = None
    """For `type: array`: the items' type."""


@dataclass(frozen=True, slots=True)
class SpecOperation:
    method: str
    """Upper case."""
    path: str
    """The spec's path template, without the base path: `/pet/{petId}`."""
    deprecated: bool
    parameters: tuple[SpecParameter, ...]
    operation_id: str | None = None
    open_body: bool = False
    """The request body's keys are not all listed (free-form object, additionalProperties, a schema
    that cannot be read): unlisted body keys are not drift."""
    base_paths: tuple[str, ...] = ()
    """Path- or operation-level `servers`; empty: the API's."""

    def parameter(self, location: str, name: str) -> SpecParameter | None:
        if location == "header":
            name = name.lower()
        return next((p for p in self.parameters if p.location == location and p.name == name), None)


@dataclass(frozen=True, slots=True)
class ApiSpec:
    source: str
    title: str
    version: str
    """`info.version`."""
    openapi: str
    """`2.0`, `3.0.3`, `3.1.0`, ..."""
    base_paths: tuple[str, ...]
    """From `servers` (3.x) or `basePath` (2.0): `/v2`, `/api/v3`; `""` for the root. Never empty."""
    operations: tuple[SpecOperation, ...]


def normalize_path(path: str) -> str:
    """`/a/b` form: one leading slash, no trailing or doubled slashes; the root is `""`."""
    segments = [s for s in path.split("/") if s]
    return "/" + "/".join(segments) if segments else ""


# --- reading ------------------------------------------------------------------------------------
class _Files:
    """Reads the spec and the files its `$ref`s name, within the spec's folder and one byte budget."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.root = Path(source).resolve().parent
        self.budget = MAX_SPEC_BYTES
        self.loaded: dict[str, Any] = {}

    def read(self, path: str) -> Any:
        key = str(Path(path).resolve())
        if key in self.loaded:
            return self.loaded[key]
        if self.loaded and not Path(key).is_relative_to(self.root):
            raise SpecError(f"{self.source}: a $ref names {path}, outside the spec's folder")
        if len(self.loaded) >= _MAX_REF_FILES:
            raise SpecError(f"{self.source}: $refs name more than {_MAX_REF_FILES} files")
        document = self._parse(path)
        self.loaded[key] = document
        return document

    def _parse(self, path: str) -> Any:
        name = self.source if not self.loaded else f"{self.source}: $ref'd file {path}"
        try:
            size = os.stat(path).st_size
            if size > self.budget:
                raise SpecError(f"{name}: more than {MAX_SPEC_BYTES // (1024 * 1024)} MB of spec")
            with open(path, "rb") as handle:
                data = handle.read(self.budget + 1)
        except OSError as error:
            raise SpecError(f"{name}: cannot read it ({error.strerror or error})") from None
        if len(data) > self.budget:
            raise SpecError(f"{name}: more than {MAX_SPEC_BYTES // (1024 * 1024)} MB of spec")
        self.budget -= len(data)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SpecError(f"{name}: not UTF-8 text, so neither YAML nor JSON") from None
        try:
            if text.lstrip().startswith(("{", "[")):
                document = orjson.loads(text)
            else:
                document = yaml.load(text, Loader=cast("type[yaml.SafeLoader]", JsonschemaSafeLoader))
        except orjson.JSONDecodeError as error:
            raise SpecError(f"{name}: not valid JSON ({_one_line(str(error))})") from None
        except yaml.YAMLError as error:
            raise SpecError(f"{name}: not valid YAML or JSON ({_one_line(str(error))})") from None
        except RecursionError:
            raise SpecError(f"{name}: nested too deeply") from None
        _check_size(name, document)
        return _plain(document)

    def handler(self, uri: str) -> Any:
        """jsonschema-path resolver handler for `file:` URIs (the validator follows `$ref`s with it)."""
        return self.read(url2pathname(urlsplit(uri).path))

    def refuse(self, uri: str) -> Any:
        raise SpecError(f"{self.source}: a $ref names {uri}; only files beside the spec are followed, never URLs")


class _Handlers(Mapping[str, Any]):
    """Resolver handlers for every URI scheme: jsonschema-path fetches a scheme it has no handler
    for with urllib, and loading a spec must make no network call."""

    def __init__(self, files: _Files) -> None:
        self.files = files

    def __getitem__(self, scheme: str) -> Any:
        return self.files.handler if scheme == "file" else self.files.refuse

    def __contains__(self, scheme: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(("file",))

    def __len__(self) -> int:
        return 1


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def _check_size(name: str, document: Any) -> None:
    """Count values with aliases expanded (shared nodes counted once per use, in linear time) and
    refuse recursive aliases and deep nesting."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Any, depth: int) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise SpecError(f"{name}: a YAML alias refers to itself")
        if depth > _MAX_NESTING:
            raise SpecError(f"{name}: nested more than {_MAX_NESTING} levels deep")
        open_nodes.add(key)
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > _MAX_NODES:
                raise SpecError(f"{name}: more than {_MAX_NODES} values (YAML aliases expanded)")
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(document, 0)


def _plain(node: Any) -> Any:
    """JSON-shaped copy: YAML's integer and boolean keys (`200:`, `on:`) become strings."""
    if isinstance(node, dict):
        return {_key(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return key if isinstance(key, str) else str(key)


# --- validation ---------------------------------------------------------------------------------
def _openapi_version(source: str, document: Any) -> str:
    if not isinstance(document, dict):
        raise SpecError(f"{source}: not an OpenAPI document (the top level is not a mapping)")
    swagger, openapi = document.get("swagger"), document.get("openapi")
    if swagger is not None:
        if swagger != "2.0":
            raise SpecError(f"{source}: unsupported swagger version {swagger!r} (2.0 is supported)")
        return "2.0"
    if isinstance(openapi, str) and openapi.startswith(("3.0.", "3.1.", "3.2.")):
        return openapi
    if openapi is not None:
        raise SpecError(f"{source}: unsupported openapi version {openapi!r} (a string such as \"3.1.0\")")
    raise SpecError(f"{source}: not an OpenAPI document (no `openapi` or `swagger` field at the top)")


def _validate(source: str, document: dict[str, Any], version: str, files: _Files) -> None:
    from openapi_spec_validator.validation import (
        OpenAPIV2SpecValidator,
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
        OpenAPIV32SpecValidator,
    )

    validators = {"2.0": OpenAPIV2SpecValidator, "3.0": OpenAPIV30SpecValidator, "3.1": OpenAPIV31SpecValidator,
                  "3.2": OpenAPIV32SpecValidator}
    cls = _locating(validators[version[:3]])
    path = SchemaPath.from_dict(document, base_uri=Path(source).resolve().as_uri(), handlers=_Handlers(files))
    try:
        error = next(iter(cls(path).iter_errors()), None)
    except SpecError:
        raise
    except RecursionError:
        raise SpecError(f"{source}: a $ref cycle, or schemas nested too deeply to validate") from None
    except Exception as failure:  # the validator's resolver raises its own kinds (Unresolvable, ...)
        cause: BaseException | None = failure
        for _ in range(8):  # the resolver wraps our own SpecError (a refused or unreadable $ref)
            cause = cause.__cause__ or cause.__context__ if cause is not None else None
            if isinstance(cause, SpecError):
                raise cause from None
        raise SpecError(f"{source}: invalid OpenAPI {version}: {_one_line(str(failure))}") from None
    if error is not None:
        where = _json_path([*getattr(error, _WHERE, ()), *error.path])
        raise SpecError(f"{source}: invalid OpenAPI {version} at {where}: {_one_line(error.message)}")


_WHERE = "apisec_where"


def _locating(cls: Any) -> Any:
    """The validator class with each keyword validator noting where in the document it was
    checking: their errors carry a path relative to that place only (`$` for a bad `default`)."""
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    def locating(keyword: Any) -> Any:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            where = next((a.parts for a in args if isinstance(a, SchemaPath)), ())
            for error in keyword.__call__(self, *args, **kwargs):
                if not isinstance(error, OpenAPIValidationError):
                    error = OpenAPIValidationError.create_from(error)  # as the validator would, keeping our note
                if where and not hasattr(error, _WHERE):
                    setattr(error, _WHERE, where)
                yield error

        return type(keyword.__name__, (keyword,), {"__call__": call})

    keywords = {name: locating(keyword) for name, keyword in cls.keyword_validators.items()}
    return type(cls.__name__, (cls,), {"keyword_validators": keywords})


def _json_path(parts: Iterable[Any]) -> str:
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            text += "." + part
        else:
            text += "[" + repr(str(part)) + "]"
    return text


# --- extraction ---------------------------------------------------------------------------------
_Ctx = str
"""Which file a node came from (its resolved path), so relative `$ref`s resolve from there."""


class _Reader:
    def __init__(self, source: str, document: dict[str, Any], version: str, files: _Files) -> None:
        self.source = source
        self.document = document
        self.v2 = version == "2.0"
        self.files = files
        self.main: _Ctx = str(Path(source).resolve())

    # $ref
    def resolve(self, node: Any, ctx: _Ctx) -> tuple[Any, _Ctx]:
        for _ in range(_MAX_REF_HOPS):
            if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
                return node, ctx
            ref = node["$ref"]
            target, _, pointer = ref.partition("#")
            if target:
                if "://" in target and not target.startswith("file:"):
                    raise SpecError(f"{self.source}: $ref {ref!r} names a URL; only local files are followed")
                path = url2pathname(urlsplit(target).path) if target.startswith("file:") else unquote(target)
                ctx = str((Path(ctx).parent / path).resolve())
            root = self.document if ctx == self.main else self.files.read(ctx)
            node = _pointer(root, pointer)
            if node is _MISSING:
                raise SpecError(f"{self.source}: $ref {ref!r} points at nothing")
        raise SpecError(f"{self.source}: a $ref chain longer than {_MAX_REF_HOPS} (a cycle?)")

    def mapping(self, node: Any, ctx: _Ctx) -> tuple[dict[str, Any], _Ctx]:
        node, ctx = self.resolve(node, ctx)
        return (node if isinstance(node, dict) else {}), ctx

    # the document
    def spec(self, version: str) -> ApiSpec:
        info = _dict(self.document.get("info"))
        if self.v2:
            base_paths: tuple[str, ...] = (normalize_path(str(self.document.get("basePath") or "")),)
        else:
            base_paths = _server_bases(self.document.get("servers")) or ("",)
        return ApiSpec(
            source=self.source,
            title=str(info.get("title", "")),
            version=str(info.get("version", "")),
            openapi=version,
            base_paths=base_paths,
            operations=tuple(self.operations()),
        )

    def operations(self) -> Iterable[SpecOperation]:
        paths, ctx = self.mapping(self.document.get("paths"), self.main)
        count = 0
        for template, raw_item in paths.items():
            if not template.startswith("/"):
                continue  # `x-` extensions
            item, item_ctx = self.mapping(raw_item, ctx)
            shared = self.parameters(item.get("parameters"), item_ctx)
            item_bases = () if self.v2 else _server_bases(item.get("servers"))
            methods = [(m, _dict(item.get(m))) for m in _METHODS if isinstance(item.get(m), dict)]
            extra = item.get("additionalOperations")  # OpenAPI 3.2: any other method
            if isinstance(extra, dict):
                methods.extend((str(m).lower(), op) for m, op in extra.items() if isinstance(op, dict))
            for method, operation in methods:
                count += 1
                if count > _MAX_OPERATIONS:
                    raise SpecError(f"{self.source}: more than {_MAX_OPERATIONS} operations")
                yield self.operation(method, template, operation, item_ctx, shared, item_bases)

    def operation(self, method: str, template: str, op: dict[str, Any], ctx: _Ctx,
                  shared: list[tuple[SpecParameter | None, Any]], item_bases: tuple[str, ...]) -> SpecOperation:
        by_key: dict[tuple[str, str], SpecParameter] = {}
        body_schemas: list[tuple[Any, _Ctx]] = []
        open_body = False
        own = self.parameters(op.get("parameters"), ctx)
        for parameter, body in (*shared, *own):  # the operation's own override the path's
            if parameter is not None:
                by_key[(parameter.location, parameter.name)] = parameter
            elif body is not None:
                body_schemas = [body]  # one body parameter: the operation's wins
        if not self.v2:
            request, request_ctx = self.mapping(op.get("requestBody"), ctx)
            if request:
                body = _media_schema(request.get("content"))
                if body is None:
                    open_body = True
                else:
                    body_schemas = [(body, request_ctx)]
        for schema, schema_ctx in body_schemas:
            fields: dict[str, SpecParameter] = {}
            open_body |= self.body_fields(schema, schema_ctx, 0, fields)
            for name, field in fields.items():
                by_key.setdefault(("body", name), field)
        for parameter in self.security_parameters(op):
            by_key.setdefault((parameter.location, parameter.name), parameter)
        parameters = sorted(by_key.values(), key=lambda p: (p.location, p.name))[:_MAX_PARAMETERS]
        operation_id = op.get("operationId")
        bases = () if self.v2 else (_server_bases(op.get("servers")) or item_bases)
        return SpecOperation(method.upper(), template, op.get("deprecated") is True, tuple(parameters),
                             operation_id if isinstance(operation_id, str) else None, open_body, bases)

    def parameters(self, raw: Any, ctx: _Ctx) -> list[tuple[SpecParameter | None, Any]]:
        """(parameter, None), or (None, (body schema, ctx)) for a 2.0 `in: body` parameter."""
        raw, ctx = self.resolve(raw, ctx)
        if not isinstance(raw, list):
            return []
        result: list[tuple[SpecParameter | None, Any]] = []
        for item in raw[:_MAX_PARAMETERS]:
            p, p_ctx = self.mapping(item, ctx)
            name, where = p.get("name"), p.get("in")
            if not isinstance(name, str) or not isinstance(where, str):
                continue
            if where == "body":
                result.append((None, (p.get("schema"), p_ctx)))
                continue
            location = _LOCATIONS.get(where)
            if location is None:
                continue
            if self.v2:
                kind = p.get("type") if isinstance(p.get("type"), str) else None
                items = _dict(p.get("items"))
                item_type = items.get("type") if kind == "array" and isinstance(items.get("type"), str) else None
            else:
                schema = p.get("schema") if "schema" in p else _media_schema(p.get("content"))
                kind, item_type = self.schema_type(schema, p_ctx, 0)
            if location == "header":
                name = name.lower()
            result.append((SpecParameter(name, location, kind, p.get("required") is True, item_type), None))
        return result

    def schema_type(self, schema: Any, ctx: _Ctx, depth: int) -> tuple[str | None, str | None]:
        """(type, items' type) of a schema; None where it does not say one type."""
        schema, ctx = self.mapping(schema, ctx)
        if depth > _MAX_SCHEMA_DEPTH:
            return None, None
        kind = _one_type(schema.get("type"))
        if kind is None:
            for key in ("allOf", "oneOf", "anyOf"):
                subs = schema.get(key)
                if not isinstance(subs, list):
                    continue
                kinds = {self.schema_type(sub, ctx, depth + 1)[0] for sub in subs[:_MAX_PARAMETERS]}
                if key == "allOf":
                    kinds.discard(None)
                if len(kinds) == 1:
                    kind = kinds.pop()
                    break
        item_type = self.schema_type(schema.get("items"), ctx, depth + 1)[0] if kind == "array" else None
        return kind, item_type

    def body_fields(self, schema: Any, ctx: _Ctx, depth: int, out: dict[str, SpecParameter]) -> bool:
        """Collect the top-level keys a request body schema lists (through allOf/oneOf/anyOf, and the
        items of an array body); True when it does not list them all."""
        schema, ctx = self.mapping(schema, ctx)
        if not schema or depth > _MAX_SCHEMA_DEPTH:
            return True
        properties = schema.get("properties")
        if _one_type(schema.get("type")) == "array" and not isinstance(properties, dict):
            return self.body_fields(schema.get("items"), ctx, depth + 1, out)
        open_body = False
        listed = False
        if isinstance(properties, dict):
            listed = True
            required = schema.get("required") if isinstance(schema.get("required"), list) else []
            for name, sub in list(properties.items())[:_MAX_PARAMETERS]:
                kind, item_type = self.schema_type(sub, ctx, depth + 1)
                out.setdefault(name, SpecParameter(name, "body", kind, name in required, item_type))
        for key in ("allOf", "oneOf", "anyOf"):
            subs = schema.get(key)
            if isinstance(subs, list) and subs:
                listed = True
                for sub in subs[:_MAX_PARAMETERS]:
                    open_body |= self.body_fields(sub, ctx, depth + 1, out)
        additional = schema.get("additionalProperties")
        if additional not in (None, False) or schema.get("patternProperties"):
            open_body = True
        return open_body or not listed

    def security_parameters(self, op: dict[str, Any]) -> Iterable[SpecParameter]:
        """API keys the operation's security requirements name are documented parameters."""
        requirements = op.get("security", self.document.get("security"))
        if not isinstance(requirements, list):
            return
        if self.v2:
            schemes, ctx = self.mapping(self.document.get("securityDefinitions"), self.main)
        else:
            components, ctx = self.mapping(self.document.get("components"), self.main)
            schemes, ctx = self.mapping(components.get("securitySchemes"), ctx)
        for requirement in requirements[:_MAX_PARAMETERS]:
            if not isinstance(requirement, dict):
                continue
            for name in requirement:
                scheme, _ = self.mapping(schemes.get(name), ctx)
                key_name, where = scheme.get("name"), scheme.get("in")
                if scheme.get("type") == "apiKey" and isinstance(key_name, str) and where in ("header", "query", "cookie"):
                    yield SpecParameter(key_name.lower() if where == "header" else key_name, where, "string")


_MISSING = object()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for raw in unquote(pointer).split("/")[1:] if pointer else ():
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _one_type(raw: Any) -> str | None:
    """`type: x`, or 3.1's `type: [x, "null"]`."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        kinds = [t for t in raw if isinstance(t, str) and t != "null"]
        return kinds[0] if len(kinds) == 1 else None
    return None


def _media_schema(content: Any) -> Any:
    """The schema of the JSON media type of a `content` map, else of a form, else of the first."""
    if not isinstance(content, dict) or not content:
        return None
    names = list(content)
    ranked = sorted(names, key=lambda n: (0 if n.split(";")[0].strip() == "application/json" else
                                          1 if "json" in n else
                                          2 if n.startswith(("application/x-www-form-urlencoded", "multipart/")) else 3,
                                          names.index(n)))
    media = content[ranked[0]]
    return media.get("schema") if isinstance(media, dict) else None


def _server_bases(servers: Any) -> tuple[str, ...]:
    """The path part of each server URL, variables set to their defaults (then to each enum value)."""
    if not isinstance(servers, list):
        return ()
    bases: list[str] = []
    for server in servers[:_MAX_BASE_PATHS]:
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            continue
        variables = _dict(server.get("variables"))
        for url in _expand(server["url"], variables):
            base = _url_path(url)
            if base not in bases:
                bases.append(base)
    return tuple(bases[:_MAX_BASE_PATHS])


def _expand(url: str, variables: Mapping[str, Any]) -> list[str]:
    defaults = {name: str(v.get("default", "")) for name, v in variables.items() if isinstance(v, dict)}
    choices = [defaults]
    for name, variable in variables.items():
        if isinstance(variable, dict) and isinstance(variable.get("enum"), list):
            choices.extend({**defaults, name: str(value)} for value in variable["enum"][:_MAX_BASE_PATHS])
        if len(choices) >= _MAX_BASE_PATHS:
            break
    urls: list[str] = []
    for values in choices[:_MAX_BASE_PATHS]:
        filled = url
        for name, value in values.items():
            filled = filled.replace("{" + name + "}", value)
        if filled not in urls:
            urls.append(filled)
    return urls


def _url_path(url: str) -> str:
    if "://" in url or url.startswith("//"):
        path = urlsplit(url).path
    else:
        path = url.partition("?")[0].partition("#")[0]
    return normalize_path(path)


# --- entry point --------------------------------------------------------------------------------
def load_spec(path: str | os.PathLike[str]) -> ApiSpec:
    """Read, validate and reduce one OpenAPI document (YAML or JSON, told apart by content)."""
    source = os.fspath(path)
    files = _Files(source)
    document = files.read(source)
    version = _openapi_version(source, document)
    _validate(source, document, version, files)
    try:
        return _Reader(source, document, version, files).spec(version)
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply") from None
