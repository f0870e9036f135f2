"""The gateway's pipeline config: YAML shaped like an OpenTelemetry Collector config.

    receivers:  {otlp: {protocols: {grpc: {endpoint: 127.0.0.1:4317}, http: {endpoint: 127.0.0.1:4318}}}}
    processors: {apisec/enrich: {}, apisec/redact: {value_detectors: true}}
    exporters:  {otlp: {endpoint: http://collector:4317, protocol: grpc}}
    service:
      pipelines:
        traces: {receivers: [otlp], processors: [apisec/enrich, apisec/redact], exporters: [otlp]}

Components are named `type` or `type/name`. Every option of every component type is declared
in `COMPONENTS` (name, type, default, meaning): the one place for the defaults, the README
table and the validation. Validation happens at start-up and by `--check-config`; an error
names the bad key by its path and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from otel_apisec.alerts.config import parse_config as parse_alerts
from otel_apisec.alerts.policy import AlertPolicy
from otel_apisec.audit.chain import DEFAULT_MAX_BYTES as AUDIT_MAX_BYTES
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.state_memory import DEFAULT_MAX_KEYS
from otel_apisec.correlate.state_redis import DEFAULT_PREFIX
from otel_apisec.gateway.api import Signal
from otel_apisec.model import Severity

__all__ = ["COMPONENTS", "ConfigError", "GatewayConfig", "Option", "correlation_config", "load_config", "parse_config"]


class ConfigError(ValueError):
    """The config is invalid; the message names the key path."""


@dataclass(frozen=True)
class Option:
    kind: type | tuple[type, ...]
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    """Inclusive range of a number."""


_SEVERITIES = tuple(s.label for s in Severity)
_ENDPOINT = "HOST:PORT to listen on"
_ALERTS = AlertPolicy()


def _correlation_options() -> dict[str, Option]:
    """The store options, then every `CorrelationConfig` field with its default and help (its one place)."""
    options = {
        "store": Option(str, "memory", "where the correlation state lives: `memory` (this process) or a redis://, "
                        "rediss:// or unix:// URL that several gateway replicas share"),
        "hmac_key": Option(str, "", "key of the client-address pseudonyms in findings and of every Redis key "
                           "(required with Redis, the same on every replica; empty: random per process)"),
        "key_prefix": Option(str, DEFAULT_PREFIX, "prefix of every Redis key"),
        "max_keys": Option(int, DEFAULT_MAX_KEYS, "memory store: keys kept before the least recently used go"),
        "geoip": Option(bool, True, "add `geo.country.iso_code` from the packaged offline GeoIP database "
                        "(token reuse across countries needs it)"),
    }
    for name, default, help_text in CorrelationConfig.describe():
        if isinstance(default, tuple):
            options[name] = Option(list, list(default), help_text)
        elif isinstance(default, (bool, int)):
            options[name] = Option(type(default), default, help_text)
        else:
            options[name] = Option((int, float), default, help_text)
    return options


COMPONENTS: dict[str, dict[str, dict[str, Option]]] = {
    "receivers": {
        "otlp": {
            "grpc": Option(dict, None, f"OTLP/gRPC receiver: endpoint ({_ENDPOINT}), max_message_bytes, auth, tls, "
                           "connection limit and timeouts"),
            "http": Option(dict, None, f"OTLP/HTTP receiver: endpoint ({_ENDPOINT}), max_body_bytes, auth, tls, "
                           "connection limit and timeouts"),
        },
    },
    "processors": {
        "apisec/enrich": {
            "hmac_key": Option(str, "", "key for pseudonyms; empty: random per process (set one per deployment)"),
            "event_min_severity": Option(str, "info", "lowest severity that also becomes a span event", _SEVERITIES),
            "detectors": Option(list, None, "detector families to run (default all)"),
            "max_body_bytes": Option(int, 65536, "bytes of a body attribute analysed"),
            "time_budget_ms": Option(
                (int, float), 50.0, "analysis CPU time per span (a typical span takes under 1 ms); detectors left when it is "
                "spent are skipped and counted in `otel_apisec_detector_failures_total`, except auth and tokens, which always "
                "run (0: no budget)", bounds=(0, 60_000)),
        },
        "apisec/redact": {
            "blocked_key_patterns": Option(list, [], "RE2 patterns on attribute keys whose values are masked"),
            "allowed_keys": Option(list, None, "when set, span, event, link, log and metric point attributes with "
                                   "other keys are removed (resource and scope attributes are kept)"),
            "value_detectors": Option(bool, True, "run the PII and secret detectors on every string and bytes value, "
                                      "name and key (resource and scope too, text of any length) and mask hits"),
            "hash_keys": Option(list, [], "attribute keys whose values become keyed hashes"),
            "hmac_key": Option(str, "", "key for hash_keys (empty: random per process)"),
        },
        "apisec/correlate": _correlation_options(),
        "apisec/filter": {
            "sample_ratio": Option((int, float), 1.0, "share of traces kept, decided by trace id; spans with a finding "
                                   "(an `apisec.finding` event or non-empty `apisec.findings`) are always kept",
                                   bounds=(0.0, 1.0)),
            "keep_errors": Option(bool, True, "also keep every span with an error status"),
            "hash_seed": Option(int, 0, "seed of the trace-id hash (the Collector's probabilistic sampler, "
                                "`hash_seed` mode): the same on every replica, another on a downstream sampler",
                                bounds=(0, 2**32 - 1)),
        },
    },
    "exporters": {
        "otlp": {
            "endpoint": Option(str, None, "backend URL, e.g. http://collector:4317 (required)"),
            "protocol": Option(str, "grpc", "wire protocol", ("grpc", "http/protobuf")),
            "headers": Option(dict, {}, "extra headers / metadata sent with every request"),
            "timeout_s": Option((int, float), 10.0, "per-request timeout"),
            "queue_size": Option(int, 1000, "requests held in memory before receivers answer 429"),
            "queue_max_bytes": Option(int, 64 << 20, "bytes held in the memory queue before receivers answer 429"),
            "storage": Option(str, None, "directory for a persistent queue (survives restarts and outages)"),
            "storage_max_bytes": Option(int, 1 << 30, "bytes the persistent queue may hold on disk"),
            "fsync": Option(bool, True, "fsync each queued request before acknowledging it "
                            "(off: faster, a crash may lose the last ones)"),
            "compression": Option(str, "none", "request compression", ("none", "gzip")),
            "workers": Option(int, 1, "sender threads", bounds=(1, 64)),
            "max_backoff_s": Option((int, float), 30.0, "longest wait between retries"),
            "max_elapsed_s": Option((int, float), None,
                                    "give up on a request after this long (default: retry until delivered)"),
            "findings_as_logs": Option(bool, True, "also send each `apisec.finding` span event as an OTLP log record "
                                       "(event_name `apisec.finding`, linked to its span)"),
            "tls": Option(dict, None, "for an https:// endpoint: ca_file (trust these CAs instead of the system "
                          "store), cert_file and key_file (a client certificate, for mTLS)"),
        },
        "apisec/findings": {
            "path": Option(str, None, "JSONL file, one finding a line (required)"),
        },
        "apisec/alerts": {
            "receivers": Option(list, None, "where alerts go (required): `{type: alertmanager, url}` (API v2) and/or "
                                "`{type: webhook, url, format: json or slack, headers}`"),
            "min_severity": Option(str, _ALERTS.min_severity.label, "lowest finding severity that raises an alert",
                                   _SEVERITIES),
            "group_by": Option(list, list(_ALERTS.group_by), "record fields that make one incident (empty: rule_id + "
                               "group_key; rule_id + service_name + route for per-span findings)"),
            "repeat_interval_s": Option((int, float), _ALERTS.repeat_interval_s,
                                        "re-send an open alert at most this often, when it saw new findings"),
            "resolve_after_s": Option((int, float), _ALERTS.resolve_after_s, "resolve a group after this long without a finding"),
            "max_groups": Option(int, _ALERTS.max_groups, "open groups kept (the least recently updated is evicted)"),
            "queue_size": Option(int, _ALERTS.queue_size, "alerts waiting per receiver"),
            "retry_for_s": Option((int, float), _ALERTS.retry_for_s, "retry a failing delivery this long"),
            "max_backoff_s": Option((int, float), _ALERTS.max_backoff_s, "longest wait between retries"),
        },
        "apisec/audit": {
            "path": Option(str, None, "the hash-chained JSONL audit log of findings and alerts (required)"),
            "key_env": Option(str, "OTEL_APISEC_AUDIT_KEY", "environment variable holding the HMAC key of the chain "
                              "(unset variable: a plain SHA-256 chain)"),
            "key_file": Option(str, None, "file holding the HMAC key (instead of key_env)"),
            "max_bytes": Option(int, AUDIT_MAX_BYTES, "rotate the file past this size (the chain goes on in the next)"),
            "keep": Option(int, None, "rotated files kept (default: all; deleting old ones cuts the chain's start)"),
            "fsync": Option(bool, False, "fsync every record (slower; survives a power cut)"),
            "min_severity": Option(str, "medium", "lowest finding severity recorded (alerts are always recorded)",
                                   _SEVERITIES),
        },
        "apisec/ocsf": {
            "path": Option(str, None, "JSONL file of OCSF Detection Finding events (this or endpoint)"),
            "endpoint": Option(str, None, "http(s) URL that gets the events as NDJSON batches (this or path)"),
            "headers": Option(dict, {}, "headers sent with every webhook request (credentials go here)"),
            "ca_file": Option(str, None, "PEM bundle to trust for an https endpoint instead of the system store"),
            "batch_size": Option(int, 100, "events per webhook request", bounds=(1, 10_000)),
            "queue_size": Option(int, 10_000, "events waiting for the webhook before new ones are dropped"),
            "validate": Option(bool, False, "check every event against the packaged OCSF schema first "
                               "(needs the `siem` extra; about 1 ms an event)"),
            "min_severity": Option(str, "medium", "lowest finding severity exported", _SEVERITIES),
        },
        "console": {},
    },
}

_PIPELINE_KEYS = ("receivers", "processors", "exporters")
DEFAULT_METRICS_ADDRESS = "127.0.0.1:8888"  # the Collector's own self-metrics port


@dataclass(frozen=True)
class Component:
    id: str
    """`type` or `type/name`, as written in the config."""
    type: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Pipeline:
    name: str
    signal: Signal
    receivers: tuple[str, ...]
    processors: tuple[str, ...]
    exporters: tuple[str, ...]


@dataclass(frozen=True)
class GatewayConfig:
    receivers: dict[str, Component] = field(default_factory=dict)
    processors: dict[str, Component] = field(default_factory=dict)
    exporters: dict[str, Component] = field(default_factory=dict)
    pipelines: tuple[Pipeline, ...] = ()
    metrics_address: str | None = DEFAULT_METRICS_ADDRESS
    """Where the Prometheus `/metrics` endpoint listens (`service.telemetry.metrics.address`); None: off."""


def _type_of(component_id: str, section: str) -> str:
    """`apisec/enrich` is a type; `otlp/backup` is the type `otlp` named `backup`."""
    if component_id in COMPONENTS[section]:
        return component_id
    base = component_id.split("/", 1)[0]
    if base in COMPONENTS[section]:
        return base
    known = ", ".join(sorted(COMPONENTS[section]))
    raise ConfigError(f"{section}.{component_id}: unknown {section[:-1]} type (known: {known})")


def _check_value(path: str, option: Option, value: Any) -> Any:
    if value is None:
        return option.default
    kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(f"{path}: expected {' or '.join(k.__name__ for k in kinds)}, got a boolean")
    if not isinstance(value, kinds):
        raise ConfigError(f"{path}: expected {' or '.join(k.__name__ for k in kinds)}, got {type(value).__name__}")
    if option.choices and value not in option.choices:
        raise ConfigError(f"{path}: {value!r} is not one of {', '.join(option.choices)}")
    if option.bounds and not option.bounds[0] <= value <= option.bounds[1]:  # `not <=`: NaN is out too
        raise ConfigError(f"{path}: {value!r} is outside [{option.bounds[0]}, {option.bounds[1]}]")
    return value


def _component(section: str, component_id: str, raw: Any) -> Component:
    path = f"{section}.{component_id}"
    kind = _type_of(str(component_id), section)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of options, got {type(raw).__name__}")
    schema = COMPONENTS[section][kind]
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        allowed = ", ".join(sorted(schema)) or "none"
        raise ConfigError(f"{path}.{unknown[0]}: unknown option (allowed: {allowed})")
    options = {name: _check_value(f"{path}.{name}", option, raw.get(name)) for name, option in schema.items()}
    for name, option in schema.items():
        if option.default is None and options[name] is None and name in ("endpoint", "path", "receivers") \
                and kind != "apisec/ocsf":
            raise ConfigError(f"{path}.{name}: required")
    check = _SEMANTIC_CHECKS.get(kind)
    if check is not None:
        check(path, options)
    if section == "exporters" and kind == "otlp" and options["tls"] is not None:
        _check_tls(f"{path}.tls", options["tls"], CLIENT_TLS_OPTIONS, required=())
        if not str(options["endpoint"]).startswith(("https://", "grpcs://")):
            raise ConfigError(f"{path}.tls: TLS options need an https:// endpoint, not {options['endpoint']!r}")
    if section == "receivers":
        options = {name: value for name, value in options.items() if value is not None}
        if not options:
            raise ConfigError(f"{path}.protocols: enable at least one of grpc, http")
    return Component(str(component_id), kind, options)


def _check_correlate(path: str, options: dict[str, Any]) -> None:
    store = options["store"]
    if store != "memory" and not store.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{path}.store: expected memory or a redis://, rediss:// or unix:// URL")
    if store != "memory" and not options["hmac_key"]:
        raise ConfigError(f"{path}.hmac_key: required with a Redis store, and the same on every replica "
                          "(Redis keys hold keyed hashes, never client addresses)")
    try:
        correlation_config(options)
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from None


def correlation_config(options: dict[str, Any]) -> CorrelationConfig:
    """The `CorrelationConfig` part of an `apisec/correlate` component's options."""
    return CorrelationConfig.from_mapping({name: options[name] for name, _, _ in CorrelationConfig.describe()})


