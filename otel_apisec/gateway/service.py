"""The running gateway: components built from a validated config, started and drained in order."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider

from otel_apisec.alerts.alert import Alert
from otel_apisec.alerts.config import router_from_config
from otel_apisec.audit.chain import AuditLog
from otel_apisec.audit.keys import key_from_env, key_from_file
from otel_apisec.compiled_cache import default_cache
from otel_apisec.correlate.api import FindingSink, StateStore
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.geo import CountryLookup
from otel_apisec.correlate.state_memory import MemoryStore
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.gateway.api import Exporter, Processor, Signal
from otel_apisec.gateway.config import Component, GatewayConfig, correlation_config
from otel_apisec.gateway.correlate import CorrelateProcessor
from otel_apisec.gateway.exporters import OtlpExporter
from otel_apisec.gateway.filter import FilterProcessor
from otel_apisec.gateway.finding_exporters import ConsoleExporter, FindingsFileExporter, SinkExporter
from otel_apisec.gateway.pipeline import PipelineRunner, ReceiverRouter
from otel_apisec.gateway.processors import EnrichProcessor
from otel_apisec.gateway.queue import BoundedQueue, PersistentQueue
from otel_apisec.gateway.receivers import GrpcReceiver, HttpReceiver
from otel_apisec.gateway.redact_processor import RedactProcessor
from otel_apisec.gateway.security_metrics import SecurityTally, security_meter_provider
from otel_apisec.gateway.selfmetrics import serve_metrics
from otel_apisec.gateway.tls import grpc_server_credentials, server_ssl_context
from otel_apisec.model import Severity
from otel_apisec.pseudonym import deployment_key
from otel_apisec.siem.sinks import OcsfFileSink, OcsfWebhookSink

__all__ = ["Gateway"]

_logger = logging.getLogger("otel_apisec.gateway")
_PERSISTENT_DRAIN_S = 5.0
_RECEIVER_GRACE_S = 5.0  # for exports in progress when SIGTERM comes; then every connection is closed


def _enrich(options: dict[str, Any], tally: SecurityTally) -> Processor:
    detectors = options["detectors"]
    config = DetectConfig(
        hmac_key=options["hmac_key"].encode(),
        enabled=frozenset(detectors) if detectors else None,
        max_body_bytes=options["max_body_bytes"],
        time_budget_ms=options["time_budget_ms"] or None,  # one hostile span must not hold the analysis lock for long
    )
    analyzer = Analyzer(config, compiled_cache=default_cache())  # a restart loads, not compiles, its patterns
    return EnrichProcessor(analyzer, event_min_severity=Severity.parse(options["event_min_severity"]), tally=tally)


def _correlate(options: dict[str, Any], tally: SecurityTally) -> Processor:
    store: StateStore
    if options["store"] == "memory":
        store = MemoryStore(max_keys=options["max_keys"])
    else:
        from otel_apisec.correlate.state_redis import RedisStore  # only when configured

        store = RedisStore(options["store"], prefix=options["key_prefix"], hmac_key=options["hmac_key"].encode())
    country_of = CountryLookup().country if options["geoip"] else None
    return CorrelateProcessor(Correlation(correlation_config(options), store), deployment_key(options["hmac_key"]),
                              country_of=country_of, tally=tally)


def _otlp(options: dict[str, Any]) -> Exporter:
    if options["storage"]:
        queue: BoundedQueue | PersistentQueue = PersistentQueue(
            options["storage"], options["storage_max_bytes"], fsync=options["fsync"])
    else:
        queue = BoundedQueue(options["queue_size"], options["queue_max_bytes"])
    return OtlpExporter(
        options["endpoint"], options["protocol"], headers=options["headers"], timeout_s=float(options["timeout_s"]),
        queue=queue, compression=None if options["compression"] == "none" else options["compression"],
        workers=options["workers"], max_backoff_s=float(options["max_backoff_s"]), tls=options["tls"],
        findings_as_logs=options["findings_as_logs"],
        max_elapsed_s=None if options["max_elapsed_s"] is None else float(options["max_elapsed_s"]),
    )


def _audit(options: dict[str, Any]) -> Exporter:
    if options["key_file"]:
        key: bytes | None = key_from_file(options["key_file"])
    else:
        key = key_from_env(options["key_env"]) if os.environ.get(options["key_env"]) else None
    log = AuditLog(options["path"], key=key, max_bytes=options["max_bytes"], keep=options["keep"], fsync=options["fsync"])
    return SinkExporter(log, "apisec/audit", min_severity=Severity.parse(options["min_severity"]))


def _ocsf(options: dict[str, Any]) -> Exporter:
    sink: FindingSink
    if options["endpoint"]:
        sink = OcsfWebhookSink(options["endpoint"], headers=options["headers"], batch_size=options["batch_size"],
                               queue_size=options["queue_size"], ca_file=options["ca_file"], validate=options["validate"])
    else:
        sink = OcsfFileSink(options["path"], validate=options["validate"])
    return SinkExporter(sink, "apisec/ocsf", min_severity=Severity.parse(options["min_severity"]))


PROCESSOR_FACTORIES: dict[str, Callable[[dict[str, Any], SecurityTally], Processor]] = {
    "apisec/enrich": _enrich,
    "apisec/correlate": _correlate,
    "apisec/redact": lambda options, tally: RedactProcessor(**options),
    "apisec/filter": lambda options, tally: FilterProcessor(**options),
}
EXPORTER_FACTORIES: dict[str, Callable[[dict[str, Any]], Exporter]] = {
    "otlp": _otlp,
    "apisec/findings": lambda options: FindingsFileExporter(options["path"]),
    "apisec/alerts": lambda options: SinkExporter(router_from_config(options, "exporters.apisec/alerts"), "apisec/alerts"),
    "apisec/audit": _audit,
    "apisec/ocsf": _ocsf,
    "console": lambda options: ConsoleExporter(),
}


def _audit_alert(audit: AuditLog, alert: Alert) -> None:
    audit.append("alert", alert.to_json())


class Gateway:
    """Receivers -> pipelines -> exporters, as the config says. `start()`, then `shutdown()`."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.security = SecurityTally()
        processors = {cid: PROCESSOR_FACTORIES[c.type](c.options, self.security) for cid, c in config.processors.items()}
        self.exporters = {cid: EXPORTER_FACTORIES[c.type](c.options) for cid, c in config.exporters.items()}
        self._audit_alerts(config)
        runners = [
            PipelineRunner(p.name, p.signal, [processors[i] for i in p.processors], [self.exporters[i] for i in p.exporters])
            for p in config.pipelines
        ]
        self.processors = processors
        metrics_pipelines = [runner for runner in runners if runner.signal is Signal.METRICS]
        # The security metrics, through the OTel metrics API, into the config's metrics pipelines.
        self._security_router = ReceiverRouter("apisec/security", metrics_pipelines) if metrics_pipelines else None
        self.security_meter: MeterProvider | None = None
        self.routers: list[ReceiverRouter] = []
        self.receivers: list[HttpReceiver | GrpcReceiver] = []
        for cid, component in config.receivers.items():
            router = ReceiverRouter(cid, [r for r, p in zip(runners, config.pipelines, strict=True) if cid in p.receivers])
            self.routers.append(router)
            self.receivers.extend(self._receivers(component, router))
        self.metrics_server: Any = None

    def _audit_alerts(self, config: GatewayConfig) -> None:
        """Alerts raised in a pipeline also go to that pipeline's audit trail(s)."""
        for pipeline in config.pipelines:
            kinds = {cid: config.exporters[cid].type for cid in pipeline.exporters}
            audits = [self.exporters[cid].sink for cid, kind in kinds.items() if kind == "apisec/audit"]  # type: ignore[attr-defined]
            for cid, kind in kinds.items():
                if kind == "apisec/alerts":
                    router = self.exporters[cid].sink  # type: ignore[attr-defined]
                    router.listeners.extend(functools.partial(_audit_alert, audit) for audit in audits)

    @staticmethod
    def _receivers(component: Component, router: ReceiverRouter) -> list[HttpReceiver | GrpcReceiver]:
        built: list[HttpReceiver | GrpcReceiver] = []
        grpc_options, http_options = component.options.get("grpc"), component.options.get("http")
        if grpc_options is not None:
            tls = grpc_options["tls"]
            built.append(GrpcReceiver(router, grpc_options["endpoint"], max_message_bytes=grpc_options["max_message_bytes"],
                                      bearer_token=grpc_options["bearer_token"],
                                      server_credentials=grpc_server_credentials(tls) if tls else None,
                                      max_connections=grpc_options["max_connections"],
                                      header_timeout_s=float(grpc_options["header_timeout_s"]),
                                      idle_timeout_s=float(grpc_options["idle_timeout_s"]), name=component.id))
        if http_options is not None:
            tls = http_options["tls"]
            built.append(HttpReceiver(router, http_options["endpoint"], max_body_bytes=http_options["max_message_bytes"],
                                      bearer_token=http_options["bearer_token"],
                                      ssl_context=server_ssl_context(tls) if tls else None,
                                      max_connections=http_options["max_connections"],
                                      header_timeout_s=float(http_options["header_timeout_s"]),
                                      body_timeout_s=float(http_options["body_timeout_s"]),
                                      idle_timeout_s=float(http_options["idle_timeout_s"]), name=component.id))
        return built

    def signals(self) -> set[Signal]:
        return {pipeline.signal for pipeline in self.config.pipelines}

    def start(self) -> None:
        for exporter in self.exporters.values():
            exporter.start()
        for receiver in self.receivers:
            receiver.start()
        if self.config.metrics_address:
            self.metrics_server = serve_metrics(self, self.config.metrics_address)
        if self._security_router is not None:
            router = self._security_router
            self.security_meter = security_meter_provider(
                self.security, self.alerts_active, lambda request: router.consume(Signal.METRICS, request))

    def alerts_active(self) -> int:
        """Alert groups open in every alerts exporter."""
        return sum(int(e.stats().get("open_groups", 0)) for e in self.exporters.values() if isinstance(e, SinkExporter))

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop taking requests, then drain every exporter's queue (persistent queues keep the rest).

        The receivers take at most _RECEIVER_GRACE_S together, whatever their clients do: all stop taking
        exports first, then share one deadline for the exports in progress."""
        deadline = time.monotonic() + _RECEIVER_GRACE_S
        for receiver in self.receivers:
            receiver.drain()
        for receiver in self.receivers:
            try:
                receiver.shutdown(max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - one receiver failing to stop must not keep the others open
                _logger.exception("stopping a receiver failed")
        if self.security_meter is not None:  # a last collection, while the exporters still take it
            self.security_meter.shutdown()
        for exporter in self.exporters.values():
            # A persistent queue keeps what is left on disk for the next start: no point waiting
            # long for a backend that is down.
            persistent = getattr(getattr(exporter, "queue", None), "persistent", False)
            exporter.shutdown(min(timeout_s, _PERSISTENT_DRAIN_S) if persistent else timeout_s)
        for processor in self.processors.values():
            if hasattr(processor, "close"):
                processor.close()
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
