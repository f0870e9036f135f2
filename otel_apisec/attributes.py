"""Every attribute name otel-apisec writes on spans, events and metrics: the one place for them.

OpenTelemetry semantic-convention names are used where they exist (`enduser.pseudo.id`,
`security_rule.*`); the rest live under `apisec.`. The README's attribute table lists them
(a test keeps the two in step).
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes import enduser_attributes, security_rule_attributes

# --- span attributes ------------------------------------------------------------------------
AUTH_SCHEME: Final = "apisec.auth.scheme"
AUTH_OUTCOME: Final = "apisec.auth.outcome"
AUTH_LOGIN: Final = "apisec.auth.login"
"""True on a login attempt (a login route, or a POST whose body holds an identity and a password)."""
AUTH_LOGIN_SUCCEEDED: Final = "apisec.auth.login.succeeded"
"""For a login attempt whose answer settles it: True when it issued a credential, False when it issued
none and said so. Absent when the answer does not tell, and when the login is pending."""
AUTH_LOGIN_PENDING: Final = "apisec.auth.login.pending"
"""True on a login attempt whose answer asks for a second factor (`mfa_required`, "verification code
sent", a redirect to an OTP page), whatever its status (a 401 or 403 too): the password was accepted but
no session was issued yet. Neither a success nor a failure: brute-force and credential-stuffing counts
skip it, and `apisec.auth.login.succeeded` is absent. Only set when true."""
TOKEN_STATE: Final = "apisec.token.state"
TOKEN_ALG: Final = "apisec.token.alg"
TOKEN_EXPIRES_AT: Final = "apisec.token.expires_at"
TOKEN_LIFETIME_S: Final = "apisec.token.lifetime_s"
TOKEN_HASH: Final = "apisec.token.hash"
PII_DETECTED: Final = "apisec.pii.detected"
PII_TYPES: Final = "apisec.pii.types"
SECRET_DETECTED: Final = "apisec.secret.detected"
SECRET_TYPES: Final = "apisec.secret.types"
ATTACK_DETECTED: Final = "apisec.attack.detected"
ATTACK_TYPES: Final = "apisec.attack.types"
FINDINGS: Final = "apisec.findings"
SEVERITY_MAX: Final = "apisec.severity.max"
RISK_SCORE: Final = "apisec.risk.score"
DETECTORS_FAILED: Final = "apisec.detectors.failed"
DETECTORS_SKIPPED: Final = "apisec.detectors.skipped"
POSTURE_CHECKED: Final = "apisec.posture.checked"
"""True on a span whose exchange had the endpoint-scope (posture) checks run: a new endpoint or a
response shape it had not shown lately. Its endpoint facts, none included, are the endpoint's
posture from then on. Absent on the other spans of the endpoint."""
ENDUSER_PSEUDO_ID: Final = enduser_attributes.ENDUSER_PSEUDO_ID
RESPONSE_RESOURCE_IDS: Final = "apisec.response.resource_ids"
"""Keyed hashes (the deployment key, as principals) of the IDs of the object(s) a JSON response is
or lists, and of a `Location` header's object: the SDK's stand-in for the body the gateway's
ownership checks (`abuse.bola`) would read. At most `MAX_RESPONSE_IDS`."""
RESPONSE_IDS: Final = "apisec.response.ids"
"""Keyed hashes of every identifier-keyed value (`id`, `*_id`, `*Id`, `uuid`) in a JSON response,
foreign keys included (a login's account ID). At most `MAX_RESPONSE_IDS`."""
MAX_RESPONSE_IDS: Final = 64
CRS_RULE_IDS: Final = "apisec.crs.rule_ids"
"""The OWASP CRS rule IDs that matched the exchange (`apisec/crs` processor), scoring rules such as
949110 included, in the order they fired; each maps to an `APISEC-CRS-NNN` finding where it means one."""
CRS_ANOMALY_SCORE: Final = "apisec.crs.anomaly_score"
"""CRS's anomaly score of those matches: 5 per critical, 4 per error, 3 per warning, 2 per notice
match of the rules that map to a finding (CRS blocks at 5 by default)."""

# --- one span event per finding -------------------------------------------------------------
FINDING_EVENT: Final = "apisec.finding"
RULE_ID: Final = security_rule_attributes.SECURITY_RULE_UUID
RULE_NAME: Final = security_rule_attributes.SECURITY_RULE_NAME
RULE_CATEGORY: Final = security_rule_attributes.SECURITY_RULE_CATEGORY
RULE_REFERENCE: Final = security_rule_attributes.SECURITY_RULE_REFERENCE
FINDING_KIND: Final = "apisec.finding.kind"
FINDING_SEVERITY: Final = "apisec.finding.severity"
FINDING_LOCATION: Final = "apisec.finding.location"
"""The OWASP API Security Top 10 2023 category (`API8:2023`), structured; `security_rule.category`
keeps the readable "<id> <name>" for people and older readers."""
"""The category's name (`Security Misconfiguration`). The CWE is `security_rule.reference`, whole."""
FINDING_SCOPE: Final = "apisec.finding.scope"
"""`endpoint` on a finding that describes the endpoint (its posture), not this request; absent
on findings about the request."""
# Findings across requests (the gateway's correlators) also carry these:
FINDING_MESSAGE: Final = "apisec.finding.message"
FINDING_GROUP_KEY: Final = "apisec.finding.group_key"
"""Same rule + same group key = same incident (alerts deduplicate on it)."""
FINDING_SUBJECT_PREFIX: Final = "apisec.finding.subject."
"""+ `apisec.client.pseudo.id`, `enduser.pseudo.id`, `apisec.token.hash`, `http.route`, ...: who or what."""
CLIENT_PSEUDO_ID: Final = "apisec.client.pseudo.id"
"""Keyed hash of `client.address`, as finding subjects name a client (a public address is personal data)."""
CLIENT_NETWORK_PSEUDO_ID: Final = "apisec.client.network.pseudo.id"
"""Keyed hash of the client's network (its /24, or /64 for IPv6)."""
FINDING_EVIDENCE_PREFIX: Final = "apisec.finding.evidence."
"""+ the numbers that crossed the threshold (`count`, `threshold`, `window_s`, ...)."""
CORRELATION_LOCATION: Final = "traffic"
"""`apisec.finding.location` of a finding made across requests rather than inside one."""
GEO_COUNTRY: Final = "geo.country.iso_code"
"""Country of `client.address`, from the offline GeoIP database (the gateway's correlate processor)."""

# --- metrics (names, then the attributes they are split by) ---------------------------------
METRIC_FINDINGS: Final = "apisec.findings"
METRIC_AUTH_OUTCOMES: Final = "apisec.auth.outcomes"
METRIC_DETECTOR_FAILURES: Final = "apisec.detector.failures"
METRIC_UNANALYZED: Final = "apisec.spans.unanalyzed"
METRIC_INTERNAL_ERRORS: Final = "apisec.internal.errors"
METRIC_ALERTS_ACTIVE: Final = "apisec.alerts.active"
METRIC_ESTATE_ENDPOINTS: Final = "apisec.estate.endpoints"
"""Endpoints per service and spec status (documented, shadow, zombie, orphan; unknown without a spec)."""
METRIC_ESTATE_UNAUTHENTICATED: Final = "apisec.estate.unauthenticated_endpoints"
"""Endpoints per service that answered a call without credentials successfully."""
METRIC_ESTATE_GRADE_SCORE: Final = "apisec.estate.grade_score"
"""The service's governance score, 0-100."""
HTTP_ROUTE: Final = "http.route"
SERVICE: Final = "apisec.service"
"""The monitored service a gateway metric data point is about (the `service.name` of the spans it
came from): on `apisec.findings`, `apisec.auth.outcomes` and the `apisec.estate.*` gauges. Not
`service.name` itself: the gateway's own resource has that name, and a Collector exporter's
`resource_to_telemetry_conversion` would overwrite a data point attribute of the same name.
In-process, the app's resource carries the service."""
DETECTOR: Final = "apisec.detector"
FAILURE_REASON: Final = "apisec.failure.reason"
UNANALYZED_REASON: Final = "apisec.unanalyzed.reason"
COMPONENT: Final = "apisec.component"
ESTATE_SPEC_STATUS: Final = "apisec.estate.spec_status"

# --- attributes other instrumentation writes that may carry raw values ----------------------
URL_ATTRIBUTES: Final = frozenset({"http.target", "http.url", "url.full", "url.query", "url.original"})
CAPTURED_HEADER_PREFIXES: Final = ("http.request.header.", "http.response.header.")
REDACTED: Final = "***"

# --- gateway redaction summary (on spans and log records the gateway's redact processor changed)
REDACTION_MASKED_COUNT: Final = "apisec.redaction.masked_count"
REDACTION_REMOVED_COUNT: Final = "apisec.redaction.removed_count"
