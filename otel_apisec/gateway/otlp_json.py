"""OTLP/JSON <-> protobuf for the three Export*ServiceRequest messages.

OTLP/JSON is the protobuf JSON mapping with one deliberate difference: trace and span ids are hex
strings, not base64. json_format does everything else (lowerCamelCase or original field names, enums
as ints or names, 64-bit ints as strings or numbers), so the ids are rewritten on the plain dict before
ParseDict and after MessageToDict. The rewrite visits only the known id locations, never attribute
values, so a large payload costs one walk over its spans, log records or exemplars.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message

from otel_apisec.gateway.api import REQUEST_TYPES, Request, Signal

__all__ = ["parse_json_request", "to_json"]

# Id field (both spellings json_format accepts) -> its length in bytes.
_ID_LENGTHS = {
    "traceId": 16, "trace_id": 16,
    "spanId": 8, "span_id": 8,
    "parentSpanId": 8, "parent_span_id": 8,
}  # fmt: skip
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_METRIC_DATA_FIELDS = ("gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary")


def parse_json_request(signal: Signal, data: bytes) -> Request:
    """Decode an OTLP/JSON body into the signal's Export*ServiceRequest; ValueError says what is wrong."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:  # also raised for invalid UTF-8 and nesting deeper than 1024
        raise ValueError(f"invalid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"an OTLP/JSON {signal.value} request must be a JSON object, not {type(document).__name__}")
    for item in _id_holders(signal, document):
        for key in _ID_LENGTHS.keys() & item.keys():
            item[key] = _hex_to_base64(key, item[key])
    request = REQUEST_TYPES[signal]()
    try:
        # The OTLP spec: receivers MUST ignore fields with unknown names.
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise ValueError(f"invalid OTLP/JSON {signal.value} request: {_shorten(str(error))}") from None
    except (RecursionError, TypeError, AttributeError, KeyError) as error:  # defensive: json_format on odd shapes
        raise ValueError(f"invalid OTLP/JSON {signal.value} request: {type(error).__name__}: {_shorten(str(error))}") from None
    return request


def to_json(signal: Signal, message: Message) -> bytes:
    """Encode a request (or a response, or any OTLP message of that signal) as OTLP/JSON: hex ids, int enums."""
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    for item in _id_holders(signal, document):
        for key in _ID_LENGTHS.keys() & item.keys():
            item[key] = base64.b64decode(item[key]).hex()
    return orjson.dumps(document)


def _shorten(message: str, limit: int = 400) -> str:
    """json_format nests one "Failed to parse X field: " per level; keep the path's start and the cause at the end."""
    return message if len(message) <= limit else f"{message[: limit // 2]} ... {message[-limit // 2 :]}"


def _hex_to_base64(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a hex string, not {type(value).__name__}")
    if not value:
        return value  # an absent id (a root span's parentSpanId)
    expected = _ID_LENGTHS[key] * 2
    if len(value) != expected or not _HEX_DIGITS.issuperset(value):
        shown = value if len(value) <= 64 else value[:64] + "..."
        raise ValueError(f"{key} must be {expected} hex digits, got {shown!r}")
    return base64.b64encode(binascii.unhexlify(value)).decode("ascii")


def _children(parent: Any, *names: str) -> Iterator[dict[str, Any]]:
    """The dict elements of the list at parent[name] for each spelling present; anything else is ParseDict's to reject."""
    if not isinstance(parent, dict):
        return
    for name in names:
        items = parent.get(name)
        if isinstance(items, list):
            yield from (item for item in items if isinstance(item, dict))


def _span_id_holders(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_spans in _children(document, "resourceSpans", "resource_spans"):
        for scope_spans in _children(resource_spans, "scopeSpans", "scope_spans"):
            for span in _children(scope_spans, "spans"):
                yield span
                yield from _children(span, "links")


def _log_id_holders(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_logs in _children(document, "resourceLogs", "resource_logs"):
        for scope_logs in _children(resource_logs, "scopeLogs", "scope_logs"):
            yield from _children(scope_logs, "logRecords", "log_records")


def _metric_id_holders(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource_metrics in _children(document, "resourceMetrics", "resource_metrics"):
        for scope_metrics in _children(resource_metrics, "scopeMetrics", "scope_metrics"):
            for metric in _children(scope_metrics, "metrics"):
                for data_field in _METRIC_DATA_FIELDS:
                    for point in _children(metric.get(data_field), "dataPoints", "data_points"):
                        yield from _children(point, "exemplars")


_ID_HOLDERS: dict[Signal, Callable[[dict[str, Any]], Iterator[dict[str, Any]]]] = {
    Signal.TRACES: _span_id_holders,
    Signal.LOGS: _log_id_holders,
    Signal.METRICS: _metric_id_holders,
}


def _id_holders(signal: Signal, document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every object in an OTLP document of this signal that may carry traceId/spanId/parentSpanId."""
    return _ID_HOLDERS[signal](document)
