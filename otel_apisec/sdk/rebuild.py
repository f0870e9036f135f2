"""A copy of an ended span with redacted and added attributes and events.

Ended SDK spans are read-only (and `_on_ending` cannot set attributes either), so the export
path hands the next processor a new `ReadableSpan`: same identity, timing, links and status,
with what we derived and masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status

from otel_apisec.redaction.attributes import Redactor

__all__ = ["rebuilt_span"]

AttributeMap = Mapping[str, Any]


def rebuilt_span(
    span: ReadableSpan,
    redactor: Redactor,
    extra_attributes: AttributeMap | None = None,
    extra_events: Sequence[tuple[str, AttributeMap]] = (),
) -> ReadableSpan:
    # Values are already valid attribute types (the SDK checked them, and ours are built so):
    # a BoundedAttributes would check them all again. It carries the dropped count over.
    plain = redactor.attributes(span.attributes)
    plain.update(extra_attributes or {})
    attributes: Mapping[str, Any] = plain
    if span.dropped_attributes:
        bounded = BoundedAttributes(None, plain, immutable=False)
        bounded.dropped = span.dropped_attributes
        attributes = bounded
    events = [
        Event(redactor.text(event.name), redactor.attributes(event.attributes), event.timestamp)
        for event in span.events
    ]
    end = span.end_time
    events.extend(Event(name, attrs, end) for name, attrs in extra_events)
    status = span.status
    if status.description:
        status = Status(status.status_code, redactor.text(status.description))
    return ReadableSpan(
        name=redactor.text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
