"""The gateway's `apisec/redact` processor: masking configured like otelcol's redaction processor,
plus otel-apisec's own rules and value detectors, over every place a value can sit in OTLP."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeAlias

import re2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.compiled_cache import default_cache
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.sensitive_keys import is_sensitive_key
from otel_apisec.gateway.anyvalue import add_count
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.processors.enrich.processor import mask_strictly
from otel_apisec.gateway.runner import (
    ProcessorCounts,
    SpanHandler,
    SpanView,
    TraceBatch,
    iter_items,
    iter_resources,
    iter_scopes,
    process_spans,
)
from otel_apisec.gateway.span_exchange import BODY_ATTRIBUTES
from otel_apisec.pseudonym import deployment_key
from otel_apisec.redaction.otlp import BYTES, HASH, KEEP, MASK, STRING, TEXT, URL, hash_value, walk_kvs, walk_value
from otel_apisec.redaction.rules import is_credential_header_attribute, mask_credentials, mask_url
from otel_apisec.redaction.text import ValueMasker

if TYPE_CHECKING:
    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

    KeyValues: TypeAlias = RepeatedCompositeFieldContainer[KeyValue]

__all__ = ["IDENTITY_PREFIXES", "RedactProcessor", "build_value_analyzer"]

_VALUE_DETECTORS = frozenset({"pii", "secrets"})
_KEY_CACHE_SIZE = 4096

_OWN_VALUES = frozenset({
    A.AUTH_SCHEME, A.AUTH_OUTCOME, A.TOKEN_STATE, A.TOKEN_HASH, A.PII_TYPES, A.SECRET_TYPES, A.ATTACK_TYPES, A.FINDINGS,
    A.SEVERITY_MAX, A.DETECTORS_FAILED, A.DETECTORS_SKIPPED, A.ENDUSER_PSEUDO_ID, A.CLIENT_PSEUDO_ID,
    A.CLIENT_NETWORK_PSEUDO_ID, A.RULE_ID, A.RULE_NAME, A.RULE_CATEGORY, A.RULE_REFERENCE, A.FINDING_KIND,
    A.FINDING_SEVERITY, A.GEO_COUNTRY,
    *(A.FINDING_SUBJECT_PREFIX + key for key in (A.CLIENT_PSEUDO_ID, A.CLIENT_NETWORK_PSEUDO_ID, A.ENDUSER_PSEUDO_ID,
                                                 A.TOKEN_HASH)),
})
"""Values otel-apisec writes from its own vocabulary (enums, rule catalog text) or as keyed hashes:
never touched. Its free-text values (a finding's location, message, subject route, group key, a
token's `alg`) can repeat request text, as can any other `apisec.*` key: those are scanned like
any value, but no key rule removes, hashes or blocks them."""

IDENTITY_PREFIXES = (
    "service.", "host.", "k8s.", "cloud.", "container.", "process.", "telemetry.", "deployment.", "os.",
    "device.", "faas.", "webengine.", "otel.", "aws.", "gcp.", "azure.", "heroku.", "browser.",
)
"""Resource and scope attributes that identify the service: only their values are scanned (a secret
or PII found in them is masked); no key rule (blocked patterns, hash keys, sensitive keys) applies."""

_NOT_SECRET_KEYS = frozenset({"session.id"})
"""Semantic-convention keys whose names look sensitive but whose values are not credentials (a
client-side session id correlates RUM telemetry)."""


def build_value_analyzer() -> Analyzer:
    """The PII and secret detectors as the masker runs them: findings are never dropped (a chunk
    with dropped findings would be masked whole). Compiling takes about a second: build once."""
    return Analyzer(DetectConfig(enabled=_VALUE_DETECTORS, max_findings=1 << 20), compiled_cache=default_cache())


class _Run:
    """One request's walk (`redaction.otlp.Rules`): per-owner counts (owner = span or log record;
    index 0 counts what sits on no owner: resource, scope, metric points) and the texts left for
    the value detectors."""

    __slots__ = ("action", "actions", "clean", "masked", "removed", "scan", "slots", "_masker", "_processor", "_strict_urls")

    def __init__(self, processor: RedactProcessor, scan: bool, clean: dict[str, None] | None) -> None:
        # The rules are the processor's, the counts and texts this run's.
        self._processor = processor
        self.action = processor._action_of
        self.actions = processor._actions
        self._masker = processor._masker
        self._strict_urls = processor._strict_urls
        self.masked: list[int] = [0]
        self.removed: list[int] = [0]
        self.scan = scan
        self.clean = clean if scan else None
        """Texts the value masker found clean (so free of credentials too): skipped."""
        self.slots: list[tuple[object, str, str, int, bool]] = []
        """(message, field, text, owner, already masked by a rule); field BYTES: an AnyValue whose
        bytes were decoded into `text`, masked whole on a hit."""

    def owner(self) -> int:
        self.masked.append(0)
        self.removed.append(0)
        return len(self.masked) - 1

    def text(self, message: object, field: str, owner: int) -> None:
        """A string field no key rule applies to (a name, a status message, a key)."""
        text = getattr(message, field)
        if not text or (self.clean is not None and text in self.clean):
            return
        new = mask_credentials(text)
        if new != text:
            setattr(message, field, new)
            self.masked[owner] += 1
        if self.scan and new != A.REDACTED:
            self.slots.append((message, field, new, owner, new != text))

    # --- redaction.otlp.Rules -----------------------------------------------------------------
    def key(self, kv: KeyValue, owner: int) -> None:
        if self.clean is not None or not self._processor._plain_key(kv.key):
            self.text(kv, "key", owner)

    def string(self, key: str, value: AnyValue, text: str, action: int, owner: int) -> None:
        new = mask_url(text, self._strict_urls) if action == URL else text
        masker = self._masker
        if masker is None or new not in masker.clean:  # a text found clean holds no credential either
            new = mask_credentials(new)
            if self.scan and new != A.REDACTED:
                self.slots.append((value, STRING, new, owner, new != text))
        if new != text:
            value.string_value = new
            self.masked[owner] += 1

    def bytes(self, key: str, value: AnyValue, action: int, owner: int) -> None:
        """Bytes are scanned as UTF-8 text; a hit masks the whole value (its other bytes may not
        be text at all, so they are not kept)."""
        text = value.bytes_value.decode("utf-8", "replace")
        if mask_credentials(text) != text:
            value.string_value = A.REDACTED
            self.masked[owner] += 1
        elif self.scan:
            self.slots.append((value, BYTES, text, owner, False))

    def hashed(self, value: AnyValue, owner: int) -> None:
        self.masked[owner] += hash_value(value, self._processor._hmac)

    def masked_whole(self, owner: int, count: int) -> None:
        self.masked[owner] += count


class RedactProcessor:
    """Masking configured like otelcol's redaction processor, plus otel-apisec's own rules, over
    every value of traces, logs and metrics: resource and scope (name, version, attributes), span
    names, attributes, events, links, status messages and trace states, log bodies, attributes and
    event names, metric names, descriptions, point attributes and exemplars; strings, bytes and
    arrays and kvlists nested up to 16 deep (deeper values are masked whole).

    For each attribute, at any depth (the key rules in this order):
    - `allowed_keys`, when given: any other top-level key of a span, event, link, log record or
      metric point is removed (resource and scope attributes are kept);
    - `hash_keys`: the value is replaced by a keyed hash (HMAC-SHA256 with `hmac_key`, first 32
      hex digits; empty key: a random one for this process), so it correlates but cannot be read back;
    - `blocked_key_patterns` (RE2, searched anywhere in the key), with `mask_bodies` the body
      attributes `http.request.body` / `http.response.body`, credential header attributes, and
      keys that name a secret or personal field (`password`, `api_key`, `card_number`, ...; see
      `detect.sensitive_keys`): the value becomes `***`;
    - URL attributes: sensitive query values and user-info masked;
    - every other string (names and keys too): embedded credentials masked (JWTs, `Basic`
      credentials, `password=...`, `"token": "..."`), then, with `value_detectors`, the PII and
      secret detectors run over all of it (in windows, any length) and what they find is masked.
      A bytes value is scanned as UTF-8; on a hit the whole value becomes the string `***`.
    Resource and scope attributes that identify the service (`IDENTITY_PREFIXES`) only get the
    last step. Values otel-apisec writes as keyed hashes or rule text and `ignored_keys` are never
    touched; its other `apisec.*` values are scanned but never removed, hashed or blocked.

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
        value_detectors: bool = True,
        value_analyzer: Analyzer | None = None,
        mask_bodies: bool = True,
        strict_urls: bool = False,
        summary: bool = True,
        window_chars: int = 64 << 10,
    ) -> None:
        for pattern in blocked_key_patterns:
            try:
                re2.compile(pattern)
            except re2.error as exc:
                raise ValueError(f"blocked_key_patterns: {pattern!r} is not a valid RE2 pattern: {exc}") from None
        self._blocked = re2.compile("|".join(f"(?:{p})" for p in blocked_key_patterns)) if blocked_key_patterns else None
        self._actions: dict[str, int] = {}
        self._allowed = frozenset(allowed_keys) if allowed_keys is not None else None
        self._ignored = frozenset(ignored_keys)
        self._hash_keys = frozenset(hash_keys)
        self._hmac = hmac.new(deployment_key(hmac_key), digestmod=hashlib.sha256)
        self._mask_bodies = mask_bodies
        self._strict_urls = strict_urls
        self._plain_keys: dict[str, bool] = {}
        """Keys and whether they hold no credential, when there is no value masker to remember clean keys."""
        self._summary = summary
        self._window = window_chars
        self.value_detectors = value_detectors
        # Built now when needed: compiling its patterns takes a second, not to be paid by a request.
        analyzer = value_analyzer or (build_value_analyzer() if value_detectors else None)
        self._masker = ValueMasker(analyzer, window=window_chars) if analyzer is not None else None
        self.counts = ProcessorCounts()

    # --- signals ------------------------------------------------------------------------------
    mask_strictly = staticmethod(mask_strictly)
    """A span it fails on may hold what it should have masked: the runner masks it strictly."""

    def process(self, signal: Signal, request: Request) -> Request | None:
        if signal is Signal.TRACES:
            return process_spans(self, signal, request)
        run = self._start()
        owners: list[KeyValues] = []  # attribute lists that get the summary counts, by owner index - 1
        self._containers(signal, request, run)
        for _resource, _scope, item in iter_items(signal, request):
            if signal is Signal.LOGS:
                owners.append(item.attributes)
                self._log(item, run.owner(), run)
            else:
                self._metric(item, run)
        self._finish(run, owners)
        return request

    @contextmanager
    def spans(self, batch: TraceBatch) -> Iterator[SpanHandler]:
        run = self._start()
        self._containers(Signal.TRACES, batch.request, run)
        views: list[SpanView] = []  # by owner index - 1

        def span(view: SpanView) -> bool:
            views.append(view)
            self._span(view.span, run.owner(), run)
            return True

        yield span
        self._finish(run, [view.span.attributes for view in views])
        for index, view in enumerate(views, start=1):
            if run.masked[index] or run.removed[index]:
                view.edited()  # keys may be gone or renamed: a later reader reads again

    def _start(self) -> _Run:
        if self.value_detectors and self._masker is None:  # switched on after construction
            self._masker = ValueMasker(build_value_analyzer(), window=self._window)
        return _Run(self, self.value_detectors, self._masker.clean if self._masker is not None else None)

    def _containers(self, signal: Signal, request: Request, run: _Run) -> None:
        """Resources and scopes: what sits on no owner."""
        for holder in iter_resources(signal, request):
            self._resource(holder, holder.resource, run)
        for _resource, holder in iter_scopes(signal, request):
            self._scope(holder, holder.scope, run)

    def _finish(self, run: _Run, owners: list[KeyValues]) -> None:
        """The value detectors over every text left, then the summary counts."""
        if run.slots:
            self._scan_values(run)
        if self._summary:
            for index, attributes in enumerate(owners, start=1):
                if run.masked[index]:
                    add_count(attributes, A.REDACTION_MASKED_COUNT, run.masked[index])
                if run.removed[index]:
                    add_count(attributes, A.REDACTION_REMOVED_COUNT, run.removed[index])

    def _resource(self, holder: object, resource: Resource, run: _Run) -> None:
        run.text(holder, "schema_url", 0)
        self._kvs(resource.attributes, 0, run, resource=True)

    def _scope(self, holder: object, scope: InstrumentationScope, run: _Run) -> None:
        run.text(holder, "schema_url", 0)
        run.text(scope, "name", 0)
        run.text(scope, "version", 0)
        self._kvs(scope.attributes, 0, run, resource=True)

    def _span(self, span: Span, owner: int, run: _Run) -> None:
        self._kvs(span.attributes, owner, run, top=True)
        for event in span.events:
            self._kvs(event.attributes, owner, run, top=True)
            run.text(event, "name", owner)
        for link in span.links:
            self._kvs(link.attributes, owner, run, top=True)
            run.text(link, "trace_state", owner)
        run.text(span, "name", owner)
        run.text(span, "trace_state", owner)
        if span.status.message:
            run.text(span.status, "message", owner)

    def _log(self, record: LogRecord, owner: int, run: _Run) -> None:
        self._kvs(record.attributes, owner, run, top=True)
        if record.HasField("body"):
            walk_value("", record.body, TEXT, run, owner)
        run.text(record, "event_name", owner)
        run.text(record, "severity_text", owner)

    def _metric(self, metric: Metric, run: _Run) -> None:
        for field in ("name", "description", "unit"):
            run.text(metric, field, 0)
        self._kvs(metric.metadata, 0, run, top=True)
        data = metric.WhichOneof("data")
        if data is None:
            return
        for point in getattr(metric, data).data_points:
            self._kvs(point.attributes, 0, run, top=True)
            for exemplar in getattr(point, "exemplars", ()):
                self._kvs(exemplar.filtered_attributes, 0, run, top=True)

    # --- rules --------------------------------------------------------------------------------
    def _action_of(self, key: str) -> int:
        """What the rules do to `key`'s value; keys repeat, so decided once per key."""
        action = self._actions.get(key)
        if action is None:
            if key in _OWN_VALUES or key in self._ignored:
                action = KEEP
            elif key.startswith("apisec."):
                action = TEXT
            elif key in self._hash_keys:
                action = HASH
            elif (
                (self._mask_bodies and key in BODY_ATTRIBUTES)
                or (self._blocked and self._blocked.search(key))
                or is_credential_header_attribute(key)
                or (is_sensitive_key(key) and key not in _NOT_SECRET_KEYS)
            ):
                action = MASK
            elif key in A.URL_ATTRIBUTES:
                action = URL
            else:
                action = TEXT
            if len(self._actions) >= _KEY_CACHE_SIZE:
                self._actions.clear()  # keys come from clients: bound what they make us keep
            self._actions[key] = action
        return action

    def _removable(self, key: str) -> bool:
        return key not in self._allowed and not key.startswith("apisec.") and self._action_of(key) != KEEP  # type: ignore[operator]

    def _kvs(self, kvs: KeyValues, owner: int, run: _Run, top: bool = False, resource: bool = False) -> None:
        if top and self._allowed is not None:
            removed = [index for index, kv in enumerate(kvs) if self._removable(kv.key)]
            for index in reversed(removed):
                del kvs[index]
            run.removed[owner] += len(removed)
        walk_kvs(kvs, run, owner, text_prefixes=IDENTITY_PREFIXES if resource else ())

    def _plain_key(self, key: str) -> bool:
        """Without a masker: a key known to hold no credential (keys repeat, so checked once)."""
        plain = self._plain_keys.get(key)
        if plain is None:
            if len(self._plain_keys) >= _KEY_CACHE_SIZE:
                self._plain_keys.clear()  # keys come from clients: bound what they make us keep
            plain = self._plain_keys[key] = mask_credentials(key) == key
        return plain

    # --- value detectors ----------------------------------------------------------------------
    def _scan_values(self, run: _Run) -> None:
        assert self._masker is not None
        masked = self._masker.mask([text for _message, _field, text, _owner, _done in run.slots])
        for (message, field, text, owner, done), new in zip(run.slots, masked, strict=True):
            if new == text:
                continue
            if field == BYTES:
                message.string_value = A.REDACTED  # type: ignore[attr-defined]
            else:
                setattr(message, field, new)
            if not done:
                run.masked[owner] += 1
