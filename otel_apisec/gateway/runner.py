"""What the pipeline runner shares with the processors: the one walk over resource -> scope ->
item, one lazily filled view per span, and the guard that drives a span processor over a batch.

After the Collector's processorhelper: a span processor writes what it does to one span
(`SpanProcessor.spans`); the runner walks, counts failures and drops, masks strictly what a
masking processor failed on, and removes what was dropped. structlog's chain runner is the other
model: a plain loop where any stage may drop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from otel_apisec.gateway.api import Request, Signal
from otel_apisec.gateway.span_exchange import SpanAttributes, exchange_of
from otel_apisec.gateway.span_observation import observation_of

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from otel_apisec.correlate.api import Observation
    from otel_apisec.model import HttpExchange

__all__ = [
    "ProcessorCounts", "SpanHandler", "SpanProcessor", "SpanView", "TraceBatch", "iter_items", "iter_resources", "iter_scopes",
    "iter_spans", "process_spans", "resource_service", "run_spans",
]

log = logging.getLogger(__name__)

_FIELDS = {
    Signal.TRACES: ("resource_spans", "scope_spans", "spans"),
    Signal.LOGS: ("resource_logs", "scope_logs", "log_records"),
    Signal.METRICS: ("resource_metrics", "scope_metrics", "metrics"),
}
"""Per signal: the request's resource list, a resource's scope list, a scope's item list."""
_UNSET: Any = object()


# --- the one walk ------------------------------------------------------------------------------
def iter_resources(signal: Signal, request: Request) -> Sequence[Any]:
    """The request's resource containers (`ResourceSpans`, `ResourceLogs`, `ResourceMetrics`)."""
    return getattr(request, _FIELDS[signal][0])


def iter_scopes(signal: Signal, request: Request) -> Iterator[tuple[Any, Any]]:
    """(resource container, scope container) for every scope, in order."""
    scopes_field = _FIELDS[signal][1]
    for resource in iter_resources(signal, request):
        for scope in getattr(resource, scopes_field):
            yield resource, scope


def iter_items(signal: Signal, request: Request) -> Iterator[tuple[Any, Any, Any]]:
    """(resource container, scope container, item) for every span, log record or metric, in order."""
    items_field = _FIELDS[signal][2]
    for resource, scope in iter_scopes(signal, request):
        for item in getattr(scope, items_field):
            yield resource, scope, item


def iter_spans(request: ExportTraceServiceRequest) -> Iterator[tuple[ResourceSpans, ScopeSpans, Span]]:
    """(resource spans, scope spans, span) for every span of a traces request, in order."""
    return iter_items(Signal.TRACES, request)


def resource_service(attributes: Any) -> str:
    """The `service.name` of a resource's attributes ("" when it has none)."""
    for kv in attributes:
        if kv.key == "service.name":
            return kv.value.string_value
    return ""


# --- one view per span ---------------------------------------------------------------------------
class _Resource:
    """A resource container and, read when first asked, its service name (shared by its spans)."""

    __slots__ = ("container", "_service")

    def __init__(self, container: ResourceSpans) -> None:
        self.container = container
        self._service: str | None = None

    @property
    def service(self) -> str:
        if self._service is None:
            self._service = resource_service(self.container.resource.attributes)
        return self._service


class SpanView:
    """One span and what the processors derive from its attributes, each at most once: the
    attributes read in one pass (`attributes()`), the `HttpExchange` enrichment analyses, the
    `Observation` the correlators see. Attributes appended since are read on demand, values edited
    in place through `redact_span` stay current; a processor that edits the span otherwise (removes
    or renames keys) calls `edited()`, and the next reader reads it again."""

    __slots__ = ("index", "scope", "span", "_exchange", "_observation", "_read", "_resource")

    def __init__(self, span: Span, scope: ScopeSpans, index: int, resource: _Resource) -> None:
        self.span = span
        self.scope = scope
        self.index = index
        """Its position in `scope.spans`."""
        self._resource = resource
        self._read: SpanAttributes | None = None
        self._exchange: HttpExchange | None = _UNSET
        self._observation: Observation | None = _UNSET

    @property
    def resource(self) -> ResourceSpans:
        return self._resource.container

    @property
    def service(self) -> str:
        """Its resource's `service.name`, read once per resource."""
        return self._resource.service

    def attributes(self) -> SpanAttributes:
        """The span's attributes, read once (and those appended since)."""
        read = self._read
        if read is None:
            read = self._read = SpanAttributes()
        read.read_appended(self.span)
        return read

    def attribute(self, key: str) -> object:
        """The value of a key in `span_exchange.WANTED`, or None."""
        return self.attributes().attrs.get(key)

    @property
    def enriched(self) -> bool:
        return self.attributes().enriched

    @property
    def exchange(self) -> HttpExchange | None:
        """The HTTP exchange the span describes (None: not an HTTP server span, or enriched already),
        as its attributes were when first asked."""
        if self._exchange is _UNSET:
            self._exchange = exchange_of(self.span, self.attributes())
        return self._exchange

    def observation(self, country_of: Callable[[str], str | None] | None = None) -> Observation | None:
        """What the correlators see of the call (None: not an HTTP server span)."""
        if self._observation is _UNSET:
            self._observation = observation_of(self.span, self.attributes(), self.service, country_of)
        return self._observation

    def masked(self) -> None:
        """Enrichment analysed and masked the span: let go of what only it reads (the exchange, now
        None as for any enriched span, and the AnyValues kept for masking). A batch keeps its views
        until its last processor, and thousands of live objects slow every garbage collection."""
        self._exchange = None
        if self._read is not None:
            self._read.drop_values()

    def edited(self) -> None:
        """The span changed in a way the view cannot follow: read it again when next asked."""
        self._read = None
        self._exchange = self._observation = _UNSET


