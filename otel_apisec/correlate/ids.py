"""Object identifiers: which path segments address an object and which IDs a response returned
(segment typing and route templates are in `otel_apisec.paths`).

The gateway fills `Observation.object_ids` and `Observation.response_ids` with these, and the
correlators key per-endpoint state by `route_template`. Paths and bodies are attacker input:
only plain string operations here, each linear in the input and bounded in the work done.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable

import orjson

from otel_apisec.paths import ID_PLACEHOLDER, MAX_INT_DIGITS, is_object_id, normalize_id, route_template

__all__ = [
    "ID_PLACEHOLDER",
    "is_object_id",
    "json_document",
    "normalize_id",
    "object_ids",
    "resource_object_ids",
    "response_object_ids",
    "route_template",
]

_MAX_SEGMENTS = 32
_JSON_MAX_NODES = 20_000
_JSON_MAX_DEPTH = 64
MAX_DOCUMENT_BYTES = 256 << 10
"""Larger response bodies are not parsed for IDs (bounded work per response)."""
_LIST_KEYS = ("data", "items", "results", "records", "content")
"""Keys under which APIs wrap a listing's array (`{"data": [...], "next": ...}`)."""
_OWN_ID_KEYS = ("id", "_id", "uuid", "guid")


def _segments(path: str) -> list[str]:
    path = path.partition("?")[0].partition("#")[0]
    return path.split("/", _MAX_SEGMENTS)[:_MAX_SEGMENTS]


def object_ids(path: str, limit: int = 8) -> tuple[str, ...]:
    """Normalized identifiers among the path's segments, in path order, at most `limit`."""
    found: list[str] = []
    for segment in _segments(path):
        if is_object_id(segment):
            found.append(normalize_id(segment))
            if len(found) >= limit:
                break
    return tuple(found)


def _is_id_key(key: str) -> bool:
    """`id`, `_id`, `uuid`, `user_id`, `order_uuid`, `userId`, `orderUUID`."""
    return len(key) <= 64 and _is_short_id_key(key)


@functools.lru_cache(maxsize=4096)
def _is_short_id_key(key: str) -> bool:
    """`_is_id_key` for keys of at most 64 characters (what the cache holds stays small): a
    response repeats its few keys in every item, so most calls are cache hits."""
    lower = key.lower()
    if lower in ("id", "_id", "uuid", "guid"):
        return True
    if lower.endswith(("_id", "-id", "_uuid", "-uuid", "_guid")):
        return True
    # camelCase: a lower-case letter before a capitalised `Id`/`ID`/`Uuid`.
    for suffix in ("Id", "ID", "Uuid", "UUID"):
        if key.endswith(suffix) and len(key) > len(suffix) and key[-len(suffix) - 1].islower():
            return True
    return False


def _id_text(value: object) -> str | None:
    kind = type(value)
    if kind is int:
        return str(value) if 0 <= value < 10**MAX_INT_DIGITS else None  # type: ignore[operator]
    if kind is str and is_object_id(value):  # type: ignore[arg-type]
        return normalize_id(value)  # type: ignore[arg-type]
    return None


def response_object_ids(document: object, limit: int = 256) -> tuple[str, ...]:
    """Normalized values of identifier keys (`id`, `*_id`, `*Id`, `uuid`) anywhere in a parsed JSON
    document, first seen first, at most `limit` distinct. Looks at most at 20,000 keys and items
    and 64 levels deep, so a huge or deeply nested body costs a bounded amount of work."""
    found: dict[str, None] = {}
    stack: list[tuple[object, int]] = [(document, 0)]
    budget = _JSON_MAX_NODES
    while stack and budget > 0 and len(found) < limit:
        node, depth = stack.pop()
        if depth >= _JSON_MAX_DEPTH:
            continue
        children: list[tuple[object, int]] = []
        if isinstance(node, dict):
            for key, value in itertools.islice(node.items(), budget):
                budget -= 1
                if isinstance(key, str) and _is_id_key(key):
                    text = _id_text(value)
                    if text is not None:
                        found[text] = None
                        if len(found) >= limit:
                            break
                if isinstance(value, (dict, list)):
                    children.append((value, depth + 1))
        elif isinstance(node, list):
            for item in itertools.islice(node, budget):
                budget -= 1
                if isinstance(item, (dict, list)):
                    children.append((item, depth + 1))
        # Reversed, so the walk visits siblings in document order.
        stack.extend(reversed(children))
    return tuple(found)


def json_document(body: object) -> object | None:
    """A response body (text or bytes) parsed as JSON, or None (none, too large, not JSON)."""
    if not isinstance(body, (str, bytes)) or not body or len(body) > MAX_DOCUMENT_BYTES:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _own_id(item: object) -> str | None:
    """The object's own identifier (`id`, `_id`, `uuid`, `guid`, any case), normalized, or None."""
    if not isinstance(item, dict):
        return None
    for key in _OWN_ID_KEYS:
        value = item.get(key)
        if value is None:
            value = item.get(key.upper())
        if type(value) is int and value >= 0:
            return str(value)
        if isinstance(value, str) and is_object_id(value):
            return normalize_id(value)
    return None


def resource_object_ids(document: object | None, locations: Iterable[str] = (), limit: int = 256) -> tuple[str, ...]:
    """IDs of the objects a response *is* or *lists* (`Observation.resource_ids`): the parsed body's
    own `id` (`_id`, `uuid`, `guid`), or that of each item of a top-level array or of the array
    under `data`, `items`, `results`, `records` or `content`; then the object ID ending each
    `Location` header value in `locations`. Never a foreign key. At most `limit` items looked at."""
    found: dict[str, None] = {}
    items: object = document
    if isinstance(document, dict):
        own = _own_id(document)
        if own is not None:
            found[own] = None
        else:
            items = next((document[k] for k in _LIST_KEYS if isinstance(document.get(k), list)), None)
    if isinstance(items, list):
        for item in items[:limit]:
            own = _own_id(item)
            if own is not None:
                found[own] = None
    for value in itertools.islice(locations, 8):
        last = value.partition("?")[0].rstrip("/").rpartition("/")[2]
        if is_object_id(last):
            found[normalize_id(last)] = None
    return tuple(found)[:limit]
