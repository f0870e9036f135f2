"""Findings per request, and analysis time, with posture per endpoint on and off, side by side.

    .venv/bin/python bench/findings_per_request.py            # about 10 s
    .venv/bin/python bench/findings_per_request.py --quick    # a fifth of the generated traffic

Two kinds of typical traffic go through the real Analyzer, in order, each exchange analysed by two
Analyzers in turn: `posture_per_endpoint=True` (the default: an endpoint's posture is checked on its
first response and when its response shape changes) and `False` (every response checked, as before).

- `demo.har`: the 29 calls of `otel_apisec/examples/demo.har`, attacks and leaks included.
- `generated`: a working morning of a shop's API (`otel_apisec.testing.traffic.benign_traffic`: 150
  users, a partner integration, probes; 18,804 calls) with the responses such APIs send by default.
  `shop-api` is a Flask app behind a TLS proxy: JSON bodies from bench/benign.py, `Server: gunicorn/21.2.0`,
  a fresh `X-Request-Id`, rate-limit headers that count down on the integration's calls, a session
  cookie without `Secure`/`SameSite` on logins, no security headers. `legacy-api` is PHP on plain
  HTTP with `X-Powered-By`.

For each: findings per request (all, and the endpoint facts among them), the share of requests whose
posture was checked, and the median time per exchange (demo.har: over 50 rounds, each through fresh
Analyzers) of `analyze` alone and of `analyze` plus what
enrichment writes (`span_attributes` + `finding_events`), with their ratio (on / off). A last table
compares the cost of the endpoint shape (the cache key and digest) with the checks it lets us skip.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from benign import benign_json_body

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect import posture as posture_module
from otel_apisec.detect.endpoint_shapes import endpoint_key
from otel_apisec.detect.posture import endpoint_shape
from otel_apisec.enrich import finding_events, span_attributes
from otel_apisec.ingest.har import Entry, HarReader
from otel_apisec.model import Body, Headers, HttpExchange
from otel_apisec.testing.traffic import benign_traffic

DEMO = Path(__file__).resolve().parents[1] / "otel_apisec" / "examples" / "demo.har"


# --- traffic ------------------------------------------------------------------------------------------
def demo_exchanges() -> list[HttpExchange]:
    with DEMO.open("rb") as stream:
        return [item.exchange for item in HarReader(stream) if isinstance(item, Entry)]


_FLASK = {"Content-Type": "application/json", "Server": "gunicorn/21.2.0"}
_LEGACY = {"Content-Type": "application/json", "Server": "Apache/2.4.41 (Ubuntu)", "X-Powered-By": "PHP/7.4.3"}


def generated_exchanges(scale: float = 1.0) -> list[HttpExchange]:
    """The benign mix as exchanges with the responses a framework sends by default (module docstring)."""
    rng = random.Random(5)
    bodies = [benign_json_body(rng.choice((400, 900, 2000)), seed=i) for i in range(64)]
    observations = benign_traffic()
    if scale < 1.0:
        observations = observations[: int(len(observations) * scale)]
    exchanges = []
    for index, obs in enumerate(observations):
        legacy = obs.service == "legacy-api"
        path, _, query = obs.path.partition("?")
        request = [("Host", "legacy.shop.example" if legacy else "api.shop.example"), ("User-Agent", "shop-app/3.2")]
        if not legacy:
            request.append(("X-Forwarded-Proto", "https"))
        if obs.token or obs.principal:
            request.append(("Authorization", f"Bearer {obs.token or obs.principal}"))
        response = list((_LEGACY if legacy else _FLASK).items())
        response += [("Date", "Thu, 01 Jan 2026 08:00:00 GMT"), ("X-Request-Id", f"{rng.getrandbits(64):016x}")]
        if obs.rate_limited:
            response += [("X-RateLimit-Limit", "1200"), ("X-RateLimit-Remaining", str(1200 - index % 1200))]
        request_body = None
        response_body: Body | None = Body(bodies[index % len(bodies)], "application/json")
        if obs.is_login:
            request_body = Body(orjson.dumps({"username": f"user{index % 150}", "password": "c0rrect-h0rse-b4ttery"}),
                                "application/json")
            response_body = Body(b'{"ok": true}' if obs.login_succeeded else b'{"error": "invalid credentials"}',
                                 "application/json")
            if obs.login_succeeded:
                response.append(("Set-Cookie", f"session={rng.getrandbits(128):032x}; Path=/; HttpOnly"))
        elif obs.method in ("POST", "PUT", "PATCH"):
            request_body = Body(orjson.dumps({"quantity": rng.randint(1, 5), "note": "leave at the door"}),
                                "application/json")
        if obs.status == 204:
            response_body = None
            response = [(k, v) for k, v in response if k != "Content-Type"]
        elif (obs.status or 200) >= 400:
            response_body = Body(b'{"error": "not available"}', "application/json")
        exchanges.append(HttpExchange(
            method=obs.method, scheme="http", host="legacy.shop.example" if legacy else "shop-api:8000",
            path=path, route=None if legacy else obs.route,
            query=tuple(tuple(pair.split("=", 1)) for pair in query.split("&") if "=" in pair),  # type: ignore[misc]
            request_headers=Headers(request), request_body=request_body, status=obs.status,
            response_headers=Headers(response), response_body=response_body, client_address=obs.client,
            started_at=obs.time_s,
        ))
    return exchanges


# --- measurement --------------------------------------------------------------------------------------
@dataclass
class Tally:
    requests: int = 0
    findings: int = 0
    endpoint_facts: int = 0
    checked: int = 0
    analyze_s: list[float] = field(default_factory=list)
    enrich_s: list[float] = field(default_factory=list)

    def add(self, analyzer: Analyzer, exchange: HttpExchange) -> None:
        start = time.perf_counter()
        analysis = analyzer.analyze(exchange)
        analyzed = time.perf_counter()
        span_attributes(analysis)
        finding_events(analysis)
        self.analyze_s.append(analyzed - start)
        self.enrich_s.append(time.perf_counter() - start)
        self.requests += 1
        self.findings += len(analysis.findings)
        self.endpoint_facts += sum(f.endpoint_scope for f in analysis.findings)
        self.checked += analysis.posture_checked


def side_by_side(exchanges: Sequence[HttpExchange], rounds: int = 1) -> tuple[Tally, Tally]:
    """(on, off): each exchange through both Analyzers in turn, which goes first alternating, so
    drift and cache warmth hit both alike. Each round is the whole traffic through fresh Analyzers
    (their caches empty, as after a start): the counts are the same every round, the times add up."""
    on, off = Tally(), Tally()
    for round_ in range(rounds):
        pair = [Analyzer(DetectConfig(hmac_key=b"bench", posture_per_endpoint=mode)) for mode in (True, False)]
        for analyzer in pair:  # warm up outside the figures, on an endpoint the traffic never uses
            for _ in range(200):
                analyzer.analyze(HttpExchange(host="warm-up.invalid", path="/warm-up", status=200))
        for index, exchange in enumerate(exchanges):
            turns = ((pair[0], on), (pair[1], off))
            for analyzer, tally in turns if (index + round_) % 2 == 0 else turns[::-1]:
                tally.add(analyzer, exchange)
    return on, off


def median_us(fn: Callable[[], object], rounds: int = 9, n: int = 2000) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times) * 1e6


def shape_vs_checks(exchange: HttpExchange) -> tuple[float, float]:
    """µs of the cache key and shape digest, and of the endpoint checks, on one exchange."""
    steps = [(checks, needs) for _, checks, needs in posture_module._ENDPOINT_STEPS]

    def checks() -> None:
        for run, needs_response in steps:
            if exchange.status is not None or not needs_response:
                list(run(exchange))

    return median_us(lambda: hash((endpoint_key(exchange), endpoint_shape(exchange)))), median_us(checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the generated traffic")
    args = parser.parse_args()
    traffic = {"demo.har": demo_exchanges(), "generated": generated_exchanges(0.2 if args.quick else 1.0)}
    rounds = {"demo.har": 10 if args.quick else 50, "generated": 1}  # 29 calls are too few for a median

    print("| traffic | requests | posture per endpoint | findings / request | endpoint facts / request | "
          "posture checked | analyze median µs | analyze + enrich median µs |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    ratios = []
    for name, exchanges in traffic.items():
        on, off = side_by_side(exchanges, rounds[name])
        for label, tally in (("on", on), ("off", off)):
            n = tally.requests
            print(f"| {name} | {n // rounds[name]:,} | {label} | {tally.findings / n:.2f} | {tally.endpoint_facts / n:.2f} | "
                  f"{100 * tally.checked / n:.1f} % | {statistics.median(tally.analyze_s) * 1e6:.1f} | "
                  f"{statistics.median(tally.enrich_s) * 1e6:.1f} |")
        ratios.append((name, on, off))
    print()
    print("| traffic | findings / request, on / off | analyze median, on / off | analyze + enrich median, on / off |")
    print("|---|---:|---:|---:|")
    for name, on, off in ratios:
        print(f"| {name} | {on.findings / off.findings:.2f} | "
              f"{statistics.median(on.analyze_s) / statistics.median(off.analyze_s):.2f} | "
              f"{statistics.median(on.enrich_s) / statistics.median(off.enrich_s):.2f} |")
    print()
    print("| exchange | shape key + digest µs | endpoint checks µs |")
    print("|---|---:|---:|")
    samples = {"generated, shop-api JSON 200": traffic["generated"][1],
               "generated, login with Set-Cookie": next(e for e in traffic["generated"] if e.response_headers.get("set-cookie")),
               "demo.har, hardened JSON 200": traffic["demo.har"][1]}
    for label, exchange in samples.items():
        shape_us, checks_us = shape_vs_checks(exchange)
        print(f"| {label} | {shape_us:.1f} | {checks_us:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
