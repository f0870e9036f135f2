"""Unit tests for the posture detector: scoping, one finding per check, spans, the error gate, bounded time."""

from __future__ import annotations

import time

import orjson
import pytest

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.posture import DETECTOR
from otel_apisec.detect.posture_errors import error_markers, find_sql_error, find_stack_trace
from otel_apisec.model import Finding
from otel_apisec.testing import make_exchange
from tests.cases.posture import HARDENED, PYTHON_TRACEBACK

# The 1 MB cases read it all. Every call runs every check: these are tests of the checks, not of
# when an endpoint's posture is checked again (tests/detect/test_posture_per_endpoint.py).
ANALYZER = Analyzer(DetectConfig(hmac_key=b"unit", max_body_bytes=1 << 20, posture_per_endpoint=False))


def run(exchange) -> list[Finding]:
    return list(DETECTOR(exchange, ANALYZER.context(exchange)))


class TestPostureDetector:
    def test_hardened_response_is_clean(self) -> None:
        """A response with every recommended header yields nothing."""
        assert run(make_exchange(response_headers=HARDENED, response_json={"ok": True})) == []

    def test_no_response_no_header_checks(self) -> None:
        """Without a response only request-side checks run."""
        findings = run(make_exchange("http://api.example.com/v1/users/7", status=None))
        assert sorted(f.kind for f in findings) == ["posture.plain_http", "posture.sequential_id"]

    def test_one_finding_per_check(self) -> None:
        """Three insecure cookies give one cookie_not_secure finding naming them."""
        headers = list(HARDENED.items()) + [("Set-Cookie", f"sid{i}=v; Path=/") for i in range(3)]
        findings = [
            f for f in run(make_exchange(response_headers=headers)) if f.kind == "posture.cookie_not_secure"
        ]
        assert len(findings) == 1 and "sid0, sid1, sid2" in findings[0].message

    def test_json_framing_is_info(self) -> None:
        """Framing and CSP gaps on JSON are info; on HTML they keep their low severity."""
        headers = {
            k: v for k, v in HARDENED.items() if k not in ("X-Frame-Options", "Content-Security-Policy")
        }
        findings = run(make_exchange(response_headers=headers, response_json={"ok": True}))
        assert {f.severity.label for f in findings} == {"info"}

    def test_stack_trace_span(self) -> None:
        """The stack-trace span points at the marker inside the body text."""
        body = 'oops\nTraceback (most recent call last):\n  File "/a.py", line 1, in f\n'
        exchange = make_exchange(status=500, response_headers=HARDENED, response_body=body)
        finding = next(f for f in run(exchange) if f.kind == "posture.stack_trace")
        start, end = finding.spans[0]
        assert body[start:end].startswith("Traceback") and "python" in finding.message

    def test_stack_trace_ignored_on_success(self) -> None:
        """A 200 documentation page quoting a traceback is not an error leak."""
        body = "Example: Traceback (most recent call last):"
        exchange = make_exchange(response_headers=HARDENED, response_body=body)
        assert [f.kind for f in run(exchange)] == []

    def test_large_pathological_body_is_fast(self) -> None:
        """A 1 MB error body built from near-miss fragments scans in well under 50 ms."""
        body = ("at com.x(" * 50_000 + 'File "' * 50_000 + "SQLSTATE" * 20_000)[:1_000_000]
        exchange = make_exchange(status=500, response_headers=HARDENED, response_body=body)
        start = time.perf_counter()
        run(exchange)
        assert time.perf_counter() - start < 0.05


