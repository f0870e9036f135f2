"""Regression cases for the response-posture rules (APISEC-POS-*)."""

from __future__ import annotations

from otel_apisec.testing import make_exchange
from tests.cases import Case

API = "https://api.example.com/v1/orders"
HARDENED = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "RateLimit-Limit": "100",
    "Content-Type": "application/json",
}
HTML = "<html><body>Hello</body></html>"
PYTHON_TRACEBACK = 'Traceback (most recent call last):\n  File "/app/api.py", line 42, in get\nKeyError: 1\n'



def hardened(
    url: str = API,
    method: str = "GET",
    status: int = 200,
    extra: dict | None = None,
    drop: tuple[str, ...] = (),
    **kwargs: object,
) -> object:
    """A response with every security header, minus `drop`, plus `extra`."""
    headers = {k: v for k, v in HARDENED.items() if k not in drop} | (extra or {})
    kwargs.setdefault("response_json", {"ok": True})
    return make_exchange(url, method, status=status, response_headers=headers, **kwargs)


def cookie(value: str) -> object:
    return hardened(extra={"Set-Cookie": value})


def html(drop: tuple[str, ...]) -> object:
    headers = {k: v for k, v in HARDENED.items() if k not in drop} | {"Content-Type": "text/html"}
    return make_exchange(API, response_headers=headers, response_body=HTML, response_content_type="text/html")


