"""The exporter behind every finding sink (alerts, audit trail, SIEM export): it hands the finding
records of the traces it gets to a `FindingSink`, which queues them or appends them, so it never
blocks a receiver on the network.
"""

from __future__ import annotations

import logging
from typing import Any

from otel_apisec.correlate.api import FindingSink
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.finding_records import findings_from_request
from otel_apisec.model import Severity

__all__ = ["SinkExporter"]

log = logging.getLogger(__name__)


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
