"""The `apisec/inventory` processor: every enriched HTTP server span becomes `CallFacts`, added to
the `Inventory`. It reads spans and never changes them.

Where the inventory lives:
- memory (default), saved to `persist_path` every interval and at shutdown, loaded at start;
- Redis: this replica's records go to its own hash every interval (only those that changed); a
  snapshot merges every replica's hash (this replica's own from memory, which is newer).

Never breaks the pipeline: a span it fails on is counted by the runner and goes on unchanged; a
store that fails is counted (`store_errors`) and the inventory carries on in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from otel_apisec.estate import store as files
from otel_apisec.estate.inventory import Estate, Inventory, build_estate
from otel_apisec.estate.record import EndpointRecord
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.runner import ProcessorCounts, SpanHandler, SpanView, TraceBatch, process_spans
from otel_apisec.gateway.span_facts import call_facts_of

if TYPE_CHECKING:
    from otel_apisec.estate.spec import ApiSpec
    from otel_apisec.estate.store import RedisInventoryStore

__all__ = ["METRICS_SNAPSHOT_MAX_AGE_S", "InventoryProcessor"]

log = logging.getLogger(__name__)

METRICS_SNAPSHOT_MAX_AGE_S = 10.0
"""The metrics read a snapshot at most this old: a scrape must not rebuild the estate every time."""


class InventoryProcessor:
    """Adds the call each HTTP server span describes to `inventory`."""

    mask_strictly = None

    def __init__(
        self,
        inventory: Inventory,
        specs: Mapping[str, ApiSpec] | None = None,
        redis: RedisInventoryStore | None = None,
        persist_path: str | None = None,
        interval_s: float = 60.0,
    ) -> None:
        self.inventory = inventory
        self.specs: dict[str, ApiSpec] = dict(specs or {})
        self.redis = redis
        self.persist_path = None if redis is not None else persist_path
        self.counts = ProcessorCounts()
        self.observed = 0
        self.store_errors = 0
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._cached: tuple[float, Estate] | None = None
        self._cache_lock = threading.Lock()
        self._stop = threading.Event()
        self._load()
        self._thread: threading.Thread | None = None
        if self.redis is not None or self.persist_path:
            self._thread = threading.Thread(target=self._run, args=(interval_s,), name="apisec-inventory", daemon=True)
            self._thread.start()

    # --- spans --------------------------------------------------------------------------------
    def process(self, signal: Signal, request: Request) -> Request | None:
        return process_spans(self, signal, request)

    def spans(self, batch: TraceBatch) -> AbstractContextManager[SpanHandler]:
        return nullcontext(self._span)

    def _span(self, view: SpanView) -> bool:
        facts = call_facts_of(view)
        if facts is not None:
            self.inventory.add(facts)
            with self._lock:
                self.observed += 1
                self._dirty.add(facts.service)
        return True

    # --- reading ------------------------------------------------------------------------------
    def snapshot(self, now: float | None = None) -> Estate:
        """The estate now: this replica's inventory, merged with every other replica's when in Redis."""
        records = self.inventory.records()
        if self.redis is not None:
            others = self.redis.read_all(exclude_own=True)  # None: Redis failed (counted there); this replica's alone
            if others is not None:
                for service, rs in others.items():
                    records.setdefault(service, []).extend(rs)
        return build_estate(records, self.specs, now)

    def metrics_snapshot(self) -> Estate:
        """`snapshot()`, reused for `METRICS_SNAPSHOT_MAX_AGE_S` (scrapes and metric exports share it)."""
        with self._cache_lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > METRICS_SNAPSHOT_MAX_AGE_S:
                self._cached = (now, self.snapshot())
            return self._cached[1]

    def stats(self) -> dict[str, int]:
        redis_errors = self.redis.errors if self.redis is not None else 0
        return {**self.counts.stats(), "observed": self.observed, "dropped_calls": self.inventory.dropped_calls,
                "store_errors": self.store_errors + redis_errors}

    # --- persistence --------------------------------------------------------------------------
    def _load(self) -> None:
        loaded: dict[str, list[EndpointRecord]] = {}
        if self.redis is not None:
            loaded = self.redis.load_own()
        elif self.persist_path:
            try:
                loaded = files.load(self.persist_path)
            except OSError as error:
                self.store_errors += 1
                log.warning("apisec/inventory: cannot read %s (%s); starting empty", self.persist_path, error)
        for service, records in loaded.items():
            self.inventory.merge_records(service, records)

    def flush(self) -> None:
        """Write what changed: this replica's records to Redis, or the whole inventory to the file."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        if not dirty:
            return
        try:
            records = self.inventory.records()
            if self.redis is not None:
                if not self.redis.flush(records, dirty):
                    self._redo(dirty)
            elif self.persist_path:
                files.save(self.persist_path, records)
        except Exception as error:  # a full disk, a bug: counted, retried next time, never raised into the pipeline
            self.store_errors += 1
            self._redo(dirty)
            log.warning("apisec/inventory: saving the inventory failed (%d failures so far): %s: %s",
                        self.store_errors, type(error).__name__, error)

    def _redo(self, services: set[str]) -> None:
        with self._lock:
            self._dirty |= services

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.flush()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the background writer and write a last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.flush()
        if self.redis is not None:
            self.redis.close()
