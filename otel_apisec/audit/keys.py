"""The HMAC key of an audit log: from an environment variable or a file, checked once here.

The key is the bytes as given: `openssl rand -hex 32` output is used as 64 bytes of text, not
decoded from hex (so the same string works in an env var, a file and a Kubernetes secret)."""

from __future__ import annotations

import os

__all__ = ["KEY_ENV", "MIN_KEY_BYTES", "AuditKeyError", "check_key", "key_from_env", "key_from_file"]

KEY_ENV = "OTEL_APISEC_AUDIT_KEY"
"""Environment variable the writer's config and `otel-apisec audit verify` read the key from by default."""
MIN_KEY_BYTES = 16
"""HMAC-SHA256 is only as strong as its key: shorter keys are refused, not warned about."""


class AuditKeyError(ValueError):
    """The key is missing, empty, too short or unreadable."""


_MAX_KEY_FILE_BYTES = 64 << 10


def check_key(key: bytes | None, source: str = "key") -> bytes | None:
    """`key` itself when it is usable (None: no key, a plain SHA-256 chain); else AuditKeyError."""
    return None if key is None else _checked(key, source)


def _checked(key: bytes, source: str) -> bytes:
    if not isinstance(key, bytes):
        raise AuditKeyError(f"{source}: the key must be bytes, not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(f"{source}: the key has {len(key)} bytes, at least {MIN_KEY_BYTES} are needed "
                            "(make one with `openssl rand -hex 32`)")
    return key


def key_from_env(name: str) -> bytes:
    """The key in environment variable `name` (its UTF-8 bytes)."""
    value = os.environ.get(name)
    if not value:
        raise AuditKeyError(f"environment variable {name} is {'empty' if value == '' else 'not set'}")
    return _checked(value.encode("utf-8"), f"environment variable {name}")


def key_from_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the file at `path`, without trailing whitespace (so `echo KEY > file` works)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise AuditKeyError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise AuditKeyError(f"key file {path} is over {_MAX_KEY_FILE_BYTES >> 10} KiB: not a key")
    return _checked(data.rstrip(), f"key file {path}")
