"""The token family's rules (APISEC-TOK-NNN, kinds `token.<check>`): JWTs as presented by the caller."""

from __future__ import annotations

from otel_apisec.detect.rule import define
from otel_apisec.model import Severity

__all__ = [
    "ALG_NONE",
    "EXPIRED",
    "IN_URL",
    "KID_INJECTION",
    "LONG_LIFETIME",
    "MALFORMED",
    "NOT_YET_VALID",
    "NO_EXPIRY",
    "SENSITIVE_CLAIMS",
    "UNTRUSTED_KEY",
    "WEAK_ALG",
    "WEAK_SECRET",
]

_API2 = "API2:2023"

ALG_NONE = define(
    "APISEC-TOK-001", "token.alg_none", "JWT with no signature algorithm (alg none or missing)",
    Severity.CRITICAL, _API2, "CWE-347",
    "Reject unsigned JWTs: pin the accepted algorithms when verifying.",
)
WEAK_ALG = define(
    "APISEC-TOK-002", "token.weak_alg", "JWT signed with a non-recommended algorithm",
    Severity.MEDIUM, _API2, "CWE-327",
    "Sign with HS256+/RS256+/PS256+/ES256+/EdDSA and pin the algorithm list on verification.",
)
EXPIRED = define(
    "APISEC-TOK-003", "token.expired", "Expired JWT presented",
    Severity.MEDIUM, _API2, "CWE-613",
    "Verify `exp` on every request and reject expired tokens.",
)
NOT_YET_VALID = define(
    "APISEC-TOK-004", "token.not_yet_valid", "JWT presented before its not-before time",
    Severity.LOW, _API2, "CWE-613",
    "Verify `nbf` and keep issuer and API clocks in sync.",
)
MALFORMED = define(
    "APISEC-TOK-005", "token.malformed", "Malformed JWT presented",
    Severity.LOW, _API2, "CWE-20",
    "Reject tokens that do not parse; repeated malformed tokens may be tampering attempts.",
)
NO_EXPIRY = define(
    "APISEC-TOK-006", "token.no_expiry", "JWT without an expiry (exp) claim",
    Severity.MEDIUM, _API2, "CWE-613",
    "Issue tokens with a short `exp` and require it on verification.",
)
LONG_LIFETIME = define(
    "APISEC-TOK-007", "token.long_lifetime", "JWT valid for longer than the configured maximum",
    Severity.LOW, _API2, "CWE-613",
    "Shorten access-token lifetimes; use refresh tokens for long sessions.",
)
SENSITIVE_CLAIMS = define(
    "APISEC-TOK-008", "token.sensitive_claims", "JWT carries sensitive data in readable claims",
    Severity.MEDIUM, "API3:2023", "CWE-312",
    "Keep secrets and personal data out of JWT claims (they are only base64url-encoded).",
)
KID_INJECTION = define(
    "APISEC-TOK-009", "token.kid_injection", "JWT `kid` header holds path, SQL or shell syntax",
    Severity.HIGH, _API2, "CWE-20",
    "Treat `kid` as an opaque identifier looked up in an allow-list, never as a path or query.",
)
UNTRUSTED_KEY = define(
    "APISEC-TOK-010", "token.untrusted_key_header", "JWT names or embeds its own verification key",
    Severity.MEDIUM, _API2, "CWE-347",
    "Ignore `jku`/`x5u`/`jwk`/`x5c` from tokens, or allow-list them; never verify with a token-supplied key.",
)
IN_URL = define(
    "APISEC-TOK-011", "token.in_url", "JWT sent in the URL query string",
    Severity.MEDIUM, _API2, "CWE-598",
    "Send tokens in the Authorization header; URLs end up in logs, history and Referer headers.",
)
WEAK_SECRET = define(
    "APISEC-TOK-012", "token.weak_secret", "JWT signed with a known-weak HMAC secret",
    Severity.CRITICAL, _API2, "CWE-326",
    "Rotate the signing key to 256+ random bits now; anyone can forge tokens with a known secret.",
)
