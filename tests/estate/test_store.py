"""The inventory's persistence: the memory store's file and the Redis hashes per replica."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from otel_apisec.estate import store
from otel_apisec.estate.facts import CallFacts
from otel_apisec.estate.record import EndpointRecord
from otel_apisec.testing.redis import RedisServer, redis_server  # noqa: F401 - the session fixture


def _record(route: str, calls: int, method: str = "GET") -> EndpointRecord:
    record = EndpointRecord(method, route, True)
    for i in range(calls):
        record.add(CallFacts("shop", method, route, route, 1_700_000_000.0 + i, 12.0, 200, trace_id="ab" * 16,
                             span_id="cd" * 8))
    return record


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "inventory.json"
    store.save(path, {"shop": [_record("/items/{id}", 3), _record("/cart", 1, "POST")]})
    loaded = store.load(path)
    assert sorted((r.method, r.route, r.calls) for r in loaded["shop"]) == [("GET", "/items/{id}", 3), ("POST", "/cart", 1)]
    assert [p.name for p in tmp_path.iterdir()] == ["inventory.json"]  # the temporary file was renamed over


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert store.load(tmp_path / "absent.json") == {}


@pytest.mark.parametrize("content", [b"{not json", b'{"version": 99, "services": {}}', b"[1, 2]",
                                     b'{"version": 1, "services": {"shop": [{"route": "/x"}]}}'])
def test_corrupt_file_is_kept_aside_and_inventory_starts_empty(tmp_path: Path, content: bytes,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "inventory.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert store.load(path) == {}
    assert not path.exists()
    assert (tmp_path / "inventory.json.corrupt").read_bytes() == content
    assert "cannot be read" in caplog.text


def test_replicas_write_their_own_hash_and_reads_merge(redis_server: RedisServer) -> None:  # noqa: F811
    a = store.RedisInventoryStore(redis_server.url, "test-store-merge:", "a")
    b = store.RedisInventoryStore(redis_server.url, "test-store-merge:", "b")
    assert a.flush({"shop": [_record("/items/{id}", 2)]})
    assert b.flush({"shop": [_record("/items/{id}", 3), _record("/cart", 1)]})
    merged = a.read_all()
    assert merged is not None
    assert sorted((r.route, r.calls) for r in merged["shop"]) == [("/cart", 1), ("/items/{id}", 2), ("/items/{id}", 3)]
    others = a.read_all(exclude_own=True)
    assert others is not None and sorted(r.calls for r in others["shop"]) == [1, 3]
    # While b lives, a second process asking for its id gets another one (two writers on one hash
    # would erase each other's records) ...
    twin = store.RedisInventoryStore(redis_server.url, "test-store-merge:", "b")
    assert twin.replica_id == "b-1" and twin.load_own() == {}
    twin.close()
    # ... and once b has stopped, a restarted b gets its id and its own hash back.
    b.close()
    again = store.RedisInventoryStore(redis_server.url, "test-store-merge:", "b")
    assert again.replica_id == "b"
    own = again.load_own()
    assert sorted((r.route, r.calls) for r in own["shop"]) == [("/cart", 1), ("/items/{id}", 3)]
    for s in (a, again):
        s.close()


def test_flush_writes_only_changes_and_deletes_what_compaction_merged(redis_server: RedisServer) -> None:  # noqa: F811
    s = store.RedisInventoryStore(redis_server.url, "test-store-changes:", "r1")
    assert s.flush({"shop": [_record("/a", 1), _record("/b", 1)]})
    assert s.writes == 2
    assert s.flush({"shop": [_record("/a", 1), _record("/b", 2)]})
    assert s.writes == 3  # /a unchanged: not written again
    assert s.flush({"shop": [_record("/a", 1)]})  # /b merged away
    merged = s.read_all()
    assert merged is not None and [(r.route, r.calls) for r in merged["shop"]] == [("/a", 1)]
    s.close()


def test_read_is_bounded_per_replica(redis_server: RedisServer) -> None:  # noqa: F811
    s = store.RedisInventoryStore(redis_server.url, "test-store-bound:", "r1", max_records=5)
    assert s.flush({"shop": [_record(f"/r{i}", 1) for i in range(20)]})
    merged = s.read_all()
    assert merged is not None and len(merged["shop"]) == 5
    s.close()


def test_redis_down_is_counted_never_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from otel_apisec.testing.servers import free_port

    s = store.RedisInventoryStore(f"redis://127.0.0.1:{free_port()}/0", "x:", "r1", timeout_s=0.2)
    with caplog.at_level(logging.WARNING):
        assert s.flush({"shop": [_record("/a", 1)]}) is False
        assert s.read_all() is None
        assert s.load_own() == {}
    assert s.errors == 4  # the lease at start, then flush, read and load
    assert caplog.text.count("redis") == 1  # logged once a minute, not per failure
    s.close()
