"""Cross-request correlators on the real MemoryStore (and a real Redis for the shared-store cases):
each scripted attack fires its kind once, with the numbers that crossed the threshold; the
benign mix fires nothing; the helpers the gateway uses (object IDs, route templates, GeoIP)
behave on hostile input."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import replace

import pytest

from otel_apisec.correlate.api import CorrelationFinding, Observation
from otel_apisec.correlate.config import CORRELATOR_NAMES, CorrelationConfig
from otel_apisec.correlate.engine import CORRELATOR_TYPES, Correlation
from otel_apisec.correlate.geo import CountryLookup
from otel_apisec.correlate.ids import object_ids, response_object_ids, route_template
from otel_apisec.correlate.stores.memory import MemoryStore
from otel_apisec.correlate.stores.redis import RedisStore
from otel_apisec.detect.rule import OWASP
from otel_apisec.detect.rules.abuse import ALL_RULES
from otel_apisec.testing.redis import RedisServer, redis_server  # noqa: F401
from otel_apisec.testing.servers import free_port
from otel_apisec.testing.traffic import START, Scenario, attack_scenarios, benign_traffic, merge

DEFAULTS = CorrelationConfig()
ACCOUNT = "a" * 32
USER = "b" * 32
TOKEN = "c" * 32


class Clock:
    """The MemoryStore's TTL clock, moved by the test (claims and marks expire on it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def engine(clock: Clock | None = None, only: str | None = None, **options: object) -> Correlation:
    config = CorrelationConfig(**options) if only is None else CorrelationConfig(correlators=(only,), **options)
    return Correlation(config, MemoryStore(clock=clock) if clock else MemoryStore())


def run(correlation: Correlation, observations: list[Observation]) -> list[CorrelationFinding]:
    return [finding for obs in observations for finding in correlation.observe(obs)]


def of_kind(findings: list[CorrelationFinding], kind: str) -> list[CorrelationFinding]:
    return [f for f in findings if f.rule.kind == kind]


SCENARIOS = {scenario.kind: scenario for scenario in attack_scenarios()}


def scenario(kind: str) -> Scenario:
    return SCENARIOS[kind]


def call(t: float, path: str, route: str | None = None, **fields: object) -> Observation:
    return Observation(time_s=START + t, path=path, route=route or path, service="shop-api", **fields)


def failed_login(t: float, account: str, client: str) -> Observation:
    return call(t, "/api/login", method="POST", status=401, client=client, principal=account, is_login=True,
                login_succeeded=False, auth_outcome="failure")


# --- configuration and rules ------------------------------------------------------------------


class TestConfig:
    @pytest.mark.parametrize(
        ("options", "named"),
        [
            ({"brute_force_window_s": 0}, "brute_force_window_s"),
            ({"token_window_s": float("inf")}, "token_window_s"),
            ({"cooldown_s": "15m"}, "cooldown_s"),
            ({"token_clients": 0}, "token_clients"),
            ({"token_clients": True}, "token_clients"),
            ({"error_client_count": 2.5}, "error_client_count"),
            ({"spike_factor": 1.0}, "spike_factor"),
            ({"spike_window_s": 90_000.0}, "spike_window_s"),
            ({"sequential_length": 2}, "sequential_length"),
            ({"stuffing_ipv4_prefix": 33}, "stuffing_ipv4_prefix"),
            ({"bfla_privileged_segments": ("admin/x",)}, "bfla_privileged_segments"),
            ({"bfla_collection_delete": 1}, "bfla_collection_delete"),
            ({"correlators": ("brute_force", "telepathy")}, "correlators"),
        ],
    )
    def test_bad_value_names_the_field(self, options: dict[str, object], named: str) -> None:
        with pytest.raises(ValueError, match=f"correlation config: {named}="):
            CorrelationConfig(**options)

    def test_from_mapping_rejects_unknown_keys_and_takes_lists(self) -> None:
        with pytest.raises(ValueError, match="unknown option 'brute_force_windows'"):
            CorrelationConfig.from_mapping({"brute_force_windows": 10})
        config = CorrelationConfig.from_mapping({"bfla_privileged_segments": ["Admin", "ops"], "cooldown_s": 60})
        assert config.bfla_privileged_segments == ("admin", "ops")
        assert config.cooldown_s == 60

    def test_every_option_is_described_with_its_default(self) -> None:
        described = CorrelationConfig.describe()
        assert [name for name, _, _ in described] == [f.name for f in dataclasses.fields(CorrelationConfig)]
        assert all(help_text for _, _, help_text in described)
        assert dict((name, default) for name, default, _ in described)["brute_force_client_failures"] == (
            DEFAULTS.brute_force_client_failures
        )


