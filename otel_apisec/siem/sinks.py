"""Finding sinks that ship OCSF Detection Finding events: a JSONL file and an HTTP(S) webhook.

Both are `otel_apisec.correlate.api.FindingSink`s: `emit(record)` maps the finding record to an
OCSF event (`to_ocsf`) and never raises; `close(timeout_s)` delivers what is queued, then
releases the file or connection. Every record ends in exactly one counter: delivered
(`written` / `sent`), `dropped` (queue full, retries exhausted, emitted after close) or
`invalid` (the record could not be mapped, or with `validate=True` the event failed the OCSF
schema). Failures are logged at most once per 10 s per sink; the counters hold the rest.
"""

from __future__ import annotations

import http.client
import logging
import queue
import random
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from otel_apisec import __version__
from otel_apisec.siem.ocsf import to_ocsf

__all__ = ["OcsfFileSink", "OcsfWebhookSink"]

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
"""The webhook body: one event per line, as in the file sink (Elastic, Vector, Cribl, Logstash
`json_lines` and Splunk HEC's raw endpoint take it as is)."""

_LOG_EVERY_S = 10.0
_MAX_RESPONSE_BYTES = 64 << 10
# 408 and 429 ask the client to come back later; 5xx may be transient. Any other status is final.
_RETRYABLE_STATUS = frozenset({408, 429})
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class _SinkBase:
    """Mapping, optional validation, counters and quiet logging, shared by both sinks."""

    def __init__(self, name: str, validate: bool) -> None:
        self.name = name
        self.invalid = 0
        self.dropped = 0
        self._counter_lock = threading.Lock()
        self._last_log = -_LOG_EVERY_S
        self._schema: Any = None
        if validate:  # imported here: validation needs the optional schema packages
            from otel_apisec.siem.schema import ocsf_schema

            self._schema = ocsf_schema()

    def _encode(self, record: Mapping[str, Any]) -> bytes | None:
        """The event as one JSON line (no newline), or None (counted `invalid`, logged)."""
        try:
            event = to_ocsf(record)
            if self._schema is not None:
                self._schema.check(event)
            return orjson.dumps(event)
        except (ValueError, TypeError) as error:  # OcsfValidationError and orjson's error are both
            self._count("invalid", 1, f"a finding record was not exported: {error}")
            return None
        except Exception as error:  # noqa: BLE001 (a mapping bug must not reach the host)
            log.exception("%s: mapping a finding record failed", self.name)
            self._count("invalid", 1, f"a finding record was not exported: {type(error).__name__}")
            return None

    def _count(self, counter: str, amount: int, why: str | None = None) -> None:
        with self._counter_lock:
            setattr(self, counter, getattr(self, counter) + amount)
            now = time.monotonic()
            loud = why is not None and now - self._last_log >= _LOG_EVERY_S
            if loud:
                self._last_log = now
        if loud:
            log.warning("%s: %s (dropped %d, invalid %d so far)", self.name, why, self.dropped, self.invalid)


