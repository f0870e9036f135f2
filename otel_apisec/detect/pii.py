"""PII field detector (`pii`): emails, phones, cards, IBANs, SSNs, IPs, dates of birth, national IDs.

Presidio-style: an RE2 pattern proposes a candidate, a validator (check digit, issuer range,
calendar, libphonenumber) confirms or vetoes it. Values whose shape carries a literal the
prefilter can look for (`@` of an email, `+` of an international phone, the spaces of a grouped
card, the dashes of an SSN, the dots of an IPv4 or formatted CPF, `::` of an IPv6) are found in
any text field, and so are payment cards in every form (all major brands, 12-19 digits) and
IBANs printed or compact, in any case, which matter enough to pay for their automaton (the
compact-IBAN trigger costs ~1.4 ms/MB of benign JSON). Other shapes made only of character
classes (bare digit runs, UK NINO, Spanish DNI/NIE, codice fiscale, full-form IPv6) would cost the
prefilter a full automaton pass over every byte of every JSON body, and bare digits are far too common
(order numbers, ids, timestamps); so those are only reported under a telling key
(`"phone": 4155552671`, `"iban": ...`) or right after a context word in free text
(`Tel: 020 7946 0958`, `Telefon 030/901820`, `call (415) 555-2671 x204`). Keyed findings come from the key field (its `value`
is the text under the key) so that the trigger that matched the key name is the one that
justifies the finding.

Rules, OWASP category and severities are declared in `pii_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from otel_apisec.detect import validators as V
from otel_apisec.detect import validators_ids as N
from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.fields import Direction, Field, Source
from otel_apisec.detect.pii_shapes import MAX_CONTEXT_WORDS, Shape, compile_re2, find, subject, tokens_of
from otel_apisec.detect.rules import pii as R
from otel_apisec.model import Finding

__all__ = ["DETECTOR", "PiiDetector"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_DIGITS = "0123456789"
# How far after a context word ("phone:", "DOB") a keyed-only value may start in free text.
_CONTEXT_WINDOW = 40


def _simple(check: object, message: str) -> object:
    """A validator that only looks at the candidate."""

    def validate(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
        return message if check(candidate) else None  # type: ignore[operator]

    return validate


# `icon@2x.png` is a file name; service-account addresses name a machine, not a person.
_FILE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ico", "pdf"})
_MACHINE_DOMAINS = (".gserviceaccount.com",)


def _email(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
    local, _, domain = candidate.rpartition("@")
    if local.startswith(".") or local.endswith(".") or ".." in local or ".." in domain:
        return None
    labels = domain.split(".")
    if any(not label or label[0] == "-" or label[-1] == "-" for label in labels):
        return None
    if labels[-1].lower() in _FILE_TLDS or domain.lower().endswith(_MACHINE_DOMAINS):
        return None
    return "Email address"


def _card(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
    brand = V.card_brand(V.digits_only(candidate))
    return f"{brand} card number (Luhn valid)" if brand else None


def _ssn(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
    return "US Social Security number" if N.us_ssn_valid(V.digits_only(candidate)) else None


_VERSION_WORDS = frozenset({"version", "ver", "build", "release", "revision", "rev", "semver", "oid"})
# Forwarding headers carry the client address by design; the IP is infrastructure metadata there.
_FORWARDING_HEADERS = frozenset(
    {
        "x-forwarded-for",
        "x-real-ip",
        "forwarded",
        "true-client-ip",
        "cf-connecting-ip",
        "x-client-ip",
        "x-originating-ip",
        "x-cluster-client-ip",
        "fastly-client-ip",
    }
)


def _ip(candidate: str, field: Field, _ctx: DetectContext) -> str | None:
    name = field.name or ""
    if field.source is Source.HEADER and (name in _FORWARDING_HEADERS or name in ("user-agent", "host")):
        return None  # proxies' and the server's own addresses; `Chrome/122.0.0.0` product versions
    if _VERSION_WORDS.intersection(tokens_of(name)):
        return None
    return "Public IP address" if V.ip_is_personal(candidate) else None


def _phone(international: bool) -> object:
    """libphonenumber costs 25-200 us a candidate; the same number recurs across responses, so the
    verdict is memoized per Analyzer under a keyed hash of the candidate (never the number)."""
    kind = "pii.phone.intl:" if international else "pii.phone.national:"

    def validate(candidate: str, _field: Field, ctx: DetectContext) -> str | None:
        key = kind + ctx.pseudonym(candidate)
        valid = ctx.memo.get(key)
        if valid is None:
            valid = V.phone_valid(candidate, international)
            ctx.memo.put(key, valid)
        return "Phone number" if valid else None

    return validate


def _dob(candidate: str, _field: Field, ctx: DetectContext) -> str | None:
    parts = [p for p in candidate.replace("/", "-").replace(".", "-").split("-") if p]
    if len(parts) == 1 and len(parts[0]) == 8:
        digits = parts[0]
        orders = [(int(digits[:4]), int(digits[4:6]), int(digits[6:]))]
    elif len(parts) == 3 and len(parts[0]) == 4:
        orders = [(int(parts[0]), int(parts[1]), int(parts[2]))]
    elif len(parts) == 3 and len(parts[2]) == 4:  # day-first or month-first: either may be meant
        year = int(parts[2])
        orders = [(year, int(parts[1]), int(parts[0])), (year, int(parts[0]), int(parts[1]))]
    else:
        return None
    valid = any(V.date_of_birth_valid(y, m, d, ctx.now) for y, m, d in orders)
    return "Date of birth" if valid else None


def _shape(rule: object, pattern: str, validate: object, **options: object) -> Shape:
    return Shape(rule, compile_re2(pattern), validate, **options)  # type: ignore[arg-type]


# --- values with a distinctive shape, reported in any text field -------------------------------
# (CARD and IPV6 only in their literal-bearing forms, see _VALUE_TRIGGERS; any form when keyed.)
# Any character that cannot start the address is a left boundary, `/`, `:` and `.` included
# (`/users/alice@example.com/orders`, `email:alice@...`, `mailto:`, `...list.alice@...`); only `//`
# is not (URL user-info). A `-` after it ends it (`alice@example.com-old`): a longer domain would
# have matched whole.
EMAIL = _shape(
    R.EMAIL,
    r"(?:^|[^A-Za-z0-9_%+-])([A-Za-z0-9_%+-][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
    r"\.[A-Za-z]{2,24})",
    _email,
    tail=_ALNUM,
    not_after=("//",),
)
PHONE_INTL = _shape(
    R.PHONE, r"(?:^|[^0-9A-Za-z+])(\+[1-9][0-9 ().-]{5,22}[0-9])", _phone(True), tail=_DIGITS, shrink=True
)
CARD = _shape(
    R.CREDIT_CARD,
    r"(?:^|[^0-9.])((?:[2-6][0-9]{3}|1800)(?:[ -]?[0-9]{1,6}){2,5})",
    _card,
    tail=_DIGITS,
    tail_before_digit=".",
    shrink=True,
    not_after_grouped_digit=True,
)
SSN_DASHED = _shape(R.US_SSN, r"(?:^|[^0-9-])([0-9]{3}-[0-9]{2}-[0-9]{4})", _ssn, tail=_DIGITS + "-")
IPV4 = _shape(
    R.IP_ADDRESS,
    r"(?:^|[^0-9A-Za-z.])([0-9]{1,3}(?:\.[0-9]{1,3}){3})",
    _ip,
    tail=_DIGITS + _ALNUM,
    no_separated_digit=True,
)
IPV6 = _shape(
    R.IP_ADDRESS,
    r"(?:^|[^0-9A-Za-z:.])([0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{0,36}(?:(?:\.[0-9]{1,3}){3})?)",
    _ip,
    tail=_ALNUM + ":",
)
FR_NIR_SPACED = _shape(
    R.FR_NIR,
    r"(?:^|[^0-9])([12] [0-9]{2} [0-9]{2} (?:[0-9]{2}|2[AB]) [0-9]{3} [0-9]{3} [0-9]{2})",
    _simple(N.fr_nir_valid, "French NIR (key valid)"),
    tail=_DIGITS,
    no_separated_digit=True,
)
BR_CPF_DOTTED = _shape(
    R.BR_CPF,
    r"(?:^|[^0-9.])([0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2})",
    _simple(N.br_cpf_valid, "Brazilian CPF (check digits valid)"),
    tail=_DIGITS,
)
CA_SIN_GROUPED = _shape(
    R.CA_SIN,
    r"(?:^|[^0-9 -])([0-9]{3}[ -][0-9]{3}[ -][0-9]{3})",
    _simple(N.ca_sin_valid, "Canadian SIN (Luhn valid)"),
    tail=_DIGITS,
    no_separated_digit=True,
)

# --- keyed-only shapes: under a telling key or after a context word (printed IBANs: anywhere) ---
IBAN = _shape(
    R.IBAN,
    r"(?:^|[^A-Za-z0-9])([A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?)",
    _simple(N.iban_valid, "IBAN (mod-97 valid)"),
    tail=_ALNUM,
    shrink=True,
)
UK_NINO = _shape(
    R.UK_NINO,
    r"(?:^|[^A-Za-z0-9])([A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D])",
    _simple(N.uk_nino_valid, "UK National Insurance number"),
    tail=_ALNUM,
)
ES_DNI = _shape(
    R.ES_DNI,
    r"(?:^|[^A-Za-z0-9])([0-9]{8}-?[A-Z]|[XYZ]-?[0-9]{7}-?[A-Z])",
    _simple(N.es_dni_valid, "Spanish DNI/NIE (check letter valid)"),
    tail=_ALNUM,
)
IT_FISCAL = _shape(
    R.IT_FISCAL_CODE,
    r"(?:^|[^A-Za-z0-9])([A-Z]{6}[0-9LMNP-V]{2}[A-EHLMPR-T][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z])",
    _simple(N.it_fiscal_code_valid, "Italian codice fiscale (check char valid)"),
    tail=_ALNUM,
)
PHONE_NATIONAL = _shape(
    R.PHONE,
    r"(?:^|[^0-9A-Za-z+.])(\(?[0-9]{2,5}\)?(?:[ ./-]?[0-9]{1,5}){1,4}(?: ?(?:x|ext\.?) ?[0-9]{1,6})?)",
    _phone(False),
    tail=_ALNUM,
    no_separated_digit=True,
    not_after_grouped_digit=True,
)
SSN_ANY = _shape(
    R.US_SSN, r"(?:^|[^0-9])([0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{4})", _ssn, tail=_DIGITS, no_separated_digit=True
)
DOB = _shape(
    R.DATE_OF_BIRTH,
    r"(?:^|[^0-9])([0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}|[0-9]{8})",
    _dob,
    tail=_DIGITS,
)
NL_BSN = _shape(
    R.NL_BSN, r"(?:^|[^0-9])([0-9]{9})", _simple(N.nl_bsn_valid, "Dutch BSN (11-check valid)"), tail=_DIGITS
)
IN_AADHAAR = _shape(
    R.IN_AADHAAR,
    r"(?:^|[^0-9])([2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4})",
    _simple(N.in_aadhaar_valid, "Aadhaar number (Verhoeff valid)"),
    tail=_DIGITS,
    no_separated_digit=True,
)
BR_CPF_ANY = _shape(
    R.BR_CPF,
    r"(?:^|[^0-9])([0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2})",
    _simple(N.br_cpf_valid, "Brazilian CPF (check digits valid)"),
    tail=_DIGITS,
)
FR_NIR_ANY = _shape(
    R.FR_NIR,
    r"(?:^|[^0-9])([12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2})",
    _simple(N.fr_nir_valid, "French NIR (key valid)"),
    tail=_DIGITS,
    no_separated_digit=True,
)
CA_SIN_ANY = _shape(
    R.CA_SIN,
    r"(?:^|[^0-9])([0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3})",
    _simple(N.ca_sin_valid, "Canadian SIN (Luhn valid)"),
    tail=_DIGITS,
    no_separated_digit=True,
)
DE_TAX_ID = _shape(
    R.DE_TAX_ID,
    r"(?:^|[^0-9])([0-9]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{3})",
    _simple(lambda c: N.de_tax_id_valid(V.digits_only(c)), "German tax id (check digit valid)"),
    tail=_DIGITS,
    no_separated_digit=True,
)


@dataclass(frozen=True, slots=True)
class _Family:
    """Key names / context words (one trigger) and the keyed-only shapes they unlock."""

    words: str
    shapes: tuple[Shape, ...]

    @property
    def trigger(self) -> Trigger:
        return Trigger(self.words)


def _short(words: str, camel: str) -> str:
    """Short key words need a non-letter boundary (`tel` but not `hotel`); camelCase (`homeTel`) too."""
    return rf"(?i:(?:^|[^a-z])(?:{words})(?:$|[^a-z]))|[a-z](?:{camel})(?:$|[^a-z])"


def _token(words: str) -> str:
    """Two-letter words made of hex or common letters (`cf`, `cc`, `ip`, `ni`): lowercase only as a
    whole key or snake_case part (a UUID holds `-cf-`, English `pan`), uppercase as a whole word
    (`CF:`), Capitalized after a lowercase letter and ending the key (`clientIp`; base64 text is
    full of `xCc1`)."""
    lower = words.split("|")
    upper = "|".join(w.upper() for w in lower)
    camel = "|".join(w.capitalize() for w in lower)
    return (
        rf"(?:^|[\xff\x22_])(?:{words})(?:$|[\xff\x22_])"
        rf"|(?:^|[^A-Za-z0-9])(?:{upper})(?:$|[^A-Za-z0-9])|[a-z](?:{camel})(?:$|[^A-Za-z0-9])"
    )


# Shapes without a distinctive literal (NINO, DNI/NIE, codice fiscale, full-form IPv6, national
# phone numbers) are keyed-only: a character-class trigger for them costs the
# prefilter more than all the literal ones together on digit- and hex-rich JSON (dates, UUIDs).
# Under a naming key or after a context word (`"iban": ...`, `Card: 4111...`) they are found.
_FAMILIES: tuple[_Family, ...] = (
    _Family(
        r"(?i:phone|mobile|msisdn|telef|cellular|celular|whatsapp|erreichbar|joindre)|"
        + _short("tel|fax|cell|call|ring|sms|handy|m[oó]vil|portable|reach", "Tel|Fax|Cell|Call|Sms|Handy"),
        (PHONE_INTL, PHONE_NATIONAL),
    ),
    _Family(r"(?i:social.?security)|" + _short("ssn", "Ssn|SSN"), (SSN_ANY,)),
    _Family(r"(?i:birth)|" + _short("dob|bday", "Dob|DOB|Bday"), (DOB,)),
    _Family(r"(?i:burgerservice)|" + _short("bsn", "Bsn|BSN"), (NL_BSN,)),
    _Family(r"(?i:aadhaa?r|uidai)", (IN_AADHAAR,)),
    _Family(_short("cpf", "Cpf|CPF"), (BR_CPF_ANY,)),
    _Family(r"(?i:curit.{1,3}sociale)|" + _short("nir|insee", "Nir|NIR|Insee"), (FR_NIR_ANY,)),
    _Family(r"(?i:social.?insurance)|" + _short("sin", "Sin|SIN"), (CA_SIN_ANY,)),
    _Family(r"(?i:steuer.?id|tax.?id(?:$|[^a-z]))|" + _short("idnr", "Idnr|IdNr"), (DE_TAX_ID,)),
    _Family(r"(?i:card|credit|debit|visa|amex)|" + _token("pan|cc|ccn"), (CARD,)),
    _Family(
        r"(?i:iban|account.?n(?:umber|o)(?:$|[^a-z]))|(?:^|[\xff\x22_])account(?:$|[\xff\x22])"
        r"|[a-z]Account(?:$|[^a-z])",
        (IBAN,),
    ),
    _Family(r"(?i:national.?insurance|nino)|" + _token("ni"), (UK_NINO,)),
    _Family(_short("dni|nie|nif", "Dni|DNI|Nie|NIE|Nif|NIF"), (ES_DNI,)),
    _Family(r"(?i:fiscal|tax.?code)|" + _token("cf"), (IT_FISCAL,)),
    _Family(r"(?i:ipv[46]|ip.?addr|remote.?addr)|" + _token("ip"), (IPV6,)),
)

# Value triggers: each has a literal factor Hyperscan can search for (`@`, `+`, `::`, a space or
# `.` between digit groups) and none matches clean JSON (timestamps, UUIDs, prices, short ids).
# Dashed SSNs share `-dd-` with every ISO date, the one costly literal kept: the classic form.
_VALUE_TRIGGERS: tuple[tuple[Trigger, tuple[Shape, ...]], ...] = (
    (Trigger(r"@[A-Za-z0-9-]+\.[A-Za-z]{2}"), (EMAIL,)),
    # Two digits after the country code, maybe split by a separator: `+33 1 23 45 67 89` too.
    (Trigger(r"\+[1-9][0-9]{0,3}[ .(-]{0,2}[0-9][ .)-]{0,2}[0-9]"), (PHONE_INTL,)),
    (Trigger(r"[2-6][0-9]{3} [0-9]{4}(?:[0-9]{2})? [0-9]{2}"), (CARD,)),  # space-grouped (4-4-4-4, 4-6-5)
    # Cards are the PII that matters most (PCI DSS): contiguous and dashed forms are worth their
    # ~0.7 ms/MB of prefilter time anywhere, not only under a naming key.
    # Not inside a longer token: float fractions (0.4111111111111111), hex hashes and UUIDs
    # (`...2e41-4111-1111-1a2b...`) hold card-shaped digit runs. After `-` or `_` a run of 13
    # digits is no UUID group (12 at most): `order-4111111111111111` is a card.
    (Trigger(r"(?:^|[^.0-9A-Za-z])[2-6][0-9]{12}"), (CARD,)),
    (Trigger(r"(?:^|[^.0-9A-Za-z_-])[2-6][0-9]{3}-[0-9]{4}-[0-9]{4}-[0-9]"), (CARD,)),
    (Trigger(r"(?:^|[^.0-9A-Za-z_-])3[47][0-9]{2}-[0-9]{6}-[0-9]{5}"), (CARD,)),  # Amex, dashed 4-6-5
    # 12-digit Maestro and 15-digit legacy JCB (1800...) fall outside the 13-digit `[2-6]` run.
    (Trigger(r"(?:^|[^.0-9A-Za-z])(?:50[123][0-9]|5[6-8][0-9]{2}|6[37][0-9]{2})[ -]?[0-9]{4}[ -]?[0-9]{4}(?:$|[^0-9])"), (CARD,)),
    (Trigger(r"(?:^|[^.0-9A-Za-z])1800[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{3}(?:$|[^0-9])"), (CARD,)),
    (Trigger(r"[A-Za-z]{2}[0-9]{2} [A-Za-z0-9]{4} [A-Za-z0-9]{4} [A-Za-z0-9]"), (IBAN,)),  # printed IBAN
    # Compact IBAN, any case, as a whole token: two letters, two check digits, 11-30 more.
    (Trigger(r"(?:^|[^A-Za-z0-9])[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]{11,30}(?:$|[^A-Za-z0-9])"), (IBAN,)),
    (Trigger(r"[0-9]{3}-[0-9]{2}-[0-9]{4}(?:[^0-9-]|$)"), (SSN_DASHED,)),
    (Trigger(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"), (IPV4,)),
    (Trigger(r"[0-9A-Fa-f]{1,4}::"), (IPV6,)),  # compressed form; full form is keyed-only
    (Trigger(r"[12] [0-9]{2} [0-9]{2} [0-9AB]{2} [0-9]{3} [0-9]{3} [0-9]{2}"), (FR_NIR_SPACED,)),
    (Trigger(r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}"), (BR_CPF_DOTTED,)),
    (Trigger(r"[0-9]{3}[ -][0-9]{3}[ -][0-9]{3}"), (CA_SIN_GROUPED,)),
)
_FAMILY_WORDS = tuple(compile_re2(f.words) for f in _FAMILIES)


class PiiDetector:
    """Finds personal data in request and response fields; see the module docstring."""

    name = "pii"
    directions = frozenset(Direction)
    triggers: tuple[Trigger, ...] = tuple(t for t, _ in _VALUE_TRIGGERS) + tuple(f.trigger for f in _FAMILIES)

    def scan(self, field: Field, hits: frozenset[int], ctx: DetectContext) -> Iterable[Finding]:
        values = len(_VALUE_TRIGGERS)
        families = sorted(i - values for i in hits if i >= values)
        if field.is_key:
            yield from self._keyed(field, families, ctx)
            return
        data = subject(field.text)  # once per field, shared by every shape and context search
        for index in sorted(i for i in hits if i < values):
            for shape in _VALUE_TRIGGERS[index][1]:
                yield from (shape.finding(field, m) for m in find(shape, field.text, field, ctx, data=data))
        for index in families:
            yield from self._in_context(field, index, ctx, data)

    def _keyed(self, field: Field, families: list[int], ctx: DetectContext) -> Iterator[Finding]:
        """Key fields: the key names the data, so keyed-only shapes apply to the value under it."""
        if not field.value or not families:
            return
        target = Field(
            field.location, field.value, field.direction, field.source, name=field.text, offset=field.offset
        )
        data = subject(target.text)
        for index in families:
            for shape in _FAMILIES[index].shapes:
                yield from (shape.finding(target, m) for m in find(shape, target.text, target, ctx, data=data))

    def _in_context(self, field: Field, index: int, ctx: DetectContext, data: str | bytes) -> Iterator[Finding]:
        """Free text: keyed-only shapes count when they start shortly after a context word."""
        text = field.text
        for count, word in enumerate(_FAMILY_WORDS[index].finditer(data)):
            if count >= MAX_CONTEXT_WORDS:
                return
            window = (word.start(), word.end() + _CONTEXT_WINDOW)
            for shape in _FAMILIES[index].shapes:
                yield from (shape.finding(field, m) for m in find(shape, text, field, ctx, window, data))


DETECTOR = PiiDetector()
