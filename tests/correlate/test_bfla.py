"""BFLA's learned signal (`abuse.bfla`, evidence signal `learned_privileged_operation`): operations
only privileged principals succeed on, learned per method and route, then answered 2xx to someone
else: the evidence, the limits (public after a few users, forgotten after the window), bounds,
hostile input and what reaches Redis. The firing and non-firing cases are the table's
(tests/cases/abuse.py, played by tests/correlate/test_traffic_cases.py)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.stores.memory import MemoryStore
from otel_apisec.correlate.stores.redis import RedisStore
from otel_apisec.testing.redis import RedisServer, redis_server  # noqa: F401
from tests.cases.abuse import ADMINS, KEY, USERS, admin_routine, call

EXPORT = ("POST", "/api/reports/export")
LEARNED = "learned_privileged_operation"


class Clock:
    """The memory store's TTL clock (marks and claims expire on it), moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def engine(store: StateStore | None = None, **options: Any) -> Correlation:
    return Correlation(CorrelationConfig(correlators=("bfla",), **options),
                       store if store is not None else MemoryStore(), hmac_key=KEY)


def run(correlation: Correlation, calls: list[Observation] | tuple[Observation, ...]) -> list[CorrelationFinding]:
    return [f for obs in calls for f in correlation.observe(obs)]


class TestLearnedSignal:
    def test_finding_carries_pseudonyms_and_counts_only(self) -> None:
        """The evidence says why (the counts that made the operation privileged-only), with the
        caller's pseudonym as the subject and nothing raw: no path, no object ID."""
        calls = [*admin_routine(*EXPORT), call(100, USERS[0], "POST", "/api/reports/export",
                                               path="/api/reports/export?secret=s3cr3t-v4lue")]
        [finding] = run(engine(), calls)
        assert finding.rule.kind == "abuse.bfla" and finding.rule.owasp == "API5:2023"
        assert finding.evidence == {
            "signal": LEARNED, "status": 200, "privileged_successes": 20, "privileged_principals_required": 2,
            "non_privileged_principals": 1, "public_after": 3, "window_s": 7 * 86_400.0,
        }
        record = finding.record()
        assert record["route"] == "/api/reports/export" and record["method"] == "POST"
        assert "s3cr3t" not in str(record)

    def test_public_after_a_few_users(self) -> None:
        """The first `bfla_operation_public_after` distinct users are reported; the next one makes
        the operation public, and nobody is reported on it after that (a feature opened to users)."""
        calls = admin_routine(*EXPORT)
        calls += [call(100 + i, user, *EXPORT) for i, user in enumerate(USERS)]
        calls += [call(200, USERS[0], *EXPORT)]
        findings = run(engine(cooldown_s=0.001), calls)
        assert [f.subject["enduser.pseudo.id"] for f in findings] == list(USERS[:3])
        assert [f.evidence["non_privileged_principals"] for f in findings] == [1, 2, 3]

    def test_public_operation_stays_public_for_admins(self) -> None:
        """Admins using a public operation do not make it privileged-only again."""
        calls = [*admin_routine(*EXPORT, each=2), call(50, USERS[0], *EXPORT), *admin_routine(*EXPORT, start=60),
                 call(200, USERS[1], *EXPORT)]
        assert run(engine(), calls) == []

    def test_once_per_principal_per_cooldown(self) -> None:
        """Repeating the call, or calling a second admin-only operation, is the same incident."""
        calls = [*admin_routine(*EXPORT), *admin_routine("DELETE", "/api/reports/{id}", start=30)]
        calls += [call(100, USERS[0], *EXPORT), call(101, USERS[0], *EXPORT), call(102, USERS[0], "DELETE",
                                                                                     "/api/reports/{id}")]
        assert len(run(engine(), calls)) == 1

    def test_privileged_only_is_forgotten_after_the_window(self) -> None:
        """Learned from the last `bfla_operation_window_s`: old admin traffic teaches nothing, and
        users' use stops making an operation public once a window passed without it."""
        clock = Clock()
        window = 3600.0
        correlation = engine(MemoryStore(clock=clock), bfla_operation_window_s=window)
        assert run(correlation, admin_routine(*EXPORT)) == []
        clock.now += 2 * window
        assert run(correlation, [call(2 * window + 100, USERS[0], *EXPORT)]) == []  # forgotten; now public
        clock.now += 2 * window
        later = admin_routine(*EXPORT, start=4 * window + 200)
        assert len(run(correlation, [*later, call(4 * window + 300, USERS[1], *EXPORT)])) == 1

    def test_statically_privileged_routes_keep_their_own_signal(self) -> None:
        """A user's 2xx on `/admin/...` is the profile signal's (after the learning period), never
        this one: the learned signal looks at routes without a privileged segment."""
        calls = [call(i, USERS[0], "GET", "/api/products") for i in range(101)]
        calls += [*admin_routine("GET", "/admin/reports", start=200), call(300, USERS[0], "GET", "/admin/reports")]
        findings = run(engine(), calls)
        assert [f.evidence["signal"] for f in findings] == ["outside_profile"]

    def test_login_is_not_an_operation(self) -> None:
        """A login's principal is the account tried, not a caller: logins teach nothing."""
        logins = [call(i, admin, "POST", "/api/session", is_login=True, login_succeeded=True)
                  for i, admin in enumerate(ADMINS[:2] * 10)]
        calls = [*admin_routine("GET", "/api/products", each=0), *logins,
                 call(100, USERS[0], "POST", "/api/session", is_login=True, login_succeeded=True)]
        assert run(engine(), calls) == []


