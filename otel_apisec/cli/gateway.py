"""`otel-apisec gateway`: flags for the common case, `--config` for the rest, `--check-config`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import IO, Any

from otel_apisec.gateway.config import ConfigError, GatewayConfig, is_loopback, load_config, parse_config
from otel_apisec.gateway.receivers.otlp.base import parse_endpoint

__all__ = ["CONSOLE_TOKEN_ENV", "HMAC_KEY_ENV", "add_gateway_parser", "config_from_flags", "run_gateway"]

HMAC_KEY_ENV = "OTEL_APISEC_HMAC_KEY"
"""The deployment's pseudonym key in flag mode: the same variable in-process enrichment reads."""
CONSOLE_TOKEN_ENV = "OTEL_APISEC_CONSOLE_TOKEN"
"""The console's bearer token in flag mode (required when --console is not loopback)."""

_DESCRIPTION = """\
Receive OTLP (gRPC and HTTP) from any OpenTelemetry SDK or Collector, enrich the HTTP server
spans that arrive without apisec.* attributes, find attacks across requests (brute force,
enumeration, token reuse, ...), mask what must not be stored, and forward everything to an
OTLP backend. Principals, tokens and client addresses leave it as keyed hashes: set
OTEL_APISEC_HMAC_KEY to one key per deployment (the same on every replica; unset, a random key
per process).

examples:
  otel-apisec gateway --forward http://jaeger:4317
  otel-apisec gateway --forward https://otlp.example.com --forward-protocol http/protobuf
  otel-apisec gateway --findings-file findings.jsonl             # console output, findings to a file
  otel-apisec gateway --forward http://tempo:4317 --alertmanager http://alertmanager:9093
  OTEL_APISEC_HMAC_KEY=... otel-apisec gateway --forward http://tempo:4317 --state-store redis://redis:6379/0
  otel-apisec gateway --config gateway.yaml
  otel-apisec gateway --check-config gateway.yaml
"""


def add_gateway_parser(commands: Any) -> None:
    gateway = commands.add_parser("gateway", help="run the OTLP security gateway", description=_DESCRIPTION,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    gateway.add_argument("--grpc-endpoint", metavar="HOST:PORT", default="127.0.0.1:4317",
                         help="OTLP/gRPC receiver (default: 127.0.0.1:4317)")
    gateway.add_argument("--http-endpoint", metavar="HOST:PORT", default="127.0.0.1:4318",
                         help="OTLP/HTTP receiver (default: 127.0.0.1:4318)")
    gateway.add_argument("--forward", metavar="URL", help="OTLP endpoint to forward to (default: print spans to the console)")
    gateway.add_argument("--forward-protocol", choices=("grpc", "http/protobuf"), default="grpc",
                         help="protocol for --forward (default: grpc)")
    gateway.add_argument("--findings-file", metavar="PATH", help="also write every finding to PATH, one JSON line each")
    gateway.add_argument("--state-store", metavar="memory|URL", default="memory",
                         help="correlation state: memory, or a redis:// URL shared by replicas (default: memory)")
    gateway.add_argument("--alertmanager", metavar="URL", help="send alerts to this Prometheus Alertmanager (API v2)")
    gateway.add_argument("--alert-webhook", metavar="URL", action="append", default=[],
                         help="POST alerts as JSON to URL (repeatable)")
    gateway.add_argument("--audit-log", metavar="PATH",
                         help="hash-chained audit log of findings and alerts (HMAC key from $OTEL_APISEC_AUDIT_KEY)")
    gateway.add_argument("--ocsf-file", metavar="PATH", help="findings as OCSF Detection Finding events, one JSON line each")
    gateway.add_argument("--metrics-endpoint", metavar="HOST:PORT", default="127.0.0.1:8888",
                         help="Prometheus /metrics of the gateway itself, or off (default: 127.0.0.1:8888)")
    gateway.add_argument("--console", metavar="HOST:PORT", default="127.0.0.1:8890",
                         help="console JSON API (/api/v1/inventory, governance, findings, incidents), or off; "
                              f"off loopback it needs a bearer token in ${CONSOLE_TOKEN_ENV} (default: 127.0.0.1:8890)")
    gateway.add_argument("--spec", metavar="SERVICE=FILE", action="append", default=[],
                         help="OpenAPI document of SERVICE, for the inventory's drift classes (repeatable)")
    gateway.add_argument("--inventory-file", metavar="PATH",
                         help="save the API inventory to PATH every minute and at shutdown, load it at start "
                              "(memory state store; with Redis the inventory lives in Redis)")
    gateway.add_argument("--crs", metavar="RULES_DIR", nargs="?", const="", default=None,
                         help="also run the OWASP Core Rule Set in ModSecurity over each request (needs the `crs` "
                              "extra; RULES_DIR: a CRS `rules` directory, default Debian's modsecurity-crs)")
    gateway.add_argument("--config", metavar="FILE", help="pipeline config (YAML, shaped like a Collector config)")
    gateway.add_argument("--check-config", metavar="FILE", help="validate FILE and exit (0 valid, 2 invalid)")


def config_from_flags(args: argparse.Namespace) -> GatewayConfig:
    """The pipeline the simple flags describe: enrich, correlate and redact traces, redact logs,
    pass metrics; findings to the optional files, alerts and audit log."""
    exporters: dict[str, Any] = {}
    if args.forward:
        exporters["otlp"] = {"endpoint": args.forward, "protocol": args.forward_protocol}
    else:
        exporters["console"] = {}
    forward = list(exporters)
    if args.findings_file:
        exporters["apisec/findings"] = {"path": args.findings_file}
    key = os.environ.get(HMAC_KEY_ENV, "")
    if args.state_store != "memory" and not key:
        raise ConfigError(f"--state-store {args.state_store.split('://', 1)[0]}://...: set {HMAC_KEY_ENV} to the "
                          "deployment's key, the same on every replica (Redis holds only keyed hashes)")
    alert_receivers = [{"type": "webhook", "url": url} for url in args.alert_webhook]
    if args.alertmanager:
        alert_receivers.append({"type": "alertmanager", "url": args.alertmanager})
    if alert_receivers:
        exporters["apisec/alerts"] = {"receivers": alert_receivers}
    if args.audit_log:
        exporters["apisec/audit"] = {"path": args.audit_log}
    if args.ocsf_file:
        exporters["apisec/ocsf"] = {"path": args.ocsf_file}
    receivers = ["otlp"]
    processors: dict[str, Any] = {"apisec/enrich": {"hmac_key": key}}
    crs = getattr(args, "crs", None)
    if crs is not None:
        processors["apisec/crs"] = {"rules_dir": crs}
    processors.update({"apisec/correlate": {"store": args.state_store, "hmac_key": key},
                       "apisec/inventory": _inventory_options(args), "apisec/redact": {}})
    doc = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": args.grpc_endpoint},
                                             "http": {"endpoint": args.http_endpoint}}}},
        "processors": processors,
        "exporters": exporters,
        "service": {"telemetry": {"metrics": {"address": args.metrics_endpoint}}, "console": _console(args), "pipelines": {
            "traces": {"receivers": receivers, "processors": list(processors),
                       "exporters": list(exporters)},
            "metrics": {"receivers": receivers, "processors": ["apisec/redact"], "exporters": forward},
            "logs": {"receivers": receivers, "processors": ["apisec/redact"], "exporters": forward},
        }},
    }
    return parse_config(doc)


