"""CPU cost of the gateway's `apisec/redact` processor per span and per log record, this tree
against another (say the last commit), side by side.

    git archive HEAD | tar -x -C /tmp/old                          # the tree to compare with
    .venv/bin/python bench/redact_cost.py --baseline-src /tmp/old   # about a minute
    .venv/bin/python bench/redact_cost.py                           # this tree only

Each measurement is a fresh subprocess running one source tree (its detectors, enrich and redact
processors): the realistic HTTP server spans of `gateway_throughput.py` (8 batches x 512, cycled)
are decoded and enriched (not timed), then `RedactProcessor(value_detectors=True).process`, the
gateway's default, is timed in thread CPU time over every batch, after one warm-up pass (the clean
cache fills as in a running gateway). Also timed: log batches of 512 records whose bodies are
request lines with a query string (a quarter with an email or a token), and one 200 KB log body.
Rounds alternate the trees; figures are medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_WORKER = r"""
import json, sys, time
sys.path.insert(0, {src!r}); sys.path.insert(1, {bench!r})
from gateway_throughput import make_batches
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from otel_apisec.detect import Analyzer
from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor
from otel_apisec.gateway.processors.redact.processor import RedactProcessor
import otel_apisec
assert otel_apisec.__file__.startswith({src!r}), otel_apisec.__file__

enrich, redact = EnrichProcessor(Analyzer()), RedactProcessor(value_detectors=True)
traces = []
for data in make_batches():
    request = ExportTraceServiceRequest.FromString(data)
    enrich.process(Signal.TRACES, request)
    traces.append(request.SerializeToString())
logs = []
for batch in range(4):
    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    for i in range(512):
        extra = ("&email=user%d@example.com" % i, "&token=t0k3n%05d" % i, "", "")[i % 4]
        records.add().body.string_value = '127.0.0.1 - - "GET /api/orders/%d?page=%d%s HTTP/1.1" 200 %d' % (i, batch, extra, i)
    logs.append(request.SerializeToString())
big = ExportLogsServiceRequest()
big.resource_logs.add().scope_logs.add().log_records.add().body.string_value = (
    "order shipped to the usual address; " * 5600 + "card 4539578763621486")

def cpu(signal, message_type, batches, passes):
    parsed = [[message_type.FromString(data) for data in batches] for _ in range(passes)]
    started = time.thread_time()
    for round_ in parsed:
        for request in round_:
            redact.process(signal, request)
    return time.thread_time() - started

cpu(Signal.TRACES, ExportTraceServiceRequest, traces, 1)  # warm-up: compile, caches
cpu(Signal.LOGS, ExportLogsServiceRequest, logs, 1)
spans = cpu(Signal.TRACES, ExportTraceServiceRequest, traces, 3) / (3 * 8 * 512)
records = cpu(Signal.LOGS, ExportLogsServiceRequest, logs, 3) / (3 * 4 * 512)
body = cpu(Signal.LOGS, ExportLogsServiceRequest, [big.SerializeToString()], 5) / 5
print(json.dumps({{"span_us": spans * 1e6, "record_us": records * 1e6, "big_body_ms": body * 1e3}}))
"""


def measure(src: Path) -> dict[str, float]:
    code = _WORKER.format(src=str(src), bench=str(REPO_ROOT / "bench"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=src)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-src", type=Path, help="another source tree to measure alongside this one")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = {"this tree": REPO_ROOT}
    if args.baseline_src:
        trees = {"baseline": args.baseline_src.resolve(), **trees}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, src in trees.items():
            results[name].append(measure(src))
    print("| tree | redact CPU µs/span | µs/log record | ms per 200 KB log body |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        span, record, body = (statistics.median(run[key] for run in runs) for key in ("span_us", "record_us", "big_body_ms"))
        print(f"| {name} | {span:.1f} | {record:.1f} | {body:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
