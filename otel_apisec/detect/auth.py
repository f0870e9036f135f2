"""Who called, how, and whether it worked (AuthFacts), plus findings about how credentials travel.

Basic-auth password strength lives here too (kind auth.weak_password): it is a credential
property like login passwords, not a token property.
"""

from __future__ import annotations

from collections.abc import Iterator

from otel_apisec.detect.api import DetectContext, ExchangeOutput
from otel_apisec.detect.auth_credentials import (
    API_KEY_PARAMS,
    Credential,
    is_session_cookie,
    presented_credentials,
    transport_is_secure,
)
from otel_apisec.detect.auth_login import LoginAttempt, login_attempt
from otel_apisec.detect.rules.auth import (
    CLEARTEXT,
    CREDENTIALS_IN_URL,
    LOGIN_FAILED,
    UNAUTHENTICATED_WRITE,
    WEAK_PASSWORD,
)
from otel_apisec.detect.sensitive_keys import SENSITIVE_KEYS, normalize_key
from otel_apisec.detect.token_jwt import ParsedJwt, presented_jwts
from otel_apisec.detect.weak_secrets import is_weak_password
from otel_apisec.model import AuthFacts, AuthOutcome, AuthScheme, HttpExchange, Severity

__all__ = ["DETECTOR", "AuthDetector"]


# Sensitive key names that are credentials (personal-data names in URLs are the PII detector's job).
_CREDENTIAL_PARAMS = frozenset(
    {"password", "pwd", "passwd", "pass", "passphrase", "secret", "passwordconfirmation", "newpassword",
     "oldpassword", "currentpassword", "clientsecret", "secretkey", "privatekey", "apikey", "apisecret",
     "accesskey", "secretaccesskey", "accesstoken", "refreshtoken", "idtoken", "authtoken",
     "sessiontoken", "sessionid", "token", "bearer", "authorization", "credentials", "signingkey",
     "encryptionkey", "webhooksecret"}
) & SENSITIVE_KEYS
_PASSWORD_PARAMS = frozenset({"password", "pwd", "passwd", "pass", "passphrase", "secret", "clientsecret",
                              "secretkey", "privatekey", "apisecret", "secretaccesskey"})
_CLEARTEXT_SCHEMES = frozenset(
    {AuthScheme.BASIC, AuthScheme.BEARER, AuthScheme.API_KEY, AuthScheme.SESSION_COOKIE, AuthScheme.OTHER}
)
_WRITE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})
_PRINCIPAL_CLAIMS = ("sub", "client_id", "cid", "username", "preferred_username", "user_id", "uid", "email")
# Custom auth headers we cannot parse still mean "not anonymous".
_AUTHISH_HEADER_WORDS = ("token", "auth", "api-key", "apikey", "session", "signature", "jwt")


def _jwt_principal(parsed: ParsedJwt) -> str | None:
    claims = parsed.claims or {}
    for claim in _PRINCIPAL_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value
        # An ID number; str() of an integer past 4300 digits raises (Python 3.11+), and none is that long.
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 256:
            return str(value)
    return None


def _digest_user(value: str) -> str | None:
    start = value.find('username="')
    if start < 0:
        return None
    start += len('username="')
    end = value.find('"', start)
    return value[start:end] if end > start else None


def _principal(credential: Credential, jwt: tuple[str, ParsedJwt] | None) -> str:
    """The raw principal; user names are lower-cased so a login and a Basic user correlate."""
    if credential.scheme is AuthScheme.BEARER and jwt is not None:
        return _jwt_principal(jwt[1]) or jwt[0]
    if credential.scheme is AuthScheme.BASIC and credential.user:
        return credential.user.lower()
    if credential.scheme is AuthScheme.DIGEST:
        return (_digest_user(credential.secret) or credential.secret).lower()
    return credential.secret


def _has_custom_auth_header(exchange: HttpExchange) -> bool:
    return any(word in name for name in exchange.request_headers.names() for word in _AUTHISH_HEADER_WORDS)


