"""What the capture hooks collect for one request, until its span has ended and been analysed.

A `Capture` holds bounded copies only: each body keeps at most `limit` bytes and counts the
rest. The raw material never leaves the process: the processor turns it into derived facts and
drops it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from otel_apisec.model import Body, Headers, HttpExchange

__all__ = ["BodyBuffer", "Capture"]


class BodyBuffer:
    """The first `limit` bytes of a body that arrives in chunks, and how many bytes there were."""

    __slots__ = ("_chunks", "_kept", "limit", "seen")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self._kept = 0
        self.seen = 0

    def add(self, chunk: bytes | memoryview) -> None:  # a view is copied, only up to the limit
        self.seen += len(chunk)
        room = self.limit - self._kept
        if room > 0 and chunk:
            piece = bytes(chunk[:room])
            self._chunks.append(piece)
            self._kept += len(piece)

    def set(self, data: bytes) -> None:
        self._chunks, self._kept, self.seen = [], 0, 0
        self.add(data)

    def body(self, content_type: str) -> Body | None:
        if not self.seen:
            return None
        return Body(b"".join(self._chunks), content_type, truncated=self.seen > self._kept)


class Capture:
    """One request's bounded raw material, filled in by the framework hooks.

    `finish()` marks the response body complete (streamed bodies finish after the span ends);
    the processor waits for it before analysing. Hooks run on the request thread; the
    processor reads from its worker only after `finish()`, so no lock guards the fields.
    """

    def __init__(self, limit: int, wants_body: Callable[[str | None], bool]) -> None:
        self.started_at = time.time()
        self.method = "GET"
        self.scheme = "http"
        self.host = ""
        self.path = "/"
        self.query = ""
        self.client_address: str | None = None
        self.request_headers: list[tuple[str, str]] = []
        self.status: int | None = None
        self.response_headers: list[tuple[str, str]] = []
        self.request_body = BodyBuffer(limit)
        self.response_body = BodyBuffer(limit)
        self._wants_body = wants_body
        self._streaming = False
        self._finished = threading.Event()
        self._on_finish: Callable[[], None] | None = None
        self._lock = threading.Lock()

    # --- filled by hooks -----------------------------------------------------------------------
    def set_request(
        self, method: str, scheme: str, host: str, path: str, query: str,
        headers: Iterable[tuple[str, str]], client_address: str | None,
    ) -> None:
        self.method, self.scheme, self.host, self.path, self.query = method, scheme, host, path, query
        self.request_headers = list(headers)
        self.client_address = client_address

    def set_response(self, status: int | None, headers: Iterable[tuple[str, str]]) -> None:
        self.status = status
        self.response_headers = list(headers)

    def wants_request_body(self) -> bool:
        return self._wants_body(_header(self.request_headers, "content-type"))

    def wants_response_body(self) -> bool:
        return self._wants_body(_header(self.response_headers, "content-type"))

    # --- completion ----------------------------------------------------------------------------
    def stream_started(self) -> None:
        """The response body will finish after the span ends (a streamed body being copied)."""
        self._streaming = True

    @property
    def finished(self) -> bool:
        return not self._streaming or self._finished.is_set()

    def finish(self) -> None:
        """The response body is complete (or abandoned): analysis may start."""
        with self._lock:
            if self._finished.is_set():
                return
            self._finished.set()
            callback, self._on_finish = self._on_finish, None
        if callback is not None:
            callback()

    def when_finished(self, callback: Callable[[], None]) -> bool:
        """Call `callback` on `finish()`; False (and no call) when already finished."""
        with self._lock:
            if self.finished:
                return False
            self._on_finish = callback
            return True

    # --- to the detectors ----------------------------------------------------------------------
    def exchange(self, route: str | None = None, duration_ms: float | None = None) -> HttpExchange:
        request_headers = Headers(self.request_headers)
        response_headers = Headers(self.response_headers)
        return HttpExchange(
            method=self.method,
            scheme=self.scheme,
            host=self.host,
            path=self.path,
            route=route,
            query=tuple(parse_qsl(self.query, keep_blank_values=True)),
            request_headers=request_headers,
            request_body=self.request_body.body(request_headers.get("content-type") or "") if self.wants_request_body() else None,
            status=self.status,
            response_headers=response_headers,
            response_body=(
                self.response_body.body(response_headers.get("content-type") or "") if self.wants_response_body() else None
            ),
            client_address=self.client_address,
            started_at=self.started_at,
            duration_ms=duration_ms,
        )


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None
