"""In-process harness: the real SDK with an `ApisecSpanProcessor`, in-memory exporter and metric reader."""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_apisec.detect import Analyzer
from otel_apisec.sdk.capture.registry import CaptureRegistry
from otel_apisec.sdk.settings import ApisecSettings, load_settings
from otel_apisec.sdk.span_processor import ApisecSpanProcessor
from otel_apisec.sdk.telemetry import ApisecMetrics


@dataclass
class Pipeline:
    settings: ApisecSettings
    exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    analyzer: Analyzer | None = None

    def __post_init__(self) -> None:
        self.metrics = ApisecMetrics(MeterProvider(metric_readers=[self.reader]))
        self.registry = CaptureRegistry(self.settings)
        self.processor = ApisecSpanProcessor(
            SimpleSpanProcessor(self.exporter), settings=self.settings, registry=self.registry,
            analyzer=self.analyzer, metrics=self.metrics,
        )
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.processor)

    def server_spans(self) -> list[ReadableSpan]:
        self.provider.force_flush()
        return [s for s in self.exporter.get_finished_spans() if s.kind is SpanKind.SERVER]

    def metric_total(self, name: str, **attributes: object) -> float:
        data = self.reader.get_metrics_data()
        total = 0.0
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        if all(point.attributes.get(k) == v for k, v in attributes.items()):
                            total += point.value
        return total


def pipeline(analyzer: Analyzer | None = None, **env: str) -> Pipeline:
    """A pipeline whose settings are the defaults plus `env` (OTEL_APISEC_* names)."""
    settings = load_settings({"OTEL_APISEC_HMAC_KEY": "unit-test-key", **env})
    return Pipeline(settings, analyzer=analyzer)
