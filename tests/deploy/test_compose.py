"""deploy/docker-compose.yaml is checked without starting it (CI has no Docker).

`docker compose config` validates it where the Compose plugin is installed. Everywhere, the file,
interpolated with deploy/.env.example as Compose would, is validated against the Compose
Specification's JSON schema (the copy that the pinned `check-jsonschema` package vendors: nothing is
downloaded at run time). Then checks of our own: pinned images, mounted files that exist, host ports
that don't collide, gateway configs that pass `--check-config` with the compose environment,
Prometheus and the Collector addressing the compose services, and `promtool`/`amtool` on the
Prometheus and Alertmanager configs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
GATEWAY_CONFIG_TARGET = "/etc/otel-apisec/gateway.yaml"
TIMEOUT_S = 60

_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
                       r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as Compose reads an .env file (comments and blank lines skipped)."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line.split('=')[0]!r}"
            env[key.strip()] = value.strip()
    return env


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}, ${VAR:+alt}, ${VAR+alt}; a required variable that is missing raises."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        current = env.get(name)
        present = current is not None and (current != "" or not (op or "").startswith(":"))
        if op in (":?", "?") and not present:
            raise AssertionError(f"${{{name}}} is required: {arg}")
        if op in (":-", "-") and not present:
            return arg
        if op in (":+", "+"):
            return arg if present else ""
        return current or ""

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(env_example: dict[str, str]) -> dict[str, Any]:
    """The compose model as Compose sees it with deploy/.env.example as deploy/.env."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(raw, dict) and raw.get("services"), "docker-compose.yaml: no services"
    model = interpolate(raw, env_example)
    assert isinstance(model, dict)
    return model


def services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def gateways(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from deploy/Dockerfile: the otel-apisec gateway replicas."""
    found = {name: service for name, service in services(compose).items()
             if isinstance(service.get("build"), dict) and service["build"].get("dockerfile") == "deploy/Dockerfile"}
    assert len(found) >= 2, f"expected at least two gateway replicas built from deploy/Dockerfile, got {sorted(found)}"
    return found


def bind_mounts(service: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """(host path, container path) of each bind mount (short syntax `./x:/y[:ro]` or long syntax)."""
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
        else:
            if volume.get("type") != "bind":
                continue
            source, target = volume["source"], volume["target"]
        if source.startswith((".", "/", "~")):
            yield (DEPLOY / source).resolve(), target


def mounted_file(service: Mapping[str, Any], target: str) -> Path:
    for source, mounted_at in bind_mounts(service):
        if mounted_at == target:
            return source
    raise AssertionError(f"nothing is mounted at {target}")


def host_port(mapping: Any) -> tuple[str, str]:
    """(host port, container port) of a `ports` entry (`"8891:8890"`, `"127.0.0.1:80:80"` or long syntax)."""
    if isinstance(mapping, dict):
        return str(mapping.get("published", "")), str(mapping["target"])
    parts = str(mapping).split("/")[0].split(":")
    return (parts[-2], parts[-1]) if len(parts) > 1 else ("", parts[0])


def _compose_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=TIMEOUT_S)
    return result.returncode == 0


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as vendored by the pinned dev dependency check-jsonschema."""
    try:
        schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    except ModuleNotFoundError:
        pytest.fail("check-jsonschema is not installed: `pip install -e '.[dev]'` brings it (it carries the "
                    "Compose Specification's schema); not skipped on purpose")
    schema: dict[str, Any] = json.loads(schema_file.read_text(encoding="utf-8"))
    return schema


def test_docker_compose_config_accepts_the_stack() -> None:
    """Where the Compose plugin is installed, `docker compose config -q` accepts the file with .env.example."""
    if not _compose_available():
        pytest.skip("`docker compose` is not installed (CI has no Docker): the schema test below validates the file")
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
                            capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_the_stack_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    """The interpolated file validates against the Compose Specification's JSON schema."""
    from jsonschema import validators

    schema = compose_schema()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
                                 for error in errors[:20])


def test_a_broken_stack_fails_the_schema_check(compose: dict[str, Any]) -> None:
    """The schema check is not vacuous: a misspelt service key and a wrong type are errors."""
    from jsonschema import validators

    schema = compose_schema()
    broken = json.loads(json.dumps(compose))
    broken["services"]["redis"]["imagee"] = broken["services"]["redis"].pop("image")
    broken["services"]["jaeger"]["ports"] = "16686:16686"
    paths = {tuple(error.absolute_path) for error in validators.validator_for(schema)(schema).iter_errors(broken)}
    assert ("services", "redis") in paths and ("services", "jaeger", "ports") in paths, paths