def _check_alerts(path: str, options: dict[str, Any]) -> None:
    try:
        parse_alerts(options, path)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _check_audit(path: str, options: dict[str, Any]) -> None:
    if options["key_file"] is not None and not Path(options["key_file"]).is_file():
        raise ConfigError(f"{path}.key_file: {options['key_file']}: no such file")
    for name in ("max_bytes", "keep"):
        if options[name] is not None and options[name] < 1:
            raise ConfigError(f"{path}.{name}: must be at least 1")


def _check_ocsf(path: str, options: dict[str, Any]) -> None:
    if (options["path"] is None) == (options["endpoint"] is None):
        raise ConfigError(f"{path}: set exactly one of path (a file) and endpoint (a webhook URL)")
    if options["endpoint"] is not None and not options["endpoint"].startswith(("http://", "https://")):
        raise ConfigError(f"{path}.endpoint: expected an http:// or https:// URL")
    if options["ca_file"] is not None and not Path(options["ca_file"]).is_file():
        raise ConfigError(f"{path}.ca_file: {options['ca_file']}: no such file")


_SEMANTIC_CHECKS = {
    "apisec/correlate": _check_correlate,
    "apisec/alerts": _check_alerts,
    "apisec/audit": _check_audit,
    "apisec/ocsf": _check_ocsf,
}
"""Checks beyond each option's type: across options, and the component's own validation."""


