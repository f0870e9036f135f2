"""POSTing JSON to a receiver, each outcome classified as delivered, retry later, or refused for good.

A new connection per POST: alerts are few, and a fresh connection never meets a keep-alive
connection the server has already closed. The URL's path and query are never logged or shown:
a Slack webhook URL carries its secret there.
"""

from __future__ import annotations

import base64
import http.client
import math
import ssl
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import orjson

from otel_apisec.retry_after import retry_after_seconds

__all__ = ["DEFAULT_TIMEOUT_S", "DeliveryError", "JsonPoster"]

DEFAULT_TIMEOUT_S = 5.0
"""Per request (connect, send, answer)."""

# What a sender retries: timeouts, throttling and server errors; other 4xx will not get better.
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER_S = 300.0
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")  # RFC 9110


class DeliveryError(Exception):
    """A receiver did not take an alert. `retryable`: worth another try later."""

    def __init__(self, message: str, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class JsonPoster:
    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s < math.inf:
            raise ValueError(f"alert receiver timeout_s: expected a positive number of seconds, not {timeout_s!r}")
        if headers is not None and not isinstance(headers, Mapping):
            raise ValueError(f"alert receiver headers: expected a mapping of names to values, not {type(headers).__name__}")
        self.timeout_s = float(timeout_s)
        if not isinstance(url, str):
            raise ValueError(f"alert receiver URL: expected a string, not {type(url).__name__}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"alert receiver URL must be http://host[:port]/path or https://..., not {_origin(url)!r}")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        try:
            self._port = parts.port or (443 if self._tls else 80)
        except ValueError:
            raise ValueError(f"alert receiver URL {_origin(url)!r}: the port is not a number in 1-65535") from None
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for name, value in (headers or {}).items():
            if not isinstance(name, str) or not name or not set(name) <= _TOKEN_CHARS:
                raise ValueError(f"alert receiver header name {name!r} is not an HTTP token")
            if not isinstance(value, str) or "\r" in value or "\n" in value:
                raise ValueError(f"alert receiver header {name}: the value must be a string on one line")  # not echoed: a secret
        self._headers = {**(headers or {}), "Content-Type": "application/json", "User-Agent": "otel-apisec-alerts"}
        if parts.username is not None:  # http://user:password@host/: Basic auth, as curl and browsers do
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._headers.setdefault("Authorization", "Basic " + base64.b64encode(credentials).decode("ascii"))
        self.origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        """Scheme, host and port only: safe to log."""

    def post(self, payload: object, timeout_s: float) -> None:
        """Send `payload` as JSON; raise `DeliveryError` unless the receiver answered 2xx."""
        body = orjson.dumps(payload, default=str)
        if self._tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout_s, context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)
        try:
            conn.request("POST", self._target, body, self._headers)
            response = conn.getresponse()
            text = response.read(512).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryError(f"{self.origin}: {type(error).__name__}: {error}", retryable=True) from None
        finally:
            conn.close()
        if 200 <= response.status < 300:
            return
        retryable = response.status in _RETRYABLE_STATUS
        raise DeliveryError(f"{self.origin}: HTTP {response.status}: {text[:200]}", retryable,
                            _retry_after(response.getheader("Retry-After")) if retryable else None)


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (what Slack and Alertmanager proxies send), at most 5 minutes."""
    seconds = retry_after_seconds(value)
    return None if seconds is None else min(seconds, _MAX_RETRY_AFTER_S)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    # Never the path: it may hold the secret (Slack). Without a host, not even that is shown.
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}" if parts.netloc else "(no scheme://host)"
