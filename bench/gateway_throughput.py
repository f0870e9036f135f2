"""Throughput of `otel-apisec gateway`: OTLP in -> processors -> OTLP out, spans/s per core on loopback.

    .venv/bin/python bench/gateway_throughput.py                 # full run, about 2 minutes
    .venv/bin/python bench/gateway_throughput.py --quick         # smaller, under 30 s
    .venv/bin/python bench/gateway_throughput.py --baseline-src /tmp/old   # also an older tree's enrich, side by side
    .venv/bin/python bench/gateway_throughput.py --baseline-src /tmp/old --baseline-pipeline enrich --baseline-pipeline correlate
    .venv/bin/python bench/gateway_throughput.py --profile       # also cProfile the enrich+redact processors in process

Three processes, each on its own:

    client   this script: pre-encoded ExportTraceServiceRequest protobufs (512 HTTP server spans
             each) POSTed to the gateway's /v1/traces over keep-alive connections, 429/503 retried
    gateway  `python -m otel_apisec gateway --config ...` (a subprocess): OTLP/HTTP receiver ->
             pipeline -> OTLP http/protobuf exporter (bounded memory queue)
    sink     a discard OTLP/HTTP receiver in a child process: counts the spans of each request by
             walking the protobuf wire format (no decoding into messages) and answers 200

Pipelines, each its own gateway process, measured in interleaved rounds:

    passthrough  no processors: receive, decode, encode, forward
    enrich       apisec/enrich + apisec/redact (default options, value detectors on)
    correlate    apisec/enrich + apisec/correlate (memory store, default thresholds) + apisec/redact
    estate       correlate + apisec/inventory (memory store) before apisec/redact, as
                 `otel-apisec gateway --forward` builds it
    baseline     (with --baseline-src DIR) the enrich pipeline, or those --baseline-pipeline names,
                 run from another source tree

Spans: HTTP server spans, half with the stable HTTP semantic conventions and half with the old
ones; captured request and response headers (Python-style `_` and Java-style `-` names);
Authorization with Bearer JWTs in several states (valid HS256/RS256, expired, no exp, alg none,
malformed), Basic credentials, API keys, anonymous calls; browser, mobile and SDK user agents;
routes with ids; query strings, some with an email, phone or token. 4,096 distinct spans in 8
distinct batches, cycled (tokens repeat as they do in real traffic).

Per round and pipeline: the gateway's CPU seconds (utime+stime from /proc/<pid>/stat, all its
threads: receiver, processors, exporter) over the window from the first request sent to the last
span counted by the sink, and that window's wall time. spans/s per core = spans / CPU seconds;
wall spans/s = spans / wall seconds (on a shared 2-core machine the client and sink compete with
the gateway, so wall throughput is the lower figure). Figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import http.client
import io
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
BATCH_SPANS = 512
DISTINCT_BATCHES = 8
GOAL_SPANS_PER_CORE = 30_000
START_TIMEOUT_S = 60.0
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


# --- the discard sink (child process) -----------------------------------------------------------
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes, start: int, end: int, wanted: int) -> list[tuple[int, int]]:
    """(start, end) of each length-delimited field `wanted` in data[start:end]; others skipped."""
    found = []
    pos = start
    while pos < end:
        tag, pos = _varint(data, pos)
        wire = tag & 7
        if wire == 2:
            size, pos = _varint(data, pos)
            if tag >> 3 == wanted:
                found.append((pos, pos + size))
            pos += size
        elif wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return found


def count_spans(data: bytes) -> int:
    """Spans in an encoded ExportTraceServiceRequest: resource_spans(1) > scope_spans(2) > spans(2)."""
    total = 0
    for rs_start, rs_end in _fields(data, 0, len(data), 1):
        for ss_start, ss_end in _fields(data, rs_start, rs_end, 2):
            total += len(_fields(data, ss_start, ss_end, 2))
    return total


class _SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # the http.server name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        # Finding log records (the OTLP exporter's findings_as_logs) arrive on /v1/logs: answered,
        # not counted as spans (their wire layout would count the same way).
        if self.path.endswith("/v1/traces"):
            self.server.note(body)
        self._reply(b"", "application/x-protobuf")  # an empty Export*ServiceResponse is zero bytes

    def do_GET(self) -> None:
        server: Sink = self.server
        if self.path == "/last":
            self._reply(server.last, "application/x-protobuf")
        else:
            self._reply(orjson.dumps({"spans": server.spans, "requests": server.requests}), "application/json")

    def _reply(self, payload: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


class Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self.spans = self.requests = 0
        self.last = b""
        self._lock = threading.Lock()

    def note(self, body: bytes) -> None:
        spans = count_spans(body)
        with self._lock:
            self.spans += spans
            self.requests += 1
            self.last = body


def serve_sink_forever() -> int:
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{sink.server_address[1]}", flush=True)
    sys.stdin.read()  # until the parent closes it
    return 0


# --- spans --------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(header: dict[str, Any], claims: dict[str, Any], rng: random.Random) -> str:
    return f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(claims))}.{_b64(rng.randbytes(32))}"


def make_tokens(rng: random.Random, now: int) -> list[str]:
    """Bearer tokens in the states a gateway meets, a few of each (they repeat across spans)."""
    tokens = []
    for user in range(12):
        sub = f"user-{user:04d}"
        tokens.append(_jwt({"alg": "HS256", "typ": "JWT"}, {"sub": sub, "iat": now - 60, "exp": now + 3600,
                                                            "scope": "orders:read orders:write"}, rng))
        tokens.append(_jwt({"alg": "RS256", "kid": f"key-{user % 3}"}, {"sub": sub, "iss": "https://id.example.com",
                                                                         "aud": "api", "iat": now - 30, "exp": now + 900}, rng))
    for user in range(4):
        tokens.append(_jwt({"alg": "HS256"}, {"sub": f"old-{user}", "iat": now - 90_000, "exp": now - 3600}, rng))  # expired
        tokens.append(_jwt({"alg": "RS256"}, {"sub": f"svc-{user}", "iat": now - 10}, rng))  # no exp
        tokens.append(_jwt({"alg": "none"}, {"sub": f"anon-{user}", "exp": now + 60}, rng).rsplit(".", 1)[0] + ".")
        tokens.append(f"eyJhbGciOiJIUzI1NiJ9.not*base64!{user}.c2ln")  # malformed
    return tokens


USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "curl/8.5.0",
)
ROUTES = (
    ("GET", "/api/orders/{id}", "/api/orders/{n}", ""),
    ("GET", "/api/orders", "/api/orders", "page={n}&size=20&sort=created_at"),
    ("POST", "/api/orders", "/api/orders", ""),
    ("GET", "/api/users/{id}/profile", "/api/users/{n}/profile", "fields=name,email"),
    ("GET", "/api/search", "/api/search", "q=blue+shoes&category=footwear&page={n}"),
    ("GET", "/api/customers", "/api/customers", "email=jane.doe{n}%40example.com"),  # PII in the query
    ("GET", "/api/callback", "/api/callback", "phone=%2B44+20+7946+{n:04d}&state=xyz"),
    ("PUT", "/api/carts/{id}", "/api/carts/{n}", ""),
    ("DELETE", "/api/sessions/{id}", "/api/sessions/{n}", ""),
    ("GET", "/health", "/health", ""),
)


def make_span(index: int, rng: random.Random, tokens: Sequence[str], now_ns: int) -> Any:
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    method, route, path_template, query_template = ROUTES[index % len(ROUTES)]
    n = rng.randrange(1, 99_999)
    path = path_template.format(n=n)
    query = query_template.format(n=n)
    if index % 23 == 0:
        query = (query + "&" if query else "") + f"access_token={rng.choice(tokens)}"  # a token in the URL
    status = rng.choice((200, 200, 200, 200, 201, 204, 304, 400, 401, 403, 404, 500)) if route != "/health" else 200
    start = now_ns - rng.randrange(1, 10**9)
    span = Span(trace_id=rng.randbytes(16), span_id=rng.randbytes(8), name=f"{method} {route}", kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=start, end_time_unix_nano=start + rng.randrange(200_000, 80_000_000))
    span.status.code = 2 if status >= 500 else 0
    stable = index % 2 == 0
    python_style = index % 4 < 2  # `_` in header attribute names (Python) or `-` (Java, Node)
    attrs: list[tuple[str, Any]] = []
    agent = rng.choice(USER_AGENTS)
    client_ip = f"203.0.113.{rng.randrange(1, 254)}"
    if stable:
        attrs += [("http.request.method", method), ("url.scheme", "https"), ("url.path", path), ("http.route", route),
                  ("http.response.status_code", status), ("server.address", "api.example.com"), ("server.port", 443),
                  ("client.address", client_ip), ("network.protocol.version", "1.1"), ("user_agent.original", agent)]
        if query:
            attrs.append(("url.query", query))
    else:
        attrs += [("http.method", method), ("http.scheme", "https"), ("http.target", f"{path}?{query}" if query else path),
                  ("http.route", route), ("http.status_code", status), ("http.host", "api.example.com"),
                  ("net.host.port", 443), ("net.peer.ip", client_ip), ("http.flavor", "1.1"), ("http.user_agent", agent),
                  ("http.server_name", "orders-api")]

    def header(side: str, name: str, value: str) -> None:
        attrs.append((f"http.{side}.header.{name.replace('-', '_') if python_style else name}", [value]))

    auth = index % 8
    if auth < 5:
        header("request", "authorization", f"Bearer {tokens[(index * 7) % len(tokens)]}")
    elif auth == 5:
        basic = base64.b64encode(f"svc-{index % 5}:S3cure-pass-{index % 5}!".encode()).decode()
        header("request", "authorization", f"Basic {basic}")
    elif auth == 6:
        header("request", "x-api-key", f"ak_live_{rng.randbytes(12).hex()}")
    header("request", "accept", "application/json")
    header("request", "x-forwarded-for", f"{client_ip}, 10.0.0.{rng.randrange(1, 254)}")
    header("request", "x-request-id", rng.randbytes(8).hex())
    if method in ("POST", "PUT"):
        header("request", "content-type", "application/json")
    header("response", "content-type", "application/json" if route != "/health" else "text/plain")
    header("response", "cache-control", "no-store")
    if index % 3 == 0:
        header("response", "strict-transport-security", "max-age=31536000; includeSubDomains")
        header("response", "x-content-type-options", "nosniff")
    if index % 5 == 0:
        header("response", "server", "nginx/1.25.3")
    for key, value in attrs:
        kv = span.attributes.add(key=key)
        if isinstance(value, list):
            for item in value:
                kv.value.array_value.values.add(string_value=item)
        elif isinstance(value, int):
            kv.value.int_value = value
        else:
            kv.value.string_value = value
    return span


def make_batches(seed: int = 7) -> list[bytes]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    rng = random.Random(seed)
    now_ns = time.time_ns()
    tokens = make_tokens(rng, now_ns // 10**9)
    batches = []
    for batch_index in range(DISTINCT_BATCHES):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        for key, value in (("service.name", f"orders-api-{batch_index % 3}"), ("telemetry.sdk.language", "java"),
                           ("telemetry.sdk.name", "opentelemetry"), ("host.name", f"pod-{batch_index}")):
            resource_spans.resource.attributes.add(key=key).value.string_value = value
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "io.opentelemetry.tomcat-10.0"
        for offset in range(BATCH_SPANS):
            scope_spans.spans.append(make_span(batch_index * BATCH_SPANS + offset, rng, tokens, now_ns))
        batches.append(request.SerializeToString())
    return batches


# --- processes ----------------------------------------------------------------------------------
def clean_environ(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(extra)
    return env


@dataclass
class SinkProcess:
    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls) -> SinkProcess:
        process = subprocess.Popen([sys.executable, __file__, "--sink"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True, env=clean_environ())
        assert process.stdout is not None
        return cls(process, process.stdout.readline().strip())

    def get(self, path: str) -> bytes:
        host, port = self.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", path)
            return connection.getresponse().read()
        finally:
            connection.close()

    def spans(self) -> int:
        return int(orjson.loads(self.get("/count"))["spans"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


PIPELINES = {
    "passthrough": [],
    "enrich": ["apisec/enrich", "apisec/redact"],
    "correlate": ["apisec/enrich", "apisec/correlate", "apisec/redact"],
    "estate": ["apisec/enrich", "apisec/correlate", "apisec/inventory", "apisec/redact"],
}


def gateway_config(sink_url: str, processors: list[str], src: Path = REPO_ROOT) -> dict[str, Any]:
    service: dict[str, Any] = {"pipelines": {"traces": {"receivers": ["otlp"], "processors": processors, "exporters": ["otlp"]}}}
    if "telemetry" in (src / "otel_apisec" / "gateway" / "config.py").read_text():  # trees with self-metrics
        service["telemetry"] = {"metrics": {"address": "127.0.0.1:0"}}  # on, as by default, on a free port
    if "console" in (src / "otel_apisec" / "gateway" / "config.py").read_text():  # trees with the console listener
        service["console"] = {"address": "off"}
    return {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:0", "max_message_bytes": 64 << 20}}}},
        "processors": {"apisec/enrich": {"hmac_key": "bench-key"}, "apisec/redact": {},
                       **({"apisec/correlate": {"hmac_key": "bench-key"}} if "apisec/correlate" in processors else {}),
                       **({"apisec/inventory": {}} if "apisec/inventory" in processors else {})},
        "exporters": {"otlp": {"endpoint": sink_url, "protocol": "http/protobuf", "queue_size": 64}},
        "service": service,
    }


@dataclass
class GatewayProcess:
    name: str
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log: Any
    spans: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    system: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @classmethod
    def start(cls, name: str, config_path: Path, src: str | None, directory: Path) -> GatewayProcess:
        env = clean_environ(PYTHONPATH=src) if src else clean_environ()
        log = open(directory / f"{name}.log", "w+b")  # closed in stop()
        process = subprocess.Popen([sys.executable, "-m", "otel_apisec", "gateway", "--config", str(config_path)],
                                   stdout=log, stderr=log, env=env, cwd=src or REPO_ROOT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            log.seek(0)
            text = log.read().decode(errors="replace")
            if "listening:" in text:
                address = text.split("listening:", 1)[1].split("http", 1)[1].split()[0].rstrip(",")
                host, port = address.rsplit(":", 1)
                return cls(name, process, host, int(port), log)
            if process.poll() is not None:
                raise RuntimeError(f"gateway {name} exited: {text}")
            time.sleep(0.05)
        process.kill()
        raise RuntimeError(f"gateway {name} did not start within {START_TIMEOUT_S:.0f} s")

    def cpu_seconds(self) -> tuple[float, float]:
        """(user + system, system) CPU seconds of the whole process so far."""
        with open(f"/proc/{self.process.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick, int(fields[12]) / tick  # utime, stime

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- the client ---------------------------------------------------------------------------------
def post_batches(gateway: GatewayProcess, batches: Sequence[bytes], count: int, connections: int) -> int:
    """POST `count` batches over `connections` keep-alive connections; returns the retries (429/503)."""
    next_index = iter(range(count))
    lock = threading.Lock()
    retries = [0]
    errors: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=60)
        headers = {"Content-Type": "application/x-protobuf"}
        try:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                body = batches[index % len(batches)]
                while True:
                    connection.request("POST", "/v1/traces", body, headers)
                    response = connection.getresponse()
                    response.read()
                    if response.status == 200:
                        break
                    if response.status not in (429, 503):
                        errors.append(f"HTTP {response.status}")
                        return
                    with lock:
                        retries[0] += 1
                    time.sleep(min(float(response.getheader("Retry-After") or 0.05), 0.05))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"gateway {gateway.name} answered {errors[0]}")
    return retries[0]


def wait_for_spans(sink: SinkProcess, expected: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (seen := sink.spans()) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"sink counted {seen} spans, expected {expected}")
        time.sleep(0.005)


def measure_round(gateway: GatewayProcess, sink: SinkProcess, batches: Sequence[bytes], count: int, connections: int) -> int:
    expected = sink.spans() + count * BATCH_SPANS
    cpu0, wall0 = gateway.cpu_seconds(), time.perf_counter()
    retries = post_batches(gateway, batches, count, connections)
    wait_for_spans(sink, expected)
    wall1, cpu1 = time.perf_counter(), gateway.cpu_seconds()
    gateway.spans.append(count * BATCH_SPANS)
    gateway.cpu.append(cpu1[0] - cpu0[0])
    gateway.system.append(cpu1[1] - cpu0[1])
    gateway.wall.append(wall1 - wall0)
    return retries


def check_output(sink: SinkProcess) -> str:
    """Decode the last request the sink got from the enrich gateway: were spans enriched and masked?"""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest.FromString(sink.get("/last"))
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    enriched = sum(any(kv.key == "apisec.auth.outcome" for kv in span.attributes) for span in spans)
    raw_bearer = sum(
        "Bearer ey" in item.string_value
        for span in spans for kv in span.attributes if kv.key.endswith("authorization")
        for item in kv.value.array_value.values
    )
    events = sum(len(span.events) for span in spans)
    return f"{enriched}/{len(spans)} spans enriched, {events} finding events, {raw_bearer} raw Bearer values left"


# --- profile ------------------------------------------------------------------------------------
def profile_processors(batches: Sequence[bytes], count: int, top: int) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from otel_apisec.gateway.api import Signal
    from otel_apisec.gateway.config import parse_config
    from otel_apisec.gateway.security_metrics import SecurityTally
    from otel_apisec.gateway.service import build_processor

    config = parse_config(gateway_config("http://127.0.0.1:9", PIPELINES["enrich"]))
    processors = [build_processor(config.processors[name], SecurityTally()) for name in PIPELINES["enrich"]]

    def run(n: int) -> None:
        for index in range(n):
            request = ExportTraceServiceRequest.FromString(batches[index % len(batches)])
            for processor in processors:
                request = processor.process(Signal.TRACES, request)
            request.SerializeToString()

    run(len(batches))  # warm caches as the gateway's warm-up does
    profiler = cProfile.Profile()
    start = time.process_time()
    profiler.enable()
    run(count)
    profiler.disable()
    cpu = time.process_time() - start
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    console.print(f"\n[bold]cProfile, decode + enrich + redact + encode in process, {count} x {BATCH_SPANS} spans, "
                  f"top {top} by own time[/bold] ({count * BATCH_SPANS / cpu:,.0f} spans/s under the profiler)")
    console.print(out.getvalue(), markup=False)


# --- report -------------------------------------------------------------------------------------
def report(gateways: Sequence[GatewayProcess], rounds: int, count: int, connections: int) -> None:
    table = Table(title=f"Gateway throughput: {rounds} rounds x {count} requests x {BATCH_SPANS} spans, "
                        f"{connections} client connections, OTLP/HTTP in and out")
    for column in ("pipeline", "spans/s per core", "min-max of rounds", "CPU µs/span", "of it system", "wall spans/s",
                   "vs passthrough"):
        table.add_column(column, justify="left" if column == "pipeline" else "right")
    per_core = {g.name: statistics.median(s / c for s, c in zip(g.spans, g.cpu, strict=True)) for g in gateways}
    for g in gateways:
        rates = [s / c for s, c in zip(g.spans, g.cpu, strict=True)]
        wall = statistics.median(s / w for s, w in zip(g.spans, g.wall, strict=True))
        table.add_row(g.name, f"{per_core[g.name]:,.0f}", f"{min(rates):,.0f}-{max(rates):,.0f}",
                      f"{1e6 / per_core[g.name]:,.1f}", f"{sum(g.system) / sum(g.cpu):.0%}", f"{wall:,.0f}",
                      f"{per_core[g.name] / per_core['passthrough']:.2f}")
    console.print(table)
    for name in per_core:
        if name != "passthrough":
            goal = "met" if per_core[name] >= GOAL_SPANS_PER_CORE else "not met"
            console.print(f"  {name}: {per_core[name]:,.0f} spans/s per core (goal >= {GOAL_SPANS_PER_CORE:,}: {goal}), "
                          f"{1e6 / per_core[name] - 1e6 / per_core['passthrough']:,.1f} µs CPU per span over passthrough")


def main() -> int:
    if "--sink" in sys.argv[1:]:
        return serve_sink_forever()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run, under 30 s")
    parser.add_argument("--rounds", type=int, help="measured rounds per pipeline (default 5; quick 3)")
    parser.add_argument("--requests", type=int, help="requests of 512 spans per round (default 24; quick 8)")
    parser.add_argument("--connections", type=int, default=2, help="concurrent client connections (default 2)")
    parser.add_argument("--baseline-src", metavar="DIR", help="also run pipelines from this source tree")
    parser.add_argument("--baseline-pipeline", action="append", choices=("enrich", "correlate"),
                        help="which pipelines run from --baseline-src (repeatable; default enrich)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the enrich pipeline's processors in process")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    count = args.requests or (8 if args.quick else 24)
    console.print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    console.print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    batches = make_batches()
    console.print(f"batches: {DISTINCT_BATCHES} distinct x {BATCH_SPANS} spans, "
                  f"{statistics.median(len(b) for b in batches) / BATCH_SPANS:,.0f} B per span encoded")
    pipelines = [(name, PIPELINES[name], None) for name in ("passthrough", "enrich", "correlate", "estate")]
    if args.baseline_src:
        for name in args.baseline_pipeline or ["enrich"]:
            pipelines.append((f"baseline {name}", PIPELINES[name], str(Path(args.baseline_src).resolve())))
    sink = SinkProcess.start()
    gateways: list[GatewayProcess] = []
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        directory = Path(tmp)
        try:
            for name, processors, src in pipelines:
                path = directory / f"{name}.yaml"
                config = gateway_config(sink.url, processors, Path(src) if src else REPO_ROOT)
                path.write_bytes(orjson.dumps(config))  # JSON is YAML
                gateways.append(GatewayProcess.start(name, path, src, directory))
            for gateway in gateways:  # warm-up: caches, memo of weak-secret checks, lazy imports
                expected = sink.spans() + DISTINCT_BATCHES * BATCH_SPANS
                post_batches(gateway, batches, DISTINCT_BATCHES, args.connections)
                wait_for_spans(sink, expected)
                if gateway.name == "enrich":
                    console.print(f"  check, enrich output: {check_output(sink)}")
            retries = 0
            for round_index in range(rounds):
                shift = round_index % len(gateways)
                for gateway in gateways[shift:] + gateways[:shift]:
                    retries += measure_round(gateway, sink, batches, count, args.connections)
            if retries:
                console.print(f"  {retries} requests were answered 429/503 (queue full) and retried")
        finally:
            for gateway in gateways:
                gateway.stop()
            sink.close()
    report(gateways, rounds, count, args.connections)
    if args.profile:
        profile_processors(batches, 4 if args.quick else 16, 30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