class TestRules:
    def test_one_rule_per_correlator_with_valid_metadata(self) -> None:
        assert set(CORRELATOR_TYPES) == set(CORRELATOR_NAMES) == {r.kind.removeprefix("abuse.") for r in ALL_RULES}
        assert len({r.id for r in ALL_RULES}) == len(ALL_RULES) == 10
        for rule in ALL_RULES:
            assert rule.id.startswith("APISEC-ABU-0")
            assert rule.kind.startswith("abuse.")
            assert rule.owasp in OWASP and rule.cwe.startswith("CWE-") and rule.remediation

    def test_every_rule_fires_on_its_scenario(self) -> None:
        """No abuse rule ships without an attack that raises it."""
        fired = set()
        for item in attack_scenarios():
            fired |= {f.rule.kind for f in run(engine(), item.observations)}
        assert {r.kind for r in ALL_RULES} <= fired


# --- login abuse --------------------------------------------------------------------------------


class TestBruteForce:
    def test_scenario_fires_once_per_client_and_once_per_account(self) -> None:
        attack = scenario("abuse.brute_force")
        findings = run(engine(only="brute_force"), attack.observations)
        by_subject = {tuple(f.subject): f for f in findings}
        assert len(findings) == 2, [f.subject for f in findings]
        account = by_subject[("enduser.pseudo.id",)]
        assert account.rule.id == "APISEC-ABU-001"
        assert account.subject == {"enduser.pseudo.id": attack.observations[0].principal}
        assert account.evidence["failed_logins"] == DEFAULTS.brute_force_account_failures
        assert account.evidence["clients"] == 1
        client = by_subject[("client.address",)]
        assert client.subject == {"client.address": "203.0.113.66"}
        assert client.evidence["failed_logins"] == DEFAULTS.brute_force_client_failures
        assert client.evidence["window_s"] == DEFAULTS.brute_force_window_s

    def test_distributed_attack_on_one_account(self) -> None:
        logins = [failed_login(i * 5, ACCOUNT, f"198.18.{i}.7") for i in range(15)]
        findings = run(engine(only="brute_force"), logins)
        assert [f.subject for f in findings] == [{"enduser.pseudo.id": ACCOUNT}]
        assert findings[0].evidence["clients"] == DEFAULTS.brute_force_account_failures
        assert findings[0].observation is logins[DEFAULTS.brute_force_account_failures - 1]

    def test_failures_spread_wider_than_the_window_are_quiet(self) -> None:
        window = DEFAULTS.brute_force_window_s
        logins = [failed_login(i * (window / 5), ACCOUNT, "198.18.0.1") for i in range(40)]
        assert run(engine(only="brute_force"), logins) == []

    def test_cooldown_then_fires_again(self, clock: Clock) -> None:
        correlation = engine(clock, only="brute_force")
        first = run(correlation, [failed_login(i, ACCOUNT, "198.18.0.1") for i in range(12)])
        assert len(first) == 1
        assert run(correlation, [failed_login(20 + i, ACCOUNT, "198.18.0.1") for i in range(5)]) == []
        clock.now += DEFAULTS.cooldown_s + 1
        again = run(correlation, [failed_login(40, ACCOUNT, "198.18.0.1")])
        assert [f.subject for f in again] == [{"enduser.pseudo.id": ACCOUNT}]
        assert again[0].group_key == first[0].group_key


