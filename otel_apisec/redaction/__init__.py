"""Redaction: the one home of the masking rules and the walks that apply them.

- `rules`: credential shapes, sensitive `key=value` / `"key": "value"` pairs, URLs, percent-decoding;
- `text`: `ValueMasker`, the PII and secret detectors over free text of any length
  (`Analyzer.scan_texts`, in overlapping windows, raw and percent-decoded);
- `attributes`: `Redactor` and `edit_strings`, over SDK values (the in-process span processor,
  the log exporter);
- `otlp`: the walk over OTLP attribute lists and `AnyValue` trees (the gateway's `apisec/redact`
  processor and the enrich processor's per-span masking);
- `recent`: `RecentValues`, the values analysed requests exposed, for masking the logs about them.
"""

from otel_apisec.redaction.attributes import Redactor, edit_strings
from otel_apisec.redaction.recent import RecentValues
from otel_apisec.redaction.rules import (
    Spans,
    credential_spans,
    is_credential_header_attribute,
    is_sensitive_header,
    mask_credentials,
    mask_sensitive_pairs,
    mask_url,
    masked,
    percent_decoded,
    raw_spans,
)
from otel_apisec.redaction.text import ValueMasker

__all__ = [
    "RecentValues",
    "Redactor",
    "Spans",
    "ValueMasker",
    "credential_spans",
    "edit_strings",
    "is_credential_header_attribute",
    "is_sensitive_header",
    "mask_credentials",
    "mask_sensitive_pairs",
    "mask_url",
    "masked",
    "percent_decoded",
    "raw_spans",
]
