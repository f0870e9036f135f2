"""Regression cases for the secrets rules (APISEC-SEC-NNN). Every key below is synthetic."""

from __future__ import annotations

import base64
import json

from otel_apisec.testing import make_exchange
from tests.cases import Case


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


SIGNATURE = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
JWT = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': '1234567890', 'iat': 1516239022})}.{SIGNATURE}"
NOT_JWT = f"{_b64({'kid': 'x'})}.{_b64({'sub': '1'})}.{SIGNATURE}"  # header names neither alg nor typ
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4ZbX0yQ\n-----END RSA PRIVATE KEY-----"
GITHUB = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
AZURE = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SENDGRID = "SG." + "aaaB1c2D3e4F5g6H7i8J9k" + "." + "x1Y2z3A4b5C6d7E8f9G0h1I2j3K4l5M6n7O8p9Q0r1S"
PYPI = "pypi-AgEIcHlwaS5vcmc" + "CJGQ4ZTVlYzE5LWI4YmItNDM0Ny05MmM3LTk0ZmZlY2E0MzdmNAACJXsicGVybWlzc2lvbnMi"
OPENAI = "sk-proj-" + "aB1cD2eF3gH4iJ5kL6mN7oP8" + "T3BlbkFJ" + "qR9sT0uV1wX2yZ3aB4cD5eF6"
SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "project_id": "demo",
        "private_key": PEM,
        "client_email": "svc@demo.iam.gserviceaccount.com",
    }
)


def _req(rule: str, fires: bool, description: str, body: dict[str, object], key: str | None = None) -> Case:
    """A case whose request JSON body holds the value; positives expect it at `$.<key>`."""
    location = f"request.body.$.{key}" if fires and key else None
    exchange = make_exchange("https://api.example.com/settings", "POST", json=body)
    return Case(rule, fires, description, exchange, location)


