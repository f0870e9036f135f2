"""One bad value costs that value, not the client's batch: the receivers' slow path after a failed parse.

upb (and json_format) refuse a whole Export*ServiceRequest for one string field that is not valid
UTF-8 (proto3 requires it) or one value nested more than MAX_DEPTH messages below the request (an
attribute reaches that at 32 kvlist levels). Only when the usual parse has failed, this module
rewrites the request so that it parses:

- an invalid UTF-8 string is decoded with errors="replace": each invalid sequence becomes U+FFFD;
- the nearest AnyValue around a message nested deeper than MAX_DEPTH becomes the string CUT_VALUE,
  so everything above it arrives.

Anything else that is malformed (bad varints, lengths past the end, wire types 6 and 7) still fails,
and the receiver answers 400 / INVALID_ARGUMENT with the parser's own message, as before. Good
traffic never comes here, so it pays nothing.

The protobuf rewrite is a walk over the wire format guided by the opentelemetry-proto descriptors
(which field numbers are strings, which are messages). It is iterative (hostile nesting cannot reach
the Python stack), linear in the input, copies unknown fields and untouched ranges through as they
are, and lets repairs grow the request by at most `max_growth(len(data))` bytes.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from otel_apisec.gateway.api import REQUEST_TYPES, Request, Signal

__all__ = [
    "CUT_VALUE",
    "MAX_DEPTH",
    "REPAIRS",
    "RepairCounts",
    "RepairTally",
    "Repaired",
    "cut_deep_json_values",
    "decode_protobuf",
    "max_growth",
    "repair_protobuf",
]

logger = logging.getLogger("otel_apisec.gateway.receivers")

MAX_DEPTH = 100
"""Deepest message below the request (depth 0) that upb parses: its default upb_DecodeOptions_MaxDepth,
and json_format's max_recursion_depth (which counts the request as 1). Java's protobuf has the same default
recursion limit, so what fits here also fits a Java backend, and the gateway's own persistent queue."""
CUT_VALUE = "[truncated: nested too deep]"
"""What an AnyValue nested too deeply becomes: a string, so the attribute keeps its key and says why."""

_LOG_EVERY = 100  # a warning for the first repaired request, then one per this many


def max_growth(size: int) -> int:
    """Bytes repairs may add to a request of `size` bytes (U+FFFD is 3 bytes for 1 bad one; CUT_VALUE may be
    longer than what it replaces). More is not one bad value but a hostile or wholly broken client: 400."""
    return 4096 + size // 4


@dataclass(slots=True)
class RepairCounts:
    """What one request needed: strings repaired (invalid UTF-8; in OTLP/JSON also lone surrogate escapes), values cut."""

    invalid_utf8: int = 0
    too_deep: int = 0

    def __bool__(self) -> bool:
        return bool(self.invalid_utf8 or self.too_deep)


@dataclass(frozen=True, slots=True)
class Repaired:
    """A repaired request, the bytes it was parsed from, and what it took."""

    request: Request
    data: bytes
    counts: RepairCounts


class RepairTally:
    """Values repaired per (receiver, protocol, signal, reason), for the self-metrics; and the rate-limited warning."""

    def __init__(self, log_every: int = _LOG_EVERY) -> None:
        self.log_every = log_every
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        self._requests = 0
        self._lock = threading.Lock()  # the slow path only: a lock costs nothing that matters here

    def record(self, receiver: str, protocol: str, signal: Signal, counts: RepairCounts) -> None:
        """`receiver` is the component id (otlp), `protocol` grpc, http/protobuf or http/json."""
        with self._lock:
            for reason, count in (("invalid_utf8", counts.invalid_utf8), ("too_deep", counts.too_deep)):
                if count:
                    self._counts[(receiver, protocol, signal.value, reason)] += count
            self._requests += 1
            requests = self._requests
        if requests % self.log_every == 1 or self.log_every == 1:
            # Counts only: the values are the client's data and may be secrets.
            logger.warning(
                "%s receiver repaired a %s request over %s instead of refusing it: %d invalid UTF-8 string(s) now "
                "hold U+FFFD, %d value(s) nested deeper than %d levels now read %r (%d request(s) repaired so far; "
                "logged once per %d)",
                receiver, signal.value, protocol, counts.invalid_utf8, counts.too_deep, MAX_DEPTH, CUT_VALUE,
                requests, self.log_every,
            )  # fmt: skip

    def snapshot(self) -> dict[tuple[str, str, str, str], int]:
        with self._lock:
            return dict(self._counts)


