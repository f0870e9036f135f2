"""Login outcome from what the response says (`judge_login_response`): shapes, word table, bounds."""

from __future__ import annotations

import time

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.auth_login import (
    _MFA,
    _MFA_SHORT,
    _MFA_WORDS,
    FAILURE_WORDS,
    MAX_OUTCOME_BODY,
    SUCCESS_WORDS,
    LoginOutcome,
    _word_classes,
    judge_login_response,
    login_attempt,
)
from otel_apisec.model import Body, HttpExchange
from otel_apisec.testing import make_exchange

LOGIN = "https://api.example.com/api/auth/login"
CREDS = {"username": "jane", "password": "c0rrect-Horse"}
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.dGhpcy1pcy1hLXNpZ25hdHVyZQ"
S, F, P, R, U = (LoginOutcome.SUCCEEDED, LoginOutcome.FAILED, LoginOutcome.PENDING, LoginOutcome.RATE_LIMITED,
                 LoginOutcome.UNKNOWN)


def answer(status: int, response: object = None, **kw: object) -> HttpExchange:
    return make_exchange(LOGIN, "POST", json=CREDS, status=status, response_json=response, **kw)  # type: ignore[arg-type]


SHAPES = [
    ("OAuth2 access token", answer(200, {"access_token": "2YotnFZFEjr1zCsicMWpAA", "token_type": "bearer"}), S),
    ("OAuth2 invalid_grant on 200", answer(200, {"error": "invalid_grant"}), F),
    ("JWT under an unknown key", answer(200, {"result": {"payload": JWT}}), S),
    ("token in a response header", answer(200, {"id": 1}, response_headers=[("X-Auth-Token", "abc123def")]), S),
    ("success false", answer(200, {"success": False}), F),
    ("status error", answer(200, {"status": "error", "message": "User not found"}), F),
    ("GraphQL errors, login null", answer(200, {"errors": [{"message": "Invalid credentials"}], "data": {"login": None}}), F),
    ("token null", answer(200, {"token": None}), F),
    ("message only, English", answer(200, {"message": "Invalid username or password"}), F),
    ("message only, Japanese", answer(200, {"message": "パスワードが間違っています"}), F),
    ("message only, Dutch", answer(200, {"message": "Wachtwoord onjuist"}), F),
    ("negated success word", answer(200, {"message": "Login unsuccessful"}), F),
    ("success message", answer(200, {"message": "Connexion réussie"}), S),
    ("signed-in user returned", answer(200, {"user": {"id": 7, "email": "jane@example.com"}}), S),
    ("user object does not hide a token", answer(200, {"user": {"token": JWT, "status": "disabled"}}), S),
    ("session cookie", answer(204, response_headers=[("Set-Cookie", "sessionid=abc; HttpOnly")]), S),
    ("cleared session cookie", answer(204, response_headers=[("Set-Cookie", "sessionid=; Max-Age=0")]), U),
    ("redirect into the app", answer(302, response_headers=[("Location", "/dashboard")]), S),
    ("redirect back to the login page", answer(302, response_headers=[("Location", "/login?error=1")]), F),
    ("redirect to its own path", answer(303, response_headers=[("Location", "https://api.example.com/api/auth/login")]), F),
    ("redirect to a second factor", answer(302, response_headers=[("Location", "/mfa/verify")]), P),
    ("login form shown again", make_exchange(LOGIN, "POST", json=CREDS, status=200, response_content_type="text/html",
                                             response_body='<form><input type="password"></form>'), F),
    ("401", answer(401), F),
    ("Auth0 mfa_required on 403", answer(403, {"error": "mfa_required", "mfa_token": "Fe26.2"}), P),
    ("Okta MFA_REQUIRED", answer(200, {"status": "MFA_REQUIRED", "stateToken": "00abc"}), P),
    ("401 asking for a two-factor OTP code", answer(401, {"message": "Must specify two-factor authentication OTP code."}), P),
    ("403 'OTP required'", answer(403, {"detail": "OTP required."}), P),
    ("401 'verification code sent'", answer(401, {"message": "Verification code sent to your email"}), P),
    ("401 challenge field", answer(401, {"challenge": "totp"}), P),
    ("403 'mfa_required' message", answer(403, {"message": "mfa_required"}), P),
    ("200 success false, requires_twofactor", answer(200, {"success": False, "requires_twofactor": True}), P),
    ("200 token null, mfa true", answer(200, {"token": None, "mfa": True, "ticket": "WzE0NjQ5"}), P),
    ("200 two_factor_token is no sign-in", answer(200, {"two_factor_token": "a8f3c1d9e2b7a6f5"}), P),
    ("a sign-in token beside an mfa flag", answer(200, {"access_token": "2YotnFZFEjr1zCsicMWpAA", "mfa": True}), S),
    ("401 'invalid OTP' (second step failed)", answer(401, {"detail": "Invalid OTP."}), F),
    ("401 'wrong verification code'", answer(401, {"message": "Wrong verification code"}), F),
    ("401 error invalid_otp", answer(401, {"error": "invalid_otp"}), F),
    ("401 '2fa' inside a word is no second factor", answer(401, {"message": "ref 82fa1c"}), F),
    ("401 'footprint' is no OTP", answer(401, {"message": "device footprint not allowed"}), F),
    ("429", answer(429, {"error": "invalid_grant"}), R),
    ("too many attempts on 400", answer(400, {"error": {"message": "TOO_MANY_ATTEMPTS_TRY_LATER"}}), R),
    ("no body", answer(200), U),
    ("500", answer(500, {"success": False}), U),
    ("no status", make_exchange(LOGIN, "POST", json=CREDS, status=None), U),
]


