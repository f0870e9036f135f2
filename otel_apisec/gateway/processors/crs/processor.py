"""The `apisec/crs` processor: CRS matches on a span become `APISEC-CRS-NNN` findings, events
and summary attributes beside the native ones.

It belongs after `apisec/enrich` (enriched spans are inspected too: the request is read from the
span as it is then) and before `apisec/correlate` and `apisec/redact`, which then see its findings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.detect.rule import Rule
from otel_apisec.detect.rules.crs import rule_for_crs_id
from otel_apisec.enrich import ATTACK_KINDS, risk_score
from otel_apisec.gateway.anyvalue import set_value
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.processors.crs.engine import CrsEngine, CrsHit
from otel_apisec.gateway.processors.enrich.processor import EncodedAdditions, event_time_field, mask_strictly
from otel_apisec.gateway.runner import ProcessorCounts, SpanHandler, SpanView, TraceBatch, process_spans
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.gateway.span_exchange import request_of
from otel_apisec.model import Finding, Severity

__all__ = ["CrsProcessor", "findings_of", "anomaly_score"]

_SCORE = {2: 5, 3: 4, 4: 3, 5: 2}
"""CRS's anomaly points by ModSecurity severity (critical, error, warning, notice)."""


def findings_of(hits: list[CrsHit]) -> list[Finding]:
    """One finding per (catalog rule, location), naming its CRS rule IDs; hits of scoring and
    unknown rules make none."""
    found: dict[tuple[Rule, str], set[int]] = {}
    for hit in hits:
        rule = rule_for_crs_id(hit.rule_id)
        if rule is not None:
            found.setdefault((rule, hit.location), set()).add(hit.rule_id)
    return [rule.finding(location, "CRS " + ", ".join(map(str, sorted(ids)))) for (rule, location), ids in found.items()]


def anomaly_score(hits: list[CrsHit]) -> int:
    return sum(_SCORE.get(hit.severity, 0) for hit in hits if rule_for_crs_id(hit.rule_id) is not None)


class CrsProcessor:
    def __init__(self, engine: CrsEngine, *, event_min_severity: Severity = Severity.INFO,
                 tally: SecurityTally | None = None) -> None:
        self.engine = engine
        self.event_min_severity = event_min_severity
        self.tally = tally
        self.counts = ProcessorCounts()
        self._lock = threading.Lock()
        self._encoded = EncodedAdditions()
        self.inspected = 0
        self.matched = 0

    mask_strictly = staticmethod(mask_strictly)

    def stats(self) -> dict[str, int]:
        return {**self.counts.stats(), "spans_inspected": self.inspected, "spans_matched": self.matched}

    def process(self, signal: Signal, request: Request) -> Request | None:
        return process_spans(self, signal, request)

    @contextmanager
    def spans(self, batch: TraceBatch) -> Iterator[SpanHandler]:
        with self._lock:  # ModSecurity reports matches through one callback: one transaction at a time
            yield self._span

    def _span(self, view: SpanView) -> bool:
        exchange = request_of(view.span, view.attributes())
        if exchange is None:
            return True
        hits = self.engine.inspect(exchange)
        self.inspected += 1
        if not hits:
            return True
        self.matched += 1
        findings = findings_of(hits)
        span = view.span
        _merge_summary(span, findings)
        encoded = self._encoded
        time_field = event_time_field(span.end_time_unix_nano)
        span.MergeFromString(b"".join((
            encoded.attribute(A.CRS_RULE_IDS, tuple(hit.rule_id for hit in hits)),
            encoded.attribute(A.CRS_ANOMALY_SCORE, anomaly_score(hits)),
            *(encoded.event(f, time_field) for f in findings if f.severity >= self.event_min_severity),
        )))
        if self.tally is not None:
            where = self.tally.where(view.service, exchange.route)
            for finding in findings:
                self.tally.finding(finding.rule_id, finding.kind, finding.severity.label, where)
        view.edited()  # summary values changed in place: readers after this one read the span again
        return True


def _merge_summary(span: Span, findings: list[Finding]) -> None:
    """Fold the CRS findings into the span's summary attributes (as `enrich.span_attributes` would
    have written them had the findings been its own), adding those the span lacks."""
    about_request = [f for f in findings if not f.endpoint_scope]
    current = {kv.key: kv for kv in span.attributes if kv.key in _SUMMARY}
    rule_ids = {f.rule_id for f in findings}
    attacks = {f.kind for f in findings if f.kind in ATTACK_KINDS}
    old = current.get(A.FINDINGS)
    if old is not None:
        rule_ids.update(_strings(old))
    old = current.get(A.ATTACK_TYPES)
    if old is not None:
        attacks.update(_strings(old))
    worst = max(f.severity for f in about_request) if about_request else None
    old = current.get(A.SEVERITY_MAX)
    if old is not None and old.value.string_value:
        previous = Severity.parse(old.value.string_value)
        worst = previous if worst is None else max(worst, previous)
    old = current.get(A.RISK_SCORE)
    risk = max(risk_score(about_request), old.value.int_value if old is not None else 0)
    values: dict[str, object] = {
        A.FINDINGS: tuple(sorted(rule_ids)), A.ATTACK_TYPES: tuple(sorted(attacks)),
        A.ATTACK_DETECTED: bool(attacks), A.RISK_SCORE: risk,
    }
    if worst is not None:
        values[A.SEVERITY_MAX] = worst.label
    for key, value in values.items():
        kv = current.get(key)
        target = kv.value if kv is not None else span.attributes.add(key=key).value
        target.Clear()
        set_value(target, value)


_SUMMARY = frozenset({A.FINDINGS, A.ATTACK_TYPES, A.ATTACK_DETECTED, A.SEVERITY_MAX, A.RISK_SCORE})


def _strings(kv: KeyValue) -> list[str]:
    value = kv.value
    if value.HasField("array_value"):
        return [item.string_value for item in value.array_value.values if item.string_value]
    return [value.string_value] if value.string_value else []
