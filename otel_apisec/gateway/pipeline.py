"""Pipelines: what a receiver's requests go through, per signal, as `service.pipelines` says."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from otel_apisec.gateway.api import Exporter, Processor, QueueFullError, Request, Signal
from otel_apisec.gateway.exporters.otlp.exporter import count_items
from otel_apisec.gateway.runner import ProcessorCounts, SpanProcessor, TraceBatch, iter_spans, run_spans

__all__ = ["PipelineRunner", "ReceiverRouter"]

log = logging.getLogger(__name__)


class PipelineRunner:
    """One pipeline: its processors in order, then every exporter.

    Traces are walked once into a `TraceBatch` whose span views the span processors share (one
    read of each span's attributes); other processors get the request. Whatever a processor
    raises is caught and counted (`ProcessorCounts`): the spans still go on, masked strictly when
    the processor was one that masks; a request of another signal goes on unchanged, or is dropped
    when a masking processor failed on it (what it held is unknown). A processor returning None,
    or leaving no span, drops the request."""

    def __init__(self, name: str, signal: Signal, processors: Sequence[Processor], exporters: Sequence[Exporter]) -> None:
        self.name = name
        self.signal = signal
        self.processors = list(processors)
        self.exporters = [exporter for exporter in exporters if signal in exporter.signals]
        self._span_processors = [_span_processor(processor) for processor in self.processors]
        # Counts for processors that keep none (any object with `process`).
        self._counts = [getattr(processor, "counts", None) or ProcessorCounts() for processor in self.processors]

    def consume(self, signal: Signal, request: Request) -> None:
        result = self._process(signal, request)
        if result is None:
            return
        # Each exporter raises QueueFullError when full: the receiver then answers 429 and the
        # client retries, so an exporter that did take the request may see it twice (at least once).
        for exporter in self.exporters:
            exporter.submit(signal, result)

    def stats(self) -> dict[str, int]:
        """`processor_errors/<index>` per processor: spans (or requests) it raised on."""
        return {f"processor_errors/{index}": counts.errors for index, counts in enumerate(self._counts)}

    def _process(self, signal: Signal, request: Request) -> Request | None:
        batch: TraceBatch | None = None
        for processor, span_processor, counts in zip(self.processors, self._span_processors, self._counts, strict=True):
            if span_processor is not None and signal is Signal.TRACES:
                if batch is None:
                    batch = TraceBatch(request)
                if not run_spans(span_processor, batch):
                    return None
                continue
            try:
                result = processor.process(signal, request)
            except Exception as error:
                result = self._failed(processor, counts, signal, request, error)
            if result is None:
                return None
            request, batch = result, None  # it may have changed the spans behind the views: walk again
        return request

    @staticmethod
    def _failed(processor: Processor, counts: ProcessorCounts, signal: Signal, request: Request,
                error: Exception) -> Request | None:
        mask_strictly = getattr(processor, "mask_strictly", None)
        items = count_items(signal, request)
        lost = 0
        if mask_strictly is not None and signal is Signal.TRACES:
            for _resource, _scope, span in iter_spans(request):
                try:
                    mask_strictly(span)
                except Exception:  # unmaskable: the request is not forwarded
                    lost = items
        elif mask_strictly is not None:
            lost = items  # no strict masking for logs and metrics: what they held is unknown, so not forwarded
        if counts.add(items or 1, lost):
            log.error("%s failed on a %s request (counted; %s): %r", type(processor).__name__, signal.value,
                      "dropped" if lost else "forwarded", error, exc_info=error)
        return None if lost else request


def _span_processor(processor: Processor) -> SpanProcessor | None:
    """The processor as the runner drives it span by span, when it can be."""
    return processor if callable(getattr(processor, "spans", None)) and hasattr(processor, "counts") else None  # type: ignore[return-value]


class ReceiverRouter:
    """The consumer one receiver feeds: the pipelines that list it, for the signal received."""

    def __init__(self, name: str, pipelines: Sequence[PipelineRunner]) -> None:
        self.name = name
        self._by_signal: dict[Signal, list[PipelineRunner]] = {signal: [] for signal in Signal}
        for pipeline in pipelines:
            self._by_signal[pipeline.signal].append(pipeline)
        # Self-metrics: items accepted and refused (queue full) per signal. Plain ints: a lost
        # increment under a thread race costs one count, a lock would cost every request.
        self.accepted: dict[Signal, int] = dict.fromkeys(Signal, 0)
        self.refused: dict[Signal, int] = dict.fromkeys(Signal, 0)

    def consume(self, signal: Signal, request: Request) -> None:
        items = count_items(signal, request)
        try:
            self._route(signal, request)
        except QueueFullError:
            self.refused[signal] += items
            raise
        self.accepted[signal] += items

    def stats(self) -> dict[str, int]:
        """Items accepted (`received_items/<signal>`) and refused because a queue was full (`refused_items/<signal>`)."""
        return {**{f"received_items/{signal.value}": count for signal, count in self.accepted.items()},
                **{f"refused_items/{signal.value}": count for signal, count in self.refused.items()}}

    def _route(self, signal: Signal, request: Request) -> None:
        pipelines = self._by_signal[signal]
        for index, pipeline in enumerate(pipelines):
            # Processors change requests in place: every pipeline but the last gets a copy.
            if index < len(pipelines) - 1:
                copy = type(request)()
                copy.CopyFrom(request)
                pipeline.consume(signal, copy)
            else:
                pipeline.consume(signal, request)
