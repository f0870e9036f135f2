"""`RedactingLogExporter`: application log records are masked before they leave, like spans.

An app's logs can repeat what a request carried (`werkzeug` writes every request line with its
query string; handlers log payloads). Each record's body and string attributes get:
- embedded credentials masked (JWTs, `Basic` credentials, `key=value` and `"key": "value"`
  pairs with a sensitive key), as the gateway does;
- values recently exposed by analysed requests (credentials presented, PII and secrets
  found) masked, raw or percent-encoded;
- the PII and secret detectors run over the whole text, in windows, raw and percent-decoded,
  and what they find masked (`redaction.ValueMasker`, shared with the gateway's redact processor);
- in structured bodies and attributes, a value under a sensitive key masked whole
  (`redaction.edit_strings`, the walker `Redactor` also uses for values that nest).
It wraps the exporter, so the work happens on the batch processor's thread, off the request path.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Sequence

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from otel_apisec.compiled_cache import folder_cache
from otel_apisec.detect import Analyzer
from otel_apisec.detect.sensitive_keys import is_sensitive_key
from otel_apisec.redaction.attributes import Redactor, edit_strings
from otel_apisec.redaction.recent import RecentValues
from otel_apisec.redaction.text import ValueMasker
from otel_apisec.sdk.settings import ApisecSettings

__all__ = ["RecentValues", "RedactingLogExporter"]  # RecentValues lives in redaction; kept here for the old import path

_SCANNED_DETECTORS = frozenset({"pii", "secrets"})


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
        edit_strings(parts, lambda text: found.append(recent.text(text)) or text, is_sensitive_key)  # type: ignore[func-returns-value]
        if found:
            masked = iter(self._masker.mask(found))
            log.body, attributes = edit_strings(parts, lambda _text: next(masked), is_sensitive_key)
            log.attributes = attributes or log.attributes
        return dataclasses.replace(record, log_record=log)
