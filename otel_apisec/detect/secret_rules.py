"""The secrets rule catalog (APISEC-SEC-NNN, kinds `secret.<type>`).

OWASP and CWE, consistently:

* Provider keys, private keys and connection strings are API3:2023 (Broken Object Property
  Level Authorization: a payload exposes a property holding credential material) with CWE-798
  (use of hard-coded credentials: a long-lived key embedded in a client, config or response).
* Bearer-style credentials in the wrong place (a JWT or `Bearer` token in a body, a non-auth
  header or a URL; `user:password@` in a URL) are API2:2023 (Broken Authentication: OWASP names
  "sends sensitive authentication details ... in the URL") with CWE-522 (insufficiently
  protected credentials).

Severity: keys that grant account-wide or payment access (AWS secret, Stripe live, Azure
account keys, private keys, service-account files) are CRITICAL; other live provider tokens
HIGH; identifiers, webhooks and session tokens MEDIUM; test-mode keys LOW. Payment-provider
keys carry PCI DSS; other secrets carry no personal-data regulation.
"""

from __future__ import annotations

from otel_apisec.detect.rule import Rule, define
from otel_apisec.model import Severity

__all__ = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AZURE_KEY",
    "BEARER_TOKEN",
    "GCP_API_KEY",
    "GCP_SERVICE_ACCOUNT",
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "JWT",
    "NPM_TOKEN",
    "OPENAI_KEY",
    "PRIVATE_KEY",
    "PYPI_TOKEN",
    "SENDGRID_KEY",
    "SLACK_TOKEN",
    "SLACK_WEBHOOK",
    "STRIPE_LIVE_KEY",
    "STRIPE_TEST_KEY",
    "TWILIO_KEY",
    "URL_CREDENTIALS",
]

_ROTATE = "Revoke and rotate this credential now; keep secrets server-side and out of API payloads."
_IN_TRANSIT = "Send credentials only in the Authorization header over TLS, never in URLs or bodies."


def _key(
    number: int,
    kind: str,
    title: str,
    severity: Severity,
    regulations: tuple[str, ...] = (),
    remediation: str = _ROTATE,
) -> Rule:
    return define(
        f"APISEC-SEC-{number:03d}",
        f"secret.{kind}",
        title,
        severity,
        "API3:2023",
        "CWE-798",
        remediation,
        regulations,
    )


def _transit(number: int, kind: str, title: str, severity: Severity) -> Rule:
    return define(
        f"APISEC-SEC-{number:03d}", f"secret.{kind}", title, severity, "API2:2023", "CWE-522", _IN_TRANSIT
    )


AWS_ACCESS_KEY_ID = _key(1, "aws_access_key_id", "AWS access key ID", Severity.HIGH)
AWS_SECRET_ACCESS_KEY = _key(2, "aws_secret_access_key", "AWS secret access key", Severity.CRITICAL)
GCP_API_KEY = _key(3, "gcp_api_key", "Google Cloud API key", Severity.HIGH)
GCP_SERVICE_ACCOUNT = _key(
    4, "gcp_service_account", "Google Cloud service-account key file", Severity.CRITICAL
)
GITHUB_TOKEN = _key(5, "github_token", "GitHub token", Severity.HIGH)
SLACK_TOKEN = _key(6, "slack_token", "Slack API token", Severity.HIGH)
SLACK_WEBHOOK = _key(7, "slack_webhook", "Slack incoming-webhook URL", Severity.MEDIUM)
STRIPE_LIVE_KEY = _key(
    8, "stripe_live_key", "Stripe live secret or restricted key", Severity.CRITICAL, ("PCI DSS",)
)
STRIPE_TEST_KEY = _key(
    9,
    "stripe_test_key",
    "Stripe test-mode secret key",
    Severity.LOW,
    ("PCI DSS",),
    "Keep even test keys server-side; a leaked test key reveals account structure.",
)
PRIVATE_KEY = _key(10, "private_key", "Private key (PEM block)", Severity.CRITICAL)
JWT = _transit(11, "jwt", "JSON Web Token outside the Authorization header", Severity.MEDIUM)
BEARER_TOKEN = _transit(12, "bearer_token", "Bearer token in a body or URL", Severity.MEDIUM)
URL_CREDENTIALS = _transit(
    13, "url_credentials", "Credentials embedded in a URL (user:password@)", Severity.HIGH
)
NPM_TOKEN = _key(14, "npm_token", "npm access token", Severity.HIGH)
PYPI_TOKEN = _key(15, "pypi_token", "PyPI API token", Severity.HIGH)
SENDGRID_KEY = _key(16, "sendgrid_key", "SendGrid API key", Severity.HIGH)
TWILIO_KEY = _key(17, "twilio_key", "Twilio API key SID", Severity.MEDIUM)
AZURE_KEY = _key(18, "azure_connection_string", "Azure storage / service-bus account key", Severity.CRITICAL)
GITLAB_TOKEN = _key(19, "gitlab_token", "GitLab personal access token", Severity.HIGH)
OPENAI_KEY = _key(20, "openai_key", "OpenAI API key", Severity.HIGH)
