"""The gateway's `apisec/enrich` processor, working on OTLP protobuf messages in place.

`EnrichProcessor` rebuilds an `HttpExchange` from each HTTP server span, runs the detectors,
appends the same `apisec.*` attributes and `apisec.finding` events as in-process enrichment,
and masks that exchange's exposed values in the same span before the raw values go anywhere
(`redact_span`). The configurable masking stage, `apisec/redact`, is `processors/redact/processor.py`.

Values are edited as `AnyValue`s: no span is converted to SDK objects (the gateway aims at
30,000 spans/s per core, and a conversion alone would spend most of that).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.detect import Analysis, Analyzer
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.enrich import span_attributes
from otel_apisec.findings import request_event
from otel_apisec.gateway.anyvalue import set_value
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.runner import ProcessorCounts, SpanHandler, SpanView, TraceBatch, process_spans
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.gateway.span_exchange import BODY_ATTRIBUTES, SpanAttributes, _scalar, read_span
from otel_apisec.model import Finding, HttpExchange, Severity
from otel_apisec.redaction.attributes import Redactor
from otel_apisec.redaction.otlp import MASK, TEXT, URL, walk_kvs, walk_value
from otel_apisec.redaction.rules import is_credential_header_attribute

if TYPE_CHECKING:
    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

    KeyValues = RepeatedCompositeFieldContainer[KeyValue]

__all__ = ["EncodedAdditions", "EnrichProcessor", "event_time_field", "mask_strictly", "redact_span"]

_PLAIN = Redactor()
_STRICT = Redactor(strict=True)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (tag, varint length, payload); field numbers < 16."""
    size = len(payload)
    head = bytearray((field_number << 3 | 2,))
    while size >= 0x80:
        head.append(size & 0x7F | 0x80)
        size >>= 7
    head.append(size)
    return bytes(head) + payload


_ATTRIBUTES_FIELD = Span.DESCRIPTOR.fields_by_name["attributes"].number
_EVENTS_FIELD = Span.DESCRIPTOR.fields_by_name["events"].number
_EVENT_TIME = Span.Event.DESCRIPTOR.fields_by_name["time_unix_nano"]
_TIME_FIELD_SIZE = 9  # a fixed64 field: one tag byte, eight value bytes
assert max(_ATTRIBUTES_FIELD, _EVENTS_FIELD, _EVENT_TIME.number) < 16  # one-byte tags


def event_time_field(time_unix_nano: int) -> bytes:
    """The encoded `time_unix_nano` of an event, zero included (so its size never varies)."""
    return bytes((_EVENT_TIME.number << 3 | 1,)) + struct.pack("<Q", time_unix_nano)