def parse_config(doc: Any) -> GatewayConfig:
    """Validate a loaded YAML document; raise ConfigError naming the first bad key."""
    if not isinstance(doc, Mapping):
        raise ConfigError("config: expected a mapping with receivers, processors, exporters and service")
    unknown = sorted(set(doc) - {"receivers", "processors", "exporters", "service"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown top-level key (allowed: receivers, processors, exporters, service)")
    sections: dict[str, dict[str, Component]] = {}
    for section in ("receivers", "processors", "exporters"):
        raw = doc.get(section) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{section}: expected a mapping of components")
        if section == "receivers":
            # `otlp: {protocols: {...}}` as in the Collector; the protocols key is the only option.
            raw = {cid: _receiver_options(section, cid, value) for cid, value in raw.items()}
        sections[section] = {str(cid): _component(section, str(cid), value) for cid, value in raw.items()}
    service = doc.get("service")
    if not isinstance(service, Mapping) or not isinstance(service.get("pipelines"), Mapping) or not service["pipelines"]:
        raise ConfigError("service.pipelines: required, with at least one pipeline (traces, metrics or logs)")
    unknown = sorted(set(service) - {"pipelines", "telemetry"})
    if unknown:
        raise ConfigError(f"service.{unknown[0]}: unknown key (allowed: pipelines, telemetry)")
    metrics_address = _metrics_address(service.get("telemetry"))
    pipelines = []
    for name, raw in service["pipelines"].items():
        path = f"service.pipelines.{name}"
        try:
            signal = Signal(str(name).split("/", 1)[0])
        except ValueError:
            raise ConfigError(f"{path}: a pipeline is named traces, metrics or logs (optionally /name)") from None
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: expected a mapping with receivers, processors and exporters")
        unknown = sorted(set(raw) - set(_PIPELINE_KEYS))
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]}: unknown key (allowed: {', '.join(_PIPELINE_KEYS)})")
        refs: dict[str, tuple[str, ...]] = {}
        for key in _PIPELINE_KEYS:
            listed = raw.get(key) or []
            if not isinstance(listed, list):
                raise ConfigError(f"{path}.{key}: expected a list of component ids")
            for ref in listed:
                if str(ref) not in sections[key]:
                    raise ConfigError(f"{path}.{key}: {ref!r} is not defined under {key}")
            refs[key] = tuple(str(ref) for ref in listed)
        for key in ("receivers", "exporters"):
            if not refs[key]:
                raise ConfigError(f"{path}.{key}: at least one is required")
        pipelines.append(Pipeline(str(name), signal, refs["receivers"], refs["processors"], refs["exporters"]))
    return GatewayConfig(sections["receivers"], sections["processors"], sections["exporters"], tuple(pipelines),
                         metrics_address)


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
    if address is False:  # YAML 1.1 reads a bare `off` as false
        return None
    if not isinstance(address, str) or (address != "off" and ":" not in address):
        raise ConfigError(f"service.telemetry.metrics.address: expected HOST:PORT or off, got {address!r}")
    return None if address == "off" else address