class TestShapes:
    @pytest.mark.parametrize(("name", "exchange", "outcome"), SHAPES, ids=[s[0] for s in SHAPES])
    def test_outcome(self, name: str, exchange: HttpExchange, outcome: LoginOutcome) -> None:
        """Each documented response shape gets the outcome a reader of the API's docs would give it."""
        verdict = judge_login_response(exchange)
        assert verdict.outcome is outcome, verdict.reason

    def test_only_succeeded_and_failed_settle_the_login(self) -> None:
        """Pending, rate limited and unknown leave `succeeded` None for the correlators' fallback."""
        assert [judge_login_response(e).succeeded for _, e, o in SHAPES if o in (P, R, U)] == [None] * sum(
            o in (P, R, U) for _, _, o in SHAPES)

    def test_pending_through_the_analyzer(self) -> None:
        """A 401 asking for a second factor: the attempt is pending, not failed, and no AUTH-001 finding."""
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit"))
        exchange = answer(401, {"message": "Two-factor authentication required"})
        attempt = login_attempt(exchange, analyzer.context(exchange))
        assert attempt is not None and attempt.pending and attempt.succeeded is None
        analysis = analyzer.analyze(exchange)
        assert analysis.auth.is_login and analysis.auth.login_pending and analysis.auth.login_succeeded is None
        assert "APISEC-AUTH-001" not in [f.rule_id for f in analysis.findings]
        settled = answer(401, {"message": "Invalid credentials"})
        assert not analyzer.analyze(settled).auth.login_pending

    def test_through_the_analyzer(self) -> None:
        """The auth detector's login attempt carries the verdict: 200 with a failure body is a failed login."""
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit"))
        exchange = answer(200, {"status": "fail", "message": "Password is not correct for the given username."})
        attempt = login_attempt(exchange, analyzer.context(exchange))
        assert attempt is not None and attempt.succeeded is False
        facts = analyzer.analyze(exchange)
        assert "APISEC-AUTH-001" in [f.rule_id for f in facts.findings]

    def test_reason_never_carries_a_value(self) -> None:
        """The reason is a fixed phrase: nothing from the exchange reaches it."""
        planted = "PLANTED-zz9"
        for status, body in ((200, {"error": planted}), (200, {"token": planted}), (200, {"message": planted})):
            assert planted not in judge_login_response(answer(status, body)).reason


