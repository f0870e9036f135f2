"""Where the inventory lives between restarts and across replicas.

- A file (`save` / `load`): the memory store's snapshot, JSON with a version field, written
  atomically (a temporary file, then a rename). A file that cannot be read is renamed `.corrupt`
  and the inventory starts empty: a bad file must not stop the gateway.
- Redis (`RedisInventoryStore`): each replica writes its own records into its own hash,
  `<prefix>inventory:<replica_id>` (field: a digest of service, method and route; value: the
  record's state), and reads every replica's hash to merge them. A replica's hash mirrors its
  memory exactly (records that compaction merged away are deleted), so the sum over replicas
  counts every call once; on restart a replica loads its own hash back.

Records hold names, types, counts and keyed hashes only (see `record.py`), so neither holds a raw value.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from otel_apisec.estate.record import EndpointRecord

__all__ = ["FORMAT_VERSION", "MAX_RECORDS_PER_REPLICA", "RedisInventoryStore", "load", "save"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_RECORDS_PER_REPLICA = 200_000
"""Records read from one replica's hash at most (a bound on the merge's memory and time)."""
MAX_REPLICAS = 256
"""Replica hashes merged at most."""
REPLICA_TTL_S = 30 * 86400
"""A replica hash no flush has refreshed for this long goes (a replica that is gone for good)."""
LEASE_S = 60.0
"""How long a replica's claim on its id outlives its last flush (a process killed without closing)."""
_LOG_EVERY_S = 60.0

Records = dict[str, list[EndpointRecord]]
"""Records by service."""


