"""Exporters of what the gateway found, rather than of the telemetry itself: the findings JSONL
file, finding sinks (alerts, audit trail, SIEM export), and the console.

They write on the submitting thread (a line per finding is microseconds of work into the page
cache) or hand records to a sink that queues them; none of them blocks a receiver on the network.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import orjson
from opentelemetry.proto.trace.v1 import trace_pb2

from otel_apisec import attributes as A
from otel_apisec.correlate.api import FindingSink
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.finding_records import attribute_dict, findings_from_request, iso_from_nanos
from otel_apisec.gateway.runner import iter_spans, resource_service
from otel_apisec.model import Severity

__all__ = ["ConsoleExporter", "FindingsFileExporter", "SinkExporter"]

log = logging.getLogger(__name__)


class FindingsFileExporter:
    """Appends one JSON line per finding event of the traces it gets to `path` (flushed per
    request; safe to share between threads)."""

    signals = frozenset({Signal.TRACES})

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.written = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._file: Any = None

    def start(self) -> None:
        with self._lock:
            self._open()

    def _open(self) -> Any:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # held open for the exporter's life
        return self._file

    def submit(self, signal: Signal, request: Request) -> None:
        if signal is not Signal.TRACES:
            return
        lines = [orjson.dumps(finding) + b"\n" for finding in findings_from_request(request)]
        if not lines:
            return
        with self._lock:
            try:
                handle = self._open()
                handle.write(b"".join(lines))
                handle.flush()
            except OSError as error:  # a full disk loses findings lines, never the spans themselves
                self.errors += len(lines)
                log.error("findings file %s: cannot write %d finding(s): %s", self.path, len(lines), error)
                return
            self.written += len(lines)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class SinkExporter:
    """Hands the finding records (from `min_severity` up) of the traces it gets to a `FindingSink`:
    alerts and OCSF webhooks queue and deliver on their own threads; the audit trail and files
    append on this one (a page-cache write, unless fsync is on)."""

    signals = frozenset({Signal.TRACES})

    def __init__(self, sink: FindingSink, name: str, min_severity: Severity = Severity.INFO) -> None:
        self.sink = sink
        self.name = name
        self._severities = frozenset(s.label for s in Severity if s >= min_severity)
        self.emitted = 0
        self.errors = 0

    def start(self) -> None:
        pass

    def submit(self, signal: Signal, request: Request) -> None:
        if signal is not Signal.TRACES:
            return
        for record in findings_from_request(request):
            if record["severity"] not in self._severities:
                continue
            try:
                self.sink.emit(record)
                self.emitted += 1
            except Exception:  # a sink bug loses that record, never the spans
                self.errors += 1
                log.exception("finding sink %s failed", self.name)

    def stats(self) -> dict[str, Any]:
        sink_stats = self.sink.stats() if hasattr(self.sink, "stats") else {}
        return {"emitted": self.emitted, "errors": self.errors, **sink_stats}

    def shutdown(self, timeout_s: float = 30.0) -> None:
        self.sink.close(timeout_s)


# ---------------------------------------------------------------------------------------------
# Console


def _printable(text: str, limit: int = 200) -> str:
    """Span names come from requests: no terminal escape sequence gets through to a console."""
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)


_SUMMARY_KEYS = frozenset({A.RISK_SCORE, A.SEVERITY_MAX, A.AUTH_OUTCOME, A.FINDINGS})


class ConsoleExporter:
    """One compact line per span: time, service, kind, name, status, duration, and the apisec
    summary when the span was analysed, e.g.

        2026-01-02T03:04:05.678Z shop SERVER "GET /login" ERROR 12.3ms risk=70 severity=high auth=failure findings=...
    """

    signals = frozenset({Signal.TRACES})

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def submit(self, signal: Signal, request: Request) -> None:
        if signal is not Signal.TRACES:
            return
        lines = []
        last, service = None, ""
        for resource_spans, _scope, span in iter_spans(request):
            if resource_spans is not last:
                last, service = resource_spans, _printable(resource_service(resource_spans.resource.attributes) or "-", 60)
            lines.append(self._line(service, span))
        if lines:
            with self._lock:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()

    @staticmethod
    def _line(service: str, span: trace_pb2.Span) -> str:
        kind = trace_pb2.Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_")
        status = trace_pb2.Status.StatusCode.Name(span.status.code).removeprefix("STATUS_CODE_")
        duration_ms = max(0, span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
        name = _printable(span.name)
        parts = [iso_from_nanos(span.start_time_unix_nano) or "-", service, kind, f'"{name}"', status, f"{duration_ms:.1f}ms"]
        summary = attribute_dict(span.attributes, _SUMMARY_KEYS)
        if A.RISK_SCORE in summary:
            parts.append(f"risk={summary[A.RISK_SCORE]}")
        if A.SEVERITY_MAX in summary:
            parts.append(f"severity={summary[A.SEVERITY_MAX]}")
        if summary.get(A.AUTH_OUTCOME) not in (None, "none"):
            parts.append(f"auth={summary[A.AUTH_OUTCOME]}")
        if summary.get(A.FINDINGS):
            parts.append("findings=" + _printable(",".join(str(f) for f in summary[A.FINDINGS])))
        return " ".join(parts)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                pass

