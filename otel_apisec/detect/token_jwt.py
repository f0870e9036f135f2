"""Find the JWTs a request presents and parse them without verifying, safely and in bounded time.

Parsing is hand-written (base64url + orjson) with size limits so that any malformed input ends
as `ParsedJwt.malformed`, never as an exception. The weak-HMAC-secret check lives here too: it
needs the exact signing input and signature bytes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.cookies import request_cookies
from otel_apisec.model import HttpExchange

__all__ = ["MAX_TOKEN_CHARS", "JwtCandidate", "ParsedJwt", "find_jwts", "hmac_secret_in", "parse_jwt", "presented_jwts"]

MAX_TOKEN_CHARS = 16 * 1024
"""Longer "tokens" are not parsed (malformed): real JWTs stay well below proxies' header limits."""
_MAX_CANDIDATES = 4
HMAC_DIGESTS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}


@dataclass(frozen=True, slots=True)
class JwtCandidate:
    location: str
    token: str
    in_url: bool


@dataclass(frozen=True, slots=True)
class ParsedJwt:
    header: dict[str, object] | None
    claims: dict[str, object] | None
    signing_input: bytes
    signature: bytes
    malformed: str | None
    """Why the token could not be parsed (a fixed phrase, never token text), or None."""


def _looks_like_jws(value: str) -> bool:
    """Three dot-separated parts starting like a base64url JSON object (`eyJ` = `{"`)."""
    return value.startswith("eyJ") and value.count(".") == 2 and len(value) <= MAX_TOKEN_CHARS


def _strip_bearer(value: str) -> str:
    value = value.strip()
    return value[7:].strip() if value[:7].lower() == "bearer " else value


def find_jwts(exchange: HttpExchange) -> list[JwtCandidate]:
    """JWTs presented by the caller, Authorization first. A Bearer value with two dots is a
    candidate even when broken (it is then reported malformed); elsewhere only `eyJ...` shapes count."""
    found: list[JwtCandidate] = []
    seen: set[tuple[str, str]] = set()

    def add(location: str, token: str, in_url: bool = False) -> None:
        if (location, token) not in seen and len(found) < _MAX_CANDIDATES:
            seen.add((location, token))
            found.append(JwtCandidate(location, token, in_url))

    headers = exchange.request_headers
    for name in ("authorization", "proxy-authorization"):
        value = (headers.get(name) or "").strip()
        scheme, _, rest = value.partition(" ")
        rest = rest.strip()
        if scheme.lower() == "bearer" and (rest.count(".") == 2 or _looks_like_jws(rest)):
            add(f"request.header.{name}", rest)
    # `"eyJ" in value` first: every JWS starts so, and most values are not tokens.
    for name, value in headers:
        if "eyJ" in value:
            lower = name.lower()
            if lower not in ("authorization", "proxy-authorization", "cookie"):
                token = _strip_bearer(value)
                if _looks_like_jws(token):
                    add(f"request.header.{lower}", token)
    if exchange.cookies or "cookie" in headers:
        for name, value in request_cookies(exchange):
            if _looks_like_jws(value):
                add(f"request.cookie.{name}", value)
    for name, value in exchange.query:
        if "eyJ" in value:
            token = _strip_bearer(value)
            if _looks_like_jws(token):
                add(f"request.query.{name}", token, in_url=True)
    return found


def presented_jwts(exchange: HttpExchange, ctx: DetectContext) -> list[tuple[JwtCandidate, ParsedJwt]]:
    """`find_jwts` with each token parsed, once per analysis: the tokens and auth detectors both use them."""
    return ctx.once("jwts", lambda: [(candidate, parse_jwt(candidate.token)) for candidate in find_jwts(exchange)])


def _b64url(part: str) -> bytes | None:
    # Only A-Z a-z 0-9 - _ (str checks: no regex call per part); empty is valid (an unsigned token).
    letters = part.replace("-", "").replace("_", "")
    if (letters and not (letters.isascii() and letters.isalnum())) or len(part) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_object(raw: bytes | None) -> dict[str, object] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _bad(reason: str) -> ParsedJwt:
    return ParsedJwt(None, None, b"", b"", reason)


def parse_jwt(token: str) -> ParsedJwt:
    """Header, claims and signature of a compact JWS; `malformed` says why not when it fails."""
    if len(token) > MAX_TOKEN_CHARS:
        return _bad("token longer than 16 KiB")
    parts = token.split(".")
    if len(parts) != 3:
        return _bad("not three dot-separated parts")
    header = _json_object(_b64url(parts[0]))
    if header is None:
        return _bad("header is not base64url-encoded JSON object")
    claims = _json_object(_b64url(parts[1]))
    if claims is None:
        return _bad("payload is not base64url-encoded JSON object")
    signature = _b64url(parts[2])
    if signature is None:
        return _bad("signature is not base64url")
    for claim in ("exp", "iat", "nbf"):
        value = claims.get(claim)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return _bad(f"'{claim}' claim is not a number")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return ParsedJwt(header, claims, signing_input, signature, None)


def hmac_secret_in(parsed: ParsedJwt, alg: str, secrets: Iterable[bytes]) -> bool:
    """True when one of `secrets` is the HMAC key that produced the token's signature.

    One `hmac.digest` (OpenSSL one-shot) per secret over the precomputed signing input.
    """
    digest = HMAC_DIGESTS.get(alg)
    if digest is None or not parsed.signature:
        return False
    message, signature = parsed.signing_input, parsed.signature
    for secret in secrets:
        if hmac.compare_digest(hmac.digest(secret, message, digest), signature):
            return True
    return False
