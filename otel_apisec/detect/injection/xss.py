"""Cross-site scripting: libinjection's HTML5 tokenizer, then RE2 heuristics for active
markup (script-capable tags, event handlers, script URLs, CSS expressions)."""

from __future__ import annotations

import libinjection
import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

TRIGGERS: tuple[Trigger, ...] = (
    Trigger(r"<[a-z!/?%]", caseless=True),
    Trigger(r"(javascript|vbscript|livescript|data)\s*:", caseless=True),
    Trigger(r"\bon[a-z]{3,}\s*=", caseless=True),
    Trigger(r"\b(alert|prompt|confirm|eval|expression|settimeout|setinterval|fromcharcode)\s*[(`]", caseless=True),
    Trigger(r"document\s*\.\s*(cookie|domain|location|write)|window\s*\.\s*location|\.innerhtml", caseless=True),
    Trigger(r"\xbc"),
)

_TAG = (
    r"script|iframe|frame|frameset|object|embed|applet|svg|math|img|image|video|audio|source|body|"
    r"input|form|button|meta|link|style|base|marquee|isindex|xss|details|animate|set|x|a|"
    r"textarea|select|keygen|bgsound|layer|ilayer|html|xml|import|template|table|td|div|span|"
    r"frameset|title|plaintext|xmp|noscript|video|picture|portal|foreignobject|handler|listener"
)
_HEURISTICS = re2.compile(
    "(?i)"
    r"<\s*/?\s*(script|iframe|frame|object|embed|applet|svg|math|meta|base|xss|xml|import|portal|handler|listener|foreignobject|bgsound|isindex|layer|ilayer)\b"
    r"|<[^>]{0,400}\bon[a-z]{3,}\s*=|<[^>]{0,400}[\s\"'/]on[a-z]{3,}\s*="
    r"|<\s*(" + _TAG + r")[\s/+][^>]{0,400}\b(src|href|action|formaction|data|xlink:href|background|lowsrc|dynsrc|poster|to|values|from|by)\s*=\s*[\"'`]?\s*(javascript|vbscript|livescript|data|jav)"
    r"|(^|[\s\"'=(`])(javascript|vbscript|livescript)\s*:"
    r"|\bdata\s*:\s*(text/html|image/svg|application/(x-)?(javascript|xhtml)|text/(x-)?(javascript|xml))"
    r"|\bexpression\s*\(|-moz-binding|\bbehavior\s*:\s*url"
    r"|(alert|prompt|confirm)\s*(\(|`)|\bfromcharcode\s*\("
    r"|document\s*\.\s*(cookie|domain|location|write)|window\s*\.\s*location|\.innerhtml\s*="
    r"|\beval\s*\(|\bset(timeout|interval)\s*\(\s*['\"`]"
    r"|[\"'`]\s*>\s*<\s*[a-z]|<!--.{0,200}-->\s*<\s*[a-z]|<!\[cdata\["
    r"|[\x{bc}\x{ff1c}]\s*/?\s*script"
    r"|\bsrcdoc\s*=|<\s*style[^>]*>[^<]{0,400}(@import|url\s*\(|expression)"
)


def check(view: View) -> str | None:
    """A message when the field holds script injection, else None."""
    for text in view.texts:
        if libinjection.is_xss(text)["is_xss"]:
            return "Script injection markup (libinjection HTML5 tokenizer)"
    if _HEURISTICS.search(view.decoded) or (view.decoded != view.raw and _HEURISTICS.search(view.raw)):
        return "Script injection pattern (markup heuristics)"
    return None
