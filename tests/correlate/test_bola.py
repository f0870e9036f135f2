"""BOLA correlators (`abuse.bola`, `abuse.path_principal`) on the real MemoryStore and a real Redis,
beyond the firing and non-firing cases of the table (tests/cases/abuse.py, played by
tests/correlate/test_traffic_cases.py): the rule's catalog entry and nothing raw in the finding,
the cooldown, expiry, bounds, matching without the pseudonym key, route parameters under hostile
input, what reaches Redis, and ownership learned from the IDs the gateway reads off a response or
the SDK sends as keyed hashes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.bola import route_parameters
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.stores.memory import MemoryStore
from otel_apisec.correlate.stores.redis import RedisStore
from otel_apisec.pseudonym import keyed_hash
from otel_apisec.testing.redis import RedisServer, redis_server  # noqa: F401

KEY = b"k" * 32
ALICE = keyed_hash(KEY, "alice")
BOB = keyed_hash(KEY, "bob")
T0 = 1_767_254_400.0


def call(who: str | None, method: str, route: str, path: str, status: int = 200, t: float = 0.0,
         **kw: object) -> Observation:
    return Observation(time_s=T0 + t, method=method, route=route, path=path, status=status, principal=who,
                       client="198.51.100.7", service="shop", auth_outcome="success" if who else "anonymous",
                       **kw)  # type: ignore[arg-type]


def created(who: str, order: str) -> Observation:
    return call(who, "POST", "/orders", "/orders", 201, resource_ids=(order,))


def read(who: str | None, order: str, method: str = "GET", status: int = 200) -> Observation:
    return call(who, method, "/orders/{id}", f"/orders/{order}", status, object_ids=(order,))


def engine(store: StateStore | None = None, only: str = "bola", **options: Any) -> Correlation:
    return Correlation(CorrelationConfig(correlators=(only,), **options),
                       store if store is not None else MemoryStore(), hmac_key=KEY)


def run(correlation: Correlation, calls: list[Observation]) -> list[CorrelationFinding]:
    return [f for obs in calls for f in correlation.observe(obs)]


class TestBola:
    def test_another_principal_reads_it(self) -> None:
        """A 2xx read by someone else fires abuse.bola, API1:2023, with pseudonyms and the object's hash."""
        findings = run(engine(), [created(ALICE, "1001"), read(BOB, "1001")])
        assert len(findings) == 1
        finding = findings[0]
        assert finding.rule.kind == "abuse.bola" and finding.rule.owasp == "API1:2023" and finding.rule.cwe == "CWE-639"
        assert finding.subject["enduser.pseudo.id"] == BOB
        assert finding.evidence["owner_principal"] == ALICE
        assert finding.evidence["ownership"] == "created"
        assert finding.evidence["object"] == keyed_hash(KEY, "1001")
        assert "1001" not in str(finding.record())

    def test_another_principal_changes_it(self) -> None:
        """A successful PUT on another's object fires too."""
        findings = run(engine(), [created(ALICE, "1001"), read(BOB, "1001", "PUT")])
        assert [f.subject["http.request.method"] for f in findings] == ["PUT"]

    def test_once_per_caller_and_endpoint_per_cooldown(self) -> None:
        creates = [created(ALICE, str(n)) for n in range(10)]
        findings = run(engine(), [*creates, *(read(BOB, str(n)) for n in range(10))])
        assert len(findings) == 1

    def test_ownership_expires(self) -> None:
        clock = [1000.0]
        store = MemoryStore(clock=lambda: clock[0])
        correlation = engine(store, bola_ownership_s=3600.0)
        run(correlation, [created(ALICE, "1001")])
        clock[0] += 3601
        assert run(correlation, [read(BOB, "1001")]) == []

    def test_bounded_memory_under_100k_objects(self) -> None:
        """100,000 created objects under a 50,000-key cap: the store stays at its cap, the newest
        ownership still fires."""
        store = MemoryStore(max_keys=50_000)
        correlation = engine(store)
        for n in range(100_000):
            correlation.observe(created(ALICE, str(n)))
        assert len(store) <= 50_000 and store.evictions > 0
        assert len(run(correlation, [read(BOB, "99999")])) == 1