class TestCredentialStuffing:
    def test_scenario_fires_for_the_client_and_its_network(self) -> None:
        findings = run(engine(only="credential_stuffing"), scenario("abuse.credential_stuffing").observations)
        assert {f.rule.id for f in findings} == {"APISEC-ABU-002"}
        subjects = {json.dumps(f.subject, sort_keys=True): f for f in findings}
        client = subjects[json.dumps({"client.address": "198.51.100.23"})]
        assert client.evidence["accounts"] == DEFAULTS.stuffing_client_accounts
        network = subjects[json.dumps({"apisec.client.network": "198.51.100.0/24"})]
        assert network.evidence["accounts"] == DEFAULTS.stuffing_network_accounts
        assert len(findings) == 2

    def test_accounts_spread_over_one_network_fire_for_the_network_only(self) -> None:
        logins = [failed_login(i, f"{i:032x}", f"203.0.113.{i + 1}") for i in range(30)]
        findings = run(engine(only="credential_stuffing"), logins)
        assert [f.subject for f in findings] == [{"apisec.client.network": "203.0.113.0/24"}]

    def test_ipv6_clients_group_by_their_64(self) -> None:
        logins = [failed_login(i, f"{i:032x}", f"2001:4860:1:2::{i + 1:x}") for i in range(30)]
        findings = run(engine(only="credential_stuffing"), logins)
        assert [f.subject for f in findings] == [{"apisec.client.network": "2001:4860:1:2::/64"}]

    def test_one_account_retried_is_not_stuffing(self) -> None:
        logins = [failed_login(i, ACCOUNT, "203.0.113.9") for i in range(50)]
        assert run(engine(only="credential_stuffing"), logins) == []


# --- object enumeration -------------------------------------------------------------------------


def order(t: float, order_id: str, **fields: object) -> Observation:
    return call(t, f"/api/orders/{order_id}", "/api/orders/{id}", principal=USER, client="198.18.0.1",
                object_ids=(order_id,), status=200, **fields)


class TestEnumeration:
    def test_sequential_walk_and_unlisted_ids(self) -> None:
        attack = scenario("abuse.enumeration")
        findings = run(engine(only="enumeration"), attack.observations)
        signals = {f.evidence["signal"]: f for f in findings}
        assert set(signals) == {"sequential_walk", "unlisted_ids"} and len(findings) == 2
        walk = signals["sequential_walk"]
        assert walk.rule.id == "APISEC-ABU-003"
        principal = attack.observations[0].principal
        assert walk.subject == {"enduser.pseudo.id": principal, "service.name": "shop-api",
                                "http.route": "/api/orders/{id}"}
        assert walk.evidence["step"] == 1 and walk.evidence["sequence_length"] == DEFAULTS.sequential_length
        assert signals["unlisted_ids"].subject == {"enduser.pseudo.id": principal}
        assert signals["unlisted_ids"].evidence["unlisted_ids"] == DEFAULTS.nlid_ids

    def test_remembering_no_response_ids_turns_the_unlisted_signal_off(self) -> None:
        findings = run(engine(only="enumeration", nlid_response_ids=0), scenario("abuse.enumeration").observations)
        assert [f.evidence["signal"] for f in findings] == ["sequential_walk"]

    def test_walk_counting_down_with_a_step(self) -> None:
        calls = [order(i, str(90_000 - 7 * i)) for i in range(25)]
        findings = run(engine(only="enumeration"), calls)
        assert [(f.evidence["signal"], f.evidence["step"]) for f in findings] == [("sequential_walk", -7)]
        assert findings[0].observation is calls[DEFAULTS.sequential_length - 1]

    def test_many_random_ids_without_captured_bodies(self) -> None:
        ids = [str(n) for n in range(10_000, 10_000 + 30 * 150, 30)]  # step 30: too big to be a walk
        findings = run(engine(only="enumeration"), [order(i, object_id) for i, object_id in enumerate(ids)])
        assert [f.evidence["signal"] for f in findings] == ["distinct_ids"]
        assert findings[0].evidence["distinct_ids"] == DEFAULTS.enumeration_distinct_ids

    def test_unlisted_signal_needs_captured_bodies(self) -> None:
        calls = [order(i, f"{i * 7919 % 1000:04d}abcdef0123456789") for i in range(40)]
        assert run(engine(only="enumeration"), calls) == []

    def test_fetching_every_listed_id_in_order_is_not_enumeration(self) -> None:
        listed = tuple(str(n) for n in range(5000, 5300))
        listing = call(0, "/api/orders", principal=USER, client="198.18.0.1", response_ids=listed, status=200)
        calls = [listing, *(order(1 + i, object_id) for i, object_id in enumerate(listed[:128]))]
        assert run(engine(only="enumeration"), calls) == []

    def test_anonymous_callers_are_tracked_by_address(self) -> None:
        calls = [call(i, f"/api/orders/{700 + i}", "/api/orders/{id}", client="203.0.113.50",
                      object_ids=(str(700 + i),), status=404) for i in range(25)]
        findings = run(engine(only="enumeration"), calls)
        assert [f.subject.get("client.address") for f in findings] == ["203.0.113.50"]


