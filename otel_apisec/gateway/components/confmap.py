"""From a YAML mapping to a component's frozen config dataclass, every error naming its key path.

A config class declares each option once, as a dataclass field with `option(default, help)`: the
type comes from the annotation, the default and the meaning from `option`, so the decoder, the
README table and the code read the same declaration. `decode` refuses unknown keys (listing the
allowed ones), checks types, choices and ranges, builds the frozen instance and calls its
`validate(path)` for what one field cannot say alone (files, patterns, names, pairs of options).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import yaml

from otel_apisec.gateway.components.errors import ConfigError
from otel_apisec.gateway.components.expand import Expanded

__all__ = ["ConfigBase", "ConfigError", "check_file", "config_fields", "decode", "option", "option_keys"]

T = TypeVar("T")
C = TypeVar("C", bound="ConfigBase")


def option(
    default: T, help: str, *, choices: tuple[str, ...] = (), bounds: tuple[float, float] | None = None,
    key: str | None = None, squash: bool = False,
) -> T:
    """A config field: its default, its meaning (the README's text), allowed `choices`, inclusive
    `bounds` of a number, the YAML `key` when it differs from the field name, and `squash` for a
    nested dataclass whose options sit at this level (the Collector's `mapstructure:",squash"`)."""
    metadata = {"help": help, "choices": choices, "bounds": bounds, "key": key or "", "squash": squash}
    if isinstance(default, dict):
        value = default
        return cast(T, dataclasses.field(default_factory=lambda: dict(value), metadata=metadata))
    if dataclasses.is_dataclass(default):  # frozen: one instance can be every config's default
        instance = default
        return cast(T, dataclasses.field(default_factory=lambda: instance, metadata=metadata))
    return dataclasses.field(default=default, metadata=metadata)


class ConfigBase:
    """A component's config: a frozen dataclass of `option` fields, plus these hooks."""

    REFUSED: ClassVar[Mapping[str, str]] = {}
    """YAML keys refused with a reason instead of "unknown option": an old key names its new one."""

    @classmethod
    def unwrap(cls, path: str, raw: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        """The mapping this class's options are in, and its path (the OTLP receiver's are under `protocols`)."""
        return path, raw

    def validate(self, path: str) -> None:
        """Checks across fields and against the world (files, patterns, names); raise ConfigError
        naming the key path. Must have no side effect: `--check-config` runs it."""

    def claims(self) -> tuple[tuple[str, str], ...]:
        """(key, resource) pairs no other component may also hold: a listening address, a queue directory."""
        return ()

    def as_options(self) -> dict[str, Any]:
        """The values by YAML key, nested configs as mappings (squashed ones inline)."""
        options: dict[str, Any] = {}
        for spec in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, spec.name)
            if isinstance(value, ConfigBase):
                value = value.as_options()
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = dataclasses.asdict(value)
            if spec.metadata.get("squash"):
                options.update(value)
            else:
                options[spec.metadata.get("key") or spec.name] = value
        return options


def decode(path: str, cls: type[C], raw: object) -> C:
    """A validated `cls` from `raw` (None: every default); ConfigError names the first bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of options, got {type(raw).__name__}")
    path, raw = cls.unwrap(path, raw)
    config = cls(**_values(path, cls, raw))
    config.validate(path)
    return config


def config_fields(cls: type) -> list[tuple[dataclasses.Field[Any], str, Any]]:
    """(field, YAML key, resolved annotation) of a dataclass."""
    hints = get_type_hints(cls)
    return [(spec, spec.metadata.get("key") or spec.name, hints[spec.name]) for spec in dataclasses.fields(cls) if spec.init]


def option_keys(cls: type) -> list[str]:
    """The YAML keys of `cls`, squashed classes' inline, in declaration order."""
    keys: list[str] = []
    for spec, key, hint in config_fields(cls):
        keys.extend(option_keys(hint) if spec.metadata.get("squash") else [key])
    return keys


def _values(path: str, cls: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    allowed = option_keys(cls)
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        refused: Mapping[str, str] = getattr(cls, "REFUSED", {})
        why = refused.get(unknown[0], "unknown option")
        raise ConfigError(f"{path}.{unknown[0]}: {why} (allowed: {', '.join(sorted(allowed)) or 'none'})")
    values: dict[str, Any] = {}
    for spec, key, hint in config_fields(cls):
        if spec.metadata.get("squash"):
            inner = {name: raw[name] for name in option_keys(hint) if name in raw}
            values[spec.name] = _construct(path, hint, _values(path, hint, inner))
        elif raw.get(key) is not None:  # a null value takes the default, as an absent key does
            values[spec.name] = _checked(f"{path}.{key}", hint, raw[key], spec.metadata)
    return values


# A dataclass's own __post_init__ message that starts with a field name (`cooldown_s=-1 must be ...`,
# `min_severity: ...`), after an optional lead-in (`correlation config: `).
_FIELD_MESSAGE = re.compile(r"(?:[\w ]+: )?([a-z_][a-z0-9_]*)\s*[:=]\s*(.*)", re.DOTALL)


def _construct(path: str, cls: Callable[..., T], values: dict[str, Any]) -> T:
    """`cls(**values)` for a squashed dataclass with its own checks; its error, moved to the key path."""
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        match = _FIELD_MESSAGE.fullmatch(str(error))
        if match and match.group(1) in values:
            raise ConfigError(f"{path}.{match.group(1)}: {match.group(2)}") from None
        raise ConfigError(f"{path}: {error}") from None


def _shown(value: object) -> str:
    """A value for an error message; an expanded one by its reference (it may be a secret)."""
    return value.reference if isinstance(value, Expanded) else repr(value)


def _checked(path: str, hint: Any, raw: Any, metadata: Mapping[str, Any]) -> Any:
    value = _typed(path, hint, raw)
    shown = _shown(raw)  # as written: `0`, not the `0.0` it became
    choices = metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{path}: {shown} is not one of {', '.join(choices)}")
    bounds = metadata.get("bounds")
    if bounds and not bounds[0] <= value <= bounds[1]:  # `not <=`: NaN is out too
        raise ConfigError(f"{path}: {shown} is outside [{bounds[0]}, {bounds[1]}]")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path}: {shown} is not a finite number")
    return value


def _typed(path: str, hint: Any, value: Any) -> Any:
    """`value` as the annotation `hint` wants it, or ConfigError (`expected int, got str`)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):  # only `X | None`: None was handled by the caller
        (hint,) = [arg for arg in args if arg is not type(None)]
        origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if isinstance(value, Expanded) and hint in (bool, int, float):
        value = _scalar(value)  # `${env:PORT}` is typed as YAML would type the text, as in the Collector
    if hint in (bool, int, float, str):
        return _scalar_of(path, hint, value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):  # YAML gives lists; a config's `as_options` gives tuples
            raise ConfigError(f"{path}: expected list, got {type(value).__name__}")
        return tuple(_typed(f"{path}[{index}]", args[0], item) for index, item in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected dict, got {type(value).__name__}")
        return {str(key): _typed(f"{path}.{key}", args[1], item) for key, item in value.items()}
    if isinstance(hint, type) and issubclass(hint, ConfigBase):
        return decode(path, hint, value)
    raise TypeError(f"{path}: no decoder for {hint!r}")  # a config class uses a type this module lacks


def _scalar(value: Expanded) -> object:
    try:
        return yaml.safe_load(str(value))
    except yaml.YAMLError:
        return value


def _scalar_of(path: str, kind: type, value: Any) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) and kind is not bool:
        wanted = "int or float" if kind is float else kind.__name__
        raise ConfigError(f"{path}: expected {wanted}, got a boolean")
    if not isinstance(value, kind):
        wanted = "int or float" if kind is float else kind.__name__
        got = "str" if isinstance(value, Expanded) else type(value).__name__
        raise ConfigError(f"{path}: expected {wanted}, got {got}")
    return str(value) if kind is str else value  # an Expanded string becomes a plain one


def check_file(path: str, value: str | None) -> None:
    """`value`, when set, names a readable file."""
    if value is not None and not Path(value).is_file():
        raise ConfigError(f"{path}: {value}: no such file")
