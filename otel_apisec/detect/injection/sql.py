"""SQL injection: libinjection's tokenizer first, then RE2 heuristics for what it misses
(time-based blind, UNION probes, stacked queries, comment truncation, tautologies)."""

from __future__ import annotations

import libinjection
import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.patterns import compile_large
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

# Triggers lead with a character that clean JSON rarely holds (a quote, `)`, `;`, `(`) or a long
# keyword, with no unbounded gap in front of it, so Hyperscan's literal matcher does the work.
_KEYWORDS = r"or|and|xor|union|select|having|order|group|waitfor"
_FUNCTIONS = (r"sleep|benchmark|pg_sleep|extractvalue|updatexml|load_file|char|chr|concat|convert|cast|"
              r"substring|ascii|md5|randomblob")
TRIGGERS: tuple[Trigger, ...] = (
    # a quote closed, then SQL: `' or`, `')--`, `'-'`, `'union`, a lone `1'`; apostrophes inside
    # words (`O'Brien`, `it's`) do not count
    Trigger(r"'([^a-z0-9]|$|" + _KEYWORDS + r")", caseless=True),
    Trigger(r"`"),
    # `"`: inside a raw JSON body it opens a value after `:`, `,`, `[`, `{` or a space, so a
    # quote that closes something follows any other character
    Trigger(r"\"[ \t\x0b\x0c]|(^|\xff|[^:,\[{\s])\"([\r\n;=<>)&^*|+%#-]|/\*)"),
    # lone-quote probes (`1"`, `""`): the first thing error-based scanners send
    Trigger(r"(^|\xff)[\s\d]*\"{1,3}\\?\s*($|\xff)"),
    Trigger(r"\)\s*(" + _KEYWORDS + r"|--|#|/\*|\||&)", caseless=True),
    Trigger(r"\bunion\b[\s(/*!0-9]*(all|distinct|select)", caseless=True),
    Trigger(r"\bselect\b[^;]{0,200}\b(from|@@|version|user|database|"
        r"char|concat|sleep|benchmark|null|case)\b", caseless=True),
    Trigger(r"(" + _FUNCTIONS + r")[ \t]*\(", caseless=True),
    Trigger(r"waitfor\s+(delay|time)", caseless=True),
    Trigger(r"@@[a-z]|information_schema|xp_cmdshell|dbms_|utl_(http|inaddr)|sqlite_master|pg_catalog|sysobjects",
            caseless=True),
    # unquoted tautologies (`or 1=1`, `and true`); quoted ones hit the quote triggers
    Trigger(r"\b(or|and|having|where)\s+\(*\s*(\d+|true|false|null)\s*(=|<|>|!=|<>|\bis\b|\blike\b|--|#|$|\xff|\n|\")",
            caseless=True),
    Trigger(r"\b(order|group)\s+by\s+\d", caseless=True),
    Trigger(r";\s*(drop|select|insert|update|delete|exec|execute|"
        r"declare|shutdown|create|alter|truncate)\b", caseless=True),
    Trigger(r"/\*|\bcase\s+when\b|\binto\s+(out|dump)file\b", caseless=True),
    Trigger(r"\b(create\s+(table|user|database|procedure|function|login|view)|grant\s+\w+|backup\s+database"
            r"|drop\s+(table|database|user)|insert\s+into|delete\s+from|"
            r"truncate\s+table|exec(ute)?\s+(master|xp_|sp_)"
            r"|select\s+\w+\s*(;|$|\xff|\n)|like\s+['\"]%)", caseless=True),
    # typographic quotes and dashes (UTF-8 bytes) that some database collations read as ASCII
    Trigger(r"\xe2\x80[\x98\x99\xb2\x9c\x9d]\s*(or|and|\)|;|=|--)|"
        r"(or|and|=)\s*\xe2\x80[\x98\x99\xb2]|['\"]\s*\xe2\x80[\x93\x94]", caseless=True),
    Trigger(r"(^|\xff|\")\s*(or|and)\s+\w+\s*(=|<>|!=|like)", caseless=True),
    Trigger(r"\bselect\s+(\w+_\w+|version|user|database|schema|now)\s*\(", caseless=True),
    # keyword forms libinjection does not tokenise as SQL: a sub-select after an operator,
    # PostgreSQL COPY ... PROGRAM, T-SQL variables and dynamic SQL, SELECT ... INTO a variable
    Trigger(r"\(\s*select\b|\bprogram\s+['\"]|shutdown\s+with|declare\s+@|exec(ute)?\s*\(\s*@|into\s+@"
            r"|execute\s+immediate|against\s*\(|::\s*jsonb?\b", caseless=True),
)
_LIBINJECTION_CHARS = 4096
"""libinjection fingerprints the first few tokens only; the heuristics still see everything."""
# Typographic quotes and dashes, folded for the heuristics only.
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u2032": "'", "\u00b4": "'",
                       "\u201c": '"', "\u201d": '"',
                       "\u2013": "--", "\u2014": "--"})

