"""Finding records read off OTLP traces: the one JSON shape every finding consumer gets.

Each `apisec.finding` span event becomes one record (`otel_apisec.findings.record_from_event`:
the event's facts), seen at the event's time (ISO 8601 UTC), in the resource's `service_name`, on
the span's `trace_id`, `span_id`, `span_name`, and its `route` and `method` when it has them.

`finding_logs` turns the same events into OTLP log records (`event_name` `apisec.finding`), so
a backend that shows logs next to traces shows findings there too.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from otel_apisec import __version__
from otel_apisec import attributes as A
from otel_apisec.findings import Seen, log_summary, record_from_event
from otel_apisec.gateway.runner import iter_spans, resource_service

__all__ = ["attribute_dict", "finding_logs", "findings_from_request", "iso_from_nanos", "resource_service"]

_SCOPE = "otel_apisec"
_SEVERITY_NUMBERS = {  # OTel log severity: INFO 9, WARN 13, ERROR 17, FATAL 21
    "info": logs_pb2.SEVERITY_NUMBER_INFO,
    "low": logs_pb2.SEVERITY_NUMBER_INFO2,
    "medium": logs_pb2.SEVERITY_NUMBER_WARN,
    "high": logs_pb2.SEVERITY_NUMBER_ERROR,
    "critical": logs_pb2.SEVERITY_NUMBER_FATAL,
}
_SPAN_CONTEXT_KEYS = frozenset({A.HTTP_ROUTE, "http.request.method", "http.method"})


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def attribute_dict(attributes: Any, wanted: frozenset[str] | None = None) -> dict[str, Any]:
    """OTLP KeyValues as a plain dict (all of them, or the `wanted` keys)."""
    return {kv.key: _value(kv.value) for kv in attributes if wanted is None or kv.key in wanted}


def iso_from_nanos(unix_nano: int) -> str:
    if not unix_nano:
        return ""
    moment = datetime.datetime.fromtimestamp(unix_nano / 1e9, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _finding_spans(request: ExportTraceServiceRequest) -> Iterator[tuple[Any, trace_pb2.Span, list[trace_pb2.Span.Event]]]:
    """(resource_spans, span, its finding events) for every span with at least one."""
    for resource_spans, _scope, span in iter_spans(request):
        events = [event for event in span.events if event.name == A.FINDING_EVENT]
        if events:
            yield resource_spans, span, events


def findings_from_request(request: ExportTraceServiceRequest) -> Iterator[dict[str, Any]]:
    """One record per `apisec.finding` span event (see the module docstring for its keys)."""
    services: dict[int, str] = {}
    for resource_spans, span, events in _finding_spans(request):
        service = services.get(id(resource_spans))
        if service is None:
            service = services[id(resource_spans)] = resource_service(resource_spans.resource.attributes)
        context = attribute_dict(span.attributes, _SPAN_CONTEXT_KEYS)
        method = context.get("http.request.method") or context.get("http.method")
        route = context.get(A.HTTP_ROUTE) or None
        for event in events:
            seen = Seen(iso_from_nanos(event.time_unix_nano or span.end_time_unix_nano), service, span.trace_id.hex(),
                        span.span_id.hex(), span.name, route, method or None)
            yield record_from_event(attribute_dict(event.attributes), seen)


def finding_logs(request: ExportTraceServiceRequest) -> ExportLogsServiceRequest | None:
    """One log record per `apisec.finding` event, under the span's resource, with the span's trace
    and span IDs and the event's attributes; None when the request holds no finding."""
    logs = ExportLogsServiceRequest()
    observed = time.time_ns()
    by_resource: dict[int, logs_pb2.ScopeLogs] = {}
    for resource_spans, span, events in _finding_spans(request):
        scope_logs = by_resource.get(id(resource_spans))
        if scope_logs is None:
            resource_logs = logs.resource_logs.add()
            resource_logs.resource.CopyFrom(resource_spans.resource)
            resource_logs.schema_url = resource_spans.schema_url
            scope_logs = by_resource[id(resource_spans)] = resource_logs.scope_logs.add()
            scope_logs.scope.name = _SCOPE
            scope_logs.scope.version = __version__
        for event in events:
            record = scope_logs.log_records.add()
            record.event_name = A.FINDING_EVENT
            record.time_unix_nano = event.time_unix_nano or span.end_time_unix_nano
            record.observed_time_unix_nano = observed
            record.trace_id = span.trace_id
            record.span_id = span.span_id
            record.flags = span.flags & 0xFF  # the W3C trace flags (sampled)
            record.attributes.extend(event.attributes)
            severity, record.body.string_value = log_summary({kv.key: kv.value.string_value for kv in event.attributes})
            record.severity_text = severity.upper()
            record.severity_number = _SEVERITY_NUMBERS.get(severity, logs_pb2.SEVERITY_NUMBER_UNSPECIFIED)
    return logs if by_resource else None
