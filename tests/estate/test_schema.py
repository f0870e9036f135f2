"""estate.schema: value types, bounded schema inference, and a merge that is commutative and associative."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_apisec.estate import schema
from otel_apisec.estate.schema import MAX_DEPTH, MAX_NODES, infer, merge, top_keys, top_level_types, value_format, value_type

# --- helpers -------------------------------------------------------------------------------------


def _nodes(s: dict[str, Any]) -> int:
    return 1 + sum(_nodes(sub) for sub in s.get("properties", {}).values()) + (_nodes(s["items"]) if "items" in s else 0)


def _depth(s: dict[str, Any]) -> int:
    children = [*s.get("properties", {}).values(), *([s["items"]] if "items" in s else [])]
    return 1 + max((_depth(c) for c in children), default=0)


def _keys_sorted(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(_keys_sorted(v) for v in value.values())
    if isinstance(value, list):
        return all(_keys_sorted(v) for v in value)
    return True


_names = st.sampled_from(["id", "name", "email", "tags", "a", "b", "c", "items", "x-y", "n_1"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "alice@example.com", "2024-05-01", "2024-05-01T10:00:00Z",
                       "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "https://example.com/a", "10.0.0.1"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_names, children, max_size=5),
    max_leaves=20,
)


# --- value_type / value_format --------------------------------------------------------------------
class TestValueType:
    @pytest.mark.parametrize(("text", "expected"), [
        ("42", "integer"), ("-7", "integer"), ("+3", "integer"), ("007", "integer"),
        ("1.5", "number"), (".5", "number"), ("2.", "number"), ("1e3", "number"), ("-1.5E-3", "number"),
        ("true", "boolean"), ("False", "boolean"),
        ("", "string"), ("abc", "string"), (".", "string"), ("-", "string"), ("1.2.3", "string"),
        ("0x1F", "string"), ("NaN", "string"), ("inf", "string"), ("1e", "string"), ("١٢", "string"),
        ("9" * 65, "string"),
    ])
    def test_table(self, text: str, expected: str) -> None:
        """Each text value gets the narrowest JSON type it spells, and `string` otherwise."""
        assert value_type(text) == expected

    @pytest.mark.parametrize(("text", "expected"), [
        ("2024-05-01", "date"), ("2024-05-01T10:00:00Z", "date-time"), ("2024-05-01 10:00:00.123+02:00", "date-time"),
        ("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "uuid"), ("alice@example.com", "email"),
        ("https://example.com/x?y=1", "uri"), ("192.168.0.1", "ipv4"),
        ("2024-13-01", None), ("2024-05-01T25", None), ("a@b", None), ("@example.com", None), ("256.1.1.1", None),
        ("hello", None), ("x" * 300, None),
    ])
    def test_formats(self, text: str, expected: str | None) -> None:
        """Formats are read from the shape of a string only; anything doubtful has none."""
        assert value_format(text) == expected


# --- infer --------------------------------------------------------------------------------------
class TestInfer:
    def test_shape_of_a_body(self) -> None:
        """Types, formats, properties, required names and array items, with sorted keys."""
        s = infer({"id": 7, "price": 9.5, "name": "Rex", "email": "rex@example.com", "ok": True, "gone": None,
                   "tags": [{"id": 1, "name": "a"}, {"id": 2}]})
        assert s == {
            "properties": {
                "email": {"format": "email", "type": "string"},
                "gone": {"type": "null"},
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "ok": {"type": "boolean"},
                "price": {"type": "number"},
                "tags": {"items": {"properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                                   "required": ["id"], "type": "object"}, "type": "array"},
            },
            "required": ["email", "gone", "id", "name", "ok", "price", "tags"],
            "type": "object",
        }
        assert _keys_sorted(s)

    def test_never_keeps_values(self) -> None:
        """Planted values (card number, token, address) appear nowhere in the schema."""
        planted = ["4111111111111111", "sk_live_51HxYzSECRET", "Alice Wonderland", "alice@example.com"]
        s = infer({"card": planted[0], "token": planted[1], "user": {"name": planted[2], "mail": planted[3]},
                   "list": planted, "n": 4111111111111111})
        text = json.dumps(s)
        assert "card" in text  # names stay (the test reads real output)
        for value in planted:
            assert value not in text

    @pytest.mark.parametrize("key", ["alice@example.com", "+15551234567", "4111111111111111", "2024-05-01T10:00",
                                     "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "k" * 65, "", "a\nb"])
    def test_data_like_keys_are_not_names(self, key: str) -> None:
        """Keys that are data (addresses, numbers, dates, IDs, long or unprintable) become additionalProperties."""
        s = infer({key: 1, "id": 2})
        assert list(s["properties"]) == ["id"]
        assert s["additionalProperties"] is True
        assert key not in json.dumps(s) or key == ""

    def test_at_most_64_properties(self) -> None:
        """An object keeps its first 64 names in sorted order, and says there were more."""
        s = infer({f"field_{i:03d}": i for i in range(100)})
        assert len(s["properties"]) == schema.MAX_PROPERTIES
        assert min(s["properties"]) == "field_000" and max(s["properties"]) == "field_063"
        assert s["additionalProperties"] is True

    def test_items_from_the_first_32(self) -> None:
        """Array items are merged from the first 32 only."""
        body = [{"a": 1}] * 32 + [{"late": 1}]
        assert top_keys(infer(body)) == {"a"}

    def test_depth_is_cut(self) -> None:
        """Below MAX_DEPTH levels a value has its type only."""
        deep: Any = 1
        for _ in range(30):
            deep = {"a": deep}
        s = infer(deep)
        assert _depth(s) == MAX_DEPTH + 1
        node = s
        for _ in range(MAX_DEPTH):
            node = node["properties"]["a"]
        assert node == {"additionalProperties": True, "type": "object"}

    @pytest.mark.parametrize("build", [
        lambda: _nest(10_000, dict),
        lambda: _nest(10_000, list),
        lambda: {f"k{i}": {"x": [i]} for i in range(200_000)},
        lambda: [[{"a": [{"b": i}] * 50}] * 50 for i in range(1000)],
        lambda: list(range(1_000_000)),
        lambda: {"a" * 100_000: "b" * 1_000_000},
    ])
    def test_hostile_input_is_bounded(self, build: Any) -> None:
        """Deep, wide and huge documents take little time and give a small schema."""
        document = build()
        start = time.perf_counter()
        s = infer(document)
        assert time.perf_counter() - start < 0.5
        assert _nodes(s) <= MAX_NODES and _depth(s) <= MAX_DEPTH + 1

    def test_unknown_objects(self) -> None:
        """Values that are not JSON get an empty (any) schema, not an error."""
        assert infer(object()) == {}
        assert infer((1, 2)) == {"items": {"type": "integer"}, "type": "array"}

    @settings(max_examples=200, deadline=None)
    @given(_json)
    def test_bounded_on_any_json(self, document: Any) -> None:
        """Whatever the document, the schema stays within the bounds and keeps no string value."""
        s = infer(document)
        assert _nodes(s) <= MAX_NODES and _depth(s) <= MAX_DEPTH + 1
        assert _keys_sorted(s)
        assert "alice@example.com" not in json.dumps(s)


def _nest(levels: int, kind: type) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = {"a": value} if kind is dict else [value]
    return value


# --- merge --------------------------------------------------------------------------------------
class TestMerge:
    def test_none(self) -> None:
        """None is the neutral element."""
        s = infer({"a": 1})
        assert merge(None, None) is None
        assert merge(s, None) == s == merge(None, s)

    def test_types_and_required(self) -> None:
        """Types are unioned (integer folds into number), required names intersected."""
        a = infer({"id": 1, "name": "x", "score": 1})
        b = infer({"id": "u-1", "score": 2.5})
        m = merge(a, b)
        assert m is not None
        assert m["properties"]["id"]["type"] == ["integer", "string"]
        assert m["properties"]["score"]["type"] == "number"
        assert m["required"] == ["id", "score"]

    def test_formats_must_agree(self) -> None:
        """A format survives only where every string had it."""
        uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
        assert merge(infer({"id": uuid}), infer({"id": uuid.upper()}))["properties"]["id"]["format"] == "uuid"  # type: ignore[index]
        assert "format" not in merge(infer({"id": uuid}), infer({"id": "abc"}))["properties"]["id"]  # type: ignore[index]
        mixed = merge(infer({"id": uuid}), infer({"id": 5}))
        assert mixed is not None and mixed["properties"]["id"] == {"format": "uuid", "type": ["integer", "string"]}

    def test_array_items_merge(self) -> None:
        """An empty array says nothing about its items."""
        m = merge(infer({"tags": []}), infer({"tags": ["a"]}))
        assert m is not None and m["properties"]["tags"] == {"items": {"type": "string"}, "type": "array"}

    def test_garbage_state(self) -> None:
        """A persisted schema of the wrong shape is read for what is well formed, never raises."""
        assert merge({"type": 5, "properties": [1], "items": "x", "required": "a"}, None) == {}
        assert merge({"type": ["string", "bogus"], "properties": {"a": "x", 3: {}}}, {"type": "object"}) == \
            {"type": ["object", "string"]}
        assert merge("nonsense", infer(1)) == {"type": "integer"}  # type: ignore[arg-type]
        hostile = {"type": "object", "properties": {"k" * 1000: {}, "ok": {"type": "string"}},
                   "required": ["ok", "k" * 1000, *map(str, range(100_000))], "format": "f" * 100}
        assert merge(hostile, None) == {"properties": {"ok": {"type": "string"}}, "required": ["ok"], "type": "object"}

    def test_many_distinct_documents_stay_bounded(self) -> None:
        """Merging thousands of differently-shaped bodies keeps at most MAX_NODES nodes."""
        merged = None
        for i in range(2000):
            merged = merge(merged, infer({f"key_{i}": {f"sub_{j}": [j] for j in range(10)}}))
        assert merged is not None and _nodes(merged) <= MAX_NODES
        assert merged["additionalProperties"] is True

    @settings(max_examples=300, deadline=None)
    @given(_json, _json)
    def test_commutative(self, a: Any, b: Any) -> None:
        """merge(a, b) == merge(b, a)."""
        assert merge(infer(a), infer(b)) == merge(infer(b), infer(a))

    @settings(max_examples=300, deadline=None)
    @given(_json, _json, _json)
    def test_associative(self, a: Any, b: Any, c: Any) -> None:
        """merge(merge(a, b), c) == merge(a, merge(b, c))."""
        sa, sb, sc = infer(a), infer(b), infer(c)
        assert merge(merge(sa, sb), sc) == merge(sa, merge(sb, sc))

    @settings(max_examples=300, deadline=None)
    @given(_json, _json, _json)
    def test_associative_when_cutting(self, a: Any, b: Any, c: Any) -> None:
        """With a tiny node bound (so merges cut), the same nodes are kept whatever the grouping."""
        sa, sb, sc = infer(a), infer(b), infer(c)
        original = schema.MAX_NODES
        schema.MAX_NODES = 4
        try:
            left, right = merge(merge(sa, sb), sc), merge(sa, merge(sb, sc))
        finally:
            schema.MAX_NODES = original
        assert left == right
        assert left is not None and _nodes(left) <= 4

    @settings(max_examples=200, deadline=None)
    @given(_json)
    def test_idempotent(self, a: Any) -> None:
        """Merging a schema with itself changes nothing."""
        s = infer(a)
        assert merge(s, s) == s


# --- reading ------------------------------------------------------------------------------------
class TestTopKeys:
    def test_object_and_array(self) -> None:
        """Top keys of an object body, or of the items of a list body."""
        assert top_keys(infer({"a": 1, "b": {"c": 2}})) == {"a", "b"}
        assert top_keys(infer([{"id": 1}, {"name": "x"}])) == {"id", "name"}
        assert top_keys(infer("text")) == frozenset()
        assert top_keys(None) == frozenset()

    def test_top_level_types(self) -> None:
        """One (name, type) per type a top-level key was seen with."""
        s = merge(infer({"id": 1, "tags": []}), infer({"id": "x"}))
        assert list(top_level_types(s)) == [("id", "integer"), ("id", "string"), ("tags", "array")]
        assert list(top_level_types(None)) == []