# --- function-level authorization ---------------------------------------------------------------


def as_user(t: float, method: str, route: str, principal: str = USER, status: int = 200) -> Observation:
    return call(t, route.replace("{id}", "42"), route, method=method, principal=principal, client="198.18.0.2",
                status=status, auth_outcome="success")


class TestBfla:
    def test_scenario_fires_once_for_the_principal(self) -> None:
        attack = scenario("abuse.bfla")
        findings = run(engine(only="bfla"), attack.observations)
        assert len(findings) == 1
        finding = findings[0]
        assert finding.rule.id == "APISEC-ABU-004"
        assert finding.subject == {"enduser.pseudo.id": attack.observations[0].principal}
        assert finding.evidence["signal"] == "outside_profile"
        assert finding.evidence["requests_seen"] > DEFAULTS.bfla_learning_requests
        assert finding.effective_severity.label == "high"
        assert (finding.observation.method, finding.observation.route) == ("GET", "/admin/users")

    def test_admin_functions_learned_while_learning_stay_quiet(self) -> None:
        learning = [as_user(i, "GET", "/admin/users") for i in range(5)]
        learning += [as_user(10 + i, "GET", "/api/products") for i in range(120)]
        later = [as_user(500, "GET", "/admin/users"), as_user(501, "GET", "/admin/users/{id}")]
        findings = run(engine(only="bfla"), learning + later)
        assert [(f.observation.route, f.evidence["signal"]) for f in findings] == [("/admin/users/{id}", "outside_profile")]

    def test_refused_attempt_is_medium(self) -> None:
        calls = [as_user(i, "GET", "/api/products") for i in range(101)] + [
            as_user(200, "DELETE", "/api/orders", status=403)  # a whole collection
        ]
        findings = run(engine(only="bfla"), calls)
        assert len(findings) == 1 and findings[0].effective_severity.label == "medium"
        assert findings[0].evidence["status"] == 403

    def test_anonymous_success_on_a_privileged_endpoint(self) -> None:
        probes = [call(i, "/internal/health", client="10.0.0.5", status=200) for i in range(3)]
        refused = [call(5, "/admin/config", client="203.0.113.5", status=401)]
        leak = [call(10 + i, "/internal/config", client=f"203.0.113.{i + 1}", status=200) for i in range(3)]
        findings = run(engine(only="bfla"), probes + refused + leak)
        assert len(findings) == 1
        assert findings[0].subject == {"service.name": "shop-api", "http.request.method": "GET",
                                       "http.route": "/internal/config"}
        assert findings[0].evidence == {"signal": "anonymous_success", "status": 200}

    def test_privileged_routes(self) -> None:
        bfla = CORRELATOR_TYPES["bfla"](DEFAULTS)
        assert bfla.is_privileged("GET", "/api/v1/Admin/users")
        assert bfla.is_privileged("DELETE", "/api/orders")
        assert not bfla.is_privileged("DELETE", "/api/orders/{id}")
        assert not bfla.is_privileged("DELETE", "/api/orders/:id")
        assert not bfla.is_privileged("GET", "/internal/healthz")
        assert not bfla.is_privileged("GET", "/api/administrative-areas")


# --- rates and errors ---------------------------------------------------------------------------