# --- the memory store's file ------------------------------------------------------------------
def save(path: str | Path, records: Mapping[str, Iterable[EndpointRecord]]) -> None:
    """Write `records` (by service) to `path` atomically: readers see the old file or the new one."""
    target = Path(path)
    document = {"version": FORMAT_VERSION, "saved_at": time.time(),
                "services": {service: [r.to_state() for r in rs] for service, rs in records.items()}}
    data = orjson.dumps(document)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: str | Path) -> Records:
    """The records saved at `path` ({} when there is no file). A file that cannot be read is kept
    as `<path>.corrupt`, with a warning, and {} returned."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        document = orjson.loads(data)
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise ValueError(f"not an inventory file of version {FORMAT_VERSION}")
        return {str(service): [EndpointRecord.from_state(state) for state in states]
                for service, states in dict(document["services"]).items()}
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # orjson.JSONDecodeError is a ValueError
        corrupt = source.with_name(source.name + ".corrupt")
        try:
            os.replace(source, corrupt)
        except OSError:
            corrupt = source
        log.warning("inventory file %s cannot be read (%s: %s); kept as %s, starting empty",
                    source, type(error).__name__, error, corrupt)
        return {}


# --- Redis --------------------------------------------------------------------------------------
def field_of(service: str, method: str, route: str) -> str:
    """A record's hash field: fixed length, whatever the route."""
    return hashlib.blake2b(f"{service}\0{method}\0{route}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class RedisInventoryStore:
    """The inventory in Redis, one hash per replica. Never raises a Redis error: failures are
    counted in `errors` and logged at most once a minute; the caller keeps its memory state."""

    def __init__(self, url: str, prefix: str, replica_id: str, timeout_s: float = 2.0,
                 max_records: int = MAX_RECORDS_PER_REPLICA, lease_s: float = LEASE_S) -> None:
        import redis

        self.prefix = prefix
        self.max_records = max_records
        self.lease_s = lease_s
        self._nonce = secrets.token_hex(8)
        self._redis_error = redis.RedisError
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self.errors = 0
        self._logged_at = -_LOG_EVERY_S
        self.replica_id = self._claim(replica_id)
        self.key = f"{prefix}inventory:{self.replica_id}"
        self.writes = 0
        self._written: dict[str, tuple[str, int]] = {}
        """field -> (service, calls) as last written: unchanged records are not written again."""

    def _lease_key(self, replica_id: str) -> str:
        return f"{self.prefix}inventory-lease:{replica_id}"

    def _claim(self, replica_id: str) -> str:
        """`replica_id`, or `replica_id-N` while another live process holds it: two gateways on one
        host share its default id, and two writers on one hash would each erase the other's records.
        A lease lives `lease_s` unless renewed (every flush) and is released at close, so a restarted
        replica gets its own id, and its own records, back."""
        try:
            for n in range(MAX_REPLICAS):
                candidate = replica_id if n == 0 else f"{replica_id}-{n}"
                if self._client.set(self._lease_key(candidate), self._nonce, nx=True, ex=max(1, round(self.lease_s))):
                    return candidate
        except self._redis_error as error:
            self._failed("lease", error)
        return replica_id

    def _failed(self, operation: str, error: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY_S:
            self._logged_at = now
            log.warning("inventory store: redis %s failed (%d failures so far; logged once a minute): %s: %s",
                        operation, self.errors, type(error).__name__, error)

    def load_own(self) -> Records:
        """This replica's records as it last wrote them ({} on failure)."""
        try:
            records = self._read_hash(self.key)
        except self._redis_error as error:
            self._failed("load", error)
            return {}
        for service, rs in records.items():
            for r in rs:
                self._written[field_of(service, r.method, r.route)] = (service, r.calls)
        return records

    def flush(self, records: Mapping[str, Iterable[EndpointRecord]], services: Iterable[str] | None = None) -> bool:
        """Make this replica's hash mirror `records`: write the records whose call count changed,
        delete the fields of records no longer there. `services`: only these changed (None: all)."""
        touched = set(records) if services is None else set(services)
        current: dict[str, tuple[str, EndpointRecord]] = {}
        for service in touched:
            for record in records.get(service, ()):
                current[field_of(service, record.method, record.route)] = (service, record)
        changed = {f: (s, r) for f, (s, r) in current.items() if self._written.get(f) != (s, r.calls)}
        gone = [f for f, (s, _) in self._written.items() if s in touched and f not in current]
        try:
            pipe = self._client.pipeline(transaction=True)
            if changed:
                pipe.hset(self.key, mapping={f: orjson.dumps({"service": s, "record": r.to_state()})
                                             for f, (s, r) in changed.items()})
            if gone:
                pipe.hdel(self.key, *gone)
            pipe.expire(self.key, REPLICA_TTL_S)
            pipe.set(self._lease_key(self.replica_id), self._nonce, ex=max(1, round(self.lease_s)))
            pipe.execute()
        except self._redis_error as error:
            self._failed("flush", error)
            return False
        for f, (s, r) in changed.items():
            self._written[f] = (s, r.calls)
        for f in gone:
            del self._written[f]
        self.writes += len(changed)
        return True

    def read_all(self, exclude_own: bool = False) -> Records | None:
        """Every replica's records, by service (one service's records from several replicas are
        merged by `build_estate`); None on failure."""
        merged: Records = {}
        try:
            keys = []
            for key in self._client.scan_iter(match=f"{_glob_escape(self.prefix)}inventory:*", count=500):
                name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
                if exclude_own and name == self.key:
                    continue
                keys.append(name)
                if len(keys) >= MAX_REPLICAS:
                    break
            for name in sorted(keys):
                for service, rs in self._read_hash(name).items():
                    merged.setdefault(service, []).extend(rs)
        except self._redis_error as error:
            self._failed("read", error)
            return None
        return merged

    def _read_hash(self, key: str) -> Records:
        records: Records = {}
        read = 0
        for _field, value in self._client.hscan_iter(key, count=500):
            if read >= self.max_records:
                log.warning("inventory store: %s holds more than %d records; the rest are not read", key, self.max_records)
                break
            read += 1
            try:
                item: Any = orjson.loads(value)
                record = EndpointRecord.from_state(item["record"])
                records.setdefault(str(item["service"]), []).append(record)
            except (ValueError, TypeError, KeyError, AttributeError):
                self.errors += 1  # one bad field (another version, a hand edit) costs that record only
        return records

    def close(self) -> None:
        try:
            lease = self._lease_key(self.replica_id)
            if self._client.get(lease) == self._nonce.encode():
                self._client.delete(lease)
        except self._redis_error as error:
            self._failed("release", error)
        self._client.close()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
