"""The `apisec/correlate` processor: patterns across calls (brute force, enumeration, token reuse,
...), found by the correlators over a shared state store.

It runs after enrichment, reads each HTTP server span as an `Observation`, and puts every
finding on the span that tipped it over as an `apisec.finding` event (location `traffic`, with
its subject and evidence; client addresses as keyed hashes), so the exporters handle it like any other finding: the backend gets
it on the span and as a log record, alerts and the audit trail get its record. The client's
country, from the packaged offline GeoIP database, is added as `geo.country.iso_code`.

Never breaks the pipeline: a store that fails (Redis down) or a correlator bug is counted (the
engine), a span this processor fails on is counted by the runner, and the spans go on unchanged.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.correlate.api import CorrelationFinding
from otel_apisec.correlate.base import CLIENT, NETWORK, group_key
from otel_apisec.correlate.engine import Correlation
from otel_apisec.findings import traffic_event
from otel_apisec.gateway.anyvalue import set_value
from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.runner import ProcessorCounts, SpanHandler, SpanView, TraceBatch, process_spans
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.pseudonym import keyed_hash

__all__ = ["CorrelateProcessor", "correlation_event", "exported_subject"]

_PSEUDONYMIZED = {CLIENT: A.CLIENT_PSEUDO_ID, NETWORK: A.CLIENT_NETWORK_PSEUDO_ID}
"""Subject keys whose values are client addresses or networks, and the keys of their keyed hashes."""


def exported_subject(subject: dict[str, str], pseudonym: Callable[[str], str]) -> dict[str, str]:
    """The subject as it may leave the gateway: addresses and networks as keyed hashes (the state
    store and the correlators, in this process, work with the addresses themselves)."""
    return {_PSEUDONYMIZED.get(key, key): pseudonym(value) if key in _PSEUDONYMIZED else value
            for key, value in subject.items()}


def correlation_event(finding: CorrelationFinding, time_unix_nano: int, pseudonym: Callable[[str], str]) -> Span.Event:
    """The `apisec.finding` event of a finding made across calls. Its group key is rebuilt from
    the exported subject, so it holds no address either."""
    rule = finding.rule
    subject = exported_subject(finding.subject, pseudonym)
    attributes = traffic_event(rule, finding.effective_severity, finding.message, group_key(rule.kind, subject),
                               subject, finding.evidence)
    event = Span.Event(name=A.FINDING_EVENT, time_unix_nano=time_unix_nano)
    for key, value in attributes.items():
        set_value(event.attributes.add(key=key).value, value)
    return event


class CorrelateProcessor:
    """Runs `correlation` (the correlators over their store) on every HTTP server span."""

    mask_strictly = None

    def __init__(
        self,
        correlation: Correlation,
        hmac_key: bytes,
        country_of: Callable[[str], str | None] | None = None,
        tally: SecurityTally | None = None,
    ) -> None:
        self.correlation = correlation
        self._pseudonym = functools.partial(keyed_hash, hmac_key)
        self._country_of = country_of
        self._tally = tally
        self.observed = 0
        self.counts = ProcessorCounts()
        """Spans this processor raised on (the engine counts its own failures)."""
        self._lock = threading.Lock()

    @property
    def errors(self) -> int:
        """Spans correlation failed on, a bug (they went on unchanged)."""
        return self.counts.errors + self.correlation.internal_errors

    def process(self, signal: Signal, request: Request) -> Request | None:
        return process_spans(self, signal, request)

    def spans(self, batch: TraceBatch) -> AbstractContextManager[SpanHandler]:
        return nullcontext(self._span)

    def _span(self, view: SpanView) -> bool:
        observation = view.observation(self._country_of)
        if observation is None:
            return True
        span = view.span
        if observation.country:
            set_value(span.attributes.add(key=A.GEO_COUNTRY).value, observation.country)
        findings = self.correlation.observe(observation)  # never raises: it counts store and correlator failures
        with self._lock:
            self.observed += 1
        if findings:
            if self._tally is not None:
                where = self._tally.where(observation.service, observation.route)
                for finding in findings:
                    self._tally.finding(finding.rule.id, finding.rule.kind, finding.effective_severity.label, where)
            span.events.extend(correlation_event(finding, span.end_time_unix_nano, self._pseudonym) for finding in findings)
        return True

    def stats(self) -> dict[str, int]:
        return {"observed": self.observed, "store_errors": self.correlation.store_errors}

    def close(self) -> None:
        self.correlation.store.close()
