"""The `apisec/inventory` processor's options: where the inventory lives (memory, persisted to a
file; or Redis, shared by replicas), its bounds, and the OpenAPI spec of each service."""

from __future__ import annotations

import functools
import hashlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from otel_apisec.correlate.stores.redis import DEFAULT_PREFIX
from otel_apisec.estate.inventory import DEFAULT_MAX_ENDPOINTS, DEFAULT_MAX_SERVICES
from otel_apisec.gateway.api import Processor
from otel_apisec.gateway.components.base import BuildContext, Built, Factory
from otel_apisec.gateway.components.confmap import ConfigBase, ConfigError, option

if TYPE_CHECKING:
    from otel_apisec.estate.spec import ApiSpec

__all__ = ["FACTORY", "InventoryConfig", "default_replica_id"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


@functools.cache
def default_replica_id() -> str:
    """`<host name>-<8 hex>`: the host name, which a Kubernetes StatefulSet pod or a VM keeps across
    restarts (so a restarted replica finds its own records again), and a digest of the machine id
    (the host name alone when there is none), which tells apart two hosts that share a name."""
    host = socket.gethostname() or "gateway"
    machine = ""
    for name in _MACHINE_ID_FILES:
        try:
            machine = Path(name).read_text().strip()
        except OSError:
            continue
        if machine:
            break
    digest = hashlib.sha256(f"{host}\0{machine}".encode()).hexdigest()[:8]
    return f"{host}-{digest}"


@dataclass(frozen=True)
class InventoryConfig(ConfigBase):
    store: str = option("memory", "where the inventory lives: `memory` (this process; see `persist_path`) or a "
                        "redis://, rediss:// or unix:// URL that gateway replicas share (each writes its own records, "
                        "reads merge them all; the state lives in Redis and survives restarts there)")
    key_prefix: str = option(DEFAULT_PREFIX, "prefix of the Redis keys (`<prefix>inventory:<replica_id>`)")
    replica_id: str = option("", "this replica's name in Redis; empty: the host name and a digest of the machine id, "
                             "stable across restarts on the same host or StatefulSet pod, so a restarted replica loads "
                             "its own records back. Set it where host names change on every restart. While another live "
                             "gateway holds the id (two on one host), this one takes `<id>-N`")
    persist_path: str = option("", "memory store: a JSON file the inventory is saved to every `persist_interval_s` and "
                               "at shutdown (atomically), and loaded from at start; empty: not persisted. With a Redis "
                               "store the state lives in Redis and this is not used")
    persist_interval_s: float = option(60.0, "memory store: seconds between saves to `persist_path`",
                                       bounds=(1, 86400))
    flush_interval_s: float = option(5.0, "Redis store: seconds between writes of this replica's changed records",
                                     bounds=(0.1, 3600))
    specs: dict[str, str] = option({}, "OpenAPI 2, 3.0 or 3.1 document (YAML or JSON file) per service: "
                                   "`{SERVICE: FILE}`, for the drift classes (documented, shadow, zombie, orphan)")
    max_services: int = option(DEFAULT_MAX_SERVICES, "services kept; calls of further services are counted, not stored",
                               bounds=(1, 1 << 20))
    max_endpoints: int = option(DEFAULT_MAX_ENDPOINTS, "endpoints kept per service (raw paths are compacted into "
                                "templates at the bound; further calls are counted, not stored)", bounds=(1, 1 << 24))

    def validate(self, path: str) -> None:
        if self.store != "memory":
            if not self.store.startswith(_REDIS_SCHEMES):
                raise ConfigError(f"{path}.store: expected memory or a redis://, rediss:// or unix:// URL")
            from redis.connection import parse_url

            try:
                parse_url(self.store)
            except ValueError as error:  # its message names the part, never the password
                raise ConfigError(f"{path}.store: not a Redis URL: {error}") from None
        if self.replica_id and (len(self.replica_id) > 128 or any(c in self.replica_id for c in "*?[] \t\n")):
            raise ConfigError(f"{path}.replica_id: at most 128 characters, no spaces or glob characters")
        load_specs(path, self.specs)


def load_specs(path: str, specs: dict[str, str]) -> dict[str, ApiSpec]:
    """Every configured spec, loaded and validated; a bad one is a ConfigError naming its key."""
    from otel_apisec.estate.spec import SpecError, load_spec

    loaded: dict[str, ApiSpec] = {}
    for service, file in specs.items():
        if not service:
            raise ConfigError(f"{path}.specs: a service name is empty")
        try:
            loaded[service] = load_spec(file)
        except (SpecError, OSError) as error:
            raise ConfigError(f"{path}.specs.{service}: {error}") from None
    return loaded


def _create(config: InventoryConfig, ctx: BuildContext) -> Built[Processor]:
    from otel_apisec.estate.inventory import Inventory
    from otel_apisec.gateway.processors.inventory.processor import InventoryProcessor

    specs = load_specs(f"processors.{ctx.id}", config.specs)
    inventory = Inventory(max_services=config.max_services, max_endpoints=config.max_endpoints)
    store = None
    if config.store != "memory":
        from otel_apisec.estate.store import RedisInventoryStore

        store = RedisInventoryStore(config.store, config.key_prefix, config.replica_id or default_replica_id(),
                                    lease_s=max(60.0, 3 * config.flush_interval_s))
    processor = InventoryProcessor(
        inventory, specs=specs, redis=store, persist_path=config.persist_path or None,
        interval_s=config.flush_interval_s if store is not None else config.persist_interval_s,
    )
    ctx.tally.add_estate(processor.metrics_snapshot)
    return Built(processor, stats=processor.stats, shutdown=processor.close)


FACTORY = Factory("apisec/inventory", InventoryConfig, _create)
