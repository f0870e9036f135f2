"""Spec drift: each observed endpoint set against its service's OpenAPI spec.

- **documented**: the spec has the path and the method;
- **shadow**: the spec has not the path, or has it without that method, or only in a newer version;
- **zombie**: the operation is marked `deprecated`, or the call goes to an older version of a
  documented operation (`/v1/users/{id}` while the spec has `/v2/users/{id}`);
- **orphan**: a spec operation that no observed endpoint matched.

Routes are written as the clients called them, base path included. Matching strips the spec's base
path (`servers`, or `basePath` in 2.0), then walks the path templates segment by segment: a spec
`{param}` matches a route's parameter (`{id}`, any `{...}`) or a literal value; a literal spec
segment matches only the same literal; when several templates match, the most literal wins, at the
earliest segment (`/pet/findByStatus` before `/pet/{petId}`), as OpenAPI's own matching rule has it.
A route that matches only without the base path (a proxy stripped it) still matches.

Parameter drift, for documented and deprecated endpoints: parameters (query, header, cookie, body
keys) the spec does not list, and types the spec contradicts (`integer` documented, `string`
sent). Text values (path, query, header) of a `string` parameter never mismatch: "42" is a string.

Pure and deterministic; the work per route is bounded (`_MAX_SEGMENTS`, `_MAX_VISITS`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from otel_apisec.estate.schema import value_type
from otel_apisec.estate.spec import ApiSpec, SpecOperation, SpecParameter, normalize_path

__all__ = ["DOCUMENTED", "ORPHAN", "SHADOW", "STATUSES", "ZOMBIE", "Drift", "EndpointDrift", "Orphan", "diff"]

DOCUMENTED = "documented"
SHADOW = "shadow"
ZOMBIE = "zombie"
ORPHAN = "orphan"
STATUSES = (DOCUMENTED, SHADOW, ZOMBIE, ORPHAN)

UNDOCUMENTED = "undocumented"
TYPE_MISMATCH = "type_mismatch"

_MAX_SEGMENTS = 64
_MAX_VISITS = 4096
"""Trie nodes one route may visit (each segment tries a literal, a parameter, a few patterns)."""
_MAX_DRIFT = 64
"""Parameter drift entries per endpoint."""
_TEXT_LOCATIONS = frozenset(("path", "query", "header", "cookie"))
_DRIFT_LOCATIONS = frozenset(("query", "header", "cookie", "body"))

# Match ranks per segment: lower is more specific.
_LITERAL, _PATTERN, _PARAM, _OTHER_VERSION = 0, 1, 2, 3

Parameters = Mapping[str, Mapping[str, int]]
"""`EndpointRecord.parameters`: `query:limit` -> {type: calls}."""


@dataclass(frozen=True, slots=True)
class EndpointDrift:
    method: str
    route: str
    status: str
    spec_path: str | None = None
    """The spec's path template the route matched (also for a shadow method on a known path)."""
    deprecated: bool = False
    operation_id: str | None = None
    parameter_drift: tuple[dict[str, Any], ...] = ()
    """{"name", "in", "issue": "undocumented" | "type_mismatch", "seen", "documented"}."""


@dataclass(frozen=True, slots=True)
class Orphan:
    method: str
    route: str
    """As a client would call it: base path + spec path."""
    spec_path: str
    deprecated: bool
    operation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Drift:
    endpoints: Mapping[tuple[str, str], EndpointDrift] = field(default_factory=dict)
    """By (method, route) as given, for every observed endpoint."""
    orphans: tuple[Orphan, ...] = ()

    def counts(self) -> dict[str, int]:
        """Endpoints per status, orphans included."""
        counts = dict.fromkeys(STATUSES, 0)
        for endpoint in self.endpoints.values():
            counts[endpoint.status] += 1
        counts[ORPHAN] += len(self.orphans)
        return counts