CASES = [
    Case(
        "APISEC-POS-001",
        True,
        "API over plain HTTP",
        hardened("http://api.example.com/v1/orders"),
        "request.path",
    ),
    Case(
        "APISEC-POS-001",
        False,
        "plain HTTP on loopback (sidecar hop)",
        hardened("http://localhost:8080/healthz"),
    ),
    Case("APISEC-POS-001", False, "HTTPS", hardened()),
    Case(
        "APISEC-POS-002",
        True,
        "HTTPS without HSTS",
        hardened(drop=("Strict-Transport-Security",)),
        "response.header.strict-transport-security",
    ),
    Case(
        "APISEC-POS-002",
        True,
        "HSTS max-age=0",
        hardened(extra={"Strict-Transport-Security": "max-age=0"}),
        "response.header.strict-transport-security",
    ),
    Case("APISEC-POS-002", False, "HSTS for a year", hardened()),
    Case(
        "APISEC-POS-003",
        True,
        "no X-Content-Type-Options",
        hardened(drop=("X-Content-Type-Options",)),
        "response.header.x-content-type-options",
    ),
    Case(
        "APISEC-POS-003",
        False,
        "nosniff present (any case)",
        hardened(extra={"X-Content-Type-Options": "NoSniff"}),
    ),
    Case(
        "APISEC-POS-004",
        True,
        "HTML page without framing protection",
        html(("X-Frame-Options", "Content-Security-Policy")),
        "response.header.x-frame-options",
    ),
    Case(
        "APISEC-POS-004", False, "CSP frame-ancestors instead of X-Frame-Options", html(("X-Frame-Options",))
    ),
    Case(
        "APISEC-POS-005",
        True,
        "HTML page without CSP",
        html(("Content-Security-Policy",)),
        "response.header.content-security-policy",
    ),
    Case("APISEC-POS-005", False, "CSP present", html(())),
    Case(
        "APISEC-POS-006",
        True,
        "ACAO * with credentials",
        hardened(extra={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}),
        "response.header.access-control-allow-origin",
    ),
    Case(
        "APISEC-POS-006",
        False,
        "public API: ACAO * without credentials",
        hardened(extra={"Access-Control-Allow-Origin": "*"}),
    ),
    Case(
        "APISEC-POS-007",
        True,
        "cross-site Origin reflected with credentials",
        hardened(
            headers={"Origin": "https://evil.example.net"},
            extra={
                "Access-Control-Allow-Origin": "https://evil.example.net",
                "Access-Control-Allow-Credentials": "true",
            },
        ),
        "response.header.access-control-allow-origin",
    ),
    Case(
        "APISEC-POS-007",
        True,
        "null origin allowed with credentials",
        hardened(
            headers={"Origin": "null"},
            extra={"Access-Control-Allow-Origin": "null", "Access-Control-Allow-Credentials": "true"},
        ),
        "response.header.access-control-allow-origin",
    ),
    Case(
        "APISEC-POS-007",
        False,
        "same-site front end allowed with credentials",
        hardened(
            headers={"Origin": "https://app.example.com"},
            extra={
                "Access-Control-Allow-Origin": "https://app.example.com",
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin",
            },
        ),
    ),
    Case(
        "APISEC-POS-008",
        True,
        "session cookie without Secure",
        cookie("sessionid=abc123; Path=/; HttpOnly; SameSite=Lax"),
        "response.header.set-cookie",
    ),
    Case("APISEC-POS-008", False, "cookie deletion without Secure", cookie("sessionid=; Max-Age=0; Path=/")),
    Case(
        "APISEC-POS-008",
        False,
        "fully flagged cookie",
        cookie("sessionid=abc123; Path=/; Secure; HttpOnly; SameSite=Lax"),
    ),
    Case(
        "APISEC-POS-009",
        True,
        "session cookie readable by scripts",
        cookie("JSESSIONID=abc123; Path=/; Secure; SameSite=Lax"),
        "response.header.set-cookie",
    ),
    Case("APISEC-POS-009", False, "preference cookie without HttpOnly", cookie("theme=dark; Path=/; Secure")),
    Case(
        "APISEC-POS-010",
        True,
        "session cookie without SameSite",
        cookie("connect.sid=s%3Aabc; Path=/; Secure; HttpOnly"),
        "response.header.set-cookie",
    ),
    Case(
        "APISEC-POS-010",
        False,
        "session cookie with SameSite=Strict",
        cookie("connect.sid=s%3Aabc; Path=/; Secure; HttpOnly; SameSite=Strict"),
    ),
    Case(
        "APISEC-POS-011",
        True,
        "Server header with version",
        hardened(extra={"Server": "Apache/2.4.41 (Ubuntu)"}),
        "response.header.server",
    ),
    Case("APISEC-POS-011", False, "Server header without version", hardened(extra={"Server": "nginx"})),
    Case(
        "APISEC-POS-012",
        True,
        "X-Powered-By banner",
        hardened(extra={"X-Powered-By": "PHP/8.1.2"}),
        "response.header.x-powered-by",
    ),
    Case("APISEC-POS-012", False, "only a request ID header", hardened(extra={"X-Request-Id": "7f1c2e"})),
    Case(
        "APISEC-POS-013",
        True,
        "500 with a Python traceback",
        hardened(
            status=500,
            response_json=None,
            response_content_type="text/plain",
            response_body=PYTHON_TRACEBACK,
        ),
        "response.body",
    ),
    Case(
        "APISEC-POS-013",
        True,
        "500 with a Java stack trace",
        hardened(
            status=500,
            response_json={
                "error": "NPE",
                "trace": "java.lang.NullPointerException\n\tat "
                "com.example.api.OrderController.get(OrderController.java:57)",
            },
        ),
        "response.body",
    ),
    Case(
        "APISEC-POS-013",
        False,
        "500 with a generic error and a trace id",
        hardened(
            status=500,
            response_json={"error": "internal error", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
        ),
    ),
    Case(
        "APISEC-POS-014",
        True,
        "MySQL syntax error in a 500",
        hardened(
            status=500, response_json={"error": "You have an error in your SQL syntax; check the manual"}
        ),
        "response.body",
    ),
    Case(
        "APISEC-POS-014",
        True,
        "PDO SQLSTATE in a 200",
        hardened(response_json={"message": "SQLSTATE[42S22]: Column not found"}),
        "response.body",
    ),
    Case(
        "APISEC-POS-014",
        False,
        "article about SQL errors",
        hardened(response_json={"title": "How to read errors in SQL syntax", "tags": ["sql", "oracle"]}),
    ),
    Case(
        "APISEC-POS-015",
        True,
        "numeric user ID in the path",
        hardened("https://api.example.com/v1/users/42"),
        "request.path",
    ),
    Case(
        "APISEC-POS-015",
        False,
        "UUID object ID",
        hardened("https://api.example.com/v1/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
    ),
    Case(
        "APISEC-POS-015",
        False,
        "numeric API version segment",
        hardened("https://api.example.com/api/2/users/me"),
    ),
    Case(
        "APISEC-POS-015",
        False,
        "yearly report path (a period, not an object ID)",
        hardened("https://api.example.com/v1/reports/2024"),
    ),
    Case(
        "APISEC-POS-015",
        False,
        "dated archive path",
        hardened("https://api.example.com/v1/blog/2024/05/17/launch-notes"),
    ),
    Case(
        "APISEC-POS-016",
        True,
        "no rate-limit headers",
        hardened(drop=("RateLimit-Limit",)),
        "response.header.ratelimit",
    ),
    Case(
        "APISEC-POS-016",
        False,
        "X-RateLimit-Remaining present",
        hardened(drop=("RateLimit-Limit",), extra={"X-RateLimit-Remaining": "99"}),
    ),
    Case(
        "APISEC-POS-017",
        True,
        "TRACE answered 200",
        hardened(method="TRACE", response_json=None),
        "request.path",
    ),
    Case(
        "APISEC-POS-017",
        False,
        "TRACE refused with 405",
        hardened(method="TRACE", status=405, response_json=None, extra={"Allow": "GET, POST"}),
    ),
    Case(
        "APISEC-POS-017",
        False,
        "Allow header lists TRACE (the endpoint's fact, APISEC-POS-018)",
        hardened(method="OPTIONS", response_json=None, extra={"Allow": "GET, POST, TRACE"}),
    ),
    Case(
        "APISEC-POS-018",
        True,
        "Allow header lists TRACE",
        hardened(method="OPTIONS", response_json=None, extra={"Allow": "GET, POST, TRACE"}),
        "response.header.allow",
    ),
    Case(
        "APISEC-POS-018",
        True,
        "CORS preflight allows TRACK",
        hardened(method="OPTIONS", response_json=None, extra={"Access-Control-Allow-Methods": "GET, track"}),
        "response.header.access-control-allow-methods",
    ),
    Case(
        "APISEC-POS-018",
        False,
        "Allow header without TRACE",
        hardened(method="OPTIONS", response_json=None, extra={"Allow": "GET, POST, OPTIONS"}),
    ),
]