class TestRateSpike:
    def test_scenario_fires_for_the_client_and_the_endpoint(self) -> None:
        attack = scenario("abuse.rate_spike")
        findings = run(engine(only="rate_spike"), attack.observations)
        assert {f.rule.id for f in findings} == {"APISEC-ABU-005"} and len(findings) == 2
        client = next(f for f in findings if "client.address" in f.subject)
        assert client.subject == {"client.address": attack.observations[0].client}
        assert client.evidence["recent_requests"] >= DEFAULTS.spike_min_requests
        assert client.evidence["ratio"] >= DEFAULTS.spike_factor
        assert client.evidence["active_hours"] >= DEFAULTS.spike_min_active_hours
        assert any(f.subject.get("http.route") == "/api/products" for f in findings)

    def test_a_new_client_has_no_baseline(self) -> None:
        burst = [call(i * 0.5, "/api/products", client="198.18.3.3", status=200) for i in range(1000)]
        assert run(engine(only="rate_spike"), burst) == []

    def test_steady_heavy_client_is_not_a_spike(self) -> None:
        steady = [call(i * 2.0, "/v1/inventory", client="198.18.3.4", status=200) for i in range(6 * 1800)]
        assert run(engine(only="rate_spike"), steady) == []


class TestNoRateLimit:
    def test_scenario_fires_once(self) -> None:
        attack = scenario("abuse.no_rate_limit")
        findings = run(engine(only="no_rate_limit"), attack.observations)
        assert len(findings) == 1
        assert findings[0].rule.id == "APISEC-ABU-006"
        assert findings[0].subject == {"client.address": attack.observations[0].client, "service.name": "shop-api",
                                       "http.request.method": "POST", "http.route": "/api/otp/verify"}
        assert findings[0].evidence["requests"] == DEFAULTS.no_rate_limit_requests

    def test_endpoint_that_announces_rate_limits_is_quiet(self) -> None:
        attack = scenario("abuse.no_rate_limit").observations
        announced = [replace(attack[0], rate_limited=True), *attack]
        assert run(engine(only="no_rate_limit"), announced) == []


class TestErrorStorm:
    def test_scan_fires_with_the_status_breakdown(self) -> None:
        attack = scenario("abuse.error_storm")
        findings = run(engine(only="error_storm"), attack.observations)
        assert len(findings) == 1
        assert findings[0].rule.id == "APISEC-ABU-007"
        assert findings[0].subject == {"client.address": attack.observations[0].client}
        evidence = findings[0].evidence
        assert evidence["errors"] == evidence["status_404"] == DEFAULTS.error_client_count
        assert evidence["status_401"] == evidence["status_5xx"] == 0

    def test_endpoint_failing_for_everyone(self) -> None:
        calls = [call(i, "/api/upload", method="POST", client=f"198.18.5.{i}", status=500) for i in range(40)]
        findings = run(engine(only="error_storm"), calls)
        assert [f.evidence["signal"] for f in findings] == ["endpoint_5xx"]
        assert findings[0].evidence["errors"] == DEFAULTS.error_route_5xx


class TestTokenReuse:
    def test_scenario_fires_once(self) -> None:
        attack = scenario("abuse.token_reuse")
        findings = run(engine(only="token_reuse"), attack.observations)
        assert len(findings) == 1
        assert findings[0].rule.id == "APISEC-ABU-008"
        assert findings[0].subject == {"apisec.token.hash": attack.observations[0].token}
        assert findings[0].evidence["countries"] == DEFAULTS.token_countries

    def test_many_addresses_in_one_country(self) -> None:
        calls = [call(i, "/api/me", client=f"198.18.7.{i}", token=TOKEN, country="US", status=200) for i in range(12)]
        findings = run(engine(only="token_reuse"), calls)
        assert findings[0].evidence["clients"] == DEFAULTS.token_clients and len(findings) == 1

    def test_a_phone_changing_networks_is_quiet(self) -> None:
        calls = [call(i * 60, "/api/me", client=f"198.18.8.{i % 3}", token=TOKEN, country="US", status=200)
                 for i in range(50)]
        assert run(engine(only="token_reuse"), calls) == []


# --- the whole engine ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traffic() -> list[Observation]:
    return benign_traffic(seed=7)


