"""Regression cases for the JWT rules (APISEC-TOK-*). Tokens are minted here with PyJWT or forged."""

from __future__ import annotations

import base64
import json
import warnings

import jwt

from otel_apisec.testing import make_exchange
from tests.cases import Case

NOW = 1_700_000_000
STRONG_SECRET = "q8Yf3kR2vN7xLw0pT5sZ1cH9mB4dJ6gU8eA2yK7nV3rX0tW5zQ1iO9lP4uS6hD2f"
AUTH = "request.header.authorization"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, signature: bytes = b"\x01" * 32) -> str:
    """A compact JWS with any header, unsigned (the detectors never verify signatures)."""
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)))


def mint(claims: dict | None = None, secret: str = STRONG_SECRET, headers: dict | None = None) -> str:
    """An HS256 token; default claims are a well-behaved one-hour access token."""
    body = {"sub": "user-123", "iat": NOW - 60, "exp": NOW + 3600} if claims is None else claims
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about the deliberately short secrets
        return jwt.encode(body, secret, algorithm="HS256", headers=headers)


def bearer(token: str, url: str = "https://api.example.com/v1/orders", **kwargs: object) -> object:
    return make_exchange(url, headers={"Authorization": f"Bearer {token}"}, started_at=NOW, **kwargs)


GOOD = mint()

