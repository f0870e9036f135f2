"""The built-in weak-secret list and the sliced, memoized, rate-limited check of a JWT against it."""

from __future__ import annotations

import hmac
import os
import time
import warnings
from pathlib import Path

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import otel_apisec.detect.token_jwt as token_jwt_module
import otel_apisec.detect.weak_secrets as ws
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect import tokens as tokens_module
from otel_apisec.detect.token_jwt import parse_jwt
from otel_apisec.detect.tokens import DETECTOR
from otel_apisec.model import Finding
from otel_apisec.testing import make_exchange
from tests.cases.tokens import NOW

DATA = Path(ws.__file__).resolve().parents[1] / "data"
STRONG = os.urandom(48)


def mint(secret: str | bytes, claims: dict | None = None, alg: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(claims or {"sub": "u", "exp": NOW + 60}, secret, algorithm=alg)


def context(token: str, config: DetectConfig | None = None, analyzer: Analyzer | None = None):
    analyzer = analyzer or Analyzer(config or DetectConfig(hmac_key=b"unit", now=NOW))
    exchange = make_exchange(headers={"Authorization": f"Bearer {token}"}, started_at=NOW)
    ctx = analyzer.context(exchange)
    return ctx, ctx.pseudonym(token)


def weak_kinds(token: str, analyzer: Analyzer) -> bool:
    exchange = make_exchange(headers={"Authorization": f"Bearer {token}"}, started_at=NOW)
    outputs = DETECTOR(exchange, analyzer.context(exchange))
    return any(isinstance(o, Finding) and o.kind == "token.weak_secret" for o in outputs)


class Counter:
    """Stands in for the `hmac` module of `token_jwt`, counting HMACs."""

    def __init__(self) -> None:
        self.calls = 0
        self.compare_digest = hmac.compare_digest

    def digest(self, key: bytes, msg: bytes, digest: str) -> bytes:
        self.calls += 1
        return hmac.digest(key, msg, digest)


@pytest.fixture
def hmacs(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    monkeypatch.setattr(token_jwt_module, "hmac", counter)
    return counter


def always(count: int, ctx: object) -> bool:
    return True


class TestList:
    def test_size_and_sources(self) -> None:
        """About 20k entries: the hand-written ones first, then the generated file, no duplicates."""
        assert 19_000 <= len(ws.BUILTIN_SECRET_BYTES) <= 20_000
        assert len(set(ws.BUILTIN_SECRET_BYTES)) == len(ws.BUILTIN_SECRET_BYTES)
        assert ws.BUILTIN_SECRET_BYTES[0] == b"secret"
        assert (DATA / "weak_secrets.txt").stat().st_size <= 200_000
        assert "MIT License" in (DATA / "weak_secrets.NOTICE").read_text()

    @pytest.mark.parametrize(
        "secret",
        ["sunshine", "dragon", "butterfly", "bicycle", "umbrella", "secret", "your-256-bit-secret", "changeme",
         "jwt_secret", "supersecret", "shhhhh", "keyboard cat", "AllYourBase", "", "undefined"],
    )
    def test_covers(self, secret: str) -> None:
        """Common English words, leaked passwords, sample and framework secrets, unset variables."""
        assert secret.encode() in set(ws.BUILTIN_SECRET_BYTES)

    def test_likeliest_first(self) -> None:
        """The words and passwords the issue names are tried in the first slice of any ordinary token."""
        first = set(ws.BUILTIN_SECRET_BYTES[: ws.slice_size(parse_jwt(mint(STRONG)))])
        assert {b"sunshine", b"dragon", b"secret", b"password", b"your-256-bit-secret"} <= first

    def test_weak_password_is_case_blind(self) -> None:
        """A Basic password that is a common word is weak, whatever its case."""
        assert ws.is_weak_password("Sunshine") and not ws.is_weak_password("q8Yf3kR2vN7xLw0p")

    def test_configured_secrets_come_first(self) -> None:
        """`DetectConfig.weak_secrets` entries are tried before the built-in list."""
        keys = ws.candidates(frozenset({"acme-prod-2019", "secret"}))
        assert keys[0] == b"acme-prod-2019" and keys.count(b"secret") == 1


class TestSlicedCheck:
    @pytest.mark.parametrize("word", ["sunshine", "dragon"])
    def test_common_word_found_on_first_sighting(self, word: str) -> None:
        """A token signed with a common English word is cracked at once."""
        token = mint(word)
        ctx, token_hash = context(token)
        assert ws.weak_secret_used(parse_jwt(token), "HS256", token_hash, ctx, always)

    def test_deep_entry_found_within_a_few_sightings(self) -> None:
        """An entry near the end of the list is found by later sightings of the same token."""
        word = ws.BUILTIN_SECRET_BYTES[-2].decode()
        token = mint(word)
        ctx, token_hash = context(token)
        parsed = parse_jwt(token)
        rounds = -(-len(ws.BUILTIN_SECRET_BYTES) // ws.slice_size(parsed))
        results = [ws.weak_secret_used(parsed, "HS256", token_hash, ctx, always) for _ in range(rounds)]
        assert results[-1] and not results[0]

    def test_strong_secret_answered_false_then_free(self, hmacs: Counter) -> None:
        """A random secret is never found; once the whole list is tried the answer costs no HMAC."""
        token = mint(STRONG)
        ctx, token_hash = context(token)
        parsed = parse_jwt(token)
        rounds = -(-len(ws.BUILTIN_SECRET_BYTES) // ws.slice_size(parsed))
        assert not any(ws.weak_secret_used(parsed, "HS256", token_hash, ctx, always) for _ in range(rounds))
        assert hmacs.calls == len(ws.BUILTIN_SECRET_BYTES)
        assert ctx.memo.get(f"tokens.weak_secret:{token_hash}") is False
        for _ in range(100):
            assert not ws.weak_secret_used(parsed, "HS256", token_hash, ctx, always)
        assert hmacs.calls == len(ws.BUILTIN_SECRET_BYTES)

    def test_memoized_weak_answer_costs_nothing(self, hmacs: Counter) -> None:
        """The second check of a cracked token computes no HMAC."""
        token = mint("sunshine")
        ctx, token_hash = context(token)
        parsed = parse_jwt(token)
        assert ws.weak_secret_used(parsed, "HS256", token_hash, ctx, always)
        spent = hmacs.calls
        assert spent <= ws.slice_size(parsed)
        assert all(ws.weak_secret_used(parsed, "HS256", token_hash, ctx, always) for _ in range(50))
        assert hmacs.calls == spent

    def test_refused_slice_is_not_tried_nor_remembered(self, hmacs: Counter) -> None:
        """When the rate limit refuses, nothing is hashed and the next sighting starts at the same place."""
        token = mint(STRONG)
        ctx, token_hash = context(token)
        parsed = parse_jwt(token)
        asked: list[int] = []
        assert not ws.weak_secret_used(parsed, "HS256", token_hash, ctx, lambda n, c: asked.append(n) or False)
        assert hmacs.calls == 0 and ctx.memo.get(f"tokens.weak_secret:{token_hash}") is None
        assert asked == [ws.slice_size(parsed)]
        ws.weak_secret_used(parsed, "HS256", token_hash, ctx, always)
        assert ctx.memo.get(f"tokens.weak_secret:{token_hash}") == ws.slice_size(parsed)

    @settings(max_examples=40, deadline=None)
    @given(
        pad=st.integers(min_value=0, max_value=11_000),
        alg=st.sampled_from(["HS256", "HS384", "HS512"]),
        junk=st.binary(max_size=80),
    )
    def test_hostile_token_sighting_is_bounded(self, pad: int, alg: str, junk: bytes) -> None:
        """Any token up to the 16 KiB parse limit costs one bounded slice per sighting (< 50 ms)."""
        token = mint(STRONG, {"sub": "x", "pad": "A" * pad, "j": junk.hex()}, alg)
        parsed = parse_jwt(token)
        assert parsed.malformed is None
        ctx, token_hash = context(token)
        start = time.perf_counter()
        ws.weak_secret_used(parsed, alg, token_hash, ctx, always)
        assert time.perf_counter() - start < 0.05


SLICED = pytest.mark.skipif(
    not hasattr(tokens_module, "weak_secret_used"), reason="tokens.py does not yet delegate to weak_secret_used"
)


class TestThroughDetector:
    """The check as the tokens detector wires it (with its memo and HMAC rate limit)."""

    @SLICED
    @pytest.mark.parametrize("word", ["sunshine", "dragon", "purple"])
    def test_common_word_token_is_reported(self, word: str) -> None:
        """An accepted token signed with a common English word is token.weak_secret."""
        assert weak_kinds(mint(word), Analyzer(DetectConfig(hmac_key=b"unit", now=NOW)))

    def test_strong_secret_is_not_reported(self) -> None:
        """A random 48-byte secret is never reported, however often the token is seen."""
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit", now=NOW))
        token = mint(STRONG)
        assert not any(weak_kinds(token, analyzer) for _ in range(12))

    @SLICED
    def test_repeat_sightings_cost_no_hmac(self, hmacs: Counter) -> None:
        """Once a token is answered, further sightings compute no HMAC (memoized per token)."""
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit", now=NOW))
        token = mint(STRONG)
        for _ in range(12):
            weak_kinds(token, analyzer)
        spent = hmacs.calls
        assert spent >= len(ws.BUILTIN_SECRET_BYTES)  # the whole list was tried once
        for _ in range(50):
            weak_kinds(token, analyzer)
        assert hmacs.calls == spent

    @SLICED
    def test_rate_limit_bounds_a_flood(self, hmacs: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
        """A flood of distinct accepted tokens in one instant costs at most one check's worth of HMACs."""
        monkeypatch.setattr(tokens_module.time, "monotonic", lambda: 5_000.0)
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit", now=NOW, max_weak_secret_hmacs_per_s=5_000.0))
        for i in range(40):
            weak_kinds(mint(STRONG, {"sub": str(i), "exp": NOW + 60}), analyzer)
        assert 0 < hmacs.calls <= len(ws.BUILTIN_SECRET_BYTES)

    def test_rate_zero_disables(self, hmacs: Counter) -> None:
        """A zero rate checks nothing, even a token signed with 'secret'."""
        analyzer = Analyzer(DetectConfig(hmac_key=b"unit", now=NOW, max_weak_secret_hmacs_per_s=0.0))
        assert not weak_kinds(mint("secret"), analyzer) and hmacs.calls == 0
