"""Unit tests for the auth detector: schemes, outcomes, login detection, principals, no leaks."""

from __future__ import annotations

import warnings

import jwt

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.auth import DETECTOR
from otel_apisec.model import AuthFacts, AuthOutcome, AuthScheme, Finding
from otel_apisec.testing import make_exchange
from tests.cases.auth import basic

ANALYZER = Analyzer(DetectConfig(hmac_key=b"unit"))
LOGIN = "https://api.example.com/api/v1/auth/login"


def run(exchange) -> tuple[list[Finding], AuthFacts, object]:
    ctx = ANALYZER.context(exchange)
    outputs = list(DETECTOR(exchange, ctx))
    facts = [o for o in outputs if isinstance(o, AuthFacts)]
    assert len(facts) == 1
    return [o for o in outputs if isinstance(o, Finding)], facts[0], ctx


class TestAuthDetector:
    def test_anonymous(self) -> None:
        """No credential: scheme none, outcome anonymous, no principal."""
        findings, facts, _ = run(make_exchange("https://api.example.com/v1/products"))
        assert facts == AuthFacts(AuthScheme.NONE, AuthOutcome.ANONYMOUS, None, False, None)
        assert findings == []

    def test_basic_short_password(self) -> None:
        """Basic with a short accepted password: weak-password finding, principal is the user."""
        findings, facts, ctx = run(
            make_exchange("https://api.example.com/v1/x", headers=basic("Ops", "Zx9!q"))
        )
        assert [f.kind for f in findings] == ["auth.weak_password"]
        assert "shorter than 8" in findings[0].message
        assert facts.scheme is AuthScheme.BASIC and facts.outcome is AuthOutcome.SUCCESS
        assert facts.principal_hash == ctx.pseudonym("ops")

    def test_rejected_credentials_are_failure(self) -> None:
        """Credentials answered 401 or 403 are outcome failure."""
        for status in (401, 403):
            exchange = make_exchange(
                "https://api.example.com/v1/x", headers={"X-API-Key": "k-1"}, status=status
            )
            assert run(exchange)[1].outcome is AuthOutcome.FAILURE

    def test_api_key_header_and_query(self) -> None:
        """x-api-key header and api_key query are scheme api_key, principal the key's hash."""
        _, facts, ctx = run(
            make_exchange("https://api.example.com/v1/x", headers={"X-API-Key": "key-abc-123"})
        )
        assert facts.scheme is AuthScheme.API_KEY and facts.principal_hash == ctx.pseudonym("key-abc-123")
        findings, facts, _ = run(make_exchange("https://api.example.com/v1/x?apikey=key-abc-123"))
        assert facts.scheme is AuthScheme.API_KEY
        assert [f.kind for f in findings] == ["auth.credentials_in_url"]

    def test_session_cookie(self) -> None:
        """A PHPSESSID cookie is scheme session_cookie, principal the session id's hash."""
        exchange = make_exchange(
            "https://shop.example.com/cart", headers={"Cookie": "theme=dark; PHPSESSID=s3ss10n"}
        )
        _, facts, ctx = run(exchange)
        assert facts.scheme is AuthScheme.SESSION_COOKIE
        assert facts.principal_hash == ctx.pseudonym("s3ss10n")

    def test_bearer_jwt_principal_is_sub(self) -> None:
        """A Bearer JWT's principal is its sub claim."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            token = jwt.encode({"sub": "user-42", "exp": 4_000_000_000}, "k" * 40, algorithm="HS256")
        _, facts, ctx = run(make_exchange(headers={"Authorization": f"Bearer {token}"}))
        assert facts.scheme is AuthScheme.BEARER and facts.principal_hash == ctx.pseudonym("user-42")

    def test_login_success(self) -> None:
        """POST /auth/login answered 200 is a successful login of the body's user."""
        exchange = make_exchange(
            LOGIN,
            "POST",
            json={"username": "Jane", "password": "c0rrect-Horse"},
            response_json={"access_token": "t"},
        )
        findings, facts, ctx = run(exchange)
        assert facts == AuthFacts(AuthScheme.OTHER, AuthOutcome.SUCCESS, ctx.pseudonym("jane"), True, True)
        assert findings == []

    def test_login_failure(self) -> None:
        """POST /auth/login answered 401 is a failed login and an auth.login_failed finding."""
        exchange = make_exchange(
            LOGIN, "POST", json={"username": "jane", "password": "guess-1234"}, status=401
        )
        findings, facts, _ = run(exchange)
        assert facts.is_login and facts.login_succeeded is False and facts.outcome is AuthOutcome.FAILURE
        assert [f.kind for f in findings] == ["auth.login_failed"]

    def test_login_by_body_shape(self) -> None:
        """A POST with email and password on an unusual route is still a login."""
        exchange = make_exchange(
            "https://api.example.com/rpc/v2/begin",
            "POST",
            json={"data": {"email": "a@b.co", "password": "pw-long-123"}},
            status=422,
        )
        _, facts, _ = run(exchange)
        assert facts.is_login and facts.login_succeeded is False

    def test_registration_is_not_login(self) -> None:
        """Sign-up bodies (password confirmation, /users) are not login attempts."""
        body = {"email": "a@b.co", "password": "pw-long-123", "password_confirmation": "pw-long-123"}
        _, facts, _ = run(make_exchange("https://api.example.com/v1/users", "POST", json=body, status=201))
        assert not facts.is_login and facts.login_succeeded is None

    def test_cleartext_basic(self) -> None:
        """Basic over plain HTTP is auth.cleartext_credentials at the Authorization header."""
        findings, _, _ = run(
            make_exchange("http://api.example.com/v1/x", headers=basic("svc", "Long-and-random-42"))
        )
        assert [(f.kind, f.location) for f in findings] == [
            ("auth.cleartext_credentials", "request.header.authorization")
        ]

    def test_jsessionid_in_path(self) -> None:
        """URL-rewritten session ids are credentials in the URL."""
        findings, _, _ = run(make_exchange("https://shop.example.com/cart;jsessionid=ABC123"))
        assert [f.location for f in findings] == ["request.path"]

    def test_no_raw_credentials_leak(self) -> None:
        """Passwords, keys and user names never appear in findings or facts."""
        planted = "PLANTED-pw-7"
        exchanges = [
            make_exchange("http://api.example.com/v1/x", headers=basic("planted-user", planted)),
            make_exchange(f"https://api.example.com/v1/x?password={planted}&api_key={planted}"),
            make_exchange(LOGIN, "POST", json={"username": "planted-user", "password": planted}, status=401),
            make_exchange(
                "http://api.example.com/login",
                "POST",
                json={"username": "planted-user", "password": "123456"},
            ),
        ]
        for exchange in exchanges:
            findings, facts, _ = run(exchange)
            text = repr(findings) + repr(facts)
            assert findings
            for raw in (planted, "planted-user", "123456"):
                assert raw not in text
