"""Overhead of otel-apisec on a Flask API, against plain OpenTelemetry and bare Flask.

    .venv/bin/python bench/overhead.py              # full run, about 2-3 minutes
    .venv/bin/python bench/overhead.py --quick      # smaller, under 30 s
    .venv/bin/python bench/overhead.py --profile    # also cProfile the inline variant
    .venv/bin/python bench/overhead.py --only A --baseline-src /tmp/old   # also an older tree, side by side

The app (bench/apps/flask_bench_app.py) answers `POST /api/orders/<id>` with about 2 KB of JSON
each way; each response carries one email address (a PII finding, as on a typical API). Four
variants of the same app:

    bare        no OpenTelemetry at all
    plain       OpenTelemetry only: the apisec distro with OTEL_APISEC_ENABLED=false, which installs
                the SDK's plain BatchSpanProcessor and passes no capture hooks
    background  otel-apisec, analysis on a worker thread after the span ends (the default)
    inline      otel-apisec, analysis on the request thread at span end
    baseline    (with --baseline-src DIR, part A only) the background variant run from another
                source tree, e.g. a `git archive` of an older commit: DIR goes first on the server's
                PYTHONPATH, so `otel_apisec` and the distro entry point resolve to its code (the
                report shows which file the distro was loaded from). Same app script, same
                environment otherwise; the report adds background / baseline. Part B cannot load
                two trees in one process, so it has no baseline.

The instrumented ones export traces and metrics with OTLP http/protobuf to a discard receiver
(reads the body, answers 200, decodes nothing), with the default batch delay and metric
interval. Inherited OTEL_* variables are ignored so runs compare like with like.

A. End to end: each variant's app is a real server (werkzeug, threaded) in its own process,
   all four at once; a keep-alive httpx client sends sequential requests, variants interleaved
   in rounds (order rotating). Per variant: median client-side latency, and the server's CPU
   time per request from /proc/<pid>/stat, both inside the measured windows and over the whole
   run (which also holds the batch exports and background analysis that fall between windows).
B. In process: the same app built four ways with the SDK configured in code, called as a WSGI
   app (no HTTP, no test client, so the harness adds as little as possible to every variant),
   CPU time per request with time.process_time() over batches that end with a force_flush, so
   background analysis and the export are inside the window. The receiver runs in a child
   process so its CPU is not counted.

Figures are medians (or totals) measured side by side in one run on a shared machine; ratios
are the result, whatever they are. The goal from the issue: otel-apisec / plain OTel <= 1.10.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import gzip
import io
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
from apps.flask_bench_app import create_app, order_body
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
APP_SCRIPT = BENCH_DIR / "apps" / "flask_bench_app.py"

VARIANTS = ("bare", "plain", "background", "inline")
APISEC = ("background", "inline")
GOAL_RATIO = 1.10
BODY_POOL = 97  # distinct request bodies, cycled (prime, so bodies and order ids do not pair up)
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
BSP_DEFAULT_DELAY_S = 5.0  # OTEL_BSP_SCHEDULE_DELAY default: the last batch is out after this
START_TIMEOUT_S = 60.0
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)  # whole tables in logs


# --- the discard OTLP receiver ------------------------------------------------------------------
class _DiscardHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a collector would

    def do_POST(self) -> None:  # the http.server name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.note(self.path, body, self.headers.get("Content-Encoding"))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")  # an empty Export*ServiceResponse is zero bytes
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class DiscardReceiver(ThreadingHTTPServer):
    """Answers every OTLP/HTTP export with 200; counts posts and keeps the last body per path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _DiscardHandler)
        self.posts: dict[str, int] = {}
        self.last: dict[str, bytes] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, name="discard-receiver", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def note(self, path: str, body: bytes, encoding: str | None) -> None:
        with self._lock:
            self.posts[path] = self.posts.get(path, 0) + 1
            self.last[path] = gzip.decompress(body) if encoding == "gzip" else body

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def serve_discard_forever() -> int:
    """Child-process mode for measurement B: print the URL, serve until stdin closes."""
    receiver = DiscardReceiver()
    print(receiver.url, flush=True)
    sys.stdin.read()
    receiver.close()
    return 0



