"""A service's API rebuilt from its traffic alone: an OpenAPI 3.1 document.

Paths and methods come from the observed endpoints (orphans, never called, are left out), with
their path, query and header parameters typed from the values seen; the request body and the 2xx
response bodies carry the merged JSON schemas; every observed status code is a response; the
authentication schemes seen become `securitySchemes`, and an operation that also answered without
credentials lists the empty requirement `{}` beside them. `x-first-seen`, `x-last-seen` (ISO-8601)
and `x-calls` say what the traffic showed. The output is deterministic (sorted everywhere) and
validates with openapi-spec-validator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otel_apisec.estate import schema
from otel_apisec.estate.facts import iso_time

if TYPE_CHECKING:
    from otel_apisec.estate.inventory import Endpoint, ServiceEstate

__all__ = ["OPENAPI_VERSION", "build_openapi"]

OPENAPI_VERSION = "3.1.0"
_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
_IGNORED_HEADERS = frozenset(("accept", "content-type", "authorization"))
"""OpenAPI ignores header parameters of these names (they are described elsewhere)."""
_API_KEY_HEADERS = ("x-api-key", "api-key", "api_key", "apikey", "x-apikey", "x-auth-token", "x-access-token",
                    "x-token")
_SCHEMES: dict[str, tuple[str, dict[str, str]]] = {
    "bearer": ("bearerAuth", {"type": "http", "scheme": "bearer"}),
    "basic": ("basicAuth", {"type": "http", "scheme": "basic"}),
    "digest": ("digestAuth", {"type": "http", "scheme": "digest"}),
    "api_key": ("apiKeyAuth", {"type": "apiKey", "in": "header", "name": "X-API-Key"}),
    "cookie": ("cookieAuth", {"type": "apiKey", "in": "cookie", "name": "session"}),
}
"""Contract auth scheme -> (securitySchemes name, scheme). The API key header is the one seen when
the traffic shows it; the cookie's name is not recorded (`session` stands for it)."""
_TEXT_TYPES = ("boolean", "integer", "number", "string")


# --- path templates -----------------------------------------------------------------------------
def _placeholder(segment: str) -> str | None:
    """The name of a route parameter segment: `{id}`, `<int:id>` (Flask), `:id` (Express)."""
    if len(segment) > 2 and segment[0] == "{" and segment[-1] == "}" and segment.count("{") == 1:
        return segment[1:-1]
    if len(segment) > 2 and segment[0] == "<" and segment[-1] == ">":
        return segment[1:-1].rpartition(":")[2]
    if len(segment) > 1 and segment[0] == ":":
        return segment[1:]
    return None


def _safe_name(name: str, taken: set[str]) -> str:
    """A parameter name fit for a path template (no braces or slashes), unique within the path."""
    clean = "".join(c if c.isalnum() or c in "_.-" else "_" for c in name)[:64].strip("_") or "param"
    return _unique(clean, taken, "")