class TestBenignMix:
    def test_exercises_what_the_correlators_look_at(self, traffic: list[Observation]) -> None:
        """Zero findings only means something if the mix holds near misses."""
        assert len(traffic) > 5000
        assert sum(o.is_login and o.login_succeeded is False for o in traffic) > 10
        assert sum(o.status == 404 for o in traffic) > 20
        assert sum(o.rate_limited for o in traffic) > 1000
        assert sum("/admin/" in o.path for o in traffic) > 5
        assert sum(o.path.startswith("/internal/") for o in traffic) > 500
        assert sum(bool(o.response_ids) for o in traffic) > 1000
        assert sum(bool(o.object_ids) and not o.response_ids for o in traffic) > 20
        assert len({o.client for o in traffic}) > 100

    def test_no_findings(self, traffic: list[Observation]) -> None:
        correlation = engine()
        findings = run(correlation, traffic)
        assert findings == [], Counter((f.rule.kind, json.dumps(f.subject)) for f in findings)
        assert correlation.store_errors == correlation.internal_errors == 0

    def test_every_attack_is_found_inside_the_mix(self, traffic: list[Observation]) -> None:
        attacks = attack_scenarios()
        findings = run(engine(), merge(traffic, *(a.observations for a in attacks)))
        assert {f.rule.kind for f in findings} == {a.kind for a in attacks}
        assert all(len(f.group_key) > 0 for f in findings)
        assert len({f.group_key for f in findings}) == len(findings), "each incident fires once"
        for finding in findings:
            record = finding.record()
            json.dumps(record)
            assert all(isinstance(v, (int, float, str)) for v in record["evidence"].values())


class TestEngineNeverBreaksTheHost:
    def test_store_down_is_counted_and_correlation_goes_on(self) -> None:
        store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)
        correlation = Correlation(DEFAULTS, store)
        try:
            for obs in scenario("abuse.brute_force").observations[:3]:
                assert correlation.observe(obs) == []
        finally:
            store.close()
        assert correlation.store_errors == 3

    def test_a_failing_correlator_does_not_stop_the_others(self) -> None:
        class Broken:
            name = "broken"

            def observe(self, obs: Observation, store: object) -> list[CorrelationFinding]:
                raise RuntimeError("bug")

        correlation = engine()
        correlation.correlators = (Broken(), *correlation.correlators)
        findings = run(correlation, scenario("abuse.no_rate_limit").observations)
        assert [f.rule.kind for f in findings] == ["abuse.no_rate_limit"]
        assert correlation.internal_errors == len(scenario("abuse.no_rate_limit").observations)


def test_two_replicas_on_one_redis_fire_once(redis_server: RedisServer) -> None:  # noqa: F811
    """Two gateway replicas share state: the attack split between them is seen whole, and reported once."""
    attack = scenario("abuse.credential_stuffing").observations
    prefix = f"apisec-test-{free_port()}:"
    stores = [RedisStore(redis_server.url, prefix=prefix) for _ in range(2)]
    try:
        replicas = [Correlation(CorrelationConfig(correlators=("credential_stuffing",)), s) for s in stores]
        findings = [f for i, obs in enumerate(attack) for f in replicas[i % 2].observe(obs)]
    finally:
        for store in stores:
            store.close()
    assert sorted(json.dumps(f.subject) for f in findings) == [
        json.dumps({"apisec.client.network": "198.51.100.0/24"}),
        json.dumps({"client.address": "198.51.100.23"}),
    ]
    client = next(f for f in findings if "client.address" in f.subject)
    assert client.evidence["accounts"] == DEFAULTS.stuffing_client_accounts


# --- helpers the gateway uses -------------------------------------------------------------------