def _console(args: argparse.Namespace) -> dict[str, Any]:
    console: dict[str, Any] = {"address": args.console}
    if os.environ.get(CONSOLE_TOKEN_ENV):
        console["bearer_token"] = os.environ[CONSOLE_TOKEN_ENV]
    elif args.console != "off":  # say it in flag terms (the config's message names the YAML key)
        try:
            host = parse_endpoint(args.console)[0]
        except ValueError:
            host = "127.0.0.1"  # console_config reports the bad address
        if not is_loopback(host):
            raise ConfigError(f"--console {args.console} is not loopback: set {CONSOLE_TOKEN_ENV} to the console's "
                              "bearer token, or listen on 127.0.0.1")
    return console


def _inventory_options(args: argparse.Namespace) -> dict[str, Any]:
    """`apisec/inventory` in flag mode: in the state store, persisted to `--inventory-file`, with the `--spec`s."""
    specs: dict[str, str] = {}
    for given in getattr(args, "spec", None) or []:
        service, sep, file = given.partition("=")
        if not sep or not service.strip() or not file.strip():
            raise ConfigError(f"--spec {given}: expected SERVICE=FILE")
        specs[service.strip()] = file.strip()
    options: dict[str, Any] = {"store": args.state_store, "specs": specs}
    if getattr(args, "inventory_file", None):
        options["persist_path"] = args.inventory_file
    return options


def run_gateway(args: argparse.Namespace, out: IO[str] = sys.stdout, err: IO[str] = sys.stderr) -> int:
    try:  # `--check-config` and `--config` run the same `load_config`: what passes one passes the other
        if args.check_config:
            config = load_config(args.check_config)
            print(f"{args.check_config}: valid ({len(config.receivers)} receivers, {len(config.processors)} processors, "
                  f"{len(config.exporters)} exporters, pipelines {', '.join(p.name for p in config.pipelines)})", file=out)
            return 0
        config = load_config(args.config) if args.config else config_from_flags(args)
    except ConfigError as exc:
        print(f"otel-apisec gateway: invalid config: {exc}", file=err)
        return 2
    from otel_apisec.audit.chain import AuditLogError
    from otel_apisec.gateway.service import Gateway  # grpc and friends load only when serving

    try:
        gateway = Gateway(config)
    except (OSError, RuntimeError, ValueError, AuditLogError) as exc:
        # Not the config (load_config passed it): an unwritable or tampered audit log, a queue another process holds.
        print(f"otel-apisec gateway: cannot start: {exc}", file=err)
        return 2
    try:
        gateway.start()
    except OSError as exc:
        print(f"otel-apisec gateway: cannot listen: {exc}", file=err)
        gateway.shutdown(1.0)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    addresses = ", ".join(f"{protocol} {host}:{port}" for receiver in gateway.receivers.values()
                          for protocol, host, port in receiver.addresses())
    if gateway.metrics_server is not None:
        host, port = gateway.metrics_server.server_address[:2]
        addresses += f", metrics http://{host}:{port}/metrics"
    if gateway.console_server is not None:
        host, port = gateway.console_server.server_address
        addresses += f", console http://{host}:{port}/api/v1/"
    print(f"otel-apisec gateway listening: {addresses}", file=err, flush=True)
    stop.wait()
    print("otel-apisec gateway: draining queues", file=err, flush=True)
    gateway.shutdown()
    return 0
