"""State stores: one contract suite run against `MemoryStore` and against `RedisStore` on a real
redis-server, then what is particular to each (the memory store's bounds and index, Redis's
replicas, TTLs and failures)."""

from __future__ import annotations

import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from otel_apisec.correlate.api import StateStore, StateStoreError
from otel_apisec.correlate.sketch import WindowedHLL
from otel_apisec.correlate.stores.memory import EXACT_LIMIT, MemoryStore, _Table
from otel_apisec.correlate.stores.redis import RedisStore
from otel_apisec.correlate.windows import COUNT_BUCKETS, DISTINCT_BUCKETS
from otel_apisec.testing.redis import RedisServer, redis_server, run_redis  # noqa: F401 (the fixture)
from otel_apisec.testing.servers import free_port

T0 = 1_700_000_040.0  # a bucket boundary: divisible by the 10 s and 15 s buckets of a 60 s window
WINDOW = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Subject:
    """A store under test and a way to let TTL time pass: the memory store's clock is moved, Redis
    (wall-clock TTLs) is waited on."""

    store: StateStore
    pass_time: Callable[[float], None]
    make_replica: Callable[[], StateStore]


def _memory_subject() -> Subject:
    clock = FakeClock()
    store = MemoryStore(clock=clock)

    def pass_time(seconds: float) -> None:
        clock.now += seconds

    return Subject(store, pass_time, lambda: store)


@pytest.fixture(params=["memory", "redis"])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    if request.param == "memory":
        made = _memory_subject()
        yield made
        made.store.close()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = f"test:{uuid.uuid4().hex}:"
    stores = [RedisStore(server.url, prefix=prefix)]

    def replica() -> StateStore:
        stores.append(RedisStore(server.url, prefix=prefix))
        return stores[-1]

    yield Subject(stores[0], time.sleep, replica)
    for store in stores:
        store.close()


