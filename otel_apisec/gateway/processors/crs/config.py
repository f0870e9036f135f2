"""The `apisec/crs` processor's options: which CRS, at which paranoia level, with what bounds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from otel_apisec.gateway.api import Processor
from otel_apisec.gateway.components.base import SEVERITIES, BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option

__all__ = ["FACTORY", "CrsConfig"]


@dataclass(frozen=True)
class CrsConfig(ConfigBase):
    rules_dir: str = option("", "a CRS v3 or v4 `rules` directory; empty: the first found of "
                            "/usr/share/modsecurity-crs/rules (Debian's `modsecurity-crs`) and other usual places")
    setup_file: str = option("", "a `crs-setup.conf` loaded before the rules (exclusions, thresholds); empty: the "
                             "processor's own setup (detection only, `paranoia_level`)")
    paranoia_level: int = option(1, "CRS paranoia level: 1 (few false positives) to 4 (most rules)", bounds=(1, 4))
    max_body_bytes: int = option(65536, "bytes of a body attribute ModSecurity inspects (the rest is not)",
                                 bounds=(1, 1 << 20))
    pcre_match_limit: int = option(5000, "ModSecurity's PCRE match and recursion limits: the work one regex may do "
                                   "on one value before it gives up (CRS regexes backtrack)", bounds=(100, 1_000_000))
    removed_rules: tuple[int, ...] = option((), "CRS rule IDs to turn off (`SecRuleRemoveById`), for false positives")
    event_min_severity: str = option("info", "lowest severity that also becomes a span event", choices=SEVERITIES)

    def validate(self, path: str) -> None:
        for name in ("rules_dir", "setup_file"):
            value = getattr(self, name)
            if value and not Path(value).exists():
                raise ConfigError(f"{path}.{name}: {value!r} does not exist")
        for index, rule_id in enumerate(self.removed_rules):
            if not 1 <= rule_id <= 9_999_999:
                raise ConfigError(f"{path}.removed_rules[{index}]: {rule_id} is not a ModSecurity rule ID")


def _create(config: CrsConfig, ctx: BuildContext) -> Built[Processor]:
    from otel_apisec.gateway.processors.crs.engine import CrsEngine, CrsError, find_rules_dir
    from otel_apisec.gateway.processors.crs.processor import CrsProcessor
    from otel_apisec.model import Severity

    try:
        engine = CrsEngine(
            find_rules_dir(config.rules_dir), setup_file=Path(config.setup_file) if config.setup_file else None,
            paranoia_level=config.paranoia_level, max_body_bytes=config.max_body_bytes,
            pcre_match_limit=config.pcre_match_limit, removed_rules=config.removed_rules,
        )
    except CrsError as error:
        raise ConfigError(f"{ctx.id}: {error}") from None
    processor = CrsProcessor(engine, event_min_severity=Severity.parse(config.event_min_severity), tally=ctx.tally)
    return Built(processor, stats=processor.stats, shutdown=lambda _timeout_s: engine.close())


FACTORY = Factory("apisec/crs", CrsConfig, _create)