class TestConfig:
    def test_options_are_checked(self) -> None:
        assert CorrelationConfig(bfla_operation_privileged_principals=0).bfla_operation_privileged_principals == 0
        for name, value in (("bfla_operation_privileged_principals", -1), ("bfla_operation_successes", 0),
                            ("bfla_operation_public_after", 0), ("bfla_operation_window_s", 0.0)):
            with pytest.raises(ValueError, match=name):
                CorrelationConfig.from_mapping({name: value})


class TestBounds:
    def test_bounded_memory_under_many_operations_and_users(self) -> None:
        """A flood of one-off operations and principals stays within the memory store's key cap."""
        store = MemoryStore(max_keys=2_000)
        correlation = engine(store)
        for i in range(5_000):
            correlation.observe(call(i, f"{i:032x}", "POST", f"/api/x{i}/run"))
        assert len(store) <= 2_000

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(
        st.one_of(st.none(), st.sampled_from(ADMINS + USERS), st.text(max_size=300)),
        st.one_of(st.sampled_from(["GET", "POST", "DELETE"]), st.text(max_size=40)),
        st.one_of(st.sampled_from(["/api/reports/export", "/admin/x", "/api/orders"]), st.text(max_size=3000)),
        st.one_of(st.none(), st.integers(min_value=-1, max_value=1_000)),
        st.booleans(),
    ), max_size=40), st.sampled_from([None, (ADMINS[0],)]))
    def test_hostile_input(self, calls: list[tuple[str | None, str, str, int | None, bool]],
                           admins: tuple[str, ...] | None) -> None:
        """Any principal, method and route text, any status: no exception, bounded time per call,
        and any finding of the learned signal names a principal and holds numbers only."""
        options: dict[str, Any] = {"bfla_operation_successes": 1, "bfla_operation_privileged_principals": 1}
        if admins:
            options["bola_admin_principals"] = admins
        correlation = engine(**options)
        for i, (who, method, route, status, login) in enumerate(calls):
            obs = Observation(time_s=1_767_254_400.0 + i, method=method, route=route, path=route, status=status,
                              principal=who, service="s", is_login=login,
                              auth_outcome="success" if who else "anonymous")
            started = time.perf_counter()
            findings = correlation.observe(obs)
            assert time.perf_counter() - started < 0.25
            for finding in findings:
                if finding.evidence["signal"] == LEARNED:
                    assert finding.subject == {"enduser.pseudo.id": who}
                    assert all(isinstance(v, (int, float)) for k, v in finding.evidence.items() if k != "signal")


class TestRedis:
    def test_redis_holds_keyed_hashes_only(self, redis_server: RedisServer) -> None:  # noqa: F811
        """Keys and members reach Redis as keyed hashes: no route, method or pseudonym in clear."""
        prefix = f"t{uuid.uuid4().hex[:8]}:"
        store = RedisStore(redis_server.url, prefix=prefix, hmac_key=KEY)
        try:
            findings = run(engine(store), [*admin_routine(*EXPORT), call(100, USERS[0], *EXPORT)])
            assert [f.evidence["signal"] for f in findings] == [LEARNED]
            keys = [str(k) for k in store._client.keys(prefix + "*")]
            assert len(keys) > 5
            clear = ("reports", "export", "POST", "shop-api", *ADMINS, *USERS)
            assert not any(word in key for key in keys for word in clear), keys
        finally:
            store.close()