# --- segments -----------------------------------------------------------------------------------
def _segments(route: str) -> list[str]:
    return [s for s in route.split("/") if s]


def _is_placeholder(segment: str) -> bool:
    """A route's parameter: `{id}` (OpenAPI, FastAPI), `<int:id>` (Flask), `:id` (Express)."""
    return (len(segment) > 2 and ((segment[0] == "{" and segment[-1] == "}") or (segment[0] == "<" and segment[-1] == ">"))
            or (len(segment) > 1 and segment[0] == ":"))


def _placeholder_name(segment: str) -> str:
    if segment[0] == ":":
        return segment[1:]
    return segment[1:-1].rpartition(":")[2]


def _spec_param(segment: str) -> str | None:
    """`petId` for a whole-segment `{petId}`."""
    if len(segment) > 2 and segment[0] == "{" and segment[-1] == "}" and segment.count("{") == 1:
        return segment[1:-1]
    return None


def _pattern(segment: str) -> tuple[str, ...] | None:
    """The literal pieces around the parameters of a mixed segment (`{name}.{ext}` -> ("", ".", "")),
    None for a plain literal. Matching is a left-to-right `find`: linear, no backtracking."""
    if "{" not in segment:
        return None
    pieces = []
    rest = segment
    while "{" in rest:
        head, _, tail = rest.partition("{")
        pieces.append(head)
        _, close, rest = tail.partition("}")
        if not close:
            return None
    pieces.append(rest)
    return tuple(pieces)


def _fits(pieces: tuple[str, ...], text: str) -> bool:
    first, last = pieces[0], pieces[-1]
    if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in pieces[1:-1]:
        found = text.find(piece, position + 1, end)  # each parameter takes at least one character
        if found < 0:
            return False
        position = found + len(piece)
    return position < end


def _version(segment: str) -> tuple[int, ...] | None:
    """`v2` -> (2,), `v1.1` -> (1, 1); None for anything else."""
    if len(segment) < 2 or len(segment) > 12 or segment[0] not in "vV":
        return None
    parts = segment[1:].split(".")
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def _older(seen: str, documented: str) -> bool:
    return (_version(seen) or ()) < (_version(documented) or ())


# --- the spec as a trie of full templates -------------------------------------------------------
@dataclass(slots=True)
class _Leaf:
    base: str
    path: str
    segments: tuple[str, ...]
    """Full template: the base path's segments, then the path's."""
    stripped: bool
    """Matched without its base path (a proxy removed it)."""
    operations: dict[str, SpecOperation] = field(default_factory=dict)


@dataclass(slots=True)
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    versions: dict[str, _Node] = field(default_factory=dict)
    patterns: dict[str, tuple[tuple[str, ...], _Node]] = field(default_factory=dict)
    param: _Node | None = None
    leaves: dict[tuple[str, str, bool], _Leaf] = field(default_factory=dict)


def _insert(root: _Node, segments: Sequence[str]) -> _Node:
    node = root
    for segment in segments:
        if _spec_param(segment) is not None:
            if node.param is None:
                node.param = _Node()
            node = node.param
            continue
        pieces = _pattern(segment)
        if pieces is not None:
            entry = node.patterns.get(segment)
            if entry is None:
                entry = node.patterns[segment] = (pieces, _Node())
            node = entry[1]
            continue
        child = node.literal.get(segment)
        if child is None:
            child = node.literal[segment] = _Node()
            if _version(segment) is not None:
                node.versions[segment] = child
        node = child
    return node


@functools.lru_cache(maxsize=64)
def _trie(spec: ApiSpec) -> _Node:
    root = _Node()
    for operation in spec.operations:
        path_segments = _segments(operation.path)
        for base in operation.base_paths or spec.base_paths:
            for stripped in (False, True) if base else (False,):
                segments = tuple(path_segments if stripped else _segments(base) + path_segments)
                if len(segments) > _MAX_SEGMENTS:
                    continue
                node = _insert(root, segments)
                key = (base, operation.path, stripped)
                leaf = node.leaves.get(key)
                if leaf is None:
                    leaf = node.leaves[key] = _Leaf(base, operation.path, segments, stripped)
                leaf.operations.setdefault(operation.method, operation)
    return root


