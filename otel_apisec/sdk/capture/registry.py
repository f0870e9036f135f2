"""Open captures by server span: hooks add to them, the span processor takes them at span end.

Bounded: past `capacity` open captures the oldest is dropped and counted, so a flood of slow
requests (or spans that never end) cannot grow memory without limit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from opentelemetry.trace import Span

from otel_apisec.sdk.capture.record import Capture
from otel_apisec.sdk.settings import ApisecSettings

__all__ = ["CaptureRegistry"]

_MAX_EVICTED_IDS = 1 << 16


class CaptureRegistry:
    def __init__(self, settings: ApisecSettings) -> None:
        self.settings = settings
        self._open: OrderedDict[int, Capture] = OrderedDict()
        self._evicted: OrderedDict[int, None] = OrderedDict()  # span ids only: cheap, bounded apart
        self._lock = threading.Lock()
        self.evicted = 0

    def start(self, span: Span) -> Capture | None:
        """A new capture for this server span, or None when the span is not recorded."""
        if not self.settings.enabled or not span.is_recording():
            return None
        capture = Capture(self.settings.max_body_bytes, self.settings.wants_body)
        with self._lock:
            self._open[span.get_span_context().span_id] = capture
            while len(self._open) > self.settings.max_open_captures:
                span_id, oldest = self._open.popitem(last=False)
                oldest.finish()
                self.evicted += 1
                self._evicted[span_id] = None
                if len(self._evicted) > _MAX_EVICTED_IDS:
                    self._evicted.popitem(last=False)
        return capture

    def get(self, span_id: int) -> Capture | None:
        with self._lock:
            return self._open.get(span_id)

    def take(self, span_id: int) -> Capture | None:
        with self._lock:
            return self._open.pop(span_id, None)

    def was_evicted(self, span_id: int) -> bool:
        """True (once) when this span's capture was dropped to keep memory bounded."""
        with self._lock:
            return self._evicted.pop(span_id, 0) is None

    def __len__(self) -> int:
        return len(self._open)
