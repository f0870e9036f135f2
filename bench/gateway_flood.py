"""OTLP/HTTP receiver under a connection flood: time to refusal past max_connections and its cost, the cost of
a normal request for comparison, and 300 keep-alive clients sharing 256 slots.
Run from the repo root: .venv/bin/python bench/gateway_flood.py (also `make bench-gateway`)

A real `otel-apisec gateway` subprocess (max_connections 256, no processors, findings-file exporter) on
127.0.0.1; gateway CPU from /proc/<pid>/stat. Every loop is bounded in count and time.
  A. 256 slow senders hold every slot (half-sent headers); a flooder opens new connections back to back
     (1 and 4 at a time), each reads its 503 until the gateway closes it.
  B. the slow senders gone, one keep-alive client POSTs small trace batches (baseline cost of a request).
  C. 300 keep-alive clients (threads) each POST once a second for 10 s into 256 slots; a client whose idle
     connection was closed to make room reconnects, as urllib3 / the SDK exporters do.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_apisec.testing.servers import free_port

REFUSALS = 5000
POSTS = 2000
PHASE_LIMIT_S = 60.0
TICKS = os.sysconf("SC_CLK_TCK")
BODY = trace_service_pb2.ExportTraceServiceRequest(
    resource_spans=[{"scope_spans": [{"spans": [{"name": f"GET /orders/{i}", "trace_id": b"\x01" * 16,
                                                 "span_id": i.to_bytes(8, "big")} for i in range(1, 11)]}]}]
).SerializeToString()


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def flood(address: tuple[str, int], count: int, stop: threading.Event, latencies: list[float]) -> None:
    deadline = time.monotonic() + PHASE_LIMIT_S
    for _ in range(count):
        if stop.is_set() or time.monotonic() > deadline:
            return
        started = time.perf_counter()
        with socket.create_connection(address, timeout=5) as sock:
            first = sock.recv(16)
            latencies.append(time.perf_counter() - started)
            assert first.startswith(b"HTTP/1.1 503"), first
            while sock.recv(4096):
                pass


def posts(connection: http.client.HTTPConnection, count: int) -> list[float]:
    walls = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("POST", "/v1/traces", BODY, {"Content-Type": "application/x-protobuf"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        walls.append(time.perf_counter() - started)
    return walls


def flood_round(gateway: subprocess.Popen[str], address: tuple[str, int], count: int, workers: int) -> str:
    latencies: list[float] = []
    cpu0, wall0 = cpu_s(gateway.pid), time.monotonic()
    threads = [threading.Thread(target=flood, args=(address, count // workers, threading.Event(), latencies))
               for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PHASE_LIMIT_S + 10)
    cpu, wall = cpu_s(gateway.pid) - cpu0, time.monotonic() - wall0
    return (f"{len(latencies)} refusals, {workers} at a time, {len(latencies) / wall:,.0f}/s: connect to 503 p50 "
            f"{pct(latencies, 0.5) * 1e3:.2f} ms, p99 {pct(latencies, 0.99) * 1e3:.2f} ms, max {max(latencies) * 1e3:.1f} ms;"
            f" gateway CPU {cpu / len(latencies) * 1e6:.0f} µs per refusal")


def keep_alive_client(address: tuple[str, int], until: float, outcomes: list[str]) -> None:
    connection = http.client.HTTPConnection(*address, timeout=10)
    while time.monotonic() < until:
        started = time.monotonic()
        for _attempt in range(2):  # a connection closed while idle is reopened once, as urllib3 does
            try:
                connection.request("POST", "/v1/traces", BODY, {"Content-Type": "application/x-protobuf"})
                response = connection.getresponse()
                response.read()
                outcomes.append(str(response.status))
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                connection.close()
                outcomes.append("reconnect")
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    connection.close()


def main() -> None:
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="gw-flood-"))
    config = folder / "gateway.yaml"
    config.write_text(
        f"receivers: {{otlp: {{protocols: {{http: {{endpoint: 127.0.0.1:{port}, max_connections: 256, "
        "header_timeout_s: 300}}}}\n"
        f"exporters: {{apisec/findings: {{path: {folder / 'findings.jsonl'}}}}}\n"
        "service:\n  telemetry: {metrics: {address: off}}\n"
        "  pipelines: {traces: {receivers: [otlp], exporters: [apisec/findings]}}\n")
    gateway = subprocess.Popen([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    address = ("127.0.0.1", port)
    held: list[socket.socket] = []
    try:
        while "listening" not in gateway.stderr.readline():
            assert gateway.poll() is None, "the gateway exited"
        held = [socket.create_connection(address, timeout=5) for _ in range(256)]
        for sock in held:
            sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: gw\r\n")
        time.sleep(1.0)
        print("A.", flood_round(gateway, address, REFUSALS, 1))
        print("A.", flood_round(gateway, address, REFUSALS, 4))
        for sock in held:
            sock.close()
        held = []
        time.sleep(1.0)

        client = http.client.HTTPConnection(*address, timeout=10)
        posts(client, 200)  # warm-up
        cpu0 = cpu_s(gateway.pid)
        walls = posts(client, POSTS)
        cpu = cpu_s(gateway.pid) - cpu0
        client.close()
        print(f"B. {POSTS} POSTs (10 spans each) on one keep-alive connection: p50 {statistics.median(walls) * 1e3:.2f} ms,"
              f" p99 {pct(walls, 0.99) * 1e3:.2f} ms; gateway CPU {cpu / POSTS * 1e6:.0f} µs per POST")

        outcomes: list[str] = []
        until = time.monotonic() + 10.0
        cpu0 = cpu_s(gateway.pid)
        clients = [threading.Thread(target=keep_alive_client, args=(address, until, outcomes)) for _ in range(300)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(30)
        cpu = cpu_s(gateway.pid) - cpu0
        tally = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
        print(f"C. 300 keep-alive clients, 256 slots, 10 s: {tally}; gateway CPU {cpu:.2f} s")
    finally:
        for sock in held:
            sock.close()
        gateway.send_signal(signal.SIGTERM)
        started = time.monotonic()
        gateway.wait(30)
        print(f"SIGTERM: exit {gateway.returncode} in {time.monotonic() - started:.2f} s")


if __name__ == "__main__":
    main()