REPAIRS = RepairTally()
"""The process's tally; the gateway's Prometheus endpoint reads it."""


def decode_protobuf(signal: Signal, data: bytes, *, receiver: str, protocol: str) -> Request:
    """The request in `data`: parsed as usual or, when that fails, repaired (counted in REPAIRS).

    ValueError("malformed <signal> protobuf: <the parser's message>") when it cannot be repaired."""
    try:
        return REQUEST_TYPES[signal].FromString(data)
    except DecodeError as error:
        failure = f"malformed {signal.value} protobuf: {error}"
    try:
        repaired = repair_protobuf(signal, data)
    except ValueError:
        raise ValueError(failure) from None
    REPAIRS.record(receiver, protocol, signal, repaired.counts)
    return repaired.request


# ---------------------------------------------------------------------------------------------------------------
# Schemas: which fields are strings and which are messages, from the descriptors


class _Schema:
    __slots__ = ("is_any", "json_messages", "messages", "strings")

    def __init__(self, descriptor: Descriptor) -> None:
        self.is_any = descriptor.full_name == AnyValue.DESCRIPTOR.full_name
        self.strings = frozenset(f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING)
        self.messages: dict[int, _Schema] = {}
        self.json_messages: dict[str, _Schema] = {}  # both spellings json_format accepts


def _schema(root: Descriptor) -> _Schema:
    """The schema tree of a message type; recursive types (AnyValue <-> ArrayValue) share nodes."""
    built = {root.full_name: _Schema(root)}
    pending = [root]
    while pending:
        descriptor = pending.pop()
        schema = built[descriptor.full_name]
        for field in descriptor.fields:
            if field.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            child = field.message_type
            if child.full_name not in built:
                built[child.full_name] = _Schema(child)
                pending.append(child)
            schema.messages[field.number] = built[child.full_name]
            schema.json_messages[field.name] = schema.json_messages[field.json_name] = built[child.full_name]
    return built[root.full_name]


_SCHEMAS = {signal: _schema(request_type.DESCRIPTOR) for signal, request_type in REQUEST_TYPES.items()}

# ---------------------------------------------------------------------------------------------------------------
# The protobuf wire-format rewrite

_VARINT, _I64, _LEN, _START_GROUP, _END_GROUP, _I32 = range(6)
_PROBE_MIN_BYTES = 128  # smaller messages are cheaper to walk than to hand to upb
_PROBE_MAX_DEPTH = 6  # each probe copies its message once: deeper probing would multiply the copies


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_CUT_CONTENT = b"\x0a" + _varint_bytes(len(CUT_VALUE.encode())) + CUT_VALUE.encode()  # AnyValue.string_value = 1


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end and shift < 70:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise ValueError("truncated or overlong varint")


def _skip_group(data: bytes, pos: int, end: int, number: int) -> int:
    """The offset after the END_GROUP matching a START_GROUP of field `number` (groups are unknown fields in OTLP)."""
    open_groups = [number]
    while open_groups:
        key, pos = _read_varint(data, pos, end)
        wire = key & 7
        if key >> 3 == 0:
            raise ValueError("field number 0")
        if wire == _VARINT:
            pos = _read_varint(data, pos, end)[1]
        elif wire == _I64:
            pos += 8
        elif wire == _I32:
            pos += 4
        elif wire == _LEN:
            length, pos = _read_varint(data, pos, end)
            pos += length
        elif wire == _START_GROUP:
            open_groups.append(key >> 3)
        elif wire != _END_GROUP or open_groups.pop() != key >> 3:
            raise ValueError(f"bad wire type {wire} or unmatched group end")
        if pos > end:
            raise ValueError("group runs past the end of its message")
    return pos


