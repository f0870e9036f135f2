"""Alerts: what `emit` costs the gateway's thread, and how soon a group's first alert arrives.

    .venv/bin/python bench/alert_latency.py            # about 15 s
    .venv/bin/python bench/alert_latency.py --groups 500

1. emit cost, in process, µs per call (median of 5 rounds): a new group each call (grouping plus
   queueing the alert), and one group over and over (the deduplicated path: a finding of an attack
   already alerted on). The receiver is a loopback webhook, so the sender thread runs meanwhile.
2. first-alert latency: `--groups` new groups emitted 20 ms apart; per group, the time from `emit`
   to the alert's arrival at a real loopback HTTP receiver (http.server), p50 / p95 / max.
3. the same to a real Alertmanager (when installed): from `emit` to the alert being listed by
   `GET /api/v2/alerts` (polled every 5 ms, which the figure includes).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import otel_apisec.detect.catalog  # noqa: F401 (declares the rules)
from otel_apisec.alerts import AlertmanagerAlerter, AlertPolicy, AlertRouter, WebhookAlerter
from otel_apisec.correlate.api import CorrelationFinding, Observation
from otel_apisec.detect.rule import get_rule
from otel_apisec.model import Severity
from otel_apisec.testing.servers import WebhookRecorder, run_alertmanager

RULE = get_rule("APISEC-AUTH-001")


def record(group_key: str) -> dict[str, object]:
    observation = Observation(time_s=time.time(), method="POST", route="/login", service="bench",
                              principal="hmac:bench", trace_id="ab" * 16, span_id="cd" * 8)
    return CorrelationFinding(RULE, observation, subject={"principal": "hmac:bench"}, evidence={"failures": 20},
                              message="20 failed logins", severity=Severity.HIGH, group_key=group_key).record()


def emit_cost(recorder: WebhookRecorder, calls: int = 20_000) -> tuple[float, float]:
    """(new group, deduplicated) median µs per emit."""
    fresh, same = [], []
    for round_ in range(5):
        records = [record(f"r{round_}-{i}") for i in range(calls)]
        router = AlertRouter([WebhookAlerter(recorder.url)], AlertPolicy(max_groups=calls, queue_size=calls))
        started = time.perf_counter()
        for item in records:
            router.emit(item)
        fresh.append((time.perf_counter() - started) / calls * 1e6)
        repeated = records[0]
        started = time.perf_counter()
        for _ in range(calls):
            router.emit(repeated)
        same.append((time.perf_counter() - started) / calls * 1e6)
        router.close(timeout_s=10)
    return statistics.median(fresh), statistics.median(same)


def webhook_latency(recorder: WebhookRecorder, groups: int) -> list[float]:
    router = AlertRouter([WebhookAlerter(recorder.url)])
    recorder.requests.clear()
    emitted: dict[str, float] = {}
    for i in range(groups):
        key = f"latency-{i}"
        emitted[key] = time.monotonic()
        router.emit(record(key))
        time.sleep(0.02)
    got = recorder.wait_for(lambda r: sum(len(x.body["alerts"]) for x in r) >= groups, timeout_s=30)
    router.close(timeout_s=5)
    return [(request.at - emitted[alert["labels"]["group_key"]]) * 1000 for request in got for alert in request.body["alerts"]]


def alertmanager_latency(recorder: WebhookRecorder, groups: int) -> list[float] | None:
    try:
        context = run_alertmanager(Path(tempfile.mkdtemp(prefix="alert-bench-")), recorder.url)
        am = context.__enter__()
    except BaseException as error:  # pytest.skip when the binary is missing
        print(f"alertmanager: skipped ({error})")
        return None
    try:
        router = AlertRouter([AlertmanagerAlerter(am.url)])
        latencies = []
        for i in range(groups):
            key = f"am-{i}"
            started = time.monotonic()
            router.emit(record(key))
            while not am.alerts(filter=f'group_key="{key}"'):
                time.sleep(0.005)
            latencies.append((time.monotonic() - started) * 1000)
        router.close(timeout_s=5)
        return latencies
    finally:
        context.__exit__(None, None, None)


def summary(latencies_ms: list[float]) -> str:
    ordered = sorted(latencies_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--groups", type=int, default=200, help="groups for the latency runs")
    args = parser.parse_args()
    recorder = WebhookRecorder()
    try:
        fresh, same = emit_cost(recorder)
        print(f"emit, new group:     {fresh:.1f} µs")
        print(f"emit, deduplicated:  {same:.1f} µs")
        print(f"first alert, webhook:       {summary(webhook_latency(recorder, args.groups))}")
        am = alertmanager_latency(recorder, min(args.groups, 50))
        if am is not None:
            print(f"first alert, Alertmanager:  {summary(am)}")
    finally:
        recorder.close()


if __name__ == "__main__":
    main()
