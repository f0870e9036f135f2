"""Free-text PII forms of issue 14: card brands and lengths, compact/lowercase IBANs, national
phone numbers after context words; and their cost on hostile text (time-bounded)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect import validators as V
from otel_apisec.detect import validators_ids as N
from otel_apisec.model import Body, HttpExchange
from otel_apisec.testing import make_exchange

ANALYZER = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"pii"})))
WHOLE = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"pii"}), max_body_bytes=1 << 20))


def _kinds(text: str) -> list[tuple[str, str]]:
    """(kind, matched text) of every finding in a JSON string value."""
    found = ANALYZER.analyze(make_exchange(response_json={"note": text})).findings
    return [(f.kind, text[s:e]) for f in found for s, e in f.spans]


class TestCardBrands:
    @pytest.mark.parametrize(
        ("number", "brand"),
        [
            ("4111111111111111110", "Visa"),
            ("4222222222222", "Visa"),
            ("2223003122003222", "Mastercard"),
            ("378282246310005", "American Express"),
            ("6011111111111117", "Discover"),
            ("3530111333300000", "JCB"),
            ("180000000000002", "JCB"),
            ("30569309025904", "Diners Club"),
            ("501800000009", "Maestro"),
            ("6759649826438453003", "Maestro"),
            ("6212345678901234569", "UnionPay"),
        ],
    )
    def test_brand_and_length(self, number: str, brand: str) -> None:
        """Every major brand at its lengths (12-19 digits) is named, and found in prose in every grouping."""
        assert V.card_brand(number) == brand
        grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        for form in (number, grouped, grouped.replace(" ", "-")):
            assert ("pii.credit_card", form) in _kinds(f"paid with {form}, thanks"), form

    def test_card_inside_longer_grouped_number_is_not_reported(self) -> None:
        """The card-shaped tail of a longer grouped run (a tracking number) is no card of its own."""
        assert _kinds("tracking 9400 5555 5555 5555 4444 00") == []


class TestIban:
    @pytest.mark.parametrize(
        "iban", ["NL91ABNA0417164300", "de89370400440532013000", "Fr7630006000011234567890189", "GB82WEST12345698765432"]
    )
    def test_compact_any_case_anywhere(self, iban: str) -> None:
        """Compact IBANs are found in prose in any case, no naming key needed, span on the IBAN only."""
        assert _kinds(f"wire to {iban} by Friday") == [("pii.iban", iban)]

    @pytest.mark.parametrize(
        "text", ["NL92ABNA0417164300", "AB12CDEF3456789012", "GB15ABCD12345678901234X", "de89370400440532013000x"]
    )
    def test_not_an_iban(self, text: str) -> None:
        """A wrong check, an unknown country, a wrong BBAN structure or a longer token: nothing."""
        assert _kinds(f"ref {text} shipped") == []

    def test_stdnum_structure_is_checked(self) -> None:
        """The BBAN structure comes from python-stdnum's registry (GB: 4 letters then 14 digits)."""
        assert N.iban_valid("gb82 west 1234 5698 7654 32") and not N.iban_valid("GB82 1234 1234 5698 7654 32")


class TestNationalPhone:
    @pytest.mark.parametrize(
        "text",
        [
            "Telefon 030 901820",
            "call (415) 555-2671 x204",
            "me joindre au 01 42 68 53 00",
            "Tel. 030/901820",
            "Handy: 0151 23456789",
            "whatsapp 06 12 34 56 78",
        ],
    )
    def test_after_context_word(self, text: str) -> None:
        """A national number right after a context word, in several languages and writings."""
        assert [k for k, _ in _kinds(text)] == ["pii.phone"], text

    @pytest.mark.parametrize(
        "text",
        [
            "phone model 1079460958",
            "phone case 24961.99 x 3",
            "call number 978-1-906018-97-9",
            "phone 742838a9-9225-4b39-9d22-87c40215a7f5",
            "ref 020 7946 0958 ok",
            "called it 3 times",
        ],
    )
    def test_not_a_phone(self, text: str) -> None:
        """No trunk 0 where one is required, prices, ISBNs, UUID pieces, no context word: nothing."""
        assert _kinds(text) == [], text


UNITS = [
    "4111111111111111 ",
    "1" * 40,
    "de89370400440532013000 ",
    "a1" * 20,
    "phone 0 ",
    "tel 030 901820 ",
    "GB82 WEST ",
    "1800 0000 ",
    "5018-",
    "(0",
    "call x1 ",
]


class TestHostile:
    @pytest.mark.parametrize("unit", UNITS)
    def test_megabyte_of_candidates_is_fast(self, unit: str) -> None:
        """1 MB of repeated near-candidates (long digit runs, many context words) stays time-bounded."""
        body = Body((unit * ((1 << 20) // len(unit))).encode(), "text/plain")
        WHOLE.analyze(HttpExchange())  # compiled before the clock starts
        started = time.perf_counter()
        WHOLE.analyze(HttpExchange(method="POST", request_body=body))
        assert time.perf_counter() - started < 1.0, unit

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(
            st.sampled_from(["4", "0", "1", " ", "-", ".", "/", "(", ")", "x", "de", "89", "tel ", "IBAN ", "+4"]),
            min_size=1,
            max_size=40,
        ),
        st.integers(min_value=1, max_value=3000),
    )
    def test_random_digit_soup_is_bounded(self, parts: list[str], repeat: int) -> None:
        """Any mix of digits, separators and context words, repeated up to ~100 kB: under 0.5 s."""
        text = ("".join(parts) * repeat)[:100_000]
        started = time.perf_counter()
        analysis = ANALYZER.analyze(make_exchange(response_json={"note": text}))
        assert time.perf_counter() - started < 0.5
        assert not [f for f in analysis.findings if not f.spans]
