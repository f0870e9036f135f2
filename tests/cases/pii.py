"""Regression cases for the PII rules (APISEC-PII-NNN). Values are synthetic but checksum-valid."""

from __future__ import annotations

from otel_apisec.testing import make_exchange
from tests.cases import Case

RESPONSE = "response.body.$."


def _resp(rule: str, fires: bool, description: str, body: dict[str, object], key: str | None = None) -> Case:
    """A case whose response JSON body holds the value; positives expect it at `$.<key>`."""
    location = RESPONSE + key if fires and key else None
    return Case(
        rule,
        fires,
        description,
        make_exchange("https://api.example.com/users/7", response_json=body),
        location,
    )


CASES: list[Case] = [
    # APISEC-PII-001 email
    _resp(
        "APISEC-PII-001", True, "email address in a user profile", {"email": "jane.doe@example.org"}, "email"
    ),
    Case(
        "APISEC-PII-001",
        True,
        "email address in a query parameter",
        make_exchange("https://api.example.com/search?q=jane.doe%40example.org"),
        "request.query.q",
    ),
    _resp("APISEC-PII-001", False, "retina asset name looks like an email", {"icon": "logo@2x.png"}),
    # APISEC-PII-002 phone
    _resp(
        "APISEC-PII-002", True, "international number anywhere", {"contact": "+44 20 7946 0958"}, "contact"
    ),
    _resp(
        "APISEC-PII-002",
        True,
        "national number under a phone key",
        {"homePhone": "(415) 555-2671"},
        "homePhone",
    ),
    _resp(
        "APISEC-PII-002", False, "national-looking number under an order key", {"order_no": "(415) 555-2671"}
    ),
    _resp("APISEC-PII-002", False, "invalid international number", {"contact": "+1 000 000 0000"}),
    # APISEC-PII-003 credit card
    _resp("APISEC-PII-003", True, "Visa test card with spaces", {"card": "4111 1111 1111 1111"}, "card"),
    _resp("APISEC-PII-003", True, "Mastercard 2-series as a JSON integer", {"pan": 2223003122003222}, "pan"),
    _resp("APISEC-PII-003", True, "Amex in 4-6-5 grouping", {"card": "3782 822463 10005"}, "card"),
    _resp("APISEC-PII-003", True, "contiguous card under a cardNumber key", {"cardNumber": "4111111111111111"}, "cardNumber"),
    _resp("APISEC-PII-003", True, "dashed card after a context word", {"note": "Card: 5555-5555-5555-4444"}, "note"),
    _resp("APISEC-PII-003", False, "16 digits failing Luhn", {"card": "4111 1111 1111 1112"}),
    _resp(
        "APISEC-PII-003", True, "contiguous card number under an unrelated key",
        {"tracking": "4111111111111111"}, "tracking",
    ),
    _resp("APISEC-PII-003", False, "Luhn-valid number outside issuer ranges", {"ref": "9111111111111111"}),
    _resp(
        "APISEC-PII-003",
        False,
        "UUID and float fraction",
        {"id": "12345678-4239-6323-3074-123456789012", "r": 0.4111111111111111},
    ),
    # APISEC-PII-004 IBAN
    _resp("APISEC-PII-004", True, "UK IBAN with spaces", {"iban": "GB82 WEST 1234 5698 7654 32"}, "iban"),
    _resp("APISEC-PII-004", True, "German IBAN compact", {"account": "DE89370400440532013000"}, "account"),
    _resp(
        "APISEC-PII-004", True, "IBAN after the word IBAN in free text",
        {"memo": "Pay to IBAN DE89 3704 0044 0532 0130 00"}, "memo",
    ),
    _resp("APISEC-PII-004", False, "IBAN with a wrong check digit", {"iban": "GB83 WEST 1234 5698 7654 32"}),
    _resp(
        "APISEC-PII-004", True, "printed IBAN in free text without a context word",
        {"memo": "transfer to GB82 WEST 1234 5698 7654 32 today"}, "memo",
    ),
    _resp(
        "APISEC-PII-004", True, "compact IBAN under an unrelated key (found anywhere now)",
        {"ref": "DE89370400440532013000"}, "ref",
    ),
    # APISEC-PII-005 US SSN
    _resp("APISEC-PII-005", True, "dashed SSN in free text", {"note": "SSN on file: 536-22-1234"}, "note"),
    _resp("APISEC-PII-005", True, "undashed SSN under an ssn key", {"ssn": "536221234"}, "ssn"),
    _resp("APISEC-PII-005", False, "area 000 is never issued", {"ssn": "000-12-3456"}),
    _resp("APISEC-PII-005", False, "the famous Woolworth wallet SSN", {"ssn": "078-05-1120"}),
    _resp("APISEC-PII-005", False, "undashed 9 digits without an ssn key", {"order_id": "536221234"}),
    # APISEC-PII-006 IP address
    _resp("APISEC-PII-006", True, "public IPv4 of a user", {"last_login_ip": "81.2.69.160"}, "last_login_ip"),
    _resp("APISEC-PII-006", True, "public IPv6 of a user", {"ip": "2a00:1450:4001:81c::200e"}, "ip"),
    _resp(
        "APISEC-PII-006", True, "full-form IPv6 under a clientIp key",
        {"clientIp": "2a02:8108:1c0:5e00:a1b2:c3d4:e5f6:789a"}, "clientIp",
    ),
    _resp("APISEC-PII-006", False, "private address", {"ip": "10.0.0.12"}),
    _resp("APISEC-PII-006", False, "four-part version string", {"version": "1.2.3.4"}),
    Case(
        "APISEC-PII-006",
        False,
        "browser version in a User-Agent looks like an address",
        make_exchange(
            "https://api.example.com/",
            headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/122.0.0.0 Safari/537.36"},
        ),
    ),
    # APISEC-PII-007 date of birth
    _resp("APISEC-PII-007", True, "ISO date under dob", {"dob": "1990-02-01"}, "dob"),
    _resp(
        "APISEC-PII-007",
        True,
        "day-first date under dateOfBirth",
        {"dateOfBirth": "24/12/1985"},
        "dateOfBirth",
    ),
    _resp(
        "APISEC-PII-007", False, "a date under created_at is not a birth date", {"created_at": "1990-02-01"}
    ),
    _resp("APISEC-PII-007", False, "impossible calendar date under dob", {"dob": "1990-02-30"}),
    # APISEC-PII-008 UK NINO
    _resp("APISEC-PII-008", True, "National Insurance number", {"nino": "AB 12 34 56 C"}, "nino"),
    _resp("APISEC-PII-008", False, "NINO with a never-allocated prefix", {"nino": "GB123456C"}),
    # APISEC-PII-009 ES DNI/NIE
    _resp("APISEC-PII-009", True, "DNI with the right check letter", {"dni": "12345678Z"}, "dni"),
    _resp("APISEC-PII-009", True, "NIE with the right check letter", {"nie": "X1234567L"}, "nie"),
    _resp("APISEC-PII-009", False, "DNI with a wrong check letter", {"dni": "12345678A"}),
    # APISEC-PII-010 FR NIR
    _resp("APISEC-PII-010", True, "spaced NIR anywhere", {"note": "NIR 1 84 12 76 451 089 46"}, "note"),
    _resp("APISEC-PII-010", True, "compact NIR under a nir key", {"nir": "184127645108946"}, "nir"),
    _resp("APISEC-PII-010", False, "compact 15 digits without a key", {"tracking": "184127645108946"}),
    _resp("APISEC-PII-010", False, "NIR with a wrong key", {"nir": "1 84 12 76 451 089 47"}),
    # APISEC-PII-011 IT codice fiscale
    _resp("APISEC-PII-011", True, "codice fiscale", {"cf": "RSSMRA85T10A562S"}, "cf"),
    _resp("APISEC-PII-011", False, "codice fiscale with a wrong check char", {"cf": "RSSMRA85T10A562T"}),
    # APISEC-PII-012 NL BSN (keyed only)
    _resp("APISEC-PII-012", True, "BSN under a bsn key", {"bsn": "111222333"}, "bsn"),
    _resp("APISEC-PII-012", False, "11-proof 9 digits without a key", {"ref": "111222333"}),
    _resp("APISEC-PII-012", False, "BSN key with a failing 11-proof", {"bsn": "111222334"}),
    # APISEC-PII-013 BR CPF
    _resp("APISEC-PII-013", True, "formatted CPF anywhere", {"doc": "390.533.447-05"}, "doc"),
    _resp("APISEC-PII-013", True, "bare CPF under a cpf key", {"cpf": "39053344705"}, "cpf"),
    _resp("APISEC-PII-013", False, "formatted CPF with wrong check digits", {"doc": "390.533.447-06"}),
    # APISEC-PII-014 IN Aadhaar (keyed / context only)
    _resp("APISEC-PII-014", True, "Aadhaar under an aadhaar key", {"aadhaar": "2345 6789 0124"}, "aadhaar"),
    _resp(
        "APISEC-PII-014", False, "Aadhaar key with a failing Verhoeff digit", {"aadhaar": "2345 6789 0125"}
    ),
    # APISEC-PII-015 CA SIN
    _resp("APISEC-PII-015", True, "grouped SIN anywhere", {"note": "SIN 130 692 544"}, "note"),
    _resp("APISEC-PII-015", False, "grouped 9 digits failing Luhn", {"note": "130 692 545"}),
    _resp("APISEC-PII-015", False, "US phone number is not a SIN", {"note": "call 415-555-2671"}),
    # APISEC-PII-016 DE tax id (keyed only)
    _resp(
        "APISEC-PII-016", True, "Steuer-ID under a steuer_id key", {"steuer_id": "86095742719"}, "steuer_id"
    ),
    _resp("APISEC-PII-016", False, "11 digits without a key", {"barcode": "86095742719"}),
    _resp("APISEC-PII-016", False, "Steuer-ID key with a wrong check digit", {"steuer_id": "86095742710"}),
]

