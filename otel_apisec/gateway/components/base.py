"""What every gateway component is, after the OpenTelemetry Collector: a factory (type name,
default config, create function) that builds it only from a validated config, and, once built,
one protocol the service starts, stops and reads its counters through."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from otel_apisec.gateway.components.confmap import ConfigBase, decode
from otel_apisec.model import Severity

if TYPE_CHECKING:
    from otel_apisec.gateway.api import Consumer
    from otel_apisec.gateway.security_metrics import SecurityTally

__all__ = ["SEVERITIES", "BuildContext", "Built", "Component", "Factory", "ReceiverComponent", "Stats", "numeric"]

SEVERITIES = tuple(severity.label for severity in Severity)
"""The choices of every `min_severity` option, lowest first."""

Stats = Mapping[str, int | float]
"""Counters and gauges by name; a counter with a label is `name/value` (`closed_connections/idle_timeout`)."""

C = TypeVar("C", bound=ConfigBase)
T = TypeVar("T")
B = TypeVar("B", bound="Component")


class Component(Protocol):
    """A built receiver, processor or exporter, as the service sees it."""

    def start(self) -> None:
        """Open what it holds (sockets, files, threads); raise OSError when the host refuses."""

    def shutdown(self, timeout_s: float) -> None:
        """Stop; deliver or persist what it holds, for up to `timeout_s`."""

    def stats(self) -> Stats:
        """Its counters now (read at scrape time by the self-metrics)."""


class ReceiverComponent(Component, Protocol):
    """A receiver also stops taking requests before any component stops (`drain`), and says where it listens."""

    def drain(self) -> None: ...

    def addresses(self) -> list[tuple[str, str, int]]:
        """(protocol, host, port) of each listener, once started."""


def numeric(values: Mapping[str, object]) -> dict[str, int | float]:
    """The counters of a stats mapping that also holds other things (a router's per-receiver list)."""
    return {key: value for key, value in values.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}


class Built(Generic[T]):
    """`impl` (the Processor or Exporter the pipelines call) behind the Component protocol; the
    factory, which knows what it built, says how it starts, stops and counts."""

    __slots__ = ("_shutdown", "_start", "_stats", "impl")

    def __init__(
        self, impl: T, *, start: Callable[[], object] | None = None, shutdown: Callable[[float], object] | None = None,
        stats: Callable[[], Mapping[str, object]] | None = None,
    ) -> None:
        self.impl = impl
        self._start, self._shutdown, self._stats = start, shutdown, stats

    def start(self) -> None:
        if self._start is not None:
            self._start()

    def shutdown(self, timeout_s: float) -> None:
        if self._shutdown is not None:
            self._shutdown(timeout_s)

    def stats(self) -> Stats:
        return numeric(self._stats()) if self._stats is not None else {}


@dataclass(frozen=True)
class BuildContext:
    """What a create function gets besides its config."""

    id: str
    """The component's id as configured (`otlp/backup`): its name in logs and metrics."""
    tally: SecurityTally
    """The security metrics processors count findings, auth outcomes and detector failures in."""
    consumer: Consumer | None = None
    """Receivers: where decoded requests go (the pipelines that list the receiver)."""


@dataclass(frozen=True)
class Factory(Generic[C, B]):
    """A component type: its name, its config class (whose defaults are the default config) and
    the function that builds it from a validated config."""

    type: str
    config_class: builtins.type[C]  # `type` is the field above inside this class body
    create: Callable[[C, BuildContext], B]

    def default_config(self) -> C:
        return self.config_class()

    def config(self, path: str, raw: Any) -> C:
        """The validated config from YAML (`--check-config` and start-up both come here)."""
        return decode(path, self.config_class, raw)
