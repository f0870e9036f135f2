"""The running gateway: each component built by its type's factory from the validated config, then
started, drained and stopped through the one component protocol."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, cast

from opentelemetry.sdk.metrics import MeterProvider

from otel_apisec.alerts.alert import Alert
from otel_apisec.alerts.router import AlertRouter
from otel_apisec.audit.chain import AuditLog
from otel_apisec.gateway.api import Exporter, Processor, Signal
from otel_apisec.gateway.components import BuildContext, Component, ReceiverComponent
from otel_apisec.gateway.config import ConfiguredComponent, GatewayConfig
from otel_apisec.gateway.console import ConsoleApi, ConsoleServer, FindingsRing
from otel_apisec.gateway.console.api import EstateSource
from otel_apisec.gateway.console.incidents import alert_routers, incidents_document
from otel_apisec.gateway.exporters.sink import SinkExporter
from otel_apisec.gateway.factories import FACTORIES, PROCESSORS
from otel_apisec.gateway.pipeline import PipelineRunner, ReceiverRouter
from otel_apisec.gateway.security_metrics import SecurityTally, security_meter_provider
from otel_apisec.gateway.selfmetrics import serve_metrics

__all__ = ["Gateway", "build_processor"]

_logger = logging.getLogger("otel_apisec.gateway")
_RECEIVER_GRACE_S = 5.0  # for exports in progress when SIGTERM comes; then every connection is closed
_INVENTORY_TYPE = "apisec/inventory"


def build_processor(component: ConfiguredComponent, tally: SecurityTally) -> Processor:
    """One configured processor on its own, outside a Gateway (tests, the throughput bench)."""
    return cast(Processor, PROCESSORS[component.type].create(component.config, BuildContext(component.id, tally)).impl)


def _audit_alert(audit: AuditLog, alert: Alert) -> None:
    audit.append("alert", alert.to_json())


class Gateway:
    """Receivers -> pipelines -> exporters, as the config says. `start()`, then `shutdown()`.

    `processors` and `exporters` are what the pipelines call; `components` holds every built
    component by section and id, behind the protocol the service and the self-metrics use."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.security = SecurityTally()
        self.components: dict[str, dict[str, Component]] = {"receivers": {}, "processors": {}, "exporters": {}}
        self.processors: dict[str, Processor] = {}
        self.exporters: dict[str, Exporter] = {}
        self.receivers: dict[str, ReceiverComponent] = {}
        self.routers: list[ReceiverRouter] = []
        self.security_meter: MeterProvider | None = None
        self.metrics_server: Any = None
        self.console_server: ConsoleServer | None = None
        self.console_findings = FindingsRing(config.console.max_findings) if config.console.address else None
        """What `/api/v1/findings` reads: fed after every traces pipeline's exporters (redacted spans)."""
        try:
            self._build(config)
        except BaseException:
            self._stop_built()  # threads an exporter started at construction (alert delivery) must not linger
            raise

    def _build(self, config: GatewayConfig) -> None:
        for cid, component in config.processors.items():
            self.processors[cid] = self._create("processors", component, BuildContext(cid, self.security)).impl
        for cid, component in config.exporters.items():
            self.exporters[cid] = self._create("exporters", component, BuildContext(cid, self.security)).impl
        self._audit_alerts(config)
        runners = [
            PipelineRunner(p.name, p.signal, [self.processors[i] for i in p.processors], [self.exporters[i] for i in p.exporters])
            for p in config.pipelines
        ]
        if self.console_findings is not None:
            console_sink = SinkExporter(self.console_findings, "apisec/console")
            for runner in runners:
                if runner.signal is Signal.TRACES:
                    runner.exporters.append(console_sink)  # last: after the pipeline's own exporters
        metrics_pipelines = [runner for runner in runners if runner.signal is Signal.METRICS]
        # The security metrics, through the OTel metrics API, into the config's metrics pipelines.
        self._security_router = ReceiverRouter("apisec/security", metrics_pipelines) if metrics_pipelines else None
        for cid, component in config.receivers.items():
            router = ReceiverRouter(cid, [r for r, p in zip(runners, config.pipelines, strict=True) if cid in p.receivers])
            self.routers.append(router)
            self.receivers[cid] = self._create("receivers", component, BuildContext(cid, self.security, router))

    def _create(self, section: str, component: ConfiguredComponent, context: BuildContext) -> Any:
        built = FACTORIES[section][component.type].create(component.config, context)
        self.components[section][component.id] = built
        return built

    def _audit_alerts(self, config: GatewayConfig) -> None:
        """Alerts raised in a pipeline also go to that pipeline's audit trail(s)."""
        for pipeline in config.pipelines:
            sinks = [exporter.sink for cid in pipeline.exporters
                     if isinstance(exporter := self.exporters[cid], SinkExporter)]
            audits = [sink for sink in sinks if isinstance(sink, AuditLog)]
            for router in (sink for sink in sinks if isinstance(sink, AlertRouter)):
                router.listeners.extend(functools.partial(_audit_alert, audit) for audit in audits)

    def signals(self) -> set[Signal]:
        return {pipeline.signal for pipeline in self.config.pipelines}

    def start(self) -> None:
        for exporter in self.components["exporters"].values():
            exporter.start()
        for receiver in self.receivers.values():
            receiver.start()
        if self.config.metrics_address:
            self.metrics_server = serve_metrics(self, self.config.metrics_address)
        console = self.config.console
        if console.address and self.console_findings is not None:
            api = ConsoleApi(self.estate_sources, self.console_findings,
                             lambda: incidents_document(alert_routers(self.exporters)), console.bearer_token,
                             trace_url=console.trace_url)
            self.console_server = ConsoleServer(api, console.address).start()
        if self._security_router is not None:
            router = self._security_router
            self.security_meter = security_meter_provider(
                self.security, self.alerts_active, lambda request: router.consume(Signal.METRICS, request))

    def estate_sources(self) -> list[EstateSource]:
        """Every `apisec/inventory` processor: what the console's inventory and governance read."""
        return [cast(EstateSource, self.processors[cid]) for cid, component in self.config.processors.items()
                if component.type == _INVENTORY_TYPE]

    def alerts_active(self) -> int:
        """Alert groups open in every alerts exporter."""
        return sum(int(exporter.stats().get("open_groups", 0)) for exporter in self.components["exporters"].values())

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop taking requests, then drain every exporter's queue (persistent queues keep the rest).

        The receivers take at most _RECEIVER_GRACE_S together, whatever their clients do: all stop taking
        exports first, then share one deadline for the exports in progress."""
        deadline = time.monotonic() + _RECEIVER_GRACE_S
        for receiver in self.receivers.values():
            receiver.drain()
        for receiver in self.receivers.values():
            receiver.shutdown(max(0.0, deadline - time.monotonic()))
        if self.security_meter is not None:  # a last collection, while the exporters still take it
            self.security_meter.shutdown()
        for exporter in self.components["exporters"].values():
            exporter.shutdown(timeout_s)
        for processor in self.components["processors"].values():
            processor.shutdown(timeout_s)
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
        if self.console_server is not None:
            self.console_server.shutdown()

    def _stop_built(self) -> None:
        for section in ("exporters", "processors"):
            for component in self.components[section].values():
                try:
                    component.shutdown(1.0)
                except Exception:  # already failing to start: report that, not this
                    _logger.exception("stopping a half-built component failed")
