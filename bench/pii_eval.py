"""PII recall and precision in free text: payment cards, IBANs and phone numbers, per type.

A seeded development set made with Faker's providers across locales: each sample is one sentence
of prose (a JSON string value in a response body) that holds one planted value or a hard negative
(order numbers, timestamps, versions, UUIDs, tracking numbers, hashes, IBAN-shaped references,
cards and IBANs with a broken check digit). Every sample goes through the real Analyzer with only
the `pii` detector on. A finding of kind `pii.<type>` whose span overlaps a planted value of that
type is a true positive; any other finding of that kind is a false positive; a planted value no
finding of its kind overlaps is a false negative.

Phone numbers: Faker writes random digits, many of them numbers no carrier could hold (US area
code 0xx, say). The truth set keeps the Faker numbers libphonenumber calls valid in the locale's
region, and the count left out is printed. Recall is also printed apart for prose with a context
word (`Tel.`, `call`, `Telefon`) and without one: a national number without one is not looked for.

    .venv/bin/python bench/pii_eval.py [--per-type 600] [--negatives 3000] [--seed 0] [--show 5]
"""

from __future__ import annotations

import argparse
import random
import string
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker
from rich.console import Console
from rich.table import Table

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.validators import luhn_valid
from otel_apisec.testing import make_exchange

TYPES = ("credit_card", "iban", "phone")
# Faker locale -> libphonenumber region of its phone numbers.
LOCALES = {
    "en_US": "US",
    "en_GB": "GB",
    "de_DE": "DE",
    "fr_FR": "FR",
    "es_ES": "ES",
    "it_IT": "IT",
    "nl_NL": "NL",
    "pt_BR": "BR",
    "en_IN": "IN",
    "en_AU": "AU",
    "pl_PL": "PL",
    "de_AT": "AT",
}
IBAN_LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "de_AT", "de_CH", "nl_BE")
CARD_BRANDS = (
    "visa13",
    "visa16",
    "visa19",
    "mastercard",
    "amex",
    "discover",
    "diners",
    "jcb15",
    "jcb16",
    "maestro",
)

CARD_PROSE = [
    ("Please charge {v} for the renewal.", False),
    ("Paid with card {v}, exp 09/27.", True),
    ("my credit card number is {v} thanks", True),
    ("Customer read out {v} over the phone", False),
    ("Kartennummer: {v}", True),
    ("refund to {v} (the old one was stolen)", False),
]
IBAN_PROSE = [
    ("Bitte überweisen Sie auf {v} bis Freitag.", False),
    ("IBAN: {v}", True),
    ("wire it to {v} please", False),
    ("Virement sur le compte {v} reçu.", False),
    ("account {v} was debited twice", True),
    ("new bank details {v}; old ones are closed", False),
]
PHONE_PROSE = [
    ("Call me on {v} after 5pm.", True),
    ("Tel. {v}", True),
    ("Mobile: {v}", True),
    ("Telefon {v} (nur vormittags)", True),
    ("Vous pouvez me joindre au {v} demain.", False),
    ("reach the driver at {v} when you arrive", False),
    ("Teléfono de contacto {v}", True),
    ("my number is {v}, text me", False),
]
NEGATIVE_PROSE = [
    "Order {v} has shipped.",
    "ref {v}",
    "see build {v} for details",
    "Tracking number {v} (estimated delivery Friday)",
    "request id {v} failed at step 3",
    "Invoice {v} is due in 30 days",
    "Called the API {v} times today",
    "phone case model {v} is out of stock",
]


@dataclass(frozen=True, slots=True)
class Sample:
    text: str
    kind: str  # a TYPES entry, or "negative:<what>"
    span: tuple[int, int]
    context: bool


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    def row(self) -> tuple[str, str, str]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return f"{p:.3f}", f"{r:.3f}", f"{f1:.3f}"


def _place(template: str, value: str, kind: str, context: bool) -> Sample:
    start = template.index("{v}")
    return Sample(template.replace("{v}", value), kind, (start, start + len(value)), context)


