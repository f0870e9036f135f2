"""OTLP/JSON <-> protobuf for the three Export*ServiceRequest messages.

OTLP/JSON is the protobuf JSON mapping with one deliberate difference: trace and span ids are hex
strings, not base64. json_format does everything else (lowerCamelCase or original field names, enums
as ints or names, 64-bit ints as strings or numbers), so the ids are rewritten on the plain dict before
ParseDict and after MessageToDict. The rewrite visits only the known id locations, never attribute
values, so a large payload costs one walk over its spans, log records or exemplars.

One bad value costs that value, not the request (the slow path, only after orjson or json_format
refused the body): invalid UTF-8 and lone surrogate escapes become U+FFFD before orjson reads the
text again; a value nested too deep for protobuf becomes repair.CUT_VALUE on the decoded
document, by the rule the protobuf path uses, so what this accepts is also what upb, a Java backend
and the persistent queue can read back. Nesting beyond orjson's 1024 levels is first cut to 256 in
the text: everything that deep lies inside a value the document cut removes anyway.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message

from otel_apisec.gateway.api import REQUEST_TYPES, Request, Signal
from otel_apisec.gateway.receivers.otlp.repair import MAX_DEPTH, REPAIRS, RepairCounts, cut_deep_json_values, max_growth

__all__ = ["parse_json_request", "to_json"]

# Id field (both spellings json_format accepts) -> its length in bytes.
_ID_LENGTHS = {
    "traceId": 16, "trace_id": 16,
    "spanId": 8, "span_id": 8,
    "parentSpanId": 8, "parent_span_id": 8,
}  # fmt: skip
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_METRIC_DATA_FIELDS = ("gauge", "sum", "histogram", "exponentialHistogram", "exponential_histogram", "summary")
# Slow path: a surrogate pair (kept), a lone surrogate escape (group 1: replaced), or any other escape (kept,
# so that an escaped backslash before "u" is read as such).
_ESCAPE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u([dD][89a-fA-F][0-9a-fA-F]{2})|\\.", re.DOTALL
)
_BRACKET_OR_QUOTE = re.compile(rb'[\[\]{}"]')
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # one way to match each char: linear, even unterminated
_TEXT_MAX_NESTING = 256  # > 2 * MAX_DEPTH + 3: a container this deep is inside a message deeper than MAX_DEPTH


def parse_json_request(signal: Signal, data: bytes, *, receiver: str = "otlp") -> Request:
    """Decode an OTLP/JSON body into the signal's Export*ServiceRequest; ValueError says what is wrong.

    Invalid Unicode and too-deep values are repaired instead (see the module's docstring), counted in
    repair.REPAIRS for `receiver` (the component id) and protocol http/json."""
    counts = RepairCounts()
    document = _loads(data, counts)
    if not isinstance(document, dict):
        raise ValueError(f"an OTLP/JSON {signal.value} request must be a JSON object, not {type(document).__name__}")
    for item in _id_holders(signal, document):
        for key in _ID_LENGTHS.keys() & item.keys():
            item[key] = _hex_to_base64(key, item[key])
    try:
        request = _parse_dict(signal, document)
    except ValueError:
        counts.too_deep = cut_deep_json_values(signal, document)
        if not counts.too_deep:
            raise
        request = _parse_dict(signal, document)
    if counts:
        REPAIRS.record(receiver, "http/json", signal, counts)
    return request


def _parse_dict(signal: Signal, document: dict[str, Any]) -> Request:
    request = REQUEST_TYPES[signal]()
    try:
        # The OTLP spec: receivers MUST ignore fields with unknown names. json_format counts the request as
        # depth 1, upb as 0: one more, so both encodings accept exactly the same nesting.
        json_format.ParseDict(document, request, ignore_unknown_fields=True, max_recursion_depth=MAX_DEPTH + 1)
    except json_format.ParseError as error:
        raise ValueError(f"invalid OTLP/JSON {signal.value} request: {_shorten(str(error))}") from None
    except (RecursionError, TypeError, AttributeError, KeyError) as error:  # defensive: json_format on odd shapes
        raise ValueError(f"invalid OTLP/JSON {signal.value} request: {type(error).__name__}: {_shorten(str(error))}") from None
    return request


def _loads(data: bytes, counts: RepairCounts) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:  # also raised for invalid UTF-8 and nesting deeper than 1024
        first = error
    # Slow path: repair what one bad value can do to the whole text, try again; if that fails, the first error stands.
    fixed, invalid = _valid_unicode(data)
    if len(fixed) - len(data) > max_growth(len(data)):
        raise ValueError(f"invalid JSON: {first}")
    latest = first
    if invalid:
        try:
            document = orjson.loads(fixed)
        except orjson.JSONDecodeError as again:
            latest = again
        else:
            counts.invalid_utf8 = invalid
            return document
    if "depth" in str(latest):  # orjson: "depth limit exceeded"
        shallow = _shallow(fixed, _TEXT_MAX_NESTING)
        if shallow is not fixed:
            try:
                document = orjson.loads(shallow)
            except orjson.JSONDecodeError:
                pass
            else:
                counts.invalid_utf8 = invalid
                return document
    raise ValueError(f"invalid JSON: {first}") from None


def _valid_unicode(data: bytes) -> tuple[bytes, int]:
    """`data` with each lone surrogate escape (a JavaScript string cut inside a surrogate pair) and each invalid
    UTF-8 sequence replaced by U+FFFD, and how many JSON strings that repaired."""
    positions: list[int] = []
    if b"\\ud" in data or b"\\uD" in data:

        def replace(match: re.Match[bytes]) -> bytes:
            if match.group(1) is None:
                return match.group(0)
            positions.append(match.start())
            return b"\\ufffd"  # as long as the escape it replaces: the offsets below stay those of `data`

        data = _ESCAPE.sub(replace, data)
    source = data  # the offsets of `positions`
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        _invalid.positions = positions
        try:
            data = data.decode("utf-8", _RECORD_AND_REPLACE).encode()
        finally:
            del _invalid.positions
    return data, _strings_among(source, sorted(positions))


def _record_and_replace(error: UnicodeError) -> tuple[str, int]:
    """errors="replace", noting where: the handler a decode calls for each invalid sequence (the exception object
    is one per decode, so this stays linear where catching UnicodeDecodeError in a loop would copy the input each time)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    _invalid.positions.append(error.start)
    return "\ufffd", error.end


_invalid = threading.local()
_RECORD_AND_REPLACE = "otel_apisec.record_and_replace"
codecs.register_error(_RECORD_AND_REPLACE, _record_and_replace)


def _strings_among(data: bytes, positions: list[int]) -> int:
    """How many JSON strings the sorted `positions` fall in: two are in one string if no unescaped quote is between."""
    strings, previous = 0, -1
    for at in positions:
        if previous < 0 or _unescaped_quote(data, previous, at):
            strings += 1
        previous = at
    return strings


def _unescaped_quote(data: bytes, start: int, end: int) -> bool:
    quote = data.find(b'"', start, end)
    while quote >= 0:
        before = quote - 1
        while before > start and data[before] == 0x5C:  # the backslashes before it: an odd number escapes it
            before -= 1
        if (quote - 1 - before) % 2 == 0:
            return True
        quote = data.find(b'"', quote + 1, end)
    return False


def _shallow(data: bytes, limit: int) -> bytes:
    """`data` with every array or object nested deeper than `limit` replaced by null (`data` itself if none is)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return data
    pieces: list[bytes] = []
    copied = pos = depth = 0
    cut_at = -1  # where the container being dropped starts
    while (match := _BRACKET_OR_QUOTE.search(data, pos)) is not None:
        char, pos = data[match.start()], match.end()
        if char == 0x22:  # a string: brackets in it are text
            rest = _STRING_REST.match(data, pos)
            if rest is None:
                return data  # unterminated: orjson's error stands
            pos = rest.end()
        elif char in b"[{":
            depth += 1
            if depth == limit + 1:
                cut_at = match.start()
        else:
            depth -= 1
            if depth == limit:
                pieces += (data[copied:cut_at], b"null")
                copied = pos
    if not pieces:
        return data
    pieces.append(data[copied:])
    return b"".join(pieces)


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
