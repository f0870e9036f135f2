"""The README documents what the code does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from otel_apisec.detect import DetectConfig

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


class TestReadme:
    def test_every_config_field_is_documented(self) -> None:
        """The README's settings table has one row per DetectConfig field, and no stale rows."""
        section = README.split("### Detection settings", 1)[1].split("\n## ", 1)[0]
        rows = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
        assert rows == {f.name for f in dataclasses.fields(DetectConfig)}

    def test_readme_starts_with_demo_and_test(self) -> None:
        """The first two commands are `make demo` and `make test`."""
        commands = [line.split("#")[0].strip() for line in README.splitlines() if line.startswith("make ")]
        assert commands[:2] == ["make demo", "make test"]

    def test_library_example_runs(self) -> None:
        """The README's Python example runs as written and finds the SQL injection it shows."""
        block = README.split("## Use it as a library", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)  # our own README
        assert any(f.kind == "sqli" for f in namespace["analysis"].findings)

    def test_every_attribute_name_is_documented(self) -> None:
        """Each attribute name in otel_apisec.attributes appears in the README's schema section."""
        from otel_apisec import attributes

        section = README.split("### Span attributes and finding events", 1)[1].split("\n### ", 1)[0]
        names = {v for k, v in vars(attributes).items() if k.isupper() and isinstance(v, str)}
        assert {n for n in names if f"`{n}`" not in section} == set()


def test_every_apisec_setting_is_documented_with_its_default() -> None:
    """The README's OTEL_APISEC_* table is SETTINGS, row for row."""
    from otel_apisec.sdk.settings import SETTINGS

    section = README.split("### Settings (`OTEL_APISEC_*`)", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    documented = [(env.strip(" `"), default.strip(" `").replace("empty", "")) for env, default in rows]
    assert documented == [(s.env, s.default) for s in SETTINGS]


def _gateway_section() -> str:
    return README.split("## Gateway: spans from any language", 1)[1].split("\n## ", 1)[0]


def test_gateway_config_example_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path],
) -> None:
    """The README's gateway YAML passes the same validation as `--check-config`, its secrets from the environment."""
    import yaml

    from otel_apisec.gateway.components import expand_env
    from otel_apisec.gateway.config import parse_config

    cert, key = certificate  # validation loads the TLS files
    for name, source in (("gw.crt", cert), ("gw.key", key), ("ca.pem", cert)):
        (tmp_path / name).write_bytes(source.read_bytes())
    monkeypatch.chdir(tmp_path)
    doc = yaml.safe_load(_gateway_section().split("```yaml\n", 1)[1].split("```", 1)[0])
    environ = {"OTEL_APISEC_HMAC_KEY": "k", "OTLP_TOKEN": "t"}
    config = parse_config(expand_env(doc, environ))
    assert config.processors["apisec/enrich"].options["hmac_key"] == "k"


def test_gateway_options_table_is_rendered_from_the_config_classes() -> None:
    """The README's gateway options table is `options_table()`, row for row (regenerate it with
    `python -m otel_apisec.gateway.docs`)."""
    from otel_apisec.gateway.docs import options_table

    section = _gateway_section()
    start = section.index("| section | component | option | meaning |")
    documented = section[start:].split("\n\n", 1)[0] + "\n"
    assert documented == options_table()


def test_the_deploy_gateway_configs_pass_check_config(tmp_path: Path) -> None:
    """Every deploy/*.yaml of ours passes `otel-apisec gateway --check-config` (the Collector's own
    config, collector-loadbalancer.yaml, and the compose file are not gateway configs)."""
    import os
    import subprocess
    import sys

    deploy = Path(__file__).resolve().parents[1] / "deploy"
    configs = [path for path in sorted(deploy.glob("*.yaml")) if not path.name.startswith(("collector-", "docker-compose"))]
    assert configs
    env = {**os.environ, "OTEL_APISEC_HMAC_KEY": "deployment-key", "OTEL_APISEC_AUDIT_KEY": "a" * 32,
           "OTEL_APISEC_CONSOLE_TOKEN": "console-token"}
    for config in configs:
        result = subprocess.run([sys.executable, "-m", "otel_apisec.cli.main", "gateway", "--check-config", str(config)],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
        assert result.returncode == 0, (config.name, result.stderr)


def test_the_deploy_gateway_config_builds_the_production_pipeline() -> None:
    """deploy/gateway.yaml correlates and keeps the inventory in Redis and samples, with its keys from the environment."""
    from otel_apisec.gateway.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "deploy" / "gateway.yaml",
                         environ={"OTEL_APISEC_HMAC_KEY": "deployment-key", "OTEL_APISEC_CONSOLE_TOKEN": "t"})
    traces = next(p for p in config.pipelines if p.name == "traces")
    assert traces.processors == ("apisec/enrich", "apisec/correlate", "apisec/inventory", "apisec/redact", "apisec/filter")
    assert config.processors["apisec/correlate"].options["store"].startswith("redis://")
    assert config.processors["apisec/inventory"].options["store"].startswith("redis://")
    assert config.processors["apisec/correlate"].options["hmac_key"] == "deployment-key"


def test_governance_checks_table_is_rendered_from_the_check_table() -> None:
    """The README's table of governance checks is `checks.markdown_table()`, row for row."""
    from otel_apisec.estate.checks import markdown_table

    assert markdown_table() in README
