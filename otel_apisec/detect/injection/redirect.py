"""Open redirect: a redirect-ish parameter (`next`, `url`, `return_to`, ...) holding a URL
that leaves the site: absolute or scheme-relative (`//evil`) to another host, backslash tricks
(`/\\evil`) or a script URL. A target on the request's own host, or a relative path, stays on
the site. OAuth's `redirect_uri` is absolute by design and checked against a registered list
by the authorization server, so it is not in the list. Generic names (`url`) count only as
query parameters: in JSON bodies they are usually links stored as data."""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.fields import Field, Source
from otel_apisec.detect.injection.view import View

__all__ = ["REDIRECT_NAMES", "TRIGGERS", "applies", "check"]

REDIRECT_NAMES = frozenset({
    "next", "url", "uri", "redirect", "redirect_url", "redirecturl", "redirect_to", "redirectto",
    "redir", "rurl", "return", "return_to", "returnto", "return_url", "returnurl", "returnuri",
    "return_path", "returnpath", "continue", "continueto", "dest", "destination", "goto", "go", "to",
    "target", "out", "forward", "forward_url", "success_url", "successurl", "failure_url",
    "cancel_url", "back", "backurl", "back_url", "exit_url", "checkout_url", "logout_url",
    "login_url", "redirect_after_login", "post_login_redirect", "relaystate", "continue_url", "done",
})
"""Query parameters that web frameworks commonly redirect to."""
_GENERIC = frozenset({
    "next", "url", "uri", "to", "go", "target", "out", "back", "done", "dest", "destination",
})
"""Names that in JSON bodies usually hold links as data (pagination `next`), not redirect targets."""

TRIGGERS: tuple[Trigger, ...] = (
    # a value opening with a scheme or two slashes (tabs and newlines inside a scheme are dropped
    # by URL parsers, so they may split it)
    Trigger(r"(^|\xff)\s*([/\\]\s*[/\\]|/+\s*[a-z]|[a-z][a-z0-9+.\-\t\r\n]{0,30}:)", caseless=True),
    # the same values inside a raw JSON body, after their key: the match ends inside the value,
    # which is how the analyzer tells which string it hit
    Trigger(r"(redirect|redir|rurl|return|goto|forward|success_?url|failure_?url|cancel_?url|continue|"
        r"back_?url|exit_?url|checkout_?url|logout_?url|login_?url|relaystate)[\w-]{0,12}\"\s*:\s*\"\s*"
        r"([/\\]|[a-z][a-z0-9+.\-\t\r\n]{0,30}:)", caseless=True),
)

_MAX_CHARS = 2048
"""A redirect target is a URL: only its head decides where it goes."""
_URL_WHITESPACE = str.maketrans("", "", "\t\r\n")
"""What URL parsers delete anywhere in a URL (`java\\nscript:`)."""
_SCRIPT = re2.compile(r"(?i)^[\s/\\]*(javascript|vbscript|data)\s*:")
_ESCAPING = re2.compile(
    r"(?i)^\s*([/\\][\s/\\]*[/\\]|/+https?:|https?:[/\\]*[^/\\]|[a-z][a-z0-9+.-]{1,15}:[/\\]{2})"
)
_AUTHORITY = re2.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.-]{0,15}:)?[\s/\\]*([^/\\?#\s]*)")


def applies(field: Field) -> bool:
    """Only values of redirect parameters; generic names only in the query string."""
    name = (field.name or "").lower()
    if field.is_key or name not in REDIRECT_NAMES:
        return False
    return name not in _GENERIC or field.source is Source.QUERY


def _host(authority: str) -> str:
    host = authority.rsplit("@", 1)[-1].lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.split(":", 1)[0].rstrip(".")


def check(view: View) -> str | None:
    """A message when a redirect parameter points off-site, else None."""
    if not applies(view.field):
        return None
    for text in view.texts:
        text = text[:_MAX_CHARS].translate(_URL_WHITESPACE)
        if _SCRIPT.search(text):
            return "Redirect parameter holding a script URL"
        if not _ESCAPING.search(text):
            continue
        authority = _AUTHORITY.search(text)
        if view.host and authority is not None and _host(authority.group(1)) == view.host:
            continue
        return "Redirect parameter pointing to an external host"
    return None