class _Frame:
    """A message being rewritten: its output is `pieces` (bytes, memoryviews of the input, nested piece lists)
    and the input range [copy_from, position) not yet copied. Unchanged messages cost no pieces at all."""

    __slots__ = ("changed", "copy_from", "cut", "depth", "end", "field_start", "growth", "pieces", "schema", "size",
                 "start", "tag", "utf8")  # fmt: skip

    def __init__(self, schema: _Schema, tag: bytes, field_start: int, start: int, end: int, depth: int, growth: int) -> None:
        self.schema, self.tag, self.field_start, self.start, self.end, self.depth = schema, tag, field_start, start, end, depth
        self.growth = growth  # the request's growth when this message began: a cut returns to it
        self.pieces: list[Any] = []
        self.size = 0  # bytes in pieces
        self.copy_from = start
        self.changed = False
        self.utf8 = self.cut = 0  # repairs inside, handed to the parent when this message ends

    def replace(self, data: memoryview, start: int, end: int, piece: Any, size: int) -> None:
        """Output `piece` (`size` bytes) instead of the input range [start, end)."""
        if self.copy_from < start:
            self.pieces.append(data[self.copy_from : start])
            self.size += start - self.copy_from
        self.pieces.append(piece)
        self.size += size
        self.copy_from = end
        self.changed = True


class _Rewrite:
    def __init__(self, signal: Signal, data: bytes) -> None:
        self.request_type = REQUEST_TYPES[signal]
        self.data = data
        self.view = memoryview(data)
        self.growth = 0
        self.growth_limit = max_growth(len(data))
        self.root = _Frame(_SCHEMAS[signal], b"", 0, 0, len(data), 0, 0)

    def run(self) -> bytes:
        data, view = self.data, self.view
        stack = [self.root]
        pos = 0
        while stack:
            frame = stack[-1]
            end = frame.end
            if pos == end:
                stack.pop()
                if stack:
                    self._finish(frame, stack[-1])
                continue
            field_start = pos
            key, pos = _read_varint(data, pos, end)
            number, wire = key >> 3, key & 7
            if number == 0 or key > 0xFFFFFFFF:
                raise ValueError("bad field number")
            if wire == _LEN:
                tag_end = pos
                length, pos = _read_varint(data, pos, end)
                value_end = pos + length
                if value_end > end:
                    raise ValueError("length past the end of its message")
                schema = frame.schema
                if number in schema.strings:
                    try:
                        str(view[pos:value_end], "utf-8")
                    except UnicodeDecodeError:
                        self._repair_string(frame, field_start, tag_end, pos, value_end)
                elif (child := schema.messages.get(number)) is not None:
                    depth = frame.depth + 1
                    if depth > MAX_DEPTH:
                        pos = self._cut(stack)
                        continue
                    probe = length >= _PROBE_MIN_BYTES and depth <= _PROBE_MAX_DEPTH
                    if not (probe and self._parses(stack, field_start, tag_end, pos, value_end)):
                        stack.append(_Frame(child, data[field_start:tag_end], field_start, pos, value_end, depth, self.growth))
                        continue  # into the message
                pos = value_end
            elif wire == _VARINT:
                pos = _read_varint(data, pos, end)[1]
            elif wire == _I64:
                pos += 8
            elif wire == _I32:
                pos += 4
            elif wire == _START_GROUP:
                pos = _skip_group(data, pos, end, number)
            else:
                raise ValueError(f"bad wire type {wire}")
            if pos > end:
                raise ValueError("field past the end of its message")
        root = self.root
        if not root.changed:
            return data
        root.replace(view, len(data), len(data), b"", 0)  # the tail
        return _flatten(root.pieces, root.size)

    def _finish(self, frame: _Frame, parent: _Frame) -> None:
        parent.utf8 += frame.utf8
        parent.cut += frame.cut
        if not frame.changed:
            return  # the parent copies it with the rest of its input
        frame.replace(self.view, frame.end, frame.end, b"", 0)  # the tail
        prefix = _varint_bytes(frame.size)
        self._grow(len(prefix) - len(_varint_bytes(frame.end - frame.start)))
        parent.replace(self.view, frame.field_start, frame.end, [frame.tag, prefix, frame.pieces],
                       len(frame.tag) + len(prefix) + frame.size)

    def _repair_string(self, frame: _Frame, field_start: int, tag_end: int, start: int, end: int) -> None:
        repaired = str(self.view[start:end], "utf-8", "replace").encode()
        field = self.data[field_start:tag_end] + _varint_bytes(len(repaired)) + repaired
        self._grow(len(field) - (end - field_start))
        frame.replace(self.view, field_start, end, field, len(field))
        frame.utf8 += 1

    def _cut(self, stack: list[_Frame]) -> int:
        """A message would be nested too deep: its nearest enclosing AnyValue becomes CUT_VALUE. Returns where to go on."""
        index = len(stack) - 1
        while index > 0 and not stack[index].schema.is_any:
            index -= 1
        if index == 0:
            raise ValueError(f"a message nested deeper than {MAX_DEPTH} levels outside any AnyValue")
        value = stack[index]
        del stack[index + 1 :]
        value.pieces, value.size, value.copy_from, value.changed = [_CUT_CONTENT], len(_CUT_CONTENT), value.end, True
        value.utf8, value.cut = 0, 1  # what was repaired inside is gone with it
        self.growth = value.growth  # undo the growth of everything inside
        self._grow(len(_CUT_CONTENT) - (value.end - value.start))
        return value.end

    def _parses(self, stack: list[_Frame], field_start: int, tag_end: int, start: int, end: int) -> bool:
        """Whether upb takes this message where it is: parsed alone, wrapped in its ancestors' tags (so at its depth).

        Lets the walk skip, at C speed, the 511 good spans around the bad one."""
        size = end - start
        headers: list[bytes | memoryview] = []
        for tag in (self.data[field_start:tag_end], *(frame.tag for frame in reversed(stack[1:]))):
            header = tag + _varint_bytes(size)
            headers.append(header)
            size += len(header)
        headers.reverse()
        headers.append(self.view[start:end])
        try:
            self.request_type.FromString(b"".join(headers))
        except DecodeError:
            return False
        return True

    def _grow(self, delta: int) -> None:
        self.growth += delta
        if self.growth > self.growth_limit:
            raise ValueError(f"repairs would grow the request by more than {self.growth_limit} bytes")


