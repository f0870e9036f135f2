"""Editing OTLP `AnyValue`s and attribute lists in place: what the gateway's processors share."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

if TYPE_CHECKING:
    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

    KeyValues: TypeAlias = RepeatedCompositeFieldContainer[KeyValue]

from otel_apisec.redaction.otlp import ARRAY, BYTES, KVLIST, STRING  # defined with the walk over these kinds

__all__ = ["ARRAY", "BYTES", "KVLIST", "STRING", "add_count", "set_value"]


def set_value(target: AnyValue, value: object) -> None:
    """A Python attribute value (str, bool, int, float, tuple of str) into an AnyValue."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):  # before int: bool is an int
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, (tuple, list)):
        target.array_value.SetInParent()  # an empty array stays an array, not an unset value
        items = target.array_value.values
        for item in value:
            set_value(items.add(), item)
    else:
        target.string_value = str(value)


def add_count(kvs: KeyValues, key: str, count: int) -> None:
    """Add `count` to the int attribute `key`, creating it (a second pass adds to the first's)."""
    for kv in kvs:
        if kv.key == key:
            kv.value.int_value = (kv.value.int_value if kv.value.WhichOneof("value") == "int_value" else 0) + count
            return
    kv = kvs.add()
    kv.key = key
    kv.value.int_value = count
