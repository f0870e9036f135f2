"""The `apisec/redact` processor: masking configured like the Collector's redaction processor,
plus otel-apisec's own rules and value detectors (`gateway/processors/redact/processor.py`)."""

from __future__ import annotations

from dataclasses import dataclass

import re2

from otel_apisec.gateway.api import Processor
from otel_apisec.gateway.components.base import BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option

__all__ = ["FACTORY", "RedactConfig"]


@dataclass(frozen=True)
class RedactConfig(ConfigBase):
    blocked_key_patterns: tuple[str, ...] = option((), "RE2 patterns on attribute keys whose values are masked")
    """A pattern that does not compile is refused here, not at start-up."""
    allowed_keys: tuple[str, ...] | None = option(None, "when set, span, event, link, log and metric point attributes "
                                                  "with other keys are removed (resource and scope attributes are kept)")
    value_detectors: bool = option(True, "run the PII and secret detectors on every string and bytes value, name and "
                                   "key (resource and scope too, text of any length) and mask hits")
    """On by default: what no key rule names (a card number in a log body) is still masked."""
    hash_keys: tuple[str, ...] = option((), "attribute keys whose values become keyed hashes")
    hmac_key: str = option("", "key for hash_keys (empty: random per process)")
    """An empty key is random per process: hashes then match neither across replicas nor restarts."""

    def validate(self, path: str) -> None:
        quiet = re2.Options()
        quiet.log_errors = False  # the error is ours to report, not RE2's to print on stderr
        for index, pattern in enumerate(self.blocked_key_patterns):
            try:
                re2.compile(pattern, quiet)
            except re2.error as error:
                why = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) else error
                raise ConfigError(f"{path}.blocked_key_patterns[{index}]: {pattern!r} is not a valid RE2 pattern: "
                                  f"{why}") from None


def _create(config: RedactConfig, ctx: BuildContext) -> Built[Processor]:
    from otel_apisec.gateway.processors.redact.processor import RedactProcessor

    processor = RedactProcessor(
        blocked_key_patterns=config.blocked_key_patterns, allowed_keys=config.allowed_keys,
        value_detectors=config.value_detectors, hash_keys=config.hash_keys, hmac_key=config.hmac_key)
    return Built(processor, stats=processor.counts.stats)


FACTORY = Factory("apisec/redact", RedactConfig, _create)