_Match = tuple[tuple[int, bool, tuple[int, ...]], _Leaf]


def _search(root: _Node, segments: Sequence[str]) -> list[_Match]:
    """Every leaf the route matches, with its rank key: (segments matched only as another version,
    matched only without the base path, per-segment ranks)."""
    found: list[_Match] = []
    budget = [_MAX_VISITS]
    ranks: list[int] = []

    def walk(node: _Node, i: int) -> None:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        if i == len(segments):
            versions = ranks.count(_OTHER_VERSION)
            found.extend(((versions, leaf.stripped, tuple(ranks)), leaf) for leaf in node.leaves.values())
            return
        segment = segments[i]
        placeholder = _is_placeholder(segment)
        steps: list[tuple[int, _Node]] = []
        if not placeholder:
            child = node.literal.get(segment)
            if child is not None:
                steps.append((_LITERAL, child))
            steps.extend((_PATTERN, child) for pieces, child in node.patterns.values() if _fits(pieces, segment))
            if node.versions and _version(segment) is not None:
                steps.extend((_OTHER_VERSION, child) for text, child in node.versions.items() if text != segment)
        if node.param is not None:
            steps.append((_PARAM, node.param))
        for rank, child in steps:
            ranks.append(rank)
            walk(child, i + 1)
            ranks.pop()

    walk(root, 0)
    found.sort(key=lambda m: (m[0], m[1].base, m[1].path))
    return found


def _operation_for(leaf: _Leaf, method: str) -> SpecOperation | None:
    operation = leaf.operations.get(method)
    if operation is None and method == "HEAD":
        operation = leaf.operations.get("GET")  # servers answer HEAD for every GET
    return operation


# --- parameters ---------------------------------------------------------------------------------
_JSON_TYPES = frozenset(("array", "boolean", "integer", "null", "number", "object", "string"))


def _accepts(location: str, documented: str | None, item_type: str | None, seen: str) -> bool:
    if documented not in _JSON_TYPES or seen not in _JSON_TYPES:
        return True  # undocumented, or a type we cannot judge (2.0 `file`, an unknown seen type)
    if location in _TEXT_LOCATIONS:
        if documented == "array":
            return item_type is None or _accepts(location, item_type, None, seen)
        if documented in ("string", "object"):
            return True  # any text is a string; an object in a query is a style question
    if seen == "null":
        return True  # nullability is not drift worth a line
    if documented == "number":
        return seen in ("integer", "number")
    return documented == seen


def _documented(parameter: SpecParameter) -> str | None:
    if parameter.type == "array" and parameter.item_type:
        return f"array[{parameter.item_type}]"
    return parameter.type


def _entry(name: str, location: str, issue: str, seen: Sequence[str], documented: str | None) -> dict[str, Any]:
    return {"name": name, "in": location, "issue": issue, "seen": "|".join(sorted(seen)), "documented": documented}


def _mismatch(parameter: SpecParameter, location: str, types: Mapping[str, int]) -> dict[str, Any] | None:
    wrong = [t for t, n in types.items() if n > 0 and not _accepts(location, parameter.type, parameter.item_type, t)]
    if not wrong:
        return None
    return _entry(parameter.name, location, TYPE_MISMATCH, wrong, _documented(parameter))


