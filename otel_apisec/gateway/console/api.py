"""The console's HTTP API, apart from the socket: `ConsoleApi.handle(method, target, authorization)`
gives the status, JSON body and headers of one request.

    GET /healthz                    {"status": "ok"}  (no token needed: it says nothing)
    GET /api/v1/inventory           estate.contract.inventory_document (the JSON contract)
    GET /api/v1/governance          governance.to_dict(): grades, categories, deductions, compliance
    GET /api/v1/findings?service=&route=&severity=&kind=&since=&limit=
                                    recent finding records, newest first (severity: that one and above)
    GET /api/v1/incidents           alert groups, open and recently resolved

Every other path is 404, every other method 405; a bad parameter is 400 with {"error": "..."}.
The HTML pages (`/`, `/inventory`, `/endpoint`, `/findings`, `/governance`, `/incidents`, `/login`,
`/static/...`) are `pages.ConsolePages`, over the same documents.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

import orjson

from otel_apisec.gateway.console.findings import FindingsRing, QueryError, parse_findings_query
from otel_apisec.gateway.receivers.otlp.base import bearer_ok

if TYPE_CHECKING:
    from otel_apisec.estate.inventory import Estate
    from otel_apisec.estate.spec import ApiSpec

__all__ = ["ConsoleApi", "EstateSource", "EstateUnavailable", "Response", "merged_estate", "query_params"]

JSON = "application/json"
_MAX_PARAMS = 16
_HEAVY_AT_ONCE = 2  # estate snapshots (route inference, drift, grades) built at once; more wait
_HEAVY_WAIT_S = 10.0


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON


class EstateSource(Protocol):
    """An `apisec/inventory` processor, as the console reads it."""

    @property
    def specs(self) -> Mapping[str, ApiSpec]: ...

    def snapshot(self) -> Estate: ...


def merged_estate(sources: Iterable[EstateSource]) -> Estate:
    """One estate over every inventory processor: one processor's snapshot as it is; several, their
    observed endpoints merged and resolved again (orphans come back from the merged specs)."""
    from otel_apisec.estate.inventory import build_estate  # the estate loads when the console is asked

    sources = list(sources)
    if len(sources) == 1:
        return sources[0].snapshot()
    records: dict[str, list[Any]] = {}
    specs: dict[str, ApiSpec] = {}
    for source in sources:
        specs.update(source.specs)
        for service in source.snapshot().services:
            records.setdefault(service.service, []).extend(e.record for e in service.endpoints if e.record.calls)
    return build_estate(records, specs)


class EstateUnavailable(Exception):
    """No estate to show: `status` 404 (no inventory processor) or 503 (busy, `headers` has Retry-After)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers or {}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, orjson.dumps({"error": message}), headers or {})


def _ok(document: object) -> Response:
    return Response(200, orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS))


class ConsoleApi:
    """The endpoints over the gateway's estate sources, findings ring and alert incidents."""

    def __init__(self, estate_sources: Callable[[], list[EstateSource]], findings: FindingsRing,
                 incidents: Callable[[], dict[str, Any]], bearer_token: str | None = None, *,
                 trace_url: str | None = None) -> None:
        from otel_apisec.gateway.console.pages import ConsolePages

        self._estate_sources = estate_sources
        self.findings = findings
        self._incidents = incidents
        self._token = bearer_token.encode() if bearer_token else None
        self._heavy = threading.BoundedSemaphore(_HEAVY_AT_ONCE)
        self._routes: dict[str, Callable[[dict[str, str]], Response]] = {
            "/api/v1/inventory": self._inventory, "/api/v1/governance": self._governance,
            "/api/v1/findings": self._findings, "/api/v1/incidents": self._incidents_response,
        }
        self.pages = ConsolePages(self, bearer_token, trace_url)

    def handle(self, method: str, target: str, authorization: str | None, cookie: str | None = None,
               body: bytes | None = None) -> Response:
        """One request; `cookie` and `body` (a `/login` form) only reach the HTML pages."""
        if not target.isascii() or not target.isprintable():  # http.server decoded the raw bytes as Latin-1
            return _error(400, "the request target must be printable ASCII (percent-encode the rest)")
        path, _, query = target.partition("?")
        if self.pages.serves(path):
            return self.pages.handle(method, path, query, authorization, cookie, body)
        if path == "/healthz":
            return _ok({"status": "ok"}) if method in ("GET", "HEAD") else _error(405, "/healthz takes GET",
                                                                               {"Allow": "GET, HEAD"})
        if not bearer_ok(self._token, authorization):  # before the path: no probing without the token
            return _error(401, "missing or invalid bearer token", {"WWW-Authenticate": 'Bearer realm="otel-apisec console"'})
        endpoint = self._routes.get(path)
        if endpoint is None:
            return _error(404, f"unknown path {path[:100]!r} (known: /healthz, {', '.join(self._routes)})")
        if method not in ("GET", "HEAD"):
            return _error(405, f"{path} takes GET", {"Allow": "GET, HEAD"})
        try:
            return endpoint(query_params(query))
        except QueryError as error:
            return _error(400, str(error))

    # -- endpoints -------------------------------------------------------------------------------

    def _inventory(self, params: dict[str, str]) -> Response:
        _no_params(params)
        return self._estate(lambda estate, governance: _contract().inventory_document(estate, governance))

    def _governance(self, params: dict[str, str]) -> Response:
        _no_params(params)
        return self._estate(lambda _estate, governance: governance.to_dict())

    def _estate(self, render: Callable[[Estate, Any], object]) -> Response:
        try:
            return _ok(self.estate_view(render))
        except EstateUnavailable as error:
            return _error(error.status, str(error), error.headers)

    def estate_view(self, render: Callable[[Estate, Any], Any]) -> Any:
        """`render(estate, governance)` over a fresh merged snapshot, at most `_HEAVY_AT_ONCE` at once;
        raises `EstateUnavailable` (404 no inventory processor, 503 busy)."""
        sources = self._estate_sources()
        if not sources:
            raise EstateUnavailable(404, "no apisec/inventory processor in this gateway's pipelines")
        if not self._heavy.acquire(timeout=_HEAVY_WAIT_S):
            raise EstateUnavailable(503, "busy building other estate snapshots, retry later", {"Retry-After": "1"})
        try:
            from otel_apisec.estate.governance import assess

            estate = merged_estate(sources)
            return render(estate, assess(estate))
        finally:
            self._heavy.release()

    def incidents(self) -> dict[str, Any]:
        return self._incidents()

    def _findings(self, params: dict[str, str]) -> Response:
        records = self.findings.query(parse_findings_query(params))
        return _ok({"findings": records, "count": len(records)})

    def _incidents_response(self, params: dict[str, str]) -> Response:
        _no_params(params)
        return _ok(self._incidents())


def _contract() -> Any:
    from otel_apisec.estate import contract

    return contract


def query_params(query: str) -> dict[str, str]:
    """Query parameters, each at most once, valid UTF-8 once percent-decoded."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=_MAX_PARAMS)
    except UnicodeDecodeError:
        raise QueryError("query: not valid UTF-8 once percent-decoded") from None
    except ValueError:
        raise QueryError(f"query: more than {_MAX_PARAMS} parameters") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise QueryError(f"{name[:40]}: given more than once")
        params[name] = value
    return params


def _no_params(params: dict[str, str]) -> None:
    if params:
        raise QueryError(f"unknown parameter {next(iter(params))[:40]!r}: this endpoint takes none")