def in_window(event_times: list[float], now: float, window_s: float, buckets: int) -> int:
    """The documented window: events whose bucket lies in (b - buckets, b], b the bucket of `now`."""
    width = window_s / buckets
    current = int(now // width)
    return sum(1 for t in event_times if current - buckets < int(t // width) <= current)


# ---------------------------------------------------------------------------------------------
# The contract, for every store


class TestContract:
    def test_count_adds_amounts_per_key(self, subject: Subject) -> None:
        store = subject.store
        assert store.count("a", T0, WINDOW) == 1
        assert store.count("a", T0 + 1, WINDOW, amount=4) == 5
        assert store.count("b", T0 + 1, WINDOW) == 1
        assert store.peek_count("a", T0 + 2, WINDOW) == 5
        assert store.peek_count("never", T0, WINDOW) == 0

    def test_count_window_slides_bucket_by_bucket(self, subject: Subject) -> None:
        store, times = subject.store, []
        for step in range(40):
            now = T0 + step * 7.0
            times.append(now)
            assert store.count("slide", now, WINDOW) == in_window(times, now, WINDOW, COUNT_BUCKETS), now
        assert store.peek_count("slide", times[-1] + WINDOW + 1, WINDOW) == 0

    def test_peek_does_not_add(self, subject: Subject) -> None:
        store = subject.store
        for _ in range(3):
            store.count("p", T0, WINDOW)
        assert [store.peek_count("p", T0 + 1, WINDOW) for _ in range(3)] == [3, 3, 3]
        assert store.count("p", T0 + 1, WINDOW) == 4

    def test_distinct_counts_members_once(self, subject: Subject) -> None:
        store = subject.store
        got = [store.distinct("accounts", member, T0 + i, WINDOW) for i, member in enumerate("abcabcd")]
        assert got == [1, 2, 3, 3, 3, 3, 4]

    def test_distinct_members_age_out(self, subject: Subject) -> None:
        store = subject.store
        for i in range(5):
            store.distinct("old", f"m{i}", T0, WINDOW)
        # One window later the first five are out; only the new member counts.
        assert store.distinct("old", "new", T0 + WINDOW + 1, WINDOW) == 1
        seen: list[tuple[float, str]] = []
        for step in range(30):
            now = T0 + 1000 + step * 5.0
            seen.append((now, f"s{step % 20}"))
            live = {m for t, m in seen if in_window([t], now, WINDOW, DISTINCT_BUCKETS)}
            assert store.distinct("slide", f"s{step % 20}", now, WINDOW) == len(live), now

    def test_a_late_call_sees_the_window_of_its_own_time(self, subject: Subject) -> None:
        """Spans arrive out of order: a call whose `now` is a bucket behind the newest one answers
        for the window ending at its own `now`, and still counts towards the newest window."""
        store = subject.store
        assert store.count("late", T0 + 30, WINDOW) == 1
        assert store.count("late", T0 + 5, WINDOW) == 1
        assert store.peek_count("late", T0 + 31, WINDOW) == 2
        assert store.distinct("late-set", "a", T0 + 30, WINDOW) == 1
        assert store.distinct("late-set", "b", T0 + 5, WINDOW) == 1
        assert store.distinct("late-set", "a", T0 + 5, WINDOW) == 2
        assert store.distinct("late-set", "c", T0 + 31, WINDOW) == 3

    def test_distinct_estimates_large_sets_within_a_few_percent(self, subject: Subject) -> None:
        store, members = subject.store, 5000
        for i in range(members):
            last = store.distinct("spray", f"account-{i}", T0 + i * 0.001, WINDOW)
        assert abs(last - members) <= 0.05 * members, last

    def test_mark_and_marked_expire(self, subject: Subject) -> None:
        store = subject.store
        store.mark("seen", "token-hash-1", ttl_s=0.3)
        assert store.marked("seen", "token-hash-1")
        assert not store.marked("seen", "token-hash-2")
        assert not store.marked("other", "token-hash-1")
        subject.pass_time(0.5)
        assert not store.marked("seen", "token-hash-1")

    def test_recent_keeps_the_last_values_oldest_first(self, subject: Subject) -> None:
        store = subject.store
        got = [store.recent("geo", country, limit=3, ttl_s=60) for country in ["DE", "FR", "DE", "US", "BR"]]
        assert got == [["DE"], ["DE", "FR"], ["DE", "FR", "DE"], ["FR", "DE", "US"], ["DE", "US", "BR"]]

    def test_recent_list_expires_after_its_last_append(self, subject: Subject) -> None:
        store = subject.store
        store.recent("geo", "DE", limit=5, ttl_s=0.3)
        assert store.recent("geo", "FR", limit=5, ttl_s=0.3) == ["DE", "FR"]
        subject.pass_time(0.5)
        assert store.recent("geo", "US", limit=5, ttl_s=0.3) == ["US"]

    def test_claim_is_true_once_until_the_ttl_passes(self, subject: Subject) -> None:
        store = subject.store
        assert store.claim("alert:brute:acct-1", ttl_s=0.3)
        assert not store.claim("alert:brute:acct-1", ttl_s=0.3)
        assert store.claim("alert:brute:acct-2", ttl_s=0.3)
        subject.pass_time(0.5)
        assert store.claim("alert:brute:acct-1", ttl_s=0.3)

    @pytest.mark.parametrize(("call", "named"), [
        (lambda s: s.count("k", T0, 0), "window_s"),
        (lambda s: s.count("k", T0, -5.0), "window_s"),
        (lambda s: s.count("k", float("nan"), WINDOW), "now"),
        (lambda s: s.count("k", T0, WINDOW, amount=-1), "amount"),
        (lambda s: s.distinct("k", "m", T0, float("inf")), "window_s"),
        (lambda s: s.mark("k", "m", ttl_s=0), "ttl_s"),
        (lambda s: s.recent("k", "v", limit=0, ttl_s=1), "limit"),
        (lambda s: s.recent("k", "v", limit=10**6, ttl_s=1), "limit"),
        (lambda s: s.claim("k", ttl_s=-1), "ttl_s"),
    ])
    def test_bad_arguments_are_named(self, subject: Subject, call: Callable[[StateStore], object], named: str) -> None:
        with pytest.raises(ValueError, match=named):
            call(subject.store)

    def test_concurrent_callers_and_replicas_agree(self, subject: Subject) -> None:
        """Eight threads over two replicas (the same store for memory): no update is lost, and
        exactly one caller wins a claim."""
        replicas = [subject.store, subject.make_replica()]
        wins: list[bool] = []
        lock = threading.Lock()

        def work(worker: int) -> None:
            store = replicas[worker % 2]
            for i in range(100):
                store.count("hits", T0 + i * 0.01, WINDOW)
                store.distinct("who", f"w{worker}-{i % 10}", T0, WINDOW)
            won = store.claim("incident", ttl_s=60)
            with lock:
                wins.append(won)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert replicas[0].peek_count("hits", T0 + 2, WINDOW) == replicas[1].peek_count("hits", T0 + 2, WINDOW) == 800
        assert replicas[1].distinct("who", "w0-0", T0, WINDOW) == 80
        assert sorted(wins) == [False] * 7 + [True]


# ---------------------------------------------------------------------------------------------
# MemoryStore: bounds, eviction, the index


class TestMemoryBounds:
    def test_key_cap_holds_and_evictions_are_counted(self) -> None:
        store = MemoryStore(max_keys=1000)
        for i in range(100_000):
            store.count(f"client:{i}", T0, WINDOW)
            assert len(store) <= 1000
        assert len(store) == 1000
        assert store.evictions == 99_000

    def test_recently_used_keys_survive_a_flood(self) -> None:
        store = MemoryStore(max_keys=500)
        for i in range(20_000):
            store.count(f"flood:{i}", T0, WINDOW)
            if i % 50 == 0:
                store.count("hot", T0, WINDOW)
        assert store.peek_count("hot", T0, WINDOW) == 400

    def test_expired_entries_are_freed_before_the_cap_is_reached(self) -> None:
        store = MemoryStore(max_keys=10_000)
        for i in range(2000):
            store.count(f"early:{i}", T0, WINDOW)
        for i in range(2000):
            store.count(f"late:{i}", T0 + 10 * WINDOW, WINDOW)
        assert store.evictions == 0
        assert store.expirations == 2000
        assert len(store) == 2000

    def test_marks_and_claims_expire_on_the_clock(self) -> None:
        clock = FakeClock()
        store = MemoryStore(clock=clock)
        for i in range(100):
            store.mark("m", str(i), ttl_s=10)
            store.claim(f"c{i}", ttl_s=10)
        clock.now += 11
        for i in range(100):
            store.mark("fresh", str(i), ttl_s=10)
        assert not store.marked("m", "0")
        assert len(store) < 200 + 100  # the sweep freed expired marks and claims on the way

    def test_value_budget_holds_for_sets_and_lists(self) -> None:
        budget = 64 * 1024
        store = MemoryStore(max_value_bytes=budget)
        for client in range(400):
            for member in range(20):
                store.distinct(f"accounts:{client}", f"user{member}", T0, WINDOW)
                store.recent(f"paths:{client}", f"/api/items/{member:08d}", limit=20, ttl_s=60)
            assert store._sets.value_bytes + store._recent.value_bytes <= budget
        assert store.evictions > 0
        assert store._sets.value_bytes > 0 and store._recent.value_bytes > 0  # both kinds still held
        assert store.distinct("accounts:399", "user0", T0, WINDOW) == 20  # the newest set is whole
        assert len(store.recent("paths:399", "/last", limit=21, ttl_s=60)) == 21

    def test_value_budget_below_two_sketches_is_refused(self) -> None:
        with pytest.raises(ValueError, match="max_value_bytes"):
            MemoryStore(max_value_bytes=1024)

    def test_counters_saturate_instead_of_overflowing(self) -> None:
        store = MemoryStore()
        store.count("huge", T0, WINDOW, amount=2**32 - 10)
        assert store.count("huge", T0, WINDOW, amount=100) == 2**32 - 1

    def test_close_empties_the_store(self) -> None:
        store = MemoryStore()
        store.count("a", T0, WINDOW)
        store.close()
        assert len(store) == 0 and store.peek_count("a", T0, WINDOW) == 0


class TestMemorySets:
    def test_a_set_turns_into_a_sketch_past_the_exact_limit(self) -> None:
        store = MemoryStore()
        exact = [store.distinct("spray", f"a{i}", T0, WINDOW) for i in range(EXACT_LIMIT)]
        assert exact == list(range(1, EXACT_LIMIT + 1))
        assert isinstance(store._sets.sets[0], bytes)
        for i in range(EXACT_LIMIT, 20_000):
            last = store.distinct("spray", f"a{i}", T0, WINDOW)
        assert isinstance(store._sets.sets[0], WindowedHLL)
        assert abs(last - 20_000) <= 0.05 * 20_000, last
        # The sketch is windowed too: a window later only the new members count.
        assert store.distinct("spray", "fresh", T0 + WINDOW, WINDOW) == 1

    def test_sketch_repeats_do_not_inflate(self) -> None:
        store = MemoryStore()
        for round_ in range(3):
            for i in range(2000):
                last = store.distinct("repeat", f"x{i}", T0 + round_, WINDOW)
        assert abs(last - 2000) <= 100, last


class TestIndex:
    def test_index_matches_a_dict_under_colliding_inserts_and_removals(self) -> None:
        """Fingerprints share their low bits, so probe runs are long, wrap past the end of the index
        (home at the last position) and removals shift them."""
        rng = random.Random(7)
        table, model = _Table(), {}
        for step in range(20_000):
            fingerprint = (rng.randrange(1, 400) << 20) | rng.choice([0xFFFFF, 0xFFFFE, 3])
            slot = table.find(fingerprint)
            assert (slot != -1) == (fingerprint in model), step
            if slot == -1:
                model[fingerprint] = table.add(fingerprint, expires=0.0)
            else:
                assert slot == model[fingerprint]
                if rng.random() < 0.5:
                    table.remove(slot)
                    del model[fingerprint]
            assert table.size == len(model)
        for fingerprint, slot in model.items():
            assert table.find(fingerprint) == slot


# ---------------------------------------------------------------------------------------------
# RedisStore: TTLs on every key, failures, URLs


class TestRedis:
    def test_every_key_expires(self, request: pytest.FixtureRequest) -> None:
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix = f"ttl:{uuid.uuid4().hex}:"
        store = RedisStore(server.url, prefix=prefix)
        store.count("c", T0, WINDOW)
        store.distinct("d", "m", T0, WINDOW)
        store.mark("m", "x", ttl_s=30)
        store.recent("r", "v", limit=3, ttl_s=30)
        store.claim("k", ttl_s=30)
        store.close()
        client = redis.Redis.from_url(server.url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        assert len(keys) == 5
        assert all(client.ttl(key) > 0 for key in keys), {key: client.ttl(key) for key in keys}
        client.close()

    def test_refused_connection_raises_store_error_quickly(self) -> None:
        store = RedisStore(f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0", timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(StateStoreError) as caught:
            store.count("k", T0, WINDOW)
        assert time.monotonic() - started < 5.0
        assert "s3cret-pass" not in str(caught.value) and "127.0.0.1" in str(caught.value)
        assert store.errors == 1

    def test_silent_server_times_out(self) -> None:
        """A server that accepts but never answers: the call fails after the timeout, not never."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            store = RedisStore(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", timeout_s=0.3)
            started = time.monotonic()
            with pytest.raises(StateStoreError, match="Timeout"):
                store.claim("k", ttl_s=10)
            assert time.monotonic() - started < 5.0

    def test_survives_a_server_restart(self, tmp_path: Path) -> None:
        with run_redis(tmp_path / "first") as first:
            store = RedisStore(first.url, prefix="restart:")
            assert store.count("k", T0, WINDOW) == 1
            port = first.port
        with pytest.raises(StateStoreError):
            store.count("k", T0, WINDOW)
        with run_redis(tmp_path / "second", port=port):
            # A fresh server (no persistence): counting starts over, through the same store object.
            assert store.count("k", T0, WINDOW) == 1
        store.close()

    @pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", ""])
    def test_bad_url_is_rejected(self, url: str) -> None:
        with pytest.raises(ValueError, match="redis url"):
            RedisStore(url)


def test_redis_holds_only_keyed_hashes_of_keys_and_members(redis_server: RedisServer) -> None:  # noqa: F811
    """With an HMAC key (the gateway always sets one), no client address or principal reaches Redis."""
    prefix = f"hashed-{uuid.uuid4().hex[:8]}:"
    store = RedisStore(redis_server.url, prefix=prefix, hmac_key=b"replica-shared-key")
    other = RedisStore(redis_server.url, prefix=prefix, hmac_key=b"replica-shared-key")
    try:
        now = 1_700_000_000.0
        store.count("bf.c|198.51.100.23", now, 600.0)
        store.distinct("cs|198.51.100.23", "account-planted", now, 900.0)
        store.mark("en.known|principal-planted", "4711", 60.0)
        assert store.claim("claim|abuse.brute_force|client.address=198.51.100.23", 60.0)
        # A second replica with the same key sees the same state.
        assert other.count("bf.c|198.51.100.23", now, 600.0) == 2
        assert other.distinct("cs|198.51.100.23", "account-planted", now, 900.0) == 1
        assert other.marked("en.known|principal-planted", "4711")
        assert not other.claim("claim|abuse.brute_force|client.address=198.51.100.23", 60.0)
        client = redis.Redis.from_url(redis_server.url)
        keys = [key.decode() for key in client.scan_iter(match=f"{prefix}*")]
        assert keys and not [k for k in keys if "198.51.100.23" in k or "planted" in k or "4711" in k]
        dump = b"".join(client.dump(key) or b"" for key in keys)
        assert b"account-planted" not in dump
    finally:
        store.close()
        other.close()