@dataclass
class ChildReceiver:
    """A DiscardReceiver in a child process (its CPU must stay out of process_time())."""

    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls) -> ChildReceiver:
        process = subprocess.Popen([sys.executable, __file__, "--discard-receiver"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True, env=clean_environ())
        assert process.stdout is not None
        return cls(process, process.stdout.readline().strip())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


# --- shared pieces ------------------------------------------------------------------------------
def clean_environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}


def request_bodies() -> list[bytes]:
    return [order_body(seed) for seed in range(BODY_POOL)]


def rotated(items: Sequence[str], round_index: int) -> list[str]:
    """ABCD, BCDA, CDAB, ...: no variant always runs first or right after another."""
    shift = round_index % len(items)
    return [*items[shift:], *items[:shift]]


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "n/a"


def verdict(value: float, base: float) -> str:
    return "met" if base > 0 and value / base <= GOAL_RATIO else "NOT met"


# --- A: real servers, end to end ----------------------------------------------------------------
def instrument_command() -> str:
    path = Path(sys.executable).parent / "opentelemetry-instrument"
    if not path.exists():
        raise SystemExit(f"opentelemetry-instrument not found next to {sys.executable}")
    return str(path)


def server_env(variant: str, receiver_url: str | None, baseline_src: str | None = None) -> dict[str, str]:
    env = {**clean_environ(), "PYTHONUNBUFFERED": "1"}
    if variant == "baseline":  # the old tree first, so it wins over the editable install's finder
        assert baseline_src is not None
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [baseline_src, env.get("PYTHONPATH")]))
    if variant == "bare" or receiver_url is None:
        return env
    env.update({
        "OTEL_PYTHON_DISTRO": "apisec",
        "OTEL_PYTHON_CONFIGURATOR": "apisec",
        "OTEL_SERVICE_NAME": f"bench-{variant}",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver_url,
        "OTEL_APISEC_HMAC_KEY": "bench-key",
    })
    if variant == "plain":
        env["OTEL_APISEC_ENABLED"] = "false"
    else:
        env["OTEL_APISEC_ANALYSIS"] = "background" if variant == "baseline" else variant
    return env


_WHERE_FROM = """
import os, sys
root = os.path.dirname(sys.modules["otel_apisec"].__file__)
files = [m.__file__ for n, m in sys.modules.items() if n.startswith("otel_apisec.") and getattr(m, "__file__", None)]
print(f"distro from {sys.modules['otel_apisec.sdk.distro'].__file__}; {sum(f.startswith(root) for f in files)} of "
      f"{len(files)} otel_apisec modules from {root}; estate/ {'present' if os.path.isdir(root + '/estate') else 'absent'}")
"""