class TestSequentialId:
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/reports/2024",
            "/archive/1999",
            "/stats/2019/2020",
            "/blog/2024/05/17/launch",
            "/v1/calendar/2024/12",
            "/api/2/users/me",
            "/v/3/schema",
            "/version/2/spec",
            "/posts/page/2",
        ],
    )
    def test_periods_and_versions_are_not_ids(self, path: str) -> None:
        """Years after period words, dates, year ranges, API versions and page numbers are not object IDs."""
        assert [f.kind for f in run(make_exchange(f"https://api.example.com{path}", status=None))] == []

    @pytest.mark.parametrize(
        ("path", "segment"),
        [("/v1/users/2024", "2024"), ("/v1/orders/7/items/2024", "7"), ("/v2/invoices/1989", "1989")],
    )
    def test_numeric_ids_still_fire(self, path: str, segment: str) -> None:
        """A year-like number after an ordinary collection name is still an object ID, spanned exactly."""
        findings = [f for f in run(make_exchange(f"https://api.example.com{path}", status=None))]
        assert [f.kind for f in findings] == ["posture.sequential_id"]
        start, end = findings[0].spans[0]
        assert path[start:end] == segment


class TestOncePerExchange:
    def test_each_check_fires_at_most_once(self) -> None:
        """Every posture rule fires at most once per exchange, even with many bad headers and cookies."""
        headers = [("Set-Cookie", f"sid{i}=v; Path=/") for i in range(5)] + [
            ("Server", "nginx/1.25.3"),
            ("X-Powered-By", "Express"),
            ("X-AspNet-Version", "4.0.30319"),
            ("Allow", "GET, TRACE"),
            ("Access-Control-Allow-Methods", "TRACE"),
        ]
        body = PYTHON_TRACEBACK + "SQLSTATE[42000] " * 3
        exchange = make_exchange(
            "http://api.example.com/v1/users/7/orders/9", status=500, response_headers=headers, response_body=body
        )
        kinds = [f.kind for f in run(exchange)]
        assert len(kinds) == len(set(kinds)) and len(kinds) >= 10

    def test_missing_headers_need_a_response(self) -> None:
        """Missing-header rules never fire on a request without a response, even over TLS."""
        findings = run(make_exchange("https://api.example.com/v1/users/me", status=None))
        assert not [f for f in findings if f.location.startswith("response.")]


# One positive example per alternative of each pattern in posture_errors.
STACK_TRACES = [
    ("python", "Traceback (most recent call last):"),
    ("python", 'File "/app/api.py", line 42, in get'),
    ("java", "at com.acme.orders.OrderService.find(OrderService.java:42)"),
    ("java", "at com.acme.Orders.find(Orders.kt:7)"),
    ("java", "at acme.Orders.find(Orders.scala:7)"),
    ("java", 'Exception in thread "main" oops'),
    ("java", "java.lang.NullPointerException"),
    ("java", "java.lang.OutOfMemoryError"),
    ("dotnet", r"at Acme.Api.OrdersController.Get(Int32 id) in C:\src\Orders.cs:line 42"),
    ("dotnet", "Server Error in '/' Application."),
    ("dotnet", "System.NullReferenceException: Object reference"),
    ("php", "PHP Fatal error:  Uncaught Error: Call to undefined function in /var/www/a.php on line 7"),
    ("php", "Parse error: syntax error, unexpected '}' in /var/www/b.php on line 2"),
    ("php", "Stack trace:\n#0 /var/www/a.php(7): f()"),
    ("node", "at Object.<anonymous> (/srv/app/index.js:1:1)"),
    ("node", "at Module._compile (node:internal/modules/cjs/loader:1256:14)"),
    ("node", "at run (node:internal/main/run_main_module:22:47)"),
    ("node", "at handler (/srv/app/routes/orders.js:10:5)"),
    ("node", "at handler (/srv/app/routes/orders.mjs:10:5)"),
    ("node", r"at handler (C:\srv\app\orders.cjs:10:5)"),
    ("node", "at OrdersService.find (/srv/app/src/orders.ts:3:4)"),
    ("ruby", "app/models/order.rb:12:in `find'"),
    ("go", "goroutine 1 [running]:"),
]
SQL_ERRORS = [
    ("mysql", "You have an error in your SQL syntax; check the manual"),
    ("mysql", "Warning: mysqli_query(): (HY000/1064)"),
    ("mysql", "Warning: mysql_fetch_array() expects parameter 1"),
    ("mysql", "com.mysql.jdbc.exceptions.jdbc4.CommunicationsException"),
    ("mysql", "MySql.Data.MySqlClient.MySqlException"),
    ("postgresql", "psycopg2.errors.UndefinedTable: relation does not exist"),
    ("postgresql", "psycopg.OperationalError: connection failed"),
    ("postgresql", "PG::SyntaxError: ERROR"),
    ("postgresql", 'ERROR: syntax error at or near "FROM"'),
    ("postgresql", "Npgsql.PostgresException: 42P01"),
    ("postgresql", "unterminated quoted string at or near \"'x\""),
    ("oracle", "ORA-00933: SQL command not properly ended"),
    ("oracle", "quoted string not properly terminated"),
    ("mssql", "Unclosed quotation mark after the character string 'x'."),
    ("mssql", "Microsoft OLE DB Provider for SQL Server error '80040e14'"),
    ("mssql", "[Microsoft][ODBC SQL Server Driver][SQL Server]Incorrect syntax"),
    ("mssql", "System.Data.SqlClient.SqlException: Invalid object name"),
    ("sqlite", "sqlite3.OperationalError: no such table: orders"),
    ("sqlite", "android.database.sqlite.SQLiteException: near"),
    ("sqlite", "SQLITE_ERROR: no such column"),
    ("generic", "SQLSTATE[42S22]: Column not found"),
    ("generic", "java.sql.SQLSyntaxErrorException: bad"),
    ("generic", "Uncaught PDOException: could not find driver"),
    ("generic", "org.hibernate.QueryException: could not resolve property"),
]


