"""The exposure family's rules (APISEC-EXP-NNN, kinds `exposure.<check>`): excessive data in responses."""

from __future__ import annotations

from otel_apisec.detect.rule import define
from otel_apisec.model import Severity

__all__ = [
    "BULK_RECORDS",
    "SENSITIVE_FIELD",
]


SENSITIVE_FIELD = define(
    "APISEC-EXP-001", "exposure.sensitive_field", "Response returns a sensitive field",
    Severity.MEDIUM, "API3:2023", "CWE-213",
    "Return only the properties the client needs (response DTOs / allow-lists), never secrets.",
)
BULK_RECORDS = define(
    "APISEC-EXP-002", "exposure.bulk_records", "Response returns many records at once",
    Severity.LOW, "API4:2023", "CWE-770",
    "Paginate list endpoints with a server-enforced maximum page size.",
)
