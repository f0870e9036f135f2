"""The authentication family's rules (APISEC-AUTH-NNN, kinds `auth.<check>`): logins and how credentials travel."""

from __future__ import annotations

from otel_apisec.detect.rule import define
from otel_apisec.model import Severity

__all__ = [
    "CLEARTEXT",
    "CREDENTIALS_IN_URL",
    "LOGIN_FAILED",
    "UNAUTHENTICATED_WRITE",
    "WEAK_PASSWORD",
]

_API2 = "API2:2023"

LOGIN_FAILED = define(
    "APISEC-AUTH-001", "auth.login_failed", "Failed login attempt",
    Severity.LOW, _API2, "CWE-307",
    "Rate-limit and lock out repeated login failures per account and per client.",
)
CREDENTIALS_IN_URL = define(
    "APISEC-AUTH-002", "auth.credentials_in_url", "Credential sent in the URL",
    Severity.MEDIUM, _API2, "CWE-598",
    "Send credentials in headers or the body; URLs are logged, cached and leaked via Referer.",
)
CLEARTEXT = define(
    "APISEC-AUTH-003", "auth.cleartext_credentials", "Credentials sent without TLS",
    Severity.HIGH, _API2, "CWE-319",
    "Serve every authenticated endpoint over HTTPS only and redirect or refuse plain HTTP.",
)
WEAK_PASSWORD = define(
    "APISEC-AUTH-004", "auth.weak_password", "Accepted password is weak",
    Severity.HIGH, _API2, "CWE-521",
    "Enforce a password policy (length, known-breached list) and rotate this credential.",
)
UNAUTHENTICATED_WRITE = define(
    "APISEC-AUTH-005", "auth.unauthenticated_write", "Anonymous request modified a resource",
    Severity.MEDIUM, _API2, "CWE-306",
    "Require authentication on PUT/PATCH/DELETE endpoints.",
)