CASES += [
    Case(
        "APISEC-PII-006",
        False,
        "the server's own public address in the Host header",
        make_exchange("http://81.2.69.160:8080/health", headers={"Host": "81.2.69.160:8080"}),
    ),
]

# Free-text forms (issue 14): every card brand and length, compact and lowercase IBANs anywhere,
# national phone numbers after a context word in several languages.
_NOTE = "note"
CASES += [
    _resp("APISEC-PII-003", True, "19-digit Visa in prose", {_NOTE: "charge 4111111111111111110 today"}, _NOTE),
    _resp("APISEC-PII-003", True, "13-digit Visa grouped 4-4-4-1", {_NOTE: "card 4222 2222 2222 2 ok"}, _NOTE),
    _resp("APISEC-PII-003", True, "JCB 16 dashed", {_NOTE: "paid with 3530-1113-3330-0000"}, _NOTE),
    _resp("APISEC-PII-003", True, "legacy 15-digit JCB (1800)", {_NOTE: "refund 180000000000002 please"}, _NOTE),
    _resp("APISEC-PII-003", True, "12-digit Maestro", {_NOTE: "Maestro 501800000009 on file"}, _NOTE),
    _resp("APISEC-PII-003", True, "Maestro 6759 19 digits", {_NOTE: "use 6759649826438453003 now"}, _NOTE),
    _resp("APISEC-PII-003", True, "Diners 14 digits", {_NOTE: "paid by 30569309025904."}, _NOTE),
    _resp("APISEC-PII-003", True, "Discover in prose", {_NOTE: "it was 6011 1111 1111 1117 I think"}, _NOTE),
    _resp("APISEC-PII-003", True, "UnionPay 19 digits", {_NOTE: "银联卡 6212345678901234569 已绑定"}, _NOTE),
    _resp("APISEC-PII-003", False, "12 Luhn-valid digits outside Maestro ranges", {_NOTE: "order 400000000006 shipped"}),
    _resp(
        "APISEC-PII-003", False, "card-shaped tail of a longer grouped number",
        {_NOTE: "tracking 9400 5555 5555 5555 4444 00"},
    ),
    _resp("APISEC-PII-003", False, "JCB-prefixed digits failing Luhn", {_NOTE: "ref 3530111333300001"}),
    _resp("APISEC-PII-004", True, "compact IBAN in prose", {_NOTE: "wire to NL91ABNA0417164300 by Friday"}, _NOTE),
    _resp("APISEC-PII-004", True, "lowercase compact IBAN", {_NOTE: "überweisen auf de89370400440532013000"}, _NOTE),
    _resp("APISEC-PII-004", True, "lowercase spaced IBAN", {_NOTE: "iban fr76 3000 6000 0112 3456 7890 189"}, _NOTE),
    _resp("APISEC-PII-004", False, "compact IBAN with a wrong check", {_NOTE: "wire to NL92ABNA0417164300"}),
    _resp("APISEC-PII-004", False, "IBAN-shaped order reference", {_NOTE: "order AB12CDEF3456789012 shipped"}),
    _resp(
        "APISEC-PII-004", False, "valid mod-97 but wrong BBAN structure for the country",
        {_NOTE: "ref GB15ABCD12345678901234X"},
    ),
    _resp("APISEC-PII-002", True, "German national number after Telefon", {_NOTE: "Telefon 030 901820"}, _NOTE),
    _resp("APISEC-PII-002", True, "US number with extension after call", {_NOTE: "call (415) 555-2671 x204"}, _NOTE),
    _resp("APISEC-PII-002", True, "French number after joindre", {_NOTE: "me joindre au 01 42 68 53 00"}, _NOTE),
    _resp("APISEC-PII-002", True, "German slash form after Tel.", {_NOTE: "Tel. 030/901820"}, _NOTE),
    _resp("APISEC-PII-002", False, "digits after a phone word without the trunk 0", {_NOTE: "phone model 1079460958"}),
    _resp("APISEC-PII-002", False, "price after a phone word", {_NOTE: "phone case 24961.99 x 3"}),
    _resp("APISEC-PII-002", False, "ISBN after call", {_NOTE: "call number 978-1-906018-97-9"}),
    _resp("APISEC-PII-002", False, "national number without a context word", {_NOTE: "ref 020 7946 0958 ok"}),
]
