"""Where a caller's credentials sit in a request, shared by the auth, tokens and posture detectors.

Only locates and splits credentials; judging them is the detectors' job. The raw values returned
here must never reach a finding: detectors pass them to `ctx.pseudonym` or compare them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from otel_apisec.detect.cookies import request_cookies
from otel_apisec.model import AuthScheme, HttpExchange

__all__ = [
    "API_KEY_HEADERS",
    "API_KEY_PARAMS",
    "Credential",
    "is_session_cookie",
    "presented_credentials",
    "request_cookies",
    "forwarded_https",
    "transport_is_secure",
]

API_KEY_HEADERS = frozenset(
    {"x-api-key", "api-key", "apikey", "x-apikey", "x-auth-token", "x-api-token", "x-app-key",
     "x-access-key", "ocp-apim-subscription-key", "x-functions-key"}
)
API_KEY_PARAMS = frozenset({"api_key", "apikey", "api-key", "x-api-key", "subscription-key"})
_BEARER_PARAMS = frozenset({"access_token", "token", "jwt", "id_token", "auth_token"})

SESSION_COOKIES = frozenset(
    {"session", "sessionid", "session_id", "sessid", "sid", "jsessionid", "phpsessid", "aspsessionid",
     "asp.net_sessionid", "connect.sid", "laravel_session", "_session_id", "ci_session",
     "cfid", "cftoken", "express.sid", "koa.sess", "rack.session", "_rails_session",
     "__host-session", "__secure-session", "auth_session", "next-auth.session-token",
     "__secure-next-auth.session-token", "auth_token", "access_token", "remember_token"}
)
# Suffixes frameworks append to an app name: `myapp_session`, `_gitlab_session`, `JSESSIONID.node0`.
_SESSION_SUFFIXES = ("_session", "-session", ".session", "_sess", "sessionid", "_sid", ".sid")

_AUTH_SCHEMES = {
    "bearer": AuthScheme.BEARER,
    "basic": AuthScheme.BASIC,
    "digest": AuthScheme.DIGEST,
    "apikey": AuthScheme.API_KEY,
    "api-key": AuthScheme.API_KEY,
    "api_key": AuthScheme.API_KEY,
    "key": AuthScheme.API_KEY,
}
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential found in a request. `secret` is raw: compare or hash it, never report it."""

    scheme: AuthScheme
    location: str
    secret: str
    user: str | None = None
    """Basic: the user name; session cookie and API key: None."""
    password: str | None = None
    """Basic: the password."""


def is_session_cookie(name: str) -> bool:
    lower = name.lower()
    return lower in SESSION_COOKIES or lower.split(".", 1)[0] in SESSION_COOKIES or lower.endswith(
        _SESSION_SUFFIXES
    )


def _basic(location: str, encoded: str) -> Credential:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text (`Basic été`)
        return Credential(AuthScheme.BASIC, location, encoded)
    user, sep, password = decoded.partition(":")
    return Credential(AuthScheme.BASIC, location, encoded, user=user, password=password if sep else None)


def _authorization(location: str, value: str) -> Credential | None:
    name, _, rest = value.strip().partition(" ")
    if not name:
        return None
    scheme = _AUTH_SCHEMES.get(name.lower(), AuthScheme.OTHER)
    if scheme is AuthScheme.BASIC:
        return _basic(location, rest)
    return Credential(scheme, location, rest.strip() or name)


def presented_credentials(exchange: HttpExchange) -> list[Credential]:
    """Credentials in the request, strongest signal first: Authorization, key headers, query, cookies."""
    found: list[Credential] = []
    headers = exchange.request_headers
    for header in ("authorization", "proxy-authorization"):
        value = headers.get(header)
        if value:
            credential = _authorization(f"request.header.{header}", value)
            if credential is not None:
                found.append(credential)
    for name in headers.names():
        if name in API_KEY_HEADERS:
            value = headers.get(name) or ""
            if value.strip():
                found.append(Credential(AuthScheme.API_KEY, f"request.header.{name}", value.strip()))
    for name, value in exchange.query:
        lower = name.lower()
        if value and lower in API_KEY_PARAMS:
            found.append(Credential(AuthScheme.API_KEY, f"request.query.{name}", value))
        elif value and lower in _BEARER_PARAMS:
            found.append(Credential(AuthScheme.BEARER, f"request.query.{name}", value))
    for name, value in request_cookies(exchange):
        if value and is_session_cookie(name):
            found.append(Credential(AuthScheme.SESSION_COOKIE, f"request.cookie.{name}", value))
    return found


def forwarded_https(exchange: HttpExchange) -> bool:
    """The client spoke HTTPS to a TLS-terminating proxy (`X-Forwarded-Proto`, `Forwarded: proto=`)."""
    headers = exchange.request_headers
    forwarded_proto = (headers.get("x-forwarded-proto") or "").split(",", 1)[0].strip().lower()
    return forwarded_proto == "https" or "proto=https" in (headers.get("forwarded") or "").lower()


def transport_is_secure(exchange: HttpExchange) -> bool:
    """TLS to the client as far as the exchange shows: HTTPS, HTTPS at the proxy, or a loopback hop."""
    if exchange.is_tls or forwarded_https(exchange):
        return True
    host = exchange.host.lower()
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return bare in _LOOPBACK_HOSTS
