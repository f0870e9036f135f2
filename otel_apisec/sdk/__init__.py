"""The in-process half: the apisec distro, its runtime and settings, the capture hooks, the span
processor and the log exporter, and the programmatic API (`hooks`, `log_exporter`,
`span_processor`, `wsgi_middleware`, from `otel_apisec.sdk.api`).

    import otel_apisec.sdk as apisec

    provider.add_span_processor(apisec.span_processor(BatchSpanProcessor(OTLPSpanExporter())))
"""

from otel_apisec.sdk.api import hooks, log_exporter, span_processor, wsgi_middleware

__all__ = ["hooks", "log_exporter", "span_processor", "wsgi_middleware"]