def _unique(base: str, taken: set[str], separator: str) -> str:
    """`base`, or `base<separator>2`, `...3`, the first not in `taken` (which it joins)."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{separator}{n}"
    taken.add(candidate)
    return candidate


def _template(route: str) -> tuple[str, list[str], list[str]]:
    """(OpenAPI path, its parameter names, the route's own names for them, in order)."""
    segments: list[str] = []
    names: list[str] = []
    originals: list[str] = []
    taken: set[str] = set()
    for segment in route.split("/"):
        if not segment:
            continue
        name = _placeholder(segment)
        if name is not None:
            safe = _safe_name(name, taken)
            names.append(safe)
            originals.append(name)
            segments.append("{" + safe + "}")
        else:
            segments.append(segment.replace("{", "%7B").replace("}", "%7D"))
    return "/" + "/".join(segments), names, originals


def _shape(path: str) -> str:
    """The path with its parameter names blanked: OpenAPI forbids two paths that differ only there."""
    return "/".join("{}" if s.startswith("{") else s for s in path.split("/"))


# --- one operation, possibly from several endpoints ---------------------------------------------
def _add(into: dict[str, int], other: Mapping[str, int]) -> None:
    for key, n in other.items():
        into[key] = into.get(key, 0) + n


@dataclass(slots=True)
class _Operation:
    method: str
    path: str
    names: list[str]
    calls: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    status_codes: dict[str, int] = field(default_factory=dict)
    path_types: list[dict[str, int]] = field(default_factory=list)
    parameters: dict[str, dict[str, int]] = field(default_factory=dict)
    request_schema: dict[str, Any] | None = None
    response_schema: dict[str, Any] | None = None
    media_types: dict[str, int] = field(default_factory=dict)
    auth_schemes: dict[str, int] = field(default_factory=dict)
    anonymous_success: int = 0
    deprecated: bool = False
    spec_status: str | None = None

    def add(self, endpoint: Endpoint, originals: list[str]) -> None:
        record = endpoint.record
        self.calls += record.calls
        if record.first_seen is not None:
            self.first_seen = record.first_seen if self.first_seen is None else min(self.first_seen, record.first_seen)
        if record.last_seen is not None:
            self.last_seen = record.last_seen if self.last_seen is None else max(self.last_seen, record.last_seen)
        _add(self.status_codes, record.status_codes)
        while len(self.path_types) < len(originals):
            self.path_types.append({})
        for position, original in enumerate(originals):
            _add(self.path_types[position], record.parameters.get("path:" + original, {}))
        for key, types in record.parameters.items():
            if not key.startswith("path:"):
                _add(self.parameters.setdefault(key, {}), types)
        self.request_schema = schema.merge(self.request_schema, record.request_schema)
        self.response_schema = schema.merge(self.response_schema, record.response_schema)
        _add(self.media_types, record.response_media_types)
        _add(self.auth_schemes, record.auth_schemes)
        self.anonymous_success += record.unauthenticated_success
        self.deprecated = self.deprecated or endpoint.deprecated
        self.spec_status = self.spec_status or endpoint.spec_status


def _operations(endpoints: Iterable[Endpoint]) -> list[_Operation]:
    by_key: dict[tuple[str, str], _Operation] = {}
    canonical: dict[str, tuple[str, list[str]]] = {}
    for endpoint in sorted(endpoints, key=lambda e: (e.route, e.method)):
        if endpoint.record.calls <= 0:
            continue  # an orphan: documented, never called
        path, names, originals = _template(endpoint.route)
        shape = _shape(path)
        path, names = canonical.setdefault(shape, (path, names))  # one spelling per path, its first
        key = (shape, endpoint.method.upper())
        operation = by_key.get(key)
        if operation is None:
            operation = by_key[key] = _Operation(endpoint.method.upper(), path, names)
        operation.add(endpoint, originals)
    return list(by_key.values())


# --- pieces of the document ---------------------------------------------------------------------
def _text_schema(types: Mapping[str, int]) -> dict[str, Any]:
    """The narrowest type that holds every text value seen (`1` and `x` -> string)."""
    seen = {t for t, n in types.items() if n > 0 and t in _TEXT_TYPES}
    if seen and seen <= {"integer"}:
        return {"type": "integer"}
    if seen and seen <= {"integer", "number"}:
        return {"type": "number"}
    if seen == {"boolean"}:
        return {"type": "boolean"}
    return {"type": "string"}


def _api_key_header(operations: Iterable[_Operation]) -> str | None:
    headers = {key.partition(":")[2] for op in operations if op.auth_schemes.get("api_key")
               for key in op.parameters if key.startswith("header:")}
    for known in _API_KEY_HEADERS:
        if known in headers:
            return known
    return next((h for h in sorted(headers) if "key" in h or "token" in h), None)


_PARAMETER_LOCATIONS = ("query", "header", "cookie")


def _parameter_order(key: str) -> tuple[int, str]:
    location, _, name = key.partition(":")
    rank = _PARAMETER_LOCATIONS.index(location) if location in _PARAMETER_LOCATIONS else len(_PARAMETER_LOCATIONS)
    return rank, name


def _parameters(operation: _Operation, api_key_header: str | None) -> list[dict[str, Any]]:
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": _text_schema(operation.path_types[i] if i < len(operation.path_types) else {})}
                  for i, name in enumerate(operation.names)]
    for key, types in sorted(operation.parameters.items(), key=lambda kv: _parameter_order(kv[0])):
        location, _, name = key.partition(":")
        if not name or location not in _PARAMETER_LOCATIONS:
            continue
        if location == "header" and (name.lower() in _IGNORED_HEADERS or name.lower() == api_key_header):
            continue
        parameters.append({"name": name, "in": location, "required": False, "schema": _text_schema(types)})
    return parameters