CASES: list[Case] = [
    # APISEC-SEC-001 AWS access key id
    _req("APISEC-SEC-001", True, "AWS documented example key id", {"key": "AKIAIOSFODNN7EXAMPLE"}, "key"),
    _req("APISEC-SEC-001", False, "AKIA prefix but too short", {"key": "AKIAIOSFODNN7EXAM"}),
    # APISEC-SEC-002 AWS secret access key
    _req(
        "APISEC-SEC-002",
        True,
        "STS-style SecretAccessKey field",
        {"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
        "SecretAccessKey",
    ),
    _req(
        "APISEC-SEC-002",
        True,
        "secret next to an access key id in a config blob",
        {"cfg": "id=AKIAIOSFODNN7EXAMPLE secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
        "cfg",
    ),
    _req(
        "APISEC-SEC-002",
        False,
        "40-char base64 without any AWS context",
        {"digest": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
    ),
    # APISEC-SEC-003 GCP API key
    _req(
        "APISEC-SEC-003",
        True,
        "Google API key",
        {"maps_key": "AIzaSyA1234567890abcdefghijklmnopqrstuv"},
        "maps_key",
    ),
    _req("APISEC-SEC-003", False, "AIza prefix, too short", {"maps_key": "AIzaSyA1234567890"}),
    # APISEC-SEC-004 GCP service account
    _req(
        "APISEC-SEC-004",
        True,
        "service-account key file embedded as a string",
        {"credentials": SERVICE_ACCOUNT},
        "credentials",
    ),
    _req(
        "APISEC-SEC-004",
        True,
        "request body is itself a service-account key file",
        json.loads(SERVICE_ACCOUNT),
        "private_key",
    ),
    Case(
        "APISEC-SEC-004",
        True,
        "key file nested in a response, recognized by its client_email",
        make_exchange(
            "https://api.example.com/projects/demo",
            response_json={
                "project": "demo",
                "credentials": {"private_key": PEM, "client_email": "svc@demo.iam.gserviceaccount.com"},
            },
        ),
        "response.body.$.credentials.private_key",
    ),
    _req(
        "APISEC-SEC-004",
        False,
        "PEM next to a non-service-account type is a plain private key",
        {"type": "tls_certificate", "private_key": PEM, "client_email": "ops@example.com"},
    ),
    _req(
        "APISEC-SEC-004",
        False,
        "service-account email alone is not a key",
        {"sa": "svc@demo.iam.gserviceaccount.com", "type": "service_account"},
    ),
    # APISEC-SEC-005 GitHub
    _req("APISEC-SEC-005", True, "classic GitHub PAT", {"token": GITHUB}, "token"),
    _req("APISEC-SEC-005", False, "placeholder GitHub token", {"token": "ghp_" + "x" * 36}),
    # APISEC-SEC-006 Slack token
    _req(
        "APISEC-SEC-006",
        True,
        "Slack bot token",
        {"slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
        "slack",
    ),
    _req("APISEC-SEC-006", False, "xoxb prefix in prose", {"doc": "Slack bot tokens start with xoxb-"}),
    # APISEC-SEC-007 Slack webhook
    _req(
        "APISEC-SEC-007",
        True,
        "Slack incoming webhook URL",
        {"hook": "https://hooks.slack.com/services/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"},
        "hook",
    ),
    _req("APISEC-SEC-007", False, "Slack docs URL", {"doc": "https://api.slack.com/messaging/webhooks"}),
    # APISEC-SEC-008 / 009 Stripe
    _req(
        "APISEC-SEC-008",
        True,
        "Stripe live secret key",
        {"stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
        "stripe",
    ),
    _req(
        "APISEC-SEC-008",
        False,
        "Stripe publishable key is public",
        {"stripe": "pk_live_4eC39HqLyjWDarjtT1zdp7dc"},
    ),
    _req(
        "APISEC-SEC-009",
        True,
        "Stripe test secret key",
        {"stripe": "sk_test_4eC39HqLyjWDarjtT1zdp7dc"},
        "stripe",
    ),
    _req(
        "APISEC-SEC-009", False, "Stripe test publishable key", {"stripe": "pk_test_4eC39HqLyjWDarjtT1zdp7dc"}
    ),
    # APISEC-SEC-010 private key
    _req("APISEC-SEC-010", True, "RSA private key PEM", {"key": PEM}, "key"),
    _req(
        "APISEC-SEC-010",
        True,
        "header line alone is enough",
        {"key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"},
        "key",
    ),
    _req("APISEC-SEC-010", False, "a certificate is public", {"cert": "-----BEGIN CERTIFICATE-----\nMIIB"}),
    # APISEC-SEC-011 JWT
    Case(
        "APISEC-SEC-011",
        True,
        "JWT in a custom request header",
        make_exchange("https://api.example.com/x", headers={"X-Session": JWT}),
        "request.header.x-session",
    ),
    _req("APISEC-SEC-011", True, "JWT in a request body", {"assertion": JWT}, "assertion"),
    Case(
        "APISEC-SEC-011",
        False,
        "JWT in the query string belongs to token.in_url",
        make_exchange(f"https://api.example.com/x?access_token={JWT}"),
    ),
    _req("APISEC-SEC-011", False, "three base64 segments without alg/typ header", {"blob": NOT_JWT}),
    # APISEC-SEC-012 bearer token
    _req(
        "APISEC-SEC-012",
        True,
        "Bearer token pasted into a body",
        {"note": "use Bearer 9f8e7d6c5b4a39281706abcd"},
        "note",
    ),
    Case(
        "APISEC-SEC-012",
        True,
        "Bearer token in a URL",
        make_exchange("https://api.example.com/x?auth=Bearer%209f8e7d6c5b4a39281706abcd"),
        "request.query.auth",
    ),
    _req(
        "APISEC-SEC-012", False, "docs placeholder", {"doc": "Authorization: Bearer YOUR_ACCESS_TOKEN_HERE"}
    ),
    # APISEC-SEC-013 URL credentials
    _req(
        "APISEC-SEC-013",
        True,
        "database URL with a password",
        {"db": "postgres://admin:s3cr3tP4ss@db.internal:5432/app"},
        "db",
    ),
    _req(
        "APISEC-SEC-013",
        False,
        "templated password",
        {"db": "postgres://admin:${DB_PASSWORD}@db.internal/app"},
    ),
    _req(
        "APISEC-SEC-013",
        False,
        "URL with a port but no credentials",
        {"url": "https://api.example.com:8443/v1"},
    ),
    # APISEC-SEC-014 npm
    _req(
        "APISEC-SEC-014", True, "npm token", {"npm": "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"}, "npm"
    ),
    _req("APISEC-SEC-014", False, "npm_ prefix on a package name", {"pkg": "npm_config_registry"}),
    # APISEC-SEC-015 PyPI
    _req("APISEC-SEC-015", True, "PyPI upload token", {"pypi": PYPI}, "pypi"),
    _req("APISEC-SEC-015", False, "truncated PyPI token", {"pypi": "pypi-AgEIcHlwaS5vcmc"}),
    # APISEC-SEC-016 SendGrid
    _req("APISEC-SEC-016", True, "SendGrid key", {"sg": SENDGRID}, "sg"),
    _req("APISEC-SEC-016", False, "SG. prefix in a hostname", {"host": "SG.example.com"}),
    # APISEC-SEC-017 Twilio
    _req(
        "APISEC-SEC-017", True, "Twilio API key SID", {"tw": "SK" + "0123456789abcdef0123456789abcdef"}, "tw"
    ),
    _req(
        "APISEC-SEC-017",
        False,
        "SK prefix, uppercase hex is no Twilio SID",
        {"sku": "SK0123456789ABCDEF0123456789ABCDEF"},
    ),
    # APISEC-SEC-018 Azure
    _req(
        "APISEC-SEC-018",
        True,
        "Azure storage connection string",
        {"conn": f"AccountName=demo;AccountKey={AZURE};EndpointSuffix=core.windows.net"},
        "conn",
    ),
    _req("APISEC-SEC-018", False, "masked account key", {"conn": "AccountName=demo;AccountKey=****"}),
    # APISEC-SEC-019 GitLab
    _req("APISEC-SEC-019", True, "GitLab PAT", {"gl": "glpat-" + "xY1zA2bC3dE4fG5hI6jK"}, "gl"),
    _req("APISEC-SEC-019", False, "GitLab PAT placeholder", {"gl": "glpat-xxxxxxxxxxxxxxxxxxxx"}),
    # APISEC-SEC-020 OpenAI
    _req("APISEC-SEC-020", True, "OpenAI project key", {"openai": OPENAI}, "openai"),
    _req(
        "APISEC-SEC-020",
        False,
        "sk- key without the OpenAI marker",
        {"key": "sk-proj-aB1cD2eF3gH4iJ5kL6mN7oP8"},
    ),
]
