"""The `apisec/filter` processor: keep every span with a finding, sample the rest by trace id."""

from __future__ import annotations

from dataclasses import dataclass

from otel_apisec.gateway.api import Processor
from otel_apisec.gateway.components.base import BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, option

__all__ = ["FACTORY", "FilterConfig"]


@dataclass(frozen=True)
class FilterConfig(ConfigBase):
    sample_ratio: float = option(1.0, "share of traces kept, decided by trace id; spans with a finding (an "
                                 "`apisec.finding` event or non-empty `apisec.findings`) are always kept",
                                 bounds=(0.0, 1.0))
    keep_errors: bool = option(True, "also keep every span with an error status")
    hash_seed: int = option(0, "seed of the trace-id hash (the Collector's probabilistic sampler, `hash_seed` mode): the "
                            "same on every replica, another on a downstream sampler", bounds=(0, 2**32 - 1))


def _create(config: FilterConfig, ctx: BuildContext) -> Built[Processor]:
    from otel_apisec.gateway.processors.filter.processor import FilterProcessor

    processor = FilterProcessor(sample_ratio=config.sample_ratio, keep_errors=config.keep_errors, hash_seed=config.hash_seed)
    return Built(processor, stats=lambda: {**processor.stats(), **processor.counts.stats()})


FACTORY = Factory("apisec/filter", FilterConfig, _create)
