"""The PII rule catalog (APISEC-PII-NNN, kinds `pii.<type>`).

OWASP: every PII rule is API3:2023 (Broken Object Property Level Authorization), the 2023
home of "excessive data exposure": a response or request carries a personal-data property the
consumer should not see or the API should not collect in clear. CWE-359 (exposure of private
personal information) for all of them.

Severity: payment cards, SSNs and national identity numbers are HIGH (identity theft, PCI
scope); bank accounts, phone numbers and dates of birth MEDIUM; email and IP addresses LOW
(personal, but routinely and lawfully exchanged).
"""

from __future__ import annotations

from otel_apisec.detect.rule import define
from otel_apisec.model import Severity

__all__ = [
    "BR_CPF",
    "CA_SIN",
    "CREDIT_CARD",
    "DATE_OF_BIRTH",
    "DE_TAX_ID",
    "EMAIL",
    "ES_DNI",
    "FR_NIR",
    "IBAN",
    "IN_AADHAAR",
    "IP_ADDRESS",
    "IT_FISCAL_CODE",
    "NL_BSN",
    "PHONE",
    "UK_NINO",
    "US_SSN",
]

_OWASP = "API3:2023"
_CWE = "CWE-359"
_CONSUMER = ("GDPR", "CCPA")
_MASK = "Mask or drop this field in API payloads unless the caller needs it; never log it in clear."


EMAIL = define(
    "APISEC-PII-001", "pii.email", "Email address", Severity.LOW,
    _OWASP, _CWE, _MASK, _CONSUMER,
)
PHONE = define(
    "APISEC-PII-002", "pii.phone", "Phone number", Severity.MEDIUM,
    _OWASP, _CWE, _MASK, _CONSUMER,
)
CREDIT_CARD = define(
    "APISEC-PII-003", "pii.credit_card", "Payment card number (PAN)", Severity.HIGH,
    _OWASP, _CWE, "Never return full PANs: tokenize or truncate to the last four digits (PCI DSS 3.4).",
    ("PCI DSS", "GDPR", "CCPA"),
)
IBAN = define(
    "APISEC-PII-004", "pii.iban", "Bank account number (IBAN)", Severity.MEDIUM,
    _OWASP, _CWE, _MASK, _CONSUMER,
)
US_SSN = define(
    "APISEC-PII-005", "pii.us_ssn", "US Social Security number", Severity.HIGH,
    _OWASP, _CWE, "Do not expose SSNs: return only the last four digits and restrict the field by role.", ("CCPA", "HIPAA"),
)
IP_ADDRESS = define(
    "APISEC-PII-006", "pii.ip_address", "Public IP address of a person or device", Severity.LOW,
    _OWASP, _CWE, "Truncate or pseudonymize client IP addresses in payloads that do not need them.", _CONSUMER,
)
DATE_OF_BIRTH = define(
    "APISEC-PII-007", "pii.date_of_birth", "Date of birth", Severity.MEDIUM,
    _OWASP, _CWE, _MASK, _CONSUMER,
)

_NATIONAL = "Do not expose national identity numbers: mask them and restrict the field by role."
UK_NINO = define(
    "APISEC-PII-008", "pii.uk_nino", "UK National Insurance number", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
ES_DNI = define(
    "APISEC-PII-009", "pii.es_dni", "Spanish DNI/NIE identity number", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
FR_NIR = define(
    "APISEC-PII-010", "pii.fr_nir", "French social security number (NIR)", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
IT_FISCAL_CODE = define(
    "APISEC-PII-011", "pii.it_fiscal_code", "Italian fiscal code (codice fiscale)", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
NL_BSN = define(
    "APISEC-PII-012", "pii.nl_bsn", "Dutch citizen service number (BSN)", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
BR_CPF = define(
    "APISEC-PII-013", "pii.br_cpf", "Brazilian taxpayer number (CPF)", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
IN_AADHAAR = define(
    "APISEC-PII-014", "pii.in_aadhaar", "Indian Aadhaar number", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
CA_SIN = define(
    "APISEC-PII-015", "pii.ca_sin", "Canadian Social Insurance Number", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
DE_TAX_ID = define(
    "APISEC-PII-016", "pii.de_tax_id", "German tax identification number (IdNr)", Severity.HIGH,
    _OWASP, _CWE, _NATIONAL, ("GDPR",),
)
