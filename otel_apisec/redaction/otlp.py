"""The one walk over OTLP attribute lists and `AnyValue` trees, edited in place.

The gateway's `apisec/redact` processor and the enrich processor's per-span masking both walk
through here; what differs is the `Rules` they pass: what a key's value gets (`action`) and what
happens to a string, a bytes value and a key. The walk owns the structure: arrays and kvlists up
to `MAX_DEPTH` levels (a deeper value is masked whole), whole-value masking and keyed hashing at
any depth, and skipping texts a value masker found clean.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import TYPE_CHECKING, Protocol, TypeAlias

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from otel_apisec import attributes as A

if TYPE_CHECKING:
    import hmac

    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

    KeyValues: TypeAlias = RepeatedCompositeFieldContainer[KeyValue]

__all__ = [
    "ARRAY", "BYTES", "HASH", "KEEP", "KVLIST", "MASK", "MAX_DEPTH", "STRING", "TEXT", "URL", "Rules", "hash_value",
    "mask_value", "walk_kvs", "walk_value",
]

STRING, ARRAY, KVLIST, BYTES = "string_value", "array_value", "kvlist_value", "bytes_value"
"""The `AnyValue` kinds the walk tells apart (`WhichOneof("value")`)."""

KEEP, HASH, MASK, URL, TEXT = range(1, 6)
"""What the rules do to one key's value (never 0, so `cache.get(key) or decide(key)` works)."""
MAX_DEPTH = 16
"""Nesting of arrays and kvlists walked; a value nested deeper is masked whole."""


class Rules(Protocol):
    """One walk's decisions and edits; `owner` is the caller's (what the counts are kept for)."""

    # Read-only, so that an implementation may hold a dict (or None) as a plain attribute.
    @property
    def clean(self) -> Container[str] | None:
        """Texts known to hold nothing to mask (keys and values alike), or None: each is looked at."""
        ...

    @property
    def actions(self) -> Mapping[str, int]:
        """`action`'s decisions so far, read first (a lookup costs less than a call, per attribute)."""
        ...

    def action(self, key: str) -> int:
        """KEEP, HASH, MASK, URL or TEXT for the values under `key` (called for every key: cache it)."""
        ...

    def key(self, kv: KeyValue, owner: int) -> None:
        """A key not known clean: keys are values too (a kvlist keyed by an email)."""
        ...

    def string(self, key: str, value: AnyValue, text: str, action: int, owner: int) -> None:
        """A non-empty string `text` held by `value`, under `key`, with `action` URL or TEXT."""
        ...

    def bytes(self, key: str, value: AnyValue, action: int, owner: int) -> None:
        """A bytes value under `key`, with `action` URL or TEXT."""
        ...

    def hashed(self, value: AnyValue, owner: int) -> None:
        """A value under a HASH key (see `hash_value`)."""
        ...

    def masked_whole(self, owner: int, count: int) -> None:
        """`count` values were masked whole (MASK, or nested past `MAX_DEPTH`)."""
        ...


def walk_kvs(kvs: KeyValues, rules: Rules, owner: int, depth: int = 0, text_prefixes: tuple[str, ...] = ()) -> None:
    """Every key and value of an attribute list (or kvlist) by `rules`; keys starting with one of
    `text_prefixes` get TEXT whatever `rules.action` says. Hot loop: one attribute access per
    clean string."""
    clean = rules.clean
    actions = rules.actions
    for kv in kvs:
        key = kv.key
        action = TEXT if text_prefixes and key.startswith(text_prefixes) else actions.get(key) or rules.action(key)
        if action == KEEP:
            continue
        if clean is None or key not in clean:
            rules.key(kv, owner)
        value = kv.value
        if action == TEXT and clean is not None:
            text = value.string_value
            if text in clean:
                continue
            if text:
                rules.string(key, value, text, action, owner)
                continue
        walk_value(key, value, action, rules, owner, depth)


def walk_value(key: str, value: AnyValue, action: int, rules: Rules, owner: int, depth: int = 0) -> None:
    """One value under `key` (at `depth` levels of nesting) by `action`."""
    if action == HASH:
        rules.hashed(value, owner)
        return
    if action == MASK or depth > MAX_DEPTH:
        rules.masked_whole(owner, mask_value(value))
        return
    text = value.string_value  # "" for other kinds: the common case costs one access
    if text:
        rules.string(key, value, text, action, owner)
        return
    kind = value.WhichOneof("value")
    if kind == ARRAY:
        clean = rules.clean
        for item in value.array_value.values:
            text = item.string_value  # most arrays hold strings: captured header values
            if text and action == TEXT and clean is not None and text in clean:
                continue
            if text and depth < MAX_DEPTH:
                rules.string(key, item, text, action, owner)
            else:
                walk_value(key, item, action, rules, owner, depth + 1)
    elif kind == KVLIST:
        walk_kvs(value.kvlist_value.values, rules, owner, depth + 1)
    elif kind == BYTES:
        rules.bytes(key, value, action, owner)


def mask_value(value: AnyValue) -> int:
    """The whole value becomes `***` (an array or kvlist: each item, to `MAX_DEPTH`); the count of
    values changed (one already `***` is not counted)."""
    kind = value.WhichOneof("value")
    if kind in (ARRAY, KVLIST):
        stack = [(value, 0)]
        count = 0
        while stack:
            item, depth = stack.pop()
            kind = item.WhichOneof("value")
            if kind in (ARRAY, KVLIST) and depth < MAX_DEPTH:
                children = item.array_value.values if kind == ARRAY else [kv.value for kv in item.kvlist_value.values]
                stack.extend((child, depth + 1) for child in children)
            elif kind is not None and not (kind == STRING and item.string_value == A.REDACTED):
                item.string_value = A.REDACTED
                count += 1
        return count
    if kind is None or (kind == STRING and value.string_value == A.REDACTED):
        return 0
    value.string_value = A.REDACTED
    return 1


def hash_value(value: AnyValue, keyed: hmac.HMAC, depth: int = 0) -> int:
    """Each scalar in `value` replaced by the first 32 hex digits of its keyed hash (a copy of
    `keyed` updated with its bytes), so it correlates but cannot be read back; deeper than
    `MAX_DEPTH` masked whole. The count of values changed."""
    kind = value.WhichOneof("value")
    if kind in (ARRAY, KVLIST) and depth >= MAX_DEPTH:
        return mask_value(value)
    if kind == ARRAY:
        return sum(hash_value(item, keyed, depth + 1) for item in value.array_value.values)
    if kind == KVLIST:
        return sum(hash_value(kv.value, keyed, depth + 1) for kv in value.kvlist_value.values)
    if kind is None:
        return 0
    if kind == BYTES:
        data = value.bytes_value
    elif kind == STRING:
        data = value.string_value.encode("utf-8", "surrogatepass")
    else:
        data = str(getattr(value, kind)).encode()
    digest = keyed.copy()
    digest.update(data)
    value.string_value = digest.hexdigest()[:32]
    return 1
