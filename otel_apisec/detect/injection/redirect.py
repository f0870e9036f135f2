"""Open redirect: a redirect-ish parameter (`next`, `url`, `return_to`, ...) holding a URL
that leaves the site: absolute, scheme-relative (`//evil`), backslash tricks (`/\\evil`)
or a script URL. A field detector cannot see the request host, so every absolute URL in
such a parameter counts, except in OAuth's `redirect_uri`, which is absolute by design and
checked against a registered list by the authorization server. Generic names (`url`)
count only as query parameters: in JSON bodies they are usually links stored as data."""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.fields import Source
from otel_apisec.detect.injection.view import View

__all__ = ["REDIRECT_NAMES", "TRIGGERS", "check"]

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
    # the same values inside a raw JSON body, where they follow their key
    Trigger(r"(redirect|redir|rurl|return|goto|forward|success_?url|failure_?url|cancel_?url|continue|"
        r"back_?url|exit_?url|checkout_?url|logout_?url|login_?url|relaystate)[\w-]{0,12}\"\s*:\s*\"",
        caseless=True),
)

_ESCAPING = re2.compile(
    r"(?i)^\s*([/\\][\s/\\]*[/\\]|/*\s*(javascript|vbscript|"
    r"data)\s*:|/+https?:|https?:[/\\]*[^/\\]|[a-z][a-z0-9+.-]{1,15}:[/\\]{2}|"
    r"/?[\w.-]+@[\w.-]+\.\w)"
)


def check(view: View) -> str | None:
    """A message when a redirect parameter points off-site, else None."""
    name = view.name
    if not view.is_value or name not in REDIRECT_NAMES:
        return None
    if name in _GENERIC and view.field.source is not Source.QUERY:
        return None
    for text in view.texts:
        if _ESCAPING.search(text):
            return "Redirect parameter pointing to an external or script URL"
    return None
