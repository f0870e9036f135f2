"""Shapes of values, never the values: the type of a query or header value, and a JSON Schema
(subset) of a JSON body that merges with the schemas of other bodies of the same endpoint.

Bodies are attacker input, so every walk is bounded: `infer` descends at most `MAX_DEPTH` levels,
keeps at most `MAX_PROPERTIES` names per object, merges at most `MAX_ITEMS` array items and stops
descending after `_MAX_VISITS` values; `merge` keeps at most `MAX_NODES` schema nodes.

A schema here is a plain dict with sorted keys, made of:
`type` (a name, or a sorted list of names), `format`, `properties` (name -> schema, sorted),
`required` (sorted names), `items` (a schema) and `additionalProperties: true` (names were left out
or were not kept). Example values are never stored. Names that look like data (an e-mail
address, a phone or account number, an object ID) are not kept as property names.

`merge` is commutative and associative, so records of one endpoint merge in any order and on any
replica: types are unioned (`integer` folds into `number`), properties unioned, `required`
intersected over the schemas that describe an object, `format` kept only where every string agrees,
and when the merged tree outgrows `MAX_NODES` the same nodes are dropped whatever the order of the
merges (the nodes nearest the root, then first by name, are kept).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from otel_apisec.paths import is_object_id

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_NODES",
    "MAX_PROPERTIES",
    "infer",
    "merge",
    "top_keys",
    "top_level_types",
    "value_format",
    "value_type",
]

MAX_DEPTH = 8
"""Levels below the root that get a schema of their own; deeper values are cut (type only)."""
MAX_PROPERTIES = 64
"""Property names `infer` keeps per object (the first by name); the rest set `additionalProperties`."""
MAX_ITEMS = 32
"""Array items whose schemas `infer` merges."""
MAX_NODES = 256
"""Schema nodes (the root, each property and each `items`) a merged schema keeps."""
_MAX_KEYS_SCANNED = 256
"""Keys of one object looked at; an object with more is marked `additionalProperties`."""
_MAX_VISITS = 1024
"""Values `infer` descends into per document; later ones get their type only."""
_MAX_NAME = 64
_MAX_NAME_DIGITS = 6
_MAX_TEXT = 256
"""Strings longer than this are typed `string` without a format (and without being scanned)."""

_TYPES = frozenset(("array", "boolean", "integer", "null", "number", "object", "string"))
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")


# --- scalar values (query, header, path segments) ------------------------------------------------
def value_type(text: str) -> str:
    """`integer`, `number`, `boolean` or `string` for a textual value (a query, header or path value)."""
    if not text or len(text) > _MAX_NAME:
        return "string"
    lowered = text.lower()
    if lowered in ("true", "false"):
        return "boolean"
    body = text[1:] if text[0] in "+-" else text
    if body and all(c in _DIGITS for c in body):
        return "integer"
    return "number" if _is_decimal(body) else "string"


def _is_decimal(text: str) -> bool:
    """`1.5`, `.5`, `2.`, `1e3`, `1.5E-3` (plain ASCII, no inf/nan, no hex)."""
    mantissa, sep, exponent = text.replace("E", "e").partition("e")
    if sep:
        exp = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not exp or not all(c in _DIGITS for c in exp):
            return False
    whole, dot, fraction = mantissa.partition(".")
    if not (whole or fraction) or not all(c in _DIGITS for c in whole + fraction):
        return False
    return bool(dot or sep)


def value_format(text: str) -> str | None:
    """The JSON Schema `format` a string clearly has: `date-time`, `date`, `uuid`, `email`, `uri`,
    `ipv4`; None otherwise. Only the shape is looked at, with plain string operations."""
    if not text or len(text) > _MAX_TEXT or not text.isascii():
        return None
    if len(text) == 36 and _is_uuid(text):
        return "uuid"
    if len(text) >= 10 and _is_date(text[:10]):
        if len(text) == 10:
            return "date"
        if text[10] in "Tt " and _is_time(text[11:]):
            return "date-time"
        return None
    if text.startswith(("http://", "https://")) and " " not in text:
        return "uri"
    if "@" in text:
        return "email" if _is_email(text) else None
    return "ipv4" if _is_ipv4(text) else None


def _is_uuid(text: str) -> bool:
    return text[8] == text[13] == text[18] == text[23] == "-" and all(c in _HEX for c in text.replace("-", ""))


def _digits(text: str, n: int) -> bool:
    return len(text) == n and all(c in _DIGITS for c in text)


def _is_date(text: str) -> bool:
    return (text[4:5] == "-" and text[7:8] == "-" and _digits(text[:4], 4) and _digits(text[5:7], 2)
            and _digits(text[8:10], 2) and 1 <= int(text[5:7]) <= 12 and 1 <= int(text[8:10]) <= 31)


def _is_time(text: str) -> bool:
    """`hh:mm:ss`, optional fraction, then `Z` or `±hh:mm` (RFC 3339)."""
    if len(text) < 9 or text[2:3] != ":" or text[5:6] != ":":
        return False
    if not (_digits(text[:2], 2) and _digits(text[3:5], 2) and _digits(text[6:8], 2)):
        return False
    rest = text[8:]
    if rest.startswith("."):
        end = 1
        while end < len(rest) and rest[end] in _DIGITS:
            end += 1
        if end == 1:
            return False
        rest = rest[end:]
    if rest in ("Z", "z"):
        return True
    return len(rest) == 6 and rest[0] in "+-" and rest[3] == ":" and _digits(rest[1:3], 2) and _digits(rest[4:], 2)


def _is_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return (bool(at) and bool(local) and "@" not in local and "." in domain and not domain.startswith(".")
            and not domain.endswith(".") and " " not in text and ".." not in domain)


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(1 <= len(p) <= 3 and _digits(p, len(p)) and int(p) <= 255 for p in parts)


def _kept_name(key: object) -> bool:
    """A property name worth keeping: short, printable, and not data in disguise (an e-mail address,
    a phone or account number, a date, an object ID used as a map key)."""
    if not isinstance(key, str) or not key or len(key) > _MAX_NAME or "@" in key:
        return False
    if not key.isprintable():
        return False
    if sum(1 for c in key if c in _DIGITS) > _MAX_NAME_DIGITS:
        return False
    return not is_object_id(key)


# --- inference ----------------------------------------------------------------------------------
def infer(document: object) -> dict[str, Any]:
    """The schema of a parsed JSON value (dict, list, str, int, float, bool, None). Bounded in depth,
    width, work and size whatever the input; never holds a value, only names and types."""
    budget = [_MAX_VISITS]
    return _prune(_infer(document, 0, budget))


def _infer(value: object, depth: int, budget: list[int]) -> dict[str, Any]:
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        fmt = value_format(value)
        return {"format": fmt, "type": "string"} if fmt else {"type": "string"}
    if isinstance(value, Mapping):
        return _infer_object(value, depth, budget)
    if isinstance(value, (list, tuple)):
        return _infer_array(value, depth, budget)
    return {}


def _infer_object(value: Mapping[Any, Any], depth: int, budget: list[int]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "object"}
    if depth >= MAX_DEPTH or budget[0] <= 0:
        if value:
            node["additionalProperties"] = True
        return node
    budget[0] -= 1
    names: list[str] = []
    extra = False
    for scanned, key in enumerate(value):
        if scanned >= _MAX_KEYS_SCANNED:
            extra = True
            break
        if _kept_name(key):
            names.append(key)
        else:
            extra = True
    names.sort()
    if len(names) > MAX_PROPERTIES:
        del names[MAX_PROPERTIES:]
        extra = True
    if names:
        node["properties"] = {name: _infer(value[name], depth + 1, budget) for name in names}
        node["required"] = names
    if extra:
        node["additionalProperties"] = True
    return _sorted(node)


def _infer_array(value: list[Any] | tuple[Any, ...], depth: int, budget: list[int]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "array"}
    if depth >= MAX_DEPTH or budget[0] <= 0 or not value:
        return node
    budget[0] -= 1
    items: dict[str, Any] | None = None
    for item in value[:MAX_ITEMS]:
        items = _union(items, _infer(item, depth + 1, budget), depth + 1)
    if items is not None:
        node["items"] = items
    return _sorted(node)


# --- merging ------------------------------------------------------------------------------------
def merge(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One schema that covers both (None for neither). Commutative and associative; bounded."""
    if a is None and b is None:
        return None
    return _prune(_union(_clean(a), _clean(b), 0))