class TestPathPrincipal:
    def test_path_names_another_principal_on_a_write(self) -> None:
        """Bob changing Alice's password by her name: abuse.path_principal."""
        calls = [call(ALICE, "GET", "/users/{name}", "/users/alice"),
                 call(BOB, "PUT", "/users/{name}/password", "/users/alice/password", 204)]
        findings = run(engine(only="path_principal"), calls)
        assert len(findings) == 1
        assert findings[0].rule.kind == "abuse.path_principal" and findings[0].rule.owasp == "API1:2023"
        assert findings[0].evidence["named_principal"] == ALICE
        assert "alice" not in str(findings[0].record())

    def test_without_the_key_names_are_not_matched(self) -> None:
        correlation = Correlation(CorrelationConfig(correlators=("path_principal",)), MemoryStore())
        calls = [call(ALICE, "GET", "/users/{name}", "/users/alice"),
                 call(BOB, "PUT", "/users/{name}/password", "/users/alice/password")]
        assert run(correlation, calls) == []


class TestRouteParameters:
    def test_aligns_template_and_path(self) -> None:
        assert route_parameters("/users/{name}/orders/<int:id>", "/users/alice/orders/7?x=1") == ["alice", "7"]
        assert route_parameters("/users/alice", "/users/alice") == []
        assert route_parameters("/users/{name}", "/users/a/b") == []

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=3000), st.text(max_size=3000))
    def test_hostile_input_is_bounded(self, route: str, path: str) -> None:
        started = time.perf_counter()
        values = route_parameters(route, path)
        assert len(values) <= 4 and all(len(v) <= 128 for v in values)
        assert time.perf_counter() - started < 0.05


class TestRedis:
    def test_bola_and_path_principal_over_redis(self, redis_server: RedisServer) -> None:  # noqa: F811
        """The same findings from a Redis store, which holds only keyed hashes."""
        prefix = f"t{uuid.uuid4().hex[:8]}:"
        store = RedisStore(redis_server.url, prefix=prefix, hmac_key=KEY)
        try:
            both = Correlation(CorrelationConfig(correlators=("bola", "path_principal")), store, hmac_key=KEY)
            calls = [created(ALICE, "1001"), read(ALICE, "1001"), read(BOB, "1001", "PUT"),
                     call(ALICE, "GET", "/users/{name}", "/users/alice"),
                     call(BOB, "PUT", "/users/{name}/password", "/users/alice/password")]
            findings = run(both, calls)
            assert [f.rule.kind for f in findings] == ["abuse.bola", "abuse.path_principal"]
            assert findings[0].evidence["owner_principal"] == ALICE
            keys = [str(k) for k in store._client.keys(prefix + "*")]
            assert keys and not any("1001" in k or "alice" in k or "/orders" in k for k in keys)
        finally:
            store.close()


class TestResourceIds:
    """`Observation.resource_ids` (the gateway's reading of a response): own IDs, never foreign keys."""

    @staticmethod
    def ids(document: object, location: str | None = None) -> tuple[str, ...]:
        from otel_apisec.gateway.span_exchange import SpanAttributes
        from otel_apisec.gateway.span_observation import _resource_ids

        read = SpanAttributes()
        if location is not None:
            read.headers.append(("http.response.header.location", location))
        return _resource_ids(document, read)

    def test_shapes(self) -> None:
        assert self.ids({"id": 7, "user_id": 3}) == ("7",)
        assert self.ids([{"id": 1, "owner_id": 9}, {"id": "2"}, {"name": "x"}]) == ("1", "2")
        assert self.ids({"data": [{"uuid": str(uuid.UUID(int=5))}], "next": None}) == (str(uuid.UUID(int=5)),)
        assert self.ids({"user_id": 3, "total": 1}) == ()
        assert self.ids(None, "/orders/1001?x=1") == ("1001",)
        assert self.ids(None, "/orders/new") == ()

    @settings(max_examples=100, deadline=None)
    @given(st.recursive(
        st.none() | st.integers() | st.text(max_size=40),
        lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.sampled_from(["id", "data", "x"]), inner, max_size=4),
    ))
    def test_hostile_documents(self, document: object) -> None:
        started = time.perf_counter()
        assert len(self.ids(document)) <= 256
        assert time.perf_counter() - started < 0.05