def _json_media_type(media_types: Mapping[str, int]) -> str:
    json_types = sorted((t for t, n in media_types.items() if n > 0 and "json" in t and "/" in t),
                        key=lambda t: (-media_types[t], t))
    return json_types[0].partition(";")[0].strip() if json_types else "application/json"


def _responses(operation: _Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    other = 0
    for code, n in sorted(operation.status_codes.items()):
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 599:
            other += n
            continue
        response: dict[str, Any] = {"description": f"Observed {code}", "x-calls": n}
        if code.startswith("2") and operation.response_schema is not None:
            media = _json_media_type(operation.media_types)
            response["content"] = {media: {"schema": operation.response_schema}}
        responses[code] = response
    if other or not responses:
        responses["default"] = {"description": "Observed without a standard status code", "x-calls": other}
    return responses


def _operation_id(method: str, path: str, taken: set[str]) -> str:
    words = [method.lower()]
    for segment in path.split("/"):
        if not segment:
            continue
        word = "".join(c for c in segment.strip("{}") if c.isalnum() or c == "_")[:40]
        if word:
            words.append(("by_" if segment.startswith("{") else "") + word)
    return _unique("_".join(words)[:120], taken, "_")


def _operation(operation: _Operation, api_key_header: str | None, ids: set[str]) -> dict[str, Any]:
    document: dict[str, Any] = {"operationId": _operation_id(operation.method, operation.path, ids)}
    parameters = _parameters(operation, api_key_header)
    if parameters:
        document["parameters"] = parameters
    if operation.request_schema is not None:
        document["requestBody"] = {"content": {"application/json": {"schema": operation.request_schema}}}
    document["responses"] = _responses(operation)
    schemes = sorted(_SCHEMES[s][0] for s, n in operation.auth_schemes.items() if n > 0 and s in _SCHEMES)
    if schemes:
        document["security"] = [{name: []} for name in schemes] + ([{}] if operation.anonymous_success else [])
    if operation.deprecated:
        document["deprecated"] = True
    document["x-calls"] = operation.calls
    for key, value in (("x-first-seen", iso_time(operation.first_seen)), ("x-last-seen", iso_time(operation.last_seen)),
                       ("x-spec-status", operation.spec_status)):
        if value is not None:
            document[key] = value
    return document


def build_openapi(service: ServiceEstate) -> dict[str, Any]:
    """The OpenAPI 3.1 document of one service's observed endpoints."""
    operations = _operations(service.endpoints)
    api_key_header = _api_key_header(operations)
    paths: dict[str, dict[str, Any]] = {}
    ids: set[str] = set()
    used: set[str] = set()
    order = {m: i for i, m in enumerate(_METHODS)}
    for operation in sorted(operations, key=lambda o: (o.path, order.get(o.method, len(order)), o.method)):
        item = paths.setdefault(operation.path, {})
        entry = _operation(operation, api_key_header, ids)
        if operation.method in order:
            item[operation.method.lower()] = entry
        else:  # a method OpenAPI 3.1 has no field for (PROPFIND, ...): kept as an extension
            item.setdefault("x-other-operations", {})[operation.method] = entry
        used.update(s for s, n in operation.auth_schemes.items() if n > 0 and s in _SCHEMES)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": service.service or "unknown_service",
            "version": "observed",
            "description": "Reconstructed by otel-apisec from observed traffic: only what was seen, never values.",
        },
        "paths": paths,
    }
    if used:
        security_schemes = {}
        for scheme in sorted(used):
            name, definition = _SCHEMES[scheme]
            definition = dict(definition)
            if scheme == "api_key" and api_key_header:
                definition["name"] = api_key_header
            security_schemes[name] = definition
        document["components"] = {"securitySchemes": dict(sorted(security_schemes.items()))}
    return document