# Per-protocol defaults of the options whose Option.default is None. An OTLP/HTTP connection holds a thread,
# an OTLP/gRPC one only buffers in gRPC core, so gRPC takes more (an SDK process opens one per signal).
_PROTOCOL_DEFAULTS: dict[str, dict[str, Any]] = {
    "grpc": {"endpoint": "127.0.0.1:4317", "max_connections": 4096},
    "http": {"endpoint": "127.0.0.1:4318", "max_connections": 256},
}
_HTTP_ONLY = ("body_timeout_s",)
_TIMEOUT_BOUNDS = (0.01, 86_400.0)
PROTOCOL_OPTIONS: dict[str, Option] = {
    "endpoint": Option(str, None, f"{_ENDPOINT} (grpc 127.0.0.1:4317, http 127.0.0.1:4318)"),
    "max_message_bytes": Option(int, 16 << 20, "largest request accepted (413 / RESOURCE_EXHAUSTED beyond)"),
    "bearer_token": Option(str, None, "when set, clients must send `Authorization: Bearer <token>`"),
    "tls": Option(dict, None, "cert_file and key_file, and client_ca_file to require client certificates (mTLS)"),
    "max_connections": Option(int, None, "connections open at once (grpc 4096, http 256); past it, http closes its "
                              "longest-idle keep-alive connection to make room, else answers 503 with Retry-After "
                              "without reading the request; grpc closes the new connection", bounds=(1, 1_000_000)),
    # An SDK writes its headers at once; 10 s is also its default export timeout, after which it has given up.
    "header_timeout_s": Option((int, float), 10.0, "the request line and headers must arrive within this, counted "
                               "from the connection (TLS handshake included) or from a keep-alive request's first "
                               "byte; grpc: the TLS and HTTP/2 handshake", bounds=_TIMEOUT_BOUNDS),
    # Three times the SDKs' 10 s export timeout: a body still arriving then belongs to an abandoned request.
    "body_timeout_s": Option((int, float), 30.0, "http only: the whole request body must arrive within this "
                             "(a 16 MiB body needs about 560 KB/s)", bounds=_TIMEOUT_BOUNDS),
    # Above the SDKs' 60 s metric export interval, so a metrics exporter keeps its connection, and above Go's
    # 90 s client idle timeout, so Go clients close first (no race with a request in flight).
    "idle_timeout_s": Option((int, float), 120.0, "a keep-alive connection idle this long between requests is "
                             "closed (grpc: one without RPCs gets a GOAWAY)", bounds=_TIMEOUT_BOUNDS),
}
TLS_OPTIONS = ("cert_file", "key_file", "client_ca_file")
CLIENT_TLS_OPTIONS = ("ca_file", "cert_file", "key_file")