class TestObjectIds:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("/api/users/42/orders/0007", ("42", "7")),
            ("/api/orders/3F2504E0-4F89-11D3-9A0C-0305E82C3301", ("3f2504e0-4f89-11d3-9a0c-0305e82c3301",)),
            ("/api/items/507f1f77bcf86cd799439011?expand=1", ("507f1f77bcf86cd799439011",)),
            ("/api/events/01ARZ3NDEKTSV4RRFFQ69G5FAV", ("01arz3ndektsv4rrffq69g5fav",)),
            ("/v1/customers/cus_NffrFeUfNV2Hib", ("cus_NffrFeUfNV2Hib",)),
            ("/api/v1/me/settings", ()),
            ("/blog/2023-01-01/my-first-post-2023", ()),
            ("/cafe/deadbeef", ()),
            ("/words/abcdefghijklmnopqrstuvwxyz", ()),
            ("/x/" + "1" * 25, ()),
            ("", ()),
        ],
    )
    def test_path_segments(self, path: str, expected: tuple[str, ...]) -> None:
        assert object_ids(path) == expected

    def test_hostile_paths_are_bounded(self) -> None:
        assert object_ids("/" + "a" * 1_000_000) == ()
        assert len(object_ids("/1" * 100_000)) == 8
        assert object_ids("/\udcff/42/\x00") == ("42",)

    def test_route_template(self) -> None:
        assert route_template("/users/42/orders/507f1f77bcf86cd799439011") == "/users/{id}/orders/{id}"
        assert route_template("/users/{id}") == "/users/{id}"
        assert route_template("/search?q=1") == "/search"
        assert route_template("/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln") == "/reset/{id}"
        assert route_template("/keys/sk_live_51HbX9aQw2Lr8TzYk") == "/keys/{id}"
        assert route_template("/blog/my-first-post") == "/blog/my-first-post"
        # Personal data never reaches a template (templates become metric labels and state keys).
        assert route_template("/users/alice@example.com/x") == "/users/{id}/x"
        assert route_template("/users/alice%40example.com") == "/users/{id}"
        assert route_template("/phones/+1-555-010-9999") == "/phones/{id}"
        assert route_template("/reports/2024-01-31") == "/reports/2024-01-31"
        long = route_template("/" + "seg/" * 500)
        assert len(long) < 240 and long != route_template("/" + "seg/" * 501)

    def test_response_ids(self) -> None:
        body = {"data": [{"id": 7, "owner_id": "42", "orderId": "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
                          "flag": True, "ratio": 1.5, "name": "x"},
                         {"id": True, "uuid": "not an id", "nested": {"user_id": 8}}],
                "next_id": None}
        assert response_object_ids(body) == ("7", "42", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "8")
        assert response_object_ids([{"id": i} for i in range(1000)], limit=5) == ("0", "1", "2", "3", "4")
        assert response_object_ids("just text") == ()

    def test_response_ids_on_hostile_documents(self) -> None:
        deep: object = {"id": 1}
        for _ in range(100_000):
            deep = {"child": deep}
        assert response_object_ids(deep) == ()  # the id sits below the depth limit
        wide = {"items": [{"id": i} for i in range(200_000)]}
        assert len(response_object_ids(wide, limit=1_000_000)) < 20_000


@pytest.fixture(scope="module")
def geo() -> CountryLookup:
    return CountryLookup()


class TestCountryLookup:
    @pytest.mark.parametrize(
        ("address", "country"),
        [("8.8.8.8", "US"), ("81.2.69.142", "GB"), ("::ffff:8.8.8.8", "US"), ("2a00:1450:4001:80b::200e", "DE")],
    )
    def test_public_addresses(self, geo: CountryLookup, address: str, country: str) -> None:
        assert geo.country(address) == country

    @pytest.mark.parametrize(
        "address",
        ["10.0.0.1", "127.0.0.1", "::1", "100.64.0.1", "192.168.1.1", "2001:db8::1", "fe80::1%eth0", "0.0.0.0",
         "garbage", "", "1", "127.1", "300.1.1.1", "8.8.8.8\x00", "8.8.8.8/24", "x" * 10_000, None, 12345, b"8.8.8.8"],
    )
    def test_private_reserved_and_garbage_give_none(self, geo: CountryLookup, address: object) -> None:
        assert geo.country(address) is None

    def test_lookups_are_cached(self, geo: CountryLookup) -> None:
        geo.country("9.9.9.9")
        hits = geo.cache_info().hits
        geo.country("9.9.9.9")
        assert geo.cache_info().hits == hits + 1

    def test_one_database_per_process(self, geo: CountryLookup) -> None:
        with pytest.raises(ValueError, match="one database per process"):
            CountryLookup(data_file="geoip2fast.dat.gz")