class TestErrorGate:
    @pytest.mark.parametrize(("family", "text"), STACK_TRACES)
    def test_stack_trace_gate_is_a_superset(self, family: str, text: str) -> None:
        """The literal gate flags the very span the stack-trace pattern matches, on error statuses."""
        found = find_stack_trace(text)
        assert found is not None and found[0] == family
        start, end = found[1]
        assert error_markers(text[start:end].encode(), stack_traces=True)[0]

    @pytest.mark.parametrize(("family", "text"), SQL_ERRORS)
    def test_sql_error_gate_is_a_superset(self, family: str, text: str) -> None:
        """The literal gate flags the very span the SQL-error pattern matches, with or without stack traces."""
        found = find_sql_error(text)
        assert found is not None and found[0] == family
        start, end = found[1]
        span = text[start:end].encode()
        assert error_markers(span, stack_traces=False)[1] and error_markers(span, stack_traces=True)[1]

    def test_every_family_has_examples(self) -> None:
        """The examples cover every named group of both patterns."""
        assert {f for f, _ in STACK_TRACES} == {"python", "java", "dotnet", "php", "node", "ruby", "go"}
        assert {f for f, _ in SQL_ERRORS} == {"mysql", "postgresql", "oracle", "mssql", "sqlite", "generic"}

    def test_clean_json_passes_the_gate(self) -> None:
        """A clean catalogue body triggers neither gate, so no RE2 pass runs on it."""
        body = orjson.dumps([{"id": i, "title": "Linen napkins", "price": 12.5, "tags": ["eco"]} for i in range(5000)])
        assert error_markers(body, stack_traces=True) == (False, False)

    def test_clean_megabyte_is_cheap(self) -> None:
        """The gate keeps a clean 1 MB body well under a millisecond per posture call on average."""
        body = orjson.dumps({"items": [{"id": i, "name": "Deluxe mug", "note": "ships fast"} for i in range(20_000)]})
        exchange = make_exchange(status=500, response_headers=HARDENED, response_body=body,
                                 response_content_type="application/json")
        run(exchange)
        start = time.perf_counter()
        for _ in range(20):
            run(exchange)
        assert (time.perf_counter() - start) / 20 < 0.005
