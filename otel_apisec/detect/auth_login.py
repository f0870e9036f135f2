"""Recognize a login attempt (route or body shape) and whether it worked, from one exchange.

Shared by the auth detector (AuthFacts, failed logins) and the exposure detector (a token in a
login response is expected, not an exposure).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.auth_credentials import is_session_cookie
from otel_apisec.detect.engine import PatternSet, Trigger
from otel_apisec.detect.sensitive_keys import normalize_key
from otel_apisec.model import HttpExchange

__all__ = ["LoginAttempt", "is_login_route", "login_attempt"]

LOGIN_SEGMENTS = frozenset(
    {"login", "log-in", "log_in", "logon", "signin", "sign-in", "sign_in", "auth", "authenticate",
     "authentication", "token", "session", "sessions", "login.json", "login.php", "login.jsp",
     "login.aspx", "j_security_check"}
)
_REGISTRATION_SEGMENTS = frozenset(
    {"register", "registration", "signup", "sign-up", "sign_up", "users", "user", "accounts",
     "account", "password", "passwords", "reset", "reset-password", "change-password", "invite"}
)
_IDENTITY_KEYS = frozenset(
    {"username", "user", "email", "emailaddress", "login", "userid", "useremail", "identifier",
     "account", "phone", "phonenumber", "clientid", "jusername"}
)
_PASSWORD_KEYS = frozenset(
    {"password", "passwd", "pass", "pwd", "passphrase", "userpassword", "clientsecret", "jpassword"}
)
_REGISTRATION_KEYS = frozenset(
    {"passwordconfirmation", "confirmpassword", "passwordconfirm", "password2", "repeatpassword",
     "newpassword", "oldpassword", "currentpassword"}
)
_FAILURE_STATUSES = frozenset({400, 401, 403, 422})


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """Raw identifier and password from the request: hash or compare them, never report them."""

    identifier: str | None
    password: str | None
    succeeded: bool | None


# Login bodies are a few fields; parsing a large upload to look for a password is wasted work.
_MAX_LOGIN_BODY = 64 * 1024


def _last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1].lower()


def is_login_route(exchange: HttpExchange) -> bool:
    return _last_segment(exchange.route or exchange.path) in LOGIN_SEGMENTS


def _credential_fields(exchange: HttpExchange, ctx: DetectContext) -> dict[str, str]:
    """Normalized key -> string value from the request body's top level and one level below it."""
    body = exchange.request_body
    if body is None or not body.data or len(body.data) > _MAX_LOGIN_BODY:
        return {}
    fields: dict[str, str] = {}
    if body.media_type == "application/x-www-form-urlencoded":
        text = body.data[: ctx.config.max_body_bytes].decode("utf-8", "replace")
        for name, value in parse_qsl(text, keep_blank_values=True)[:200]:
            fields.setdefault(normalize_key(name), value)
        return fields
    doc = ctx.body_json(body)
    if not isinstance(doc, dict):
        return fields
    for node in [doc, *(v for v in list(doc.values())[:20] if isinstance(v, dict))]:
        for key, value in list(node.items())[:200]:
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                fields.setdefault(normalize_key(str(key)), str(value))
    return fields


def _first(fields: dict[str, str], keys: frozenset[str]) -> str | None:
    return next((fields[k] for k in fields if k in keys), None)


def _succeeded(exchange: HttpExchange, ctx: DetectContext) -> bool | None:
    status = exchange.status
    if status is None:
        return None
    if status in _FAILURE_STATUSES:
        return False
    if 200 <= status < 300:
        doc = ctx.body_json(exchange.response_body)
        if isinstance(doc, dict) and (doc.get("success") is False or doc.get("ok") is False):
            return False  # APIs that answer 200 {"success": false}
        if isinstance(doc, dict) and doc.get("error"):
            return False
        return True
    if 300 <= status < 400:
        target = (exchange.response_headers.get("location") or "").lower()
        if any(word in target for word in ("error", "fail", "login", "signin", "sign-in")):
            return False
        cookies = exchange.response_headers.get_all("set-cookie")
        if any(is_session_cookie(c.split("=", 1)[0].strip()) for c in cookies):
            return True
    return None


# Every key in _PASSWORD_KEYS contains one of these, in any case. A key that spells them with
# separators inside (`p_w_d`) is only recognised on login routes.
_PASSWORD_HINTS = PatternSet([Trigger("pass|pwd|secret", caseless=True)])


def _may_hold_password(exchange: HttpExchange) -> bool:
    body = exchange.request_body
    if body is None or not body.data or len(body.data) > _MAX_LOGIN_BODY:
        return False
    return bool(_PASSWORD_HINTS.scan([body.data]))


def login_attempt(exchange: HttpExchange, ctx: DetectContext) -> LoginAttempt | None:
    """A POST to a login-like route, or a POST whose body holds an identity and a password.

    Worked out once per analysis: the auth and exposure detectors both ask."""
    return ctx.once("login_attempt", lambda: _login_attempt(exchange, ctx))


def _login_attempt(exchange: HttpExchange, ctx: DetectContext) -> LoginAttempt | None:
    if exchange.method.upper() != "POST":
        return None
    if not is_login_route(exchange) and not _may_hold_password(exchange):
        return None  # no password field, so no login: spare the parse
    fields = _credential_fields(exchange, ctx)
    password = _first(fields, _PASSWORD_KEYS)
    identifier = _first(fields, _IDENTITY_KEYS)
    if not is_login_route(exchange):
        looks_like_signup = _last_segment(exchange.route or exchange.path) in _REGISTRATION_SEGMENTS
        if password is None or identifier is None or looks_like_signup or fields.keys() & _REGISTRATION_KEYS:
            return None
    return LoginAttempt(identifier, password, _succeeded(exchange, ctx))