def loaded_code(variant: str, baseline_src: str | None) -> str:
    """Where the code opentelemetry-instrument loads for this variant comes from (exporters off)."""
    env = {**server_env(variant, "http://127.0.0.1:9", baseline_src), "OTEL_TRACES_EXPORTER": "none",
           "OTEL_METRICS_EXPORTER": "none"}
    # cwd: `-c` puts it first on sys.path, as running the app script puts the script's directory
    done = subprocess.run([instrument_command(), sys.executable, "-c", _WHERE_FROM], env=env, cwd=APP_SCRIPT.parent,
                          capture_output=True, text=True, timeout=START_TIMEOUT_S)
    return done.stdout.strip() or f"probe failed: {done.stderr.strip()[-300:]}"


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    variant: str
    process: subprocess.Popen[bytes]
    url: str
    log: IO[bytes]
    receiver: DiscardReceiver | None
    client: httpx.Client = field(init=False)
    sent: int = 0  # requests sent since the whole-run CPU mark

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30.0)

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, all threads (Linux /proc)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def post(self, index: int, body: bytes) -> float:
        """One request; its client-side latency in seconds."""
        start = time.perf_counter()
        response = self.client.post(f"/api/orders/{index}", content=body, headers=JSON_HEADERS)
        elapsed = time.perf_counter() - start
        if response.status_code != 200 or len(response.content) < 1500:
            raise RuntimeError(f"{self.variant}: {response.status_code} {response.text[:200]!r}\n{self.logs()}")
        self.sent += 1
        return elapsed

    def logs(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        if self.receiver is not None:
            self.receiver.close()
        self.log.close()


def start_server(variant: str, baseline_src: str | None = None) -> Server:
    receiver = None if variant == "bare" else DiscardReceiver()
    port = free_port()
    command = [sys.executable, str(APP_SCRIPT), str(port)]
    if receiver is not None:
        command.insert(0, instrument_command())  # it execs python: the pid stays the server's
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{variant}-", suffix=".log")  # closed in stop()
    env = server_env(variant, receiver.url if receiver else None, baseline_src)
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT,
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    return Server(variant, process, f"http://127.0.0.1:{port}", log, receiver)


def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the {server.variant} server exited:\n{server.logs()}")
        try:
            if server.client.get("/health").text == "ok":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the {server.variant} server did not answer in {START_TIMEOUT_S} s:\n{server.logs()}")


@dataclass
class EndToEnd:
    latencies: dict[str, list[float]]  # per variant: the median latency (s) of each round
    window_cpu: dict[str, list[float]]  # per variant: CPU seconds per request of each round's window
    run_cpu: dict[str, float]  # per variant: CPU seconds per request over the whole run
    exports: dict[str, str]  # per instrumented variant: what its receiver saw
    sources: dict[str, str]  # background, and baseline if any: where its distro was loaded from


def measure_end_to_end(requests: int, rounds: int, warmup: int, progress: Progress,
                       baseline_src: str | None = None) -> EndToEnd:
    bodies = request_bodies()
    variants = (*VARIANTS, "baseline") if baseline_src else VARIANTS
    sources = {variant: loaded_code(variant, baseline_src) for variant in ("background", "baseline") if variant in variants}
    servers = {variant: start_server(variant, baseline_src) for variant in variants}
    try:
        for server in servers.values():
            wait_healthy(server)
        for server in servers.values():  # first requests import and compile lazily: keep them out
            for index in range(warmup * 2):
                server.post(index, bodies[index % BODY_POOL])
        marks = {variant: server.cpu_seconds() for variant, server in servers.items()}
        for server in servers.values():
            server.sent = 0
        latencies: dict[str, list[float]] = {variant: [] for variant in variants}
        window_cpu: dict[str, list[float]] = {variant: [] for variant in variants}
        task = progress.add_task("A: end to end", total=rounds * len(variants))
        index = 0
        for round_index in range(rounds):
            for variant in rotated(variants, round_index):
                server = servers[variant]
                for _ in range(warmup):
                    index += 1
                    server.post(index, bodies[index % BODY_POOL])
                cpu_before = server.cpu_seconds()
                times = []
                for _ in range(requests):
                    index += 1
                    times.append(server.post(index, bodies[index % BODY_POOL]))
                window_cpu[variant].append((server.cpu_seconds() - cpu_before) / requests)
                latencies[variant].append(statistics.median(times))
                progress.advance(task)
        # Let the last batch go out (default schedule delay), so every exported span is paid for.
        time.sleep(BSP_DEFAULT_DELAY_S + 1.0)
        run_cpu = {variant: (server.cpu_seconds() - marks[variant]) / server.sent for variant, server in servers.items()}
        exports = {variant: describe_exports(servers[variant].receiver) for variant in variants if variant != "bare"}
        return EndToEnd(latencies, window_cpu, run_cpu, exports, sources)
    finally:
        for server in servers.values():
            server.stop()


def describe_exports(receiver: DiscardReceiver | None) -> str:
    """Proof the variant did its work: export counts, and the apisec attributes in the last trace batch."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    if receiver is None:
        return ""
    traces, metrics = receiver.posts.get("/v1/traces", 0), receiver.posts.get("/v1/metrics", 0)
    server_spans = analysed = with_pii = skipped = 0
    if "/v1/traces" in receiver.last:
        batch = ExportTraceServiceRequest.FromString(receiver.last["/v1/traces"])
        for resource_spans in batch.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if span.kind != span.SPAN_KIND_SERVER:
                        continue
                    keys = {attribute.key: attribute.value for attribute in span.attributes}
                    server_spans += 1
                    analysed += "apisec.auth.outcome" in keys
                    with_pii += keys.get("apisec.pii.detected") is not None and keys["apisec.pii.detected"].bool_value
                    skipped += "apisec.detectors.skipped" in keys
    return (f"{traces} trace, {metrics} metric exports; last trace batch: {server_spans} server spans, {analysed} analysed, "
            f"{with_pii} with PII, {skipped} with detectors skipped")


# --- B: in process, CPU only --------------------------------------------------------------------
class CountingExporter:
    """Wraps the OTLP span exporter to count exported and analysed spans (a dict lookup per span)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.spans = 0
        self.analysed = 0

    def export(self, spans: Sequence[Any]) -> Any:
        self.spans += len(spans)
        self.analysed += sum(1 for span in spans if "apisec.auth.outcome" in (span.attributes or {}))
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class CountingAnalyzer:
    """Wraps the processor's Analyzer to count the bodies analysis actually saw (proof the capture works)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.exchanges = self.request_bodies = self.response_bodies = 0

    def analyze(self, exchange: Any) -> Any:
        self.exchanges += 1
        self.request_bodies += exchange.request_body is not None and bool(exchange.request_body.data)
        self.response_bodies += exchange.response_body is not None and bool(exchange.response_body.data)
        return self.inner.analyze(exchange)


@dataclass
class InProcessVariant:
    name: str
    app: Callable[..., Iterable[bytes]]
    flush: Callable[[], Any] | None = None
    shutdown: Callable[[], Any] | None = None
    exporter: CountingExporter | None = None
    analyzer: CountingAnalyzer | None = None


def build_variant(name: str, endpoint: str) -> InProcessVariant:
    """The app with the SDK configured in code the way the distro and configurator do it."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from otel_apisec.sdk.capture.wsgi import flask_hooks
    from otel_apisec.sdk.runtime import Runtime
    from otel_apisec.sdk.settings import load_settings
    from otel_apisec.sdk.span_processor import ApisecSpanProcessor
    from otel_apisec.sdk.telemetry import ApisecMetrics

    app = create_app()
    if name == "bare":
        return InProcessVariant(name, app)
    resource = Resource.create({"service.name": f"bench-{name}"})
    meter_provider = MeterProvider(resource=resource, metric_readers=[
        PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"))])
    tracer_provider = TracerProvider(resource=resource)
    exporter = CountingExporter(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"))
    batch = BatchSpanProcessor(exporter)  # duck-typed SpanExporter
    hooks: dict[str, Any] = {}
    analyzer = None
    if name == "plain":
        tracer_provider.add_span_processor(batch)
    else:
        settings = load_settings({"OTEL_APISEC_ANALYSIS": name, "OTEL_APISEC_HMAC_KEY": "bench-key"})
        # As distro.apisec_export_processor builds it, with this provider's metrics.
        runtime = dataclasses.replace(Runtime.create(settings), metrics=ApisecMetrics(meter_provider))
        processor = ApisecSpanProcessor(batch, settings=runtime.settings, registry=runtime.registry,
                                        metrics=runtime.metrics, recent=runtime.recent)
        processor.analyzer = analyzer = CountingAnalyzer(processor.analyzer)
        tracer_provider.add_span_processor(processor)
        hooks = flask_hooks(runtime.registry, runtime.metrics)
    FlaskInstrumentor.instrument_app(app, tracer_provider=tracer_provider, meter_provider=meter_provider, **hooks)

    def shutdown() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    return InProcessVariant(name, app, tracer_provider.force_flush, shutdown, exporter, analyzer)


def wsgi_environs(bodies: list[bytes]) -> list[tuple[dict[str, Any], bytes]]:
    """One environ per body, as a server would build it (headers like httpx's)."""
    from werkzeug.test import EnvironBuilder

    environs = []
    for index, body in enumerate(bodies):
        builder = EnvironBuilder(path=f"/api/orders/{index}", method="POST", data=body, base_url="http://127.0.0.1:8000",
                                 headers={**JSON_HEADERS, "User-Agent": "python-httpx/0.28.1",
                                          "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"})
        environs.append((builder.get_environ(), body))
    return environs


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
    if not status.startswith("200"):
        raise RuntimeError(f"unexpected status {status}")
    return lambda data: None


def call_wsgi(app: Callable[..., Iterable[bytes]], template: dict[str, Any], body: bytes) -> int:
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(body)
    result = app(environ, _start_response)
    try:
        return sum(len(chunk) for chunk in result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def run_batch(variant: InProcessVariant, environs: list[tuple[dict[str, Any], bytes]], count: int) -> float:
    """CPU seconds per request over `count` requests plus the flush that exports them."""
    gc.collect()
    start = time.process_time()
    for index in range(count):
        template, body = environs[index % len(environs)]
        call_wsgi(variant.app, template, body)
    if variant.flush is not None:
        variant.flush()
    return (time.process_time() - start) / count


@dataclass
class InProcess:
    cpu: dict[str, list[float]]  # per variant: CPU seconds per request of each round
    exports: dict[str, str]
    analyzers: dict[str, CountingAnalyzer]


def measure_in_process(batch: int, rounds: int, progress: Progress) -> InProcess:
    receiver = ChildReceiver.start()
    try:
        variants = {name: build_variant(name, receiver.url) for name in VARIANTS}
        environs = wsgi_environs(request_bodies())
        for variant in variants.values():
            run_batch(variant, environs, 200)
        cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
        task = progress.add_task("B: in process", total=rounds * len(VARIANTS))
        for round_index in range(rounds):
            for name in rotated(VARIANTS, round_index):
                cpu[name].append(run_batch(variants[name], environs, batch))
                progress.advance(task)
        exports = {}
        for name, variant in variants.items():
            if variant.exporter is not None:
                exports[name] = f"{variant.exporter.spans} spans exported, {variant.exporter.analysed} analysed"
            if variant.analyzer is not None:
                seen = variant.analyzer
                exports[name] += (f"; analysis saw {seen.exchanges} exchanges, {seen.request_bodies} request bodies, "
                                  f"{seen.response_bodies} response bodies")
            if variant.shutdown is not None:
                variant.shutdown()
        analyzers = {name: variant.analyzer for name, variant in variants.items() if variant.analyzer is not None}
        return InProcess(cpu, exports, analyzers)
    finally:
        receiver.close()


def profile_inline(count: int, top: int) -> None:
    """cProfile of the inline variant in process (analysis on the calling thread, so it is all seen)."""
    receiver = ChildReceiver.start()
    try:
        variant = build_variant("inline", receiver.url)
        environs = wsgi_environs(request_bodies())
        run_batch(variant, environs, 200)
        profiler = cProfile.Profile()
        profiler.enable()
        run_batch(variant, environs, count)
        profiler.disable()
        if variant.shutdown is not None:
            variant.shutdown()
    finally:
        receiver.close()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    console.print(f"\n[bold]cProfile, inline variant, {count} requests, top {top} by cumulative time[/bold]")
    console.print(out.getvalue(), markup=False)


# --- report -------------------------------------------------------------------------------------
def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}"


def report_end_to_end(result: EndToEnd, requests: int, rounds: int) -> None:
    variants = list(result.latencies)
    latency = {v: statistics.median(result.latencies[v]) for v in variants}
    window = {v: statistics.median(result.window_cpu[v]) for v in variants}
    run = result.run_cpu
    table = Table(title=f"A. End to end: werkzeug threaded server, keep-alive client, {rounds} rounds x {requests} requests")
    for column in ("variant", "latency µs", "vs plain", "CPU µs/req in windows", "vs plain",
                   "CPU µs/req whole run", "vs plain", "vs bare"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in variants:
        table.add_row(v, us(latency[v]), ratio(latency[v], latency["plain"]), us(window[v]), ratio(window[v], window["plain"]),
                      us(run[v]), ratio(run[v], run["plain"]), ratio(run[v], run["bare"]))
    console.print(table)
    for v in [v for v in (*APISEC, "baseline") if v in variants]:
        console.print(f"  {v}: CPU {ratio(run[v], run['plain'])} of plain OTel (whole run; goal <= {GOAL_RATIO:.2f}: "
                      f"{verdict(run[v], run['plain'])}), latency {ratio(latency[v], latency['plain'])}, "
                      f"+{us(run[v] - run['plain'])} µs CPU and +{us(latency[v] - latency['plain'])} µs latency per request")
    console.print(f"  plain OTel vs bare: CPU {ratio(run['plain'], run['bare'])}, "
                  f"latency {ratio(latency['plain'], latency['bare'])}")
    if "baseline" in variants:
        console.print(f"  background / baseline (this tree / the old one): "
                      f"latency {ratio(latency['background'], latency['baseline'])}, "
                      f"CPU in windows {ratio(window['background'], window['baseline'])}, "
                      f"CPU whole run {ratio(run['background'], run['baseline'])}")
        console.print("  (part B, in process, has no baseline: one process cannot load two source trees)")
    for v, text in result.sources.items():
        console.print(f"  code, {v}: {text}")
    for v, text in result.exports.items():
        console.print(f"  exports, {v}: {text}")


def report_in_process(result: InProcess, batch: int, rounds: int) -> None:
    cpu = {v: statistics.median(result.cpu[v]) for v in VARIANTS}
    spread = {v: (min(result.cpu[v]), max(result.cpu[v])) for v in VARIANTS}
    table = Table(title=f"B. In process: WSGI calls, CPU incl. flush and export, {rounds} rounds x {batch} requests")
    for column in ("variant", "CPU µs/req (median)", "min-max of rounds", "vs plain", "vs bare", "over plain µs"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in VARIANTS:
        table.add_row(v, us(cpu[v]), f"{us(spread[v][0])}-{us(spread[v][1])}", ratio(cpu[v], cpu["plain"]),
                      ratio(cpu[v], cpu["bare"]), f"{(cpu[v] - cpu['plain']) * 1e6:+,.0f}")
    console.print(table)
    for v in APISEC:
        console.print(f"  {v}: {ratio(cpu[v], cpu['plain'])} of plain OTel "
                      f"(goal <= {GOAL_RATIO:.2f}: {verdict(cpu[v], cpu['plain'])})")
    console.print(f"  plain OTel vs bare: {ratio(cpu['plain'], cpu['bare'])}")
    for v, text in result.exports.items():
        console.print(f"  exports, {v}: {text}")
    missing = [name for name, seen in result.analyzers.items() if seen.exchanges and not seen.request_bodies]
    if missing:
        console.print(f"  [bold red]warning:[/bold red] no request body reached analysis in {', '.join(missing)}: "
                      "the capture missed them, so these figures leave out request-body analysis")


def main() -> int:
    if "--discard-receiver" in sys.argv[1:]:
        return serve_discard_forever()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, help="A: timed requests per variant per round (default 400; quick 120)")
    parser.add_argument("--rounds", type=int, help="rounds of A and B (default A 10, B 20; quick A 3, B 6)")
    parser.add_argument("--quick", action="store_true", help="a smoke run, under 30 s")
    parser.add_argument("--only", choices=("A", "B"), help="run one measurement")
    parser.add_argument("--profile", action="store_true", help="also cProfile the inline variant in process")
    parser.add_argument("--baseline-src", metavar="DIR", help="A: also run the background variant from this source tree")
    args = parser.parse_args()
    requests = args.requests or (120 if args.quick else 400)
    rounds_a = args.rounds or (3 if args.quick else 10)
    rounds_b = args.rounds or (6 if args.quick else 20)
    batch_b = 200 if args.quick else 500
    warmup = 20 if args.quick else 50
    console.print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    console.print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; bodies: request "
                  f"{statistics.median(len(b) for b in request_bodies()):.0f} B, response about 2 KB (median)")
    end_to_end = in_process = None
    with Progress(console=console, transient=True) as progress:
        if args.only != "B":
            baseline_src = str(Path(args.baseline_src).resolve()) if args.baseline_src else None
            end_to_end = measure_end_to_end(requests, rounds_a, warmup, progress, baseline_src)
        if args.only != "A":
            in_process = measure_in_process(batch_b, rounds_b, progress)
    if end_to_end is not None:
        report_end_to_end(end_to_end, requests, rounds_a)
    if in_process is not None:
        report_in_process(in_process, batch_b, rounds_b)
    if args.profile:
        profile_inline(1000 if args.quick else 3000, 30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
