"""JWTs presented by the caller: algorithm, validity window, claims, key headers, weak HMAC keys.

Signatures are not verified (no keys here); the token is parsed to report what an attacker or a
careless client could exploit. Recommended algorithms: HS256/384/512, RS256/384/512,
PS256/384/512, ES256/384/512, ES256K and EdDSA; anything else is reported, `none` separately.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import re2

from otel_apisec.detect.api import DetectContext, ExchangeOutput
from otel_apisec.detect.rules.tokens import (
    ALG_NONE,
    EXPIRED,
    IN_URL,
    KID_INJECTION,
    LONG_LIFETIME,
    MALFORMED,
    NO_EXPIRY,
    NOT_YET_VALID,
    SENSITIVE_CLAIMS,
    UNTRUSTED_KEY,
    WEAK_ALG,
    WEAK_SECRET,
)
from otel_apisec.detect.sensitive_keys import is_sensitive_key, normalize_key
from otel_apisec.detect.token_jwt import HMAC_DIGESTS, ParsedJwt, presented_jwts
from otel_apisec.detect.weak_secrets import weak_secret_used
from otel_apisec.model import HttpExchange, Severity, TokenFacts, TokenState, clean_text

__all__ = ["DETECTOR", "HmacBudget", "TokenDetector"]


RECOMMENDED_ALGS = frozenset(
    {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
     "ES256", "ES384", "ES512", "ES256K", "EdDSA"}
)
_KEY_HEADERS = ("jku", "x5u", "jwk", "x5c")
_EMBEDDED_KEY_HEADERS = frozenset({"jwk", "x5c"})
# Path traversal, absolute paths, NUL, SQL and shell metacharacters in `kid`.
_KID_RISK = re2.compile(
    r"\.\.[/\\]|^[/\\]|^[A-Za-z]:\\|\x00|%00|['\";|&$`<>]|--|/\*|(?i:\bunion\b|\bselect\b|\bor\s+1\s*=\s*1)"
)
_EMAIL = re2.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")
_PHONE = re2.compile(r"\+[0-9][0-9 ().-]{6,20}")
_LEEWAY_S = 30
"""Clock skew tolerated between issuer, API and capture before calling a token (not yet) valid."""
_MAX_CLAIMS = 200
_HMAC_BUDGET_KEY = "tokens.weak_secret_budget"


class HmacBudget:
    """Token bucket of HMAC computations for weak-secret checks, shared by one Analyzer's analyses.

    It holds at most one second of budget. A check may overdraw it (a slice of a large configured
    dictionary may cost more than a second's worth); later checks then wait until the debt is repaid,
    so the long-run rate never exceeds `rate` however many distinct tokens arrive.
    """

    __slots__ = ("level", "rate", "stamp")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.level = rate
        self.stamp = now

    def take(self, cost: int, now: float) -> bool:
        """Spend `cost` HMACs if the bucket allows a check now; False leaves it untouched."""
        self.level = min(self.rate, self.level + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        if self.rate <= 0 or self.level < min(cost, self.rate):
            return False
        self.level -= cost
        return True


def _afford_weak_secret_check(cost: int, ctx: DetectContext) -> bool:
    rate = ctx.config.max_weak_secret_hmacs_per_s
    if rate is None:
        return True
    now = time.monotonic()  # CPU protection runs on wall time, not on the exchanges' timestamps
    budget = ctx.state.get(_HMAC_BUDGET_KEY)
    if not isinstance(budget, HmacBudget) or budget.rate != rate:
        budget = ctx.state[_HMAC_BUDGET_KEY] = HmacBudget(float(rate), now)
    return budget.take(cost, now)


def _claim_findings(claims: dict[str, object]) -> tuple[list[str], int]:
    """Sensitive claim names (normalized, from the key list) and the count of email/phone values.

    Walks nested objects breadth-first, bounded, so a huge token cannot cost more than it weighs.
    """
    names: list[str] = []
    personal = 0
    queue: list[dict[str, object]] = [claims]
    visited = 0
    while queue and visited < _MAX_CLAIMS:
        node = queue.pop()
        for key, value in node.items():
            visited += 1
            if isinstance(value, dict):
                queue.append(value)
                continue
            if value in (None, "", [], False) or isinstance(value, bool):
                continue
            if is_sensitive_key(key) and normalize_key(key) not in names:
                names.append(normalize_key(key))
            elif isinstance(value, str) and len(value) <= 320 and _is_contact(clean_text(value)):
                personal += 1
    return names, personal


def _is_contact(value: str) -> bool:
    """An email address or an international phone number (7 to 15 digits)."""
    if _EMAIL.fullmatch(value):
        return True
    return bool(_PHONE.fullmatch(value)) and 7 <= sum(c.isdigit() for c in value) <= 15


@dataclass(frozen=True, slots=True)
class _Token:
    """One parsed token, as each check sees it."""

    where: str
    header: dict[str, object]
    claims: dict[str, object]
    parsed: ParsedJwt
    token_hash: str
    status: int | None


def _alg(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    alg = token.header.get("alg")
    if not isinstance(alg, str) or not alg or alg.lower() == "none":
        yield ALG_NONE.finding(token.where)
    elif alg not in RECOMMENDED_ALGS:
        yield WEAK_ALG.finding(token.where, "JWT signed with an algorithm outside the recommended list")


def _times(claims: dict[str, object]) -> tuple[float | None, float | None, float | None]:
    return _number(claims.get("exp")), _number(claims.get("iat")), _number(claims.get("nbf"))


def _window(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    exp, _, nbf = _times(token.claims)
    state = _state(exp, nbf, ctx.now)
    if state is TokenState.EXPIRED:
        yield EXPIRED.finding(token.where)
    elif state is TokenState.NOT_YET_VALID:
        yield NOT_YET_VALID.finding(token.where)


def _no_expiry(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    if _number(token.claims.get("exp")) is None:
        yield NO_EXPIRY.finding(token.where)


def _lifetime(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    lifetime = _lifetime_s(*_times(token.claims))
    limit = ctx.config.max_token_lifetime_s
    if lifetime is not None and lifetime > limit:
        # `:.0f`, not int(): a lifetime may be 1e308 s (an int of 309 digits would still print,
        # but one past 4300 digits raises in Python 3.11+).
        shown = f"{lifetime:.0f}" if lifetime < 1e15 else f"{lifetime:.3g}"
        yield LONG_LIFETIME.finding(token.where, f"JWT lifetime {shown} s exceeds the {limit} s maximum")


def _claims(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    names, personal = _claim_findings(token.claims)
    if names:
        yield SENSITIVE_CLAIMS.finding(token.where, f"JWT claims include sensitive fields: {', '.join(names[:10])}")
    elif personal:
        yield SENSITIVE_CLAIMS.finding(
            token.where, f"JWT claims include {personal} email address or phone number value(s)", severity=Severity.LOW
        )


def _kid(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    kid = token.header.get("kid")
    if isinstance(kid, str) and _KID_RISK.search(clean_text(kid)):
        yield KID_INJECTION.finding(token.where)


def _key_headers(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    present = [h for h in _KEY_HEADERS if token.header.get(h)]
    if present:
        alg = token.header.get("alg")
        hmac_alg = isinstance(alg, str) and alg in HMAC_DIGESTS
        embedded = hmac_alg or any(h in _EMBEDDED_KEY_HEADERS for h in present)
        why = " with an HMAC algorithm (key confusion)" if hmac_alg else ""
        yield UNTRUSTED_KEY.finding(
            token.where, f"JWT header carries {'/'.join(present)}{why}", severity=Severity.HIGH if embedded else None
        )


def _weak_secret(token: _Token, ctx: DetectContext) -> Iterator[ExchangeOutput]:
    # A token the server rejected proves nothing about the server's key, and cracking every
    # attacker-made token would let junk traffic buy our CPU: only try accepted tokens.
    alg = token.header.get("alg")
    if isinstance(alg, str) and alg in HMAC_DIGESTS and token.status not in (401, 403):
        if _weak_secret_used(token.parsed, alg, token.token_hash, ctx):
            yield WEAK_SECRET.finding(token.where, "JWT HMAC secret is in the known-weak secret list")


# Each fact of a well-formed token, in report order. Each runs as a step of its own
# (`DetectContext.guarded`): input that breaks one check loses that check's finding only.
_CHECKS = (
    ("tokens.alg", _alg),
    ("tokens.window", _window),
    ("tokens.no_expiry", _no_expiry),
    ("tokens.lifetime", _lifetime),
    ("tokens.claims", _claims),
    ("tokens.kid", _kid),
    ("tokens.key_headers", _key_headers),
    ("tokens.weak_secret", _weak_secret),
)


class TokenDetector:
    name = "tokens"

    def __call__(self, exchange: HttpExchange, ctx: DetectContext) -> Iterator[ExchangeOutput]:
        facts: list[TokenFacts] = []
        for candidate, parsed in presented_jwts(exchange, ctx):
            token_hash = ctx.pseudonym(candidate.token)
            if candidate.in_url:
                yield IN_URL.finding(candidate.location)
            if parsed.header is None or parsed.claims is None:
                yield MALFORMED.finding(candidate.location, f"Malformed JWT presented: {parsed.malformed}")
            else:
                token = _Token(candidate.location, parsed.header, parsed.claims, parsed, token_hash, exchange.status)
                for step, check in _CHECKS:
                    yield from ctx.guarded(step, check, token, ctx)
            if not facts:  # the first token's state is the exchange's
                facts = ctx.guarded("tokens.state", _facts, parsed, token_hash, ctx) or [
                    TokenFacts(state=TokenState.MALFORMED, token_hash=token_hash)  # presented, but not understood
                ]
        yield from facts


def _facts(parsed: ParsedJwt, token_hash: str, ctx: DetectContext) -> Iterator[TokenFacts]:
    if parsed.claims is None or parsed.header is None:
        yield TokenFacts(state=TokenState.MALFORMED, token_hash=token_hash)
        return
    exp, iat, nbf = _times(parsed.claims)
    alg = parsed.header.get("alg")
    yield TokenFacts(
        state=_state(exp, nbf, ctx.now),
        alg=_reported_alg(alg),
        expires_at=exp,
        issued_at=iat,
        not_before=nbf,
        lifetime_s=_lifetime_s(exp, iat, nbf),
        token_hash=token_hash,
    )


# Algorithms a span may name; anything else is `other`: `alg` is attacker text, and the `apisec.*`
# attributes it lands in are never masked (a card number sent as `alg` must not reach the backend).
_REPORTED_ALGS = RECOMMENDED_ALGS | {"none", "HS1", "RS1", "ES256K", "Ed25519", "Ed448"}


def _reported_alg(alg: object) -> str | None:
    if not isinstance(alg, str):
        return None
    if alg in _REPORTED_ALGS:
        return alg
    return "none" if alg.lower() == "none" else "other"


def _weak_secret_used(parsed: ParsedJwt, alg: str, token_hash: str, ctx: DetectContext) -> bool:
    """The known-weak secrets tried one slice per sighting, memoized by token hash, each slice paid
    from the Analyzer's HMAC budget (`weak_secrets.weak_secret_used`)."""
    return weak_secret_used(parsed, alg, token_hash, ctx, _afford_weak_secret_check)


_MAX_FLOAT = sys.float_info.max


def _number(value: object) -> float | None:
    """A time claim as a finite float, or None when it is not a number (NaN included).

    Claims are attacker-chosen: integers past float's range and infinities are clamped to
    +-1.8e308 (still far future or far past) instead of raising OverflowError in `float()`.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):  # int-to-float comparisons are exact and never overflow
        return float(value) if -_MAX_FLOAT <= value <= _MAX_FLOAT else (_MAX_FLOAT if value > 0 else -_MAX_FLOAT)
    if math.isnan(value):
        return None
    return min(max(value, -_MAX_FLOAT), _MAX_FLOAT)


def _lifetime_s(exp: float | None, iat: float | None, nbf: float | None) -> float | None:
    """exp - (iat, else nbf), clamped like the claims: 1e308 - -1e308 would be infinite."""
    start = iat if iat is not None else nbf
    if exp is None or start is None:
        return None
    return min(max(exp - start, -_MAX_FLOAT), _MAX_FLOAT)


def _state(exp: float | None, nbf: float | None, now: float) -> TokenState:
    if exp is not None and now > exp + _LEEWAY_S:
        return TokenState.EXPIRED
    if nbf is not None and now + _LEEWAY_S < nbf:
        return TokenState.NOT_YET_VALID
    return TokenState.VALID


DETECTOR = TokenDetector()
