"""The gateway's pipeline config: YAML shaped like an OpenTelemetry Collector config.

    receivers:  {otlp: {protocols: {grpc: {endpoint: 127.0.0.1:4317}, http: {endpoint: 127.0.0.1:4318}}}}
    processors: {apisec/enrich: {hmac_key: "${env:OTEL_APISEC_HMAC_KEY}"}, apisec/redact: {}}
    exporters:  {otlp: {endpoint: http://collector:4317, protocol: grpc}}
    service:
      pipelines:
        traces: {receivers: [otlp], processors: [apisec/enrich, apisec/redact], exporters: [otlp]}

Components are named `type` or `type/name`. Each type's options, defaults and checks are its config
class in its folder under `gateway/receivers/`, `processors/` or `exporters/` (the README table is
rendered from them). `load_config` is the one validation: `--check-config` and start-up both run
it, and nothing it accepts fails at start for a reason of config. An error names the bad key by its path and says why.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.components import ConfigBase, ConfigError, expand_env
from otel_apisec.gateway.factories import FACTORIES
from otel_apisec.gateway.receivers.otlp.base import parse_endpoint

__all__ = ["DEFAULT_CONSOLE_ADDRESS", "DEFAULT_METRICS_ADDRESS", "ConfigError", "ConfiguredComponent", "ConsoleConfig",
           "GatewayConfig", "Pipeline", "console_config", "is_loopback", "load_config", "parse_config"]

_SECTIONS = ("receivers", "processors", "exporters")
DEFAULT_METRICS_ADDRESS = "127.0.0.1:8888"  # the Collector's own self-metrics port
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
DEFAULT_CONSOLE_ADDRESS = "127.0.0.1:8890"
DEFAULT_MAX_FINDINGS = 10_000
_CONSOLE_KEYS = ("address", "bearer_token", "max_findings", "trace_url")


@dataclass(frozen=True)
class ConfiguredComponent:
    id: str
    """`type` or `type/name`, as written in the config."""
    type: str
    config: ConfigBase
    """The validated config; its type's factory builds the component from it."""

    @property
    def options(self) -> dict[str, Any]:
        """The config's values by YAML key (for reading; the component is built from `config`)."""
        return self.config.as_options()


@dataclass(frozen=True)
class Pipeline:
    name: str
    signal: Signal
    receivers: tuple[str, ...]
    processors: tuple[str, ...]
    exporters: tuple[str, ...]


@dataclass(frozen=True)
class ConsoleConfig:
    """`service.console`: the JSON API listener (estate, governance, findings, incidents)."""

    address: str | None = DEFAULT_CONSOLE_ADDRESS
    """HOST:PORT, or None (`off`)."""
    bearer_token: str | None = None
    """Required when the address is not loopback (`${env:VAR}` keeps it out of the file)."""
    max_findings: int = DEFAULT_MAX_FINDINGS
    """Recent finding records the console keeps for `/api/v1/findings` (a ring: the oldest go first)."""
    trace_url: str | None = None
    """The console pages link each finding to its trace: `http(s)://...{trace_id}...`, filled with the
    hex trace ID only (for example Jaeger's `http://jaeger:16686/trace/{trace_id}`); None: no links."""


