"""The OTLP/HTTP receiver: `/v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf and JSON, gzip and deflate.

A full queue is answered 429 with Retry-After (which the OTel SDK exporters honour); anything a
client sends, however malformed, gets a status code; only the request fails, never the server.

Floods and slow senders: one thread per connection, at most `max_connections` of them. Past the limit
the longest-idle keep-alive connection is closed to make room, else the new connection gets a canned
503 + Retry-After without its request being read. Every read waits only until its phase's deadline
(headers, body, keep-alive idle), so a client trickling one byte at a time is closed on time.
"""

from __future__ import annotations

import http.client
import io
import logging
import math
import selectors
import socket
import ssl
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

from google.protobuf import json_format
from google.rpc import code_pb2

from otel_apisec.gateway.api import Consumer, QueueFullError, Request, Signal
from otel_apisec.gateway.receivers.otlp.base import (
    DEFAULT_MAX_BYTES,
    RESPONSE_TYPES,
    bearer_ok,
    parse_endpoint,
    retry_delay,
    rpc_status,
)
from otel_apisec.gateway.receivers.otlp.json import parse_json_request, to_json
from otel_apisec.gateway.receivers.otlp.repair import decode_protobuf

__all__ = ["HttpReceiver"]

logger = logging.getLogger("otel_apisec.gateway.receivers")

_HTTP_PATHS = {f"/v1/{signal.value}": signal for signal in Signal}

# ---------------------------------------------------------------------------------------------------------------
# OTLP/HTTP


class _BodyTooLarge(Exception):
    pass


