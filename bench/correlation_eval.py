"""Detection quality and cost of the cross-request correlators.

For each correlator: does its scripted attack raise its finding kind (alone, and hidden inside the
benign mix), how many findings does it raise on the benign mix (all of them are false alarms), and
how many observations per second it handles alone; then the throughput of all correlators
together on the MemoryStore (or a Redis), and the store entries the benign mix leaves behind.
`--geo` also measures the offline GeoIP lookup.

    .venv/bin/python bench/correlation_eval.py [--users 150] [--hours 6] [--seed 7] [--geo]
                                               [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import time
from collections import Counter
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.config import CORRELATOR_NAMES, CorrelationConfig
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.stores.memory import MemoryStore
from otel_apisec.testing.traffic import attack_scenarios, benign_traffic, merge


def _run(correlation: Correlation, observations: list[Observation]) -> tuple[list[CorrelationFinding], float]:
    started = time.perf_counter()
    findings = [f for obs in observations for f in correlation.observe(obs)]
    return findings, time.perf_counter() - started


def _store_factory(redis_url: str | None) -> Callable[[], StateStore]:
    if redis_url is None:
        return MemoryStore
    from otel_apisec.correlate.stores.redis import RedisStore

    counter = iter(range(1_000_000))
    # A fresh prefix per run, so runs do not see each other's state.
    return lambda: RedisStore(redis_url, prefix=f"apisec-bench-{time.time_ns()}-{next(counter)}:")


def evaluate(args: argparse.Namespace, console: Console) -> None:
    new_store = _store_factory(args.redis)
    benign = benign_traffic(seed=args.seed, users=args.users, duration_s=args.hours * 3600)
    attacks = {a.kind: a for a in attack_scenarios(seed=args.seed + 1)}
    in_mix, _ = _run(Correlation(CorrelationConfig(), new_store()), merge(benign, *(a.observations for a in attacks.values())))
    found_in_mix = {f.rule.kind for f in in_mix}

    table = Table(title=f"Correlators: scripted attacks and {len(benign):,} benign observations "
                        f"({args.users} users, {args.hours:g} h, seed {args.seed})")
    for column in ("correlator", "attack", "detected alone", "detected in mix", "benign alerts", "obs/s alone"):
        table.add_column(column, justify="right" if column.startswith(("benign", "obs")) else "left")
    for name in CORRELATOR_NAMES:
        kind = f"abuse.{name}"
        config = CorrelationConfig(correlators=(name,))
        alone, _ = _run(Correlation(config, new_store()), attacks[kind].observations)
        false_alarms, seconds = _run(Correlation(config, new_store()), benign)
        detected = any(f.rule.kind == kind for f in alone)
        table.add_row(name, attacks[kind].name, "yes" if detected else "[red]no[/]",
                      "yes" if kind in found_in_mix else "[red]no[/]",
                      str(len(false_alarms)), f"{len(benign) / seconds:,.0f}")
    console.print(table)

    store = new_store()
    correlation = Correlation(CorrelationConfig(), store)
    findings, seconds = _run(correlation, benign)
    where = "Redis" if args.redis else "MemoryStore"
    console.print(f"All correlators on the {where}: {len(benign) / seconds:,.0f} observations/s "
                  f"({seconds * 1e6 / len(benign):.0f} µs each); benign findings: "
                  f"{dict(Counter(f.rule.kind for f in findings)) or 0}; store errors {correlation.store_errors}")
    if isinstance(store, MemoryStore):
        callers = len({o.principal or o.client for o in benign})
        console.print(f"Store entries after the benign mix: {len(store):,} "
                      f"({len(store) / callers:.1f} per distinct caller, {callers:,} callers)")
        census = _Census(MemoryStore())
        _run(Correlation(CorrelationConfig(), census), benign)
        console.print("Entries written, by state key prefix: " + ", ".join(
            f"{prefix} {count:,}" for prefix, count in census.entries.most_common()))


class _Census:
    """Passes calls to a real store and records which entries they create, by key prefix (the
    correlator's namespace, e.g. `en.known` for the IDs responses returned)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._seen: set[tuple[str, ...]] = set()
        self.entries: Counter[str] = Counter()

    def _note(self, *entry: str) -> None:
        if entry not in self._seen:
            self._seen.add(entry)
            self.entries[entry[1].split("|", 1)[0]] += 1

    def count(self, key: str, now: float, window_s: float, amount: int = 1) -> int:
        self._note("count", key)
        return self.store.count(key, now, window_s, amount)

    def peek_count(self, key: str, now: float, window_s: float) -> int:
        return self.store.peek_count(key, now, window_s)

    def distinct(self, key: str, member: str, now: float, window_s: float) -> int:
        self._note("distinct", key)
        return self.store.distinct(key, member, now, window_s)

    def mark(self, key: str, member: str, ttl_s: float) -> None:
        self._note("mark", key, member)
        self.store.mark(key, member, ttl_s)

    def marked(self, key: str, member: str) -> bool:
        return self.store.marked(key, member)

    def recent(self, key: str, value: str, limit: int, ttl_s: float) -> list[str]:
        self._note("recent", key)
        return self.store.recent(key, value, limit, ttl_s)

    def claim(self, key: str, ttl_s: float) -> bool:
        self._note("claim", key)
        return self.store.claim(key, ttl_s)

    def close(self) -> None:
        self.store.close()


def measure_geo(console: Console, lookups: int = 100_000) -> None:
    from otel_apisec.correlate.geo import CountryLookup

    started = time.perf_counter()
    geo = CountryLookup(cache_size=lookups * 2)
    load_s = time.perf_counter() - started
    rng = random.Random(1)
    addresses = []
    while len(addresses) < lookups:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global:
            addresses.append(str(address))
    started = time.perf_counter()
    known = sum(geo.country(a) is not None for a in addresses)
    cold = (time.perf_counter() - started) / lookups
    started = time.perf_counter()
    for address in addresses:
        geo.country(address)
    warm = (time.perf_counter() - started) / lookups
    console.print(f"GeoIP (geoip2fast, {geo.cache_info().maxsize:,}-entry cache): load {load_s:.2f} s; "
                  f"lookup {cold * 1e6:.1f} µs uncached, {warm * 1e6:.2f} µs cached; "
                  f"{known / lookups:.1%} of random public IPv4 addresses have a country")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=150, help="people in the benign mix")
    parser.add_argument("--hours", type=float, default=6.0, help="length of the benign mix")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--geo", action="store_true", help="also measure the GeoIP lookup")
    parser.add_argument("--redis", metavar="URL", help="run on a RedisStore at URL instead of the MemoryStore")
    args = parser.parse_args()
    if args.users < 1 or args.hours <= 0.5:
        parser.error("--users must be >= 1 and --hours > 0.5")
    console = Console(width=max(Console().width, 132))
    evaluate(args, console)
    if args.geo:
        measure_geo(console)


if __name__ == "__main__":
    main()
