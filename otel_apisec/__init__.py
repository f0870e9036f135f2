"""otel-apisec: API security observability built on OpenTelemetry."""

from otel_apisec.detect import Analysis, Analyzer, DetectConfig, load_catalog
from otel_apisec.model import Body, Finding, Headers, HttpExchange, Severity

__all__ = [
    "Analysis",
    "Analyzer",
    "Body",
    "DetectConfig",
    "Finding",
    "Headers",
    "HttpExchange",
    "Severity",
    "load_catalog",
    "__version__",
]

__version__ = "0.1.0"