def _group(value: str, rng: random.Random) -> str:
    """The ways people write a card or IBAN: compact, in fours (space, dash), lowercase IBANs."""
    style = rng.random()
    if style < 0.45:
        return value
    sep = " " if style < 0.8 else "-"
    if value[:2].isalpha() and sep == "-":
        sep = " "  # IBANs are printed with spaces only
    if value[:2] in ("34", "37") and len(value) == 15:
        return sep.join((value[:4], value[4:10], value[10:]))  # Amex 4-6-5
    return sep.join(value[i : i + 4] for i in range(0, len(value), 4))


def unionpay(rng: random.Random) -> str:
    """Faker has no UnionPay provider: a 62-prefixed 16-19 digit Luhn-valid number."""
    length = rng.choice((16, 17, 18, 19))
    body = "62" + "".join(rng.choice(string.digits) for _ in range(length - 3))
    return next(body + d for d in string.digits if luhn_valid(body + d))


def positives(per_type: int, rng: random.Random, fakers: dict[str, Faker]) -> tuple[list[Sample], int]:
    samples: list[Sample] = []
    brands = (*CARD_BRANDS, "unionpay")
    for i in range(per_type):
        brand = brands[i % len(brands)]
        number = unionpay(rng) if brand == "unionpay" else fakers["en_US"].credit_card_number(brand)
        template, context = rng.choice(CARD_PROSE)
        samples.append(_place(template, _group(number, rng), "credit_card", context))
    for i in range(per_type):
        iban = fakers[IBAN_LOCALES[i % len(IBAN_LOCALES)]].iban()
        printed = _group(iban, rng)
        if rng.random() < 0.25:
            printed = printed.lower()
        template, context = rng.choice(IBAN_PROSE)
        samples.append(_place(template, printed, "iban", context))
    invalid = 0
    locales = list(LOCALES)
    made = 0
    while made < per_type:
        locale = locales[made % len(locales)]
        number = fakers[locale].phone_number()
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(number, LOCALES[locale]))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            invalid += 1
            if invalid > 50 * per_type:
                break
            continue
        template, context = rng.choice(PHONE_PROSE)
        samples.append(_place(template, number, "phone", context))
        made += 1
    return samples, invalid


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def _broken_luhn(number: str) -> str:
    last = int(number[-1])
    return number[:-1] + str((last + rng_fixed.randint(1, 9)) % 10)


rng_fixed = random.Random(99)


def _fours(digits: str) -> str:
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def negatives(count: int, rng: random.Random, fake: Faker) -> list[Sample]:
    upper = string.ascii_uppercase
    alnum = string.ascii_uppercase + string.digits
    makers = {
        "order_number": lambda: rng.choice(("", "#", "ORD-", "SO")) + _digits(rng, rng.randint(6, 19)),
        "epoch_ms": lambda: str(rng.randint(1_500_000_000_000, 1_900_000_000_000)),
        "epoch_us": lambda: str(rng.randint(1_500_000_000_000_000, 1_900_000_000_000_000)),
        "epoch_ns": lambda: str(rng.randint(1_500_000_000_000_000_000, 1_900_000_000_000_000_000)),
        "iso_timestamp": lambda: fake.iso8601() + rng.choice(("", "Z", "+02:00", ".123456Z")),
        "compact_timestamp": lambda: fake.date_time().strftime("%Y%m%d%H%M%S"),
        "version": lambda: ".".join(str(rng.randint(0, 20000)) for _ in range(rng.randint(2, 4))),
        "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "ups_tracking": lambda: "1Z" + "".join(rng.choice(alnum) for _ in range(16)),
        "fedex_tracking": lambda: _digits(rng, rng.choice((12, 15, 20))),
        "usps_tracking": lambda: _fours("94" + _digits(rng, 20)),
        "ean13": fake.ean13,
        "isbn13": fake.isbn13,
        "md5": lambda: fake.md5(),
        "iban_shaped_ref": lambda: (
            "".join(rng.choice(upper) for _ in range(2))
            + _digits(rng, 2)
            + "".join(rng.choice(alnum) for _ in range(rng.randint(12, 26)))
        ),
        "card_bad_luhn": lambda: _broken_luhn(fake.credit_card_number()),
        "iban_bad_check": lambda: (lambda s: s[:2] + f"{(int(s[2:4]) + 1) % 100:02d}" + s[4:])(fake.iban()),
        "price_qty": lambda: f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d} x {rng.randint(1, 500)}",
        "date_range": lambda: f"{fake.date()} - {fake.date()}",
        "grouped_digits": lambda: " ".join(_digits(rng, 4) for _ in range(rng.randint(3, 5))),
    }
    names = list(makers)
    samples = []
    for i in range(count):
        name = names[i % len(names)]
        value = makers[name]()
        samples.append(_place(rng.choice(NEGATIVE_PROSE), value, "negative:" + name, False))
    return samples