_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON_TYPE = "application/json"
# Content-Encoding -> zlib wbits; "deflate" is the zlib format (RFC 9110), as the OTel SDKs send it.
_ENCODINGS = {"": None, "identity": None, "gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
# gRPC code for each HTTP error status, in the google.rpc.Status body.
_HTTP_TO_RPC_CODE = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    503: code_pb2.UNAVAILABLE,
}
_LINGER_BYTES = 64 * 1024 * 1024  # how much of an unread body to swallow so the client reads our answer, not a reset
_LINGER_S = 5.0
_CHUNK_LINE_MAX = 1024
_SEND_TIMEOUT_S = 10.0  # an answer is a few hundred bytes: a client that has not taken it in 10 s is not reading
_MAX_HEADER_BYTES = 64 * 1024  # the whole header block; http.server alone would take 100 lines of 64 KiB each
_REFUSAL_LINGER_S = 2.0  # how long a refused connection is read from, so closing it does not reset our 503
_REFUSER_MAX = 1024  # refused connections held for that at once; past it they are closed at once


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Decompress at most `limit` bytes of output: a small gzip bomb costs `limit` bytes of memory, no more."""
    parts: list[bytes] = []
    total = 0
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            part = inflater.decompress(data, limit - total + 1)
        except zlib.error as error:
            raise ValueError(f"corrupt compressed body: {error}") from None
        total += len(part)
        if total > limit:
            raise _BodyTooLarge(f"decompressed body exceeds {limit} bytes")
        parts.append(part)
        if not inflater.eof:
            raise ValueError("truncated compressed body")
        data = inflater.unused_data
        if not data:
            return b"".join(parts)
        if wbits == zlib.MAX_WBITS:
            raise ValueError("trailing bytes after the deflate stream")
        # gzip allows several members back to back: go on with the next one.


def _shutdown_socket(connection: socket.socket) -> None:
    """Wake the thread blocked on `connection`: its read returns EOF and it closes the connection itself."""
    try:
        socket.socket.shutdown(connection, socket.SHUT_RDWR)  # the plain call: SSLSocket's is not thread-safe
    except OSError:
        pass


class _DeadlineIO(socket.SocketIO):
    """The raw reader under rfile: each read waits only until the current phase's deadline, so a client that
    trickles one byte at a time cannot stretch the headers, the body or a keep-alive wait past it (a plain
    socket timeout restarts with every byte). No timer thread: the socket timeout is set before each read."""

    def __init__(self, connection: socket.socket) -> None:
        super().__init__(connection, "rb")
        self._connection = connection
        self.phase = "header"
        self.deadline = math.inf
        self.expired = False

    def start(self, phase: str, timeout_s: float) -> None:
        self.phase, self.deadline = phase, time.monotonic() + timeout_s

    def readinto(self, buffer: Any) -> int | None:
        try:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.phase} deadline passed")
            self._connection.settimeout(remaining)
            return super().readinto(buffer)
        except TimeoutError:
            self.expired = True
            raise


class _HeaderBudget:
    """rfile as http.client.parse_headers sees it: lines within one budget for the whole block (431 beyond)."""

    def __init__(self, rfile: io.BufferedIOBase, budget: int) -> None:
        self._rfile, self._left = rfile, budget

    def readline(self, limit: int = -1) -> bytes:
        line = self._rfile.readline(self._left + 1 if limit < 0 else min(limit, self._left + 1))
        self._left -= len(line)
        if self._left < 0:
            raise http.client.LineTooLong(f"request headers (limit {_MAX_HEADER_BYTES} bytes)")
        return line


class _Refuser:
    """Answers connections past max_connections with a canned 503, then lets them go, without blocking accept.

    The accept thread only does a non-blocking send and a half-close. This one thread then reads and throws
    away what the client still sends, for up to _REFUSAL_LINGER_S, so that closing does not reset the
    connection before the client has read the 503 (a close with unread input sends a TCP reset)."""

    def __init__(self, response: bytes) -> None:
        self._response = response
        self._pending: list[socket.socket] = []
        self._held = 0
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="otlp-http-refuser", daemon=True)
        self._thread.start()

    def refuse(self, connection: socket.socket) -> None:
        """On the accept thread: never blocks."""
        try:
            if isinstance(connection, ssl.SSLSocket):
                raise OSError("no TLS handshake yet: plain text would be garbage, so just close")
            connection.setblocking(False)
            connection.send(self._response)  # a few hundred bytes into an empty send buffer
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            connection.close()
            return
        with self._wake:
            if self._closed or self._held + len(self._pending) >= _REFUSER_MAX:
                connection.close()
                return
            self._pending.append(connection)
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(1.0)

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        deadlines: dict[socket.socket, float] = {}
        scratch = bytearray(64 * 1024)

        def drop(connection: socket.socket) -> None:
            selector.unregister(connection)
            del deadlines[connection]
            connection.close()

        try:
            while True:
                with self._wake:
                    if not deadlines and not self._pending and not self._closed:
                        self._wake.wait()  # nothing held: sleep until a refusal, no polling
                    new, self._pending = self._pending, []
                    if self._closed:
                        new += list(deadlines)
                        for connection in new:
                            connection.close()
                        return
                    self._held = len(deadlines) + len(new)
                for connection in new:
                    selector.register(connection, selectors.EVENT_READ)
                    deadlines[connection] = time.monotonic() + _REFUSAL_LINGER_S
                for key, _ in selector.select(0.05):  # the 503 is already out: the period only paces the drain
                    connection = key.fileobj  # type: ignore[assignment]
                    try:
                        received = connection.recv_into(scratch)
                    except OSError:
                        received = 0
                    if not received:  # the client read the answer and closed
                        drop(connection)
                now = time.monotonic()
                for connection in [c for c, deadline in deadlines.items() if deadline <= now]:
                    drop(connection)
        finally:
            selector.close()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # server_close must not wait for handler threads; shutdown wakes them instead
    request_queue_size = 128

    def __init__(self, receiver: HttpReceiver, host: str, port: int) -> None:
        self.receiver = receiver
        self.connections: set[socket.socket] = set()
        self.idle: dict[socket.socket, None] = {}  # keep-alive connections between requests, longest idle first
        self.connections_lock = threading.Lock()  # never held while calling out: only set and dict updates under it
        self._warned_at = -math.inf
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _HttpHandler)
        self.refuser = _Refuser(receiver.refusal)  # once bound: a busy port leaves no thread behind

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # HTTPServer's version resolves the FQDN: a DNS lookup at start-up for nothing
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        """On the accept thread: admit, or make room by closing the longest-idle keep-alive connection, or refuse."""
        evicted = None
        with self.connections_lock:
            admitted = len(self.connections) < self.receiver.max_connections
            if not admitted and self.idle:
                evicted = next(iter(self.idle))
                del self.idle[evicted]
                self.connections.discard(evicted)
                admitted = True
            if admitted:
                self.connections.add(request)
        if evicted is not None:
            self.receiver._count("idle_evicted")
            _shutdown_socket(evicted)
        if not admitted:
            self.receiver._count("refused")
            self._warn_refusing()
            self.refuser.refuse(request)
            return
        super().process_request(request, client_address)

    def set_idle(self, connection: socket.socket, idle: bool) -> None:
        with self.connections_lock:
            if not idle:
                self.idle.pop(connection, None)
            elif connection in self.connections:  # not if it was just evicted
                self.idle[connection] = None

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
            self.idle.pop(request, None)
        super().shutdown_request(request)

    def _warn_refusing(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60.0:  # once a minute: a flood must not become a flood of log lines
            self._warned_at = now
            logger.warning("OTLP/HTTP receiver: %d connections open (max_connections), refusing new ones with 503",
                           self.receiver.max_connections)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets, times out or fails the TLS handshake costs one connection, not a stderr traceback.
        logger.debug("OTLP/HTTP connection from %s failed", client_address, exc_info=True)


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SDK exporters expect
    default_request_version = "HTTP/1.0"  # no HTTP/0.9: every answer, errors included, starts with a status line
    timeout = _SEND_TIMEOUT_S  # for writes; every read has its own deadline (_DeadlineIO)
    server_version = "otel-apisec-gateway"
    sys_version = ""
    server: _HttpServer
    _linger = False  # set when an error answer leaves the request body unread
    _requests = 0

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by a reader with deadlines (closed first: the socket counts its readers)
        self._reader = _DeadlineIO(self.connection)
        # The first request's headers (and the TLS handshake) are due header_timeout_s after the connection.
        self._reader.start("header", self.server.receiver.header_timeout_s)
        self.rfile = io.BufferedReader(self._reader)

    def handle(self) -> None:
        try:
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    # Here, under the header deadline, not in the accept loop.
                    self.connection.settimeout(max(0.001, self._reader.deadline - time.monotonic()))
                    self.connection.do_handshake()
                except (OSError, ValueError) as error:
                    self._reader.expired = isinstance(error, TimeoutError)
                    logger.debug("OTLP/HTTP TLS handshake with %s failed", self.client_address, exc_info=True)
                    return
            super().handle()
        finally:
            if self._reader.expired:
                self.server.receiver._count(f"{self._reader.phase}_timeout")

    def handle_one_request(self) -> None:
        if self._requests:  # keep-alive: the next request may take idle_timeout_s to start, then header_timeout_s
            if not self._wait_for_request():
                self.close_connection = True
                return
            self._reader.start("header", self.server.receiver.header_timeout_s)
        self._requests += 1
        super().handle_one_request()

    def _wait_for_request(self) -> bool:
        """Between requests the connection is idle: the server may close it to make room (see process_request)."""
        self._reader.start("idle", self.server.receiver.idle_timeout_s)
        self.server.set_idle(self.connection, True)
        try:
            return bool(self.rfile.peek(1))  # type: ignore[attr-defined]  # a BufferedReader at run time
        except OSError:  # idle timeout (counted in handle), eviction or a reset
            return False
        finally:
            self.server.set_idle(self.connection, False)

    def parse_request(self) -> bool:
        rfile = self.rfile
        self.rfile = _HeaderBudget(rfile, _MAX_HEADER_BYTES)  # type: ignore[assignment]
        try:
            return super().parse_request()
        finally:
            self.rfile = rfile

    def send_response(self, code: int, message: str | None = None) -> None:
        self.connection.settimeout(_SEND_TIMEOUT_S)  # the answer's own budget, not what is left of a read deadline
        super().send_response(code, message)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._linger:
                self._swallow_unread_body()

    def log_message(self, format: str, *args: Any) -> None:  # overridden signature
        logger.debug("OTLP/HTTP %s: " + format, self.address_string(), *args)

    # -- routing ---------------------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # http.server's naming
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        self._method = method
        self._media_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        self._json = self._media_type not in _PROTOBUF_TYPES  # error bodies too, unless the client speaks protobuf
        self._body_read = False
        self._responded = False
        try:
            path = self.path.split("?", 1)[0]
            if path == "/health":
                if method in ("GET", "HEAD"):
                    self._health()
                else:
                    self._error(405, "/health takes GET", allow="GET, HEAD")
                return
            signal = _HTTP_PATHS.get(path)
            if signal is None:
                self._error(404, f"unknown path {path[:100]!r}: OTLP/HTTP paths are " + ", ".join(_HTTP_PATHS))
            elif method != "POST":
                self._error(405, f"{path} takes POST", allow="POST")
            else:
                with self.server.receiver._counting_in_flight():
                    self._export(signal)
        except (TimeoutError, ConnectionError, ssl.SSLError):
            self.close_connection = True  # the client is gone or too slow: nobody to answer
        except Exception:
            logger.exception("OTLP/HTTP receiver: unexpected error on %s %s", method, self.path[:100])
            if not self._responded:
                self._error(500, "internal error")
            self.close_connection = True

    def _health(self) -> None:
        draining = self.server.receiver.draining
        status, body = (503, b"draining\n") if draining else (200, b"ok\n")
        self._send(status, body, "text/plain; charset=utf-8")

    # -- export ----------------------------------------------------------------------------------------------------

    def _export(self, signal: Signal) -> None:
        receiver = self.server.receiver
        media_type = self._media_type
        if not bearer_ok(receiver.bearer_token, self.headers.get("Authorization")):
            self._error(401, "missing or invalid bearer token", www_authenticate='Bearer realm="otlp"')
            return
        if receiver.draining:
            self._error(503, "the gateway is shutting down", retry_after_s=1.0)
            return
        if media_type not in _PROTOBUF_TYPES and media_type != _JSON_TYPE:
            self._error(415, f"Content-Type must be application/x-protobuf or application/json, got {media_type!r}")
            return
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        if encoding not in _ENCODINGS:
            self._error(415, f"unsupported Content-Encoding {encoding[:40]!r}: use gzip, deflate or identity")
            return
        self._reader.start("body", receiver.body_timeout_s)
        try:
            body = self._read_body(receiver.max_body_bytes)
            wbits = _ENCODINGS[encoding]
            if wbits is not None:
                body = _inflate(body, wbits, receiver.max_body_bytes)
            request = self._decode(signal, body)
        except _BodyTooLarge as error:
            self._error(413, f"{error} (limit {receiver.max_body_bytes} bytes)")
            return
        except ValueError as error:
            self._error(400, str(error))
            return
        try:
            receiver.consumer.consume(signal, request)
        except QueueFullError as error:
            self._error(429, str(error), retry_after_s=error.retry_after_s)
            return
        except Exception:
            logger.exception("OTLP/HTTP receiver: the consumer failed on a %s request", signal.value)
            self._error(500, f"internal error while processing the {signal.value} request")
            return
        response = RESPONSE_TYPES[signal]()
        if self._json:
            self._send(200, to_json(signal, response), _JSON_TYPE)
        else:
            self._send(200, response.SerializeToString(), "application/x-protobuf")

    def _decode(self, signal: Signal, body: bytes) -> Request:
        # One invalid UTF-8 string or too-deep value is repaired (and counted), not the batch refused.
        name = self.server.receiver.name
        if self._json:
            return parse_json_request(signal, body, receiver=name)
        return decode_protobuf(signal, body, receiver=name, protocol="http/protobuf")

    def _read_body(self, limit: int) -> bytes:
        transfer_encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if transfer_encoding == "chunked":
            return self._read_chunked(limit)
        if transfer_encoding not in ("", "identity"):
            raise ValueError(f"unsupported Transfer-Encoding {transfer_encoding[:40]!r}")
        length_header = (self.headers.get("Content-Length") or "0").strip()
        if not length_header.isdigit():
            raise ValueError(f"bad Content-Length {length_header[:40]!r}")
        length = int(length_header)
        if length > limit:
            raise _BodyTooLarge(f"body of {length} bytes exceeds the limit")  # decided before reading a byte
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConnectionError("the client closed the connection mid-body")
        self._body_read = True
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_CHUNK_LINE_MAX + 1)
            size_text = line.split(b";", 1)[0].strip()
            if len(line) > _CHUNK_LINE_MAX or not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
                raise ValueError("malformed chunked body")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > limit:
                raise _BodyTooLarge(f"chunked body exceeds {limit} bytes")
            part = self.rfile.read(size)
            if len(part) != size:
                raise ConnectionError("the client closed the connection mid-body")
            parts.append(part)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise ValueError("malformed chunked body")
        for _ in range(100):  # trailers, up to the blank line
            if self.rfile.readline(_CHUNK_LINE_MAX + 1) in (b"\r\n", b"\n", b""):
                break
        else:
            raise ValueError("too many chunked trailers")
        self._body_read = True
        return b"".join(parts)

    # -- responses -------------------------------------------------------------------------------------------------

    def _error(
        self, status: int, message: str, *, retry_after_s: float | None = None, allow: str = "", www_authenticate: str = ""
    ) -> None:
        error_status = rpc_status(_HTTP_TO_RPC_CODE.get(status, code_pb2.UNKNOWN), message, retry_after_s)
        if self._json:
            body, content_type = json_format.MessageToJson(error_status, indent=None).encode(), _JSON_TYPE
        else:
            body, content_type = error_status.SerializeToString(), "application/x-protobuf"
        headers = {}
        if retry_after_s is not None:
            delay = retry_delay(retry_after_s)
            headers["Retry-After"] = str(delay.seconds + (1 if delay.nanos else 0))  # whole seconds (RFC 9110)
        if allow:
            headers["Allow"] = allow
        if www_authenticate:
            headers["WWW-Authenticate"] = www_authenticate
        if not self._body_read and self._method not in ("GET", "HEAD"):
            # The body is still on the wire: answer, then swallow it and close, so the client reads this status.
            self.close_connection = True
            self._linger = True
        self._send(status, body, content_type, headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._responded = True
        if self.server.receiver.draining:
            self.close_connection = True
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self._method != "HEAD":
            self.wfile.write(body)

    def _swallow_unread_body(self) -> None:
        """A lingering close: without it, closing with unread input sends a TCP reset that can destroy our answer."""
        connection = self.connection
        try:
            socket.socket.shutdown(connection, socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_S
            remaining = _LINGER_BYTES
            while remaining > 0 and time.monotonic() < deadline:
                socket.socket.settimeout(connection, max(0.05, deadline - time.monotonic()))
                chunk = socket.socket.recv(connection, min(remaining, 256 * 1024))
                if not chunk:
                    return
                remaining -= len(chunk)
        except OSError:
            pass


def _refusal_response() -> bytes:
    """The canned answer past max_connections: the request is not read, so the body is OTLP/JSON."""
    delay_s = 1
    status = rpc_status(code_pb2.UNAVAILABLE, "too many connections, retry later", float(delay_s))
    body = json_format.MessageToJson(status, indent=None).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: {_JSON_TYPE}\r\nContent-Length: {len(body)}\r\n"
            f"Retry-After: {delay_s}\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


class HttpReceiver:
    """OTLP/HTTP on POST /v1/traces, /v1/metrics and /v1/logs (protobuf or JSON, gzip/deflate), plus GET /health.

    Decoded requests go to `consumer.consume(signal, request)` on the connection's thread. At most
    `max_connections` connections (threads) at once; the request line and headers must arrive within
    `header_timeout_s` (from the connection, or from a keep-alive request's first byte), the body within
    `body_timeout_s`, and a keep-alive connection idle for `idle_timeout_s` is closed.
    """

    def __init__(
        self,
        consumer: Consumer,
        endpoint: str = "127.0.0.1:4318",
        *,
        max_body_bytes: int = DEFAULT_MAX_BYTES,
        bearer_token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 256,
        header_timeout_s: float = 10.0,
        body_timeout_s: float = 30.0,
        idle_timeout_s: float = 120.0,
        name: str = "otlp",
    ) -> None:
        self.consumer = consumer
        self.endpoint = endpoint
        self._host, self._port = parse_endpoint(endpoint)
        if max_body_bytes <= 0 or max_connections <= 0:
            raise ValueError("max_body_bytes and max_connections must be positive")
        if not min(header_timeout_s, body_timeout_s, idle_timeout_s) > 0:
            raise ValueError("header_timeout_s, body_timeout_s and idle_timeout_s must be positive")
        self.max_body_bytes = max_body_bytes
        self.bearer_token = bearer_token.encode() if bearer_token else None
        self.ssl_context = ssl_context
        self.max_connections = max_connections
        self.header_timeout_s, self.body_timeout_s, self.idle_timeout_s = header_timeout_s, body_timeout_s, idle_timeout_s
        self.name = name
        self.refusal = _refusal_response()
        self._closed_connections: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._draining = threading.Event()
        self._in_flight = 0
        self._in_flight_changed = threading.Condition()
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound; the port is the real one when the endpoint asked for 0."""
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return str(self._server.server_address[0]), int(self._server.server_address[1])

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def start(self) -> HttpReceiver:
        if self._server is not None:
            return self
        server = _HttpServer(self, self._host, self._port)  # binds now: a busy port fails here, with OSError
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="otlp-http-receiver", daemon=True
        )
        self._thread.start()
        logger.info("OTLP/HTTP receiver listening on %s:%d%s", *self.address, " (TLS)" if self.ssl_context else "")
        return self

    def drain(self) -> None:
        """Stop taking exports (503 + Retry-After) and report /health 503 "draining"; the listener stays up."""
        self._draining.set()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Drain, stop accepting, wait up to timeout_s for exports in progress to reach the consumer, close.

        Bounded whatever the clients do: the accept loop never blocks, and every connection still open at
        the end (idle, half-sent, refused) is shut down, which wakes its thread."""
        self.drain()
        server, self._server = self._server, None
        if server is None:
            return
        deadline = time.monotonic() + timeout_s
        server.shutdown()
        with self._in_flight_changed:
            while self._in_flight and time.monotonic() < deadline:
                self._in_flight_changed.wait(max(0.0, deadline - time.monotonic()))
        close_server(server, self._thread, deadline)
        self._thread = None

    def connection_counts(self) -> dict[str, int]:
        """Connections the receiver closed, by reason: refused (past max_connections), idle_evicted (to make
        room), header_timeout, body_timeout, idle_timeout."""
        with self._counts_lock:
            return dict(self._closed_connections)

    def _count(self, reason: str) -> None:
        with self._counts_lock:
            self._closed_connections[reason] += 1

    @contextmanager
    def _counting_in_flight(self) -> Iterator[None]:
        with self._in_flight_changed:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._in_flight_changed:
                self._in_flight -= 1
                self._in_flight_changed.notify_all()

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def close_server(server: Any, thread: threading.Thread | None, deadline: float) -> None:
    """After `server.shutdown()`: close every open connection (which wakes its thread), the refuser and
    the port, then wait for the serving thread until `deadline` (monotonic)."""
    with server.connections_lock:
        still_open = list(server.connections)
    for connection in still_open:
        _shutdown_socket(connection)
    server.refuser.close()
    server.server_close()
    if thread is not None:
        thread.join(max(0.1, deadline - time.monotonic()))