def test_every_variable_the_stack_uses_is_in_env_example(env_example: dict[str, str]) -> None:
    """Each ${VAR} of docker-compose.yaml has a placeholder in .env.example, and every placeholder is used."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = {match["name"] or match["bare"] for match in _VARIABLE.finditer(text) if not match["escaped"]}
    assert used == set(env_example), (sorted(used - set(env_example)), sorted(set(env_example) - used))
    for key, value in env_example.items():
        assert "replace-me" in value, f".env.example: {key} must hold a placeholder, not a usable secret"


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    """Every image names a version tag (not `latest`, not none); so do the Dockerfile's base images."""
    for name, service in services(compose).items():
        image = service.get("image")
        assert image or service.get("build"), f"{name}: neither image nor build"
        if image is None:
            continue
        reference = image.split("@")[0]
        tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""
        assert "@sha256:" in image or (tag and tag != "latest" and re.search(r"\d", tag)), \
            f"{name}: image {image!r} is not pinned to a version"
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.upper().startswith("FROM "):
            base = line.split()[1]
            assert re.search(r":\S*\d", base) and not base.endswith(":latest"), f"Dockerfile: {base} is not pinned"


def test_every_mounted_file_is_in_the_repository(compose: dict[str, Any]) -> None:
    """Every bind-mounted file or folder, the build context and the Dockerfile exist (a missing source
    would make Docker create an empty directory and the service start without its config)."""
    mounts = 0
    for name, service in services(compose).items():
        for source, _ in bind_mounts(service):
            mounts += 1
            assert source.exists(), f"{name}: mounts {source.relative_to(REPO)}, which is not in the repository"
            assert REPO in source.parents, f"{name}: mounts {source}, outside the repository"
        build = service.get("build")
        if isinstance(build, dict):
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), f"{name}: no {build['dockerfile']} in {context}"
    assert mounts >= 8
    assert (DEPLOY / "grafana" / "provisioning").is_dir() and (DEPLOY / "grafana" / "dashboards").is_dir()


