"""The README's gateway options table, rendered from the config classes (a test keeps the README equal to it).

    .venv/bin/python -m otel_apisec.gateway.docs     # prints the table
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from otel_apisec.gateway.components.confmap import config_fields
from otel_apisec.gateway.factories import FACTORIES
from otel_apisec.gateway.receivers.otlp.config import GrpcConfig, HttpConfig, OtlpReceiverConfig

__all__ = ["options_table"]

_HEADER = ("| section | component | option | meaning |", "|---|---|---|---|")


def _shown_default(value: Any) -> str:
    if value is None or value in ("", (), {}):
        return ""
    if isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, int):
        return f"{value:,}" if value >= 10_000 else str(value)
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _options(cls: type) -> Iterator[tuple[str, str, tuple[str, ...], Any]]:
    """(YAML key, help, choices, default) of every option, squashed classes' inline."""
    defaults = cls()
    for spec, key, hint in config_fields(cls):
        if spec.metadata.get("squash"):
            yield from _options(hint)
        else:
            yield key, spec.metadata.get("help", ""), spec.metadata.get("choices") or (), getattr(defaults, spec.name)


def _meaning(help_text: str, choices: tuple[str, ...], default: Any) -> str:
    shown = _shown_default(default)
    return help_text + (f" ({', '.join(choices)})" if choices else "") + (f" (default `{shown}`)" if shown else "")


def _protocol_rows() -> Iterator[tuple[str, str]]:
    """The OTLP receiver's options, both protocols in one row each; a default shown only when they share it."""
    grpc = {key: (help_text, choices, default) for key, help_text, choices, default in _options(GrpcConfig)}
    for key, help_text, choices, default in _options(HttpConfig):
        shared = key not in grpc or grpc[key][2] == default
        yield key, _meaning(help_text, choices, default if shared else None)


def options_table() -> str:
    """The table, header included, one row per option of every component type."""
    lines = list(_HEADER)
    for section, factories in FACTORIES.items():
        for kind, factory in factories.items():
            if factory.config_class is OtlpReceiverConfig:
                component = f"`{kind}` (`protocols.grpc`, `protocols.http`)"
                rows = list(_protocol_rows())
            else:
                component = f"`{kind}`"
                rows = [(key, _meaning(help_text, choices, default))
                        for key, help_text, choices, default in _options(factory.config_class)]
            if not dataclasses.fields(factory.config_class):
                lines.append(f"| {section} | {component} | | no options |")
            lines.extend(f"| {section} | {component} | `{key}` | {meaning} |" for key, meaning in rows)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(options_table(), end="")
