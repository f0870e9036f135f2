"""The gateway config: collector-shaped YAML, validated with errors that name the bad key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.config import ConfigError, load_config, parse_config

GOOD = {
    "receivers": {"otlp": {"protocols": {"grpc": None, "http": {"endpoint": "0.0.0.0:4318", "bearer_token": "t"}}}},
    "processors": {"apisec/enrich": {"event_min_severity": "medium"}, "apisec/redact": {"hash_keys": ["user.id"]}},
    "exporters": {"otlp": {"endpoint": "http://backend:4317"}, "otlp/backup": {"endpoint": "http://b:4318",
                  "protocol": "http/protobuf", "storage": "/var/lib/apisec/queue"}, "apisec/findings": {"path": "f.jsonl"}},
    "service": {"pipelines": {
        "traces": {"receivers": ["otlp"], "processors": ["apisec/enrich", "apisec/redact"],
                   "exporters": ["otlp", "otlp/backup", "apisec/findings"]},
        "logs": {"receivers": ["otlp"], "processors": ["apisec/redact"], "exporters": ["otlp"]},
    }},
}


def test_a_good_config_fills_defaults() -> None:
    config = parse_config(GOOD)
    grpc, http = config.receivers["otlp"].options["grpc"], config.receivers["otlp"].options["http"]
    assert grpc["endpoint"] == "127.0.0.1:4317" and http["endpoint"] == "0.0.0.0:4318"
    assert http["bearer_token"] == "t" and grpc["max_message_bytes"] == 16 << 20
    assert config.exporters["otlp/backup"].type == "otlp"
    assert config.exporters["otlp"].options["protocol"] == "grpc"
    assert [(p.name, p.signal) for p in config.pipelines] == [("traces", Signal.TRACES), ("logs", Signal.LOGS)]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(extensions={}), "extensions: unknown top-level key"),
        (lambda d: d["processors"].update(batch={}), "processors.batch: unknown processor type"),
        (lambda d: d["processors"]["apisec/enrich"].update(event_min_severty="low"),
         "processors.apisec/enrich.event_min_severty: unknown option"),
        (lambda d: d["processors"]["apisec/enrich"].update(event_min_severity="loud"),
         "processors.apisec/enrich.event_min_severity: 'loud' is not one of info"),
        (lambda d: d["processors"]["apisec/redact"].update(value_detectors="yes"),
         "processors.apisec/redact.value_detectors: expected bool, got str"),
        (lambda d: d["exporters"]["otlp"].update(timeout_s=True),
         "exporters.otlp.timeout_s: expected int or float, got a boolean"),
        (lambda d: d["exporters"]["otlp"].pop("endpoint"), "exporters.otlp.endpoint: required"),
        (lambda d: d["receivers"]["otlp"]["protocols"].update(thrift={}), "receivers.otlp.protocols.thrift: unknown protocol"),
        (lambda d: d["receivers"]["otlp"]["protocols"]["http"].update(tls={"cert_file": "c"}),
         "receivers.otlp.protocols.http.tls.key_file: required"),
        (lambda d: d["receivers"]["otlp"]["protocols"]["http"].update(tls={"cert_file": "/nope.pem", "key_file": "/nope.key"}),
         "receivers.otlp.protocols.http.tls.cert_file: /nope.pem: no such file"),
        (lambda d: d["exporters"]["otlp"].update(tls={"ca_file": __file__}),
         "exporters.otlp.tls: TLS options need an https:// endpoint"),
        (lambda d: d["exporters"]["otlp"].update(endpoint="https://backend:4317", tls={"ca_fil": __file__}),
         "exporters.otlp.tls.ca_fil: unknown option (allowed: ca_file, cert_file, key_file)"),
        (lambda d: d["exporters"]["otlp"].update(endpoint="https://backend:4317", tls={"cert_file": __file__}),
         "exporters.otlp.tls: cert_file and key_file go together"),
        (lambda d: d["service"]["pipelines"]["traces"]["exporters"].append("zipkin"),
         "service.pipelines.traces.exporters: 'zipkin' is not defined under exporters"),
        (lambda d: d["service"]["pipelines"].update(profiles={"receivers": ["otlp"], "exporters": ["otlp"]}),
         "service.pipelines.profiles: a pipeline is named traces, metrics or logs"),
        (lambda d: d["service"]["pipelines"]["logs"].update(exporters=[]), "service.pipelines.logs.exporters: at least one"),
        (lambda d: d.pop("service"), "service.pipelines: required"),
    ],
)
def test_errors_name_the_bad_key(mutate: Callable[[dict], None], message: str) -> None:
    doc = copy.deepcopy(GOOD)
    mutate(doc)
    with pytest.raises(ConfigError) as error:
        parse_config(doc)
    assert str(error.value).startswith(message)


def test_files_bad_yaml_and_missing_files_are_clear(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="cannot read .*nope.yaml"):
        load_config(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("receivers: [otlp\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    good = tmp_path / "good.yaml"
    good.write_text("receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {console: {}}\n"
                    "service: {pipelines: {traces: {receivers: [otlp], exporters: [console]}}}\n")
    assert load_config(good).pipelines[0].exporters == ("console",)


def test_exporter_options_reach_the_exporter_and_its_queue(tmp_path: Path) -> None:
    from otel_apisec.gateway.service import Gateway

    doc = copy.deepcopy(GOOD)
    doc["receivers"]["otlp"]["protocols"] = {"http": {"endpoint": "127.0.0.1:0"}}
    doc["exporters"]["otlp"].update(max_backoff_s=2, max_elapsed_s=60, queue_size=7, queue_max_bytes=4096)
    doc["exporters"]["otlp/backup"].update(storage=str(tmp_path / "queue"), storage_max_bytes=1 << 20, fsync=False)
    doc["service"]["telemetry"] = {"metrics": {"address": "off"}}
    gateway = Gateway(parse_config(doc))
    memory, disk = gateway.exporters["otlp"], gateway.exporters["otlp/backup"]
    assert (memory.max_backoff_s, memory.max_elapsed_s) == (2.0, 60.0)
    assert (memory.queue.max_items, memory.queue.max_bytes) == (7, 4096)
    assert disk.queue.persistent and disk.queue.max_bytes == 1 << 20
    disk.queue.close()


def test_flags_build_the_correlating_pipeline_and_redis_needs_the_deployment_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otel_apisec.cli.gateway import HMAC_KEY_ENV, config_from_flags
    from otel_apisec.cli.main import build_parser

    args = build_parser().parse_args([
        "gateway", "--forward", "http://tempo:4317", "--state-store", "redis://redis:6379/0",
        "--alertmanager", "http://am:9093", "--alert-webhook", "http://hook/a", "--audit-log", str(tmp_path / "a.jsonl"),
        "--ocsf-file", str(tmp_path / "o.jsonl"),
    ])
    monkeypatch.delenv(HMAC_KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"--state-store redis://...: set {HMAC_KEY_ENV}"):
        config_from_flags(args)
    monkeypatch.setenv(HMAC_KEY_ENV, "deployment-key")
    config = config_from_flags(args)
    traces = next(p for p in config.pipelines if p.name == "traces")
    assert traces.processors == ("apisec/enrich", "apisec/correlate", "apisec/redact")
    assert set(traces.exporters) == {"otlp", "apisec/alerts", "apisec/audit", "apisec/ocsf"}
    correlate = config.processors["apisec/correlate"].options
    assert (correlate["store"], correlate["hmac_key"]) == ("redis://redis:6379/0", "deployment-key")
    assert config.processors["apisec/enrich"].options["hmac_key"] == "deployment-key"
    assert [r["type"] for r in config.exporters["apisec/alerts"].options["receivers"]] == ["webhook", "alertmanager"]
