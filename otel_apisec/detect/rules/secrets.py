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

from otel_apisec.detect.rule import define
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


AWS_ACCESS_KEY_ID = define(
    "APISEC-SEC-001", "secret.aws_access_key_id", "AWS access key ID", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
AWS_SECRET_ACCESS_KEY = define(
    "APISEC-SEC-002", "secret.aws_secret_access_key", "AWS secret access key", Severity.CRITICAL,
    "API3:2023", "CWE-798", _ROTATE,
)
GCP_API_KEY = define(
    "APISEC-SEC-003", "secret.gcp_api_key", "Google Cloud API key", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
GCP_SERVICE_ACCOUNT = define(
    "APISEC-SEC-004", "secret.gcp_service_account", "Google Cloud service-account key file", Severity.CRITICAL,
    "API3:2023", "CWE-798", _ROTATE,
)
GITHUB_TOKEN = define(
    "APISEC-SEC-005", "secret.github_token", "GitHub token", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
SLACK_TOKEN = define(
    "APISEC-SEC-006", "secret.slack_token", "Slack API token", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
SLACK_WEBHOOK = define(
    "APISEC-SEC-007", "secret.slack_webhook", "Slack incoming-webhook URL", Severity.MEDIUM,
    "API3:2023", "CWE-798", _ROTATE,
)
STRIPE_LIVE_KEY = define(
    "APISEC-SEC-008", "secret.stripe_live_key", "Stripe live secret or restricted key", Severity.CRITICAL,
    "API3:2023", "CWE-798", _ROTATE, ("PCI DSS",),
)
STRIPE_TEST_KEY = define(
    "APISEC-SEC-009", "secret.stripe_test_key", "Stripe test-mode secret key", Severity.LOW,
    "API3:2023", "CWE-798", "Keep even test keys server-side; a leaked test key reveals account structure.", ("PCI DSS",),
)
PRIVATE_KEY = define(
    "APISEC-SEC-010", "secret.private_key", "Private key (PEM block)", Severity.CRITICAL,
    "API3:2023", "CWE-798", _ROTATE,
)
JWT = define(
    "APISEC-SEC-011", "secret.jwt", "JSON Web Token outside the Authorization header", Severity.MEDIUM,
    "API2:2023", "CWE-522", _IN_TRANSIT,
)
BEARER_TOKEN = define(
    "APISEC-SEC-012", "secret.bearer_token", "Bearer token in a body or URL", Severity.MEDIUM,
    "API2:2023", "CWE-522", _IN_TRANSIT,
)
URL_CREDENTIALS = define(
    "APISEC-SEC-013", "secret.url_credentials", "Credentials embedded in a URL (user:password@)", Severity.HIGH,
    "API2:2023", "CWE-522", _IN_TRANSIT,
)
NPM_TOKEN = define(
    "APISEC-SEC-014", "secret.npm_token", "npm access token", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
PYPI_TOKEN = define(
    "APISEC-SEC-015", "secret.pypi_token", "PyPI API token", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
SENDGRID_KEY = define(
    "APISEC-SEC-016", "secret.sendgrid_key", "SendGrid API key", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
TWILIO_KEY = define(
    "APISEC-SEC-017", "secret.twilio_key", "Twilio API key SID", Severity.MEDIUM,
    "API3:2023", "CWE-798", _ROTATE,
)
AZURE_KEY = define(
    "APISEC-SEC-018", "secret.azure_connection_string", "Azure storage / service-bus account key", Severity.CRITICAL,
    "API3:2023", "CWE-798", _ROTATE,
)
GITLAB_TOKEN = define(
    "APISEC-SEC-019", "secret.gitlab_token", "GitLab personal access token", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
OPENAI_KEY = define(
    "APISEC-SEC-020", "secret.openai_key", "OpenAI API key", Severity.HIGH,
    "API3:2023", "CWE-798", _ROTATE,
)
