"""The cross-request rules (kind `abuse.*`), one per correlator: catalog entries like every other
family, so `load_catalog` lists them without importing the correlators (layer 3)."""

from __future__ import annotations

from otel_apisec.detect.rule import define
from otel_apisec.model import Severity

__all__ = [
    "ALL_RULES",
    "BFLA",
    "BOLA",
    "BRUTE_FORCE",
    "CREDENTIAL_STUFFING",
    "ENUMERATION",
    "ERROR_STORM",
    "NO_RATE_LIMIT",
    "PATH_PRINCIPAL",
    "RATE_SPIKE",
    "TOKEN_REUSE",
]

BRUTE_FORCE = define(
    "APISEC-ABU-001", "abuse.brute_force", "Brute-force login attempts",
    Severity.HIGH, "API2:2023", "CWE-307",
    "Throttle failed logins per client and per account (exponential back-off, temporary lockout, CAPTCHA) "
    "and alert the account owner.",
)
CREDENTIAL_STUFFING = define(
    "APISEC-ABU-002", "abuse.credential_stuffing", "Credential stuffing: many accounts tried from one source",
    Severity.HIGH, "API2:2023", "CWE-307",
    "Rate-limit logins per client and network, check passwords against breached-password lists, "
    "offer MFA, and block the source.",
)
ENUMERATION = define(
    "APISEC-ABU-003", "abuse.enumeration", "Object enumeration (possible BOLA)",
    Severity.HIGH, "API1:2023", "CWE-639",
    "Check on every request that the caller owns or may access the object; use random, unguessable IDs "
    "(UUIDs) and rate-limit object lookups.",
)
BFLA = define(
    "APISEC-ABU-004", "abuse.bfla", "Privileged function called by a principal who does not normally call it (possible BFLA)",
    Severity.HIGH, "API5:2023", "CWE-285",
    "Enforce role checks on every administrative and destructive endpoint (deny by default), and review "
    "which principals may call it.",
)
RATE_SPIKE = define(
    "APISEC-ABU-005", "abuse.rate_spike", "Request rate far above the daily average",
    Severity.MEDIUM, "API4:2023", "CWE-770",
    "Apply per-client and per-endpoint rate limits and quotas; investigate scraping or a runaway client.",
)
NO_RATE_LIMIT = define(
    "APISEC-ABU-006", "abuse.no_rate_limit", "High request rate with no rate limiting",
    Severity.MEDIUM, "API4:2023", "CWE-770",
    "Rate-limit the endpoint per client and announce limits with 429 responses and RateLimit headers.",
)
ERROR_STORM = define(
    "APISEC-ABU-007", "abuse.error_storm", "Storm of error responses",
    Severity.MEDIUM, "API4:2023", "CWE-799",
    "Throttle clients that accumulate 401/403/404 responses (scanning, fuzzing) and fix endpoints that "
    "answer 5xx to malformed input.",
)
TOKEN_REUSE = define(
    "APISEC-ABU-008", "abuse.token_reuse", "Token used from many addresses or countries",
    Severity.HIGH, "API2:2023", "CWE-294",
    "Revoke the token, bind tokens to the client (DPoP, mTLS) and shorten their lifetime.",
)

BOLA = define(
    "APISEC-ABU-009", "abuse.bola", "Object owned by another principal accessed (BOLA)",
    Severity.HIGH, "API1:2023", "CWE-639",
    "Check on every request that the caller owns or may access the object it names (deny by default, "
    "scope queries by the caller's identity), and review the accesses this finding lists.",
)
PATH_PRINCIPAL = define(
    "APISEC-ABU-010", "abuse.path_principal", "Path names another principal's identity (BOLA)",
    Severity.HIGH, "API1:2023", "CWE-639",
    "Take the acting user from the session or token, never from the path; where the path names a user, "
    "check that it is the caller (or an administrator) before reading or changing anything.",
)

ALL_RULES = (
    BRUTE_FORCE, CREDENTIAL_STUFFING, ENUMERATION, BFLA, RATE_SPIKE, NO_RATE_LIMIT, ERROR_STORM, TOKEN_REUSE,
    BOLA, PATH_PRINCIPAL,
)

