"""`${env:NAME}` in a config file's values, as in the OpenTelemetry Collector: secrets (HMAC keys,
bearer tokens, webhook credentials) come from the environment instead of being written into files.

    hmac_key: ${env:OTEL_APISEC_HMAC_KEY}       # the variable's value
    bearer_token: ${OTLP_TOKEN}                 # the same, the Collector's default provider being env
    key_prefix: ${env:APISEC_PREFIX:-apisec:}   # a default when the variable is not set
    note: costs $$5                             # `$$` is a literal `$`

A variable that is not set (and has no default) is an error naming the key path. A `$` not
followed by `{` or `$` stays as written (`^db\\.statement$`). Only values are expanded, not keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from otel_apisec.gateway.components.errors import ConfigError

__all__ = ["Expanded", "expand_env"]

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_REFERENCE = re.compile(r"(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
_PROVIDER = re.compile(r"([a-z][a-z0-9]*):")


class Expanded(str):
    """A string that came from `${...}`: typed later as YAML would type it (`${env:PORT}` can be an
    int), and shown in error messages by its reference, never its value."""

    reference: str

    def __new__(cls, value: str, reference: str) -> Expanded:
        text = super().__new__(cls, value)
        text.reference = reference
        return text


def expand_env(doc: Any, environ: Mapping[str, str] | None = None, path: str = "") -> Any:
    """`doc` with every `${env:NAME}` in its string values replaced; ConfigError names the key path."""
    environ = os.environ if environ is None else environ
    if isinstance(doc, Mapping):
        return {key: expand_env(value, environ, f"{path}.{key}" if path else str(key)) for key, value in doc.items()}
    if isinstance(doc, list):
        return [expand_env(item, environ, f"{path}[{index}]") for index, item in enumerate(doc)]
    if isinstance(doc, str) and "$" in doc:
        return _expand(doc, environ, path or "config")
    return doc


def _expand(text: str, environ: Mapping[str, str], path: str) -> str:
    references: list[str] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return "$"
        if match.group(1) is None:
            raise ConfigError(f"{path}: an unclosed ${{ (write $$ for a literal $)")
        inner = match.group(1)
        reference = _REFERENCE.fullmatch(inner)
        if reference is None:
            provider = _PROVIDER.match(inner)
            why = f"unknown provider {provider.group(1)!r} (only env)" if provider else "not a variable name"
            raise ConfigError(f"{path}: ${{{inner}}}: {why}")
        name, default = reference.group(1), reference.group(2)
        references.append(token)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: environment variable {name} is not set (referenced as {token})")

    expanded = _TOKEN.sub(replace, text)
    return Expanded(expanded, " ".join(references)) if references else expanded
