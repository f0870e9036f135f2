"""The console's HTML pages, served by a real Gateway fed real OTLP spans: every page renders the
data, filters change the rows, planted raw values (token, password, e-mail, card) appear on no page,
hostile route names are escaped, and the sign-in cookie flow works and is safe."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from otel_apisec.gateway.config import ConfigError, console_config, parse_config
from otel_apisec.gateway.console.pages import COOKIE, session_value
from otel_apisec.testing.servers import free_port
from tests.gateway.console.conftest import Console

TOKEN = "pages-console-token-9f8e7d6c5b4a"
TRACE_URL = "http://jaeger.test:16686/trace/{trace_id}"
CARD, EMAIL, PASSWORD = "4111111111111111", "ivan.pages@example.com", "Hunter2-Sup3r-Secret!"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwYWdlcy11c2VyLTQyIiwiZXhwIjo0MTAyNDQ0ODAwfQ."
       "c2lnbmF0dXJlLW9mLXRoZS1wYWdlcy10ZXN0LXRva2Vu")
PLANTED = (CARD, EMAIL, PASSWORD, JWT, TOKEN)
HOSTILE_ROUTE = '/x/<script>alert("r")</script>/{id}'
PAGES = ("/", "/inventory", "/findings", "/governance", "/incidents")


def gateway_config(tmp_path: Path, http_port: int, console_port: int, token: str | None = TOKEN) -> dict[str, Any]:
    processors = ["apisec/enrich", "apisec/inventory", "apisec/redact"]
    console: dict[str, Any] = {"address": f"127.0.0.1:{console_port}", "trace_url": TRACE_URL}
    if token:
        console["bearer_token"] = token
    return {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{http_port}"}}}},
        "processors": {"apisec/enrich": {"hmac_key": "pages-test-key"}, "apisec/inventory": {}, "apisec/redact": {}},
        "exporters": {"apisec/findings": {"path": str(tmp_path / "findings.jsonl")}},
        "service": {"telemetry": {"metrics": {"address": "off"}}, "console": console,
                    "pipelines": {"traces": {"receivers": ["otlp"], "processors": processors,
                                             "exporters": ["apisec/findings"]}}},
    }


def span(method: str, path: str, route: str | None, status: int = 200, query: str = "", client: str = "203.0.113.9",
         auth: str | None = None, duration_ms: int = 5) -> dict[str, Any]:
    attributes: dict[str, Any] = {"http.request.method": method, "url.scheme": "https", "url.path": path,
                                  "http.response.status_code": status, "server.address": "shop.example.com",
                                  "client.address": client, "_duration_ms": duration_ms}
    if route:
        attributes["http.route"] = route
    if query:
        attributes["url.query"] = query
    if auth:
        attributes["http.request.header.authorization"] = [auth]
    return attributes


def traffic() -> dict[str, list[dict[str, Any]]]:
    """Two services: `shop` with planted raw values, an injection, a hostile route; `billing` plain."""
    shop = [
        span("GET", "/api/orders/1001", "/api/orders/{id}", query=f"card={CARD}"),
        span("GET", "/api/orders/1002", "/api/orders/{id}", query=f"email={EMAIL}", auth=f"Bearer {JWT}"),
        span("GET", "/api/orders/1003", "/api/orders/{id}", query="id=1' OR '1'='1' --", status=500),
        span("POST", "/api/login", "/api/login", query=f"user=ivan&password={PASSWORD}", status=401),
        span("POST", "/api/login", "/api/login", query=f"password={PASSWORD}", status=401, client="198.51.100.7"),
        span("GET", "/api/users/me", "/api/users/me", auth=f"Bearer {JWT}", duration_ms=40),
        span("GET", "/x/<script>/7", HOSTILE_ROUTE, query="q=<script>alert(1)</script>"),
    ]
    billing = [span("GET", f"/invoices/{n}", "/invoices/{id}", auth=f"Bearer {JWT}") for n in range(3)]
    billing.append(span("DELETE", "/invoices/9", "/invoices/{id}", status=403))
    return {"shop": shop, "billing": billing}


class Site:
    """A running gateway's console, as a browser or curl reaches it."""

    def __init__(self, http_port: int, console_port: int) -> None:
        self.http_port, self.console_port = http_port, console_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def send(self, spans: list[dict[str, Any]], service: str) -> None:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{self.http_port}/v1/traces")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("agent")
        for attributes in spans:
            attributes = dict(attributes)
            duration_ns = int(attributes.pop("_duration_ms", 5)) * 1_000_000
            name = f"{attributes['http.request.method']} {attributes.get('http.route') or ''}".strip()
            span_ = tracer.start_span(name, kind=SpanKind.SERVER, attributes=attributes)
            start = span_.start_time or 0  # type: ignore[attr-defined]
            span_.end(end_time=start + duration_ns)
        provider.shutdown()

    def request(self, target: str, *, token: str | None = TOKEN, cookie: str | None = None, method: str = "GET",
                body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.console_port, timeout=30)
        try:
            sent = dict(headers or {})
            if token:
                sent["Authorization"] = f"Bearer {token}"
            if cookie:
                sent["Cookie"] = cookie
            connection.request(method, target, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode("utf-8")
        finally:
            connection.close()

    def page(self, target: str) -> str:
        status, headers, body = self.request(target)
        assert status == 200, (target, status, body[:500])
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        return body


def start_site(tmp_path: Path, token: str | None = TOKEN) -> Iterator[Site]:
    """A Gateway with the console on a free port, fed `traffic()` over OTLP/HTTP."""
    from otel_apisec.gateway.service import Gateway

    http_port, console_port = free_port(), free_port()
    gateway = Gateway(parse_config(gateway_config(tmp_path, http_port, console_port, token)))
    gateway.start()
    try:
        site = Site(http_port, console_port)
        for service, spans in traffic().items():
            site.send(spans, service)
        yield site
    finally:
        gateway.shutdown(5.0)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from start_site(tmp_path_factory.mktemp("pages"))


def rows(html: str) -> list[str]:
    """The body rows of the page's tables."""
    return re.findall(r"<tr><td", html)


def inventory_rows(html: str) -> int:
    match = re.search(r"<caption>(\d+) of (\d+) endpoints</caption>", html)
    assert match, html[:2000]
    return int(match.group(1))


class TestPagesRender:
    def test_every_page_is_html_with_its_csp(self, site: Site) -> None:
        """Each page answers 200 text/html with the CSP as header and meta, the stylesheet, nav and skip link."""
        for path in PAGES:
            status, headers, body = site.request(path)
            assert status == 200, (path, body[:300])
            csp = headers["Content-Security-Policy"]
            assert csp.startswith("default-src 'none'; style-src 'self'") and "script-src 'self'" in csp
            assert f'content="{csp}"' in body
            assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"
            assert '<a class="skip" href="#main">' in body and 'href="/static/console.css"' in body
            assert "<script" not in body and "http://" not in body.replace(TRACE_URL.split("{")[0], "")
        status, headers, css = site.request("/static/console.css", token=None)
        assert status == 200 and headers["Content-Type"].startswith("text/css") and ":focus-visible" in css

    def test_overview_shows_services_charts_and_most_attacked(self, site: Site) -> None:
        """Per service a grade, calls and error rate; a time series per service; bars of the most attacked."""
        html = site.page("/")
        assert ">shop</a>" in html and ">billing</a>" in html
        assert re.search(r'class="grade g-[A-F]"', html)
        assert html.count('<svg class="chart"') >= 3  # two time series and the bars
        assert "<polyline" in html and "Most attacked endpoints" in html
        assert "/api/orders/{id}" in html
        assert "Active incidents (0)" in html

    def test_inventory_lists_every_endpoint_with_grades(self, site: Site) -> None:
        """The endpoint table: both services' routes, a grade each, links to the endpoint page."""
        html = site.page("/inventory")
        assert inventory_rows(html) >= 6
        assert "/invoices/{id}" in html and "/api/login" in html
        assert "/endpoint?service=shop&amp;method=GET&amp;route=%2Fapi%2Forders%2F%7Bid%7D" in html

    def test_endpoint_page_shows_posture_parameters_latency(self, site: Site) -> None:
        """Posture facts, parameters, latency bars, countries and recent findings with trace links."""
        html = site.page("/endpoint?" + urlencode({"service": "shop", "method": "GET", "route": "/api/orders/{id}"}))
        for section in ("Posture", "Latency", "Countries", "Parameters", "Request schema", "Recent findings"):
            assert f"<h2>{section}" in html, section
        assert "<code>card</code>" in html and "<code>email</code>" in html  # parameter names, never values
        assert "http://jaeger.test:16686/trace/" in html
        missing = site.request("/endpoint?service=shop&method=GET&route=/nope")
        assert missing[0] == 404 and "no endpoint GET /nope" in missing[2]

    def test_findings_link_to_their_trace(self, site: Site) -> None:
        """Each finding links to the trace URL template filled with its 32-hex trace ID."""
        html = site.page("/findings?service=shop")
        links = re.findall(r'href="http://jaeger\.test:16686/trace/([0-9a-f]+)"', html)
        assert links and all(len(trace) == 32 for trace in links)
        assert len(links) == len(rows(html))

    def test_governance_shows_categories_deductions_compliance(self, site: Site) -> None:
        """Category bars, deductions with their endpoint, a pass or fail per regulation."""
        html = site.page("/governance")
        assert html.count('<section class="service"') == 2
        assert "Deductions (" in html and "Compliance" in html
        assert re.search(r'<span class="(pass|fail)">(pass|fail)</span>', html)


class TestFilters:
    def test_inventory_filters_change_the_rows(self, site: Site) -> None:
        """service, method, auth, unauthenticated, pii each narrow the table; bad values are 400."""
        everything = inventory_rows(site.page("/inventory"))
        billing = inventory_rows(site.page("/inventory?service=billing"))
        assert 0 < billing < everything
        assert inventory_rows(site.page("/inventory?method=POST")) == 1
        assert 0 < inventory_rows(site.page("/inventory?unauthenticated=1")) < everything
        assert inventory_rows(site.page("/inventory?pii=email")) >= 1
        assert inventory_rows(site.page("/inventory?service=billing&auth=none")) == 1  # the 403 DELETE
        assert inventory_rows(site.page("/inventory?service=nobody")) == 0
        assert site.request("/inventory?sort=password")[0] == 400
        assert site.request("/inventory?colour=red")[0] == 400

    def test_inventory_sorts_by_a_column(self, site: Site) -> None:
        """sort=calls and sort=-calls give the same rows in opposite call order."""
        def calls(html: str) -> list[int]:
            body = html.split('<table class="inventory">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
            return [int(re.findall(r"<td>(.*?)</td>", row)[4]) for row in body.split("</tr>") if row]

        ascending, descending = calls(site.page("/inventory?sort=calls")), calls(site.page("/inventory?sort=-calls"))
        assert ascending == sorted(ascending) and descending == sorted(descending, reverse=True)
        assert sorted(ascending) == sorted(descending) and len(ascending) >= 6

    def test_findings_filters_change_the_rows(self, site: Site) -> None:
        """severity, kind, route, service, client, country and since each narrow the findings."""
        everything = len(rows(site.page("/findings?limit=1000")))
        assert everything >= 3
        high = len(rows(site.page("/findings?severity=high&limit=1000")))
        assert high < everything
        shop = len(rows(site.page("/findings?service=shop&limit=1000")))
        assert 0 < shop <= everything
        route = len(rows(site.page("/findings?" + urlencode({"route": "/api/orders/{id}", "limit": 1000}))))
        assert 0 < route < everything
        assert len(rows(site.page("/findings?limit=1"))) == 1
        assert len(rows(site.page("/findings?since=2999-01-01T00:00:00Z"))) == 0
        assert len(rows(site.page("/findings?client=no-such-client"))) == 0
        assert len(rows(site.page("/findings?country=ZZ"))) == 0
        assert site.request("/findings?severity=loud")[0] == 400
        kind_select = site.page("/findings").split('name="kind"')[1].split("</select>")[0]
        kinds = set(re.findall(r'<option value="([a-z_.]+)"', kind_select))
        assert kinds
        kind = sorted(kinds)[0]
        assert 0 < len(rows(site.page(f"/findings?kind={kind}&limit=1000"))) <= everything


class TestNothingRaw:
    def test_planted_values_appear_on_no_page(self, site: Site) -> None:
        """The card, e-mail, password, JWT and console token are on no page nor API answer (pages not empty)."""
        targets = [*PAGES, "/findings?limit=1000", "/inventory?sort=-calls",
                   "/endpoint?" + urlencode({"service": "shop", "method": "GET", "route": "/api/orders/{id}"}),
                   "/endpoint?" + urlencode({"service": "shop", "method": "POST", "route": "/api/login"}),
                   "/api/v1/inventory", "/api/v1/governance", "/api/v1/findings?limit=1000", "/api/v1/incidents"]
        for target in targets:
            status, headers, body = site.request(target)
            assert status == 200 and len(body) > (20 if target.startswith("/api/") else 1000), (target, status)
            for value in PLANTED:
                assert value not in body, (target, value[:6])
                assert value not in str(headers), (target, value[:6])
        # A planted value did produce findings: the pages are not clean by being empty.
        assert "pii" in site.page("/findings?limit=1000")

    def test_hostile_route_is_escaped(self, site: Site) -> None:
        """A route holding markup shows as text on every page; no tag from the traffic reaches the page."""
        seen = 0
        for target in ("/", "/inventory", "/findings?limit=1000", "/governance"):
            html = site.page(target)
            assert "<script" not in html and 'alert("r")' not in html, target
            seen += "&lt;script&gt;" in html
        assert seen >= 2
        html = site.page("/endpoint?" + urlencode({"service": "shop", "method": "GET", "route": HOSTILE_ROUTE}))
        assert "&lt;script&gt;alert(&quot;r&quot;)&lt;/script&gt;" in html and "<script" not in html


class TestAuth:
    def test_pages_redirect_to_login_without_credentials(self, site: Site) -> None:
        """No token: 303 to /login with the page to come back to; the bearer header works as on the API."""
        status, headers, _ = site.request("/findings?severity=high", token=None)
        assert status == 303 and headers["Location"] == "/login?next=%2Ffindings%3Fseverity%3Dhigh"
        assert site.request("/findings", token="wrong-token")[0] == 303
        status, _, form = site.request("/login?next=%2Ffindings", token=None)
        assert status == 200 and 'method="post" action="/login"' in form and 'type="password"' in form
        assert 'value="/findings"' in form

    def test_login_sets_a_strict_httponly_cookie_that_is_not_the_token(self, site: Site) -> None:
        """The right token, posted once, gives a session cookie (a keyed hash) that opens the pages."""
        form = urlencode({"token": TOKEN, "next": "/inventory?service=billing"}).encode()
        status, headers, _ = site.request("/login", token=None, method="POST", body=form,
                                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303 and headers["Location"] == "/inventory?service=billing"
        cookie = headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE}={session_value(TOKEN)};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and TOKEN not in cookie
        value = cookie.split(";", 1)[0]
        assert site.request("/inventory?service=billing", token=None, cookie=value)[0] == 200
        assert site.request("/inventory", token=None, cookie=f"{COOKIE}=0123abcd")[0] == 303
        assert site.request("/api/v1/inventory", token=None, cookie=value)[0] == 401  # the API stays bearer-only
        status, headers, _ = site.request("/logout", token=None, cookie=value, method="POST")
        assert status == 303 and "Max-Age=0" in headers["Set-Cookie"]

    def test_wrong_token_and_foreign_redirects_are_refused(self, site: Site) -> None:
        """A wrong token is 401 with the form again; `next` never leaves the console."""
        wrong = urlencode({"token": "not-the-token", "next": "/"}).encode()
        status, headers, body = site.request("/login", token=None, method="POST", body=wrong)
        assert status == 401 and "Set-Cookie" not in headers and "That token is not right" in body
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/api/v1/inventory"):
            form = urlencode({"token": TOKEN, "next": target}).encode()
            assert site.request("/login", token=None, method="POST", body=form)[1]["Location"] == "/"
        big = b"token=" + b"x" * 5000
        assert site.request("/login", token=None, method="POST", body=big)[0] == 413
        assert site.request("/inventory", method="POST", body=b"x=1")[0] == 405  # other pages take GET, no body

    def test_without_a_token_pages_are_open(self, tmp_path: Path) -> None:
        """On loopback without a token, the pages need no sign-in and /login goes home."""
        for site in start_site(tmp_path, token=None):
            assert site.request("/", token=None)[0] == 200
            status, headers, _ = site.request("/login", token=None)
            assert status == 303 and headers["Location"] == "/"


class TestOnFakeSources:
    def test_incidents_page_escapes_labels_and_splits_open_and_resolved(self, console: Console) -> None:
        """Open and resolved incidents in two tables; label values are text."""
        incident = {"group_id": "g", "status": "firing", "rule_id": "APISEC-ABUSE-001", "severity": "high",
                    "labels": {"alertname": "abuse.brute_force", "service": "shop", "route": "/login",
                               "client": '"><img src=x onerror=alert(1)>'},
                    "count": 7, "first_seen": "2024-05-01T12:00:00.000Z", "last_seen": "2024-05-01T12:01:00.000Z",
                    "resolved_at": None, "first_trace_id": "ab" * 16, "first_span_id": "cd" * 8}
        console.incidents["incidents"] = [incident, {**incident, "status": "resolved", "group_id": "h",
                                                     "resolved_at": "2024-05-01T12:05:00.000Z"}]
        connection = http.client.HTTPConnection("127.0.0.1", console.port, timeout=10)
        connection.request("GET", "/incidents", headers={"Authorization": "Bearer console-test-token-0123456789"})
        html = connection.getresponse().read().decode()
        connection.close()
        assert "<h2>Open (1)</h2>" in html and "<h2>Resolved (1)</h2>" in html
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "APISEC-ABUSE-001" in html and "abuse.brute_force" in html


class TestTraceUrlConfig:
    @pytest.mark.parametrize("value", ["http://jaeger:16686/trace/{trace_id}", "https://t.example/x?id={trace_id}"])
    def test_accepted(self, value: str) -> None:
        """An http(s) URL with {trace_id} once."""
        assert console_config({"trace_url": value}).trace_url == value

    @pytest.mark.parametrize("value", ["jaeger/{trace_id}", "http://jaeger/trace/", "javascript:{trace_id}",
                                       "http://x/{trace_id}/{trace_id}", 7])
    def test_refused_naming_the_key(self, value: object) -> None:
        """Anything else is a config error naming service.console.trace_url."""
        with pytest.raises(ConfigError, match=r"service\.console\.trace_url"):
            console_config({"trace_url": value})
