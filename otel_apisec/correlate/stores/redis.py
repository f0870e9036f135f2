"""A `StateStore` in Redis, shared by gateway replicas.

Every operation is one round trip and atomic: a single command, or a Lua script (EVALSHA) where it
takes several, so two replicas that count at once both see consistent totals. (Scripts rather than
MULTI/EXEC pipelines: the same atomicity, half the client-side cost in redis-py.)

Windows are cut into buckets exactly as in `MemoryStore` (see `windows`): one small key per bucket,
named by the bucket number derived from `now`, so explicit `now` values work. A count adds to the
bucket of `now` and sums the window's buckets; a distinct set adds to the bucket's HyperLogLog and
merges the window's with one PFCOUNT. Every key expires: bucket keys live two windows and a minute
of wall-clock time (buckets are chosen by `now`, so the TTL only has to outlast the window, with
room for late spans), marks and claims are `SET ... PX`, recent lists are re-expired on each
append. Any Redis failure, timeout included, raises `StateStoreError`.
"""

from __future__ import annotations

import functools
import math
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from otel_apisec.correlate.api import StateStoreError
from otel_apisec.correlate.windows import (
    COUNT_BUCKETS,
    DISTINCT_BUCKETS,
    bucket_of,
    check_amount,
    check_limit,
    check_positive,
)
from otel_apisec.pseudonym import keyed_hash
from otel_apisec.urls import safe_url

__all__ = ["DEFAULT_PREFIX", "DEFAULT_TIMEOUT_S", "RedisStore"]

DEFAULT_PREFIX = "apisec:"
DEFAULT_TIMEOUT_S = 0.5
"""Connect and read timeout: a correlator waits at most this long (twice, with the one retry)."""
DEFAULT_MAX_CONNECTIONS = 16
_SCHEMES = ("redis", "rediss", "unix")
_LATE_MARGIN_S = 60
"""Wall-clock slack on bucket keys beyond two windows, for spans that arrive late."""

# KEYS: the window's bucket keys, oldest first (the last is the bucket of `now`); ARGV: what to
# add, the bucket TTL in seconds.
_COUNT = """
redis.call('INCRBY', KEYS[#KEYS], ARGV[1])
redis.call('EXPIRE', KEYS[#KEYS], ARGV[2])
local total = 0
for _, value in ipairs(redis.call('MGET', unpack(KEYS))) do
  if value then total = total + tonumber(value) end
end
return total
"""
_DISTINCT = """
redis.call('PFADD', KEYS[#KEYS], ARGV[1])
redis.call('EXPIRE', KEYS[#KEYS], ARGV[2])
return redis.call('PFCOUNT', unpack(KEYS))
"""
# KEYS: the list; ARGV: value, limit, TTL in milliseconds.
_RECENT = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('LRANGE', KEYS[1], 0, -1)
"""


class RedisStore:
    """`StateStore` on a Redis server (`redis://host:port/db`, `rediss://` for TLS, `unix://path`).

    Keys are `<prefix><kind>:...`; use one prefix per deployment. `errors` counts failed calls.

    With `hmac_key` (the gateway always sets one), keys and distinct-set members reach Redis only
    as keyed hashes: a key names a client address or a principal, and Redis is a shared server
    outside the gateway's process. `recent` values (object IDs of a walk) are stored as given."""

    def __init__(
        self,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        hmac_key: bytes | None = None,
    ) -> None:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in _SCHEMES:
            raise ValueError(f"redis url must start with one of {', '.join(s + '://' for s in _SCHEMES)}, "
                             f"got {safe_url(url, keep_path=True)!r}")
        check_positive("timeout_s", timeout_s)
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections must be an int >= 1, got {max_connections!r}")
        self.url = safe_url(url, keep_path=True)  # a database number or socket path: no secret, worth showing
        self.prefix = prefix
        self._hide = functools.partial(keyed_hash, hmac_key) if hmac_key else str
        self.errors = 0
        # A bounded pool: callers wait up to the timeout for a connection, then fail. One retry
        # (no backoff) replaces a pooled connection the server closed; more would only stall.
        self._pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        self._client = redis.Redis(connection_pool=self._pool)
        self._count = self._client.register_script(_COUNT)
        self._distinct = self._client.register_script(_DISTINCT)
        self._recent = self._client.register_script(_RECENT)

    @contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as exc:
            self.errors += 1
            raise StateStoreError(f"redis {operation} on {self.url} failed: {type(exc).__name__}: {exc}") from exc

    def ping(self) -> None:
        """Raise `StateStoreError` unless the server answers (for a readiness check at start-up)."""
        with self._call("ping"):
            self._client.ping()

    # -- windowed counts and distinct sets --------------------------------------------------------

    def _bucket_keys(self, kind: str, key: str, window_s: float, bucket: int, buckets: int) -> list[str]:
        stem = f"{self.prefix}{kind}:{window_s!r}:{self._hide(key)}:"
        return [f"{stem}{b}" for b in range(bucket - buckets + 1, bucket + 1)]

    def count(self, key: str, now: float, window_s: float, amount: int = 1) -> int:
        check_amount(amount)
        keys = self._bucket_keys("c", key, window_s, bucket_of(now, window_s, COUNT_BUCKETS), COUNT_BUCKETS)
        with self._call("count"):
            return int(self._count(keys=keys, args=[amount, _bucket_ttl(window_s)]))

    def peek_count(self, key: str, now: float, window_s: float) -> int:
        keys = self._bucket_keys("c", key, window_s, bucket_of(now, window_s, COUNT_BUCKETS), COUNT_BUCKETS)
        with self._call("peek_count"):
            totals = self._client.mget(keys)
        return sum(int(v) for v in totals if v is not None)

    def distinct(self, key: str, member: str, now: float, window_s: float) -> int:
        keys = self._bucket_keys("d", key, window_s, bucket_of(now, window_s, DISTINCT_BUCKETS), DISTINCT_BUCKETS)
        with self._call("distinct"):
            return int(self._distinct(keys=keys, args=[self._hide(member), _bucket_ttl(window_s)]))

    # -- marks, recent values, claims -------------------------------------------------------------

    def mark(self, key: str, member: str, ttl_s: float) -> None:
        check_positive("ttl_s", ttl_s)
        with self._call("mark"):
            self._client.set(f"{self.prefix}m:{self._hide(key)}:{self._hide(member)}", 1, px=_milliseconds(ttl_s))

    def marked(self, key: str, member: str) -> bool:
        with self._call("marked"):
            return bool(self._client.exists(f"{self.prefix}m:{self._hide(key)}:{self._hide(member)}"))

    def recent(self, key: str, value: str, limit: int, ttl_s: float) -> list[str]:
        check_limit(limit)
        check_positive("ttl_s", ttl_s)
        with self._call("recent"):
            return list(self._recent(keys=[f"{self.prefix}r:{self._hide(key)}"], args=[value, limit, _milliseconds(ttl_s)]))

    def claim(self, key: str, ttl_s: float) -> bool:
        check_positive("ttl_s", ttl_s)
        with self._call("claim"):
            return bool(self._client.set(f"{self.prefix}k:{self._hide(key)}", 1, nx=True, px=_milliseconds(ttl_s)))

    def close(self) -> None:
        self._pool.disconnect()


def _bucket_ttl(window_s: float) -> int:
    return math.ceil(2 * window_s) + _LATE_MARGIN_S


def _milliseconds(ttl_s: float) -> int:
    return max(1, math.ceil(ttl_s * 1000))
