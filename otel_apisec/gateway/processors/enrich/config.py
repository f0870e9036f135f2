"""The `apisec/enrich` processor: in-process enrichment's detectors and schema for spans that
arrive without it. The defaults are in-process enrichment's (`otel_apisec.detect.api`)."""

from __future__ import annotations

from dataclasses import dataclass

from otel_apisec.detect.api import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIME_BUDGET_MS, DETECTOR_NAMES
from otel_apisec.gateway.api import Processor
from otel_apisec.gateway.components.base import SEVERITIES, BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option
from otel_apisec.gateway.span_exchange import MAX_BODY_BYTES as SPAN_BODY_BYTES

__all__ = ["FACTORY", "EnrichConfig"]


@dataclass(frozen=True)
class EnrichConfig(ConfigBase):
    hmac_key: str = option("", "key for pseudonyms; empty: random per process (set one per deployment)")
    """Principals and tokens leave the gateway only as keyed hashes under this key. An empty key
    is random per process, so pseudonyms match neither across replicas nor across restarts."""
    event_min_severity: str = option("info", "lowest severity that also becomes a span event", choices=SEVERITIES)
    detectors: tuple[str, ...] | None = option(None, "detector families to run (default all)")
    """A misspelt name is refused: a family silently missing is detection silently off."""
    max_body_bytes: int = option(DEFAULT_MAX_BODY_BYTES, "bytes of a body attribute analysed",
                                 bounds=(1, SPAN_BODY_BYTES))
    """At most what is read from a span's body attribute (`span_exchange.MAX_BODY_BYTES`)."""
    time_budget_ms: float = option(
        DEFAULT_TIME_BUDGET_MS, "analysis CPU time per span (a typical span takes under 1 ms); detectors left when it is "
        "spent are skipped and counted in `otel_apisec_detector_failures_total`, except auth and tokens, which always "
        "run (0: no budget)", bounds=(0, 60_000))
    """Bounds what one hostile span costs: it holds the analysis lock every receiver thread waits on."""
    posture_per_endpoint: bool = option(
        True, "check endpoint posture (missing headers, banners, cookie flags, CORS, plain HTTP) once per endpoint and "
        "response shape, as an endpoint fact on the first span of each shape; false: on every span")

    def validate(self, path: str) -> None:
        if self.detectors is None:
            return
        if not self.detectors:
            raise ConfigError(f"{path}.detectors: empty; name at least one of {', '.join(DETECTOR_NAMES)}, "
                              "or leave it out for all")
        for index, name in enumerate(self.detectors):
            if name != "all" and name not in DETECTOR_NAMES:
                raise ConfigError(f"{path}.detectors[{index}]: unknown detector {name!r} "
                                  f"(known: all, {', '.join(DETECTOR_NAMES)})")

    def enabled(self) -> frozenset[str] | None:
        """`DetectConfig.enabled`: None runs every detector."""
        if self.detectors is None or "all" in self.detectors:
            return None
        return frozenset(self.detectors)


def _create(config: EnrichConfig, ctx: BuildContext) -> Built[Processor]:
    from otel_apisec.compiled_cache import default_cache
    from otel_apisec.detect import Analyzer, DetectConfig
    from otel_apisec.gateway.processors.enrich.processor import EnrichProcessor
    from otel_apisec.model import Severity

    detect = DetectConfig(hmac_key=config.hmac_key.encode(), enabled=config.enabled(),
                          max_body_bytes=config.max_body_bytes, time_budget_ms=config.time_budget_ms or None,
                          posture_per_endpoint=config.posture_per_endpoint)
    analyzer = Analyzer(detect, compiled_cache=default_cache())  # a restart loads, not compiles, its patterns
    processor = EnrichProcessor(analyzer, event_min_severity=Severity.parse(config.event_min_severity), tally=ctx.tally)
    return Built(processor, stats=processor.counts.stats)


FACTORY = Factory("apisec/enrich", EnrichConfig, _create)
