"""Cross-site scripting: libinjection's HTML5 tokenizer, then RE2 heuristics for active
markup (script-capable tags, event handlers, script URLs, CSS expressions)."""

from __future__ import annotations

import libinjection
import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.patterns import compile_large
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

TRIGGERS: tuple[Trigger, ...] = (
    Trigger(r"<[a-z!/?%]", caseless=True),
    Trigger(r"(javascript|vbscript|livescript|data)\s*:", caseless=True),
    Trigger(r"\bon[a-z]{3,}\s*=", caseless=True),
    Trigger(r"\b(alert|prompt|confirm|eval|expression|settimeout|setinterval|fromcharcode)\s*[(`]",
            caseless=True),
    Trigger(r"document\s*\.\s*(cookie|domain|location|write)|window\s*\.\s*location|\.innerhtml",
            caseless=True),
    Trigger(r"\xc2\xbc"),  # `¼`: 0xBC is `<` once a decoder drops the high bit
    # JavaScript without markup (injected into a script context)
    Trigger(r"(alert|prompt|confirm)\s*[,;)\]]", caseless=True),
    Trigger(r"\b(top|window|self|parent|globalthis|frames)\s*\[", caseless=True),
    Trigger(r"window\s*\.\s*open\s*\(|navigator\s*\.\s*\w+\s*\(|\blocation\s*=\s*['\"]|\.source\s*\+",
            caseless=True),
    # UTF-7 and escaped angle brackets
    Trigger(r"\+ADw-|\\(x3c|u003c|74|074)", caseless=True),
)

_TAG = (
    r"script|iframe|frame|frameset|object|embed|applet|svg|math|img|image|video|audio|source|body|"
    r"input|form|button|meta|link|style|base|marquee|isindex|xss|details|animate|set|x|a|"
    r"textarea|select|keygen|bgsound|layer|ilayer|html|xml|import|template|table|td|div|span|"
    r"frameset|title|plaintext|xmp|noscript|video|picture|portal|foreignobject|handler|listener"
)
_LIBINJECTION_CHARS = 1 << 16
"""libinjection's HTML5 tokenizer on the head of the field; the RE2 heuristics see all of it."""
_HEURISTICS = compile_large(
    "(?i)"
    r"<\s*/?\s*(script|iframe|frame|object|embed|applet|svg|"
    r"math|meta|base|xss|xml|import|portal|handler|listener|"
    r"foreignobject|bgsound|isindex|layer|ilayer)\b"
    r"|<[^>]{0,400}\bon[a-z]{3,}\s*=|<[^>]{0,400}[\s\"'/]on[a-z]{3,}\s*="
    r"|<\s*(" + _TAG + r")[\s/+][^>]{0,400}\b(src|href|action|formaction|data|xlink:href|background|lowsrc"
    r"|dynsrc|poster|to|values|from|by)\s*=\s*[\"'`]?\s*(javascript|vbscript|livescript|data|jav)"
    r"|(^|[\s\"'=(`])(javascript|vbscript|livescript)\s*:(\S|\s*[\w$.]+\s*[(\[=`])"
    r"|\bdata\s*:\s*(text/html|image/svg|application/(x-)?(javascript|xhtml)|text/(x-)?(javascript|xml))"
    r"|\bexpression\s*\(|-moz-binding|\bbehavior\s*:\s*url"
    r"|(alert|prompt|confirm)\s*(\(|`)|\bfromcharcode\s*\("
    r"|document\s*\.\s*(cookie|domain|location|write)|window\s*\.\s*location|\.innerhtml\s*="
    r"|\beval\s*\(|\bset(timeout|interval)\s*\(\s*['\"`]"
    r"|[\"'`]\s*>\s*<\s*[a-z]|<!--.{0,200}-->\s*<\s*[a-z]|<!\[cdata\["
    r"|[\x{bc}\x{ff1c}]\s*/?\s*script"
    r"|\bsrcdoc\s*=|<\s*style[^>]*>[^<]{0,400}(@import|url\s*\(|expression)"
    # markup that takes over a page even without script: documents, forms, style and raw-text breakouts
    r"|<\s*(html|head|body|form|input|textarea|style|template|"
    r"xmp|plaintext|noscript|feimage|xsl:\w+|title|isindex|keygen|option)\b"
    r"|<\s*/\s*(script|style|textarea|title|xmp|noscript|"
    r"template|iframe|noembed|noframes|plaintext|form|head|"
    r"html|body|select|option|svg|math|image|feimage|xsl:\w+|stylesheet|doc)\s*>"
    r"|<!(attlist|doctype|entity|element)\b|<\?\s*(php|echo|=|xml)|<%|\]\]>|<!\[endif\]"
    r"|\b(mocha|livescript)\s*:|\+ADw-"
    # script-context JavaScript: functions as values, computed property calls
    r"|\w\s*\(\s*(alert|prompt|confirm)\s*\)|=\s*(alert|prompt|"
    r"confirm)\s*[,;]|\(\s*(alert|prompt|confirm)\s*\)\s*\("
    r"|\b(top|window|self|parent|globalthis|frames)\s*\[[^\]]{1,80}\]\s*\(|window\s*\.\s*open\s*\("
    r"|navigator\s*\.\s*\w+\s*\(|\blocation\s*=\s*['\"]|\.source\s*\+"
)
# `</a>` closes a link the value did not open: a break out of the page's own anchor, or a link whose
# target is obfuscated (a numeric or encoded host, a split scheme). A plain link written in full, an
# http(s) URL with a DNS host name and only inert attributes, is markup in a comment; its active
# forms (event handlers, script URLs) are caught by the heuristics above.
_LINK_CLOSE = re2.compile(r"(?i)<\s*/\s*a\s*>")
_INERT_ATTR = r"\s+(class|title|rel|target|id|lang)\s*=\s*(\"[^\"<>]*\"|'[^'<>]*'|[\w-]+)"
_PLAIN_URL = r"https?://[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d{1,5})?(/[^\"'\s<>]*)?"
_PLAIN_LINK = re2.compile(
    r"(?i)<a(" + _INERT_ATTR + r")*\s+href\s*=\s*(\"" + _PLAIN_URL + r"\"|'" + _PLAIN_URL + r"'|" + _PLAIN_URL + r")"
    r"(" + _INERT_ATTR + r")*\s*>[^<]*<\s*/\s*a\s*>"
)
# An angle bracket written as an escape or numeric entity is obfuscation, not text.
_OBFUSCATED_BRACKET = re2.compile(r"(?i)&#0*(60|x0*3c);?|\\(x3c|u003c|74|074)|%3c|\+ADw-|^\s*&lt;?\s*$")


def check(view: View) -> str | None:
    """A message when the field holds script injection, else None."""
    for text in view.texts:
        if libinjection.is_xss(text[:_LIBINJECTION_CHARS])["is_xss"]:
            return "Script injection markup (libinjection HTML5 tokenizer)"
    if _HEURISTICS.search(view.decoded) or (view.decoded != view.raw and _HEURISTICS.search(view.raw)):
        return "Script injection pattern (markup heuristics)"
    if any(_LINK_CLOSE.search(_PLAIN_LINK.sub("", text)) for text in view.texts):
        return "Script injection pattern (markup heuristics)"
    if view.decoded != view.raw and "<" in view.decoded and _OBFUSCATED_BRACKET.search(view.raw):
        return "Obfuscated angle bracket (markup filter evasion probe)"
    return None
