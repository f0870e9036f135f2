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
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
        assert any(f.kind == "sqli" for f in namespace["analysis"].findings)  # type: ignore[attr-defined]

    def test_every_attribute_name_is_documented(self) -> None:
        """Each attribute name in otel_apisec.attributes appears in the README's schema section."""
        from otel_apisec import attributes

        section = README.split("### Span attributes and finding events", 1)[1].split("\n### ", 1)[0]
        names = {v for k, v in vars(attributes).items() if k.isupper() and isinstance(v, str)}
        assert {n for n in names if f"`{n}`" not in section} == set()


def test_every_apisec_setting_is_documented_with_its_default() -> None:
    """The README's OTEL_APISEC_* table is SETTINGS, row for row."""
    from otel_apisec.settings import SETTINGS

    section = README.split("### Settings (`OTEL_APISEC_*`)", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    documented = [(env.strip(" `"), default.strip(" `").replace("empty", "")) for env, default in rows]
    assert documented == [(s.env, s.default) for s in SETTINGS]


def test_gateway_config_example_is_valid_and_every_option_is_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's gateway YAML passes validation, and its options table covers every option."""
    import yaml

    from otel_apisec.gateway.config import COMPONENTS, PROTOCOL_OPTIONS, parse_config

    section = README.split("## Gateway: spans from any language", 1)[1].split("\n## ", 1)[0]
    for name in ("gw.crt", "gw.key", "ca.pem"):  # validation checks that TLS files exist
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    parse_config(yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0]))
    rows = {(line.split("|")[2].strip().split("`")[1], line.split("|")[3].strip(" `"))
            for line in section.splitlines() if line.startswith("| ") and line.count("|") >= 5 and "`" in line.split("|")[2]}
    expected = {(kind, name) for types in COMPONENTS.values() for kind, options in types.items() for name in options}
    expected = {(kind, name) for kind, name in expected if kind != "otlp" or name not in ("grpc", "http")}
    expected |= {("otlp", name) for name in PROTOCOL_OPTIONS} | {("console", "")}
    assert rows == expected


def test_the_deploy_gateway_config_is_valid() -> None:
    """deploy/gateway.yaml passes the same validation as `otel-apisec gateway --check-config`."""
    from otel_apisec.gateway.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "deploy" / "gateway.yaml")
    traces = next(p for p in config.pipelines if p.name == "traces")
    assert traces.processors == ("apisec/enrich", "apisec/correlate", "apisec/redact", "apisec/filter")
    assert config.processors["apisec/correlate"].options["store"].startswith("redis://")
