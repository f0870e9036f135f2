"""`HttpSession`: POSTs to one HTTP(S) endpoint over one keep-alive connection (`http.client`).

One session per sender thread (a connection is not thread-safe); `interrupt()` may be called from
another thread to wake one blocked on a dead server. A request on a reused connection that fails
before any answer (not a timeout) is sent once more on a new connection: that is a server having
closed an idle keep-alive connection, not an outage, and costs no retry.
"""

from __future__ import annotations

import gzip
import http.client
import math
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from otel_apisec.delivery.retry import DeliveryError, status_error
from otel_apisec.urls import parse_endpoint, with_credentials

__all__ = ["HttpSession", "Response", "check_headers", "client_ssl_context"]

MAX_RESPONSE_BYTES = 1 << 20
"""Read at most this much of an answer (a hostile server cannot fill memory); past it the
connection is closed, since an unread tail would corrupt the next response."""

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")  # RFC 9110


def check_headers(headers: Mapping[str, str] | None, what: str) -> dict[str, str]:
    """The headers, or ValueError naming the bad one by name (never its value: it may be a secret)."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise ValueError(f"{what} headers: expected a mapping of names to values, not {type(headers).__name__}")
    for name, value in headers.items():
        if not isinstance(name, str) or not name or not set(name) <= _TOKEN_CHARS:
            raise ValueError(f"{what} header name {name!r} is not an HTTP token")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise ValueError(f"{what} header {name!r}: the value must be a string on one line (no CR, LF or NUL)")
    return dict(headers)


def client_ssl_context(tls: Mapping[str, str] | None) -> ssl.SSLContext:
    """Verifies the server against `ca_file` (else the system store); presents `cert_file` and
    `key_file` when set (mTLS). Option names as in the Collector's `configtls`."""
    tls = tls or {}
    context = ssl.create_default_context(cafile=tls.get("ca_file") or None)
    if tls.get("cert_file"):
        context.load_cert_chain(tls["cert_file"], tls.get("key_file") or None)
    return context


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    """At most `MAX_RESPONSE_BYTES`."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def raise_for_status(self, where: str) -> Response:
        """Itself if 2xx, else the classified `DeliveryError` (retryable or final, Retry-After read)."""
        if self.ok:
            return self
        raise status_error(where, self.status, self.body[:512].decode("utf-8", "replace"), self.headers.get("Retry-After"))


class HttpSession:
    """`url`: `http(s)://[user:password@]host[:port][/base][?query]`; userinfo becomes a Basic
    `Authorization` header (see `urls`). `what` names the sender in errors ("alert receiver").
    `tls`: ca_file, cert_file, key_file for https. `compression`: gzip every body and say so
    (Content-Encoding). `origin` is the only form of the URL that appears in errors.

        session = HttpSession("https://siem.example/ingest", "webhook", {"Authorization": "Splunk ..."})
        session.post("", b"...").raise_for_status(session.origin)   # DeliveryError unless 2xx
    """

    def __init__(
        self,
        url: str,
        what: str = "HTTP sender",
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        tls: Mapping[str, str] | None = None,
        compression: Literal["gzip"] | None = None,
    ) -> None:
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s < math.inf:
            raise ValueError(f"{what} timeout_s: expected a positive number of seconds, not {timeout_s!r}")
        if compression not in (None, "gzip"):
            raise ValueError(f"{what} compression: expected gzip or none, not {compression!r}")
        self.endpoint = parse_endpoint(url, what, tls_options=bool(tls))
        self.origin = self.endpoint.safe
        self.timeout_s = float(timeout_s)
        self.headers = with_credentials(check_headers(headers, what), self.endpoint, what)
        self._gzip = compression == "gzip"
        if self._gzip:
            self.headers["Content-Encoding"] = "gzip"
        self._context = client_ssl_context(tls) if self.endpoint.tls else None  # bad files fail here, at start-up
        self._conn: http.client.HTTPConnection | None = None
        self._interrupted = False

    def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None,
             timeout_s: float | None = None) -> Response:
        """POST `body` to the URL (plus `path`, appended to its path) and read the answer, whatever
        its status; raise a retryable `DeliveryError` when there is none (refused, reset, timeout)."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        if self._gzip:
            body = gzip.compress(body, compresslevel=5)
        all_headers = {**self.headers, **(headers or {})}
        self._interrupted = False
        for first_try in (True, False):
            reused = self._conn is not None
            try:
                conn = self._connection(timeout)
                conn.request("POST", self._target(path), body, all_headers)
                answer = conn.getresponse()
                data = answer.read(MAX_RESPONSE_BYTES)
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if reused and first_try and not isinstance(error, TimeoutError) and not self._interrupted:
                    continue  # the server closed an idle keep-alive connection: once more, on a new one
                raise DeliveryError(f"{self.origin}: {type(error).__name__}: {error}", retryable=True) from None
            if answer.will_close or not answer.isclosed():
                self.close()
            return Response(answer.status, answer.headers, data)
        raise AssertionError("unreachable")

    def _target(self, path: str) -> str:
        base, _, query = self.endpoint.target.partition("?")
        if path:
            base = base.rstrip("/") + path
        return base + (f"?{query}" if query else "")

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is None:
            host, port = self.endpoint.host, self.endpoint.port
            if self._context is not None:
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            self._conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def interrupt(self) -> None:
        """From another thread: fail the request in flight now (its sender is stopping)."""
        self._interrupted = True
        conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
