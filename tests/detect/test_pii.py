"""Unit tests for the PII field detector: spans, keyed-only values, context words, speed."""

from __future__ import annotations

import time

import orjson
import pytest

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.engine import PatternSet
from otel_apisec.detect.pii import DETECTOR
from otel_apisec.model import Body, HttpExchange
from otel_apisec.testing import make_exchange

ANALYZER = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"pii"})))
# Found in any text field.
VALUES = [
    "jane.doe@example.org",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "536-22-1234",
    "81.2.69.160",
    "2a00:1450:4001:81c::200e",
    "390.533.447-05",
]
# Keyed-only shapes (no literal a prefilter could look for): found after a context word.
CONTEXT_VALUES = [
    ("IBAN", "GB82 WEST 1234 5698 7654 32"),
    ("card", "4111111111111111"),
    ("card number", "4111-1111-1111-1111"),
    ("NINO", "AB123456C"),
    ("codice fiscale", "RSSMRA85T10A562S"),
    ("DNI", "12345678Z"),
    ("IP", "2a02:8108:1c0:5e00:a1b2:c3d4:e5f6:789a"),
]
# Forms of those values that are reported anywhere, context word or not.
ANYWHERE = {"GB82 WEST 1234 5698 7654 32", "4111111111111111", "4111-1111-1111-1111"}
CLEAN = {
    "id": 12345,
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "uuid_digits": "abcd5678-4111-1111-1111-123456789012",
    "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "created_at": "2024-05-01T12:00:00Z",
    "updated_ms": 1714567890123,
    "price": 12.5,
    "ratio": 0.4111111111111111,
    "version": "1.2.3",
    "etag": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
    "status": "shipped",
    "url": "https://cdn.example.com/img/7.png",
    "offset": "+02:00",
    "sku": "AB-1234-XY",
}


def _findings(exchange: HttpExchange) -> list:
    return ANALYZER.analyze(exchange).findings


class TestPiiDetector:
    @pytest.mark.parametrize("value", VALUES)
    def test_span_covers_value_and_message_hides_it(self, value: str) -> None:
        """The span slices exactly the value out of the field text, and no message contains it."""
        text = f"contact: {value}; thanks"
        found = _findings(make_exchange(response_json={"note": text}))
        assert found, value
        assert any(text[s:e] == value for f in found for s, e in f.spans)
        assert all(value not in f.message for f in found)

    @pytest.mark.parametrize(("word", "value"), CONTEXT_VALUES)
    def test_keyed_only_value_after_context_word(self, word: str, value: str) -> None:
        """A keyed-only shape counts right after its context word, with the span on the value only."""
        text = f"{word}: {value}; thanks"
        found = _findings(make_exchange(response_json={"note": text}))
        assert any(text[s:e] == value for f in found for s, e in f.spans), (word, value)
        without_context = _findings(make_exchange(response_json={"note": f"ref {value}; thanks"}))
        assert bool(without_context) == (value in ANYWHERE), (value, without_context)

    @pytest.mark.parametrize(("word", "value"), CONTEXT_VALUES)
    def test_keyed_only_value_under_its_key(self, word: str, value: str) -> None:
        """Under a key named like the context word the bare value is reported at the key's location."""
        key = word.lower().replace(" ", "_")
        found = _findings(make_exchange(response_json={key: value, "id": 7}))
        assert [f.location for f in found] == [f"response.body.$.{key}"], (key, value)

    def test_path_segment_offset(self) -> None:
        """Spans in the path are offsets into the whole decoded path, not the segment."""
        path = "/users/jane.doe@example.org/orders"
        (finding,) = _findings(make_exchange(f"https://api.example.com{path}"))
        ((start, end),) = finding.spans
        assert finding.location == "request.path" and path[start:end] == "jane.doe@example.org"

    def test_keyed_value_spans_index_the_value(self) -> None:
        """A keyed finding (number under `phone`) spans the value text at the value's location."""
        (finding,) = _findings(make_exchange(response_json={"mobile_phone": 4155552671}))
        assert finding.location == "response.body.$.mobile_phone" and finding.spans == ((0, 10),)

    def test_context_word_unlocks_national_number(self) -> None:
        """In free text a national number counts right after `Tel:`, not far from any phone word."""
        near = _findings(make_exchange(response_json={"note": "Tel: 020 7946 0958"}))
        far = _findings(make_exchange(response_json={"note": "tel" + " filler" * 20 + " 020 7946 0958"}))
        assert [f.kind for f in near] == ["pii.phone"] and far == []

    def test_phone_verdicts_are_memoized_under_a_keyed_hash(self) -> None:
        """A repeated phone number is validated once per Analyzer; the memo key never holds the number."""
        analyzer = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"pii"})))
        exchange = make_exchange(response_json={"a": "+44 20 7946 0958", "b": "+44 20 7946 0958"})
        assert len(analyzer.analyze(exchange).findings) == 2
        keys = list(analyzer._memo._data)
        assert len(keys) == 1 and "7946" not in keys[0] and keys[0].startswith("pii.phone.intl:")

    def test_forwarding_header_ip_is_not_reported(self) -> None:
        """X-Forwarded-For carries the client address by design; a custom header does not."""
        assert _findings(make_exchange(headers={"X-Forwarded-For": "81.2.69.160"})) == []
        assert _findings(make_exchange(headers={"X-User-Ip": "81.2.69.160"}))

    def test_clean_json_never_triggers(self) -> None:
        """Timestamps, UUIDs, prices, epoch millis, hashes and versions hit no PII trigger."""
        assert not PatternSet(DETECTOR.triggers).scan([orjson.dumps([CLEAN] * 50)])

    @pytest.mark.parametrize(
        "value", VALUES + ["Tel: 020 7946 0958"] + [f"{word}: {value}" for word, value in CONTEXT_VALUES]
    )
    def test_findings_imply_a_trigger_hit(self, value: str) -> None:
        """Invariant: text that yields a finding matches a trigger alone, joined, and as raw JSON."""
        patterns = PatternSet(DETECTOR.triggers)
        assert patterns.scan([value.encode()])
        assert patterns.scan([b"x", value.encode(), b"y"])
        assert patterns.scan([orjson.dumps({"note": value})])

    @pytest.mark.parametrize("unit", ["4111 ", "a@b.cd ", "+44 20 ", "phone 1 ", "1.2.3.", "dob 1 "])
    def test_pathological_text_is_fast(self, unit: str) -> None:
        """1 MB of repeated near-candidates finishes quickly (bounded candidates per field)."""
        body = Body((unit * ((1 << 20) // len(unit))).encode(), "text/plain")
        whole = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"pii"}), max_body_bytes=1 << 20))
        whole.analyze(HttpExchange())  # compiled before the clock starts
        started = time.perf_counter()
        whole.analyze(HttpExchange(method="POST", request_body=body))
        assert time.perf_counter() - started < 0.5