CASES = [
    Case(
        "APISEC-TOK-001",
        True,
        "alg none token",
        bearer(forge({"alg": "none"}, {"sub": "a", "exp": NOW + 60}, b"")),
        AUTH,
    ),
    Case(
        "APISEC-TOK-001",
        True,
        "header without alg",
        bearer(forge({"typ": "JWT"}, {"sub": "a", "exp": NOW + 60})),
        AUTH,
    ),
    Case("APISEC-TOK-001", False, "ordinary HS256 token", bearer(GOOD)),
    Case(
        "APISEC-TOK-002",
        True,
        "HS1 is not a recommended algorithm",
        bearer(forge({"alg": "HS1", "typ": "JWT"}, {"sub": "a", "exp": NOW + 60})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-002",
        False,
        "ES256 is recommended",
        bearer(
            forge({"alg": "ES256", "typ": "JWT", "kid": "k1"}, {"sub": "a", "exp": NOW + 60}, b"\x02" * 64)
        ),
    ),
    Case("APISEC-TOK-003", True, "expired an hour ago", bearer(mint({"sub": "a", "exp": NOW - 3600})), AUTH),
    Case(
        "APISEC-TOK-003",
        False,
        "expired 10 s ago, inside the clock-skew leeway",
        bearer(mint({"sub": "a", "exp": NOW - 10})),
    ),
    Case(
        "APISEC-TOK-004",
        True,
        "nbf an hour ahead",
        bearer(mint({"sub": "a", "nbf": NOW + 3600, "exp": NOW + 7200})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-004",
        False,
        "nbf 10 s ahead, inside the leeway",
        bearer(mint({"sub": "a", "nbf": NOW + 10, "exp": NOW + 3600})),
    ),
    Case("APISEC-TOK-005", True, "three parts but not base64 JSON", bearer("abc.def.ghi"), AUTH),
    Case(
        "APISEC-TOK-005",
        True,
        "exp claim is a string",
        bearer(forge({"alg": "HS256"}, {"sub": "a", "exp": "tomorrow"})),
        AUTH,
    ),
    Case("APISEC-TOK-005", False, "opaque OAuth bearer token (not a JWT)", bearer("2YotnFZFEjr1zCsicMWpAA")),
    Case("APISEC-TOK-006", True, "token without exp", bearer(mint({"sub": "a", "iat": NOW})), AUTH),
    Case("APISEC-TOK-006", False, "token with exp", bearer(GOOD)),
    Case(
        "APISEC-TOK-007",
        True,
        "30-day access token",
        bearer(mint({"sub": "a", "iat": NOW, "exp": NOW + 30 * 86400})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-007",
        False,
        "exactly 24 h lifetime is allowed",
        bearer(mint({"sub": "a", "iat": NOW, "exp": NOW + 86400})),
    ),
    Case(
        "APISEC-TOK-008",
        True,
        "password claim",
        bearer(mint({"sub": "a", "exp": NOW + 60, "password": "hunter22"})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-008",
        True,
        "email value in a custom claim",
        bearer(mint({"sub": "a", "exp": NOW + 60, "contact": "jane.doe@example.org"})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-008",
        False,
        "roles and scopes only",
        bearer(
            mint({"sub": "a", "exp": NOW + 60, "scope": "orders:read", "roles": ["admin"], "tenant": "t-1"})
        ),
    ),
    Case(
        "APISEC-TOK-009",
        True,
        "kid path traversal",
        bearer(mint(headers={"kid": "../../../../dev/null"})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-009",
        True,
        "kid SQL injection",
        bearer(mint(headers={"kid": "x' UNION SELECT 'secret"})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-009",
        False,
        "kid is a JWK thumbprint",
        bearer(mint(headers={"kid": "NjVBRjY5MDlCMUIwNzU4RTA2QzZFMDQ4QzQ2MDAyQjVDNjk1RTM2Qg"})),
    ),
    Case(
        "APISEC-TOK-010",
        True,
        "jku points at an external key set",
        bearer(
            forge(
                {"alg": "RS256", "jku": "https://keys.attacker.example/jwks.json"},
                {"sub": "a", "exp": NOW + 60},
            )
        ),
        AUTH,
    ),
    Case(
        "APISEC-TOK-010",
        True,
        "HS256 with an embedded public key (key confusion)",
        bearer(mint(headers={"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}})),
        AUTH,
    ),
    Case(
        "APISEC-TOK-010",
        False,
        "RS256 with kid and typ only",
        bearer(forge({"alg": "RS256", "typ": "JWT", "kid": "2024-05"}, {"sub": "a", "exp": NOW + 60})),
    ),
    Case(
        "APISEC-TOK-011",
        True,
        "JWT in access_token query parameter",
        make_exchange(f"https://api.example.com/ws?access_token={GOOD}", started_at=NOW),
        "request.query.access_token",
    ),
    Case(
        "APISEC-TOK-011",
        False,
        "JWT in the header, plain paging query",
        bearer(GOOD, "https://api.example.com/v1/orders?page=2"),
    ),
    Case("APISEC-TOK-012", True, "HS256 signed with 'secret'", bearer(mint(secret="secret")), AUTH),
    Case(
        "APISEC-TOK-012",
        True,
        "HS256 signed with the jwt.io sample secret",
        bearer(mint(secret="your-256-bit-secret")),
        AUTH,
    ),
    Case("APISEC-TOK-012", False, "HS256 signed with a random 64-char secret", bearer(GOOD)),
    Case("APISEC-TOK-012", True, "HS256 signed with a common English word", bearer(mint(secret="sunshine")), AUTH),
    Case("APISEC-TOK-012", True, "HS256 signed with a common password", bearer(mint(secret="dragon")), AUTH),
    Case(
        "APISEC-TOK-012",
        True,
        "HS256 signed with an unset JavaScript variable",
        bearer(mint(secret="undefined")),
        AUTH,
    ),
    Case(
        "APISEC-TOK-012",
        True,
        "HS256 signed with the FastAPI security tutorial key",
        bearer(mint(secret="09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7")),
        AUTH,
    ),
    Case(
        "APISEC-TOK-012",
        False,
        "HS256 signed with a common word plus a random suffix",
        bearer(mint(secret="sunshine-Qx7vR2kLm9Tz4WpB")),
    ),
    Case(
        "APISEC-TOK-012",
        False,
        "weak-secret token the server rejected (401)",
        make_exchange(
            "https://api.example.com/v1/orders",
            headers={"Authorization": f"Bearer {mint(secret='sunshine')}"},
            status=401,
            started_at=NOW,
        ),
    ),
]
