"""One bad value costs that value, not the batch: invalid UTF-8 and too-deep values through both receivers.

Each receiver test first shows that the plain parse the receivers used to call refuses the input
(`FromString` raises DecodeError; orjson or json_format with its defaults raises), so it fails
without the repair path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import orjson
import pytest
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec.gateway.api import REQUEST_TYPES, Signal
from otel_apisec.gateway.receivers.otlp import repair as otlp_repair
from otel_apisec.gateway.receivers.otlp.grpc import GrpcReceiver
from otel_apisec.gateway.receivers.otlp.http import HttpReceiver
from otel_apisec.gateway.receivers.otlp.json import parse_json_request, to_json
from otel_apisec.gateway.receivers.otlp.repair import (
    CUT_VALUE,
    MAX_DEPTH,
    REPAIRS,
    RepairCounts,
    RepairTally,
    max_growth,
    repair_protobuf,
)
from otel_apisec.gateway.selfmetrics import _repaired_values
from tests.gateway.receivers.test_otlp import (  # noqa: F401 (the fixtures)
    EXPORT_TRACES,
    Recorder,
    _post_protobuf,
    _request,
    _status_body,
    _trace_request,
    grpc_receiver,
    http_receiver,
    recorder,
)

PLACEHOLDER = b"PLACEHOLDER-s3cret"
BAD_UTF8 = b"caf\xe9-s3cr\xfft-\xc3(-end"  # Latin-1, a stray byte, a cut 2-byte sequence: same length as PLACEHOLDER
REPAIRED = BAD_UTF8.decode("utf-8", "replace")
KEPT_LEVELS = 31  # kvlist levels a span attribute keeps below MAX_DEPTH: 5 messages above it, 3 per level


def _nested(levels: int, leaf: AnyValue | None = None) -> AnyValue:
    """`levels` kvlists around `leaf`; the key at each level says its depth, so a cut one compares equal."""
    value = leaf if leaf is not None else AnyValue(string_value="leaf")
    for level in reversed(range(levels)):
        outer = AnyValue()
        outer.kvlist_value.values.add(key=f"level{level}").value.CopyFrom(value)
        value = outer
    return value


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field, by hand."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out) + bytes([value])


def _deep_kvlist(levels: int) -> bytes:
    """_nested(levels) serialized, in linear time (building it with CopyFrom, level by level, is quadratic)."""
    size = len(leaf := AnyValue(string_value="leaf").SerializeToString())
    headers = []
    for level in reversed(range(levels)):  # AnyValue.kvlist_value (6) > KeyValueList.values (1) > KeyValue.key, .value
        key_value = _field(1, f"level{level}".encode()) + _varint(2 << 3 | 2) + _varint(size)
        values = _varint(1 << 3 | 2) + _varint(len(key_value) + size)
        kvlist = _varint(6 << 3 | 2) + _varint(len(values) + len(key_value) + size)
        headers.append(kvlist + values + key_value)
        size += len(headers[-1])
    return b"".join(reversed(headers)) + leaf


def _batch(odd_value: AnyValue) -> ExportTraceServiceRequest:
    """Five spans; the third carries `odd_value` between two ordinary attributes."""
    request = ExportTraceServiceRequest()
    for index in range(5):
        part = _trace_request(f"GET /orders/{index}", **{"url.path": f"/orders/{index}", "http.request.method": "GET"})
        request.resource_spans.add().CopyFrom(part.resource_spans[0])
    attributes = request.resource_spans[2].scope_spans[0].spans[0].attributes
    attributes.add(key="odd").value.CopyFrom(odd_value)  # CopyFrom, as MergeFrom would parse (and refuse) a deep one
    attributes.add(key="after.odd").value.string_value = "intact"
    return request


def _patch(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def _bad_utf8_protobuf() -> tuple[bytes, ExportTraceServiceRequest]:
    """(a batch with one invalid UTF-8 attribute value, the request the consumer should get)."""
    assert len(PLACEHOLDER) == len(BAD_UTF8)  # the length prefixes stay right
    data = _patch(_batch(AnyValue(string_value=PLACEHOLDER.decode())).SerializeToString(), PLACEHOLDER, BAD_UTF8)
    return data, _batch(AnyValue(string_value=REPAIRED))


def _deep_protobuf() -> tuple[bytes, ExportTraceServiceRequest]:
    """(a batch with one 40-level kvlist attribute, the request the consumer should get: 31 levels, then CUT_VALUE)."""
    return _batch(_nested(40)).SerializeToString(), _batch(_nested(KEPT_LEVELS, AnyValue(string_value=CUT_VALUE)))


def _refused_by_plain_parse(signal: Signal, data: bytes) -> bool:
    """What the receivers called before this repair path: upb's FromString."""
    try:
        REQUEST_TYPES[signal].FromString(data)
    except DecodeError:
        return True
    return False