class TestHashedIds:
    """SDK spans carry no body: the SDK sends the response's IDs as keyed hashes
    (`apisec.response.resource_ids`, `apisec.response.ids`) and the correlators still learn ownership."""

    @staticmethod
    def span_of(who: str, method: str, route: str, path: str, status: int, body: object = None,
                **extra: object) -> Observation:
        import orjson
        from opentelemetry.proto.trace.v1.trace_pb2 import Span

        from otel_apisec.enrich import response_id_attributes
        from otel_apisec.gateway.anyvalue import set_value
        from otel_apisec.gateway.span_observation import observation_from_span
        from otel_apisec.model import Body, HttpExchange

        exchange = HttpExchange(method=method, path=path, status=status,
                                response_body=Body(orjson.dumps(body), "application/json") if body is not None else None)
        attributes: dict[str, object] = {
            "http.request.method": method, "http.route": route, "url.path": path, "http.response.status_code": status,
            "enduser.pseudo.id": who, "apisec.auth.outcome": "success", **extra,
            **response_id_attributes(exchange, KEY)}
        span = Span(kind=Span.SPAN_KIND_SERVER, end_time_unix_nano=int(T0 * 1e9))
        for key, value in attributes.items():
            set_value(span.attributes.add(key=key).value, value)
        observation = observation_from_span(span, "shop")
        assert observation is not None
        return observation

    def test_attributes_are_bounded_keyed_hashes(self) -> None:
        from otel_apisec.enrich import response_id_attributes
        from otel_apisec.model import Body, Headers, HttpExchange

        body = Body(b'{"data": [' + b",".join(b'{"id": %d, "owner_id": 9}' % i for i in range(100)) + b"]}")
        attributes = response_id_attributes(HttpExchange(status=200, response_body=body), KEY)
        assert len(attributes["apisec.response.resource_ids"]) == 64  # type: ignore[arg-type]
        assert attributes["apisec.response.resource_ids"][0] == keyed_hash(KEY, "0")  # type: ignore[index]
        assert keyed_hash(KEY, "9") in attributes["apisec.response.ids"]  # type: ignore[operator]
        created = HttpExchange(status=201, response_headers=Headers({"Location": "/orders/1001"}))
        assert response_id_attributes(created, KEY) == {"apisec.response.resource_ids": (keyed_hash(KEY, "1001"),)}
        assert response_id_attributes(HttpExchange(status=404, response_body=body), KEY) == {}

    def test_the_detectors_parse_is_shared(self) -> None:
        """A listing the detectors parsed (`Analysis.response_json`) gives the same hashes without a
        second parse; a body they did not parse, or one cut by the body bound, is parsed here."""
        import orjson

        from otel_apisec.detect import Analyzer, DetectConfig
        from otel_apisec.enrich import response_id_attributes
        from otel_apisec.testing import make_exchange

        listing = orjson.dumps({"data": [{"id": i, "owner_id": 9} for i in range(150)]})
        small = orjson.dumps({"id": 1001, "total": 5})
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit"))
        for body, shared in ((listing, True), (small, False)):
            exchange = make_exchange("https://shop.example.com/orders", "GET", status=200, response_body=body,
                                     response_content_type="application/json")
            parsed = analyzer.analyze(exchange).response_json
            assert (parsed is not None) is shared
            assert response_id_attributes(exchange, KEY, parsed) == response_id_attributes(exchange, KEY) != {}
        cut = make_exchange("https://shop.example.com/orders", "GET", status=200, response_body=listing,
                            response_content_type="application/json")
        assert Analyzer(DetectConfig(hmac_key=b"unit", max_body_bytes=1024)).analyze(cut).response_json is None

    def test_bola_from_hashed_ids(self) -> None:
        calls = [self.span_of(ALICE, "POST", "/orders", "/orders", 201, {"id": 1001, "user_id": 3}),
                 self.span_of(ALICE, "GET", "/orders/{id}", "/orders/1001", 200, {"id": 1001}),
                 self.span_of(BOB, "GET", "/orders/{id}", "/orders/1001", 200, {"id": 1001})]
        assert calls[0].resource_id_hashes == (keyed_hash(KEY, "1001"),) and calls[0].resource_ids == ()
        findings = run(engine(), calls)
        assert [(f.subject["enduser.pseudo.id"], f.evidence["owner_principal"], f.evidence["object"])
                for f in findings] == [(BOB, ALICE, keyed_hash(KEY, "1001"))]

    def test_path_principal_from_hashed_login_ids(self) -> None:
        login = self.span_of(ALICE, "POST", "/login", "/login", 200, {"success": True, "user_id": 42},
                             **{"apisec.auth.login": True, "apisec.auth.login.succeeded": True})
        assert login.response_id_hashes == (keyed_hash(KEY, "42"),) and login.response_ids == ()
        calls = [login, call(BOB, "PUT", "/users/{id}/password", "/users/42/password")]
        findings = run(engine(only="path_principal"), calls)
        assert [(f.evidence["named_principal"], f.evidence["ownership"]) for f in findings] == [(ALICE, "login_response")]
