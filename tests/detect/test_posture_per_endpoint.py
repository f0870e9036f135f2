"""Posture as a fact of the endpoint: checked on an endpoint's first response and when its response
shape changes, on every response with `posture_per_endpoint=False`; exchange facts every time."""

from __future__ import annotations

import threading
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer, DetectConfig, load_catalog, posture
from otel_apisec.detect.endpoint_shapes import EndpointShapes, endpoint_key
from otel_apisec.detect.posture import DETECTOR, endpoint_shape
from otel_apisec.detect.rule import ENDPOINT, EXCHANGE, get_rule
from otel_apisec.enrich import finding_events, span_attributes
from otel_apisec.findings import RECORD_KEYS, Seen, record_from_event, request_event
from otel_apisec.model import Finding, HttpExchange
from otel_apisec.testing import make_exchange
from tests.cases.posture import HARDENED, PYTHON_TRACEBACK

URL = "https://api.example.com/v1/orders/42"
# A typical framework default: JSON, a versioned Server header, none of the security headers.
BARE = {"Content-Type": "application/json", "Server": "nginx/1.25.3"}
BARE_FACTS = {"APISEC-POS-002", "APISEC-POS-003", "APISEC-POS-004", "APISEC-POS-005", "APISEC-POS-011",
              "APISEC-POS-016"}
ENDPOINT_RULES = {"APISEC-POS-001", "APISEC-POS-002", "APISEC-POS-003", "APISEC-POS-004", "APISEC-POS-005",
                  "APISEC-POS-006", "APISEC-POS-008", "APISEC-POS-009", "APISEC-POS-010", "APISEC-POS-011",
                  "APISEC-POS-012", "APISEC-POS-016", "APISEC-POS-018"}


def analyzer(**options: object) -> Analyzer:
    return Analyzer(DetectConfig(hmac_key=b"per-endpoint", **options))  # type: ignore[arg-type]


def call(url: str = URL, method: str = "GET", headers: dict[str, str] | None = None, **kwargs: object) -> HttpExchange:
    kwargs.setdefault("response_json", {"id": 42, "total": 12.5})
    return make_exchange(url, method, response_headers=BARE if headers is None else headers, **kwargs)  # type: ignore[arg-type]


def facts(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings if f.endpoint_scope}


class TestScope:
    def test_endpoint_rules_are_the_response_hygiene_ones(self) -> None:
        """Exactly the posture checks that describe the endpoint are endpoint-scope; every other rule,
        stack traces and reflected CORS among them, is about one exchange."""
        rules = load_catalog()
        assert {r.id for r in rules if r.scope == ENDPOINT} == ENDPOINT_RULES
        assert {r.scope for r in rules} == {ENDPOINT, EXCHANGE}
        for rule_id in ("APISEC-POS-007", "APISEC-POS-013", "APISEC-POS-014", "APISEC-POS-015", "APISEC-POS-017"):
            assert get_rule(rule_id).scope == EXCHANGE

    def test_findings_carry_their_rules_scope(self) -> None:
        """`Rule.finding` copies the scope: a finding knows whether it is an endpoint fact."""
        assert get_rule("APISEC-POS-002").finding("x").endpoint_scope
        assert not get_rule("APISEC-POS-013").finding("x").endpoint_scope
        assert get_rule("APISEC-POS-002").finding("x").to_dict()["scope"] == "endpoint"
        assert "scope" not in get_rule("APISEC-POS-013").finding("x").to_dict()

    def test_bad_scope_is_refused(self) -> None:
        """A rule with an unknown scope never loads."""
        from otel_apisec.detect.rule import define
        from otel_apisec.model import Severity

        with pytest.raises(ValueError, match="scope"):
            define("APISEC-TST-999", "posture.test", "t", Severity.LOW, "API8:2023", "CWE-1", "r", scope="route")


