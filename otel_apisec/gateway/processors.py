"""The gateway's security processors, working on OTLP protobuf messages in place.

* `EnrichProcessor` rebuilds an `HttpExchange` from each HTTP server span, runs the detectors,
  appends the same `apisec.*` attributes and `apisec.finding` events as in-process enrichment,
  and masks that exchange's exposed values in the same span before the raw values go anywhere.
* `RedactProcessor` is the configurable masking stage, shaped like otelcol's redaction
  processor: blocked key patterns (RE2), an allow-list, keyed hashing, value detectors, and a
  summary count on each span and log record.

Values are edited as `AnyValue`s: no span is converted to SDK objects (the gateway aims at
30,000 spans/s per core, and a conversion alone would spend most of that).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import threading
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

import re2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.compiled_cache import default_cache
from otel_apisec.detect import Analysis, Analyzer, DetectConfig
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.enrich import finding_events, span_attributes
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.gateway.span_exchange import BODY_ATTRIBUTES, SpanView, read_span
from otel_apisec.model import Finding, HttpExchange, Severity
from otel_apisec.processors.redact import Redactor, is_credential_header_attribute, mask_sensitive_pairs

if TYPE_CHECKING:
    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

    KeyValues = RepeatedCompositeFieldContainer[KeyValue]

__all__ = ["EnrichProcessor", "RedactProcessor", "redact_span"]

_PLAIN = Redactor()
_STRICT = Redactor(strict=True)
_STRING, _ARRAY, _KVLIST, _BYTES = "string_value", "array_value", "kvlist_value", "bytes_value"


# --- AnyValue helpers ---------------------------------------------------------------------------
def _set_value(target: AnyValue, value: object) -> None:
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
            _set_value(items.add(), item)
    else:
        target.string_value = str(value)


def _add_count(kvs: KeyValues, key: str, count: int) -> None:
    """Add `count` to the int attribute `key`, creating it (a second pass adds to the first's)."""
    for kv in kvs:
        if kv.key == key:
            kv.value.int_value = (kv.value.int_value if kv.value.WhichOneof("value") == "int_value" else 0) + count
            return
    kv = kvs.add()
    kv.key = key
    kv.value.int_value = count


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


class _Encoded:
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
            _set_value(kv.value, value)
            encoded = _length_delimited(_ATTRIBUTES_FIELD, kv.SerializeToString())
            self._store(self._attributes, cache_key, encoded)
        return encoded

    def event(self, finding: Finding, time_field: bytes) -> bytes:
        """The `events` field of a span holding this finding's event; `time_field` is
        `event_time_field(end_time)`."""
        cache_key = (finding.rule_id, finding.kind, finding.severity, finding.owasp, finding.cwe, finding.location)
        head_and_content = self._events.get(cache_key)
        if head_and_content is None:
            # The shared definition of a finding event, for one finding (min severity checked by the caller).
            ((name, attributes),) = finding_events(Analysis(findings=[finding]))
            event = Span.Event(name=name)
            for key, value in attributes.items():
                _set_value(event.attributes.add(key=key).value, value)
            content = event.SerializeToString()
            # Two encodings of one message, concatenated, decode as their merge: time field + the rest.
            framed = _length_delimited(_EVENTS_FIELD, bytes(_TIME_FIELD_SIZE) + content)
            head_and_content = (framed[: len(framed) - len(content) - _TIME_FIELD_SIZE], content)
            self._store(self._events, cache_key, head_and_content)
        head, content = head_and_content
        return head + time_field + content

    def _store(self, cache: dict[object, object], key: object, value: object) -> None:
        if len(cache) >= self._capacity:
            cache.clear()  # locations come from requests: bound what they can make us keep
        cache[key] = value


# --- redaction with one exchange's Redactor (EnrichProcessor) ------------------------------------
def _redact_value(key: str, value: AnyValue, redactor: Redactor, strict: bool) -> None:
    kind = value.WhichOneof("value")
    if kind == _STRING:
        text = value.string_value
        new = A.REDACTED if strict and key in BODY_ATTRIBUTES else redactor.value(key, text)
        if new != text:
            value.string_value = new  # type: ignore[assignment]
    elif kind == _ARRAY:
        for item in value.array_value.values:
            if item.WhichOneof("value") == _STRING:
                text = item.string_value
                new = redactor.value(key, text)
                if new != text:
                    item.string_value = new  # type: ignore[assignment]
    elif kind == _KVLIST:
        _redact_kvs(value.kvlist_value.values, redactor, strict)
    elif kind == _BYTES and key in BODY_ATTRIBUTES:
        if strict:
            value.string_value = A.REDACTED
        else:
            text = value.bytes_value.decode("utf-8", "replace")
            new = redactor.text(text)
            if new != text:
                value.bytes_value = new.encode()


def _redact_kvs(kvs: Iterable[KeyValue], redactor: Redactor, strict: bool) -> None:
    for kv in kvs:
        _redact_value(kv.key, kv.value, redactor, strict)


def redact_span(span: Span, redactor: Redactor, strict: bool = False, view: SpanView | None = None) -> None:
    """The Redactor's rules over a span's attributes, events, links, name and status message.
    `strict` also masks body attributes whole (their exposed values are unknown). `view`, from
    `read_span`, spares a second walk over the attributes."""
    if view is None:
        view = read_span(span)
    # Key rules first (credential headers whole, URL query values), then exposed values: they
    # are looked for in all texts at once, and per text only when one is there.
    texts = []
    for key, value, text in view.strings:
        new = text
        if key.startswith(A.CAPTURED_HEADER_PREFIXES):
            if is_credential_header_attribute(key):
                new = A.REDACTED
        elif key in A.URL_ATTRIBUTES:
            new = redactor.value(key, text)  # type: ignore[assignment]
        elif strict and key in BODY_ATTRIBUTES:
            new = A.REDACTED
        if new != text:
            value.string_value = new
        texts.append(new)
    joined = "\x00".join(texts)
    if redactor.text(joined) != joined:
        for (_key, value, _text), text in zip(view.strings, texts, strict=True):
            new = redactor.text(text)
            if new != text:
                value.string_value = new
    for key, value in view.nested:
        _redact_value(key, value, redactor, strict)
    for event in span.events:
        _redact_kvs(event.attributes, redactor, strict)
        name = redactor.text(event.name)
        if name != event.name:
            event.name = name
    for link in span.links:
        _redact_kvs(link.attributes, redactor, strict)
    name = redactor.text(span.name)
    if name != span.name:
        span.name = name
    if span.status.message:
        message = redactor.text(span.status.message)
        if message != span.status.message:
            span.status.message = message


class EnrichProcessor:
    """Detection for spans that arrive without it: HTTP server spans from any agent.

    Spans that already carry `apisec.auth.outcome` (enriched in-process) are left alone. Other
    spans only get the always-on masking (credential headers, sensitive query keys in URLs),
    unless `redact_others` is off. A span whose enrichment fails is counted in `errors` and
    masked strictly; a span that cannot even be masked is counted in `dropped` and not forwarded.
    """

    def __init__(
        self, analyzer: Analyzer, *, event_min_severity: Severity = Severity.INFO, redact_others: bool = True,
        tally: SecurityTally | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.tally = tally
        """Findings and auth outcomes by route, for the gateway's security metrics."""
        self.event_min_severity = event_min_severity
        self.redact_others = redact_others
        self.errors = 0
        """Spans whose enrichment raised (masked strictly, forwarded without analysis)."""
        self.dropped = 0
        """Spans that could not be masked at all, so were not forwarded."""
        # Receivers call from several threads; one Analyzer (scratch space, memo) at a time.
        self._analysis_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._encoded = _Encoded()

    def process(self, signal: Signal, request: Request) -> Request | None:
        if signal is not Signal.TRACES:
            return request
        # One lock hold per request, not per span: handing the lock (and the GIL) between receiver
        # threads at every span cost as much CPU as the analysis itself; the GIL serializes them anyway.
        with self._analysis_lock:
            for resource_spans in request.resource_spans:  # type: ignore[union-attr]
                for scope_spans in resource_spans.scope_spans:
                    spans = scope_spans.spans
                    lost = [index for index, span in enumerate(spans) if not self._span(span)]
                    for index in reversed(lost):
                        del spans[index]
        return request

    def _span(self, span: Span) -> bool:
        """Enrich and mask one span in place; False when it must be dropped."""
        try:
            view = read_span(span)
            if view.enriched:
                return True
            exchange = view.exchange
            if exchange is None:
                if self.redact_others:
                    redact_span(span, _PLAIN, view=view)
                return True
            analysis = self.analyzer.analyze(exchange)  # under the request's lock (process)
            if self.tally is not None:
                self._count(exchange, analysis, self.tally)
            redactor = Redactor(exposed_values(exchange, analysis))
            added = self._additions(analysis, span.end_time_unix_nano)
            redact_span(span, redactor, view=view)
            span.MergeFromString(added)
            return True
        except Exception:  # noqa: BLE001 - the span still goes on, masked strictly, without analysis
            with self._count_lock:
                self.errors += 1
        try:
            redact_span(span, _STRICT, strict=True)
            return True
        except Exception:  # noqa: BLE001
            with self._count_lock:
                self.dropped += 1
            return False

    @staticmethod
    def _count(exchange: HttpExchange, analysis: Analysis, tally: SecurityTally) -> None:
        route = tally.route(exchange.route)
        tally.auth_outcome(route, analysis.auth.outcome.value, analysis.auth.scheme.value)
        for finding in analysis.findings:
            tally.finding(finding.rule_id, finding.kind, finding.severity.label, route)

    def _additions(self, analysis: Analysis, end_time: int) -> bytes:
        """`span_attributes(analysis)` and one event per finding (as `finding_events`), encoded."""
        encoded = self._encoded
        parts = [encoded.attribute(key, value) for key, value in span_attributes(analysis).items()]
        minimum = self.event_min_severity
        time_field = event_time_field(end_time)
        parts.extend(encoded.event(finding, time_field) for finding in analysis.findings if finding.severity >= minimum)
        return b"".join(parts)


# --- RedactProcessor ----------------------------------------------------------------------------
_OWN_KEYS = frozenset({A.ENDUSER_PSEUDO_ID, A.RULE_ID, A.RULE_NAME, A.RULE_CATEGORY, A.RULE_REFERENCE})
_VALUE_DETECTORS = frozenset({"pii", "secrets"})
_CHUNK_TEXTS = 256
_CHUNK_CHARS = 256 << 10
_KEY_CACHE_SIZE = 4096
_CLEAN_CACHE_SIZE = 16384
_CLEAN_CACHE_MAX_CHARS = 256
_KEEP, _HASH, _MASK, _URL, _PLAIN_VALUE = range(5)  # RedactProcessor's rule for one key


class _Run:
    """One request's state: per-owner counts (owner = span or log record) and the string slots
    left for the value detectors."""

    __slots__ = ("masked", "removed", "scan", "slots")

    def __init__(self, scan: bool) -> None:
        self.masked: list[int] = []
        self.removed: list[int] = []
        self.scan = scan
        self.slots: list[tuple[object, str, int, bool]] = []
        """(message, string field, owner, already masked by a rule)."""

    def owner(self) -> int:
        self.masked.append(0)
        self.removed.append(0)
        return len(self.masked) - 1

    def slot(self, message: object, field: str, owner: int, masked: bool) -> None:
        if self.scan:
            self.slots.append((message, field, owner, masked))


class RedactProcessor:
    """Masking configured like otelcol's redaction processor, plus otel-apisec's own rules.

    For each attribute of spans (and their events and links), log records and metric data
    points, in this order:
    - `allowed_keys`, when given: any other key is removed (top-level attributes only);
    - `hash_keys`: the value is replaced by a keyed hash (HMAC-SHA256 with `hmac_key`, first 32
      hex digits; empty key: a random one for this process), so it correlates but cannot be read back;
    - `blocked_key_patterns` (RE2, searched anywhere in the key) and, with `mask_bodies`, the
      body attributes `http.request.body` / `http.response.body`: the value becomes `***`;
    - the always-on rules of `otel_apisec.processors.redact.Redactor`: credential header
      attributes masked whole, sensitive query values and user-info in URL attributes masked;
      log bodies and log string attributes get their sensitive `key=value` pairs masked too;
    - `value_detectors`: the PII and secret detectors run over every remaining string value (and
      span names, event names, status messages, log bodies), and what they find is masked.
    Keys otel-apisec writes itself (`apisec.*`, `enduser.pseudo.id`, `security_rule.*`) and
    `ignored_keys` are never touched. Resource attributes are not changed.

    With `summary`, each span and log record that had values masked or hashed gets
    `apisec.redaction.masked_count`, and `apisec.redaction.removed_count` for keys the
    allow-list removed (metric points never get counts: they would split the series).
    """

    def __init__(
        self,
        *,
        blocked_key_patterns: Sequence[str] = (),
        allowed_keys: Collection[str] | None = None,
        ignored_keys: Collection[str] = (),
        hash_keys: Collection[str] = (),
        hmac_key: str | bytes = b"",
        value_detectors: bool = False,
        value_analyzer: Analyzer | None = None,
        mask_bodies: bool = True,
        strict_urls: bool = False,
        summary: bool = True,
        max_scanned_chars: int = 64 << 10,
    ) -> None:
        for pattern in blocked_key_patterns:
            try:
                re2.compile(pattern)
            except re2.error as exc:
                raise ValueError(f"blocked_key_patterns: {pattern!r} is not a valid RE2 pattern: {exc}") from None
        self._blocked = re2.compile("|".join(f"(?:{p})" for p in blocked_key_patterns)) if blocked_key_patterns else None
        self._actions: dict[str, int] = {}
        self._allowed = frozenset(allowed_keys) if allowed_keys is not None else None
        self._ignored = _OWN_KEYS | frozenset(ignored_keys)
        self._hash_keys = frozenset(hash_keys)
        key = hmac_key.encode() if isinstance(hmac_key, str) else hmac_key
        self._hmac = hmac.new(key or os.urandom(32), digestmod=hashlib.sha256)
        self._mask_bodies = mask_bodies
        self._rules = Redactor(strict=strict_urls)
        self._summary = summary
        self._max_scanned = max_scanned_chars
        self.value_detectors = value_detectors
        self._analyzer_lock = threading.Lock()
        self._clean: dict[str, None] = {}
        """Short texts the value detectors found nothing in: user agents, content types, routes, ...
        repeat on most spans, and each text is scanned as its own field, so the verdict holds."""
        # Built now when needed: compiling its patterns takes a second, not to be paid by a request.
        if value_detectors and value_analyzer is None:
            value_analyzer = Analyzer(DetectConfig(enabled=_VALUE_DETECTORS), compiled_cache=default_cache())
        self._value_analyzer = value_analyzer

    # --- signals ------------------------------------------------------------------------------
    def process(self, signal: Signal, request: Request) -> Request | None:
        run = _Run(self.value_detectors)
        owners: list[KeyValues] = []  # attribute lists that get the summary counts, by owner index
        if signal is Signal.TRACES:
            for resource_spans in request.resource_spans:  # type: ignore[union-attr]
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        owners.append(span.attributes)
                        self._span(span, run.owner(), run)
        elif signal is Signal.LOGS:
            for resource_logs in request.resource_logs:  # type: ignore[union-attr]
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        owners.append(record.attributes)
                        self._log(record, run.owner(), run)
        elif signal is Signal.METRICS:
            owner = run.owner()  # one for all points: counts are not written on metrics
            for resource_metrics in request.resource_metrics:  # type: ignore[union-attr]
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        self._metric(metric, owner, run)
        if run.slots:
            self._scan_values(run)
        if self._summary and signal is not Signal.METRICS:
            for index, attributes in enumerate(owners):
                if run.masked[index]:
                    _add_count(attributes, A.REDACTION_MASKED_COUNT, run.masked[index])
                if run.removed[index]:
                    _add_count(attributes, A.REDACTION_REMOVED_COUNT, run.removed[index])
        return request

    def _span(self, span: Span, owner: int, run: _Run) -> None:
        self._kvs(span.attributes, owner, run, False, top=True)
        for event in span.events:
            self._kvs(event.attributes, owner, run, False, top=True)
            run.slot(event, "name", owner, False)
        for link in span.links:
            self._kvs(link.attributes, owner, run, False, top=True)
        run.slot(span, "name", owner, False)
        if span.status.message:
            run.slot(span.status, "message", owner, False)

    def _log(self, record: LogRecord, owner: int, run: _Run) -> None:
        self._kvs(record.attributes, owner, run, True, top=True)
        if record.HasField("body"):
            body = record.body
            if body.string_value:
                self._string("", body, body.string_value, _PLAIN_VALUE, owner, run, True)
            else:
                self._value("", body, _PLAIN_VALUE, owner, run, True)

    def _metric(self, metric: Metric, owner: int, run: _Run) -> None:
        data = metric.WhichOneof("data")
        if data is None:
            return
        for point in getattr(metric, data).data_points:
            self._kvs(point.attributes, owner, run, False, top=True)
            for exemplar in getattr(point, "exemplars", ()):
                self._kvs(exemplar.filtered_attributes, owner, run, False, top=True)

    # --- rules --------------------------------------------------------------------------------
    def _action(self, key: str) -> int:
        """What the rules do to `key`'s value; keys repeat, so decided once per key."""
        action = self._actions.get(key)
        if action is None:
            if key.startswith("apisec.") or key in self._ignored:
                action = _KEEP
            elif key in self._hash_keys:
                action = _HASH
            elif (self._mask_bodies and key in BODY_ATTRIBUTES) or (self._blocked and self._blocked.search(key)):
                action = _MASK
            elif is_credential_header_attribute(key):
                action = _MASK
            elif key in A.URL_ATTRIBUTES:
                action = _URL
            else:
                action = _PLAIN_VALUE
            if len(self._actions) >= _KEY_CACHE_SIZE:
                self._actions.clear()  # keys come from clients: bound what they make us keep
            self._actions[key] = action
        return action

    def _kvs(self, kvs: KeyValues, owner: int, run: _Run, log: bool, top: bool = False) -> None:
        allowed = self._allowed
        if top and allowed is not None:
            removed = [
                index for index, kv in enumerate(kvs)
                if kv.key not in allowed and self._action(kv.key) != _KEEP
            ]
            for index in reversed(removed):
                del kvs[index]
            run.removed[owner] += len(removed)
        actions = self._actions
        for kv in kvs:
            key = kv.key
            action = actions.get(key)
            if action is None:
                action = self._action(key)
            if action == _KEEP:
                continue
            value = kv.value
            if action == _HASH:
                run.masked[owner] += self._hash(value)
            elif action == _MASK:
                run.masked[owner] += self._mask(value)
            else:
                text = value.string_value  # "" for other kinds: the common case costs one access
                if text:
                    self._string(key, value, text, action, owner, run, log)
                else:
                    self._value(key, value, action, owner, run, log)

    def _value(self, key: str, value: AnyValue, action: int, owner: int, run: _Run, log: bool) -> None:
        kind = value.WhichOneof("value")
        if kind == _ARRAY:
            for item in value.array_value.values:
                text = item.string_value
                if text:
                    self._string(key, item, text, action, owner, run, log)
        elif kind == _KVLIST:
            self._kvs(value.kvlist_value.values, owner, run, log)

    def _string(self, key: str, value: AnyValue, text: str, action: int, owner: int, run: _Run, log: bool) -> None:
        if action == _PLAIN_VALUE and not log:  # the common case: no rule applies; scan unless known clean
            if run.scan and text not in self._clean and text != A.REDACTED:
                run.slots.append((value, _STRING, owner, False))
            return
        new = self._rules.value(key, text) if action == _URL else text
        if log:
            new = mask_sensitive_pairs(new)  # type: ignore[arg-type]
        masked = new != text
        if masked:
            value.string_value = new  # type: ignore[assignment]
            run.masked[owner] += 1
        if new != A.REDACTED:
            run.slot(value, _STRING, owner, masked)

    def _mask(self, value: AnyValue) -> int:
        """The whole value becomes `***` (an array: each item); the count of values changed."""
        kind = value.WhichOneof("value")
        if kind == _ARRAY:
            return sum(self._mask(item) for item in value.array_value.values)
        if kind == _KVLIST:
            return sum(self._mask(kv.value) for kv in value.kvlist_value.values)
        if kind is None or (kind == _STRING and value.string_value == A.REDACTED):
            return 0
        value.string_value = A.REDACTED
        return 1

    def _hash(self, value: AnyValue) -> int:
        kind = value.WhichOneof("value")
        if kind == _ARRAY:
            return sum(self._hash(item) for item in value.array_value.values)
        if kind == _KVLIST:
            return sum(self._hash(kv.value) for kv in value.kvlist_value.values)
        if kind is None:
            return 0
        if kind == _BYTES:
            data = value.bytes_value
        elif kind == _STRING:
            data = value.string_value.encode("utf-8", "surrogatepass")
        else:
            data = str(getattr(value, kind)).encode()
        digest = self._hmac.copy()
        digest.update(data)
        value.string_value = digest.hexdigest()[:32]
        return 1

    # --- value detectors ----------------------------------------------------------------------
    def _scan_values(self, run: _Run) -> None:
        """One analysis per chunk of texts (not per value): the detectors' fixed cost is paid
        once for many short attribute values. Texts already found clean are not scanned again."""
        clean = self._clean
        slots = [slot for slot in run.slots if getattr(slot[0], slot[1]) not in clean]
        start = 0
        while start < len(slots):
            end, chars = start, 0
            while end < len(slots) and end - start < _CHUNK_TEXTS and chars < _CHUNK_CHARS:
                message, field, _owner, _masked = slots[end]
                chars += min(len(getattr(message, field)), self._max_scanned)
                end += 1
            self._scan_chunk(slots[start:end], run)
            start = end

    def _scan_chunk(self, chunk: list[tuple[object, str, int, bool]], run: _Run) -> None:
        texts = {getattr(message, field)[: self._max_scanned]: None for message, field, _o, _m in chunk}
        texts.pop("", None)
        if not texts:
            return
        exchange = HttpExchange(query=tuple(("v", text) for text in texts))
        analyzer = self._value_analyzer
        if analyzer is None:  # value_detectors switched on after construction
            analyzer = self._value_analyzer = Analyzer(DetectConfig(enabled=_VALUE_DETECTORS), compiled_cache=default_cache())
        with self._analyzer_lock:
            analysis = analyzer.analyze(exchange)
        exposed = exposed_values(exchange, analysis)
        # A complete analysis only: findings dropped or detectors skipped would make a text look clean.
        complete = not (analysis.dropped_findings or analysis.skipped or analysis.failed)
        redactor = Redactor(exposed) if exposed else None
        for message, field, owner, masked in chunk:
            text = getattr(message, field)
            new = redactor.text(text) if redactor is not None else text
            if new != text:
                setattr(message, field, new)
                if not masked:
                    run.masked[owner] += 1
            elif complete and len(text) <= _CLEAN_CACHE_MAX_CHARS:
                self._remember_clean(text)

    def _remember_clean(self, text: str) -> None:
        clean = self._clean
        if len(clean) >= _CLEAN_CACHE_SIZE:
            clean.clear()  # texts come from clients: bound what they make us keep
        clean[text] = None
