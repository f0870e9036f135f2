"""The console's HTML pages, served on the console listener next to the JSON API, rendered on the
server from the same documents; one stylesheet (`static/console.css`), no script, no external URL.

    GET /            overview: per service grade (and its trend), calls, error rate, findings by
                     severity per minute, the most attacked endpoints, the open incidents
    GET /inventory   ?service=&method=&spec_status=&auth=&unauthenticated=1&pii=&grade=&sort=[-]COLUMN
    GET /endpoint    ?service=&method=&route=   one endpoint: posture, parameters, schemas, latency,
                     countries, recent findings
    GET /findings    ?service=&route=&severity=&kind=&client=&country=&since=&limit=
    GET /governance  categories, deductions with evidence, pass or fail per regulation
    GET /incidents   open and resolved alert groups
    GET|POST /login, POST /logout, GET /static/console.css

Auth, when `service.console.bearer_token` is set: the API's bearer header works on every page; a
browser signs in once with the token on the `/login` form (POST, compared in constant time) and
gets an HttpOnly, SameSite=Strict cookie holding HMAC-SHA256(token, a fixed label): not the token,
and void as soon as the token changes. Without a token configured, every page is open (loopback only:
the config refuses a non-loopback address without a token)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from otel_apisec.gateway.console.findings import FindingsQuery, QueryError, parse_findings_query
from otel_apisec.gateway.console.pages import views
from otel_apisec.gateway.receivers.otlp.base import bearer_ok

if TYPE_CHECKING:
    from otel_apisec.gateway.console.api import ConsoleApi, Response

__all__ = ["COOKIE", "ConsolePages", "session_value"]

COOKIE = "apisec_console"
_COOKIE_LABEL = b"otel-apisec console session v1"
_COOKIE_MAX_AGE_S = 12 * 3600
_HTML = "text/html; charset=utf-8"
_PAGES = ("/", "/inventory", "/endpoint", "/findings", "/governance", "/incidents")
_STATIC = {"/static/console.css": ("console.css", "text/css; charset=utf-8")}
_FINDINGS_EXTRA = ("client", "country")
_SCAN_ALL = 10**9  # FindingsQuery.limit when filtering further here
_HISTORY_POINTS = 120
_HISTORY_EVERY_S = 30.0
_SECURITY_HEADERS = {"Content-Security-Policy": views.CSP, "X-Content-Type-Options": "nosniff",
                     "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"}


def session_value(token: str) -> str:
    """The cookie's value for `token`: a keyed hash, so the cookie never carries the token itself."""
    return hmac.new(token.encode("utf-8"), _COOKIE_LABEL, hashlib.sha256).hexdigest()