class TestOncePerShape:
    def test_first_response_gets_the_facts_the_same_shape_none(self) -> None:
        """The endpoint's first response carries its posture; the next ones of that shape carry none."""
        analyze = analyzer().analyze
        first = analyze(call())
        assert facts(first.findings) == BARE_FACTS and first.posture_checked
        for order_id in (43, 44, 45):  # the same route template, /v1/orders/{id}
            later = analyze(call(f"https://api.example.com/v1/orders/{order_id}"))
            assert facts(later.findings) == set() and not later.posture_checked
            assert "APISEC-POS-015" in {f.rule_id for f in later.findings}  # the exchange facts stay

    def test_a_changed_shape_is_checked_again(self) -> None:
        """HSTS that disappears (a deployment) changes the shape: the facts come again, HSTS among them."""
        analyze = analyzer().analyze
        hardened = {**HARDENED, "Server": "nginx"}
        assert facts(analyze(call(headers=hardened)).findings) == set()
        assert facts(analyze(call(headers=hardened)).findings) == set()
        changed = analyze(call(headers={k: v for k, v in hardened.items() if k != "Strict-Transport-Security"}))
        assert facts(changed.findings) == {"APISEC-POS-002"} and changed.posture_checked
        fixed = analyze(call(headers={**hardened, "Strict-Transport-Security": "max-age=63072000"}))
        assert facts(fixed.findings) == set() and fixed.posture_checked  # clean now: checked, nothing to report

    def test_per_response_values_are_not_a_new_shape(self) -> None:
        """Rate-limit counters, cookie values, CSP nonces, X-Runtime and a reflected allowed origin change
        on every response; they make no new shape."""
        analyze = analyzer().analyze
        checked = []
        for i in range(5):
            headers = {**BARE, "X-RateLimit-Remaining": str(99 - i), "Set-Cookie": f"sid=v{i}; Path=/",
                       "Content-Security-Policy": f"script-src 'nonce-{i}abc'", "X-Runtime": f"0.0{i}",
                       "Access-Control-Allow-Origin": f"https://app{i}.example.com"}
            checked.append(analyze(call(headers=headers)).posture_checked)
        assert checked == [True, False, False, False, False]

    def test_shapes_in_turns_are_checked_once_each(self) -> None:
        """An endpoint that answers with and without a cookie by turns is checked once per shape."""
        analyze = analyzer().analyze
        with_cookie = {**BARE, "Set-Cookie": "sid=abc; Path=/"}
        checked = [analyze(call(headers=with_cookie if i % 2 else BARE)).posture_checked for i in range(8)]
        assert checked == [True, True, False, False, False, False, False, False]

    def test_endpoints_are_host_method_and_route(self) -> None:
        """Another host, method or route is another endpoint; a framework route groups raw paths."""
        analyze = analyzer().analyze
        assert analyze(call()).posture_checked
        assert analyze(call("https://shop.example.com/v1/orders/42")).posture_checked
        assert analyze(call(method="DELETE")).posture_checked
        assert analyze(call("https://api.example.com/v1/customers/42")).posture_checked
        assert analyze(call("https://api.example.com/v1/items/a", route="/v1/items/<slug>")).posture_checked
        assert not analyze(call("https://api.example.com/v1/items/b", route="/v1/items/<slug>")).posture_checked

    def test_exchange_facts_fire_on_every_response(self) -> None:
        """A stack trace, a SQL error and a reflected cross-site origin belong to the response that shows them."""
        analyze = analyzer().analyze
        reflecting = {**BARE, "Access-Control-Allow-Origin": "https://evil.example.net",
                      "Access-Control-Allow-Credentials": "true"}
        for _ in range(3):
            leak = analyze(call(status=500, response_json=None, response_body=PYTHON_TRACEBACK,
                                response_content_type="text/plain"))
            assert "APISEC-POS-013" in {f.rule_id for f in leak.findings}
            cors = analyze(make_exchange("https://api.example.com/v1/me", headers={"Origin": "https://evil.example.net"},
                                         response_headers=reflecting, response_json={"a": 1}))
            assert "APISEC-POS-007" in {f.rule_id for f in cors.findings}
            assert not any(f.endpoint_scope for f in cors.findings if f.rule_id == "APISEC-POS-007")

    def test_trace_request_is_per_exchange_allow_list_per_endpoint(self) -> None:
        """A TRACE that succeeded fires each time; the Allow list naming TRACE once per shape."""
        analyze = analyzer().analyze
        allow = {**HARDENED, "Allow": "GET, TRACE"}
        seen = [{f.rule_id for f in analyze(call(method="TRACE", headers=allow, response_json=None)).findings}
                for _ in range(3)]
        assert ["APISEC-POS-017" in s for s in seen] == [True, True, True]
        assert ["APISEC-POS-018" in s for s in seen] == [True, False, False]

    def test_off_reports_on_every_response(self) -> None:
        """`posture_per_endpoint=False` gives every response the findings it always had."""
        on, off = analyzer(), analyzer(posture_per_endpoint=False)
        exchanges = [call(), call(), call("https://api.example.com/v1/orders/7")]
        per_response = [off.analyze(e) for e in exchanges]
        assert all(facts(a.findings) == BARE_FACTS and a.posture_checked for a in per_response)
        once = [on.analyze(e) for e in exchanges]
        assert [f.rule_id for f in once[0].findings] == [f.rule_id for f in per_response[0].findings]
        for a, b in zip(once[1:], per_response[1:], strict=True):
            assert [f for f in b.findings if not f.endpoint_scope] == a.findings

    def test_a_failed_check_is_tried_again(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A check that raises forgets the shape: the next response of that shape is checked again."""
        analyze = analyzer().analyze

        def broken(exchange: HttpExchange) -> object:
            raise RuntimeError("a header broke it")

        steps = [(name, broken if name == "posture.headers" else checks, needs)
                 for name, checks, needs in posture._ENDPOINT_STEPS]
        monkeypatch.setattr(posture, "_ENDPOINT_STEPS", tuple(steps))
        first = analyze(call())
        assert "posture.headers" in first.failed and "APISEC-POS-011" in facts(first.findings)
        monkeypatch.undo()
        again = analyze(call())
        assert again.posture_checked and facts(again.findings) == BARE_FACTS

    def test_skipped_detector_claims_nothing(self) -> None:
        """Posture left out by the time budget checks nothing, so the next response checks the shape."""
        budgeted = Analyzer(DetectConfig(hmac_key=b"k", time_budget_ms=1e-9))
        skipped = budgeted.analyze(call())
        assert "posture" in skipped.skipped and not skipped.posture_checked


# Header names and values the endpoint checks judge, and some they do not, to build colliding shapes.
_HEADER = st.sampled_from([
    ("Strict-Transport-Security", "max-age=31536000"), ("Strict-Transport-Security", "max-age=0"),
    ("X-Content-Type-Options", "nosniff"), ("X-Content-Type-Options", "NOSNIFF "), ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'"), ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("Content-Security-Policy", "script-src 'nonce-1'"), ("Content-Security-Policy", ""),
    ("RateLimit-Remaining", "9"), ("X-RateLimit-Limit", "1"), ("Retry-After", "3"),
    ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Origin", "https://a.example"),
    ("Access-Control-Allow-Credentials", "true"), ("Access-Control-Allow-Credentials", "false"),
    ("Server", "nginx"), ("Server", "Apache/2.4.1"), ("X-Powered-By", "Express"), ("X-Runtime", "0.1"),
    ("X-Runtime", ""), ("Set-Cookie", "sid=1; Secure"), ("Set-Cookie", "sid=2; Secure"),
    ("Set-Cookie", "sid=; Max-Age=0"), ("Set-Cookie", "theme=dark; HttpOnly; SameSite=Lax"),
    ("Set-Cookie", "token=x; secure; httponly; samesite=strict"), ("Allow", "GET, TRACE"), ("Allow", "GET"),
    ("Access-Control-Allow-Methods", "track"), ("Content-Type", "text/html"), ("Content-Type", "application/json"),
    ("X-Request-Id", "1"), ("Date", "now"),
])
_BASE = st.builds(
    lambda scheme, host, proxied, status, headers, body: dict(
        url=f"{scheme}://{host}/v1/x", headers={"X-Forwarded-Proto": "https"} if proxied else {}, status=status,
        response_headers=headers, response_body=body),
    st.sampled_from(["http", "https"]), st.sampled_from(["api.example.com", "localhost"]), st.booleans(),
    st.sampled_from([None, 200, 204, 500]), st.lists(_HEADER, max_size=5), st.sampled_from([None, "", "{}"]),
)
_EVERY_TIME = Analyzer(DetectConfig(hmac_key=b"k", posture_per_endpoint=False))


def _exchange(spec: dict[str, object]) -> HttpExchange:
    return make_exchange(spec["url"], **{k: v for k, v in spec.items() if k != "url"})  # type: ignore[arg-type]


def _endpoint_findings(exchange: HttpExchange) -> list[tuple[str, str, str, str]]:
    found = DETECTOR(exchange, _EVERY_TIME.context(exchange))
    return sorted((f.rule_id, f.location, f.severity.label, f.message)
                  for f in found if isinstance(f, Finding) and f.endpoint_scope)


class TestShape:
    @settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_BASE, _HEADER, st.integers(0, 5), st.sampled_from(["add", "replace", "drop", "proxy"]))
    def test_equal_shapes_give_equal_endpoint_findings(
        self, base: dict[str, object], header: tuple[str, str], where: int, how: str,
    ) -> None:
        """The shape covers every input of the endpoint checks: an exchange and a neighbour (one
        response header added, replaced or dropped, or the proxy's `X-Forwarded-Proto` toggled) of
        the same shape get the same endpoint findings, so skipping a known shape loses nothing."""
        headers = list(base["response_headers"])  # type: ignore[call-overload]
        index = min(where, len(headers))
        if how == "add":
            headers.insert(index, header)
        elif headers and how != "proxy":
            index = min(index, len(headers) - 1)
            headers[index:index + 1] = [header] if how == "replace" else []
        proxy = {} if how == "proxy" and base["headers"] else {"X-Forwarded-Proto": "https"}
        neighbour = {**base, "response_headers": headers, "headers": proxy if how == "proxy" else base["headers"]}
        one, other = _exchange(base), _exchange(neighbour)
        if endpoint_shape(one) == endpoint_shape(other):
            assert _endpoint_findings(one) == _endpoint_findings(other)

    def test_shape_is_cheaper_than_the_checks(self) -> None:
        """Hashing the endpoint and the shape costs less than the checks they stand for (median of rounds)."""
        exchange = call(headers={**BARE, "Set-Cookie": "sid=abc; Path=/; HttpOnly", "X-Powered-By": "PHP/8"})
        steps = [checks for _, checks, _needs in posture._ENDPOINT_STEPS]

        def checks() -> None:
            for run in steps:
                list(run(exchange))

        def shape() -> None:
            hash((endpoint_key(exchange), endpoint_shape(exchange)))

        def median(fn: object, rounds: int = 7, n: int = 300) -> float:
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                for _ in range(n):
                    fn()  # type: ignore[operator]
                times.append(time.perf_counter() - start)
            return sorted(times)[rounds // 2]

        assert median(shape) < median(checks)

class TestBounds:
    def test_hostile_routes_keep_the_cache_bounded_and_time_linear(self) -> None:
        """100,000 distinct routes (and hosts) through one Analyzer: each is checked, the cache stays
        at its capacity, and the last 10,000 cost about what the first 10,000 did."""
        shared = Analyzer(DetectConfig(hmac_key=b"k", enabled=frozenset({"posture"}), posture_cache_size=1000))
        timings = []
        for block in range(10):
            start = time.perf_counter()
            for i in range(block * 10_000, (block + 1) * 10_000):
                exchange = HttpExchange(host=f"h{i % 97}.example.com", path=f"/x/r{i}/page", status=200)
                assert shared.analyze(exchange).posture_checked
            timings.append(time.perf_counter() - start)
        assert len(shared._shapes) == 1000  # type: ignore[arg-type]
        assert max(timings[5:]) < 3 * min(timings[:5]), timings

    def test_hostile_endpoints_keep_memory_flat(self) -> None:
        """Memory after 100,000 endpoints of attacker-sized hosts and routes is what it was after 10,000:
        only hashes are kept, in a full LRU."""
        shapes = EndpointShapes(capacity=5000)
        tracemalloc.start()
        try:
            for i in range(100_000):
                if i == 10_000:
                    baseline = tracemalloc.get_traced_memory()[0]
                endpoint = ("h" * 200 + str(i), "GET", "/r/" + "s" * 150 + str(i))
                shapes.claim(endpoint, ("shape", i))
            grown = tracemalloc.get_traced_memory()[0] - baseline
        finally:
            tracemalloc.stop()
        assert len(shapes) == 5000 and grown < 64 << 10, grown

    def test_shapes_per_endpoint_are_bounded(self) -> None:
        """An endpoint whose shape changes on every response keeps a few shapes, and each is checked."""
        shapes = EndpointShapes(capacity=10, per_endpoint=4)
        assert all(shapes.claim("e", i) for i in range(1000))
        assert len(shapes) == 1 and not shapes.claim("e", 999) and shapes.claim("e", 0)

    def test_capacity_must_be_positive(self) -> None:
        with pytest.raises(ValueError):
            EndpointShapes(capacity=0)


class TestThreads:
    def test_one_thread_wins_each_new_shape(self) -> None:
        """Eight threads over the same traffic through one Analyzer: each endpoint shape is checked
        exactly once, and nothing fails."""
        shared = analyzer()
        traffic = [call(f"https://api.example.com/v1/r{i % 25}/x") for i in range(200)]
        checked: list[int] = []
        failures: list[str] = []
        barrier = threading.Barrier(8)

        def work() -> None:
            barrier.wait()
            count = 0
            for exchange in traffic:
                analysis = shared.analyze(exchange)
                failures.extend(analysis.failed)
                count += analysis.posture_checked
            checked.append(count)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [] and sum(checked) == 25

    def test_concurrent_claims_of_one_shape(self) -> None:
        """Many threads claiming the same new shape: exactly one is told to check it."""
        shapes = EndpointShapes(capacity=4)
        wins: list[bool] = []
        barrier = threading.Barrier(16)

        def claim() -> None:
            barrier.wait()
            wins.append(shapes.claim(("h", "GET", "/"), ("shape",)))

        threads = [threading.Thread(target=claim) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False] * 15 + [True]


class TestOnTheSpan:
    def test_endpoint_facts_are_marked_events_and_stay_out_of_the_request_aggregates(self) -> None:
        """Endpoint facts: events with `apisec.finding.scope=endpoint`, listed in `apisec.findings`,
        not in `apisec.severity.max` or `apisec.risk.score`; the span says the posture was checked."""
        analyze = analyzer().analyze
        first = analyze(call("http://api.example.com/v1/orders/42"))  # plain HTTP: a medium endpoint fact
        attributes = span_attributes(first)
        assert attributes[A.POSTURE_CHECKED] is True
        assert set(attributes[A.FINDINGS]) >= {"APISEC-POS-001", "APISEC-POS-015"}  # type: ignore[arg-type]
        assert attributes[A.SEVERITY_MAX] == "info" and attributes[A.RISK_SCORE] == 0  # POS-015 alone counts
        events = {e[A.RULE_ID]: e for _, e in finding_events(first)}
        assert events["APISEC-POS-001"][A.FINDING_SCOPE] == "endpoint"
        assert A.FINDING_SCOPE not in events["APISEC-POS-015"]
        later = span_attributes(analyze(call("http://api.example.com/v1/orders/43")))
        assert A.POSTURE_CHECKED not in later and later[A.FINDINGS] == ("APISEC-POS-015",)

    def test_a_span_with_only_endpoint_facts_has_no_severity(self) -> None:
        """Endpoint facts alone: listed, evented, but the request itself scored clean."""
        analysis = analyzer().analyze(call("https://api.example.com/v1/health"))
        attributes = span_attributes(analysis)
        assert attributes[A.FINDINGS] and A.SEVERITY_MAX not in attributes and attributes[A.RISK_SCORE] == 0

    def test_records_carry_the_scope(self) -> None:
        """A finding record read off an endpoint fact's event says `scope: endpoint`."""
        seen = Seen("2026-01-01T00:00:00.000Z", "shop", "ab" * 16, "cd" * 8)
        record = record_from_event(request_event(get_rule("APISEC-POS-002").finding("response.header.x")), seen)
        assert record["scope"] == "endpoint" and set(record) <= RECORD_KEYS
        plain = record_from_event(request_event(get_rule("APISEC-POS-013").finding("response.body")), seen)
        assert "scope" not in plain
