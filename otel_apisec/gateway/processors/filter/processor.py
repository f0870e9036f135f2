"""The `apisec/filter` processor: keep every span with a finding, sample the rest by trace id.

A span is kept when it

* has a finding: at least one `apisec.finding` event, or a non-empty `apisec.findings` attribute
  (findings below the enrich processor's `event_min_severity` have no event, only the attribute;
  `apisec.risk.score` is not looked at: it is derived from the same findings);
* has an error status, unless `keep_errors` is off;
* or belongs to a trace the sampler keeps, with probability `sample_ratio`.

The sampling decision depends on the trace id alone, so every span of a trace gets the same one,
whichever request or gateway replica it arrives in. It is the OpenTelemetry Collector's
probabilistic sampler in `hash_seed` mode: FNV-1a over the seed (4 bytes, little-endian) and the
trace id, the low 14 bits compared with `sample_ratio` * 2^14. Gateways with the same seed agree;
another sampling tier downstream should use a different seed, or its decisions repeat ours.

A finding or error span kept from a trace the sampler drops arrives without the rest of its
trace: the finding matters more than the trace being whole.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_apisec import attributes as A
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.runner import ProcessorCounts, SpanHandler, SpanView, TraceBatch, process_spans

__all__ = ["FilterProcessor", "has_finding", "trace_hash"]

_HASH_BUCKETS = 1 << 14  # the Collector's numHashBuckets
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193
_ERROR = Status.STATUS_CODE_ERROR
_MAX_SEED = (1 << 32) - 1


def trace_hash(trace_id: bytes, seed: int = 0) -> int:
    """FNV-1a (32 bits) of the seed's 4 little-endian bytes, then the trace id (the Collector's
    `computeHash`)."""
    value = _FNV_OFFSET
    for byte in seed.to_bytes(4, "little") + trace_id:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def has_finding(span: Span) -> bool:
    """At least one `apisec.finding` event, or a non-empty `apisec.findings` attribute."""
    for event in span.events:
        if event.name == A.FINDING_EVENT:
            return True
    for kv in span.attributes:
        if kv.key == A.FINDINGS:
            value = kv.value
            kind = value.WhichOneof("value")
            if kind == "array_value":
                return len(value.array_value.values) > 0
            return kind == "string_value" and value.string_value != ""
    return False


class FilterProcessor:
    """Drops the spans of sampled-out traces that have no finding and (with `keep_errors`) no
    error status. Empty scope and resource containers are removed; a request with no span left
    is dropped (None). Metrics and logs pass through untouched."""

    mask_strictly = None

    def __init__(self, sample_ratio: float = 1.0, keep_errors: bool = True, hash_seed: int = 0) -> None:
        if not 0.0 <= sample_ratio <= 1.0:
            raise ValueError(f"sample_ratio must be within [0, 1], got {sample_ratio!r}")
        if not 0 <= hash_seed <= _MAX_SEED:
            raise ValueError(f"hash_seed must be within [0, {_MAX_SEED}], got {hash_seed!r}")
        self.sample_ratio = float(sample_ratio)
        self.keep_errors = keep_errors
        self.hash_seed = hash_seed
        # Kept when the low 14 bits of the hash are below this (the Collector's scaled sampling rate).
        self._threshold = int(self.sample_ratio * _HASH_BUCKETS)
        self._lock = threading.Lock()
        self._kept = self._dropped = self._kept_for_finding = self._kept_for_error = 0
        self.counts = ProcessorCounts()

    def sampled(self, trace_id: bytes) -> bool:
        """The sampler's decision for a trace (findings and errors aside)."""
        return trace_hash(trace_id, self.hash_seed) & (_HASH_BUCKETS - 1) < self._threshold

    def stats(self) -> dict[str, int]:
        """Spans `kept` and `dropped` so far; `kept_for_finding` and `kept_for_error` count the kept
        spans of traces the sampler dropped (a span with both counts as a finding)."""
        with self._lock:
            return {"kept": self._kept, "dropped": self._dropped,
                    "kept_for_finding": self._kept_for_finding, "kept_for_error": self._kept_for_error}

    def process(self, signal: Signal, request: Request) -> Request | None:
        return process_spans(self, signal, request)

    @contextmanager
    def spans(self, batch: TraceBatch) -> Iterator[SpanHandler]:
        if self._threshold >= _HASH_BUCKETS:  # every trace sampled: nothing to look at but the count
            with self._lock:
                self._kept += len(batch.views)
            yield _keep
            return
        tally = [0, 0, 0, 0]  # kept, dropped, kept for a finding, kept for an error
        decisions: dict[bytes, bool] = {}  # a request usually holds several spans of one trace

        def span(view: SpanView) -> bool:
            trace_id = view.span.trace_id
            sampled = decisions.get(trace_id)
            if sampled is None:
                sampled = decisions[trace_id] = self.sampled(trace_id)
            if sampled:
                tally[0] += 1
            elif _view_has_finding(view):
                tally[0] += 1
                tally[2] += 1
            elif self.keep_errors and view.span.status.code == _ERROR:
                tally[0] += 1
                tally[3] += 1
            else:
                tally[1] += 1
                return False
            return True

        yield span
        with self._lock:
            self._kept += tally[0]
            self._dropped += tally[1]
            self._kept_for_finding += tally[2]
            self._kept_for_error += tally[3]


def _keep(view: SpanView) -> bool:
    return True


def _view_has_finding(view: SpanView) -> bool:
    """`has_finding`, with the attribute from the view's one read."""
    for event in view.span.events:
        if event.name == A.FINDING_EVENT:
            return True
    attrs = view.attributes().attrs
    if A.FINDINGS not in attrs:
        return False
    findings = attrs[A.FINDINGS]  # a string, or an array's first item
    return bool(findings) if isinstance(findings, str) else has_finding(view.span)  # rare kinds: the exact test