def evaluate(samples: list[Sample], show: int) -> tuple[dict[str, Score], Counter[str], Counter[str], dict[str, list[int]]]:
    analyzer = Analyzer(DetectConfig(hmac_key=b"pii-eval", enabled=frozenset({"pii"})))
    scores = {t: Score() for t in TYPES}
    other: Counter[str] = Counter()  # kinds outside TYPES that fired, by kind
    fp_sources: Counter[str] = Counter()  # what the false positives of TYPES were planted as
    by_context: dict[str, list[int]] = {}  # "phone ctx" -> [found, planted]
    for sample in samples:
        analysis = analyzer.analyze(make_exchange(response_json={"note": sample.text}))
        if analysis.failed:
            raise SystemExit(f"detector failure: {analysis.failed}")
        hit = False
        for finding in analysis.findings:
            kind = finding.kind.removeprefix("pii.")
            if kind not in scores:
                other[kind] += 1
                continue
            overlaps = any(s < sample.span[1] and sample.span[0] < e for s, e in finding.spans)
            if kind == sample.kind and overlaps:
                hit = True
            else:
                scores[kind].fp += 1
                fp_sources[f"{kind} <- {sample.kind}"] += 1
                if len(scores[kind].false_alarms) < show:
                    scores[kind].false_alarms.append(sample.text)
        if sample.kind in scores:
            score = scores[sample.kind]
            score.tp += hit
            score.fn += not hit
            if not hit and len(score.misses) < show:
                score.misses.append(sample.text)
            bucket = by_context.setdefault(f"{sample.kind} {'with' if sample.context else 'without'} context word", [0, 0])
            bucket[0] += hit
            bucket[1] += 1
    return scores, other, fp_sources, by_context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=600, help="planted values per PII type")
    parser.add_argument("--negatives", type=int, default=3000, help="hard-negative samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=0, help="print up to N misses and false alarms per type")
    args = parser.parse_args(argv)

    Faker.seed(args.seed)
    rng = random.Random(args.seed)
    fakers = {locale: Faker(locale) for locale in sorted({*LOCALES, *IBAN_LOCALES})}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(args.seed * 1000 + i)
    samples, invalid_phones = positives(args.per_type, rng, fakers)
    samples += negatives(args.negatives, rng, fakers["en_US"])
    rng.shuffle(samples)

    started = time.perf_counter()
    scores, other, fp_sources, by_context = evaluate(samples, args.show)
    elapsed = time.perf_counter() - started

    table = Table(title=f"PII in free text: {len(samples)} samples (seed {args.seed})")
    for column in ("type", "planted", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for kind, s in scores.items():
        table.add_row(kind, str(s.tp + s.fn), str(s.tp), str(s.fp), str(s.fn), *s.row())
    console = Console()
    console.print(table)
    for bucket, (found, planted) in sorted(by_context.items()):
        console.print(f"  recall {bucket}: {found}/{planted} = {found / planted:.3f}")
    console.print(
        f"phone truth set: Faker numbers libphonenumber calls valid in their region; {invalid_phones} invalid ones left out"
    )
    console.print(f"hard negatives: {args.negatives}; other PII kinds fired: {dict(other) or 'none'}")
    if fp_sources:
        console.print(f"false positives by source: {dict(fp_sources.most_common())}")
    console.print(f"{elapsed / len(samples) * 1e6:.0f} us per sample")
    for kind, s in scores.items():
        for text in s.misses:
            console.print(f"  miss {kind}: {text!r}", markup=False)
        for text in s.false_alarms:
            console.print(f"  FP {kind}: {text!r}", markup=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
