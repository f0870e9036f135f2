"""Secrets field detector (`secrets`): provider keys, private keys, JWTs and credentials in URLs.

Most provider keys carry a fixed prefix (`AKIA`, `ghp_`, `xoxb-`, `sk_live_`), so a prefix
trigger plus an exact-shape RE2 pattern and a placeholder veto are precise. Keys without a
prefix (the 40-char AWS secret access key) are only reported under a telling key name
(`aws_secret_access_key`, `SecretAccessKey`), after such a word in free text, or next to an
AWS access key id. JWTs must decode (base64url JSON header naming `alg`/`typ`, JSON payload).

Not reported here, because another family owns them: JWTs in query strings (the tokens family
reports `token.in_url`), JWTs in cookies (a normal session mechanism, also the tokens family),
and anything in the Authorization / Cookie headers (the fields layer does not hand them out).
A JWT returned under an issuance key (`access_token`, `id_token`, ...) in a response body is the
normal OAuth flow: it is still reported, at LOW severity, so inventories stay complete.

Rules, OWASP categories and severities are declared in `secret_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, islice

from otel_apisec.detect import validators as V
from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.fields import Direction, Field, Source
from otel_apisec.detect.pii_shapes import MAX_CONTEXT_WORDS, Match, Shape, compile_re2, find, subject
from otel_apisec.detect.rules import secrets as R
from otel_apisec.detect.sensitive_keys import normalize_key
from otel_apisec.model import Finding, Severity

__all__ = ["DETECTOR", "SecretsDetector"]

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TOKEN = _ALNUM + "_-"
_B64 = _ALNUM + "+/="
# An AWS secret key counts when it starts this close to a context word or an access key id.
_NEAR = 200
_JWT_SKIPPED_SOURCES = frozenset({Source.QUERY, Source.COOKIE})
_ISSUANCE_KEYS = frozenset(
    {"accesstoken", "idtoken", "refreshtoken", "token", "jwt", "authtoken", "sessiontoken"}
)
_PLACEHOLDER_PASSWORDS = frozenset({"password", "pass", "passwd", "secret", "pwd", "changeme", "redacted"})


def _random(message: str, prefix: int, min_distinct: int = 6) -> object:
    """Accept a well-shaped key unless its random part (after `prefix` chars) is a placeholder."""

    def validate(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
        return message if V.looks_random(candidate[prefix:], min_distinct) else None

    return validate


def _aws_secret(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
    classes = sum(
        (
            any(c.islower() for c in candidate),
            any(c.isupper() for c in candidate),
            any(c.isdigit() or c in "+/" for c in candidate),
        )
    )
    return "AWS secret access key" if classes == 3 and V.looks_random(candidate, 12) else None


def _jwt(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
    return "JSON Web Token (decodes)" if V.jwt_valid(candidate) else None


def _bearer(candidate: str, field: Field, _ctx: DetectContext) -> str | None:
    if field.source not in _JWT_SKIPPED_SOURCES and V.jwt_valid(candidate):
        return None  # reported as a JWT, the more specific rule
    has_digit = any(c.isdigit() for c in candidate)
    has_alpha = any(c.isalpha() for c in candidate)
    return "Bearer token" if has_digit and has_alpha and V.looks_random(candidate, 8) else None


def _url_credentials(candidate: str, _field: Field, _ctx: DetectContext) -> str | None:
    password = candidate.partition(":")[2]
    lowered = password.lower()
    if (
        lowered in _PLACEHOLDER_PASSWORDS
        or set(password) <= set("*xX")
        or "${" in password
        or "{{" in password
        or "%s" in password
        or (password.isdigit() and len(password) <= 5)
    ):
        return None  # masked, templated, or a port (`host:443@other`)
    return "Credentials in URL (user:password@)"


def _shape(rule: object, pattern: str, validate: object, tail: str = "") -> Shape:
    return Shape(rule, compile_re2(pattern), validate, tail=tail)  # type: ignore[arg-type]


# Keys with a distinctive prefix (`ghp_`, `AIza`, `sk_live_`) start after any non-alphanumeric,
# `_` and `-` included (`MY_TOKEN_ghp_...`, `key-AIza...`); the tail check keeps them whole.

AWS_ID = _shape(
    R.AWS_ACCESS_KEY_ID,
    r"(?:^|[^A-Za-z0-9])((?:AKIA|ASIA)[A-Z2-7]{16})",
    _random("AWS access key ID", 4),
    _ALNUM,
)
AWS_SECRET = _shape(R.AWS_SECRET_ACCESS_KEY, r"(?:^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})", _aws_secret, _B64)
GCP_KEY = _shape(
    R.GCP_API_KEY, r"(?:^|[^A-Za-z0-9])(AIza[0-9A-Za-z_-]{35})", _random("Google API key", 4), _TOKEN
)
GITHUB = _shape(
    R.GITHUB_TOKEN,
    r"(?:^|[^A-Za-z0-9])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})",
    _random("GitHub token", 4),
    _ALNUM,
)
SLACK = _shape(
    R.SLACK_TOKEN,
    r"(?:^|[^A-Za-z0-9])(xox[abeprs]-[0-9]{4,}-[0-9A-Za-z-]{8,250})",
    _random("Slack token", 5),
    _ALNUM,
)
SLACK_HOOK = _shape(
    R.SLACK_WEBHOOK,
    r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_+-]{20,200})",
    _random("Slack webhook URL", 30),
    _ALNUM,
)
STRIPE_LIVE = _shape(
    R.STRIPE_LIVE_KEY,
    r"(?:^|[^A-Za-z0-9])([sr]k_live_[0-9A-Za-z]{20,247})",
    _random("Stripe live key", 8),
    _ALNUM,
)
STRIPE_TEST = _shape(
    R.STRIPE_TEST_KEY,
    r"(?:^|[^A-Za-z0-9])(sk_test_[0-9A-Za-z]{20,247})",
    _random("Stripe test key", 8),
    _ALNUM,
)
_PEM_LABEL = r"(?:(?:RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED|DH) )?PRIVATE KEY(?: BLOCK)?"
PRIVATE_KEY = _shape(
    R.PRIVATE_KEY,
    rf"(-----BEGIN {_PEM_LABEL}-----(?:[A-Za-z0-9+/=\s:,.\\-]*?-----END {_PEM_LABEL}-----)?)",
    lambda _c, _f, _x: "Private key (PEM block)",
)
JWT = _shape(
    R.JWT,
    r"(?:^|[^A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{5,}\.ey[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)",
    _jwt,
    _TOKEN + ".",
)
BEARER = _shape(
    R.BEARER_TOKEN,
    r"(?:^|[^A-Za-z0-9])(?i:bearer)(?:\s|%20|\+){1,8}([A-Za-z0-9._~+/-]{16,}=*)",
    _bearer,
    _TOKEN + ".~+/=",
)
URL_CREDS = _shape(
    R.URL_CREDENTIALS,
    r"[A-Za-z][A-Za-z0-9+.-]{0,15}://([^/\s:@?#\"'<>]{0,64}:[^/\s@?#\"'<>]{1,128})@[A-Za-z0-9\[]",
    _url_credentials,
)
NPM = _shape(R.NPM_TOKEN, r"(?:^|[^A-Za-z0-9])(npm_[A-Za-z0-9]{36})", _random("npm token", 4), _ALNUM)
PYPI = _shape(
    R.PYPI_TOKEN, r"(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000})", _random("PyPI token", 20), _TOKEN
)
SENDGRID = _shape(
    R.SENDGRID_KEY,
    r"(?:^|[^A-Za-z0-9])(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})",
    _random("SendGrid API key", 3),
    _TOKEN,
)
TWILIO = _shape(
    R.TWILIO_KEY, r"(?:^|[^A-Za-z0-9])(SK[0-9a-f]{32})", _random("Twilio API key SID", 2, 8), _ALNUM
)
AZURE = _shape(
    R.AZURE_KEY,
    r"(?:^|[^A-Za-z0-9])(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,100}={0,2})",
    _random("Azure account key", 0, 10),
    _B64,
)
GITLAB = _shape(
    R.GITLAB_TOKEN, r"(?:^|[^A-Za-z0-9])(glpat-[0-9A-Za-z_-]{20})", _random("GitLab token", 6), _TOKEN
)
OPENAI = _shape(
    R.OPENAI_KEY,
    r"(?:^|[^A-Za-z0-9])(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200})",
    _random("OpenAI API key", 3),
    _TOKEN,
)

_AWS_SECRET_WORDS = r"(?i:secret.?access.?key|aws.?secret)"
_SA_MARKER = compile_re2(r"\\?\"type\\?\"\s*:\s*\\?\"service_account|gserviceaccount\.com")
_AWS_CONTEXT = compile_re2(_AWS_SECRET_WORDS)
_SA_EMAIL_DOMAIN = ".gserviceaccount.com"
# Containers looked at when searching a parsed body for the key file around a PEM.
_MAX_KEY_FILE_NODES = 10_000

# Trigger -> the shapes it unlocks. Triggers are prefixes or fixed shapes: none fires on clean JSON.
_TRIGGERS: tuple[tuple[Trigger, tuple[Shape, ...]], ...] = (
    (Trigger(r"(?:AKIA|ASIA)[A-Z2-7]{16}"), (AWS_ID,)),
    (Trigger(_AWS_SECRET_WORDS), ()),  # context for AWS_SECRET, handled in scan
    (Trigger(r"AIza[0-9A-Za-z_-]{35}"), (GCP_KEY,)),
    (Trigger(r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22}"), (GITHUB,)),
    (Trigger(r"xox[abeprs]-[0-9]{4}"), (SLACK,)),
    (Trigger(r"hooks\.slack\.com/(?:services|workflows|triggers)/"), (SLACK_HOOK,)),
    (Trigger(r"[sr]k_live_[0-9A-Za-z]{20}"), (STRIPE_LIVE,)),
    (Trigger(r"sk_test_[0-9A-Za-z]{20}"), (STRIPE_TEST,)),
    (Trigger(r"-----BEGIN [A-Z ]{0,20}PRIVATE KEY"), ()),  # handled in scan (service accounts)
    (Trigger(r"eyJ[A-Za-z0-9_-]{5,}\.ey[A-Za-z0-9_-]{5}"), (JWT,)),
    (Trigger(r"(?i:bearer)(?:\s|%20|\+)+[A-Za-z0-9._~+/-]{16}"), (BEARER,)),
    (Trigger(r"://[^/\s:@\"]{0,64}:[^/\s@\"]{1,128}@"), (URL_CREDS,)),
    (Trigger(r"npm_[A-Za-z0-9]{36}"), (NPM,)),
    (Trigger(r"pypi-AgEIcHlwaS5vcmc"), (PYPI,)),
    (Trigger(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"), (SENDGRID,)),
    (Trigger(r"SK[0-9a-f]{32}"), (TWILIO,)),
    (Trigger(r"(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{20}"), (AZURE,)),
    (Trigger(r"glpat-[0-9A-Za-z_-]{20}"), (GITLAB,)),
    (Trigger(r"T3BlbkFJ"), (OPENAI,)),
)
_T_AWS_ID, _T_AWS_WORDS, _T_PEM, _T_JWT = 0, 1, 8, 9


def _is_key_file(node: dict[str, object]) -> bool:
    email = node.get("client_email")
    return node.get("type") == "service_account" or (
        isinstance(email, str) and email.endswith(_SA_EMAIL_DOMAIN)
    )


def _in_key_file(field: Field, ctx: DetectContext) -> bool:
    """The JSON body is (or holds) a service-account key file and this PEM is its `private_key`:
    an object maps the field's key to this very text next to `"type": "service_account"` or a
    `client_email` at gserviceaccount.com. Runs only when a PEM was found, so rarely."""
    if field.source is not Source.BODY or field.is_key or not field.name:
        return False
    exchange = ctx.exchange
    body = exchange.request_body if field.direction is Direction.REQUEST else exchange.response_body
    stack = [ctx.body_json(body)]
    visited = 0
    while stack and visited < _MAX_KEY_FILE_NODES:
        node = stack.pop()
        visited += 1
        if isinstance(node, dict):
            if node.get(field.name) == field.text and _is_key_file(node):
                return True
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return False


class SecretsDetector:
    """Finds credentials in request and response fields; see the module docstring."""

    name = "secrets"
    directions = frozenset(Direction)
    triggers: tuple[Trigger, ...] = tuple(t for t, _ in _TRIGGERS)

    def scan(self, field: Field, hits: frozenset[int], ctx: DetectContext) -> Iterable[Finding]:
        if field.is_key:
            yield from self._keyed_aws_secret(field, hits, ctx)
            return
        text = field.text
        for index in sorted(hits):
            if index == _T_JWT and field.source in _JWT_SKIPPED_SOURCES:
                continue
            for shape in _TRIGGERS[index][1]:
                for match in find(shape, text, field, ctx):
                    yield shape.finding(field, match) if shape is not JWT else self._jwt_finding(field, match)
        if _T_PEM in hits:
            yield from self._private_keys(field, ctx)
        if _T_AWS_WORDS in hits or _T_AWS_ID in hits:
            yield from self._aws_secrets_nearby(field, ctx)

    def _jwt_finding(self, field: Field, match: Match) -> Finding:
        issued = (
            field.direction is Direction.RESPONSE
            and field.source is Source.BODY
            and normalize_key(field.name or "") in _ISSUANCE_KEYS
        )
        span = ((match.start + field.offset, match.end + field.offset),)
        message = "JSON Web Token issued in a response body" if issued else match.message
        return R.JWT.finding(field.location, message, spans=span, severity=Severity.LOW if issued else None)

    def _private_keys(self, field: Field, ctx: DetectContext) -> Iterator[Finding]:
        """A PEM private key; inside a service-account key file it is reported as that, more specific."""
        matches = list(find(PRIVATE_KEY, field.text, field, ctx))
        if not matches:
            return
        service_account = _SA_MARKER.search(subject(field.text)) is not None or _in_key_file(field, ctx)
        for match in matches:
            if service_account:
                span = ((match.start + field.offset, match.end + field.offset),)
                yield R.GCP_SERVICE_ACCOUNT.finding(
                    field.location, "Google Cloud service-account key (private key)", span
                )
            else:
                yield PRIVATE_KEY.finding(field, match)

    def _aws_secrets_nearby(self, field: Field, ctx: DetectContext) -> Iterator[Finding]:
        """40-char AWS secrets right after a context word or within reach of an access key id."""
        text = field.text
        data = subject(text)
        words = ((m.start(), m.end()) for m in _AWS_CONTEXT.finditer(data))
        key_ids = ((m.start, m.end) for m in find(AWS_ID, text, field, ctx, data=data))
        for start, end in islice(chain(words, key_ids), MAX_CONTEXT_WORDS):
            window = (max(0, start - _NEAR), end + _NEAR)
            yield from (
                AWS_SECRET.finding(field, m) for m in find(AWS_SECRET, text, field, ctx, window, data)
            )

    def _keyed_aws_secret(self, field: Field, hits: frozenset[int], ctx: DetectContext) -> Iterator[Finding]:
        """`"SecretAccessKey": "..."`: the key names the value, whatever else is around it."""
        if _T_AWS_WORDS not in hits or not field.value:
            return
        target = Field(
            field.location, field.value, field.direction, field.source, name=field.text, offset=field.offset
        )
        yield from (AWS_SECRET.finding(target, m) for m in find(AWS_SECRET, target.text, target, ctx))


DETECTOR = SecretsDetector()