# Heuristics run on the decoded text, with SQL comments glued and spaced.
_HEURISTICS = compile_large(
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
    r"|\b(and|or|xor|having|where)\s+[('\"]*\s*(\d+|'[^']{0,20}'|"
    r"\"[^\"]{0,20}\")\s*(=|<>|!=)\s*[('\"]*\s*(\d+|'|\"|\w+\s*\()"
    r"|['\")]\s*(and|or|xor)\s+[('\"]*\s*(\d+|'[^']{0,20}'|"
    r"\"[^\"]{0,20}\")\s*(<=?|>=?)\s*[('\"]*\s*(\d+|'|\"|\w+\s*\()"
    r"|\b(and|or)\s+(true|false|not\s+\d|\d+\s*(--|#|/\*|$)|\d+\s+is\s+not\s+null)"
    r"|['\"`]\s*\)*\s*(or|and|xor|\|\||&&)\s*[('\"]*\s*[\w'\"]+\s*[('\"]*\s*(=|"
    r"<>|!=|<|>|\blike\b|\bis\b|\bin\b|--|#)"
    r"|['\"`]\s*\)*\s*(or|and|xor|\|\||&&)\s+\w+\s*\("
    r"|['\"`]\s*\)*\s*(#|/\*|;\s*(--|#))"
    r"|['\"`]\s*\)*\s*(\+|\|\||-)\s*['\"(]?\s*[\w.]+\s*\("
    r"|['\")\d]\s*;\s*(drop|select|insert|update|delete|exec|"
    r"execute|declare|shutdown|create|alter|truncate|waitfor|if)\b"
    r"|^\s*;\s*(drop|shutdown|exec|execute|declare)\b"
    r"|\b(order|group)\s+by\s+\d+\s*(--|#|/\*|;|,|\)|$)"
    r"|\border\s+by\s+(if|sleep|case)\b"
    r"|\bhaving\s+\d+\s*=\s*\d+"
    r"|^\s*[(']*\s*select\s+[\w*@,\s().'\"]{1,200}\bfrom\s+[\w.\[\]]+\s*(\bwhere\b|--|#|;|\)|$)"
    r"|\bselect\s+(@@\w+|(user|database|version|current_user|"
    r"system_user|schema)\s*\(|\*\s+from\s+\w|null\s*,|\d+\s*,\s*\d+|count\s*\(|substring\s*\()"
    r"|\b(insert\s+into\s+[\w.]+\s*(\(|values|select)|delete\s+from\s+[\w.]+\s+where|"
    # UPDATE after something (`1; UPDATE`, `x')) UPDATE`): a statement the value opens with is SQL written
    # as text, not a break out of a literal
    r"\S[\s(]*\bupdate\s+[\w.]+\s+set\s+[\w.]+\s*=|drop\s+(table|database)\s+[\w.]+|"
    r"truncate\s+table\s+\w)"
    r"|\bexec(ute)?\s+(master\.|xp_|sp_)"
    r"|\bor\s+\d+\s*=\s*\d+"
    r"|^\s*['\")]*\s*(or|and)\s+\w+\s*(=|<>|!=|\blike\b)\s*\w+"
    r"|^\s*(['\"])\s*[-&^*|+/%]\s*['\"]\s*$|^\s*['\"]\s*(or|and)\s*['\"]"
    r"|\blike\s+['\"]%['\"]"
    r"|\bselect\s+(current_user|session_user|system_user|"
    r"user|database|version|@@\w+)\s*(\(\s*\))?\s*(;|--|#|$|\bfrom\b)"
    r"|\bcreate\s+(table|user|database|procedure|function|"
    r"trigger|login)\s+[\w.]+\s*(\(|\bidentified\b|\bas\b|\bwith\b)"
    r"|\bgrant\s+(connect|resource|dba|all|select|execute|insert|update|delete)\b[^;]{0,60}\bto\s+\w"
    r"|\bselect\s+(\w+_\w+|version|user|database|schema|now)\s*\([^)]{0,100}\)\s*(;|--|#|$|,|\bfrom\b)"
    r"|^\s*\d*\s*['\"`]{1,3}\\?\s*$|['\"]\s*=\s*['\"]\s*(or|and)\b|@@[a-z_]\w*"
    r"|\bbackup\s+database\s+\w+\s+to\b|\bexec(ute)?\s+(sp_|xp_)"
    # keyword forms libinjection does not tokenise as SQL (CRS 942 at paranoia level 1)
    r"|(\|\||&&|[-+*/=<>]|\b(and|or|xor|not|regexp|rlike|like|div|mod|in|exists|is))\s*\(+\s*select\s+[\w@*(]"
    r"|\bcopy\s+[\w.]+\s+(from|to)\s+['\"]/|\bcopy\s*\(\s*select\b.{0,200}\bto\s+program\s+['\"]|\bcopy\s+\w+\s+from\s+program\s+['\"]"
    r"|(^|;)\s*shutdown\s+with\s+nowait|\bdeclare\s+@\w+\s+(n?varchar|int|char|table|sysname|bigint|varbinary)\b"
    r"|\bexec(ute)?\s*\(\s*@\w+\s*\)|\blimit\s+\d+(\s*,\s*\d+)?\s+into\s+@\w|\bexecute\s+immediate\s+['\"]"
    r"|\bmatch\s*\([\w\s,.]{1,100}\)\s*against\s*\(\s*['\"]"
    r"|['\"][\[{][^'\"]{0,200}[\]}]['\"]\s*::\s*jsonb?\s*(@>|<@|->>?|#>>?|\?[|&]?)"
)
# A quote, closing parentheses, then `--` or a `;` ending the value (`admin'--`, `admin');`) close the
# query early, but only when the value leaves a quote or a parenthesis open for the query to close: a
# statement or line of code written whole (`SET a = 'b' -- note`, `f("a", g("b"));`) balances its own.
_TERMINATED = re2.compile(r"['\"`]\s*\)*\s*(;\s*$|--)")


def _closes_early(text: str) -> bool:
    for match in _TERMINATED.finditer(text):
        if text.count(match.group(0)[0]) % 2 == 1 or text.count(")") > text.count("("):
            return True
    return False


def check(view: View) -> str | None:
    """A message when the field holds SQL injection, else None."""
    for text in view.texts:
        if libinjection.is_sql_injection(text[:_LIBINJECTION_CHARS])["is_sqli"]:
            return "SQL injection syntax (libinjection tokenizer)"
    for text in view.sql_forms():
        text = text.translate(_FOLD) if not text.isascii() else text
        if _HEURISTICS.search(text) or _closes_early(text):
            return "SQL injection pattern (keyword heuristics)"
    return None