def test_the_build_context_leaves_the_secrets_out() -> None:
    """deploy/Dockerfile.dockerignore admits only what the image needs: never deploy/.env or the venv."""
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "Dockerfile.dockerignore must exclude everything first"
    admitted = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert admitted == {"pyproject.toml", "README.md", "otel_apisec", "deploy/gateway.yaml"}, admitted
    assert ".env" in (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()


def test_host_ports_do_not_collide(compose: dict[str, Any]) -> None:
    """No two services publish the same host port, and the documented ones are where the README says."""
    published: dict[str, str] = {}
    for name, service in services(compose).items():
        for mapping in service.get("ports", []):
            port, _ = host_port(mapping)
            if port:
                assert port not in published, f"host port {port}: {published[port]} and {name}"
                published[port] = name
    expected = {"4317": "collector", "4318": "collector", "16686": "jaeger", "9090": "prometheus",
                "9093": "alertmanager", "3000": "grafana"}
    assert {port: published.get(port) for port in expected} == expected
    console_ports = {host_port(mapping) for service in gateways(compose).values() for mapping in service.get("ports", [])}
    assert ("8890", "8890") in console_ports, "the first gateway's console is on http://localhost:8890"


def _gateway_config(service: Mapping[str, Any]) -> tuple[Path, dict[str, Any]]:
    path = mounted_file(service, GATEWAY_CONFIG_TARGET)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return path, doc


def test_the_gateways_configs_pass_check_config(compose: dict[str, Any], tmp_path: Path) -> None:
    """Each replica's mounted config passes `otel-apisec gateway --check-config` in the replica's
    compose environment (the secrets from .env.example): a key missing from .env.example fails here."""
    checked = set()
    for name, service in gateways(compose).items():
        path, _ = _gateway_config(service)
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        assert set(environment) >= {"OTEL_APISEC_HMAC_KEY", "OTEL_APISEC_AUDIT_KEY", "OTEL_APISEC_CONSOLE_TOKEN"}
        if path in checked:
            continue
        checked.add(path)
        env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_APISEC_")}
        env.update({key: str(value) for key, value in environment.items()})
        result = subprocess.run([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--check-config", str(path)],
                                capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path, env=env)
        assert result.returncode == 0, (name, path.name, result.stderr)
    assert checked


def test_the_gateways_reach_the_compose_services(compose: dict[str, Any]) -> None:
    """The gateways' Redis, backend and Alertmanager hosts are compose services, as is the console's
    trace link's host as seen from the user's browser (Jaeger's UI port published on localhost)."""
    names = set(services(compose))
    for name, service in gateways(compose).items():
        _, doc = _gateway_config(service)
        hosts = {urlsplit(doc["processors"][key]["store"]).hostname for key in ("apisec/correlate", "apisec/inventory")}
        hosts.add(urlsplit(doc["exporters"]["otlp"]["endpoint"]).hostname)
        hosts |= {urlsplit(receiver["url"]).hostname for receiver in doc["exporters"]["apisec/alerts"]["receivers"]}
        assert hosts <= names, f"{name}: {sorted(hosts - names)} are not compose services"
        trace_url = urlsplit(doc["service"]["console"]["trace_url"].replace("{trace_id}", "x"))
        assert trace_url.hostname == "localhost" and str(trace_url.port) in {
            host_port(mapping)[0] for mapping in services(compose)["jaeger"]["ports"]}


def test_prometheus_scrapes_both_gateways(compose: dict[str, Any]) -> None:
    """prometheus.yml's targets are compose services; each gateway's metrics address is scraped; the rule
    file and Alertmanager are where the compose file puts them."""
    prometheus = services(compose)["prometheus"]
    config_path = mounted_file(prometheus, "/etc/prometheus/prometheus.yml")
    assert config_path == DEPLOY / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    targets = {target for job in config["scrape_configs"] for static in job.get("static_configs", [])
               for target in static["targets"]}
    names = set(services(compose)) | {"localhost"}
    assert {target.rsplit(":", 1)[0] for target in targets} <= names, targets
    for name, service in gateways(compose).items():
        _, doc = _gateway_config(service)
        port = doc["service"]["telemetry"]["metrics"]["address"].rsplit(":", 1)[1]
        assert f"{name}:{port}" in targets, f"Prometheus does not scrape {name}:{port}"
    for rule_file in config["rule_files"]:
        in_container = str(Path("/etc/prometheus") / rule_file)
        assert mounted_file(prometheus, in_container) == config_path.parent / rule_file
    alertmanagers = {target for manager in config["alerting"]["alertmanagers"]
                     for static in manager["static_configs"] for target in static["targets"]}
    assert alertmanagers == {"alertmanager:9093"} and "alertmanager" in names


def test_the_collector_balances_over_both_gateways(compose: dict[str, Any]) -> None:
    """The Collector runs deploy/collector-loadbalancer.yaml unchanged: its DNS resolver's hostname is a
    network alias of every gateway replica, and its port is the gateways' OTLP gRPC port."""
    collector = services(compose)["collector"]
    config_path = mounted_file(collector, "/etc/otelcol-contrib/config.yaml")
    assert config_path == DEPLOY / "collector-loadbalancer.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    resolver = config["exporters"]["loadbalancing"]["resolver"]
    if "dns" in resolver:
        for name, service in gateways(compose).items():
            aliases = service["networks"]["default"]["aliases"]
            assert resolver["dns"]["hostname"] in aliases, f"{name} is not behind {resolver['dns']['hostname']}"
            _, doc = _gateway_config(service)
            assert doc["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(f":{resolver['dns']['port']}")
    else:
        hostnames = {hostname.rsplit(":", 1)[0] for hostname in resolver["static"]["hostnames"]}
        assert hostnames == set(gateways(compose))


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: install Debian's `{package}` (`.ci/run` does); not skipped on purpose")
    return path


def test_promtool_accepts_the_prometheus_config() -> None:
    """`promtool check config` accepts prometheus.yml and the rule file it loads."""
    promtool = _tool("promtool", "prometheus")
    result = subprocess.run([promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_accepts_the_alertmanager_config() -> None:
    """`amtool check-config` accepts alertmanager.yml."""
    amtool = _tool("amtool", "prometheus-alertmanager")
    result = subprocess.run([amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")],
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_data_sources_name_compose_services(compose: dict[str, Any]) -> None:
    """Every provisioned Grafana data source URL points at a compose service's container port."""
    grafana = services(compose)["grafana"]
    provisioning = mounted_file(grafana, "/etc/grafana/provisioning")
    names = set(services(compose))
    urls = [source["url"] for path in sorted((provisioning / "datasources").glob("*.y*ml"))
            for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("datasources", [])
            if "url" in source]
    assert urls, "no Grafana data source is provisioned"
    for url in urls:
        assert urlsplit(url).hostname in names, f"Grafana data source {url}: not a compose service"
