"""The gateway config: collector-shaped YAML, one config class per component type, validated with
errors that name the bad key; `--check-config` runs exactly the validation start-up runs."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_apisec.gateway.api import Signal
from otel_apisec.gateway.components import ConfigError, expand_env
from otel_apisec.gateway.config import load_config, parse_config
from otel_apisec.gateway.factories import EXPORTERS, FACTORIES, PROCESSORS

TESTDATA = Path(__file__).resolve().parents[1] / "testdata" / "gateway"
INVALID = yaml.safe_load((TESTDATA / "config_invalid.yaml").read_text())["cases"]
TEST_ENV = {"APISEC_TEST_KEY": "test-deployment-key", "APISEC_TEST_TOKEN": "test-token"}

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


def check_config(path: Path, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`otel-apisec gateway --check-config PATH`, the real command, with `env` (and never APISEC_TEST_UNDEFINED)."""
    environ = {name: value for name, value in os.environ.items() if name != "APISEC_TEST_UNDEFINED"}
    return subprocess.run([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--check-config", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=cwd, env={**environ, **(env or {})})


class TestCheckConfigCommand:
    @pytest.mark.parametrize("case", sorted(INVALID))
    def test_refuses_each_invalid_case_naming_its_key_path(self, case: str, tmp_path: Path) -> None:
        """Each case of testdata/config_invalid.yaml exits 2 with its message, and creates nothing."""
        spec = INVALID[case]
        config = tmp_path / "gateway.yaml"
        config.write_text(yaml.safe_dump(spec["config"]))
        before = sorted(TESTDATA.iterdir())
        result = check_config(config, cwd=TESTDATA)
        assert result.returncode == 2, result.stdout + result.stderr
        message = result.stderr.split("otel-apisec gateway: invalid config: ", 1)[1]
        assert message.startswith(spec["error"]), message
        assert spec.get("contains", "") in message
        assert sorted(TESTDATA.iterdir()) == before

    def test_the_valid_testdata_config_passes_and_creates_nothing(self, tmp_path: Path) -> None:
        """A check binds no port and creates no file, queue directory or audit log (it builds nothing)."""
        config = tmp_path / "gateway.yaml"
        config.write_text((TESTDATA / "config.yaml").read_text().replace("findings.jsonl", str(tmp_path / "out" / "f.jsonl"))
                          .replace("audit/audit.jsonl", str(tmp_path / "out" / "audit.jsonl"))
                          .replace("ocsf.jsonl", str(tmp_path / "out" / "ocsf.jsonl")))
        result = check_config(config, cwd=tmp_path, env=TEST_ENV)
        assert result.returncode == 0, result.stderr
        assert "valid (1 receivers, 4 processors, 7 exporters, pipelines traces, logs, metrics)" in result.stdout
        assert sorted(p.name for p in tmp_path.iterdir()) == ["gateway.yaml"]

    def test_an_unset_variable_is_refused_and_a_set_one_passes(self, tmp_path: Path) -> None:
        """The secrets of the valid config come from the environment: without them the check fails."""
        result = check_config(TESTDATA / "config.yaml", cwd=tmp_path, env={"APISEC_TEST_KEY": "k"})
        assert result.returncode == 2
        assert "receivers.otlp.protocols.http.bearer_token: environment variable APISEC_TEST_TOKEN is not set" in result.stderr
        assert "test-token" not in result.stderr


class TestValidation:
    def test_a_good_config_fills_defaults(self) -> None:
        """Options left out take the config class's defaults; a protocol listed bare is enabled."""
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
             "processors.apisec/enrich.event_min_severty: unknown option (allowed: detectors, event_min_severity, hmac_key,"),
            (lambda d: d["processors"]["apisec/enrich"].update(event_min_severity="loud"),
             "processors.apisec/enrich.event_min_severity: 'loud' is not one of info"),
            (lambda d: d["processors"]["apisec/enrich"].update(detectors=[]), "processors.apisec/enrich.detectors: empty"),
            (lambda d: d["processors"]["apisec/enrich"].update(max_body_bytes=2 << 20),
             "processors.apisec/enrich.max_body_bytes: 2097152 is outside [1, 1048576]"),
            (lambda d: d["processors"]["apisec/redact"].update(hash_keys="user.id"),
             "processors.apisec/redact.hash_keys: expected list, got str"),
            (lambda d: d["processors"]["apisec/redact"].update(hash_keys=["user.id", 7]),
             "processors.apisec/redact.hash_keys[1]: expected str, got int"),
            (lambda d: d["exporters"]["otlp"].update(timeout_s=True),
             "exporters.otlp.timeout_s: expected int or float, got a boolean"),
            (lambda d: d["exporters"]["otlp"].update(timeout_s=float("inf")), "exporters.otlp.timeout_s: inf is outside"),
            (lambda d: d["exporters"]["otlp"].update(max_backoff_s=0.5), "exporters.otlp.max_backoff_s: 0.5 is outside"),
            (lambda d: d["exporters"]["otlp"].pop("endpoint"), "exporters.otlp.endpoint: required"),
            (lambda d: d["exporters"]["otlp"].update(endpoint="ftp://backend"), "exporters.otlp.endpoint: URL 'ftp://backend'"),
            (lambda d: d["exporters"]["otlp"].update(headers={"bad name": "x"}), "exporters.otlp.headers: "),
            (lambda d: d["exporters"]["otlp"].update(headers=["x"]), "exporters.otlp.headers: expected dict, got list"),
            (lambda d: d["receivers"]["otlp"]["protocols"].update(thrift={}),
             "receivers.otlp.protocols.thrift: unknown protocol"),
            (lambda d: d["receivers"]["otlp"].update(protocol={}),
             "receivers.otlp.protocol: unknown option (allowed: protocols)"),
            (lambda d: d["receivers"]["otlp"].update(protocols={}),
             "receivers.otlp.protocols: enable at least one of grpc, http"),
            (lambda d: d["receivers"]["otlp"]["protocols"]["http"].update(endpoint="localhost"),
             "receivers.otlp.protocols.http.endpoint: expected HOST:PORT, got 'localhost'"),
            (lambda d: d["receivers"]["otlp"]["protocols"]["http"].update(tls={"cert_file": "c"}),
             "receivers.otlp.protocols.http.tls.key_file: required"),
            (lambda d: d["receivers"]["otlp"]["protocols"]["http"].update(tls={"cert_file": "/nope.pem",
                                                                               "key_file": "/nope.key"}),
             "receivers.otlp.protocols.http.tls.cert_file: /nope.pem: no such file"),
            (lambda d: d["exporters"]["otlp"].update(tls={"ca_file": __file__}),
             "exporters.otlp.tls: TLS options need an https:// endpoint"),
            (lambda d: d["exporters"]["otlp"].update(endpoint="https://backend:4317", tls={"ca_fil": __file__}),
             "exporters.otlp.tls.ca_fil: unknown option (allowed: ca_file, cert_file, key_file)"),
            (lambda d: d["exporters"]["otlp"].update(endpoint="https://backend:4317", tls={"cert_file": __file__}),
             "exporters.otlp.tls: cert_file and key_file go together"),
            (lambda d: d["exporters"]["otlp"].update(endpoint="https://backend:4317", tls={"ca_file": __file__}),
             "exporters.otlp.tls: cannot load the TLS files"),
            (lambda d: d["exporters"].update({"apisec/ocsf": {"path": "o.jsonl", "endpoint": "http://siem"}}),
             "exporters.apisec/ocsf: set exactly one of path (a file) and endpoint"),
            (lambda d: d["exporters"].update({"apisec/ocsf": {"endpoint": "http://siem", "ca_file": __file__}}),
             "exporters.apisec/ocsf.ca_file: only for an https endpoint"),
            (lambda d: d["exporters"].update({"apisec/alerts": {"receivers": [{"type": "webhook", "url": "ftp://x"}]}}),
             "exporters.apisec/alerts.receivers[0]: "),
            (lambda d: d["exporters"].update({"apisec/alerts": {"receivers": [{"type": "pager", "url": "http://x"}]}}),
             "exporters.apisec/alerts.receivers[0].type: expected one of"),
            (lambda d: d["exporters"].update({"apisec/audit": {"path": "a.jsonl", "keep": 0}}),
             "exporters.apisec/audit.keep: 0 is outside [1, 1000000]"),
            (lambda d: d["processors"].update({"apisec/correlate": {"cooldown_s": -1}}),
             "processors.apisec/correlate.cooldown_s: -1.0 must be a finite number greater than 0"),
            (lambda d: d["processors"].update({"apisec/correlate": {"store": "redis://h:port/0", "hmac_key": "k"}}),
             "processors.apisec/correlate.store: not a Redis URL"),
            (lambda d: d["processors"].update({"apisec/correlate": {"store": "memcached://h"}}),
             "processors.apisec/correlate.store: expected memory or a redis://"),
            (lambda d: d["service"]["pipelines"]["traces"]["exporters"].append("zipkin"),
             "service.pipelines.traces.exporters: 'zipkin' is not defined under exporters"),
            (lambda d: d["service"]["pipelines"].update(profiles={"receivers": ["otlp"], "exporters": ["otlp"]}),
             "service.pipelines.profiles: a pipeline is named traces, metrics or logs"),
            (lambda d: d["service"]["pipelines"]["logs"].update(exporters=[]), "service.pipelines.logs.exporters: at least one"),
            (lambda d: d["service"].update(telemetry={"metrics": {"address": "0.0.0.0:4318"}}),
             "receivers.otlp.protocols.http.endpoint: 0.0.0.0:4318 is also used by service.telemetry.metrics.address"),
            (lambda d: d.pop("service"), "service.pipelines: required"),
        ],
    )
    def test_errors_name_the_bad_key(self, mutate: Callable[[dict[str, Any]], None], message: str) -> None:
        """Each error starts with the key path of what is wrong."""
        doc = copy.deepcopy(GOOD)
        mutate(doc)
        with pytest.raises(ConfigError) as error:
            parse_config(doc)
        assert str(error.value).startswith(message), str(error.value)

    def test_every_invalid_case_fails_in_process_too(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The table's configs fail `load_config`'s validation in-process with the same messages."""
        monkeypatch.chdir(TESTDATA)
        monkeypatch.delenv("APISEC_TEST_UNDEFINED", raising=False)
        for case, spec in INVALID.items():
            with pytest.raises(ConfigError) as error:
                parse_config(expand_env(spec["config"]))
            assert str(error.value).startswith(spec["error"]), case

    def test_files_bad_yaml_and_missing_files_are_clear(self, tmp_path: Path) -> None:
        """A missing or broken file is a ConfigError saying so."""
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

    def test_the_ocsf_validate_key_keeps_its_name(self) -> None:
        """`apisec/ocsf.validate` still works although the config class calls the field validate_events."""
        doc = copy.deepcopy(GOOD)
        doc["exporters"]["apisec/ocsf"] = {"path": "o.jsonl", "validate": True}
        config = parse_config(doc).exporters["apisec/ocsf"]
        assert config.config.validate_events is True and config.options["validate"] is True


class TestEnvExpansion:
    ENV = {"KEY": "s3cret", "PORT": "4319", "EMPTY": ""}

    @pytest.mark.parametrize(("text", "expanded"), [
        ("${env:KEY}", "s3cret"),
        ("${KEY}", "s3cret"),
        ("Bearer ${env:KEY}!", "Bearer s3cret!"),
        ("${env:EMPTY}", ""),
        ("${env:UNSET:-fallback}", "fallback"),
        ("${env:KEY:-fallback}", "s3cret"),
        ("cost $$5, $${env:KEY}", "cost $5, ${env:KEY}"),
        ("^db\\.statement$", "^db\\.statement$"),
        ("a $ b", "a $ b"),
    ])
    def test_references_and_escapes(self, text: str, expanded: str) -> None:
        """`${env:NAME}` and `${NAME}` are replaced, `$$` is a `$`, any other `$` stays."""
        assert expand_env({"k": text}, self.ENV) == {"k": expanded}

    @pytest.mark.parametrize(("doc", "message"), [
        ({"a": {"b": "${env:UNSET}"}}, "a.b: environment variable UNSET is not set"),
        ({"a": ["ok", "${UNSET}"]}, "a[1]: environment variable UNSET is not set"),
        ({"a": "${file:/run/secret}"}, "a: ${file:/run/secret}: unknown provider 'file' (only env)"),
        ({"a": "${env:KEY"}, "a: an unclosed ${"),
        ({"a": "${1KEY}"}, "a: ${1KEY}: not a variable name"),
    ])
    def test_errors_name_the_key_path(self, doc: dict[str, Any], message: str) -> None:
        """An unset variable, another provider or a broken reference is an error at its key."""
        with pytest.raises(ConfigError) as error:
            expand_env(doc, self.ENV)
        assert str(error.value).startswith(message)

    def test_an_expanded_value_is_typed_like_yaml_and_hidden_in_errors(self) -> None:
        """`${env:PORT}` can fill an int option; a value that does not fit is shown by its reference."""
        doc = copy.deepcopy(GOOD)
        doc["receivers"]["otlp"]["protocols"]["http"]["max_connections"] = "${env:PORT}"
        config = parse_config(expand_env(doc, self.ENV))
        assert config.receivers["otlp"].options["http"]["max_connections"] == 4319
        doc["processors"]["apisec/enrich"]["event_min_severity"] = "${env:KEY}"
        with pytest.raises(ConfigError) as error:
            parse_config(expand_env(doc, self.ENV))
        assert "${env:KEY} is not one of" in str(error.value) and "s3cret" not in str(error.value)

    def test_the_flags_are_not_expanded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A key from OTEL_APISEC_HMAC_KEY is used as it is, `$` and all (only config files are expanded)."""
        from otel_apisec.cli.gateway import HMAC_KEY_ENV, config_from_flags
        from otel_apisec.cli.main import build_parser

        monkeypatch.setenv(HMAC_KEY_ENV, "pa$$${word}")
        config = config_from_flags(build_parser().parse_args(["gateway"]))
        assert config.processors["apisec/enrich"].options["hmac_key"] == "pa$$${word}"


class TestOneSetOfDefaults:
    def test_body_size_and_time_budget_mean_the_same_in_process_and_in_the_gateway(self) -> None:
        """The analysed body size and the time budget come from one constant each."""
        from otel_apisec.detect import DetectConfig
        from otel_apisec.detect.api import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIME_BUDGET_MS
        from otel_apisec.sdk.settings import load_settings

        enrich = PROCESSORS["apisec/enrich"].default_config()
        in_process = load_settings({})
        assert enrich.max_body_bytes == in_process.max_body_bytes == DetectConfig().max_body_bytes == DEFAULT_MAX_BODY_BYTES
        assert enrich.time_budget_ms == in_process.time_budget_ms == DEFAULT_TIME_BUDGET_MS
        assert in_process.detect_config().max_body_bytes == DEFAULT_MAX_BODY_BYTES

    def test_value_detectors_default_on_in_config_and_table(self) -> None:
        """`apisec/redact` masks detected values unless told not to."""
        assert PROCESSORS["apisec/redact"].default_config().value_detectors is True

    def test_detector_names_are_the_catalog_s(self) -> None:
        """The names `apisec/enrich.detectors` and OTEL_APISEC_DETECTORS accept are the detectors that exist."""
        from otel_apisec.detect import catalog
        from otel_apisec.detect.api import DETECTOR_NAMES

        assert set(DETECTOR_NAMES) == {d.name for d in (*catalog.FIELD_DETECTORS, *catalog.EXCHANGE_DETECTORS)}


class TestComponents:
    def test_every_factory_has_a_type_a_default_config_and_a_create_function(self) -> None:
        """A factory's default config is its class's defaults; its type names it in the config."""
        for section, factories in FACTORIES.items():
            for kind, factory in factories.items():
                assert factory.type == kind and callable(factory.create), (section, kind)
                assert isinstance(factory.default_config(), factory.config_class)

    def test_the_testdata_config_starts_and_every_component_speaks_the_protocol(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """What passes the check builds and starts; every component has start, shutdown and numeric stats."""
        from otel_apisec.gateway.service import Gateway

        monkeypatch.chdir(tmp_path)
        config = load_config(TESTDATA / "config.yaml", environ=TEST_ENV)
        gateway = Gateway(config)
        gateway.start()
        try:
            for section, components in gateway.components.items():
                assert set(components) == set(getattr(config, section)), section
                for component in components.values():
                    stats = component.stats()
                    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in stats.values())
            assert [protocol for protocol, _, _ in gateway.receivers["otlp"].addresses()] == ["grpc", "http"]
        finally:
            gateway.shutdown(1.0)
        assert (tmp_path / "audit" / "audit.jsonl").exists()

    def test_self_metrics_read_the_components_through_the_protocol(self, tmp_path: Path) -> None:
        """Exporter, processor and receiver counters reach /metrics from `stats()`."""
        from prometheus_client import CollectorRegistry, generate_latest

        from otel_apisec.gateway.selfmetrics import GatewayCollector
        from otel_apisec.gateway.service import Gateway

        doc = {"receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:0"}}}},
               "processors": {"apisec/filter": {"sample_ratio": 0.5}},
               "exporters": {"otlp": {"endpoint": "http://127.0.0.1:9", "queue_size": 3}},
               "service": {"telemetry": {"metrics": {"address": "off"}}, "pipelines": {
                   "traces": {"receivers": ["otlp"], "processors": ["apisec/filter"], "exporters": ["otlp"]}}}}
        gateway = Gateway(parse_config(doc))
        registry = CollectorRegistry()
        registry.register(GatewayCollector(gateway))
        scrape = generate_latest(registry).decode()
        assert 'otel_apisec_gateway_queue_depth{exporter="otlp"} 0.0' in scrape
        assert 'otel_apisec_gateway_processor_items_total{outcome="kept",processor="apisec/filter"} 0.0' in scrape
        assert 'otel_apisec_gateway_processor_errors_total{processor="apisec/filter"} 0.0' in scrape
        assert 'otel_apisec_gateway_received_items_total{receiver="otlp",signal="traces"} 0.0' in scrape
        assert 'otel_apisec_gateway_refused_connections_total{receiver="otlp"} 0.0' in scrape
        gateway.shutdown(1.0)

    def test_exporter_options_reach_the_exporter_and_its_queue(self, tmp_path: Path) -> None:
        """The otlp exporter is built from its config: backoff, elapsed limit and both queues."""
        from otel_apisec.gateway.service import Gateway

        doc = copy.deepcopy(GOOD)
        doc["receivers"]["otlp"]["protocols"] = {"http": {"endpoint": "127.0.0.1:0"}}
        doc["exporters"]["otlp"].update(max_backoff_s=2, max_elapsed_s=60, queue_size=7, queue_max_bytes=4096)
        doc["exporters"]["otlp/backup"].update(storage=str(tmp_path / "queue"), storage_max_bytes=1 << 20, fsync=False)
        doc["exporters"]["apisec/findings"]["path"] = str(tmp_path / "f.jsonl")
        doc["service"]["telemetry"] = {"metrics": {"address": "off"}}
        gateway = Gateway(parse_config(doc))
        memory, disk = gateway.exporters["otlp"], gateway.exporters["otlp/backup"]
        assert (memory.max_backoff_s, memory.max_elapsed_s) == (2.0, 60.0)
        assert (memory.queue.max_items, memory.queue.max_bytes) == (7, 4096)
        assert disk.queue.persistent and disk.queue.max_bytes == 1 << 20
        disk.queue.close()

    def test_every_exporter_type_is_in_the_table(self) -> None:
        """The registries hold the types the README documents, in its order."""
        assert list(EXPORTERS) == ["otlp", "apisec/findings", "apisec/alerts", "apisec/audit", "apisec/ocsf", "console"]
        assert list(PROCESSORS) == ["apisec/enrich", "apisec/redact", "apisec/filter", "apisec/correlate", "apisec/inventory",
                                   "apisec/crs"]


def test_flags_build_the_correlating_pipeline_and_redis_needs_the_deployment_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The simple flags build enrich, correlate and redact; Redis without OTEL_APISEC_HMAC_KEY is refused."""
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
    assert traces.processors == ("apisec/enrich", "apisec/correlate", "apisec/inventory", "apisec/redact")
    assert set(traces.exporters) == {"otlp", "apisec/alerts", "apisec/audit", "apisec/ocsf"}
    correlate = config.processors["apisec/correlate"].options
    assert (correlate["store"], correlate["hmac_key"]) == ("redis://redis:6379/0", "deployment-key")
    assert config.processors["apisec/enrich"].options["hmac_key"] == "deployment-key"
    assert [r["type"] for r in config.exporters["apisec/alerts"].options["receivers"]] == ["webhook", "alertmanager"]
