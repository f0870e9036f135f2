"""Cost of the SDK's response-ID hashes (`apisec.response.resource_ids` / `apisec.response.ids`) per
response, beside the whole analysis of the same exchange, measured side by side in one run.

    .venv/bin/python bench/response_ids_cost.py                # 1 KB, 10 KB and 100 KB bodies
    .venv/bin/python bench/response_ids_cost.py --rounds 400   # more samples

The SDK's span processor calls `Analyzer.analyze(exchange)` and then
`enrich.response_id_attributes(exchange, key, analysis.response_json)`: the detectors' parse of the
response body, when they made one, is handed on instead of parsing the body again. Per body size,
medians over `--rounds` exchanges (each body distinct, so no memo answers for a repeat) of:

    analysis      Analyzer.analyze (the SDK's default detectors and config, the body bound raised to
                  `--max-body-bytes` so a 100 KB body is captured whole; at the 64 KiB default it
                  is captured cut and neither the detectors nor the ID hashes parse it)
    ids, parse    response_id_attributes parsing the body itself (what it did before the parse was shared)
    ids, shared   response_id_attributes with the analysis's parse (what the SDK does now; the same
                  as "ids, parse" when the detectors did not parse the body)
    parse alone   orjson.loads of the body (json_document)

and how many analyses left a parse to share. Bodies: JSON orders as REST APIs return them (an
order with its items and shipping address; a listing of orders under `data`, paging fields beside).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import orjson

from otel_apisec.correlate.ids import json_document
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.enrich import response_id_attributes
from otel_apisec.model import HttpExchange
from otel_apisec.pseudonym import deployment_key
from otel_apisec.testing import make_exchange

KEY = deployment_key(b"bench-deployment-key")
SIZES = (1_000, 10_000, 100_000)
PRODUCTS = ("Blue mug", "Linen tea towel", "Cast-iron pan", "Oak board", "Glass jar", "Enamel bowl")


def order(n: int, items: int) -> dict[str, object]:
    return {
        "id": n, "user_id": 4000 + n % 97, "status": ("pending", "paid", "shipped")[n % 3],
        "created_at": f"2026-01-{1 + n % 28:02d}T10:{n % 60:02d}:00Z", "currency": "EUR",
        "total": round(12.5 * (1 + n % 7), 2),
        "items": [{"product_id": 300 + (n + k) % 50, "sku": f"SKU-{300 + (n + k) % 50}", "name": PRODUCTS[(n + k) % 6],
                   "quantity": 1 + k % 3, "price": 9.9 + k} for k in range(items)],
        "shipping": {"address_id": 700 + n % 31, "city": "Lyon", "country": "FR", "carrier": "colissimo"},
    }


def body_of(size: int, variant: int) -> bytes:
    """A body of about `size` bytes: one order (its items grown) up to 2 KB, else a listing."""
    base = variant * 10_000
    if size <= 2_000:
        items, doc = 1, order(base, 1)
        while len(orjson.dumps(doc)) < size:
            items += 1
            doc = order(base, items)
        return orjson.dumps(doc)
    orders: list[dict[str, object]] = []
    while len(orjson.dumps({"data": orders})) < size - 60:
        orders.append(order(base + len(orders), 2))
    return orjson.dumps({"data": orders, "page": 1, "per_page": len(orders), "total": 10 * len(orders)})


def exchange_of(body: bytes) -> HttpExchange:
    return make_exchange("https://shop.example.com/api/orders", "GET", status=200, response_body=body,
                         response_content_type="application/json",
                         headers={"Authorization": "Bearer 2YotnFZFEjr1zCsicMWpAA"})


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    work()
    return (time.perf_counter_ns() - start) / 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="exchanges per body size (default 200)")
    parser.add_argument("--max-body-bytes", type=int, default=128 << 10, help="body bound (default 128 KiB)")
    args = parser.parse_args(argv)
    analyzer = Analyzer(DetectConfig(hmac_key=b"bench", max_body_bytes=args.max_body_bytes))
    analyzer.analyze(exchange_of(body_of(1_000, -1)))  # compile the pattern databases outside the timings
    print(f"{'body':>8} {'analysis':>10} {'ids, parse':>11} {'ids, shared':>12} {'parse alone':>12} "
          f"{'parse/analysis':>15} {'shared/analysis':>16} {'parses shared':>14}")
    for size in SIZES:
        exchanges = [exchange_of(body_of(size, variant)) for variant in range(args.rounds)]
        analysis_us, parse_ids_us, shared_ids_us, parse_us = [], [], [], []
        shared = 0
        for exchange in exchanges:
            body = exchange.response_body
            assert body is not None
            holder: list[object] = []
            analysis_us.append(timed(lambda: holder.append(analyzer.analyze(exchange))))  # noqa: B023
            analysis = holder[0]
            parsed = getattr(analysis, "response_json", None)
            shared += parsed is not None
            parse_ids_us.append(timed(lambda: response_id_attributes(exchange, KEY)))  # noqa: B023
            shared_ids_us.append(timed(lambda: response_id_attributes(exchange, KEY, parsed)))  # noqa: B023
            parse_us.append(timed(lambda: json_document(body.data)))  # noqa: B023
            assert response_id_attributes(exchange, KEY) == response_id_attributes(exchange, KEY, parsed)
        a, p, s, j = (statistics.median(xs) for xs in (analysis_us, parse_ids_us, shared_ids_us, parse_us))
        kb = len(exchanges[0].response_body.data) / 1e3  # type: ignore[union-attr]
        print(f"{kb:6.1f}KB {a:9.0f}µs {p:10.1f}µs {s:11.1f}µs {j:11.1f}µs {p / a:14.1%} {s / a:15.1%} "
              f"{shared:>7}/{len(exchanges)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
