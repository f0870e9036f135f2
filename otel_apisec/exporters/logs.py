"""`RedactingLogExporter`: application log records are masked before they leave, like spans.

An app's logs can repeat what a request carried (`werkzeug` writes every request line with its
query string; handlers log payloads). Each record's body and string attributes get:
- embedded credentials masked (JWTs, `Basic` credentials, `key=value` and `"key": "value"`
  pairs with a sensitive key), as the gateway does;
- values recently exposed by analysed requests (credentials presented, PII and secrets
  found) masked, raw or percent-encoded;
- the PII and secret detectors run over the whole text, in windows, raw and percent-decoded,
  and what they find masked (`ValueMasker`, shared with the gateway's redact processor).
It wraps the exporter, so the work happens on the batch processor's thread, off the request path.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_apisec import attributes as A
from otel_apisec.compiled_cache import folder_cache
from otel_apisec.detect import Analyzer
from otel_apisec.detect.sensitive_keys import is_sensitive_key
from otel_apisec.processors.masking import ValueMasker
from otel_apisec.processors.redact import Redactor
from otel_apisec.settings import ApisecSettings

__all__ = ["RecentValues", "RedactingLogExporter"]

_SCANNED_DETECTORS = frozenset({"pii", "secrets"})


class RecentValues:
    """The raw values the last analysed requests exposed, bounded (oldest forgotten first).

    In memory only, for masking logs written about those requests."""

    def __init__(self, capacity: int = 1024) -> None:
        self._values: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            for value in values:
                self._values[value] = None
                self._values.move_to_end(value)
            while len(self._values) > self._capacity:
                self._values.popitem(last=False)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._values)


class RedactingLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter, settings: ApisecSettings, recent: RecentValues) -> None:
        self.inner = inner
        self._settings = settings
        self._recent = recent

    @functools.cached_property
    def _masker(self) -> ValueMasker:
        # Built on the first export (the batch thread), not at startup: only what finds values,
        # and no finding dropped (the masker would then mask the whole text).
        config = dataclasses.replace(self._settings.detect_config(), enabled=_SCANNED_DETECTORS, time_budget_ms=None,
                                     max_findings=1 << 20)
        return ValueMasker(Analyzer(config, compiled_cache=folder_cache(self._settings.cache_dir)))

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        recent = Redactor(self._recent.snapshot())
        return self.inner.export([self._redacted(record, recent) for record in batch])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def redact_text(self, text: str, recent: Redactor) -> str:
        return self._masker.mask([recent.text(text)])[0]  # `Redactor.text` masks embedded credentials too

    def _redacted(self, record: ReadableLogRecord, recent: Redactor) -> ReadableLogRecord:
        """Every string of the body (structured bodies too) and of the attributes, in one scan."""
        log = copy.copy(record.log_record)
        found: list[str] = []
        parts = (log.body, log.attributes)
        _strings(parts, lambda text: found.append(recent.text(text)) or text)  # type: ignore[func-returns-value]
        if found:
            masked = iter(self._masker.mask(found))
            log.body, attributes = _strings(parts, lambda _text: next(masked))
            log.attributes = attributes or log.attributes
        return dataclasses.replace(record, log_record=log)


_MAX_DEPTH = 16
"""Nesting of a structured log body walked; deeper values are masked whole."""


def _strings(value: object, edit: Callable[[str], str], depth: int = 0) -> Any:
    """`value` with `edit` applied to each string in it, in a fixed order (bytes are edited as
    UTF-8 text and masked whole when that changes them); a mapping's value under a sensitive
    key is masked whole, as the gateway masks it."""
    if isinstance(value, str):
        return edit(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        return value if edit(text) == text else A.REDACTED
    if depth > _MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
        return A.REDACTED
    if isinstance(value, Mapping):
        return {key: A.REDACTED if is_sensitive_key(str(key)) else _strings(item, edit, depth + 1)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_strings(item, edit, depth + 1) for item in value)
    return value
