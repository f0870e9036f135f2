"""Validators for national identifiers and bank accounts (IBAN, SSN, NINO, DNI/NIE, NIR, codice
fiscale, BSN, CPF, Aadhaar, SIN, Steuer-ID): check digits, issuing rules, per-country lengths.

Same contract as `validators`: a short candidate an RE2 pattern already extracted (so the
python-stdnum internals, which use Python `re`, only see bounded, well-shaped text) in, a bool
out, never an exception.
"""

from __future__ import annotations

from stdnum import iban as _iban
from stdnum.br import cpf as _cpf
from stdnum.ca import sin as _sin
from stdnum.de import idnr as _idnr
from stdnum.es import dni as _dni
from stdnum.es import nie as _nie
from stdnum.fr import nir as _nir
from stdnum.in_ import aadhaar as _aadhaar
from stdnum.it import codicefiscale as _codicefiscale
from stdnum.nl import bsn as _bsn

from otel_apisec.detect.validators import digits_only

__all__ = [
    "br_cpf_valid",
    "ca_sin_valid",
    "de_tax_id_valid",
    "es_dni_valid",
    "fr_nir_valid",
    "iban_valid",
    "in_aadhaar_valid",
    "it_fiscal_code_valid",
    "nl_bsn_valid",
    "uk_nino_valid",
    "us_ssn_valid",
]

# IBAN length per country (SWIFT IBAN registry, including experimental/partner countries).
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BI": 27,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DJ": 27,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FK": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MN": 20,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NI": 28,
    "NL": 18,
    "NO": 15,
    "OM": 23,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "RU": 33,
    "SA": 24,
    "SC": 31,
    "SD": 18,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "SO": 23,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
    "YE": 30,
}


def iban_valid(text: str) -> bool:
    """Known country, that country's IBAN length and BBAN structure (python-stdnum's registry),
    and the ISO 7064 mod-97 check (== 1); any case, spaces allowed."""
    iban = text.replace(" ", "").upper()
    # ASCII first: `"É".isalnum()` is true, and int("É", 36) raises.
    if not iban.isascii() or _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    # National check digits (check_country) are left out: banks print IBANs whose BBAN a
    # country module rejects, and the mod-97 check already makes a random match 1 in 97.
    return bool(_iban.is_valid(iban, check_country=False))


_SSN_KNOWN_INVALID = frozenset({"078051120", "219099999", "123456789", "111111111", "987654320"})


def us_ssn_valid(digits: str) -> bool:
    """Area not 000/666/9xx, group not 00, serial not 0000, not a famous sample number."""
    if len(digits) != 9 or not digits.isdigit() or digits in _SSN_KNOWN_INVALID:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_NINO_FIRST = frozenset("ABCEGHJKLMNOPRSTWXYZ")
_NINO_SECOND = frozenset("ABCEGHJKLMNPRSTWXYZ")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def uk_nino_valid(text: str) -> bool:
    """HMRC's allocation rules: prefix letters, excluded prefixes, suffix A-D (no check digit)."""
    nino = text.replace(" ", "").upper()
    if len(nino) != 9 or not nino[2:8].isdigit() or nino[8] not in "ABCD":
        return False
    prefix = nino[:2]
    return prefix[0] in _NINO_FIRST and prefix[1] in _NINO_SECOND and prefix not in _NINO_BAD_PREFIXES


def es_dni_valid(text: str) -> bool:
    """Spanish DNI (8 digits + mod-23 letter) or NIE (X/Y/Z + 7 digits + letter)."""
    return _dni.is_valid(text) or _nie.is_valid(text)


def fr_nir_valid(text: str) -> bool:
    return _nir.is_valid(text)


def it_fiscal_code_valid(text: str) -> bool:
    return _codicefiscale.is_valid(text)


def nl_bsn_valid(digits: str) -> bool:
    return len(digits) == 9 and _bsn.is_valid(digits)


def br_cpf_valid(text: str) -> bool:
    """Both mod-11 check digits; repeated-digit numbers (111.111.111-11) pass them but are never issued."""
    return len(set(digits_only(text))) > 1 and _cpf.is_valid(text)


def in_aadhaar_valid(text: str) -> bool:
    """12 digits, not starting 0/1, Verhoeff check digit, not a palindrome."""
    digits = digits_only(text)
    return len(digits) == 12 and _aadhaar.is_valid(digits)


def ca_sin_valid(text: str) -> bool:
    return _sin.is_valid(text)


def de_tax_id_valid(digits: str) -> bool:
    return _idnr.is_valid(digits)
