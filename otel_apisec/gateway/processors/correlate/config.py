"""The `apisec/correlate` processor: the cross-request correlators over a state store. Its options are
the store's, then every `CorrelationConfig` field at the same level (that class holds their defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.stores.memory import DEFAULT_MAX_KEYS
from otel_apisec.correlate.stores.redis import DEFAULT_PREFIX
from otel_apisec.gateway.api import Processor
from otel_apisec.gateway.components.base import BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option

__all__ = ["FACTORY", "CorrelateConfig"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class CorrelateConfig(ConfigBase):
    store: str = option("memory", "where the correlation state lives: `memory` (this process) or a redis://, rediss:// or "
                        "unix:// URL that several gateway replicas share")
    hmac_key: str = option("", "key of the client-address pseudonyms in findings and of every Redis key (required with "
                           "Redis, the same on every replica; empty: random per process)")
    """Redis holds only keyed hashes, never client addresses: so a Redis store without a key is refused."""
    key_prefix: str = option(DEFAULT_PREFIX, "prefix of every Redis key")
    max_keys: int = option(DEFAULT_MAX_KEYS, "memory store: keys kept before the least recently used go",
                           bounds=(1, 1 << 40))
    geoip: bool = option(True, "add `geo.country.iso_code` from the packaged offline GeoIP database (token reuse across "
                         "countries needs it)")
    correlation: CorrelationConfig = option(CorrelationConfig(), "the correlators' thresholds and windows", squash=True)

    def validate(self, path: str) -> None:
        if self.store == "memory":
            return
        if not self.store.startswith(_REDIS_SCHEMES):
            raise ConfigError(f"{path}.store: expected memory or a redis://, rediss:// or unix:// URL")
        if not self.hmac_key:
            raise ConfigError(f"{path}.hmac_key: required with a Redis store, and the same on every replica "
                              "(Redis keys hold keyed hashes, never client addresses)")
        from redis.connection import parse_url

        try:
            parse_url(self.store)
        except ValueError as error:  # its message names the part, never the password
            raise ConfigError(f"{path}.store: not a Redis URL: {error}") from None


def _create(config: CorrelateConfig, ctx: BuildContext) -> Built[Processor]:
    from otel_apisec.correlate.api import StateStore
    from otel_apisec.correlate.engine import Correlation
    from otel_apisec.correlate.geo import CountryLookup
    from otel_apisec.correlate.stores.memory import MemoryStore
    from otel_apisec.gateway.processors.correlate.processor import CorrelateProcessor
    from otel_apisec.pseudonym import deployment_key

    store: StateStore
    if config.store == "memory":
        store = MemoryStore(max_keys=config.max_keys)
    else:
        from otel_apisec.correlate.stores.redis import RedisStore

        store = RedisStore(config.store, prefix=config.key_prefix, hmac_key=config.hmac_key.encode())
    country_of = CountryLookup().country if config.geoip else None
    key = deployment_key(config.hmac_key)
    processor = CorrelateProcessor(Correlation(config.correlation, store, hmac_key=key), key,
                                   country_of=country_of, tally=ctx.tally)
    return Built(processor, stats=lambda: {**processor.counts.stats(), "errors": processor.errors, **processor.stats()},
                 shutdown=lambda timeout_s: processor.close())


FACTORY = Factory("apisec/correlate", CorrelateConfig, _create)
