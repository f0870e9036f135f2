"""POSTing JSON to an alert receiver over the shared `HttpSession`: each outcome is delivered, or a
`DeliveryError` the receiver's `Delivery` retries (or not) by the one `RetryPolicy`.

The URL's path and query are never logged or shown: a Slack webhook URL carries its secret there.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from otel_apisec.delivery import DeliveryError, HttpSession

__all__ = ["DEFAULT_TIMEOUT_S", "DeliveryError", "JsonPoster"]

DEFAULT_TIMEOUT_S = 5.0
"""Per request (connect, send, answer)."""

_HEADERS = {"Content-Type": "application/json", "User-Agent": "otel-apisec-alerts"}


class JsonPoster:
    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._session = HttpSession(url, "alert receiver", headers, timeout_s)
        self.timeout_s = self._session.timeout_s
        self.origin = self._session.origin
        """Scheme, host and port only: safe to log."""
        self.path = self._session.endpoint.target.partition("?")[0]

    def post(self, payload: object, timeout_s: float, path: str = "") -> None:
        """Send `payload` as JSON (to the URL's path plus `path`); raise `DeliveryError` unless the receiver answered 2xx."""
        body = orjson.dumps(payload, default=str)
        self._session.post(path, body, _HEADERS, timeout_s).raise_for_status(self.origin)

    def close(self) -> None:
        """Release the kept-alive connection (the sender has stopped)."""
        self._session.close()
