"""Stack traces and database error messages leaked in response bodies, found in one RE2 pass each.

Each alternative is a named group so the finding can say which platform leaked, without quoting
the body. No counted repetitions (they multiply RE2's program size and exhaust its DFA memory).

RE2 still costs ~1-2 ms per MB, so `error_markers` first looks for literals in the raw bytes with
one Hyperscan literal scan (~0.2 ms/MB): every alternative of both patterns contains one of them
(tests/detect/test_posture.py checks that against a positive example of each alternative).
"""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import PatternSet, Trigger

__all__ = ["error_markers", "find_sql_error", "find_stack_trace"]

_STACK_TRACES = re2.compile(
    "|".join(
        (
            r"(?P<python>Traceback \(most recent call last\)|File \"[^\"\n]+\", line \d+, in )",
            r"(?P<java>\bat [\w$]+\.[\w$.<>]+\([\w$]+\.(?:java|kt|scala):\d+\)"
            r"|Exception in thread \"|\bjava\.lang\.\w+(?:Exception|Error)\b)",
            r"(?P<dotnet>\bat [\w.`<>\[\],]+\([^()\n]*\) in [^\n]+:line \d+"
            r"|Server Error in '[^'\n]*' Application|\bSystem\.\w+Exception\b)",
            r"(?P<php>(?:PHP )?(?:Fatal error|Parse error)\b[^\n]* on line \d+|Stack trace:\s*#0 )",
            r"(?P<node>\bat Object\.<anonymous> \(|\bat Module\._compile\b|\(node:internal/"
            r"|\bat [\w.<>$]+ \((?:/|[A-Za-z]:\\)[^()\n]+\.(?:js|mjs|cjs|ts):\d+:\d+\))",
            r"(?P<ruby>\.rb:\d+:in `)",
            r"(?P<go>goroutine \d+ \[running\]:)",
        )
    )
)

_SQL_ERRORS = re2.compile(
    "|".join(
        (
            r"(?P<mysql>You have an error in your SQL syntax|\bWarning: mysqli?_|com\.mysql\.jdbc"
            r"|MySqlException)",
            r"(?P<postgresql>\bpsycopg2?\.(?:errors\.)?\w+|\bPG::\w+Error|syntax error at or near \""
            r"|\bNpgsql\.|unterminated quoted string at or near)",
            r"(?P<oracle>\bORA-\d{5}\b|quoted string not properly terminated)",
            r"(?P<mssql>Unclosed quotation mark after the character string|Microsoft OLE DB Provider for"
            r"|\[Microsoft\]\[ODBC|\bSqlException\b)",
            r"(?P<sqlite>sqlite3\.OperationalError|SQLiteException|SQLITE_ERROR)",
            r"(?P<generic>SQLSTATE\[\w+\]|\bjava\.sql\.SQL\w*Exception|\bPDOException\b"
            r"|\borg\.hibernate\.\w+Exception)",
        )
    )
)


# Case-sensitive like the patterns. Few and short on purpose: scan time grows with their number.
STACK_TRACE_LITERALS = (
    "Traceback (", "line ",  # python; also dotnet `:line N` and php `on line N`
    ".java:", ".kt:", ".scala:", "Exception", "java.lang.",  # jvm; `Exception` also System.*Exception
    "Server Error in ",  # asp.net
    "Stack trace:",  # php
    "Object.<anonymous>", "Module._compile", "(node:internal/", "js:", ".ts:",  # node
    ":in `",  # ruby
    "[running]:",  # go
)
SQL_ERROR_LITERALS = (
    "SQL", "sql", "Sql",  # mysql, sqlite, SQLSTATE, java.sql, Npgsql, SqlException
    "psycopg", "PG::", "syntax error", "quot", "ORA-", "Microsoft", "PDOException", "hibernate",
)
_SQL_GATE = PatternSet([Trigger(re2.escape(s)) for s in SQL_ERROR_LITERALS])
_ANY_GATE = PatternSet([Trigger(re2.escape(s)) for s in SQL_ERROR_LITERALS + STACK_TRACE_LITERALS])


def error_markers(data: bytes, stack_traces: bool) -> tuple[bool, bool]:
    """(may hold a stack trace, may hold a database error) for raw body bytes; never a false no.

    Bytes are enough: UTF-8 decoding with replacement never creates or removes an ASCII char.
    `stack_traces=False` skips the stack-trace literals (they matter only on error statuses).
    """
    gate = _ANY_GATE if stack_traces else _SQL_GATE
    hits = {trigger for _, trigger in gate.scan([data])}
    sql = any(trigger < len(SQL_ERROR_LITERALS) for trigger in hits)
    return any(trigger >= len(SQL_ERROR_LITERALS) for trigger in hits), sql


def _first_family(pattern: re2._Regexp, text: str) -> tuple[str, tuple[int, int]] | None:
    match = pattern.search(text)
    if match is None:
        return None
    return match.lastgroup or "unknown", match.span()


def find_stack_trace(text: str) -> tuple[str, tuple[int, int]] | None:
    """(platform, span) of the first stack-trace marker in `text`, or None."""
    return _first_family(_STACK_TRACES, text)


def find_sql_error(text: str) -> tuple[str, tuple[int, int]] | None:
    """(database, span) of the first database error message in `text`, or None."""
    return _first_family(_SQL_ERRORS, text)
