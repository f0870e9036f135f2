"""Finding sinks that ship OCSF Detection Finding events: a JSONL file and an HTTP(S) webhook.

Both are `otel_apisec.correlate.api.FindingSink`s: `emit(record)` maps the finding record to an
OCSF event (`to_ocsf`) and never raises; `close(timeout_s)` delivers what is queued, then
releases the file or connection. Every record ends in exactly one counter: delivered
(`written` / `sent`), `dropped` (queue full, retries exhausted, emitted after close) or
`invalid` (the record could not be mapped, or with `validate=True` the event failed the OCSF
schema). Failures are logged at most once per 10 s per sink; the counters hold the rest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from otel_apisec import __version__
from otel_apisec.delivery import DeliveryError, HttpSession, RetryPolicy, check_headers, retry
from otel_apisec.siem.ocsf import to_ocsf

__all__ = ["OcsfFileSink", "OcsfWebhookSink"]

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
"""The webhook body: one event per line, as in the file sink (Elastic, Vector, Cribl, Logstash
`json_lines` and Splunk HEC's raw endpoint take it as is)."""

_LOG_EVERY_S = 10.0


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
        except Exception as error:  # a mapping bug must not reach the host
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


class OcsfWebhookSink(_SinkBase):
    """POSTs OCSF events to `url` in NDJSON batches of up to `batch_size`, from its own thread.

    `emit` only queues (at most `queue_size` events; when full the event is dropped). A batch is
    retried as `otel_apisec.delivery.retry` says (connection errors, timeouts, 408, 429, 502, 503,
    504; Retry-After honoured) up to `max_retries` times, with backoff from `initial_backoff_s` to
    `max_backoff_s`, then dropped; any other status drops it at once. `close` sends what is queued
    until `timeout_s` has passed, then drops the rest: it never waits much longer.

    `headers` are sent with every request; credentials in the URL (`user:password@`) are sent as
    Basic authorization. `ca_file` is a PEM bundle to trust for https instead of the system's.
    Nothing about the URL but scheme, host and port is ever logged (some SIEM webhooks keep their
    token in the path).
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
        if batch_size < 1 or queue_size < 1:
            raise ValueError("webhook: batch_size and queue_size must be >= 1")
        try:
            self._retry = RetryPolicy(initial_backoff_s, max_backoff_s, max_retries=max_retries)
        except ValueError as error:
            raise ValueError(f"webhook: {error}") from None
        self._session = HttpSession(url, "webhook", {"Content-Type": NDJSON, "User-Agent": f"otel-apisec/{__version__}",
                                                     **check_headers(headers, "webhook")},
                                    timeout_s, tls={"ca_file": str(ca_file)} if ca_file else None)
        super().__init__(f"ocsf webhook {self._session.origin}", validate)
        self.batch_size = batch_size
        self.timeout_s = self._session.timeout_s
        self.max_retries = max_retries
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.sent = 0
        self.batches = 0
        self.retried = 0
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=queue_size)
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
            self._session.interrupt()
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
        self._session.close()

    # -----------------------------------------------------------------------------------------
    # The sender thread

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                self._session.close()
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
        try:
            done = retry(lambda: self._post(body), self._retry, self._wait, self._retrying)
        except DeliveryError as error:
            self._count("dropped", len(batch), f"dropped a batch of {len(batch)}: {error}")
            return
        if done is None:  # closing: close() counts what it cuts off
            self._count("dropped", len(batch), f"closing: dropped a batch of {len(batch)}")
            return
        self._count("sent", len(batch))
        self._count("batches", 1)
        if self._failing:
            self._failing = False
            log.info("%s: delivering again", self.name)

    def _post(self, body: bytes) -> bool:
        timeout = min(self.timeout_s, self._remaining())
        if timeout <= 0 or self._abort.is_set():
            raise DeliveryError("closing", retryable=False)
        self._session.post("", body, timeout_s=timeout).raise_for_status(self._session.origin)
        return True

    def _wait(self, delay: float) -> bool:
        """Back off, but not past close's deadline; True: stop now."""
        return self._abort.wait(min(delay, max(0.0, self._remaining())))

    def _retrying(self, error: DeliveryError, delay: float) -> None:
        self._failing = True
        self._count("retried", 1, f"{error}; retrying in {delay:.1f} s")

    def _remaining(self) -> float:
        """Seconds left before close's deadline (unbounded before close)."""
        deadline = self._deadline
        return float("inf") if deadline is None else deadline - time.monotonic()
