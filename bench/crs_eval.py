"""The optional `apisec/crs` processor (ModSecurity v3 + OWASP CRS) beside the native detectors:
coverage on the development corpora, false positives on the benign mixes, and cost per span.

Coverage: each payload placed as in bench/evaluate.py (a URL-encoded query value, a JSON body
value), judged by the native Analyzer, by the CRS engine, and by both. A CRS hit counts for a
family when one of its findings has the family's kind ("same kind") or when any CRS attack rule
matched ("any attack": what a CRS deployment would have blocked). The self-written CRS-class set
(bench/crs_payloads.py) is scored the same way.

Cost: one batch of spans (benign values with one in five an attack, as a query value; one in four
with a JSON body), through `apisec/enrich` alone and through `apisec/enrich` then `apisec/crs`,
alternating, `--rounds` times; the median CPU time per span of each, and their ratio.

    .venv/bin/python bench/crs_eval.py [--corpora ../shared/corpora] [--benign 2000] [--rounds 5] [--rules-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from urllib.parse import quote

from benign import benign_values
from crs_payloads import SAMPLES as CRS_SAMPLES
from evaluate import BASE, BENIGN_PARAMS, EXPECTED, crs_sample_placements, load_payloads, placements
from hard_benign import hard_benign_values
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from rich.console import Console
from rich.progress import track
from rich.table import Table

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.enrich import ATTACK_KINDS
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.components.base import BuildContext
from otel_apisec.gateway.processors.crs.config import FACTORY as CRS
from otel_apisec.gateway.processors.crs.engine import CrsEngine, find_rules_dir
from otel_apisec.gateway.processors.crs.processor import findings_of
from otel_apisec.gateway.processors.enrich.config import FACTORY as ENRICH
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.model import HttpExchange
from otel_apisec.testing import make_exchange
from otel_apisec.testing.builders import server_span, trace_request

REPO = Path(__file__).resolve().parent.parent


def crs_kinds(engine: CrsEngine, exchange: HttpExchange) -> set[str]:
    return {finding.kind for finding in findings_of(engine.inspect(exchange))}


def native_kinds(analyzer: Analyzer, exchange: HttpExchange) -> set[str]:
    return {finding.kind for finding in analyzer.analyze(exchange).findings}


def coverage(analyzer: Analyzer, engine: CrsEngine, corpora: Path) -> list[tuple[str, int, list[int]]]:
    """(family, placements, [native, CRS same kind, CRS any attack, either same kind]) per family."""
    rows = []
    families: list[tuple[str, str, list[tuple[HttpExchange, ...]]]] = []
    for family, expected in EXPECTED.items():
        folder = corpora / "payloads" / family
        if folder.is_dir():
            families.append((family, expected, [placements(family, p) for p in load_payloads(folder)]))
    own: dict[str, tuple[str, list[tuple[HttpExchange, ...]]]] = {}
    for family, expected, placement, text in CRS_SAMPLES:
        own.setdefault(f"own:{family}", (expected, []))[1].append(crs_sample_placements(expected, placement, text))
    families.extend((name, expected, samples) for name, (expected, samples) in own.items())
    for family, expected, samples in families:
        counts = [0, 0, 0, 0]
        total = 0
        for exchanges in track(samples, description=f"{family:>22}", transient=True):
            for exchange in exchanges:
                total += 1
                native = expected in native_kinds(analyzer, exchange)
                found = crs_kinds(engine, exchange)
                same = expected in found
                counts[0] += native
                counts[1] += same
                counts[2] += bool(found & ATTACK_KINDS)
                counts[3] += native or same
        rows.append((family, total, counts))
    return rows


def benign_hits(analyzer: Analyzer, engine: CrsEngine, values: list[str], label: str) -> tuple[int, int, int, int]:
    """(values, native fired, CRS fired any finding, CRS fired an attack kind), each value placed as a
    query value and a JSON body value."""
    native = crs_any = crs_attack = 0
    for i, value in enumerate(track(values, description=f"{label:>22}", transient=True)):
        param = BENIGN_PARAMS[i % len(BENIGN_PARAMS)]
        exchanges = [make_exchange(f"{BASE}?{param}={quote(value, safe='')}"),
                     make_exchange(BASE, "POST", json={param: value, "items": [{"value": value}]})]
        native += any(native_kinds(analyzer, e) & ATTACK_KINDS for e in exchanges)
        found = set().union(*(crs_kinds(engine, e) for e in exchanges))
        crs_any += bool(found)
        crs_attack += bool(found & ATTACK_KINDS)
    return len(values), native, crs_any, crs_attack


def cost_spans(count: int, seed: int, corpora: Path) -> ExportTraceServiceRequest:
    rng = random.Random(seed)
    benign = benign_values(count, seed)
    attacks = [text for _family, _kind, placement, text in CRS_SAMPLES if placement == "value"]
    sqli = corpora / "payloads" / "sqli"
    if sqli.is_dir():
        attacks += load_payloads(sqli)[:200]
    spans = []
    for i in range(count):
        value = rng.choice(attacks) if i % 5 == 0 else benign[i]
        attributes: dict[str, object] = {
            "http.request.method": "GET", "url.scheme": "https", "url.path": f"/api/items/{1000 + i}",
            "url.query": f"{BENIGN_PARAMS[i % len(BENIGN_PARAMS)]}={quote(value, safe='')}",
            "server.address": "api.example.com", "http.response.status_code": 200,
            "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "client.address": "198.51.100.7",
        }
        if i % 4 == 1:
            attributes.update({"http.request.method": "POST", "http.request.header.content_type": ["application/json"],
                               "http.request.body": json.dumps({"name": benign[i], "qty": 2})})
        spans.append(server_span(attributes, span_id=i + 1))
    return trace_request(*spans)


def cost(rounds: int, count: int, seed: int, corpora: Path, rules_dir: str) -> tuple[float, float]:
    """Median CPU µs per span: (enrich alone, enrich then crs)."""
    tally = SecurityTally()
    enrich = ENRICH.create(ENRICH.config("processors.apisec/enrich", {}), BuildContext("apisec/enrich", tally)).impl
    crs = CRS.create(CRS.config("processors.apisec/crs", {"rules_dir": rules_dir}), BuildContext("apisec/crs", tally)).impl
    encoded = cost_spans(count, seed, corpora).SerializeToString()
    timings: dict[str, list[float]] = {"enrich": [], "enrich+crs": []}
    for _ in track(range(rounds), description="                  cost", transient=True):
        for name, processors in (("enrich", (enrich,)), ("enrich+crs", (enrich, crs))):
            request = ExportTraceServiceRequest.FromString(encoded)
            started = time.process_time()
            for processor in processors:
                processor.process(Signal.TRACES, request)
            timings[name].append((time.process_time() - started) / count * 1e6)
    return statistics.median(timings["enrich"]), statistics.median(timings["enrich+crs"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--benign", type=int, default=2000, help="benign values for the false-positive rate")
    parser.add_argument("--spans", type=int, default=1000, help="spans per cost round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rules-dir", default="", help="CRS rules directory (default: the system's)")
    args = parser.parse_args(argv)
    console = Console()
    rules_dir = find_rules_dir(args.rules_dir)
    engine = CrsEngine(rules_dir)
    analyzer = Analyzer(DetectConfig())
    console.print(f"CRS rules: {rules_dir} ({len(engine.files)} files, paranoia level 1; left out: "
                  f"{', '.join(engine.skipped) or 'none'})")

    table = Table(title="Coverage: placements detected (query value and JSON body value)")
    for column in ("family", "placements", "native", "CRS same kind", "CRS any attack", "native or CRS"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for family, total, counts in coverage(analyzer, engine, args.corpora):
        table.add_row(family, str(total), *(f"{n / total:.3f}" for n in counts))
    console.print(table)

    table = Table(title="False positives: values that fired (query value or JSON body value)")
    for column in ("mix", "values", "native attack", "CRS any finding", "CRS attack"):
        table.add_column(column, justify="left" if column == "mix" else "right")
    mixes = [("benign", benign_values(args.benign, args.seed)),
             ("hard benign", [value for _kind, value in hard_benign_values(seed=args.seed)])]
    for label, values in mixes:
        total, native, crs_any, crs_attack = benign_hits(analyzer, engine, values, label)
        table.add_row(label, str(total), *(f"{n / total:.4f}" for n in (native, crs_any, crs_attack)))
    console.print(table)

    alone, both = cost(args.rounds, args.spans, args.seed, args.corpora, str(rules_dir))
    console.print(f"CPU per span, median of {args.rounds} rounds of {args.spans} spans: apisec/enrich {alone:.0f} µs, "
                  f"apisec/enrich + apisec/crs {both:.0f} µs (apisec/crs adds {both - alone:.0f} µs, "
                  f"{both / alone:.2f}x)")
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