def _check_tls(where: str, tls: Mapping[str, Any], allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    """Known keys, required ones present, cert_file and key_file together, every file readable."""
    bad = sorted(set(tls) - set(allowed))
    if bad:
        raise ConfigError(f"{where}.{bad[0]}: unknown option (allowed: {', '.join(allowed)})")
    for key in required:
        if not isinstance(tls.get(key), str):
            raise ConfigError(f"{where}.{key}: required (a file path)")
    if ("cert_file" in tls) != ("key_file" in tls):
        raise ConfigError(f"{where}: cert_file and key_file go together")
    for key, value in tls.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{key}: expected a file path, got {type(value).__name__}")
        if not Path(value).is_file():
            raise ConfigError(f"{where}.{key}: {value}: no such file")


def _receiver_options(section: str, component_id: Any, value: Any) -> Any:
    """`otlp: {protocols: {grpc: {...}, http: {...}}}` as in the Collector, each protocol checked."""
    path = f"{section}.{component_id}"
    if value is None or not isinstance(value, Mapping):
        return value
    unknown = sorted(set(value) - {"protocols"})
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown option (allowed: protocols)")
    protocols = value.get("protocols") or {}
    if not isinstance(protocols, Mapping):
        raise ConfigError(f"{path}.protocols: expected a mapping of grpc and/or http")
    checked = {}
    for name, raw in protocols.items():
        where = f"{path}.protocols.{name}"
        if name not in _PROTOCOL_DEFAULTS:
            raise ConfigError(f"{where}: unknown protocol (allowed: grpc, http)")
        raw = raw or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: expected a mapping of options")
        allowed = [key for key in PROTOCOL_OPTIONS if name == "http" or key not in _HTTP_ONLY]
        bad = sorted(set(raw) - set(allowed))
        if bad:
            why = "an http option" if bad[0] in _HTTP_ONLY else "unknown option"
            raise ConfigError(f"{where}.{bad[0]}: {why} (allowed: {', '.join(allowed)})")
        options = {key: _check_value(f"{where}.{key}", PROTOCOL_OPTIONS[key], raw.get(key)) for key in allowed}
        for key, default in _PROTOCOL_DEFAULTS[name].items():
            options[key] = options[key] or default
        if options["tls"] is not None:
            _check_tls(f"{where}.tls", options["tls"], TLS_OPTIONS, required=("cert_file", "key_file"))
        checked[name] = options
    return checked


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate a YAML config file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(doc)
