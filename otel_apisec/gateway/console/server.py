"""The console listener: the `ConsoleApi` over HTTP/1.1, hardened as the OTLP/HTTP receiver is, with
its pieces (receivers/otlp/http.py): at most `max_connections` connections, the longest-idle one
closed to make room, else a canned 503; per-phase read deadlines (headers, keep-alive idle) that a
client trickling bytes cannot stretch; a 64 KiB header block; refusals and timeouts counted.

The API takes no request body: one announced is refused (413) without being read into memory. The one
exception is the HTML console's `POST /login` form: at most 4 KiB, read under the header deadline."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

import orjson

from otel_apisec.gateway.console.api import JSON, ConsoleApi
from otel_apisec.gateway.receivers.otlp.base import parse_endpoint
from otel_apisec.gateway.receivers.otlp.http import _BodyTooLarge, _HttpHandler, _HttpServer, close_server

__all__ = ["ConsoleServer"]

_FORM_LIMIT = 4096  # the /login form: a token and a local path

logger = logging.getLogger("otel_apisec.gateway.console")


def _refusal_response() -> bytes:
    body = orjson.dumps({"error": "too many connections, retry later"})
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: {JSON}\r\nContent-Length: {len(body)}\r\n"
            "Retry-After: 1\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


class _ConsoleHandler(_HttpHandler):
    """The receiver's handler (deadlines, header budget, lingering close) with the console's routing."""

    server_version = "otel-apisec-console"

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every method name reaches the API (405 there), not http.server's 501.
        if name.startswith("do_"):
            method = name[3:]
            return lambda: self._dispatch(method)
        raise AttributeError(name)

    def _dispatch(self, method: str) -> None:
        self._method = method
        self._json = True
        self._body_read = False
        self._responded = False
        try:
            console: ConsoleServer = self.server.receiver  # type: ignore[assignment]  # the duck-typed receiver
            body = None
            if method == "POST" and self.path.partition("?")[0] == "/login" and self._announces_body():
                self._reader.start("body", console.body_timeout_s)
                try:
                    body = self._read_body(_FORM_LIMIT)
                except _BodyTooLarge:
                    self._error(413, f"the login form is larger than {_FORM_LIMIT} bytes")
                    return
                except ValueError as error:
                    self._error(400, str(error))
                    return
            response = console.api.handle(method, self.path, self.headers.get("Authorization"),
                                          self.headers.get("Cookie"), body)
            if body is None and self._announces_body():  # never read: answer, swallow what comes (bounded), close
                self.close_connection = self._linger = True
                if response.status < 400:
                    self._error(413, "the console API takes no request body")
                    return
            self._send(response.status, response.body, response.content_type, response.headers)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception:
            logger.exception("console: unexpected error on %s %s", method[:20], self.path[:100])
            if not self._responded:
                self._error(500, "internal error")
            self.close_connection = True

    def _announces_body(self) -> bool:
        length = (self.headers.get("Content-Length") or "0").strip()
        return bool(self.headers.get("Transfer-Encoding")) or length != "0"

    def _error(self, status: int, message: str, *, retry_after_s: float | None = None, allow: str = "",
               www_authenticate: str = "") -> None:
        if not self._body_read:  # whatever was announced is still on the wire: answer, swallow it, close
            self.close_connection = True
            self._linger = True
        self._send(status, orjson.dumps({"error": message}), JSON)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, 414, 431) as JSON too."""
        self._method = getattr(self, "command", None) or "GET"
        self.close_connection = True
        try:
            self._send(code, orjson.dumps({"error": message or "bad request"}), JSON)
        except OSError:
            pass


class ConsoleServer:
    """Serves a `ConsoleApi` on `address` (HOST:PORT). `start()`, `server_address`, `stats()`, `shutdown()`."""

    def __init__(self, api: ConsoleApi, address: str, *, max_connections: int = 64, header_timeout_s: float = 10.0,
                 idle_timeout_s: float = 60.0) -> None:
        self.api = api
        self._host, self._port = parse_endpoint(address)
        self.max_connections = max_connections
        # What the receiver's server and handler read off `server.receiver`:
        self.header_timeout_s, self.idle_timeout_s, self.body_timeout_s = header_timeout_s, idle_timeout_s, header_timeout_s
        self.refusal = _refusal_response()
        self.name = "console"
        self._draining = threading.Event()
        self._closed: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    @property
    def server_address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the console is not started")
        return str(self._server.server_address[0]), int(self._server.server_address[1])

    def start(self) -> ConsoleServer:
        server = _HttpServer(self, self._host, self._port)  # type: ignore[arg-type]  # duck-typed receiver; binds now
        server.RequestHandlerClass = _ConsoleHandler
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="apisec-console", daemon=True)
        self._thread.start()
        logger.info("console listening on http://%s:%d", *self.server_address)
        return self

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Stop accepting, close every open connection (which wakes its thread), release the port."""
        self._draining.set()
        server, self._server = self._server, None
        if server is None:
            return
        deadline = time.monotonic() + timeout_s
        server.shutdown()
        close_server(server, self._thread, deadline)
        self._thread = None

    def stats(self) -> dict[str, int]:
        """`refused_connections`, `closed_connections/REASON` (header_timeout, idle_timeout, idle_evicted)."""
        with self._lock:
            counts = dict(self._closed)
        stats = {"refused_connections": counts.pop("refused", 0)}
        stats.update((f"closed_connections/{reason}", count) for reason, count in counts.items())
        return stats

    def _count(self, reason: str) -> None:
        with self._lock:
            self._closed[reason] += 1

    def __enter__(self) -> ConsoleServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
