"""Memory of the correlation state: RSS growth of a `MemoryStore` holding N distinct clients.

    .venv/bin/python bench/correlation_memory.py                    # 1,000,000 clients, the "login" mix
    .venv/bin/python bench/correlation_memory.py --clients 100000   # smaller
    .venv/bin/python bench/correlation_memory.py --mix correlators  # the keys the default correlators keep
    .venv/bin/python bench/correlation_memory.py --max-keys 500000  # a smaller cap: evictions instead of growth
    .venv/bin/python bench/correlation_memory.py --mix ownership    # the engine mix plus BOLA ownership state

Each client is a distinct IPv4 address, seen within one minute (so nothing expires during the run:
this is the state of N clients active at once, the peak). Per client, by mix:

    login        the issue's example, three keys: a count of requests (60 s window), a count of
                 failed logins (600 s) and a distinct set of accounts tried (900 s); one account for
                 80 % of the clients, two or three for the rest
    correlators  five keys, what the default correlators keep per client address: the request
                 count of the last 15 minutes and of the day, the distinct active hours of the day
                 (one or two), the failed-login count and the accounts tried (as above)
    engine       the real correlators with their default config, two calls per client: a failed
                 login and a token-authenticated read of one object (whatever keys they keep)
    ownership    the engine mix with the deployment key given (so `path_principal` learns who is
                 who) and the traffic that fills object ownership (`abuse.bola` state), as the SDK
                 reports it (keyed hashes, `apisec.response.resource_ids` / `.ids`), per client:
                 30 % create an order (POST 201, its ID), 20 % list their orders (GET 200, ten IDs),
                 10 % log in successfully (the response names the account's ID), every client reads
                 one order (its own, or for 5 % one created by another client: findings and claims)

RSS is read from /proc/self/statm before the store is made and after the last client, in the same
process; the growth is the store (the arrays, index and packed sets) plus allocator slack. The
default caps apply unless --max-keys is given.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from otel_apisec.correlate.api import Observation
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.stores.memory import DEFAULT_MAX_KEYS, MemoryStore
from otel_apisec.pseudonym import deployment_key, keyed_hash

T0 = 1_700_000_000.0
ARRIVALS_S = 60.0
"""All clients arrive within this span, shorter than every window: none of their state expires."""


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def client_address(n: int) -> str:
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" if n < 1 << 24 else f"100.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def accounts_tried(n: int) -> int:
    """1 for 80 % of clients, 2 or 3 for the rest (deterministic, spread over the run)."""
    return 1 if n % 5 else 2 + (n // 5) % 2


def login_mix(store: MemoryStore, n: int, now: float) -> None:
    client = client_address(n)
    store.count(f"rate|{client}", now, 60.0)
    for account in range(accounts_tried(n)):
        store.count(f"bf.c|{client}", now, 600.0)
        store.distinct(f"cs|{client}", f"hmac:{n:x}:{account}", now, 900.0)


def correlators_mix(store: MemoryStore, n: int, now: float) -> None:
    client = client_address(n)
    for hour in range(1 + n % 2):
        store.count(f"rs|{client}.w", now, 900.0)
        store.count(f"rs|{client}.d", now, 86_400.0)
        store.distinct(f"rs|{client}.h", str(int(now // 3600) - hour), now, 86_400.0)
    for account in range(accounts_tried(n)):
        store.count(f"bf.c|{client}", now, 600.0)
        store.distinct(f"cs|{client}", f"hmac:{n:x}:{account}", now, 900.0)


_ENGINE: list[Correlation] = []


def engine_mix(store: MemoryStore, n: int, now: float) -> None:
    """The real correlators (default config) on two calls per client: a failed login (POST
    /api/login, 401, the account a keyed hash) and a read of one of its objects with a token."""
    if not _ENGINE or _ENGINE[0].store is not store:
        _ENGINE[:] = [Correlation(CorrelationConfig(), store)]
    engine = _ENGINE[0]
    client = client_address(n)
    engine.observe(Observation(time_s=now, method="POST", route="/api/login", path="/api/login", status=401,
                               client=client, principal=f"acct{n:x}", auth_outcome="failure", is_login=True,
                               login_succeeded=False))
    engine.observe(Observation(time_s=now, method="GET", route="/api/orders/{id}", path=f"/api/orders/{n}", status=200,
                               client=client, principal=f"user{n:x}", token=f"tok{n:x}", auth_outcome="success",
                               object_ids=(str(n),)))


_KEY = b"bench-deployment-key-000000000000"
_OBJECT_KEY = deployment_key(_KEY)
_LISTED = 10
"""Orders in one listing response."""


def _order_hash(order: int) -> str:
    return keyed_hash(_OBJECT_KEY, str(order))


FINDINGS: Counter[str] = Counter()
"""Findings of the ownership mix by kind: ownership that survived the caps fires `abuse.bola`."""


def _counting(engine: Correlation) -> Callable[[Observation], None]:
    def observe(obs: Observation) -> None:
        for finding in engine.observe(obs):
            FINDINGS[finding.rule.kind] += 1
    return observe


def ownership_mix(store: MemoryStore, n: int, now: float) -> None:
    """The engine mix's failed login, plus creates, listings, successful logins and reads of one's
    own and (5 %) others' orders; IDs reach the correlators as the SDK's keyed hashes."""
    if not _ENGINE or _ENGINE[0].store is not store:
        _ENGINE[:] = [Correlation(CorrelationConfig(), store, hmac_key=_KEY)]
    engine = _ENGINE[0]
    observe = _counting(engine)
    client = client_address(n)

    def user(method: str, route: str, status: int, **seen: Any) -> Observation:
        return Observation(time_s=now, method=method, route=route, path=seen.pop("path", route), status=status,
                           client=client, principal=f"user{n:x}", token=f"tok{n:x}", auth_outcome="success",
                           service="shop", **seen)

    observe(Observation(time_s=now, method="POST", route="/api/login", path="/api/login", status=401, client=client,
                        principal=f"acct{n:x}", auth_outcome="failure", is_login=True, login_succeeded=False,
                        service="shop"))
    if n % 10 == 3:  # 10 %: a successful login whose response names the account's ID
        observe(user("POST", "/api/login", 200, is_login=True, login_succeeded=True,
                     response_id_hashes=(_order_hash(-n),)))
    if n % 10 in (0, 4, 7):  # 30 %: a create, the new order's ID in the response
        observe(user("POST", "/api/orders", 201, resource_id_hashes=(_order_hash(n),)))
    if n % 5 == 1:  # 20 %: a listing of ten orders
        listed = tuple(_order_hash(n * _LISTED + k + (1 << 40)) for k in range(_LISTED))
        observe(user("GET", "/api/orders", 200, resource_id_hashes=listed, response_id_hashes=listed))
    # 5 %: an order another client created (client n - 5, a creator); the rest read their own.
    order = n - 5 if n % 20 == 9 else n
    observe(user("GET", "/api/orders/{id}", 200, path=f"/api/orders/{order}", object_ids=(str(order),)))

MIXES = {"login": login_mix, "correlators": correlators_mix, "engine": engine_mix, "ownership": ownership_mix}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000, help="distinct clients (default 1,000,000)")
    parser.add_argument("--mix", choices=sorted(MIXES), default="login", help="keys per client (default login)")
    parser.add_argument("--max-keys", type=int, default=DEFAULT_MAX_KEYS, help=f"key cap (default {DEFAULT_MAX_KEYS:,})")
    args = parser.parse_args(argv)
    if args.clients < 1:
        parser.error(f"--clients must be >= 1, got {args.clients}")

    touch = MIXES[args.mix]
    gc.collect()
    before = rss_bytes()
    store = MemoryStore(max_keys=args.max_keys)
    started = time.perf_counter()
    for n in range(args.clients):
        touch(store, n, T0 + ARRIVALS_S * n / args.clients)
    elapsed = time.perf_counter() - started
    gc.collect()
    grown = rss_bytes() - before
    keys = len(store)

    print(f"mix {args.mix}, {args.clients:,} clients, cap {args.max_keys:,} keys")
    print(f"  keys held         {keys:,}")
    print(f"  RSS growth        {grown / 1e6:.1f} MB")
    print(f"  per key           {grown / max(keys, 1):.1f} bytes")
    print(f"  per client        {grown / args.clients:.1f} bytes")
    print(f"  evictions         {store.evictions:,}")
    print(f"  expirations       {store.expirations:,}")
    print(f"  peak RSS          {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.1f} MB (whole process)")
    if FINDINGS:
        print("  findings          " + ", ".join(f"{kind} {count:,}" for kind, count in sorted(FINDINGS.items())))
    print(f"  time              {elapsed:.1f} s ({args.clients / elapsed:,.0f} clients/s, one thread)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
