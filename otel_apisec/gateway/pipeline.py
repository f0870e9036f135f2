"""Pipelines: what a receiver's requests go through, per signal, as `service.pipelines` says."""

from __future__ import annotations

from collections.abc import Sequence

from otel_apisec.gateway.api import Exporter, Processor, QueueFullError, Request, Signal
from otel_apisec.gateway.exporters import count_items

__all__ = ["PipelineRunner", "ReceiverRouter"]


class PipelineRunner:
    """One pipeline: its processors in order, then every exporter."""

    def __init__(self, name: str, signal: Signal, processors: Sequence[Processor], exporters: Sequence[Exporter]) -> None:
        self.name = name
        self.signal = signal
        self.processors = list(processors)
        self.exporters = [exporter for exporter in exporters if signal in exporter.signals]

    def consume(self, signal: Signal, request: Request) -> None:
        result: Request | None = request
        for processor in self.processors:
            result = processor.process(signal, result)
            if result is None:
                return
        # Each exporter raises QueueFullError when full: the receiver then answers 429 and the
        # client retries, so an exporter that did take the request may see it twice (at least once).
        for exporter in self.exporters:
            exporter.submit(signal, result)


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
