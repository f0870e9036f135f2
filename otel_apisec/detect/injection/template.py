"""Server-side template injection (Jinja/Twig `{{ }}`, `${ }`, ERB `<%= %>`, Ruby `#{ }`,
Freemarker, Velocity, Smarty) and Log4Shell JNDI lookups with nested-lookup obfuscation."""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["SSTI_TRIGGERS", "JNDI_TRIGGERS", "check_jndi", "check_ssti", "resolve_lookups"]

SSTI_TRIGGERS: tuple[Trigger, ...] = (
    # plain literals first: a flood of `{{` or `${` must not re-run a pattern with a tail per match
    # `${` and `{$` are in the detector's shared triggers
    Trigger(r"\{\{|\{%|#\{|\*\{|@\(|<%|<#assign|<#list|<#if|\[#assign|\{php\}|\{if", caseless=True),
    Trigger(r"\$\w+\.\w+\(|#set\s*\(", caseless=True),
)
JNDI_TRIGGERS: tuple[Trigger, ...] = (  # `${` is in the detector's shared triggers
    Trigger(r"jndi\s*:", caseless=True),
)

# Expression content: arithmetic, attribute walks into dunders, calls, filters, Java classes.
_EXPRESSION = (
    r"\d+\s*[-*/+%]\s*['\"]?\d+|__\w+__|\.\s*\w+\s*\(|\w\s*\(|\|\s*\w+|\[\s*['\"\d]|\bT\s*\(|"
    r"\b(self|config|request|app|settings|session|dump|cycler|"
    r"joiner|namespace|lipsum|url_for|get_flashed_messages|_self|env)\b|"
    r"\bclass\b|getclass|forname|runtime|processbuilder|\bos\b|\bsystem\b|popen|\.\w+\.\w+|\?new\b"
)
# Template delimiters and what they enclose; the content is then checked for an expression.
_DELIMITED = re2.compile(r"\{\{([^}]+)\}\}|\$\{\{?([^}]+)\}|#\{([^}]+)\}|\*\{([^}]+)\}|<%[=-]?([^%]+)%>")
_EXPRESSION_RE = re2.compile("(?i)" + _EXPRESSION)
_DIRECTIVES = re2.compile(
    r"(?i)\{%[-+]?\s*(for|if|set|import|include|extends|macro|call|raw|debug|print|block)\b[^%]*%\}"
    r"|<#(assign|list|if|include)\b|\[#assign\b|freemarker\.template|\?new\s*\(\s*\)"
    r"|#set\s*\(\s*\$\w+\s*=|\$\w+\.(getclass|class|forname|getruntime)\b"
    r"|\{php\}|\{\$smarty\.|\{(if|system|include)\s+[^}]*\}"
    r"|@\(\s*\d+\s*[-*/+]\s*\d+\s*\)|\{\{\s*\d+\s*\}\}\s*\[\["
)
_MAX_BLOCKS = 64
"""Delimited blocks examined per text: real payloads have a few, padding has thousands."""


def _has_expression(text: str) -> bool:
    for count, match in enumerate(_DELIMITED.finditer(text)):
        if count >= _MAX_BLOCKS:
            break
        content = next(group for group in match.groups() if group is not None)
        if _EXPRESSION_RE.search(content):
            return True
    return False


_LOOKUP_START = "${"
_MAX_DEPTH = 16
_MAX_TOKENS = 512
_LOOKUP_TOKEN = re2.compile(r"\$\{|\}")
_JNDI = re2.compile(r"(?i)\$\{\s*jndi\s*:\s*(ldaps?|rmi|dns|nis|iiop|corba|nds|https?|ldap)?")


def check_ssti(view: View) -> str | None:
    """A message when the field holds a template expression, else None."""
    for text in view.texts:
        if _DIRECTIVES.search(text) or _has_expression(text):
            return "Template expression in request input"
    return None


def resolve_lookups(text: str, max_depth: int = _MAX_DEPTH) -> str:
    """Log4j-style lookups collapsed to what they produce, innermost first:
    `${lower:J}` -> `j`, `${env:X:-n}` -> `n`, `${::-d}` -> `d`; others kept as written.

    One pass with a stack of open `${` offsets into the output; nesting deeper than
    `max_depth` stays literal, so each character is re-copied at most `max_depth` times."""
    if _LOOKUP_START not in text:
        return text
    out: list[str] = []
    opened: list[int] = []
    position = 0
    for count, match in enumerate(_LOOKUP_TOKEN.finditer(text)):
        if count >= _MAX_TOKENS:  # real payloads are short; padding stays literal
            break
        start, end = match.span()
        out.append(text[position:start])
        position = end
        if match.group(0) == "${":
            out.append("${")
            if len(opened) < max_depth:
                opened.append(len(out))
            continue
        if not opened:
            out.append("}")
            continue
        first = opened.pop()
        value = _lookup_value("".join(out[first:]))
        del out[first - 1:]
        out.append(value)
    out.append(text[position:])
    return "".join(out)


# Lookups that expand to environment data: for matching, they produce nothing.
_VALUE_LOOKUPS = frozenset({
    "env", "sys", "date", "ctx", "main", "map", "sd", "java", "marker", "bundle", "base64", "web", "docker",
    "k8s", "spring", "log4j", "event", "jvmrunargs",
})


def _lookup_value(inner: str) -> str:
    prefix, sep, rest = inner.partition(":")
    key = prefix.strip().lower()
    if sep and key in ("lower", "upper"):
        return rest.lower()
    default = inner.find(":-")
    if default >= 0:
        return inner[default + 2:]
    if sep and key in ("jndi",):
        return "${" + inner + "}"
    if sep and key in _VALUE_LOOKUPS:
        return ""
    return "${" + inner + "}"


def check_jndi(view: View) -> str | None:
    """A message when the field holds a JNDI lookup, plain or obfuscated, else None."""
    for text in view.texts:
        if "${" not in text:
            continue
        if _JNDI.search(text) or _JNDI.search(resolve_lookups(text)):
            return "JNDI lookup (Log4Shell) in request input"
    return None