class AuthDetector:
    name = "auth"

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterator[ExchangeOutput]:
        credentials = presented_credentials(exchange)
        jwts = presented_jwts(exchange, ctx)
        login = login_attempt(exchange, ctx)
        primary = credentials[0] if credentials else None
        if primary is None and jwts:
            primary = Credential(AuthScheme.BEARER, jwts[0][0].location, jwts[0][0].token)
        jwt = next(((j.token, parsed) for j, parsed in jwts if j.location == primary.location), None) if primary else None

        if primary is not None:
            scheme = primary.scheme
        elif login is not None or _has_custom_auth_header(exchange):
            scheme = AuthScheme.OTHER
        else:
            scheme = AuthScheme.NONE

        principal: str | None = None
        if login is not None and login.identifier:
            principal = login.identifier.strip().lower()
        elif primary is not None:
            principal = _principal(primary, jwt)

        if exchange.status in (401, 403) or (login is not None and login.succeeded is False):
            outcome = AuthOutcome.FAILURE
        elif scheme is not AuthScheme.NONE:
            outcome = AuthOutcome.SUCCESS
        else:
            outcome = AuthOutcome.ANONYMOUS

        # A step of its own: a finding that fails on odd input must not cost the facts every span carries.
        yield from ctx.guarded("auth.findings", self._findings, exchange, ctx, credentials, login, outcome)
        yield AuthFacts(
            scheme=scheme,
            outcome=outcome,
            principal_hash=ctx.pseudonym(principal) if principal else None,
            is_login=login is not None,
            login_succeeded=login.succeeded if login is not None else None,
            login_pending=login is not None and login.pending,
        )

    def _findings(
        self,
        exchange: HttpExchange,
        ctx: DetectContext,
        credentials: list[Credential],
        login: LoginAttempt | None,
        outcome: AuthOutcome,
    ) -> Iterator[ExchangeOutput]:
        if login is not None and login.succeeded is False:
            yield LOGIN_FAILED.finding("request.path")
        yield from _credentials_in_url(exchange)
        if not transport_is_secure(exchange):
            sent = next((c for c in credentials if c.scheme in _CLEARTEXT_SCHEMES), None)
            if sent is not None:
                yield CLEARTEXT.finding(sent.location, f"{sent.scheme.value} credential sent over plain HTTP")
            elif login is not None and login.password:
                yield CLEARTEXT.finding("request.body", "Login password sent over plain HTTP")
        yield from self._weak_passwords(ctx, credentials, login, outcome)
        if (
            outcome is AuthOutcome.ANONYMOUS
            and exchange.method.upper() in _WRITE_METHODS
            and exchange.status is not None
            and 200 <= exchange.status < 300
        ):
            yield UNAUTHENTICATED_WRITE.finding(
                "request.path", f"Anonymous {exchange.method.upper()} succeeded without any credential"
            )

    def _weak_passwords(
        self,
        ctx: DetectContext,
        credentials: list[Credential],
        login: LoginAttempt | None,
        outcome: AuthOutcome,
    ) -> Iterator[ExchangeOutput]:
        """Only accepted passwords: a rejected weak guess is an attack signal, not a weak account."""
        config = ctx.config
        if outcome is not AuthOutcome.FAILURE:
            for credential in credentials:
                if credential.scheme is AuthScheme.BASIC and credential.password is not None:
                    why = _weakness(credential.password, config.min_password_length, config.weak_secrets)
                    if why:
                        yield WEAK_PASSWORD.finding(credential.location, f"Basic-auth password {why}")
        if login is not None and login.succeeded and login.password is not None:
            why = _weakness(login.password, config.min_password_length, config.weak_secrets)
            if why:
                yield WEAK_PASSWORD.finding("request.body", f"Login succeeded with a password that {why}")


def _weakness(password: str, min_length: int, extra: frozenset[str]) -> str | None:
    if is_weak_password(password, extra):
        return "is in the known-weak password list"
    if len(password) < min_length:
        return f"is shorter than {min_length} characters"
    return None


def _credentials_in_url(exchange: HttpExchange) -> Iterator[ExchangeOutput]:
    """Query parameters named like credentials and holding a value; JWTs are the tokens detector's."""
    seen: set[str] = set()
    for name, value in exchange.query:
        if not value.strip() or name in seen or (value.startswith("eyJ") and value.count(".") == 2):
            continue
        key = normalize_key(name)
        if key in _CREDENTIAL_PARAMS or name.lower() in API_KEY_PARAMS or is_session_cookie(name):
            seen.add(name)
            severity = Severity.HIGH if key in _PASSWORD_PARAMS else None
            yield CREDENTIALS_IN_URL.finding(
                f"request.query.{name}", "Credential-named query parameter holds a value", severity=severity
            )
    path = exchange.path.lower()
    if ";jsessionid=" in path or ";sessionid=" in path or ";phpsessid=" in path:
        yield CREDENTIALS_IN_URL.finding("request.path", "Session identifier in the URL path (URL rewriting)")


DETECTOR = AuthDetector()