def _clean(schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Input from elsewhere (a persisted record) may be anything: keep what is well formed."""
    return dict(schema) if isinstance(schema, Mapping) else None


def _types(schema: Mapping[str, Any]) -> set[str]:
    raw = schema.get("type")
    if isinstance(raw, str):
        return {raw} if raw in _TYPES else set()
    if isinstance(raw, (list, tuple)):
        return {t for t in raw if isinstance(t, str) and t in _TYPES}
    return set()


def _union(a: dict[str, Any] | None, b: dict[str, Any] | None, depth: int) -> dict[str, Any]:
    if a is None or b is None:
        only = a if b is None else b
        return _union_of(only, None, depth) if only is not None else {}
    return _union_of(a, b, depth)


def _union_of(a: Mapping[str, Any], b: Mapping[str, Any] | None, depth: int) -> dict[str, Any]:
    """The union of one or two schemas, rebuilt from their well-formed parts."""
    schemas = (a,) if b is None else (a, b)
    types: set[str] = set()
    for s in schemas:
        types |= _types(s)
    if "number" in types:
        types.discard("integer")
    node: dict[str, Any] = {}
    if len(types) == 1:
        node["type"] = next(iter(types))
    elif types:
        node["type"] = sorted(types)

    # format: agreed by every schema that describes a string (the others have no say)
    formats = {_format_of(s) for s in schemas if "string" in _types(s)}
    if len(formats) == 1:
        fmt = formats.pop()
        if fmt:
            node["format"] = fmt

    if any(s.get("additionalProperties") is True for s in schemas):
        node["additionalProperties"] = True

    if depth < MAX_DEPTH:
        properties: dict[str, Any] = {}
        for s in schemas:
            for name, sub in _properties(s).items():
                properties[name] = _union(properties.get(name), sub, depth + 1)
        if properties:
            node["properties"] = properties
        items = [s["items"] for s in schemas if isinstance(s.get("items"), Mapping)]
        if items:
            node["items"] = _union(dict(items[0]), dict(items[1]) if len(items) > 1 else None, depth + 1)
    elif any(_properties(s) for s in schemas):
        node["additionalProperties"] = True

    # required: the names every object-describing schema requires
    required: set[str] | None = None
    for s in schemas:
        if "object" in _types(s):
            names = _required(s)
            required = names if required is None else required & names
    if required:
        node["required"] = sorted(required)
    return node


def _format_of(schema: Mapping[str, Any]) -> str:
    fmt = schema.get("format")
    return fmt if isinstance(fmt, str) and len(fmt) <= 32 else ""


def _properties(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    raw = schema.get("properties")
    if not isinstance(raw, Mapping):
        return {}
    return {k: dict(v) for k, v in raw.items() if _kept_name(k) and isinstance(v, Mapping)}


def _required(schema: Mapping[str, Any]) -> set[str]:
    """Required names that are properties of the schema (so the list is as bounded as they are)."""
    raw = schema.get("required")
    if not isinstance(raw, (list, tuple)):
        return set()
    return {n for n in raw if isinstance(n, str)} & set(_properties(schema))


def _prune(root: dict[str, Any]) -> dict[str, Any]:
    """Keep the `MAX_NODES` nodes nearest the root, then first by name (`items` after properties),
    and sort every key. The kept set depends only on the tree, not on how it was built, which keeps
    `merge` associative when it cuts. A cut property leaves `additionalProperties: true`."""
    kept = 1
    level: list[dict[str, Any]] = [root]
    while level:
        following: list[dict[str, Any]] = []
        for node in level:  # in (depth, path) order: parents sorted, children appended sorted
            properties = node.get("properties")
            if properties:
                names = sorted(properties)
                room = max(0, min(len(names), MAX_NODES - kept))
                if room < len(names):
                    node["additionalProperties"] = True
                kept_names = names[:room]
                node["properties"] = {name: properties[name] for name in kept_names}
                if "required" in node:  # only names still described
                    node["required"] = sorted(set(node["required"]) & set(kept_names))
                kept += room
                following.extend(node["properties"].values())
            if "items" in node:
                if kept < MAX_NODES:
                    kept += 1
                    following.append(node["items"])
                else:
                    node["items"] = None
        level = following
    return _finish(root)


def _finish(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(node):
        value = node[key]
        if value is None or value == []:
            continue
        if key == "properties":
            value = {name: _finish(sub) for name, sub in value.items()}
            if not value:
                continue
        elif key == "items":
            value = _finish(value)
        out[key] = value
    return out


def _sorted(node: dict[str, Any]) -> dict[str, Any]:
    return {key: node[key] for key in sorted(node)}


# --- reading ------------------------------------------------------------------------------------
def _top(schema: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The object at the top of a body: the root, or the items of a root array (a list of records)."""
    if not isinstance(schema, Mapping):
        return None
    items = schema.get("items")
    if not _properties(schema) and isinstance(items, Mapping):
        return items
    return schema


def top_keys(schema: Mapping[str, Any] | None) -> frozenset[str]:
    """Property names at the top of a body (of its items when it is an array)."""
    top = _top(schema)
    return frozenset(_properties(top)) if top is not None else frozenset()


def top_level_types(schema: Mapping[str, Any] | None) -> Iterator[tuple[str, str]]:
    """(name, type) of each top-level property, once per type it was seen with, sorted."""
    top = _top(schema)
    if top is None:
        return
    for name, sub in sorted(_properties(top).items()):
        types = sorted(_types(sub))
        for kind in types or ("any",):
            yield name, kind