def _parameter_drift(operation: SpecOperation, leaf: _Leaf, segments: Sequence[str],
                     parameters: Parameters) -> tuple[dict[str, Any], ...]:
    entries: list[dict[str, Any]] = []
    for template, called in zip(leaf.segments, segments, strict=True):
        name = _spec_param(template)
        parameter = operation.parameter("path", name) if name is not None else None
        if parameter is None:
            continue
        if _is_placeholder(called):
            types: Mapping[str, int] = parameters.get("path:" + _placeholder_name(called), {})
        else:
            types = {value_type(called): 1}
        entry = _mismatch(parameter, "path", types)
        if entry is not None:
            entries.append(entry)
    for key, types in parameters.items():
        location, _, name = key.partition(":")
        if location not in _DRIFT_LOCATIONS or not name:
            continue
        parameter = operation.parameter(location, name)
        if parameter is None:
            if not (location == "body" and operation.open_body):
                entries.append(_entry(name, location, UNDOCUMENTED, [t for t, n in types.items() if n > 0], None))
            continue
        entry = _mismatch(parameter, location, types)
        if entry is not None:
            entries.append(entry)
    entries.sort(key=lambda e: (e["in"], e["name"], e["issue"]))
    return tuple(entries[:_MAX_DRIFT])


# --- classification -----------------------------------------------------------------------------
def _classify(method: str, route: str, parameters: Parameters, root: _Node,
              used: set[SpecOperation], bases: Counter[tuple[SpecOperation, str]]) -> EndpointDrift:
    segments = _segments(route)
    if len(segments) > _MAX_SEGMENTS:
        return EndpointDrift(method, route, SHADOW)
    matches = _search(root, segments)
    if not matches:
        return EndpointDrift(method, route, SHADOW)
    with_method = [(key, leaf, op) for key, leaf in matches if (op := _operation_for(leaf, method)) is not None]
    if not with_method:
        return EndpointDrift(method, route, SHADOW, matches[0][1].path)  # the path is known, the method is not
    (versions, stripped, ranks), leaf, operation = with_method[0]
    if versions:
        older = all(_older(seen, template) for seen, template, rank in zip(segments, leaf.segments, ranks, strict=True)
                    if rank == _OTHER_VERSION)
        if not older:  # a newer version than the spec knows: nobody documented it
            return EndpointDrift(method, route, SHADOW, leaf.path)
        used.add(operation)
        return EndpointDrift(method, route, ZOMBIE, leaf.path, operation.deprecated, operation.operation_id)
    used.add(operation)
    if not stripped:
        bases[(operation, leaf.base)] += 1
    status = ZOMBIE if operation.deprecated else DOCUMENTED
    drift = _parameter_drift(operation, leaf, segments, parameters)
    return EndpointDrift(method, route, status, leaf.path, operation.deprecated, operation.operation_id, drift)


def _orphan_route(base: str, path: str) -> str:
    return normalize_path(base + "/" + path) or "/"


def diff(observed: Sequence[tuple[str, str, Parameters]], spec: ApiSpec) -> Drift:
    """Classify every observed (method, route as called, parameters) against `spec`, and list the
    spec's operations that nothing called."""
    root = _trie(spec)
    used: set[SpecOperation] = set()
    bases: Counter[tuple[SpecOperation, str]] = Counter()
    endpoints: dict[tuple[str, str], EndpointDrift] = {}
    for method, route, parameters in observed:
        result = _classify(method.upper(), route, parameters, root, used, bases)
        endpoints[(method, route)] = result if result.method == method else replace(result, method=method)
    # an orphan is shown under the base path its API's traffic uses most, else the spec's first
    traffic_bases = Counter[str]()
    for (_, base), n in bases.items():
        traffic_bases[base] += n
    orphans = []
    for operation in spec.operations:
        if operation in used:
            continue
        choices = operation.base_paths or spec.base_paths
        base = max(choices, key=lambda b: (traffic_bases[b], -choices.index(b)))
        orphans.append(Orphan(operation.method, _orphan_route(base, operation.path), operation.path,
                              operation.deprecated, operation.operation_id))
    orphans.sort(key=lambda o: (o.route, o.method))
    return Drift(endpoints, tuple(orphans))
