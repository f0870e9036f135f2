"""Keyed hashes: how principals, tokens and client addresses appear outside the process that saw them."""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["KeyedHasher", "deployment_key", "keyed_hash"]


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of `value`, 32 hex digits: the same value gives the same pseudonym under one key
    (correlatable), and without the key nobody can go back to the value."""
    return _digest(hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256))


def _digest(state: hmac.HMAC) -> str:
    return state.hexdigest()[:32]


class KeyedHasher:
    """`keyed_hash(key, value)` for many values under one key: the HMAC's keyed state is set up once
    and copied (about half the cost of a fresh HMAC per value), and each value is hashed once."""

    __slots__ = ("_base", "_seen")

    def __init__(self, key: bytes) -> None:
        self._base = hmac.new(key, digestmod=hashlib.sha256)
        self._seen: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        digest = self._seen.get(value)
        if digest is None:
            state = self._base.copy()
            state.update(value.encode("utf-8", "surrogatepass"))
            digest = self._seen[value] = _digest(state)
        return digest


def deployment_key(configured: str | bytes) -> bytes:
    """The configured key, or a random one for this process (pseudonyms then match only within it)."""
    if not configured:
        return os.urandom(32)
    return configured.encode() if isinstance(configured, str) else configured