@dataclass(frozen=True)
class GatewayConfig:
    receivers: dict[str, ConfiguredComponent] = field(default_factory=dict)
    processors: dict[str, ConfiguredComponent] = field(default_factory=dict)
    exporters: dict[str, ConfiguredComponent] = field(default_factory=dict)
    pipelines: tuple[Pipeline, ...] = ()
    metrics_address: str | None = DEFAULT_METRICS_ADDRESS
    """Where the Prometheus `/metrics` endpoint listens (`service.telemetry.metrics.address`); None: off."""
    console: ConsoleConfig = field(default_factory=ConsoleConfig)


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read a YAML config file, expand `${env:VAR}` in its values (from `environ`, default the
    process's), and validate it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(expand_env(doc, os.environ if environ is None else environ))


def parse_config(doc: Any) -> GatewayConfig:
    """Validate a loaded (and expanded) YAML document; raise ConfigError naming the first bad key."""
    if not isinstance(doc, Mapping):
        raise ConfigError("config: expected a mapping with receivers, processors, exporters and service")
    unknown = sorted(str(key) for key in doc if key not in (*_SECTIONS, "service"))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown top-level key (allowed: receivers, processors, exporters, service)")
    sections = {section: _components(section, doc.get(section)) for section in _SECTIONS}
    service = doc.get("service")
    if not isinstance(service, Mapping) or not isinstance(service.get("pipelines"), Mapping) or not service["pipelines"]:
        raise ConfigError("service.pipelines: required, with at least one pipeline (traces, metrics or logs)")
    unknown = sorted(str(key) for key in service if key not in ("pipelines", "telemetry", "console"))
    if unknown:
        raise ConfigError(f"service.{unknown[0]}: unknown key (allowed: pipelines, telemetry, console)")
    metrics_address = _metrics_address(service.get("telemetry"))
    console = console_config(service.get("console"))
    pipelines = tuple(_pipeline(str(name), raw, sections) for name, raw in service["pipelines"].items())
    _check_claims(sections, metrics_address, console.address)
    return GatewayConfig(sections["receivers"], sections["processors"], sections["exporters"], pipelines, metrics_address,
                         console)


def _components(section: str, raw: Any) -> dict[str, ConfiguredComponent]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{section}: expected a mapping of components")
    components = {}
    for key, options in raw.items():
        component_id = str(key)
        kind = _type_of(section, component_id)
        config = FACTORIES[section][kind].config(f"{section}.{component_id}", options)
        components[component_id] = ConfiguredComponent(component_id, kind, config)
    return components


def _type_of(section: str, component_id: str) -> str:
    """`apisec/enrich` is a type; `otlp/backup` is the type `otlp` named `backup`."""
    types = FACTORIES[section]
    if component_id in types:
        return component_id
    base = component_id.split("/", 1)[0]
    if base in types:
        return base
    raise ConfigError(f"{section}.{component_id}: unknown {section[:-1]} type (known: {', '.join(sorted(types))})")


def _pipeline(name: str, raw: Any, sections: Mapping[str, Mapping[str, ConfiguredComponent]]) -> Pipeline:
    path = f"service.pipelines.{name}"
    try:
        signal = Signal(name.split("/", 1)[0])
    except ValueError:
        raise ConfigError(f"{path}: a pipeline is named traces, metrics or logs (optionally /name)") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping with receivers, processors and exporters")
    unknown = sorted(str(key) for key in raw if key not in _SECTIONS)
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown key (allowed: {', '.join(_SECTIONS)})")
    refs: dict[str, tuple[str, ...]] = {}
    for section in _SECTIONS:
        listed = raw.get(section) or []
        if not isinstance(listed, list):
            raise ConfigError(f"{path}.{section}: expected a list of component ids")
        for ref in listed:
            if str(ref) not in sections[section]:
                raise ConfigError(f"{path}.{section}: {ref!r} is not defined under {section}")
        refs[section] = tuple(str(ref) for ref in listed)
    for section in ("receivers", "exporters"):
        if not refs[section]:
            raise ConfigError(f"{path}.{section}: at least one is required")
    _check_order(path, [sections["processors"][ref].type for ref in refs["processors"]])
    return Pipeline(name, signal, refs["receivers"], refs["processors"], refs["exporters"])


_AFTER = {"apisec/crs": "apisec/enrich"}
"""Processor types that must come after another in a pipeline that has both: `apisec/crs` folds its
findings into the summary `apisec/enrich` writes (before it, enrich would write a second one)."""


def _check_order(path: str, types: list[str]) -> None:
    for later, earlier in _AFTER.items():
        if later in types and earlier in types and types.index(later) < types.index(earlier):
            raise ConfigError(f"{path}.processors: {later} must come after {earlier}")


def _metrics_address(telemetry: Any) -> str | None:
    """`service.telemetry.metrics.address: HOST:PORT` (or `off`), as in the Collector."""
    if telemetry is None:
        return DEFAULT_METRICS_ADDRESS
    if not isinstance(telemetry, Mapping) or set(telemetry) - {"metrics"}:
        raise ConfigError("service.telemetry: expected {metrics: {address: HOST:PORT}}")
    metrics = telemetry.get("metrics") or {}
    if not isinstance(metrics, Mapping) or set(metrics) - {"address"}:
        raise ConfigError("service.telemetry.metrics: expected {address: HOST:PORT} (or address: off)")
    address = metrics.get("address", DEFAULT_METRICS_ADDRESS)
    if address is False or address == "off":  # YAML 1.1 reads a bare `off` as false
        return None
    try:
        parse_endpoint(address if isinstance(address, str) else "")
    except ValueError:
        raise ConfigError(f"service.telemetry.metrics.address: expected HOST:PORT or off, got {address!r}") from None
    return str(address)


def console_config(raw: Any) -> ConsoleConfig:
    """`service.console: {address: HOST:PORT | off, bearer_token: ..., max_findings: N}`; a token is
    required off loopback (the API shows the estate and its weak points)."""
    if raw is None:
        return ConsoleConfig()
    if not isinstance(raw, Mapping):
        raise ConfigError("service.console: expected {address: HOST:PORT or off, bearer_token: ..., max_findings: N}")
    unknown = sorted(str(key) for key in raw if key not in _CONSOLE_KEYS)
    if unknown:
        raise ConfigError(f"service.console.{unknown[0]}: unknown key (allowed: {', '.join(_CONSOLE_KEYS)})")
    address = raw.get("address", DEFAULT_CONSOLE_ADDRESS)
    token = raw.get("bearer_token")
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ConfigError("service.console.bearer_token: expected a non-empty string (or leave it out)")
    max_findings = raw.get("max_findings", DEFAULT_MAX_FINDINGS)
    if isinstance(max_findings, bool) or not isinstance(max_findings, int) or not 1 <= max_findings <= 1_000_000:
        raise ConfigError(f"service.console.max_findings: expected an integer from 1 to 1000000, got {max_findings!r}")
    trace_url = raw.get("trace_url")
    if trace_url is not None and (not isinstance(trace_url, str) or not trace_url.startswith(("http://", "https://"))
                                  or trace_url.count("{trace_id}") != 1 or not trace_url.isprintable()):
        raise ConfigError("service.console.trace_url: expected an http(s) URL with {trace_id} once, "
                          f"e.g. http://jaeger:16686/trace/{{trace_id}}, got {str(trace_url)[:100]!r}")
    if address is False or address == "off":  # YAML 1.1 reads a bare `off` as false
        return ConsoleConfig(None, token, max_findings, trace_url)
    try:
        host, _port = parse_endpoint(address if isinstance(address, str) else "")
    except ValueError:
        raise ConfigError(f"service.console.address: expected HOST:PORT or off, got {address!r}") from None
    if token is None and not is_loopback(host):
        raise ConfigError(f"service.console.address: {address} is not loopback: set service.console.bearer_token "
                          "(for example ${env:OTEL_APISEC_CONSOLE_TOKEN}), or listen on 127.0.0.1")
    return ConsoleConfig(str(address), token.strip() if token else None, max_findings, trace_url)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost; an empty host (every interface) is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_claims(sections: Mapping[str, Mapping[str, ConfiguredComponent]], metrics_address: str | None,
                  console_address: str | None = None) -> None:
    """No two components (or the metrics endpoint, or the console) on one port, queue directory or
    audit log: the second would fail at start-up, so it fails here."""
    held: list[tuple[str, str]] = []  # (key path, resource)
    if metrics_address:
        held.append(("service.telemetry.metrics.address", f"tcp {metrics_address}"))
    if console_address:
        held.append(("service.console.address", f"tcp {console_address}"))
    for section, components in sections.items():
        for component in components.values():
            for key, resource in component.config.claims():
                kind = "tcp" if key.endswith("endpoint") else "path"
                held.append((f"{section}.{component.id}.{key}", f"{kind} {resource}"))
    for index, (path, resource) in enumerate(held):
        for other_path, other in held[:index]:
            if _clash(resource, other):
                raise ConfigError(f"{path}: {resource.split(' ', 1)[1]} is also used by {other_path}")


def _clash(a: str, b: str) -> bool:
    if a.startswith("tcp ") and b.startswith("tcp "):
        (host_a, port_a), (host_b, port_b) = parse_endpoint(a[4:]), parse_endpoint(b[4:])
        wildcard = host_a in _WILDCARD_HOSTS or host_b in _WILDCARD_HOSTS
        return port_a == port_b != 0 and (host_a == host_b or wildcard)
    return a == b