def _refused_by_plain_json(data: bytes) -> bool:
    """What parse_json_request did before: orjson, then json_format.ParseDict with its defaults (the hex ids,
    left as they are, read as base64 without complaint: a refusal here is the UTF-8 or the depth)."""
    try:
        json_format.ParseDict(orjson.loads(data), ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (orjson.JSONDecodeError, json_format.ParseError):
        return True
    return False


@contextmanager
def _counted() -> Iterator[dict[tuple[str, str, str, str], int]]:
    """The repairs counted inside the block, by (receiver, protocol, signal, reason)."""
    before = REPAIRS.snapshot()
    moved: dict[tuple[str, str, str, str], int] = {}
    yield moved
    moved.update({key: count - before.get(key, 0) for key, count in REPAIRS.snapshot().items() if count != before.get(key, 0)})


def _grpc_export(receiver: GrpcReceiver, payload: bytes) -> bytes:
    host, port = receiver.address
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        return channel.unary_unary(EXPORT_TRACES, request_serializer=None, response_deserializer=None)(payload, timeout=5)


CASES = {
    "invalid-utf8": (_bad_utf8_protobuf, "invalid_utf8"),
    "deep-kvlist": (_deep_protobuf, "too_deep"),
}


# ---------------------------------------------------------------------------------------------------------------
# Through the receivers


class TestProtobufReceivers:
    @pytest.mark.parametrize("case", CASES)
    def test_http_accepts_the_batch_and_repairs_only_the_bad_value(
        self, http_receiver: HttpReceiver, recorder: Recorder, case: str  # noqa: F811 (the imported fixtures)
    ) -> None:
        """OTLP/HTTP protobuf: 200, every other span and attribute intact, the bad value repaired or cut, counted."""
        build, reason = CASES[case]
        data, expected = build()
        assert _refused_by_plain_parse(Signal.TRACES, data)
        with _counted() as moved:
            status, _, body = _post_protobuf(http_receiver, data)
        assert (status, body) == (200, b"")
        assert recorder.of(Signal.TRACES) == [expected]
        assert moved == {("otlp", "http/protobuf", "traces", reason): 1}

    @pytest.mark.parametrize("case", CASES)
    def test_grpc_accepts_the_batch_and_repairs_only_the_bad_value(
        self, grpc_receiver: GrpcReceiver, recorder: Recorder, case: str  # noqa: F811 (the imported fixtures)
    ) -> None:
        """OTLP/gRPC: OK, every other span and attribute intact, the bad value repaired or cut, counted."""
        build, reason = CASES[case]
        data, expected = build()
        assert _refused_by_plain_parse(Signal.TRACES, data)
        with _counted() as moved:
            assert _grpc_export(grpc_receiver, data) == b""
        assert recorder.of(Signal.TRACES) == [expected]
        assert moved == {("otlp", "grpc", "traces", reason): 1}

    def test_what_cannot_be_repaired_is_still_400(self, http_receiver: HttpReceiver, recorder: Recorder) -> None:  # noqa: F811 (the imported fixtures)
        """A bad string next to a length past the end: the parser's message, as before, and nothing counted."""
        data = _bad_utf8_protobuf()[0] + b"\x0a\x7f\x01"
        with _counted() as moved:
            status, _, body = _post_protobuf(http_receiver, data)
        assert status == 400 and _status_body(body).message.startswith("malformed traces protobuf: Error parsing message")
        assert recorder.calls == [] and moved == {}


class TestJsonReceiver:
    @pytest.mark.parametrize(
        ("old", "new", "value"),
        [
            (PLACEHOLDER, BAD_UTF8, REPAIRED),
            # JavaScript cuts strings in UTF-16: a lone half of a surrogate pair, escaped by JSON.stringify.
            (PLACEHOLDER, b"emoji \\ud83d cut", "emoji \ufffd cut"),
        ],
        ids=["invalid-utf8", "lone-surrogate"],
    )
    def test_invalid_unicode_costs_one_value(
        self, http_receiver: HttpReceiver, recorder: Recorder, old: bytes, new: bytes, value: str  # noqa: F811 (the imported fixtures)
    ) -> None:
        """OTLP/JSON: the invalid sequence becomes U+FFFD, the rest of the batch is intact, counted."""
        data = _patch(to_json(Signal.TRACES, _batch(AnyValue(string_value=old.decode()))), old, new)
        assert _refused_by_plain_json(data)
        with _counted() as moved:
            status, _, _ = _request(http_receiver, "POST", "/v1/traces", data, {"Content-Type": "application/json"})
        assert status == 200
        assert recorder.of(Signal.TRACES) == [_batch(AnyValue(string_value=value))]
        assert moved == {("otlp", "http/json", "traces", "invalid_utf8"): 1}

    @pytest.mark.parametrize("levels", [40, 2000], ids=["past-json-format", "past-orjson"])
    def test_deep_kvlist_is_cut_like_protobuf(self, http_receiver: HttpReceiver, recorder: Recorder, levels: int) -> None:  # noqa: F811 (the imported fixtures)
        """OTLP/JSON: cut where the protobuf path cuts, even past orjson's 1024 levels; the rest intact, counted."""
        marker = b'{"stringValue":"DEEP"}'
        nested = b'{"kvlistValue":{"values":[{"key":"level%d","value":' * levels % tuple(range(levels))
        nested += b'{"stringValue":"leaf"}' + b"}]}}" * levels
        data = _patch(to_json(Signal.TRACES, _batch(AnyValue(string_value="DEEP"))), marker, nested)
        assert _refused_by_plain_json(data)
        with _counted() as moved:
            status, _, _ = _request(http_receiver, "POST", "/v1/traces", data, {"Content-Type": "application/json"})
        assert status == 200
        assert recorder.of(Signal.TRACES) == [_deep_protobuf()[1]]
        assert moved == {("otlp", "http/json", "traces", "too_deep"): 1}

    def test_malformed_json_keeps_its_first_error(self, http_receiver: HttpReceiver, recorder: Recorder) -> None:  # noqa: F811 (the imported fixtures)
        """Invalid UTF-8 in a truncated document: still 400, with orjson's message about the original body."""
        status, _, body = _request(http_receiver, "POST", "/v1/traces", b'{"resourceSpans": [\xff',
                                   {"Content-Type": "application/json"})  # fmt: skip
        assert status == 400 and b"invalid JSON: str is not valid UTF-8" in body
        assert recorder.calls == []


# ---------------------------------------------------------------------------------------------------------------
# The repair itself


class TestRepairProtobuf:
    def test_max_depth_is_upbs(self) -> None:
        """MAX_DEPTH is the deepest message upb parses (a protobuf upgrade that moves it fails here); JSON agrees."""
        for deepest in (MAX_DEPTH, MAX_DEPTH + 1):
            # Arrays from the attribute's AnyValue at depth 5, two messages a level; an empty kvlist for an odd depth.
            levels, odd = divmod(deepest - 5, 2)
            value = AnyValue()
            if odd:
                value.kvlist_value.SetInParent()
            else:
                value.string_value = "leaf"
            for _ in range(levels):
                outer = AnyValue()
                outer.array_value.values.add().CopyFrom(value)
                value = outer
            request = _batch(value)
            parses = deepest <= MAX_DEPTH
            assert _refused_by_plain_parse(Signal.TRACES, request.SerializeToString()) is not parses
            assert (parse_json_request(Signal.TRACES, to_json(Signal.TRACES, request)) == request) is parses

    def test_unknown_fields_are_copied_through(self) -> None:
        """A field this schema does not know, in the span with the bad value, arrives byte for byte."""
        unknown = b"\xfa\x07\x05extra"  # field 127, LEN
        request = _batch(AnyValue(string_value=PLACEHOLDER.decode()))
        request.resource_spans[2].scope_spans[0].spans[0].MergeFromString(unknown)
        data = _patch(request.SerializeToString(), PLACEHOLDER, BAD_UTF8)
        repaired = repair_protobuf(Signal.TRACES, data)
        expected = _bad_utf8_protobuf()[1]
        expected.resource_spans[2].scope_spans[0].spans[0].MergeFromString(unknown)
        assert unknown in repaired.data and repaired.data == expected.SerializeToString()

    def test_probing_and_walking_agree(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Skipping good messages at C speed gives the same bytes as walking every one of them."""
        for build in (_bad_utf8_protobuf, _deep_protobuf):
            data = build()[0]
            probed = repair_protobuf(Signal.TRACES, data)
            monkeypatch.setattr(otlp_repair, "_PROBE_MIN_BYTES", 1 << 30)
            walked = repair_protobuf(Signal.TRACES, data)
            monkeypatch.undo()
            assert probed.data == walked.data and probed.counts == walked.counts

    def test_every_signal_is_repaired(self) -> None:
        """A log body and a metric name: the same repairs for logs and metrics, counted for their signal."""
        logs, logs_expected = ExportLogsServiceRequest(), ExportLogsServiceRequest()
        for request, body, deep in ((logs, PLACEHOLDER.decode(), _nested(60)),
                                    (logs_expected, REPAIRED, _nested(32, AnyValue(string_value=CUT_VALUE)))):
            records = request.resource_logs.add().scope_logs.add().log_records
            records.add().body.string_value = body
            records.add().body.CopyFrom(deep)  # not LogRecord(body=deep): that parses, and refuses, a deep value
        metrics, metrics_expected = ExportMetricsServiceRequest(), ExportMetricsServiceRequest()
        for request, name in ((metrics, PLACEHOLDER.decode()), (metrics_expected, REPAIRED)):
            request.resource_metrics.add().scope_metrics.add().metrics.add(name=name).sum.data_points.add(as_int=3)
        for signal, request, expected, counts in (
            (Signal.LOGS, logs, logs_expected, RepairCounts(invalid_utf8=1, too_deep=1)),
            (Signal.METRICS, metrics, metrics_expected, RepairCounts(invalid_utf8=1)),
        ):
            data = _patch(request.SerializeToString(), PLACEHOLDER, BAD_UTF8)
            assert _refused_by_plain_parse(signal, data)
            repaired = repair_protobuf(signal, data)
            assert (repaired.request, repaired.counts) == (expected, counts)

    def test_ten_thousand_levels_cost_no_recursion(self) -> None:
        """10,000 nested kvlists (protobuf and JSON) and 10,000 nested unknown groups: cut or refused, quickly."""
        started = time.monotonic()
        span = _field(Span.DESCRIPTOR.fields_by_name["attributes"].number, _field(1, b"odd") + _field(2, _deep_kvlist(10_000)))
        data = _field(1, _field(2, _field(2, span)))  # resource_spans, scope_spans, spans
        repaired = repair_protobuf(Signal.TRACES, data)
        expected = ExportTraceServiceRequest()
        expected.resource_spans.add().scope_spans.add().spans.add().attributes.add(key="odd").value.CopyFrom(
            _nested(KEPT_LEVELS, AnyValue(string_value=CUT_VALUE)))  # fmt: skip
        assert repaired.request == expected and repaired.counts == RepairCounts(too_deep=1)
        groups = b"\x9b\x06" * 10_000 + b"\x9c\x06" * 10_000  # field 99: START_GROUP ... END_GROUP
        with pytest.raises(ValueError):  # copied through as an unknown field, which upb refuses that deep
            repair_protobuf(Signal.TRACES, groups)
        marker = b'{"stringValue":"DEEP"}'
        nested = b'{"arrayValue":{"values":[' * 10_000 + b'{"stringValue":"leaf"}' + b"]}}" * 10_000
        data = _patch(to_json(Signal.TRACES, _batch(AnyValue(string_value="DEEP"))), marker, nested)
        value = AnyValue(string_value=CUT_VALUE)
        for _ in range((MAX_DEPTH - 5) // 2):  # the arrays that fit
            outer = AnyValue()
            outer.array_value.values.add().CopyFrom(value)
            value = outer
        assert parse_json_request(Signal.TRACES, data) == _batch(value)
        assert time.monotonic() - started < 10

    def test_growth_is_bounded(self) -> None:
        """Tens of thousands of one-byte bad strings would triple the request: refused past max_growth."""

        def bad_bodies(count: int) -> bytes:
            request = ExportLogsServiceRequest()
            request.resource_logs.add().scope_logs.add().log_records.extend(
                logs_pb2.LogRecord(body=AnyValue(string_value="\x01")) for _ in range(count))  # fmt: skip
            return request.SerializeToString().replace(b"\x0a\x01\x01", b"\x0a\x01\xff")  # each grows by 2 bytes

        with pytest.raises(ValueError, match="grow"):
            repair_protobuf(Signal.LOGS, bad_bodies(40_000))
        few = bad_bodies(1000)
        repaired = repair_protobuf(Signal.LOGS, few)
        assert repaired.counts.invalid_utf8 == 1000 and len(repaired.data) == len(few) + 2000 <= len(few) + max_growth(len(few))


# ---------------------------------------------------------------------------------------------------------------
# Hostile input: random bytes and mutations of valid requests


def _seeds() -> list[tuple[Signal, bytes]]:
    metrics = ExportMetricsServiceRequest()
    metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="latency", unit="ms")
    metric.histogram.data_points.add(count=2, bucket_counts=[1, 1], explicit_bounds=[5.0]).exemplars.add(as_double=4.2)
    logs = ExportLogsServiceRequest()
    logs.resource_logs.add().scope_logs.add().log_records.add(body=_nested(3), severity_text="WARN")
    return [
        (Signal.TRACES, _bad_utf8_protobuf()[0]),
        (Signal.TRACES, _batch(_nested(33)).SerializeToString()),
        (Signal.METRICS, metrics.SerializeToString()),
        (Signal.LOGS, logs.SerializeToString()),
    ]


SEEDS = _seeds()
_mutation = st.tuples(
    st.sampled_from(["set", "insert", "delete"]), st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=4)
)


def _mutate(data: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    for operation, where, chunk in mutations:
        at = int(where * len(data)) if data else 0
        if operation == "set":
            data = data[:at] + chunk + data[at + len(chunk) :]
        elif operation == "insert":
            data = data[:at] + chunk + data[at:]
        else:
            data = data[:at] + data[at + len(chunk) :]
    return data


def _assert_repairs_or_refuses(signal: Signal, data: bytes) -> None:
    started = time.monotonic()
    try:
        repaired = repair_protobuf(signal, data)
    except ValueError:
        pass
    else:
        REQUEST_TYPES[signal].FromString(repaired.data)
        assert len(repaired.data) <= len(data) + max_growth(len(data))
    assert time.monotonic() - started < 1.0


class TestHostileInput:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(list(Signal)), st.binary(max_size=2048))
    def test_random_bytes(self, signal: Signal, data: bytes) -> None:
        """Random bytes: parseable output or ValueError, nothing else, in bounded time and size."""
        _assert_repairs_or_refuses(signal, data)

    @settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(SEEDS), st.lists(_mutation, min_size=1, max_size=6))
    def test_mutated_requests(self, seed: tuple[Signal, bytes], mutations: list[tuple[str, float, bytes]]) -> None:
        """Valid and repairable requests with bytes set, inserted or deleted: the same contract."""
        signal, data = seed
        _assert_repairs_or_refuses(signal, _mutate(data, mutations))

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_mutation, min_size=1, max_size=6))
    def test_mutated_json(self, mutations: list[tuple[str, float, bytes]]) -> None:
        """OTLP/JSON with bytes set, inserted or deleted: a request or ValueError, nothing else."""
        data = _mutate(to_json(Signal.TRACES, _batch(_nested(3))), mutations)
        try:
            request = parse_json_request(Signal.TRACES, data)
        except ValueError:
            return
        ExportTraceServiceRequest.FromString(request.SerializeToString())  # what it accepts, protobuf can carry


# ---------------------------------------------------------------------------------------------------------------
# Counting and logging


class TestCounting:
    def test_prometheus_family(self) -> None:
        """otel_apisec_gateway_repaired_values_total carries what REPAIRS counted, by receiver, protocol, signal, reason."""
        repair = repair_protobuf(Signal.TRACES, _bad_utf8_protobuf()[0])
        REPAIRS.record("otlp/test", "grpc", Signal.TRACES, repair.counts)
        samples = {tuple(s.labels.values()): s.value for s in _repaired_values().samples if s.name.endswith("_total")}
        assert samples[("otlp/test", "grpc", "traces", "invalid_utf8")] >= 1

    def test_json_counts_strings_like_protobuf(self) -> None:
        """Over OTLP/JSON too, a string with several bad sequences (an escaped quote between them) counts once."""
        names = [b"caf\xe9 cr\xe8me", b'say \\"h\xe9\\" \xff', b"ok", b"\\ud83d"]
        spans = b",".join(b'{"name":"%s"}' % name for name in names)
        with _counted() as moved:
            request = parse_json_request(Signal.TRACES, b'{"resourceSpans":[{"scopeSpans":[{"spans":[%s]}]}]}' % spans,
                                         receiver="otlp/json")  # fmt: skip
        assert [span.name for span in request.resource_spans[0].scope_spans[0].spans] == [
            "caf\ufffd cr\ufffdme", 'say "h\ufffd" \ufffd', "ok", "\ufffd"]  # fmt: skip
        assert moved == {("otlp/json", "http/json", "traces", "invalid_utf8"): 3}

    def test_warning_once_per_n_requests_without_values(self, caplog: pytest.LogCaptureFixture) -> None:
        """The first repaired request and then one in N are logged at warning, with counts and never the value."""
        tally = RepairTally(log_every=3)
        counts = repair_protobuf(Signal.TRACES, _bad_utf8_protobuf()[0]).counts
        with caplog.at_level(logging.WARNING, logger="otel_apisec.gateway.receivers"):
            for _ in range(4):
                tally.record("otlp", "http/protobuf", Signal.TRACES, counts)
        assert len(caplog.records) == 2
        assert "1 invalid UTF-8 string(s)" in caplog.text and "4 request(s) repaired so far" in caplog.text
        assert "s3cr" not in caplog.text and "caf" not in caplog.text
        assert tally.snapshot() == {("otlp", "http/protobuf", "traces", "invalid_utf8"): 4}
