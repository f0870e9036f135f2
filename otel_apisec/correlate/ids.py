"""Object identifiers: which path segments address an object, which IDs a response returned,
and the route template a path belongs to.

The gateway fills `Observation.object_ids` and `Observation.response_ids` with these, and the
correlators key per-endpoint state by `route_template`. Paths and bodies are attacker input:
only plain string operations here, each linear in the input and bounded in the work done.
"""

from __future__ import annotations

import functools
import hashlib
import itertools

__all__ = [
    "ID_PLACEHOLDER",
    "is_object_id",
    "normalize_id",
    "object_ids",
    "response_object_ids",
    "route_template",
]

ID_PLACEHOLDER = "{id}"
_HEX = frozenset("0123456789abcdefABCDEF")
_CROCKFORD = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_MAX_SEGMENT = 128
"""Longer segments are not identifiers (and are not worth scanning)."""
_MAX_SEGMENTS = 32
_MAX_INT_DIGITS = 20
_MIN_HEX = 16
"""Hex strings from this length on (ObjectId is 24, SHA-1 40) vary per object; shorter ones
are too often words (`cafe`, `deadbeef`) or versions."""
_MIN_OPAQUE = 20
_TOKEN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.~+=%")
_MAX_TEMPLATE = 200
"""Route templates are state keys: a longer one is cut and suffixed with a digest of the whole."""
_JSON_MAX_NODES = 20_000
_JSON_MAX_DEPTH = 64


def _is_hex_id(text: str) -> bool:
    bare = text.replace("-", "") if "-" in text else text
    return len(bare) >= _MIN_HEX and all(c in _HEX for c in bare) and any(c.isdigit() for c in bare)


def _is_uuid(text: str) -> bool:
    return (
        len(text) == 36
        and text[8] == text[13] == text[18] == text[23] == "-"
        and all(c in _HEX for c in text.replace("-", ""))
    )


def _is_ulid(text: str) -> bool:
    # A ULID's first character encodes the top of a 48-bit millisecond timestamp: always 0-7,
    # so a 26-letter word never passes.
    return len(text) == 26 and text[0] in "01234567" and all(c in _CROCKFORD for c in text)


def _is_prefixed_id(text: str) -> bool:
    """Stripe-style `cus_NffrFeUfNV2Hib`: a short lower-case type prefix, `_`, 14+ alphanumerics
    with at least one digit."""
    prefix, sep, rest = text.partition("_")
    return (
        bool(sep)
        and 2 <= len(prefix) <= 8
        and prefix.isascii()
        and prefix.isalpha()
        and prefix.islower()
        and len(rest) >= 14
        and all(c in _ALNUM for c in rest)
        and any(c.isdigit() for c in rest)
    )


def is_object_id(segment: str) -> bool:
    """Integers, UUIDs, hex strings of 16+ characters (Mongo ObjectId, hashes), ULIDs and
    prefixed IDs (`cus_…`): the parts of a path that vary per object. `v1`, `me`, dates and
    slugs are not."""
    if not segment or len(segment) > _MAX_SEGMENT or not segment.isascii():
        return False
    if segment.isdigit():
        return len(segment) <= _MAX_INT_DIGITS
    return _is_uuid(segment) or _is_hex_id(segment) or _is_ulid(segment) or _is_prefixed_id(segment)


def normalize_id(text: str) -> str:
    """One spelling per identifier, so `/users/0042` matches `"id": 42` and UUIDs match in any case."""
    if text.isdigit():
        return text.lstrip("0") or "0"
    return text.lower() if text.isascii() and (_is_uuid(text) or _is_hex_id(text) or _is_ulid(text)) else text


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


def _is_opaque(segment: str) -> bool:
    """A long token-like segment (magic-link token, API key, JWT, base64): letters and digits
    mixed, 20+ characters of a URL-safe alphabet. Kept out of templates, which end up in state
    keys and alerts, so a credential in a path never does."""
    return (
        len(segment) >= _MIN_OPAQUE
        and all(c in _TOKEN_CHARS for c in segment)
        and any(c.isdigit() for c in segment)
        and any(c.isalpha() for c in segment)
    )


def _is_personal(segment: str) -> bool:
    """An email (`@`, also percent-encoded) or a run of digits as long as a phone, card or national
    number (7+, an ISO date aside): personal data, kept out of templates, which become metric labels."""
    if "@" in segment or "%40" in segment:
        return True
    digits = sum(c.isdigit() for c in segment)
    return digits >= 7 and not (len(segment) == 10 and segment[4] == segment[7] == "-" and digits == 8)


@functools.lru_cache(maxsize=4096)
def route_template(route_or_path: str) -> str:
    """The route with identifier, token-like and personal segments replaced by `{id}` (a real
    template stays as it is); bounded in length so it can serve as a state key."""
    head, _, _ = route_or_path.partition("?")
    segments = head.split("/")
    template = "/".join(
        ID_PLACEHOLDER if is_object_id(s) or _is_opaque(s) or _is_personal(s) else s for s in segments
    ) or "/"
    if len(template) > _MAX_TEMPLATE:
        digest = hashlib.blake2b(template.encode("utf-8", "replace"), digest_size=8).hexdigest()
        template = f"{template[:_MAX_TEMPLATE]}…{digest}"
    return template


def _is_id_key(key: str) -> bool:
    """`id`, `_id`, `uuid`, `user_id`, `order_uuid`, `userId`, `orderUUID`."""
    if len(key) > 64:
        return False
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
        return str(value) if 0 <= value < 10**_MAX_INT_DIGITS else None  # type: ignore[operator]
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
