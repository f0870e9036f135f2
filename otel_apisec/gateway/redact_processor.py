"""The gateway's `apisec/redact` processor: masking configured like otelcol's redaction processor,
plus otel-apisec's own rules and value detectors, on spans, log records and metric points."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import re2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.compiled_cache import default_cache
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.span_exchange import BODY_ATTRIBUTES
from otel_apisec.model import HttpExchange
from otel_apisec.processors.redact import Redactor, is_credential_header_attribute, mask_sensitive_pairs

if TYPE_CHECKING:
    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

    KeyValues = RepeatedCompositeFieldContainer[KeyValue]

from otel_apisec.gateway.anyvalue import ARRAY, BYTES, KVLIST, STRING, add_count
from otel_apisec.pseudonym import deployment_key

__all__ = ["RedactProcessor"]

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
        self._hmac = hmac.new(deployment_key(hmac_key), digestmod=hashlib.sha256)
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
                    add_count(attributes, A.REDACTION_MASKED_COUNT, run.masked[index])
                if run.removed[index]:
                    add_count(attributes, A.REDACTION_REMOVED_COUNT, run.removed[index])
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
        if kind == ARRAY:
            for item in value.array_value.values:
                text = item.string_value
                if text:
                    self._string(key, item, text, action, owner, run, log)
        elif kind == KVLIST:
            self._kvs(value.kvlist_value.values, owner, run, log)

    def _string(self, key: str, value: AnyValue, text: str, action: int, owner: int, run: _Run, log: bool) -> None:
        if action == _PLAIN_VALUE and not log:  # the common case: no rule applies; scan unless known clean
            if run.scan and text not in self._clean and text != A.REDACTED:
                run.slots.append((value, STRING, owner, False))
            return
        new = self._rules.value(key, text) if action == _URL else text
        if log:
            new = mask_sensitive_pairs(new)  # type: ignore[arg-type]
        masked = new != text
        if masked:
            value.string_value = new  # type: ignore[assignment]
            run.masked[owner] += 1
        if new != A.REDACTED:
            run.slot(value, STRING, owner, masked)

    def _mask(self, value: AnyValue) -> int:
        """The whole value becomes `***` (an array: each item); the count of values changed."""
        kind = value.WhichOneof("value")
        if kind == ARRAY:
            return sum(self._mask(item) for item in value.array_value.values)
        if kind == KVLIST:
            return sum(self._mask(kv.value) for kv in value.kvlist_value.values)
        if kind is None or (kind == STRING and value.string_value == A.REDACTED):
            return 0
        value.string_value = A.REDACTED
        return 1

    def _hash(self, value: AnyValue) -> int:
        kind = value.WhichOneof("value")
        if kind == ARRAY:
            return sum(self._hash(item) for item in value.array_value.values)
        if kind == KVLIST:
            return sum(self._hash(kv.value) for kv in value.kvlist_value.values)
        if kind is None:
            return 0
        if kind == BYTES:
            data = value.bytes_value
        elif kind == STRING:
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
