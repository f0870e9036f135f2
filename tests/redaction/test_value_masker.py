"""The shared masking rules (`redaction.rules`) and the windowed masker (`redaction.text`) that the
gateway's redact processor and the in-process log exporter both use, and the detectors' entry
point for plain text (`Analyzer.scan_texts`)."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence

import pytest

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.api import TextScan
from otel_apisec.gateway.processors.redact.processor import build_value_analyzer
from otel_apisec.redaction import ValueMasker, mask_credentials, mask_sensitive_pairs, percent_decoded

EMAIL = "alice.planted@example.com"


@pytest.fixture(scope="module")
def masker() -> ValueMasker:
    return ValueMasker(build_value_analyzer(), window=1000, overlap=100)


class TestValueMasker:
    def test_a_value_straddling_a_window_edge_lies_whole_in_the_next(self, masker: ValueMasker) -> None:
        for start in range(880, 1000, 7):
            text = "x" * start + f" {EMAIL} " + "y" * 1500
            assert masker.mask([text]) == [text.replace(EMAIL, A.REDACTED)]

    def test_percent_encoded_values_are_masked_in_their_raw_form(self, masker: ValueMasker) -> None:
        text = "/search?contact=alice.planted%40example.com&card=4539%205787%206362%201486&n=1"
        assert masker.mask([text]) == ["/search?contact=***&card=***&n=1"]

    def test_an_incomplete_analysis_masks_its_texts_whole(self) -> None:
        """Fails closed: a detector that raised leaves no text half-scanned, and none is cached clean."""
        class Broken(Analyzer):
            def scan_texts(self, texts: Sequence[str]) -> TextScan:
                return TextScan(failed=["pii"])

        masker = ValueMasker(Broken(DetectConfig(enabled=frozenset({"pii"}))))
        assert masker.mask(["nothing here", "nor here", ""]) == [A.REDACTED, A.REDACTED, ""]
        assert masker.clean == {}

    def test_cost_is_linear_in_the_text(self, masker: ValueMasker) -> None:
        def cost(size: int) -> float:
            text = ("order 42 shipped to the usual address; " * (size // 40 + 1))[:size]
            started = time.perf_counter()
            masker.mask([text])
            return time.perf_counter() - started

        small, large = min(cost(200_000) for _ in range(3)), min(cost(1_600_000) for _ in range(3))
        assert large < small * 8 * 2.5  # 8x the text, well under 20x the time


class TestScanTexts:
    """`Analyzer.scan_texts`: the field detectors over plain texts, each finding by its text's index."""

    def test_each_finding_names_its_own_text(self) -> None:
        """Two texts with a value at the same offset each get their own span (no merging by location)."""
        scan = build_value_analyzer().scan_texts([f"to {EMAIL}", "nothing", f"cc {EMAIL}"])
        assert scan.complete
        assert sorted(scan.spans) == [(0, ((3, 3 + len(EMAIL)),)), (2, ((3, 3 + len(EMAIL)),))]

    def test_a_plain_text_is_not_a_query_value(self) -> None:
        """A JWT in free text is a secret like any other (a query value's JWT is left to the token detector)."""
        token = ".".join([_b64url(b'{"alg":"HS256","typ":"JWT"}'), _b64url(b'{"sub":"u-4711","n":1}'), "c2lnbmF0dXJl"])
        scan = build_value_analyzer().scan_texts([f"upstream said {token} ok"])
        assert scan.spans == [(0, ((14, 14 + len(token)),))]

    def test_a_candidate_bound_marks_the_scan_incomplete(self) -> None:
        """Past 128 look-alikes of one shape the scan is incomplete, so the masker fails closed."""
        scan = build_value_analyzer().scan_texts([" ".join(["a@b.cd"] * 400) + f" {EMAIL}"])
        assert not scan.complete

    def test_no_texts_no_work(self) -> None:
        assert build_value_analyzer().scan_texts([]) == TextScan()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JWT = ".".join([_b64url(b'{"alg":"HS256"}'), _b64url(b'{"sub":"u-4711"}'), _b64url(b"signature-bytes-0123")])
BASIC = base64.b64encode(b"planted.user:Pa55word!").decode()


class TestMaskCredentials:
    @pytest.mark.parametrize(("text", "expected"), [
        (f"jwt={JWT}", "jwt=***"),
        (f"token {JWT} then", "token *** then"),
        (f'{{"id_token":"{JWT}","n":1}}', '{"id_token":"***","n":1}'),
        (f"Authorization: Basic {BASIC}", "Authorization: Basic ***"),
        (f"auth=Basic%20{BASIC.replace('=', '%3D')}&x=1", "auth=Basic%20***&x=1"),
        ("Basic plan for you", "Basic plan for you"),
        ("login password=hunter2 ok", "login password=*** ok"),
        ('password="two words" x=1', 'password="***" x=1'),
        ('msg="login password=hunter2"', 'msg="login password=***"'),
        ("q=token%3Dabc123&page=2", "q=token%3D***&page=2"),
        ('{"password": "hun\\"ter", "user": "bob"}', '{"password": "***", "user": "bob"}'),
        ('log: {\\"api_key\\":\\"s3cret\\"}', 'log: {\\"api_key\\":\\"***\\"}'),
        ("{'token': 'abc', 'q': 1}", "{'token': '***', 'q': 1}"),
        ('{"pin": 1234, "a": 2}', '{"pin": ***, "a": 2}'),
        ('"credentials": {"password": "x"}', '"credentials": {"password": "***"}'),
        ('time 12:30 "a":"b" monkey=k3', 'time 12:30 "a":"b" monkey=k3'),
    ])  # fmt: skip
    def test_embedded_credentials(self, text: str, expected: str) -> None:
        assert mask_credentials(text) == expected

    def test_pairs_keep_their_contract(self) -> None:
        assert mask_sensitive_pairs("a=1&token=abc;x=y") == f"a=1&token={A.REDACTED};x=y"
        assert mask_sensitive_pairs("=x==password=") == "=x==password="
        assert mask_sensitive_pairs("password=" * 50_000) == f"password={A.REDACTED}"

    @pytest.mark.parametrize("unit", ['"a":', "a=", "password=", '"password": "', "eyJhbGciOi.", "Basic ", "%41", "x+y=",
                                      ":    "])
    def test_pathological_text_is_linear(self, unit: str) -> None:
        """Repeated near-matches: time grows with the text, not with its square."""
        def cost(count: int) -> float:
            text = unit * count
            started = time.perf_counter()
            mask_credentials(text)
            return time.perf_counter() - started

        small, large = min(cost(20_000) for _ in range(3)), min(cost(160_000) for _ in range(3))
        # 8 times the text: linear is 8x, quadratic 64x; 28x leaves room for cache effects and a loaded machine.
        assert large < max(small, 1e-3) * 8 * 3.5

    def test_percent_decoding_maps_back_to_the_raw_text(self) -> None:
        decoded, marks = percent_decoded("a%40b%ZZ%2x%41") or ("", [])
        assert decoded == "a@b%ZZ%2xA" and marks == [1, 9]
        assert percent_decoded("plain") is None and percent_decoded("a+b") is None
        assert percent_decoded("q=a+b") == ("q=a b", [])