def _flatten(pieces: list[Any], size: int) -> bytes:
    out = bytearray()
    iterators = [iter(pieces)]
    while iterators:
        for piece in iterators[-1]:
            if isinstance(piece, list):
                iterators.append(iter(piece))
                break
            out += piece
        else:
            iterators.pop()
    if len(out) != size:  # the walk's own bookkeeping; never expected
        raise ValueError("internal size mismatch while repairing")
    return bytes(out)


def repair_protobuf(signal: Signal, data: bytes) -> Repaired:
    """Rewrite `data` so that it parses: invalid UTF-8 strings repaired, too-deep AnyValues cut (counted).

    Raises ValueError when the input is malformed in any other way. Linear time, no recursion; the
    output is at most `max_growth(len(data))` bytes longer than the input."""
    rewrite = _Rewrite(signal, data)
    repaired = rewrite.run()
    try:
        request = REQUEST_TYPES[signal].FromString(repaired)
    except DecodeError as error:
        raise ValueError(str(error)) from None
    return Repaired(request, repaired, RepairCounts(rewrite.root.utf8, rewrite.root.cut))


# ---------------------------------------------------------------------------------------------------------------
# OTLP/JSON: the same cut on the decoded document


def cut_deep_json_values(signal: Signal, document: dict[str, Any]) -> int:
    """Cut, in place, the nearest AnyValue around each message nested deeper than MAX_DEPTH; returns how many.

    The same rule as the protobuf walk, on an OTLP/JSON document before json_format reads it."""
    cut = 0
    # (object, its schema, its depth, the nearest AnyValue object around it and the stack height below it)
    stack: list[tuple[dict[str, Any], _Schema, int, tuple[dict[str, Any], int] | None]] = [
        (document, _SCHEMAS[signal], 0, None)
    ]
    while stack:
        node, schema, depth, value = stack.pop()
        if schema.is_any:
            value = (node, len(stack))
        children: list[tuple[dict[str, Any], _Schema]] = []
        for key, item in node.items():
            child = schema.json_messages.get(key)
            if child is not None:
                children.extend((element, child) for element in (item if isinstance(item, list) else [item])
                                if isinstance(element, dict))  # fmt: skip
        if children and depth + 1 > MAX_DEPTH:
            if value is None:
                continue  # not an OTLP shape: json_format will say what is wrong
            cut_node, height = value
            del stack[height:]  # what is still queued inside it
            cut_node.clear()
            cut_node["stringValue"] = CUT_VALUE
            cut += 1
            continue
        stack.extend((element, child, depth + 1, value) for element, child in children)
    return cut
