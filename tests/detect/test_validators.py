"""Check-digit and structure validators (`validators`, `validators_ids`): one table per validator."""

from __future__ import annotations

import base64
import json

import pytest

from otel_apisec.detect import validators as V
from otel_apisec.detect import validators_ids as N

NOW = 1_714_564_800.0  # 2024-05-01


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


class TestCards:
    @pytest.mark.parametrize(
        ("digits", "brand"),
        [
            ("4111111111111111", "Visa"),
            ("4222222222222", "Visa"),
            ("5555555555554444", "Mastercard"),
            ("2223003122003222", "Mastercard"),
            ("378282246310005", "American Express"),
            ("6011111111111117", "Discover"),
            ("3530111333300000", "JCB"),
            ("30569309025904", "Diners Club"),
            ("6200000000000005", "UnionPay"),
            ("6759649826438453", "Maestro"),
            ("4111111111111112", None),  # fails Luhn
            ("9111111111111111", None),  # Luhn-valid, no issuer
            ("411111111111111", None),  # Visa prefix, wrong length
            ("37828224631000", None),  # Amex prefix, wrong length
        ],
    )
    def test_card_brand(self, digits: str, brand: str | None) -> None:
        """Luhn plus issuer prefix and length decide the brand, or reject."""
        assert V.card_brand(digits) == brand

    @pytest.mark.parametrize(
        ("digits", "valid"), [("79927398713", True), ("79927398710", False), ("0", False), ("12a4", False)]
    )
    def test_luhn(self, digits: str, valid: bool) -> None:
        """The mod-10 check accepts only digit strings with the right check digit."""
        assert V.luhn_valid(digits) is valid


class TestIban:
    @pytest.mark.parametrize(
        ("text", "valid"),
        [
            ("GB82 WEST 1234 5698 7654 32", True),
            ("DE89370400440532013000", True),
            ("NL91ABNA0417164300", True),
            ("NO9386011117947", True),
            ("GB83 WEST 1234 5698 7654 32", False),  # wrong check digits
            ("GB82 WEST 1234 5698 7654 3", False),  # wrong length for GB
            ("XX82WEST12345698765432", False),  # unknown country
        ],
    )
    def test_iban(self, text: str, valid: bool) -> None:
        """Known country, its length, and mod-97 == 1."""
        assert N.iban_valid(text) is valid


class TestUsSsn:
    @pytest.mark.parametrize(
        ("digits", "valid"),
        [
            ("536221234", True),
            ("000123456", False),
            ("666123456", False),
            ("912345678", False),
            ("536001234", False),
            ("536220000", False),
            ("078051120", False),
            ("123456789", False),
        ],
    )
    def test_ssn(self, digits: str, valid: bool) -> None:
        """Never-issued areas, groups, serials and famous sample numbers are rejected."""
        assert N.us_ssn_valid(digits) is valid


class TestNationalIds:
    @pytest.mark.parametrize(
        ("check", "text", "valid"),
        [
            (N.uk_nino_valid, "AB123456C", True),
            (N.uk_nino_valid, "GB123456C", False),  # excluded prefix
            (N.uk_nino_valid, "DA123456C", False),  # D never a first letter
            (N.uk_nino_valid, "AB123456E", False),  # suffix only A-D
            (N.es_dni_valid, "12345678Z", True),
            (N.es_dni_valid, "X1234567L", True),
            (N.es_dni_valid, "12345678A", False),
            (N.fr_nir_valid, "1 84 12 76 451 089 46", True),
            (N.fr_nir_valid, "1 84 12 76 451 089 47", False),
            (N.it_fiscal_code_valid, "RSSMRA85T10A562S", True),
            (N.it_fiscal_code_valid, "RSSMRA85T10A562T", False),
            (N.nl_bsn_valid, "111222333", True),
            (N.nl_bsn_valid, "111222334", False),
            (N.br_cpf_valid, "390.533.447-05", True),
            (N.br_cpf_valid, "390.533.447-06", False),
            (N.br_cpf_valid, "111.111.111-11", False),  # repeated digits
            (N.in_aadhaar_valid, "2345 6789 0124", True),
            (N.in_aadhaar_valid, "2345 6789 0125", False),  # Verhoeff
            (N.in_aadhaar_valid, "1345 6789 0124", False),  # never starts with 0/1
            (N.ca_sin_valid, "130 692 544", True),
            (N.ca_sin_valid, "130 692 545", False),
            (N.ca_sin_valid, "046 454 286", False),  # leading 0 not assigned
            (N.de_tax_id_valid, "86095742719", True),
            (N.de_tax_id_valid, "86095742710", False),
        ],
    )
    def test_national_id(self, check: object, text: str, valid: bool) -> None:
        """Each national identifier's check digit or allocation rule confirms or vetoes."""
        assert check(text) is valid