def _cookie(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value.strip().strip('"')
    return None


def _local(path: str) -> str:
    """A redirect target that stays on this console: a page path with its query, else `/`."""
    if path.startswith("/") and not path.startswith(("//", "/\\")) and path.isascii() and path.isprintable() \
            and path.partition("?")[0] in _PAGES:
        return path
    return "/"


class ConsolePages:
    """Routes and renders the pages over a `ConsoleApi` (its estate, findings ring and incidents)."""

    def __init__(self, api: ConsoleApi, bearer_token: str | None, trace_url: str | None = None) -> None:
        self._api = api
        self._token = bearer_token.encode() if bearer_token else None
        self._session = session_value(bearer_token).encode() if bearer_token else None
        self.trace_url = trace_url
        self._history: dict[str, deque[tuple[float, float]]] = {}
        self._history_lock = threading.Lock()

    @staticmethod
    def serves(path: str) -> bool:
        return path in _PAGES or path in _STATIC or path in ("/login", "/logout")

    # -- requests ------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, authorization: str | None, cookie: str | None,
               body: bytes | None) -> Response:
        if path in _STATIC:
            return self._static(method, path)
        if path == "/login":
            return self._login(method, query, body)
        if path == "/logout":
            if method != "POST":
                return self._page(405, views.error_page(405, "/logout takes POST"), {"Allow": "POST"})
            return self._redirect("/login" if self._token else "/", {"Set-Cookie": self._set_cookie("", 0)})
        signed_in = self._signed_in(authorization, cookie)
        if not signed_in:
            target = path + (f"?{query}" if query else "")
            return self._redirect(f"/login?next={quote(target, safe='')}")
        if method not in ("GET", "HEAD"):
            return self._page(405, views.error_page(405, f"{path} takes GET"), {"Allow": "GET, HEAD"})
        from otel_apisec.gateway.console.api import EstateUnavailable, query_params

        try:
            params = query_params(query)
            return self._page(200, self._render(path, params, self._token is not None))
        except QueryError as error:
            return self._page(400, views.error_page(400, str(error)))
        except EstateUnavailable as error:
            return self._page(error.status, views.error_page(error.status, str(error)), error.headers)
        except _NotFound as error:
            return self._page(404, views.error_page(404, str(error)))

    def _signed_in(self, authorization: str | None, cookie: str | None) -> bool:
        if self._token is None:
            return True
        if authorization:
            return bearer_ok(self._token, authorization)
        value = _cookie(cookie)
        assert self._session is not None
        return hmac.compare_digest((value or "").encode("utf-8", "replace"), self._session)

    def _login(self, method: str, query: str, body: bytes | None) -> Response:
        next_path = _local(dict(parse_qsl(query)).get("next", "/")) if query else "/"
        if self._token is None:
            return self._redirect(next_path)
        if method in ("GET", "HEAD"):
            return self._page(200, views.login_page(next_path))
        if method != "POST":
            return self._page(405, views.error_page(405, "/login takes GET or POST"), {"Allow": "GET, HEAD, POST"})
        try:
            form = dict(parse_qsl((body or b"").decode("utf-8"), max_num_fields=4, errors="strict"))
        except (UnicodeDecodeError, ValueError):
            return self._page(400, views.error_page(400, "the login form is not valid"))
        next_path = _local(form.get("next", next_path))
        given = form.get("token", "").strip().encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._token):
            return self._page(401, views.login_page(next_path, failed=True))
        assert self._session is not None
        return self._redirect(next_path, {"Set-Cookie": self._set_cookie(self._session.decode(), _COOKIE_MAX_AGE_S)})

    @staticmethod
    def _set_cookie(value: str, max_age: int) -> str:
        return f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"

    def _static(self, method: str, path: str) -> Response:
        from otel_apisec.gateway.console.api import Response

        if method not in ("GET", "HEAD"):
            return Response(405, b"", {"Allow": "GET, HEAD"}, "text/plain")
        name, content_type = _STATIC[path]
        body = resources.files(__package__).joinpath("static").joinpath(name).read_bytes()
        return Response(200, body, {"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"}, content_type)

    def _page(self, status: int, html: str, headers: Mapping[str, str] | None = None) -> Response:
        from otel_apisec.gateway.console.api import Response

        return Response(status, html.encode("utf-8"), {**_SECURITY_HEADERS, **(headers or {})}, _HTML)

    def _redirect(self, location: str, headers: Mapping[str, str] | None = None) -> Response:
        return self._page(303, views.layout("Redirect", "", f'<p><a href="{views.escape(location)}">Continue</a></p>'),
                          {"Location": location, **(headers or {})})

    # -- pages ---------------------------------------------------------------------------------------------------

    def _render(self, path: str, params: dict[str, str], signed_in: bool) -> str:
        if path == "/":
            _known(params, ())
            return self._overview(signed_in)
        if path == "/inventory":
            _known(params, views.INVENTORY_FILTERS)
            sort = params.get("sort") or "service"
            if sort.lstrip("-") not in views.INVENTORY_SORTS:
                raise QueryError(f"sort: expected one of {', '.join(views.INVENTORY_SORTS)} (a leading - sorts descending)")
            if params.get("unauthenticated") not in (None, "", "1"):
                raise QueryError("unauthenticated: expected 1 (or leave it out)")
            return views.inventory_page(self._inventory(), params, signed_in)
        if path == "/endpoint":
            return self._endpoint(params, signed_in)
        if path == "/findings":
            return self._findings(params, signed_in)
        if path == "/governance":
            _known(params, ())
            document = self._api.estate_view(lambda _estate, governance: governance.to_dict())
            return views.governance_page(document, self.trace_url, signed_in)
        _known(params, ())
        return views.incidents_page(self._api.incidents(), self.trace_url, signed_in)

    def _inventory(self) -> dict[str, Any]:
        from otel_apisec.estate.contract import inventory_document

        document: dict[str, Any] = self._api.estate_view(inventory_document)
        self._remember(document)
        return document

    def _remember(self, inventory: Mapping[str, Any]) -> None:
        """One grade score per service every `_HISTORY_EVERY_S` at most, kept for the overview's trend."""
        now = time.time()
        with self._history_lock:
            for service in inventory.get("services") or ():
                score = service.get("score")
                if not isinstance(score, (int, float)):
                    continue
                points = self._history.setdefault(str(service.get("service")), deque(maxlen=_HISTORY_POINTS))
                if points and now - points[-1][0] < _HISTORY_EVERY_S:
                    points[-1] = (points[-1][0], float(score))
                else:
                    points.append((now, float(score)))

    def _overview(self, signed_in: bool) -> str:
        from otel_apisec.gateway.console.api import EstateUnavailable

        inventory, note = None, None
        try:
            inventory = self._inventory()
        except EstateUnavailable as error:
            note = f"No inventory: {error}"
        with self._history_lock:
            history = {name: [score for _, score in points] for name, points in self._history.items()}
        records = self._api.findings.query(FindingsQuery(limit=_SCAN_ALL))
        return views.overview_page(inventory, note, records, self._api.incidents(), history, time.time(), signed_in)

    def _endpoint(self, params: dict[str, str], signed_in: bool) -> str:
        _known(params, ("service", "method", "route"))
        service, method, route = (params.get(k, "") for k in ("service", "method", "route"))
        if not (service and method and route):
            raise QueryError("service, method and route are all required")
        from otel_apisec.estate.contract import inventory_document

        def render(estate: Any, governance: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
            document = inventory_document(estate, governance)
            grades = governance.service(service)
            mark = grades.endpoint(method, route) if grades is not None else None
            return document, mark.to_dict() if mark is not None else None

        document, grades = self._api.estate_view(render)
        endpoint = next((e for s in document.get("services") or () if s.get("service") == service
                         for e in s.get("endpoints") or () if e.get("method") == method and e.get("route") == route), None)
        if endpoint is None:
            raise _NotFound(f"no endpoint {method[:20]} {route[:200]} in service {service[:100]}")
        records = [r for r in self._api.findings.query(FindingsQuery(service=service, route=route, limit=_SCAN_ALL))
                   if not r.get("method") or r.get("method") == method][:50]
        return views.endpoint_page(service, endpoint, grades, records, self.trace_url, signed_in)

    def _findings(self, params: dict[str, str], signed_in: bool) -> str:
        extra = {k: params.pop(k) for k in _FINDINGS_EXTRA if k in params}
        query = parse_findings_query(params)
        for name, value in extra.items():
            if len(value) > 512:
                raise QueryError(f"{name}: longer than 512 characters")
        client, country = extra.get("client") or None, (extra.get("country") or "").upper() or None
        records = self._api.findings.query(FindingsQuery(query.service, query.route, query.severity, query.kind,
                                                         query.since, _SCAN_ALL))
        everything = self._api.findings.query(FindingsQuery(limit=_SCAN_ALL))
        choices = {"service": {str(r.get("service") or "") for r in everything} - {""},
                   "kind": {str(r.get("kind") or "") for r in everything} - {""}}
        selected = [r for r in records if (client is None or views.finding_client(r) == client)
                    and (country is None or views.finding_country(r).upper() == country)][:query.limit]
        return views.findings_page(selected, {**params, **extra}, choices, self.trace_url, signed_in)


class _NotFound(Exception):
    pass


def _known(params: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    unknown = sorted(name for name in params if name not in allowed)
    if unknown:
        takes = f"allowed: {', '.join(allowed)}" if allowed else "this page takes none"
        raise QueryError(f"unknown parameter {unknown[0][:40]!r} ({takes})")
