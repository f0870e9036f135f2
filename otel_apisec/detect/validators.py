"""Check-digit and structure validators: a pattern proposes a candidate, a validator confirms it.

Every function takes a short candidate string that an RE2 pattern already extracted (so the
python-stdnum and phonenumbers internals, which use Python `re`, only ever see bounded,
well-shaped text) and returns a bool or a small classification. None of them raises on bad
input: a malformed candidate is simply not valid.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import ipaddress

import orjson
import phonenumbers
from stdnum.br import cpf as _cpf
from stdnum.ca import sin as _sin
from stdnum.de import idnr as _idnr
from stdnum.es import dni as _dni
from stdnum.es import nie as _nie
from stdnum.fr import nir as _nir
from stdnum.in_ import aadhaar as _aadhaar
from stdnum.it import codicefiscale as _codicefiscale
from stdnum.nl import bsn as _bsn

__all__ = [
    "br_cpf_valid",
    "ca_sin_valid",
    "card_brand",
    "date_of_birth_valid",
    "de_tax_id_valid",
    "digits_only",
    "es_dni_valid",
    "fr_nir_valid",
    "iban_valid",
    "in_aadhaar_valid",
    "ip_is_personal",
    "it_fiscal_code_valid",
    "jwt_valid",
    "looks_random",
    "luhn_valid",
    "nl_bsn_valid",
    "phone_valid",
    "uk_nino_valid",
    "us_ssn_valid",
]

_DIGITS = frozenset("0123456789")


def digits_only(text: str) -> str:
    """`4111 1111-1111` -> `411111111111`."""
    return "".join(ch for ch in text if ch in _DIGITS)


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    """Mod-10 (Luhn) check, inline: it runs on every card and SIN candidate."""
    if not (digits.isascii() and digits.isdigit()) or len(digits) < 2:
        return False
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = ord(ch) - 48
        total += _LUHN_DOUBLED[value] if position & 1 else value
    return total % 10 == 0


# (brand, prefix ranges as inclusive (low, high) over the first len(low) digits, allowed lengths)
_CARD_BRANDS: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[int]], ...] = (
    ("American Express", (("34", "34"), ("37", "37")), frozenset({15})),
    ("Diners Club", (("300", "305"), ("36", "36"), ("38", "39")), frozenset({14, 15, 16, 17, 18, 19})),
    ("JCB", (("3528", "3589"),), frozenset({16, 17, 18, 19})),
    ("Visa", (("4", "4"),), frozenset({13, 16, 19})),
    ("Mastercard", (("51", "55"), ("2221", "2720")), frozenset({16})),
    (
        "Maestro",
        (
            ("5018", "5018"),
            ("5020", "5020"),
            ("5038", "5038"),
            ("5893", "5893"),
            ("6304", "6304"),
            ("6759", "6759"),
            ("6761", "6763"),
        ),
        frozenset(range(12, 20)),
    ),
    (
        "Discover",
        (("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")),
        frozenset({16, 17, 18, 19}),
    ),
    ("UnionPay", (("62", "62"),), frozenset({16, 17, 18, 19})),
)


def card_brand(digits: str) -> str | None:
    """The issuer of a Luhn-valid card number of a plausible length, else None."""
    if not luhn_valid(digits):
        return None
    for brand, ranges, lengths in _CARD_BRANDS:
        if len(digits) in lengths and any(low <= digits[: len(low)] <= high for low, high in ranges):
            return brand
    return None


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
    """Known country, that country's IBAN length, and the ISO 7064 mod-97 check (== 1)."""
    iban = text.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


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


def ip_is_personal(text: str) -> bool:
    """A syntactically valid, globally routable address: only those identify a subscriber.

    Private, loopback, link-local, reserved and documentation addresses name machines inside
    a network, not people, so they are not reported as personal data.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _national_lengths(region: str) -> frozenset[int]:
    """Digit counts a national number of `region` may be written with: its possible lengths,
    plus up to three digits of national or carrier prefix (`0`, `1`, Brazil's `0 21`)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    lengths = set(metadata.general_desc.possible_length)
    if metadata.national_prefix_for_parsing:
        lengths |= {n + extra for n in lengths for extra in (1, 2, 3)}
    return frozenset(lengths)


# Regions a national (no `+`) number is tried in, each with its writable digit counts: the
# count check skips the ~50 us libphonenumber parse-and-validate for regions that cannot match.
_PHONE_NATIONAL_REGIONS = tuple(
    (region, _national_lengths(region)) for region in ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU")
)
_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _known_country_code(digits: str) -> bool:
    return any(int(digits[:size]) in _COUNTRY_CODES for size in (1, 2, 3))


def phone_valid(candidate: str, international: bool) -> bool:
    """A valid number per libphonenumber: `+CC...` parsed as is, national forms in common regions.

    Cheap vetoes first (the country code must exist; a national
    number's digit count must fit the region), since libphonenumber costs ~25-50 us per call."""
    digits = digits_only(candidate)
    if len(candidate) > 32 or not 4 <= len(digits) <= 17:
        return False
    if international:
        regions: tuple[str | None, ...] = (None,) if _known_country_code(digits) else ()
    elif digits.startswith(("00", "011")):  # dialled from abroad (`0044 20 ...`): every region
        regions = tuple(region for region, _ in _PHONE_NATIONAL_REGIONS)
    else:
        regions = tuple(region for region, lengths in _PHONE_NATIONAL_REGIONS if len(digits) in lengths)
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


_MAX_AGE_YEARS = 120


def date_of_birth_valid(year: int, month: int, day: int, now: float) -> bool:
    """A real calendar date, not in the future, at most 120 years ago."""
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        return False
    today = _dt.datetime.fromtimestamp(now, _dt.timezone.utc).date()
    return born <= today and today.year - born.year <= _MAX_AGE_YEARS


def _b64url_json(segment: str) -> object | None:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None


_MAX_JWT_SEGMENT = 64 * 1024


def jwt_valid(token: str) -> bool:
    """Three dot-separated segments; the header is base64url JSON naming `alg` or `typ`,
    the payload is base64url JSON object. The signature is not checked (we hold no key)."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[0]) > _MAX_JWT_SEGMENT or len(parts[1]) > _MAX_JWT_SEGMENT:
        return False
    header = _b64url_json(parts[0])
    if not isinstance(header, dict) or not ("alg" in header or "typ" in header):
        return False
    return isinstance(_b64url_json(parts[1]), dict)


def looks_random(secret: str, min_distinct: int = 6) -> bool:
    """Rejects placeholders like `xxxxxxxx` or `000000...`: real keys use many distinct chars."""
    return len(set(secret)) >= min_distinct
