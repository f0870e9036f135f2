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

from otel_apisec.detect.rule import Rule, define
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


def _pii(
    number: int,
    kind: str,
    title: str,
    severity: Severity,
    regulations: tuple[str, ...],
    remediation: str = _MASK,
) -> Rule:
    return define(
        f"APISEC-PII-{number:03d}", f"pii.{kind}", title, severity, _OWASP, _CWE, remediation, regulations
    )


EMAIL = _pii(1, "email", "Email address", Severity.LOW, _CONSUMER)
PHONE = _pii(2, "phone", "Phone number", Severity.MEDIUM, _CONSUMER)
CREDIT_CARD = _pii(
    3,
    "credit_card",
    "Payment card number (PAN)",
    Severity.HIGH,
    ("PCI DSS", "GDPR", "CCPA"),
    "Never return full PANs: tokenize or truncate to the last four digits (PCI DSS 3.4).",
)
IBAN = _pii(4, "iban", "Bank account number (IBAN)", Severity.MEDIUM, _CONSUMER)
US_SSN = _pii(
    5,
    "us_ssn",
    "US Social Security number",
    Severity.HIGH,
    ("CCPA", "HIPAA"),
    "Do not expose SSNs: return only the last four digits and restrict the field by role.",
)
IP_ADDRESS = _pii(
    6,
    "ip_address",
    "Public IP address of a person or device",
    Severity.LOW,
    _CONSUMER,
    "Truncate or pseudonymize client IP addresses in payloads that do not need them.",
)
DATE_OF_BIRTH = _pii(7, "date_of_birth", "Date of birth", Severity.MEDIUM, _CONSUMER)

_NATIONAL = "Do not expose national identity numbers: mask them and restrict the field by role."
UK_NINO = _pii(8, "uk_nino", "UK National Insurance number", Severity.HIGH, ("GDPR",), _NATIONAL)
ES_DNI = _pii(9, "es_dni", "Spanish DNI/NIE identity number", Severity.HIGH, ("GDPR",), _NATIONAL)
FR_NIR = _pii(10, "fr_nir", "French social security number (NIR)", Severity.HIGH, ("GDPR",), _NATIONAL)
IT_FISCAL_CODE = _pii(
    11, "it_fiscal_code", "Italian fiscal code (codice fiscale)", Severity.HIGH, ("GDPR",), _NATIONAL
)
NL_BSN = _pii(12, "nl_bsn", "Dutch citizen service number (BSN)", Severity.HIGH, ("GDPR",), _NATIONAL)
BR_CPF = _pii(13, "br_cpf", "Brazilian taxpayer number (CPF)", Severity.HIGH, ("GDPR",), _NATIONAL)
IN_AADHAAR = _pii(14, "in_aadhaar", "Indian Aadhaar number", Severity.HIGH, ("GDPR",), _NATIONAL)
CA_SIN = _pii(15, "ca_sin", "Canadian Social Insurance Number", Severity.HIGH, ("GDPR",), _NATIONAL)
DE_TAX_ID = _pii(
    16, "de_tax_id", "German tax identification number (IdNr)", Severity.HIGH, ("GDPR",), _NATIONAL
)
