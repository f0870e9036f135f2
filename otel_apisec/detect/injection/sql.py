"""SQL injection: libinjection's tokenizer first, then RE2 heuristics for what it misses
(time-based blind, UNION probes, stacked queries, comment truncation, tautologies)."""

from __future__ import annotations

import libinjection
import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

TRIGGERS: tuple[Trigger, ...] = (
    # a quote or bracket closed, then SQL: `' or`, `')--`, `" union`, `';`
    Trigger(r"['\"`)]\s*(or|and|xor|union|select|having|order|group|waitfor|;|--|#|/\*|\|\||&&|\+|=|<|>)", caseless=True),
    Trigger(r"\bunion\b[\s(/*!0-9]*(all|distinct|select)", caseless=True),
    Trigger(r"\bselect\b[^;]{0,200}\b(from|@@|version|user|database|char|concat|sleep|benchmark|null|case)\b", caseless=True),
    Trigger(r"\b(sleep|benchmark|pg_sleep|extractvalue|updatexml|load_file|char|chr|concat|convert|cast|substring|ascii|if|iif|md5|count|exp|randomblob)\s*\(", caseless=True),
    Trigger(r"\bwaitfor\s+(delay|time)|@@[a-z]|information_schema|xp_cmdshell|dbms_|utl_(http|inaddr)|sqlite_master|pg_catalog|sysobjects", caseless=True),
    Trigger(r"\b(or|and|having|where)\s+[('\"]*\s*(\d+|true|false|null|'[^']{0,20}'|\"[^\"]{0,20}\")\s*(=|<|>|!=|<>|\bis\b|\blike\b|--|#|$|\n|\")", caseless=True),
    Trigger(r"\b(order|group)\s+by\s+\d", caseless=True),
    Trigger(r";\s*(drop|select|insert|update|delete|exec|execute|declare|shutdown|create|alter|truncate)\b", caseless=True),
    Trigger(r"/\*.*\*/|\bcase\s+when\b|\binto\s+(out|dump)file\b", caseless=True),
)

# Heuristics run on the decoded text, with SQL comments glued and spaced.
_HEURISTICS = re2.compile(
    "(?i)"
    r"\bunion(\s+(all|distinct))?[\s(]*select\b"
    r"|\b(sleep|pg_sleep)\s*\(\s*['\"]?\d"
    r"|\bbenchmark\s*\(\s*\d+\s*,"
    r"|\bwaitfor\s+(delay|time)\s+['\"]"
    r"|\bdbms_(pipe\.receive_message|lock\.sleep)\s*\("
    r"|\brandomblob\s*\(\s*\d"
    r"|@@(version|servername|hostname|datadir|basedir|identity|spid|language|max_connections)\b"
    r"|\binformation_schema\b|\bxp_cmdshell\b|\bsqlite_master\b|\bpg_catalog\b|\bsysobjects\b"
    r"|\butl_(http|inaddr)\.|\binto\s+(out|dump)file\b|\bload_file\s*\("
    r"|\b(extractvalue|updatexml)\s*\(|\bconvert\s*\(\s*int\s*,"
    r"|\bchar\s*\(\s*\d+\s*\)\s*(\+|\|\|)|\bchr\s*\(\s*\d+\s*\)\s*\|\|"
    r"|\bcase\s+when\b.{0,200}\bthen\b"
    r"|\b(and|or|xor|having|where)\s+[('\"]*\s*(\d+|'[^']{0,20}'|\"[^\"]{0,20}\")\s*(=|<>|!=|<=?|>=?)\s*[('\"]*\s*(\d+|'|\"|\w+\s*\()"
    r"|\b(and|or)\s+(true|false|not\s+\d|\d+\s*(--|#|/\*|$)|\d+\s+is\s+not\s+null)"
    r"|['\"`]\s*\)*\s*(or|and|xor|\|\||&&)\s*[('\"]*\s*[\w'\"]+\s*[('\"]*\s*(=|<>|!=|<|>|\blike\b|\bis\b|\bin\b|--|#)"
    r"|['\"`]\s*\)*\s*(or|and|xor|\|\||&&)\s+\w+\s*\("
    r"|['\"`]\s*\)*\s*(--|#|/\*|;\s*(--|#|$))"
    r"|['\"`]\s*\)*\s*(\+|\|\||-)\s*['\"(]?\s*\w+\s*\("
    r"|['\")\d]\s*;\s*(drop|select|insert|update|delete|exec|execute|declare|shutdown|create|alter|truncate|waitfor|if)\b"
    r"|^\s*;\s*(drop|shutdown|exec|execute|declare)\b"
    r"|\b(order|group)\s+by\s+\d+\s*(--|#|/\*|;|,|\)|$)"
    r"|\border\s+by\s+(if|sleep|case)\b"
    r"|\bhaving\s+\d+\s*=\s*\d+"
    r"|^\s*[(']*\s*select\s+[\w*@,\s().'\"]{1,200}\bfrom\s+[\w.\[\]]+\s*(\bwhere\b|--|#|;|\)|$)"
    r"|\bselect\s+(@@\w+|(user|database|version|current_user|system_user|schema)\s*\(|\*\s+from\s+\w|null\s*,|\d+\s*,\s*\d+|count\s*\(|substring\s*\()"
    r"|\b(insert\s+into\s+[\w.]+\s*(\(|values|select)|delete\s+from\s+[\w.]+\s+where|update\s+[\w.]+\s+set\s+[\w.]+\s*=|drop\s+(table|database)\s+[\w.]+|truncate\s+table\s+\w)"
    r"|\bexec(ute)?\s+(master\.|xp_|sp_)"
    r"|\bor\s+\d+\s*=\s*\d+"
)


def check(view: View) -> str | None:
    """A message when the field holds SQL injection, else None."""
    for text in view.texts:
        if libinjection.is_sql_injection(text)["is_sqli"]:
            return "SQL injection syntax (libinjection tokenizer)"
    for text in view.sql_forms():
        if _HEURISTICS.search(text):
            return "SQL injection pattern (keyword heuristics)"
    return None
