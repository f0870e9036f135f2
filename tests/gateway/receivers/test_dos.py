"""The gateway's OTLP receivers under floods, slow senders and hostile request heads, each with a time bound.

Small limits and timeouts are configured through the receivers' options so the whole file runs in seconds.
All traffic stays on 127.0.0.1 and every loop is bounded in count and time.
"""

from __future__ import annotations

import http.client
import inspect
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.config import ConfigError, parse_config
from otel_apisec.gateway.receivers.otlp.grpc import GrpcReceiver
from otel_apisec.gateway.receivers.otlp.http import HttpReceiver
from otel_apisec.testing.servers import free_port

TRACE_BODY = trace_service_pb2.ExportTraceServiceRequest(
    resource_spans=[{"scope_spans": [{"spans": [{"name": "GET /orders", "trace_id": b"\x01" * 16, "span_id": b"\x02" * 8}]}]}]
).SerializeToString()
HALF_HEADERS = b"POST /v1/traces HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-protobuf\r\n"
HALF_BODY = HALF_HEADERS + b"Content-Length: 1000\r\n\r\n" + b"\x0a" * 10
EXPORT_TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + an empty SETTINGS frame


class Counter:
    """A Consumer that counts requests."""

    def __init__(self) -> None:
        self.requests = 0
        self._lock = threading.Lock()

    def consume(self, signal: Signal, request: Request) -> None:
        with self._lock:
            self.requests += 1


@contextmanager
def http_receiver(**options: float) -> Iterator[tuple[HttpReceiver, Counter]]:
    counter = Counter()
    receiver = HttpReceiver(counter, "127.0.0.1:0", **options).start()
    try:
        yield receiver, counter
    finally:
        receiver.shutdown(1.0)


