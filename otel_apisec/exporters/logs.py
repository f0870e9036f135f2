"""`RedactingLogExporter`: application log records are masked before they leave, like spans.

An app's logs can repeat what a request carried (`werkzeug` writes every request line with its
query string; handlers log payloads). Each record's body and string attributes get:
- sensitive `key=value` pairs masked;
- values recently exposed by analysed requests (credentials presented, PII and secrets
  found) masked, raw or percent-encoded;
- the PII and secret detectors run over the text, and what they find masked.
It wraps the exporter, so the work happens on the batch processor's thread, off the request path.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from urllib.parse import unquote_plus

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_apisec.compiled_cache import folder_cache
from otel_apisec.detect import Analyzer
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.model import HttpExchange
from otel_apisec.processors.redact import Redactor, mask_sensitive_pairs
from otel_apisec.settings import ApisecSettings

__all__ = ["RecentValues", "RedactingLogExporter"]

_SCANNED_DETECTORS = frozenset({"pii", "secrets"})
_MAX_SCANNED_CHARS = 64 << 10


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
    def _analyzer(self) -> Analyzer:
        # Built on the first export (the batch thread), not at startup: only what finds values.
        config = dataclasses.replace(self._settings.detect_config(), enabled=_SCANNED_DETECTORS, time_budget_ms=None)
        return Analyzer(config, compiled_cache=folder_cache(self._settings.cache_dir))

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        recent = Redactor(self._recent.snapshot())
        return self.inner.export([self._redacted(record, recent) for record in batch])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def redact_text(self, text: str, recent: Redactor) -> str:
        text = recent.text(mask_sensitive_pairs(text))
        # Logged URLs keep their percent-encoding (`alice%40example.com`): scan the decoded text;
        # the Redactor masks each value found in its raw and percent-encoded forms.
        scanned = unquote_plus(text) if "%" in text else text
        exchange = HttpExchange(query=(("log", scanned[:_MAX_SCANNED_CHARS]),))
        found = exposed_values(exchange, self._analyzer.analyze(exchange))
        return Redactor(found).text(text) if found else text

    def _redacted(self, record: ReadableLogRecord, recent: Redactor) -> ReadableLogRecord:
        log = copy.copy(record.log_record)
        if isinstance(log.body, str):
            log.body = self.redact_text(log.body, recent)
        if log.attributes:
            log.attributes = {
                key: self.redact_text(value, recent) if isinstance(value, str) else value
                for key, value in log.attributes.items()
            }
        return dataclasses.replace(record, log_record=log)
