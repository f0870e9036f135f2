"""Check-digit and structure validators: a pattern proposes a candidate, a validator confirms it.

This module: cards, IP addresses, phone numbers, dates of birth, JWTs and key randomness;
national identifiers and IBANs are in `validators_ids`.

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

__all__ = [
    "card_brand",
    "date_of_birth_valid",
    "digits_only",
    "ip_is_personal",
    "jwt_valid",
    "looks_random",
    "luhn_valid",
    "phone_valid",
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


# (brand, prefix ranges as inclusive (low, high) over the first len(low) digits, allowed lengths).
# Order matters where ranges overlap: the first brand whose range and length fit names the card.
_CARD_BRANDS: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[int]], ...] = (
    ("American Express", (("34", "34"), ("37", "37")), frozenset({15})),
    ("Diners Club", (("300", "305"), ("36", "36"), ("38", "39")), frozenset({14, 15, 16, 17, 18, 19})),
    # 3528-3589 today; the rest of 35xx (card-type libraries name it JCB) and the legacy
    # 15-digit 2131 / 1800 ranges are still printed.
    ("JCB", (("35", "35"),), frozenset({16, 17, 18, 19})),
    ("JCB", (("2131", "2131"), ("1800", "1800")), frozenset({15})),
    ("Visa", (("4", "4"),), frozenset({13, 16, 19})),
    ("Mastercard", (("51", "55"), ("2221", "2720")), frozenset({16})),
    (
        "Maestro",
        (
            ("5018", "5018"),
            ("5020", "5020"),
            ("5038", "5038"),
            ("56", "58"),
            ("6304", "6304"),
            ("6390", "6390"),
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
    if metadata is None or metadata.general_desc is None:  # fails at import, not on a request
        raise ValueError(f"phonenumbers has no metadata for region {region}")
    lengths = set(metadata.general_desc.possible_length)
    if metadata.national_prefix_for_parsing:
        lengths |= {n + extra for n in lengths for extra in (1, 2, 3)}
    return frozenset(lengths)


# Regions a national (no `+`) number is tried in, each with its writable digit counts: the
# count check skips the ~50 us libphonenumber parse-and-validate for regions that cannot match.
_PHONE_NATIONAL_REGIONS = tuple(
    (region, _national_lengths(region))
    for region in ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU", "PL", "AT", "CH", "BE")
)
# Where a number written nationally always starts with the trunk prefix `0` (`020 7946 0958`,
# `030 901820`): a digit run without it is an id or a count, not a phone number there.
_TRUNK_ZERO_REGIONS = frozenset({"GB", "DE", "FR", "NL", "AU", "AT", "CH", "BE"})
# Fewest digits a national number is written with in those regions (Berlin `030 901820`).
_MIN_NATIONAL_DIGITS = 9
_EXTENSION_MARKS = ("ext.", "ext", "x")
_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _known_country_code(digits: str) -> bool:
    return any(int(digits[:size]) in _COUNTRY_CODES for size in (1, 2, 3))


def phone_valid(candidate: str, international: bool) -> bool:
    """A valid number per libphonenumber: `+CC...` parsed as is, national forms in common regions.

    Cheap vetoes first (the country code must exist; a national
    number's digit count must fit the region), since libphonenumber costs ~25-50 us per call."""
    if len(candidate) > 32:
        return False
    number_part = candidate.lower()
    for mark in _EXTENSION_MARKS:  # `(802) 466-8380 x575`: the extension is no part of the count
        number_part = number_part.split(mark, 1)[0]
    digits = digits_only(number_part)
    if not 4 <= len(digits) <= 17:
        return False
    if international:
        regions: tuple[str | None, ...] = (None,) if _known_country_code(digits) else ()
    elif len(digits) < _MIN_NATIONAL_DIGITS:
        return False
    elif digits.startswith(("00", "011")):  # dialled from abroad (`0044 20 ...`): every region
        regions = tuple(region for region, _ in _PHONE_NATIONAL_REGIONS)
    else:
        regions = tuple(
            region
            for region, lengths in _PHONE_NATIONAL_REGIONS
            if len(digits) in lengths and (digits[0] == "0" or region not in _TRUNK_ZERO_REGIONS)
        )
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