class EncodedAdditions:
    """Encoded span attributes and events, kept by value: most spans get the same few.

    Appending them is then one `MergeFromString` (repeated fields merge by appending) instead
    of building dozens of KeyValue messages field by field, the largest cost after detection."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._attributes: dict[object, bytes] = {}
        self._events: dict[object, tuple[bytes, bytes]] = {}

    def attribute(self, key: str, value: object) -> bytes:
        cache_key = (key, type(value), value)  # True and 1 are equal keys otherwise
        encoded = self._attributes.get(cache_key)
        if encoded is None:
            kv = KeyValue(key=key)
            set_value(kv.value, value)
            encoded = _length_delimited(_ATTRIBUTES_FIELD, kv.SerializeToString())
            self._store(self._attributes, cache_key, encoded)
        return encoded

    def event(self, finding: Finding, time_field: bytes) -> bytes:
        """The `events` field of a span holding this finding's event; `time_field` is
        `event_time_field(end_time)`."""
        cache_key = (finding.rule_id, finding.kind, finding.severity, finding.owasp, finding.cwe, finding.location)
        head_and_content = self._events.get(cache_key)
        if head_and_content is None:
            # The one definition of a finding event (min severity checked by the caller).
            event = Span.Event(name=A.FINDING_EVENT)
            for key, value in request_event(finding).items():
                set_value(event.attributes.add(key=key).value, value)
            content = event.SerializeToString()
            # Two encodings of one message, concatenated, decode as their merge: time field + the rest.
            framed = _length_delimited(_EVENTS_FIELD, bytes(_TIME_FIELD_SIZE) + content)
            head_and_content = (framed[: len(framed) - len(content) - _TIME_FIELD_SIZE], content)
            self._store(self._events, cache_key, head_and_content)
        head, content = head_and_content
        return head + time_field + content

    def _store(self, cache: dict[object, Any], key: object, value: object) -> None:
        if len(cache) >= self._capacity:
            cache.clear()  # locations come from requests: bound what they can make us keep
        cache[key] = value


# --- redaction with one exchange's Redactor (EnrichProcessor) ------------------------------------
class _SpanRules:
    """`redaction.otlp.Rules` for one exchange's `Redactor`: credential headers (and, `strict`,
    bodies) whole, URL query values and user-info, then embedded credentials and exposed values.
    Keys are left as they are (the `apisec/redact` processor scans them); bytes are masked only
    under body keys, re-encoded."""

    __slots__ = ("redactor", "strict")

    clean = None
    actions: dict[str, int] = {}  # never written: `action` is cheap here

    def __init__(self, redactor: Redactor, strict: bool) -> None:
        self.redactor = redactor
        self.strict = strict

    def action(self, key: str) -> int:
        if is_credential_header_attribute(key) or (self.strict and key in BODY_ATTRIBUTES):
            return MASK
        return URL if key in A.URL_ATTRIBUTES else TEXT

    def key(self, kv: KeyValue, owner: int) -> None:
        pass

    def string(self, key: str, value: AnyValue, text: str, action: int, owner: int) -> None:
        new = self.redactor.url(text) if action == URL else self.redactor.text(text)
        if new != text:
            value.string_value = new

    def bytes(self, key: str, value: AnyValue, action: int, owner: int) -> None:
        if key in BODY_ATTRIBUTES:
            text = value.bytes_value.decode("utf-8", "replace")
            new = self.redactor.text(text)
            if new != text:
                value.bytes_value = new.encode()

    def hashed(self, value: AnyValue, owner: int) -> None:
        pass  # never asked: no key is hashed here

    def masked_whole(self, owner: int, count: int) -> None:
        pass


def redact_span(span: Span, redactor: Redactor, strict: bool = False, view: SpanAttributes | None = None) -> None:
    """The Redactor's rules over a span's attributes, events, links, name and status message.
    `strict` also masks body attributes whole (their exposed values are unknown). `view`, the
    attributes as read already (`read_span`, `SpanView.attributes()`), spares a second walk over
    them, and its values are kept current with what is masked."""
    if view is None or view.dropped:
        view = read_span(span)
    attrs = view.attrs
    # Key rules first (credential headers whole, URL query values), then exposed values: they
    # are looked for in all texts at once, and per text only when one is there.
    texts: list[str] = []
    changed: list[int] = []  # indexes of strings masked: the read is kept current with them
    strings = view.strings
    for key, value, text in strings:
        new = text
        if key.startswith(A.CAPTURED_HEADER_PREFIXES):
            if is_credential_header_attribute(key):
                new = A.REDACTED
        elif key in A.URL_ATTRIBUTES:
            new = redactor.url(text)
        elif strict and key in BODY_ATTRIBUTES:
            new = A.REDACTED
        if new != text:
            value.string_value = new
            _edited(attrs, key, text, new)
            changed.append(len(texts))
        texts.append(new)
    joined = "\x00".join(texts)
    if redactor.text(joined) != joined:
        for index, ((key, value, _text), text) in enumerate(zip(strings, texts, strict=True)):
            new = redactor.text(text)
            if new != text:
                value.string_value = new
                texts[index] = new
                _edited(attrs, key, text, new)
                changed.append(index)
    for index in changed:
        key, value, _text = strings[index]
        strings[index] = (key, value, texts[index])
    rules = _SpanRules(redactor, strict)
    for key, value in view.nested:
        walk_value(key, value, rules.action(key), rules, 0)
        if key in attrs:
            attrs[key] = _scalar(value)
    for event in span.events:
        walk_kvs(event.attributes, rules, 0)
        name = redactor.text(event.name)
        if name != event.name:
            event.name = name
    for link in span.links:
        walk_kvs(link.attributes, rules, 0)
    name = redactor.text(span.name)
    if name != span.name:
        span.name = name
    if span.status.message:
        message = redactor.text(span.status.message)
        if message != span.status.message:
            span.status.message = message


def _edited(attrs: dict[str, object], key: str, old: str, new: str) -> None:
    """Keep the read attributes current: `key`'s value (or an array's first item) went from `old` to `new`."""
    if attrs.get(key) == old:
        attrs[key] = new


def mask_strictly(span: Span) -> None:
    """What a span gets when a processor that had to mask it failed: credential headers and bodies
    whole, URL query values, embedded credentials (the `Redactor`'s strict rules)."""
    redact_span(span, _STRICT, strict=True)


class EnrichProcessor:
    """Detection for spans that arrive without it: HTTP server spans from any agent.

    Spans that already carry `apisec.auth.outcome` (enriched in-process) are left alone. Other
    spans only get the always-on masking (credential headers, sensitive query keys in URLs),
    unless `redact_others` is off. A span whose enrichment fails is counted in `errors` and
    masked strictly by the runner; a span that cannot even be masked is counted in `dropped` and
    not forwarded.
    """

    def __init__(
        self, analyzer: Analyzer, *, event_min_severity: Severity = Severity.INFO, redact_others: bool = True,
        tally: SecurityTally | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.tally = tally
        """Findings, auth outcomes and detector failures, for the gateway's security metrics."""
        self.event_min_severity = event_min_severity
        self.redact_others = redact_others
        self.counts = ProcessorCounts()
        # Receivers call from several threads; one Analyzer (scratch space, memo) at a time.
        self._analysis_lock = threading.Lock()
        self._encoded = EncodedAdditions()

    mask_strictly = staticmethod(mask_strictly)
    """A span it fails on has not been masked: the runner masks it strictly."""

    @property
    def errors(self) -> int:
        """Spans whose enrichment raised (masked strictly, forwarded without analysis)."""
        return self.counts.errors

    @property
    def dropped(self) -> int:
        """Spans that could not be masked at all, so were not forwarded."""
        return self.counts.dropped

    def process(self, signal: Signal, request: Request) -> Request | None:
        return process_spans(self, signal, request)

    @contextmanager
    def spans(self, batch: TraceBatch) -> Iterator[SpanHandler]:
        # One lock hold per request, not per span: handing the lock (and the GIL) between receiver
        # threads at every span cost as much CPU as the analysis itself; the GIL serializes them anyway.
        with self._analysis_lock:
            yield self._span

    def _span(self, view: SpanView) -> bool:
        """Enrich and mask one span in place (the runner masks it strictly if this raises)."""
        if view.enriched:
            return True
        span = view.span
        exchange = view.exchange
        if exchange is None:
            if self.redact_others:
                redact_span(span, _PLAIN, view=view.attributes())
                view.masked()
            return True
        analysis = self.analyzer.analyze(exchange)  # under the request's lock (spans)
        if self.tally is not None:
            self._count(view.service, exchange, analysis, self.tally)
        redactor = Redactor(exposed_values(exchange, analysis))
        added = self._additions(analysis, span.end_time_unix_nano)
        redact_span(span, redactor, view=view.attributes())
        view.masked()
        span.MergeFromString(added)
        return True

    @staticmethod
    def _count(service: str, exchange: HttpExchange, analysis: Analysis, tally: SecurityTally) -> None:
        where = tally.where(service, exchange.route)
        tally.auth_outcome(where, analysis.auth.outcome.value, analysis.auth.scheme.value)
        for finding in analysis.findings:
            tally.finding(finding.rule_id, finding.kind, finding.severity.label, where)
        if analysis.failed or analysis.skipped:  # detection that silently went missing must show on a dashboard
            tally.detector_failed(analysis.failed, analysis.skipped)

    def _additions(self, analysis: Analysis, end_time: int) -> bytes:
        """`span_attributes(analysis)` and one event per finding (as `finding_events`), encoded."""
        encoded = self._encoded
        parts = [encoded.attribute(key, value) for key, value in span_attributes(analysis).items()]
        minimum = self.event_min_severity
        time_field = event_time_field(end_time)
        parts.extend(encoded.event(finding, time_field) for finding in analysis.findings if finding.severity >= minimum)
        return b"".join(parts)
