"""Unit tests for the JWT detector: parsing states, facts, weak secrets, memoization, no leaks."""

from __future__ import annotations

import base64
import os
import time
import warnings

import jwt
import pytest

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect import tokens as tokens_module
from otel_apisec.detect import weak_secrets as weak_secrets_module
from otel_apisec.detect.tokens import DETECTOR, HmacBudget
from otel_apisec.model import Finding, TokenFacts, TokenState
from otel_apisec.testing import make_exchange
from tests.cases.tokens import NOW, forge

RANDOM_KEY = os.urandom(64)
ANALYZER = Analyzer(DetectConfig(hmac_key=b"unit", now=NOW))


def mint(claims: dict, secret: str | bytes | None = RANDOM_KEY, alg: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(claims, secret, algorithm=alg)


def run(
    token: str, config: DetectConfig | None = None, url: str = "https://api.example.com/v1/x", analyzer=None
):
    analyzer = analyzer or (Analyzer(config) if config else ANALYZER)
    exchange = make_exchange(url, headers={"Authorization": f"Bearer {token}"})
    ctx = analyzer.context(exchange)
    outputs = list(DETECTOR(exchange, ctx))
    findings = [o for o in outputs if isinstance(o, Finding)]
    facts = [o for o in outputs if isinstance(o, TokenFacts)]
    return findings, facts, ctx


def kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


class TestTokenDetector:
    def test_valid_token_facts(self) -> None:
        """A well-behaved token yields exact TokenFacts and no findings."""
        token = mint({"sub": "u1", "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3540})
        findings, facts, ctx = run(token)
        assert findings == []
        assert facts == [
            TokenFacts(
                TokenState.VALID, "HS256", NOW + 3540.0, NOW - 60.0, NOW - 60.0, 3600.0, ctx.pseudonym(token)
            )
        ]

    @pytest.mark.parametrize(("alg", "reported"), [("RS256", "RS256"), ("NONE", "none"), ("4111111111111111", "other")])
    def test_reported_alg_is_never_attacker_text(self, alg: str, reported: str) -> None:
        """`apisec.token.alg` is never masked, so an unknown alg is reported as `other`, not as sent."""
        _, facts, _ = run(forge({"alg": alg}, {"sub": "u", "exp": NOW + 60}))
        assert facts[0].alg == reported

    def test_expired(self) -> None:
        """An exp an hour ago is state expired and token.expired."""
        findings, facts, _ = run(mint({"sub": "u", "exp": NOW - 3600}))
        assert facts[0].state is TokenState.EXPIRED
        assert "token.expired" in kinds(findings)

    def test_not_yet_valid(self) -> None:
        """An nbf in the future is state not_yet_valid."""
        findings, facts, _ = run(mint({"sub": "u", "nbf": NOW + 3600, "exp": NOW + 7200}))
        assert facts[0].state is TokenState.NOT_YET_VALID
        assert "token.not_yet_valid" in kinds(findings)

    def test_no_exp(self) -> None:
        """A token without exp is reported and has no expiry in its facts."""
        findings, facts, _ = run(mint({"sub": "u"}))
        assert "token.no_expiry" in kinds(findings)
        assert facts[0].expires_at is None and facts[0].lifetime_s is None

    def test_alg_none(self) -> None:
        """alg none is critical token.alg_none."""
        findings, facts, _ = run(mint({"sub": "u", "exp": NOW + 60}, secret=None, alg="none"))
        assert "token.alg_none" in kinds(findings)
        assert facts[0].alg == "none"

    def test_long_lifetime_uses_config(self) -> None:
        """The lifetime limit comes from DetectConfig.max_token_lifetime_s."""
        token = mint({"sub": "u", "iat": NOW, "exp": NOW + 7200})
        assert "token.long_lifetime" not in kinds(run(token)[0])
        strict = DetectConfig(hmac_key=b"unit", now=NOW, max_token_lifetime_s=3600)
        assert "token.long_lifetime" in kinds(run(token, strict)[0])

    @pytest.mark.parametrize(
        "token",
        [
            "eyJ!!!.eyJ.sig",
            base64.urlsafe_b64encode(b"not json").decode().rstrip("=") + ".e30.c2ln",
            "eyJhbGciOiJIUzI1NiJ9.W10.c2ln",  # payload is a JSON array
            "a.b.c",
            "eyJhbGciOiJIUzI1NiJ9.e30.!!",
            "x" * 5_000 + "." + "y" * 5_000 + "." + "z" * 240,  # 10 KB garbage
            "eyJ" + "A" * 20_000 + ".e30.c2ln",  # over the size limit
        ],
    )
    def test_malformed_never_raises(self, token: str) -> None:
        """Broken tokens end as state malformed with one token.malformed finding."""
        findings, facts, _ = run(token)
        assert facts[0].state is TokenState.MALFORMED
        assert [f.kind for f in findings] == ["token.malformed"]

    def test_weak_secret_builtin(self) -> None:
        """HS256 signed with 'secret' is cracked from the built-in list."""
        findings, _, _ = run(mint({"sub": "u", "exp": NOW + 60}, secret="secret"))
        assert "token.weak_secret" in kinds(findings)

    @pytest.mark.parametrize("alg", ["HS384", "HS512"])
    def test_weak_secret_other_hmac_sizes(self, alg: str) -> None:
        """HS384 and HS512 are cracked too."""
        findings, _, _ = run(mint({"sub": "u", "exp": NOW + 60}, secret="changeme", alg=alg))
        assert "token.weak_secret" in kinds(findings)

    def test_rejected_token_is_not_cracked(self) -> None:
        """A token the server answered 401 is not worth cracking (attacker junk costs no CPU)."""
        token = mint({"sub": "u", "exp": NOW + 60}, secret="secret")
        exchange = make_exchange(headers={"Authorization": f"Bearer {token}"}, status=401)
        outputs = list(DETECTOR(exchange, ANALYZER.context(exchange)))
        assert "token.weak_secret" not in {o.kind for o in outputs if isinstance(o, Finding)}

    def test_random_secret_is_not_weak(self) -> None:
        """A random 64-byte key is not in any list."""
        findings, _, _ = run(mint({"sub": "u", "exp": NOW + 60}, secret=os.urandom(64)))
        assert "token.weak_secret" not in kinds(findings)

    def test_configured_weak_secret(self) -> None:
        """DetectConfig.weak_secrets extends the built-in list."""
        token = mint({"sub": "u", "exp": NOW + 60}, secret="acme-prod-2019")
        assert "token.weak_secret" not in kinds(run(token)[0])
        config = DetectConfig(hmac_key=b"unit", now=NOW, weak_secrets=frozenset({"acme-prod-2019"}))
        assert "token.weak_secret" in kinds(run(token, config)[0])

    def test_weak_secret_is_memoized(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The same token seen many times is cracked once per analyzer."""
        calls = []
        real = weak_secrets_module.hmac_secret_in
        monkeypatch.setattr(weak_secrets_module, "hmac_secret_in", lambda *a: calls.append(1) or real(*a))
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit", now=NOW))
        token = mint({"sub": "u", "exp": NOW + 60}, secret="secret")
        for _ in range(50):
            assert "token.weak_secret" in kinds(run(token, analyzer=analyzer)[0])
        assert len(calls) == 1  # found in the built-in list on the first and only try

    def test_token_in_query(self) -> None:
        """A JWT in the query string is token.in_url at its parameter."""
        token = mint({"sub": "u", "exp": NOW + 60})
        exchange = make_exchange(f"https://api.example.com/ws?jwt={token}")
        outputs = list(DETECTOR(exchange, ANALYZER.context(exchange)))
        assert [(o.kind, o.location) for o in outputs if isinstance(o, Finding)] == [
            ("token.in_url", "request.query.jwt")
        ]

    def test_key_headers(self) -> None:
        """kid traversal and embedded jwk are both reported, the jwk one as high."""
        token = forge(
            {"alg": "RS256", "kid": "../../etc/passwd", "jwk": {"kty": "RSA"}}, {"sub": "u", "exp": NOW + 60}
        )
        findings, _, _ = run(token)
        assert {"token.kid_injection", "token.untrusted_key_header"} <= kinds(findings)
        assert next(f for f in findings if f.kind == "token.untrusted_key_header").severity.label == "high"

    def test_opaque_bearer_yields_nothing(self) -> None:
        """An opaque bearer token is not a JWT: no facts, no findings."""
        assert run("2YotnFZFEjr1zCsicMWpAA")[:2] == ([], [])

    def test_no_raw_values_leak(self) -> None:
        """Neither the token, its claims nor the cracked secret appear in any output."""
        planted = "PLANTED-claim-value-91"
        token = mint({"sub": planted, "password": planted, "email": "planted@example.org"}, secret="secret")
        findings, facts, _ = run(token, url=f"https://api.example.com/x?access_token={token}")
        text = repr(findings) + repr(facts)
        assert findings
        for raw in (token, planted, "planted@example.org", "'secret'", token.split(".")[2]):
            assert raw not in text

    def test_bounded_time_on_huge_header(self) -> None:
        """A 1 MB Authorization header is rejected in well under 50 ms."""
        exchange = make_exchange(headers={"Authorization": "Bearer eyJ" + "A" * 1_000_000 + ".e30.c2ln"})
        ctx = ANALYZER.context(exchange)
        start = time.perf_counter()
        list(DETECTOR(exchange, ctx))
        assert time.perf_counter() - start < 0.05


def budget_config(rate: float | None, **kwargs: object) -> DetectConfig:
    return DetectConfig(max_weak_secret_hmacs_per_s=rate, **kwargs)


class TestWeakSecretBudget:
    def test_bucket_refills_and_allows_overdraft(self) -> None:
        """A check may overdraw a full bucket; the next waits until the debt is repaid at `rate` per second."""
        budget = HmacBudget(rate=1_000, now=0.0)
        assert budget.take(5_000, now=0.0)  # a big dictionary: overdraws to -4000
        assert not budget.take(10, now=3.5)  # -500 after 3.5 s
        assert budget.take(10, now=4.5)  # +500 repaid
        assert not budget.take(600, now=4.6)  # 590 left

    def test_zero_rate_never_checks(self) -> None:
        """A zero rate disables weak-secret checks."""
        assert not HmacBudget(rate=0, now=0.0).take(1, now=100.0)

    def test_exhausted_budget_leaves_tokens_unchecked(self) -> None:
        """Once the budget is spent, new weak tokens are not checked; already answered ones stay memoized."""
        analyzer = Analyzer(budget_config(1.0, hmac_key=b"unit", now=NOW))
        first = mint({"sub": "a", "exp": NOW + 60}, secret="secret")
        second = mint({"sub": "b", "exp": NOW + 60}, secret="secret")
        assert "token.weak_secret" in kinds(run(first, analyzer=analyzer)[0])
        findings, facts, _ = run(second, analyzer=analyzer)
        assert "token.weak_secret" not in kinds(findings) and facts[0].state is TokenState.VALID
        assert "token.weak_secret" in kinds(run(first, analyzer=analyzer)[0])

    def test_unchecked_token_is_checked_later(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A token skipped for lack of budget is not memoized: it is checked once the budget refills."""
        clock = [1_000.0]
        monkeypatch.setattr(tokens_module.time, "monotonic", lambda: clock[0])
        analyzer = Analyzer(budget_config(1.0, hmac_key=b"unit", now=NOW))
        spend = mint({"sub": "a", "exp": NOW + 60}, secret=RANDOM_KEY)
        later = mint({"sub": "b", "exp": NOW + 60}, secret="secret")
        run(spend, analyzer=analyzer)
        assert "token.weak_secret" not in kinds(run(later, analyzer=analyzer)[0])
        clock[0] += 10_000
        assert "token.weak_secret" in kinds(run(later, analyzer=analyzer)[0])

    def test_no_limit(self) -> None:
        """None lifts the limit: many distinct weak tokens are all cracked."""
        analyzer = Analyzer(budget_config(None, hmac_key=b"unit", now=NOW))
        for i in range(5):
            assert "token.weak_secret" in kinds(run(mint({"sub": str(i)}, secret="secret"), analyzer=analyzer)[0])

    def test_flood_of_distinct_tokens_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With a 100k-entry dictionary, 50 distinct accepted tokens in one instant cost at most
        one second of budget plus one slice (the overdraft)."""
        hashed: list[int] = []
        monkeypatch.setattr(tokens_module.time, "monotonic", lambda: 1_000.0)
        monkeypatch.setattr(weak_secrets_module, "hmac_secret_in", lambda p, a, keys: hashed.append(len(keys)) or False)
        big = frozenset(f"word{i}" for i in range(100_000))
        analyzer = Analyzer(budget_config(50_000.0, hmac_key=b"unit", now=NOW, weak_secrets=big))
        for i in range(50):
            run(mint({"sub": str(i), "exp": NOW + 60}), analyzer=analyzer)
        assert 0 < sum(hashed) <= 50_000 + max(hashed)
