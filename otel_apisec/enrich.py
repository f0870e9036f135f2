"""Derived facts of an `Analysis` as span attributes and finding events (no raw values, ever).

Pure functions over detection results, shared by in-process enrichment and the gateway:

    attributes = span_attributes(analysis)      # {"apisec.auth.outcome": "failure", ...}
    for name, event_attributes in finding_events(analysis): ...

Endpoint facts (`Finding.endpoint_scope`: the endpoint's posture, reported once per endpoint
response shape) are events like any finding, marked `apisec.finding.scope=endpoint`, and listed
in `apisec.findings`; they describe the endpoint, not this request, so they count in neither
`apisec.severity.max` nor `apisec.risk.score`. `apisec.posture.checked` marks the span they
were checked on.
"""

from __future__ import annotations

from collections.abc import Sequence

from otel_apisec import attributes as A
from otel_apisec.correlate.ids import MAX_DOCUMENT_BYTES, json_document, resource_object_ids, response_object_ids
from otel_apisec.detect import Analysis
from otel_apisec.findings import AttributeValue, request_event
from otel_apisec.model import Finding, HttpExchange, Severity, TokenState
from otel_apisec.pseudonym import KeyedHasher

__all__ = ["ATTACK_KINDS", "finding_events", "response_id_attributes", "risk_score", "span_attributes"]

ATTACK_KINDS = frozenset({
    "sqli", "xss", "path_traversal", "command_injection", "ssrf", "nosqli", "ssti",
    "jndi_injection", "ldap_injection", "open_redirect", "restricted_file", "code_injection", "prototype_pollution",
    "remote_file_inclusion", "protocol_attack",  # from the `apisec/crs` processor
})
# Risk score: the worst finding sets the base, each further finding of medium or worse adds a
# little, capped at 100. A sort key for dashboards, not a probability.
_SEVERITY_BASE = {Severity.INFO: 0, Severity.LOW: 10, Severity.MEDIUM: 40, Severity.HIGH: 70, Severity.CRITICAL: 90}
_EXTRA_PER_FINDING = 5


def risk_score(findings: Sequence[Finding]) -> int:
    if not findings:
        return 0
    worst = max(f.severity for f in findings)
    extra = sum(1 for f in findings if f.severity >= Severity.MEDIUM) - (1 if worst >= Severity.MEDIUM else 0)
    return min(100, _SEVERITY_BASE[worst] + _EXTRA_PER_FINDING * max(0, extra))


def _types(findings: Sequence[Finding], prefix: str) -> tuple[str, ...]:
    return tuple(sorted({f.kind[len(prefix):] for f in findings if f.kind.startswith(prefix)}))


def span_attributes(analysis: Analysis) -> dict[str, AttributeValue]:
    """The `apisec.*` (and `enduser.pseudo.id`) attributes for the span of this exchange."""
    findings = analysis.findings
    about_request = [f for f in findings if not f.endpoint_scope]
    auth, token = analysis.auth, analysis.token
    attacks = tuple(sorted({f.kind for f in findings if f.kind in ATTACK_KINDS}))
    pii, secrets = _types(findings, "pii."), _types(findings, "secret.")
    out: dict[str, AttributeValue] = {
        A.AUTH_SCHEME: auth.scheme.value,
        A.AUTH_OUTCOME: auth.outcome.value,
        A.TOKEN_STATE: token.state.value,
        A.PII_DETECTED: bool(pii),
        A.PII_TYPES: pii,
        A.SECRET_DETECTED: bool(secrets),
        A.SECRET_TYPES: secrets,
        A.ATTACK_DETECTED: bool(attacks),
        A.ATTACK_TYPES: attacks,
        A.FINDINGS: tuple(sorted({f.rule_id for f in findings})),
        A.RISK_SCORE: risk_score(about_request),
    }
    if about_request:
        out[A.SEVERITY_MAX] = max(f.severity for f in about_request).label
    if analysis.posture_checked:
        out[A.POSTURE_CHECKED] = True
    if auth.is_login:
        out[A.AUTH_LOGIN] = True
        if auth.login_succeeded is not None:
            out[A.AUTH_LOGIN_SUCCEEDED] = auth.login_succeeded
        elif auth.login_pending:
            out[A.AUTH_LOGIN_PENDING] = True
    if auth.principal_hash:
        out[A.ENDUSER_PSEUDO_ID] = auth.principal_hash
    if token.state is not TokenState.NONE:
        optional = {
            A.TOKEN_ALG: token.alg,
            A.TOKEN_EXPIRES_AT: token.expires_at,
            A.TOKEN_LIFETIME_S: token.lifetime_s,
            A.TOKEN_HASH: token.token_hash,
        }
        out.update({key: value for key, value in optional.items() if value is not None})
    if analysis.failed:
        out[A.DETECTORS_FAILED] = tuple(sorted(set(analysis.failed)))
    if analysis.skipped:
        out[A.DETECTORS_SKIPPED] = tuple(sorted(set(analysis.skipped)))
    return out


def response_id_attributes(
    exchange: HttpExchange, hmac_key: bytes, parsed: tuple[object] | None = None,
) -> dict[str, AttributeValue]:
    """`apisec.response.resource_ids` and `apisec.response.ids`: the IDs a 2xx response returned
    (as the gateway reads them from a captured body: `otel_apisec.correlate.ids`), each as its keyed
    hash under `hmac_key` (the deployment key principals are hashed with), at most
    `MAX_RESPONSE_IDS` each; empty when there are none. What the correlators learn object ownership
    from, with no ID leaving the process. `parsed`: the body as the detectors parsed it
    (`Analysis.response_json`), spared a second parse; None: parse it here."""
    if exchange.status is None or not 200 <= exchange.status < 300:
        return {}
    body = exchange.response_body
    if body is None or body.truncated:
        document = None
    elif parsed is not None and len(body.data) <= MAX_DOCUMENT_BYTES:
        document = parsed[0]  # the same bytes, parsed by the same orjson: the same document
    else:
        document = json_document(body.data)
    locations = exchange.response_headers.get_all("location")
    if document is None and not locations:
        return {}
    limit = A.MAX_RESPONSE_IDS
    out: dict[str, AttributeValue] = {}
    hashed = KeyedHasher(hmac_key)
    resources = resource_object_ids(document, locations, limit)
    if resources:
        out[A.RESPONSE_RESOURCE_IDS] = tuple(map(hashed, resources))
    found = response_object_ids(document, limit) if document is not None else ()
    if found:
        out[A.RESPONSE_IDS] = tuple(map(hashed, found))
    return out


def finding_events(
    analysis: Analysis, min_severity: Severity = Severity.INFO,
) -> list[tuple[str, dict[str, AttributeValue]]]:
    """One `apisec.finding` event per finding of at least `min_severity`; its attributes are
    `otel_apisec.findings.request_event`'s."""
    return [(A.FINDING_EVENT, request_event(finding)) for finding in analysis.findings if finding.severity >= min_severity]
