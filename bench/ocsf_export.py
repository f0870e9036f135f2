"""Cost of the SIEM export: finding record -> OCSF event -> JSONL file / webhook, on this machine.

    .venv/bin/python bench/ocsf_export.py            # about 15 s
    .venv/bin/python bench/ocsf_export.py --quick    # about 3 s

Measures, as medians over rounds:
  map        to_ocsf(record), µs per record (a per-span record and a cross-request record)
  validate   OcsfSchema.check(event) against OCSF 1.8.0 (optional at run time), µs per event
  file       OcsfFileSink.emit (map + encode + one unbuffered write), µs per record
  webhook    OcsfWebhookSink to a discard HTTP server on loopback (NDJSON, batches of 100,
             keep-alive): records/s from the first emit to close() returning (all delivered)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from otel_apisec.siem import OcsfFileSink, OcsfWebhookSink, to_ocsf
from otel_apisec.siem.schema import ocsf_schema

PER_SPAN = {
    "rule_id": "APISEC-INJ-001", "kind": "sqli", "severity": "high", "owasp": "API8:2023", "cwe": "CWE-89",
    "location": "request.query.q", "rule_name": "SQL injection", "time": "2023-11-14T22:13:20.123Z",
    "service_name": "search-api", "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
    "span_name": "GET /search", "route": "/search", "method": "GET",
}
CROSS_REQUEST = {
    "rule_id": "APISEC-ABU-001", "kind": "abuse.brute_force", "severity": "high", "owasp": "API2:2023",
    "owasp_title": "Broken Authentication", "cwe": "CWE-307", "rule_name": "Brute-force login attempts",
    "message": "25 failed logins in 60 s from one client", "time": "2023-11-14T22:13:20.500Z",
    "service_name": "auth-api", "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
    "route": "/login", "method": "POST",
    "subject": {"client.address": "203.0.113.9", "enduser.pseudo.id": "5ab8c2c1ce1f74e5119d8f02904c6bde",
                "apisec.token.hash": "addbeeb5133e6383742b86111031604f"},
    "evidence": {"failures": 25, "window_s": 60, "threshold": 20},
    "group_key": "abuse.brute_force|client.address=203.0.113.9",
}


def _repeat(work: Any, argument: Any, times: int) -> None:
    for _ in range(times):  # results are dropped, as a sink drops them: no garbage piles up
        work(argument)


def _per_item_us(work: Any, items: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        work(items)
        samples.append((time.perf_counter() - start) / items * 1e6)
    return statistics.median(samples)


class _Discard(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lines = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).lines += body.count(b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    items, rounds = (2_000, 3) if args.quick else (20_000, 5)

    start = time.perf_counter()
    schema = ocsf_schema()
    print(f"schema load (once per process): {time.perf_counter() - start:.2f} s")
    to_ocsf(PER_SPAN)  # warm-up: the rule catalog loads on first use
    for name, record in (("per-span", PER_SPAN), ("cross-request", CROSS_REQUEST)):
        event = to_ocsf(record)
        schema.check(event)
        mapped = _per_item_us(lambda n, r=record: _repeat(to_ocsf, r, n), items, rounds)
        checked = _per_item_us(lambda n, e=event: _repeat(schema.check, e, n), items // 50, rounds)
        print(f"{name:14s} map {mapped:6.1f} µs/record   validate {checked:7.1f} µs/event")

    with tempfile.TemporaryDirectory() as folder:
        sink = OcsfFileSink(Path(folder) / "ocsf.jsonl")
        written = _per_item_us(lambda n: _repeat(sink.emit, CROSS_REQUEST, n), items, rounds)
        sink.close()
        print(f"file sink      emit {written:6.1f} µs/record ({sink.written} lines, {sink.errors} errors)")

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discard)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        rates = []
        for _ in range(rounds):
            sink = OcsfWebhookSink(f"http://127.0.0.1:{server.server_address[1]}/", batch_size=100,
                                   queue_size=items * 2)
            start = time.perf_counter()
            for _ in range(items):
                sink.emit(CROSS_REQUEST)
            sink.close(timeout_s=60)
            rates.append(sink.sent / (time.perf_counter() - start))
            assert sink.sent == items and sink.dropped == 0, (sink.sent, sink.dropped)
        print(f"webhook sink   {statistics.median(rates):8.0f} records/s delivered (NDJSON, batches of 100, loopback)")
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