def request(address: tuple[str, int], method: str = "GET", path: str = "/health", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """One request on a new connection, 5 s at most."""
    connection = http.client.HTTPConnection(*address, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def post_traces(address: tuple[str, int]) -> int:
    return request(address, "POST", "/v1/traces", TRACE_BODY, {"Content-Type": "application/x-protobuf"})[0]


def raw(address: tuple[str, int], data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(address, timeout=5)
    if data:
        sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket, timeout_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or resets) the connection, and when (time.monotonic())."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return data, time.monotonic()
        if not chunk:
            return data, time.monotonic()
        data += chunk
    raise AssertionError(f"still open after {timeout_s} s; received {data[:200]!r}")


def status_line(sock: socket.socket, timeout_s: float) -> bytes:
    """The first line of the server's answer, within timeout_s."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while b"\r\n" not in data and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert b"\r\n" in data, f"no answer within {timeout_s} s: {data[:200]!r}"
    return data.split(b"\r\n", 1)[0]


def health_on(sock: socket.socket) -> bytes:
    """GET /health on a raw keep-alive connection: the status line once the whole answer is in."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
    sock.settimeout(5)
    data = b""
    while not data.endswith(b"\r\n\r\nok\n") and (chunk := sock.recv(65536)):
        data += chunk
    return data.split(b"\r\n", 1)[0]


def http2_frame_types(data: bytes) -> list[int]:
    types, offset = [], 0
    while offset + 9 <= len(data):
        types.append(data[offset + 3])
        offset += 9 + int.from_bytes(data[offset:offset + 3], "big")
    return types


def trickle_until_closed(sock: socket.socket, data: bytes, every_s: float, limit_s: float) -> float:
    """Send `data` one byte every `every_s` until the server closes the connection; seconds that took."""
    started = time.monotonic()
    for byte in data:
        if time.monotonic() - started > limit_s:
            break
        try:
            sock.sendall(bytes([byte]))
            sock.settimeout(every_s)
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    raise AssertionError(f"the server still reads a byte every {every_s} s after {time.monotonic() - started:.1f} s")


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------------------------
# Connection floods


def test_connections_past_the_limit_get_a_fast_503_and_service_resumes() -> None:
    """Slow senders fill every slot: each further connection gets 503 + Retry-After + Connection: close at
    once, without its request being read, and the receiver serves again as soon as the slots free up."""
    limit, extra = 16, 24
    with http_receiver(max_connections=limit, header_timeout_s=2.0) as (receiver, counter), ExitStack() as stack:
        address = receiver.address
        held = [stack.enter_context(raw(address, HALF_HEADERS)) for _ in range(limit)]
        wait_until(lambda: len(receiver._server.connections) == limit, 2.0)
        started = time.monotonic()
        waits = []
        for _ in range(extra):
            connected = time.monotonic()
            sock = stack.enter_context(raw(address))
            answer, closed = read_until_closed(sock, 1.0)  # the client never sent a byte, and has its answer
            waits.append(closed - connected)
            head = answer.split(b"\r\n\r\n", 1)[0].decode()
            assert head.startswith("HTTP/1.1 503 ") and "Retry-After: 1" in head and "Connection: close" in head
        assert max(waits) < 0.5 and time.monotonic() - started < 3.0
        # A client that sends its request first reads the same answer (the refused request is read and dropped).
        assert request(address)[0] == 503
        assert receiver.connection_counts()["refused"] == extra + 1
        # The slow senders hit the header deadline; the refused sockets are still open on the client side.
        wait_until(lambda: not receiver._server.connections, 3.5)
        assert request(address)[0] == 200 and post_traces(address) == 200
        for sock in held:
            assert read_until_closed(sock, 1.0)[0] == b""  # closed by the header deadline, no answer
        assert receiver.connection_counts()["header_timeout"] == limit
    assert counter.requests == 1


def test_keep_alive_clients_past_the_limit_are_all_served() -> None:
    """With every slot held by idle keep-alive clients, a new client takes the longest-idle one's slot
    (which its client sees closed and reconnects), so everybody is served and nobody waits."""
    limit = 16
    with http_receiver(max_connections=limit, idle_timeout_s=30.0) as (receiver, counter):
        address = receiver.address
        idle = [http.client.HTTPConnection(*address, timeout=5) for _ in range(limit)]
        newcomers = [http.client.HTTPConnection(*address, timeout=5) for _ in range(8)]
        try:
            for count, connection in enumerate(idle, 1):  # one after the other: the idle order is known
                connection.request("GET", "/health")
                assert connection.getresponse().read() == b"ok\n"
                wait_until(lambda n=count: len(receiver._server.idle) == n, 1.0)
            started = time.monotonic()
            for connection in newcomers:  # each keeps its connection, so each needs a slot
                connection.request("POST", "/v1/traces", TRACE_BODY, {"Content-Type": "application/x-protobuf"})
                assert connection.getresponse().read() is not None and connection.sock is not None
            assert request(address)[0] == 200
            assert time.monotonic() - started < 2.0
            assert receiver.connection_counts() == {"idle_evicted": 9}
            for connection in idle[:9]:  # the longest idle made room; their sockets were closed
                assert connection.sock is not None and read_until_closed(connection.sock, 1.0)[0] == b""
            idle[-1].request("GET", "/health")  # a younger one still works
            assert idle[-1].getresponse().status == 200
        finally:
            for connection in idle + newcomers:
                connection.close()
    assert counter.requests == 8


# ---------------------------------------------------------------------------------------------------------------
# Slow senders


def test_slow_senders_are_closed_at_their_deadlines_while_others_are_served() -> None:
    """Headers or a body trickled one byte at a time, and an idle keep-alive connection, are each closed at
    their deadline (not kept alive by every byte), while /health and exports go on being served."""
    deadline_s, slack_s = 1.0, 1.0
    with http_receiver(header_timeout_s=deadline_s, body_timeout_s=deadline_s, idle_timeout_s=deadline_s) as (receiver, _):
        address = receiver.address
        results: dict[str, float] = {}

        def header() -> None:
            with raw(address) as sock:
                results["header"] = trickle_until_closed(sock, HALF_HEADERS * 4, 0.1, 3.0)

        def body() -> None:
            with raw(address, HALF_HEADERS + b"Content-Length: 1000\r\n\r\n") as sock:
                results["body"] = trickle_until_closed(sock, b"\x0a" * 1000, 0.1, 3.0)

        def idle() -> None:
            connection = http.client.HTTPConnection(*address, timeout=5)
            connection.request("GET", "/health")
            connection.getresponse().read()
            answered = time.monotonic()
            assert connection.sock is not None
            results["idle"] = read_until_closed(connection.sock, 3.0)[1] - answered
            connection.close()

        threads = [threading.Thread(target=target) for target in (header, body, idle)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        served = [request(address)[0], post_traces(address), request(address)[0]]  # meanwhile
        for thread in threads:
            thread.join(5.0)
        assert served == [200, 200, 200]
        assert set(results) == {"header", "body", "idle"}
        assert all(deadline_s - 0.2 <= took <= deadline_s + slack_s for took in results.values()), results
        counts = receiver.connection_counts()
        assert (counts["header_timeout"], counts["body_timeout"], counts["idle_timeout"]) == (1, 1, 1)
        assert request(address)[0] == 200


def test_a_second_request_on_a_keep_alive_connection_gets_its_own_header_deadline() -> None:
    """After an idle wait, the header deadline counts from the next request's first byte."""
    with http_receiver(header_timeout_s=0.8, idle_timeout_s=5.0) as (receiver, _):
        with raw(receiver.address) as sock:
            assert health_on(sock) == b"HTTP/1.1 200 OK"
            time.sleep(1.0)  # longer than the header deadline, shorter than the idle timeout
            assert health_on(sock) == b"HTTP/1.1 200 OK"


# ---------------------------------------------------------------------------------------------------------------
# Hostile request heads and bodies


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /health HTTP/1.1\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", 431),  # too many header lines
        (b"GET /health HTTP/1.1\r\nX-A: " + b"b" * 70_000 + b"\r\n\r\n", 431),  # one huge header line
        (b"GET /health HTTP/1.1\r\n" + b"X-A: " + b"b" * 4000 + b"\r\n" * 1 + (b"X-B: " + b"c" * 4000 + b"\r\n") * 20
         + b"\r\n", 431),  # 84 KB of headers in lines http.server accepts one by one
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),  # a huge request line
        (b"GET /" + b"%25" * 20_000 + b" HTTP/1.1\r\n\r\n", 404),  # repeated escapes in the path
        (b"GET /health HTTP/1.1\r\nX-A: b\r\n" + b" folded\r\n" * 95 + b"\r\n", 200),  # obsolete line folding
        (b"GET /health HTTP/1.1\r\nX-A: " + b"%00\\\"" * 10_000 + b"\r\n\r\n", 200),  # escapes in a header value
        (b"\x16\x03\x01\x00\xa5" + b"\x00" * 200 + b"\r\n\r\n", 400),  # TLS to the plain port
    ],
    ids=["header-count", "header-line", "header-block", "request-line", "path-escapes", "folding", "value-escapes", "tls"],
)
def test_hostile_request_heads_get_an_answer_in_time(head: bytes, status: int) -> None:
    """Pathological request lines and headers get their status within a bound, and the receiver goes on."""
    with http_receiver() as (receiver, _):
        started = time.monotonic()
        with raw(receiver.address, head) as sock:
            assert status_line(sock, 2.0).split(b" ")[1] == str(status).encode()
        assert time.monotonic() - started < 1.0
        assert request(receiver.address)[0] == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"resourceSpans": [{"resource": {"attributes": [{"key": "k", "value": {"stringValue": "'
         + b"\\u0000\\\\\\\"" * 100_000 + b'"}}]}}]}', 200),  # a megabyte of JSON escapes
        (b"[" * 200_000, 400),  # nesting far deeper than the parser allows
        (b'{"resourceSpans": ' * 50_000, 400),
    ],
    ids=["escapes", "deep-array", "deep-object"],
)
def test_hostile_json_bodies_get_an_answer_in_time(body: bytes, status: int) -> None:
    with http_receiver() as (receiver, _):
        started = time.monotonic()
        answer = request(receiver.address, "POST", "/v1/traces", body, {"Content-Type": "application/json"})[0]
        assert (answer, time.monotonic() - started < 3.0) == (status, True)


# ---------------------------------------------------------------------------------------------------------------
# OTLP/gRPC: gRPC core's own limits, set from the same options


def test_grpc_connection_limit_and_handshake_and_idle_timeouts() -> None:
    """Past max_connections a connection is closed at accept; a silent one at the handshake deadline; one
    without RPCs gets a GOAWAY at the idle timeout; RPCs are served meanwhile and afterwards."""
    with GrpcReceiver(Counter(), "127.0.0.1:0", max_connections=3, header_timeout_s=0.8, idle_timeout_s=0.8) as receiver:
        address = receiver.address
        connected = time.monotonic()
        with raw(address) as silent, raw(address, HTTP2_PREFACE) as idle:
            time.sleep(0.2)
            with raw(address, HTTP2_PREFACE), raw(address, HTTP2_PREFACE) as fourth:
                refused_at = time.monotonic()
                assert read_until_closed(fourth, 1.0)[1] - refused_at < 0.5  # past the limit: closed at once
            assert 0.6 <= read_until_closed(silent, 2.0)[1] - connected <= 1.8
            answer, closed = read_until_closed(idle, 2.0)
            assert 0.6 <= closed - connected <= 1.8 and 7 in http2_frame_types(answer)  # a GOAWAY frame
        with grpc.insecure_channel(f"{address[0]}:{address[1]}") as channel:
            export = channel.unary_unary(EXPORT_TRACES)
            assert export(TRACE_BODY, timeout=5) == b""


# ---------------------------------------------------------------------------------------------------------------
# Config


def _receivers_doc(**http: object) -> dict[str, object]:
    return {"receivers": {"otlp": {"protocols": {"grpc": {}, "http": http}}}}


def _config(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    full = {**doc, "exporters": {"console": {}}, "service": {"pipelines": {"traces": {"receivers": ["otlp"],
                                                                                        "exporters": ["console"]}}}}
    return parse_config(full).receivers["otlp"].options


def test_receiver_options_defaults_match_the_receivers() -> None:
    """The config's defaults are the receivers' own (the config table is where the README reads them)."""
    options = _config(_receivers_doc())
    for receiver, protocol in ((HttpReceiver, "http"), (GrpcReceiver, "grpc")):
        parameters = inspect.signature(receiver).parameters
        for name in ("max_connections", "header_timeout_s", "body_timeout_s", "idle_timeout_s"):
            if name in parameters:
                assert options[protocol][name] == parameters[name].default, (protocol, name)
    assert "body_timeout_s" not in options["grpc"]


@pytest.mark.parametrize(
    ("http", "grpc_options", "error"),
    [
        ({"max_connections": 0}, {}, "receivers.otlp.protocols.http.max_connections: 0 is outside [1, 1000000]"),
        ({"header_timeout_s": "10s"}, {}, "receivers.otlp.protocols.http.header_timeout_s: expected int or float, got str"),
        ({"idle_timeout_s": 0}, {}, "receivers.otlp.protocols.http.idle_timeout_s: 0 is outside"),
        ({}, {"body_timeout_s": 5}, "receivers.otlp.protocols.grpc.body_timeout_s: an http option"),
    ],
)
def test_receiver_option_errors_name_the_key(http: dict[str, object], grpc_options: dict[str, object], error: str) -> None:
    doc = {"receivers": {"otlp": {"protocols": {"grpc": grpc_options, "http": http}}}}
    with pytest.raises(ConfigError, match=re.escape(error)):
        _config(doc)


# ---------------------------------------------------------------------------------------------------------------
# SIGTERM, through the real command


@pytest.mark.e2e
def test_sigterm_exits_in_time_whatever_the_clients_do(tmp_path: Path) -> None:
    """`otel-apisec gateway` with idle, half-sent and refused connections open exits within the receivers'
    5 s grace (a half-sent body counts as an export in progress) plus slack, and counted the refusals."""
    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"receivers: {{otlp: {{protocols: {{grpc: {{endpoint: 127.0.0.1:{grpc_port}, header_timeout_s: 60}},\n"
        f"  http: {{endpoint: 127.0.0.1:{http_port}, max_connections: 4, header_timeout_s: 60, body_timeout_s: 60}}}}}}}}\n"
        "exporters: {console: {}}\n"
        f"service:\n  telemetry: {{metrics: {{address: 127.0.0.1:{metrics_port}}}}}\n  console: {{address: 'off'}}\n"
        "  pipelines: {traces: {receivers: [otlp], exporters: [console]}}\n")
    process = subprocess.Popen([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    http_address = ("127.0.0.1", http_port)
    try:
        deadline = time.monotonic() + 30
        while "listening" not in (line := process.stderr.readline()):
            assert (line or process.poll() is None) and time.monotonic() < deadline, "the gateway did not start"
        with ExitStack() as stack:
            keep_alive = stack.enter_context(raw(http_address))
            assert health_on(keep_alive) == b"HTTP/1.1 200 OK"  # and it stays open, idle
            stack.enter_context(raw(http_address, HALF_HEADERS))
            stack.enter_context(raw(http_address, HALF_BODY))
            stack.enter_context(raw(http_address, HALF_HEADERS))
            time.sleep(0.3)
            refused = [stack.enter_context(raw(http_address)) for _ in range(3)]  # the oldest idle one made room
            assert [sock.recv(12) for sock in refused[1:]] == [b"HTTP/1.1 503"] * 2  # held open by the client
            stack.enter_context(raw(("127.0.0.1", grpc_port)))  # a silent gRPC connection
            scrape = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
            assert 'otel_apisec_gateway_refused_connections_total{receiver="otlp"} 2.0' in scrape
            assert 'otel_apisec_gateway_closed_connections_total{reason="idle_evicted",receiver="otlp"} 1.0' in scrape
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                returncode = process.wait(5.0 + 5.0)
            except subprocess.TimeoutExpired:
                raise AssertionError("the gateway did not exit within 10 s of SIGTERM") from None
            took = time.monotonic() - started
        assert returncode == 0 and took < 10.0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
