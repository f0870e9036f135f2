"""The console exporter: one compact line per span on stdout, for a first look at what arrives."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from opentelemetry.proto.trace.v1 import trace_pb2

from otel_apisec import attributes as A
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.finding_records import attribute_dict, iso_from_nanos
from otel_apisec.gateway.runner import iter_spans, resource_service

__all__ = ["ConsoleExporter"]


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