class TestWordTable:
    def test_languages(self) -> None:
        """At least en, de, fr, es, pt, it, nl, ru, zh, ja say failure and success."""
        wanted = {"en", "de", "fr", "es", "pt", "it", "nl", "ru", "zh", "ja"}
        assert wanted <= FAILURE_WORDS.keys() and wanted <= SUCCESS_WORDS.keys()

    @pytest.mark.parametrize("word", sorted({w for ws in FAILURE_WORDS.values() for w in ws}))
    def test_every_failure_word_matches_itself_in_any_case(self, word: str) -> None:
        """Every word is found by the one scan, in a sentence and upper-cased (non-ASCII too; Turkish
        dotless i does not survive upper- then lower-casing, so those words are tried as written)."""
        shown = word.upper() if word.upper().lower() == word else word
        assert 0 in _word_classes([f"Login: {shown}!"])

    @pytest.mark.parametrize("word", sorted(_MFA_WORDS + _MFA_SHORT))
    def test_every_second_factor_word_matches(self, word: str) -> None:
        """Every second-factor word is found in a sentence, upper-cased where that round-trips."""
        shown = word.upper() if word.upper().lower() == word else word
        assert _MFA in _word_classes([f"Login: {shown} please"])

    @pytest.mark.parametrize("text", ["mfax", "xotp", "footprint", "hotpot", "2fab", "a2fa", "unchallenged", "totpx"])
    def test_short_second_factor_words_need_word_edges(self, text: str) -> None:
        """`mfa`, `2fa`, `otp`, `totp`, `tfa` and `challenge` inside a longer word are not a second factor."""
        assert _MFA not in _word_classes([f"ref {text} here"])


class TestBounds:
    def test_body_over_the_bound_is_not_read(self) -> None:
        """A response larger than MAX_OUTCOME_BODY is not parsed: the outcome comes from status and headers."""
        big = answer(200, {"message": "Invalid password", "pad": "x" * MAX_OUTCOME_BODY})
        assert judge_login_response(big).outcome is U
        assert judge_login_response(answer(401, {"pad": "x" * MAX_OUTCOME_BODY})).outcome is F

    def test_truncated_body_is_not_read(self) -> None:
        """A captured prefix is not the answer: a token in it could be anything."""
        exchange = answer(200)
        body = Body(orjson.dumps({"token": "abc123"}), "application/json", truncated=True)
        assert judge_login_response(HttpExchange(method="POST", path="/login", status=200, response_body=body,
                                                 request_body=exchange.request_body)).outcome is U

    def test_walk_is_bounded(self) -> None:
        """Thousands of keys and deep nesting: a token past the walk's budget is not seen, and it is fast."""
        wide = {f"k{i}": i for i in range(3000)} | {"token": "abc123"}
        deep: object = {"token": "abc123"}
        for _ in range(200):
            deep = {"a": deep}
        start = time.perf_counter()
        assert judge_login_response(answer(200, wide)).outcome is U
        assert judge_login_response(answer(200, deep)).outcome is U
        assert time.perf_counter() - start < 0.5

    def test_worst_case_second_factor_text_is_fast(self) -> None:
        """A bound-sized 401 message of near-miss second-factor words (no word edges) scans in linear time."""
        text = "xmfax2faxotpxchallengx " * (MAX_OUTCOME_BODY // 24)
        exchange = answer(401, {"message": text[: MAX_OUTCOME_BODY - 20]})
        start = time.perf_counter()
        assert judge_login_response(exchange).outcome is F
        assert time.perf_counter() - start < 0.2

    def test_worst_case_text_is_fast(self) -> None:
        """A bound-sized page of near-miss words scans in linear time."""
        html = "<p>" + "invali fai wron " * (MAX_OUTCOME_BODY // 17) + "</p>"
        exchange = make_exchange(LOGIN, "POST", json=CREDS, status=200, response_content_type="text/html",
                                 response_body=html[: MAX_OUTCOME_BODY])
        start = time.perf_counter()
        judge_login_response(exchange)
        assert time.perf_counter() - start < 0.2

    @settings(max_examples=300, deadline=None)
    @given(
        status=st.sampled_from([200, 201, 204, 302, 303, 400, 401, 403, 404, 422, 429, 500]),
        body=st.recursive(
            st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=40),
            lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
            max_leaves=40,
        ),
        raw=st.binary(max_size=300),
        media=st.sampled_from(["application/json", "text/html", "text/plain", "", "application/xml"]),
        location=st.text(max_size=60),
        cookie=st.text(max_size=60),
    )
    def test_hostile_input(self, status: int, body: object, raw: bytes, media: str, location: str, cookie: str) -> None:
        """Any body, header and status: an outcome, never an exception, always quickly."""
        for data in (orjson.dumps(body), raw):
            exchange = HttpExchange(
                method="POST", path="/login", status=status, response_body=Body(data, media),
                response_headers=make_exchange(response_headers=[("Location", location.replace("\x00", "")),
                                                                 ("Set-Cookie", cookie.replace("\x00", ""))]).response_headers,
            )
            start = time.perf_counter()
            verdict = judge_login_response(exchange)
            assert time.perf_counter() - start < 0.1
            assert isinstance(verdict.outcome, LoginOutcome)