class OcsfFileSink(_SinkBase):
    """Appends one OCSF event per line to `path` (created with its folders), one unbuffered write
    per line (nothing waits in a buffer, and a line the disk refused is not retried later out of
    order); safe to share between threads (lines never interleave)."""

    def __init__(self, path: str | Path, validate: bool = False) -> None:
        super().__init__(f"ocsf file {path}", validate)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.written = 0
        self.errors = 0
        """Lines the file refused (disk full, file gone); they are lost."""
        self._lock = threading.Lock()
        self._file: Any = self.path.open("ab", buffering=0)  # an unwritable path fails here, at start-up

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "errors": self.errors, "dropped": self.dropped, "invalid": self.invalid}

    def emit(self, record: dict[str, Any]) -> None:
        line = self._encode(record)
        if line is None:
            return
        with self._lock:
            if self._file is None:
                self._count("dropped", 1, "finding emitted after close")
                return
            try:
                data = memoryview(line + b"\n")
                while data:  # a raw write may be partial
                    data = data[self._file.write(data):]
            except OSError as error:
                self._count("errors", 1, f"cannot write: {error}")
                return
        self._count("written", 1)

    def close(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as error:
                    self._count("errors", 1, f"cannot close: {error}")
                self._file = None


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    retryable: bool = False
    why: str = ""


class OcsfWebhookSink(_SinkBase):
    """POSTs OCSF events to `url` in NDJSON batches of up to `batch_size`, from its own thread.

    `emit` only queues (at most `queue_size` events; when full the event is dropped). A batch
    that fails with a connection error, a timeout, 408, 429 or 5xx is retried `max_retries`
    times with exponential backoff and jitter (from `initial_backoff_s`, at most
    `max_backoff_s`), then dropped; any other status drops it at once. `close` sends what is
    queued until `timeout_s` has passed, then drops the rest: it never waits much longer.

    `headers` are sent with every request (put credentials there, never in the URL); `ca_file`
    is a PEM bundle to trust for https instead of the system's. Nothing about the URL but
    scheme, host, port and path is ever logged.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        batch_size: int = 100,
        timeout_s: float = 10.0,
        queue_size: int = 10_000,
        max_retries: int = 5,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        ca_file: str | Path | None = None,
        validate: bool = False,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"webhook url: scheme must be http or https, got {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("webhook url: no host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("webhook url: credentials in the URL would be logged; pass them in headers")
        if batch_size < 1 or queue_size < 1 or max_retries < 0:
            raise ValueError("webhook: batch_size and queue_size must be >= 1, max_retries >= 0")
        if timeout_s <= 0 or initial_backoff_s <= 0 or max_backoff_s < initial_backoff_s:
            raise ValueError("webhook: timeout_s and initial_backoff_s must be positive, max_backoff_s >= initial_backoff_s")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as error:
            raise ValueError(f"webhook url: bad port ({error})") from None
        path = parts.path or "/"
        super().__init__(f"ocsf webhook {parts.scheme}://{parts.hostname}:{port}{path}", validate)
        self.url_host, self.url_port = parts.hostname, port
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.sent = 0
        self.batches = 0
        self.retried = 0
        self._target = path + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": NDJSON, "User-Agent": f"otel-apisec/{__version__}", **_checked(headers or {})}
        self._tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None) if parts.scheme == "https" else None
        if ca_file and self._tls is None:
            raise ValueError("webhook: ca_file is only for an https url")
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=queue_size)
        self._conn: http.client.HTTPConnection | None = None
        self._deadline: float | None = None
        self._closing = threading.Event()
        self._abort = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="ocsf-webhook", daemon=True)
        self._thread.start()

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent, "batches": self.batches, "retried": self.retried, "queued": self.queued,
                "dropped": self.dropped, "invalid": self.invalid}

    def emit(self, record: dict[str, Any]) -> None:
        line = self._encode(record)
        if line is None:
            return
        if self._closing.is_set():
            self._count("dropped", 1, "finding emitted after close")
            return
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self._count("dropped", 1, f"queue full ({self._queue.maxsize} events): finding dropped")

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is queued for up to `timeout_s`, then drop the rest and close the connection."""
        if not self._closing.is_set():
            self._deadline = time.monotonic() + max(0.0, timeout_s)
            self._closing.set()
        self._thread.join(max(0.0, self._deadline - time.monotonic()) if self._deadline else 0.0)
        if self._thread.is_alive():  # stuck in a send: cut the connection under it
            self._abort.set()
            self._shutdown_socket()
            self._thread.join(1.0)
        left = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            left += 1
        if left:
            self._count("dropped", left, f"closing: {left} queued finding(s) not sent in {timeout_s:g} s")
        self._reset()

    # -----------------------------------------------------------------------------------------
    # The sender thread

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                self._reset()
                return
            try:
                self._deliver(batch)
            except Exception:  # a bug must not kill the sender and silently stall the queue
                log.exception("%s: unexpected error sending a batch", self.name)
                self._count("dropped", len(batch))

    def _next_batch(self) -> list[bytes] | None:
        while not self._abort.is_set() and self._remaining() > 0:
            try:
                batch = [self._queue.get(timeout=0.1)]
            except queue.Empty:
                if self._closing.is_set():
                    return None
                continue
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            return batch
        return None

    def _deliver(self, batch: list[bytes]) -> None:
        body = b"\n".join(batch) + b"\n"
        attempt = 0
        while True:
            timeout = min(self.timeout_s, self._remaining())
            outcome = self._post(body, timeout) if timeout > 0 and not self._abort.is_set() else _Outcome(False, why="closing")
            if outcome.ok:
                self._count("sent", len(batch))
                self._count("batches", 1)
                if self._failing:
                    self._failing = False
                    log.info("%s: delivering again", self.name)
                return
            if not outcome.retryable or attempt >= self.max_retries:
                retries = f" after {attempt} retries" if attempt else ""
                self._count("dropped", len(batch), f"dropped a batch of {len(batch)}{retries}: {outcome.why}")
                return
            self._failing = True
            delay = min(self.max_backoff_s, self.initial_backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            self._count("retried", 1, f"{outcome.why}; retrying with backoff")
            self._abort.wait(min(delay, max(0.0, self._remaining())))

    def _post(self, body: bytes, timeout: float) -> _Outcome:
        for fresh_retry in (False, True):
            reused = self._conn is not None
            try:
                conn = self._connection(timeout)
                conn.request("POST", self._target, body=body, headers=self._headers)
                response = conn.getresponse()
                response.read(_MAX_RESPONSE_BYTES)
                if not response.isclosed():  # an unread tail would corrupt the next response
                    self._reset()
            except (OSError, http.client.HTTPException) as error:
                self._reset()
                if reused and not fresh_retry and not isinstance(error, TimeoutError) and not self._abort.is_set():
                    continue  # the server closed an idle keep-alive connection: once more, on a new one
                return _Outcome(False, retryable=True, why=f"{type(error).__name__}: {error}")
            status = response.status
            if 200 <= status < 300:
                return _Outcome(True)
            why = f"HTTP {status} {response.reason}"
            return _Outcome(False, retryable=status >= 500 or status in _RETRYABLE_STATUS, why=why)
        raise AssertionError("unreachable")

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is None:
            if self._tls is not None:
                conn = http.client.HTTPSConnection(self.url_host, self.url_port, timeout=timeout, context=self._tls)
            else:
                conn = http.client.HTTPConnection(self.url_host, self.url_port, timeout=timeout)
            self._conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _remaining(self) -> float:
        """Seconds left before close's deadline (unbounded before close)."""
        deadline = self._deadline
        return float("inf") if deadline is None else deadline - time.monotonic()

    def _shutdown_socket(self) -> None:
        conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def _reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _checked(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers, refused (by name, never echoing a value: it may be a secret) if malformed."""
    for name, value in headers.items():
        if not name or not set(name) <= _TOKEN_CHARS:
            raise ValueError(f"webhook header name {name!r} is not a valid HTTP token")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise ValueError(f"webhook header {name!r}: the value must be a string without CR, LF or NUL")
    return dict(headers)
