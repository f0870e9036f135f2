"""Keyed hashes: how principals, tokens and client addresses appear outside the process that saw them."""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["deployment_key", "keyed_hash"]


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of `value`, 32 hex digits: the same value gives the same pseudonym under one key
    (correlatable), and without the key nobody can go back to the value."""
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


def deployment_key(configured: str | bytes) -> bytes:
    """The configured key, or a random one for this process (pseudonyms then match only within it)."""
    if not configured:
        return os.urandom(32)
    return configured.encode() if isinstance(configured, str) else configured