class TestIp:
    @pytest.mark.parametrize(
        ("text", "personal"),
        [
            ("81.2.69.160", True),
            ("2a00:1450:4001:81c::200e", True),
            ("10.0.0.12", False),
            ("127.0.0.1", False),
            ("192.168.1.1", False),
            ("203.0.113.7", False),
            ("::1", False),
            ("fe80::1", False),
            ("224.0.0.1", False),
            ("999.1.1.1", False),
            ("::ffff:81.2.69.160", True),
        ],
    )
    def test_ip(self, text: str, personal: bool) -> None:
        """Only valid, globally routable unicast addresses count as personal."""
        assert V.ip_is_personal(text) is personal


class TestPhone:
    @pytest.mark.parametrize(
        ("text", "international", "valid"),
        [
            ("+44 20 7946 0958", True, True),
            ("+1 (415) 555-2671", True, True),
            ("+1 000 000 0000", True, False),
            ("(415) 555-2671", False, True),
            ("020 7946 0958", False, True),
            ("12345", False, False),
        ],
    )
    def test_phone(self, text: str, international: bool, valid: bool) -> None:
        """libphonenumber decides, with `+CC` parsed as is and national forms tried in common regions."""
        assert V.phone_valid(text, international) is valid

    @pytest.mark.parametrize(
        "text", ["0044 20 7946 0958", "030 901820", "06 4881 7421", "0 21 11 98765 4321", "(11) 98765-4321"]
    )
    def test_digit_count_precheck_keeps_valid_national_forms(self, text: str) -> None:
        """The per-region digit-count veto never rejects a form libphonenumber accepts (IDD, carrier codes)."""
        assert V.phone_valid(text, False)

    def test_unknown_country_code_is_vetoed_before_parsing(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`+999...` names no country, so libphonenumber is not even called."""
        monkeypatch.setattr(V.phonenumbers, "parse", lambda *_: pytest.fail("parsed"))
        assert not V.phone_valid("+999 1234 5678", True)


class TestDateOfBirth:
    @pytest.mark.parametrize(
        ("ymd", "valid"),
        [((1990, 2, 1), True), ((1990, 2, 30), False), ((2030, 1, 1), False), ((1890, 1, 1), False)],
    )
    def test_dob(self, ymd: tuple[int, int, int], valid: bool) -> None:
        """A real calendar date between 120 years ago and today."""
        assert V.date_of_birth_valid(*ymd, NOW) is valid


class TestJwt:
    @pytest.mark.parametrize(
        ("token", "valid"),
        [
            (f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': '1'})}.sig", True),
            (f"{_b64({'alg': 'none'})}.{_b64({'sub': '1'})}.", True),
            (f"{_b64({'kid': 'x'})}.{_b64({'sub': '1'})}.sig", False),  # no alg/typ
            (f"{_b64({'alg': 'HS256'})}.bm90LWpzb24.sig", False),  # payload not JSON
            ("eyJhbGciOi.eyJzdWIi", False),  # two segments
        ],
    )
    def test_jwt(self, token: str, valid: bool) -> None:
        """Header and payload must be base64url JSON, the header naming alg or typ."""
        assert V.jwt_valid(token) is valid


class TestLooksRandom:
    @pytest.mark.parametrize(
        ("text", "valid"), [("aB3dE5fG7h", True), ("xxxxxxxxxxxx", False), ("abcabcabc", False)]
    )
    def test_looks_random(self, text: str, valid: bool) -> None:
        """Placeholders with few distinct characters are vetoed."""
        assert V.looks_random(text) is valid