class TraceBatch:
    """A traces request and a view of each of its spans, made by one walk."""

    __slots__ = ("request", "views")

    def __init__(self, request: ExportTraceServiceRequest) -> None:
        self.request = request
        self.views: list[SpanView] = []
        last: ResourceSpans | None = None
        resource: _Resource | None = None
        scope_of_last: ScopeSpans | None = None
        index = 0
        for container, scope, span in iter_spans(request):
            if container is not last:
                last, resource = container, _Resource(container)
            if scope is not scope_of_last:
                scope_of_last, index = scope, 0
            assert resource is not None
            self.views.append(SpanView(span, scope, index, resource))
            index += 1

    def remove(self, positions: Sequence[int]) -> bool:
        """Delete the spans at these positions of `views` (ascending), then the scopes and resources
        left empty; False when no span is left."""
        doomed = set(positions)
        kept: list[SpanView] = []
        by_scope: dict[int, tuple[ScopeSpans, list[int]]] = {}
        for position, view in enumerate(self.views):
            if position in doomed:
                by_scope.setdefault(id(view.scope), (view.scope, []))[1].append(view.index)
            else:
                kept.append(view)
        for scope, indexes in by_scope.values():
            spans = scope.spans
            for index in reversed(indexes):  # backwards: deleting keeps earlier indexes
                del spans[index]
        next_index: dict[int, int] = {}
        for view in kept:
            view.index = next_index.get(id(view.scope), 0)
            next_index[id(view.scope)] = view.index + 1
        self.views = kept
        resources = self.request.resource_spans
        for r_index in range(len(resources) - 1, -1, -1):
            scopes = resources[r_index].scope_spans
            for s_index in range(len(scopes) - 1, -1, -1):
                if not scopes[s_index].spans:
                    del scopes[s_index]
            if not scopes:
                del resources[r_index]
        return len(resources) > 0


# --- driving a span processor -------------------------------------------------------------------
class ProcessorCounts:
    """What a processor failed on: `errors` (spans, or whole requests of other signals, it raised
    on) and `dropped` (spans it raised on that could not be masked strictly either, so were not
    forwarded). Kept by the processor, counted by the runner."""

    __slots__ = ("dropped", "errors", "_lock")

    def __init__(self) -> None:
        self.errors = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def add(self, errors: int, dropped: int = 0) -> bool:
        """Count; True for the first error (the one that is logged)."""
        with self._lock:
            first = self.errors == 0
            self.errors += errors
            self.dropped += dropped
        return first

    def stats(self) -> dict[str, int]:
        return {"errors": self.errors, "dropped_on_error": self.dropped}


SpanHandler = Callable[[SpanView], bool]
"""What a span processor does to one span, in place; False drops the span."""


class SpanProcessor(Protocol):
    """A traces processor the runner drives span by span.

    `spans(batch)` opens one request's pass (take a lock, start a run) and gives the handler for
    each span; on leaving it, work for the whole batch is done (a batched scan). Example:

        def spans(self, batch):
            return contextlib.nullcontext(self._span)
    """

    @property
    def mask_strictly(self) -> Callable[[Span], None] | None:
        """For a processor that masks what must not leave the gateway: how a span it failed on is
        masked instead (`processors.mask_strictly`); None for one that masks nothing."""

    @property
    def counts(self) -> ProcessorCounts: ...

    def spans(self, batch: TraceBatch) -> AbstractContextManager[SpanHandler]: ...


def run_spans(processor: SpanProcessor, batch: TraceBatch) -> bool:
    """One span processor over a batch: a span it raises on is counted, masked strictly when the
    processor masks, and forwarded (dropped if even that fails); a span its handler refuses is
    removed. False when no span is left. Never raises (but BaseException)."""
    dropped: list[int] = []
    failed: list[int] = []
    first_error: Exception | None = None
    views = batch.views
    try:
        with processor.spans(batch) as handle:
            for position, view in enumerate(views):
                try:
                    if not handle(view):
                        dropped.append(position)
                except Exception as error:  # counted below; the span goes on
                    first_error = first_error or error
                    failed.append(position)
    except Exception as error:  # the pass itself failed: every span counts as failed on
        first_error = error
        refused = set(dropped)
        failed = [position for position in range(len(views)) if position not in refused]
    if failed:
        lost = _after_failure(processor, views, failed)
        dropped.extend(lost)
        if processor.counts.add(len(failed), len(lost)):  # logged once per processor
            log.error("%s failed on %d span(s) (counted; forwarded%s): %r", type(processor).__name__, len(failed),
                      ", masked strictly" if processor.mask_strictly else "", first_error, exc_info=first_error)
    if dropped:
        return batch.remove(sorted(set(dropped)))
    return True


def _after_failure(processor: SpanProcessor, views: list[SpanView], failed: list[int]) -> list[int]:
    """Mask the failed spans strictly when the processor masks; the positions that could not be."""
    mask_strictly = processor.mask_strictly
    if mask_strictly is None:
        return []
    lost = []
    for position in failed:
        view = views[position]
        try:
            mask_strictly(view.span)
        except Exception:  # unmaskable: not forwarded
            lost.append(position)
        view.edited()
    return lost


def process_spans(processor: SpanProcessor, signal: Signal, request: Request) -> Request | None:
    """`Processor.process` for a span processor called on its own: traces through `run_spans`,
    other signals unchanged."""
    if signal is not Signal.TRACES:
        return request
    return request if run_spans(processor, TraceBatch(request)) else None
