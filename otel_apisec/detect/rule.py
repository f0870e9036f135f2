"""Rule metadata and the registry every detector family declares its rules into.

A rule is declared once, in its family's module, with `define(...)`. Detectors create
findings through `Rule.finding(...)`, so the ID, kind, severity, OWASP category, CWE and
scope of a finding always come from this one place.

Scope: most rules describe one exchange (`"exchange"`: this request carried SQL injection,
this response leaked a stack trace). Some describe the endpoint that answered (`"endpoint"`:
it sends no HSTS, its cookies lack `Secure`); the analyzer checks those again only when the
endpoint's response shape changes, and they are marked as endpoint facts wherever they go.
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

from otel_apisec.model import Finding, Severity

__all__ = ["ENDPOINT", "EXCHANGE", "OWASP", "REGULATIONS", "SCOPES", "Rule", "all_rules", "define", "get_rule"]

OWASP: dict[str, str] = {
    "API1:2023": "Broken Object Level Authorization",
    "API2:2023": "Broken Authentication",
    "API3:2023": "Broken Object Property Level Authorization",
    "API4:2023": "Unrestricted Resource Consumption",
    "API5:2023": "Broken Function Level Authorization",
    "API6:2023": "Unrestricted Access to Sensitive Business Flows",
    "API7:2023": "Server Side Request Forgery",
    "API8:2023": "Security Misconfiguration",
    "API9:2023": "Improper Inventory Management",
    "API10:2023": "Unsafe Consumption of APIs",
}

REGULATIONS = frozenset({"GDPR", "PCI DSS", "HIPAA", "CCPA"})

EXCHANGE = "exchange"
"""A fact about one request or its response: on the span of every exchange it holds for."""
ENDPOINT = "endpoint"
"""A fact about the endpoint (its posture): checked again when its response shape changes."""
SCOPES = (EXCHANGE, ENDPOINT)

_ID = re2.compile(r"APISEC-[A-Z]{2,5}-\d{3}")
_KIND = re2.compile(
    r"(sqli|xss|path_traversal|command_injection|ssrf|nosqli|ssti|jndi_injection"
    r"|ldap_injection|open_redirect|restricted_file|code_injection|prototype_pollution"
    r"|scanner|protocol_violation|protocol_attack|remote_file_inclusion"
    r"|(pii|secret|token|auth|posture|exposure)\.[a-z0-9_]+|abuse\.[a-z_]+)"
)

_REGISTRY: dict[str, Rule] = {}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    title: str
    severity: Severity
    owasp: str
    cwe: str
    remediation: str
    regulations: tuple[str, ...] = ()
    """For PII and secret types: the regulations the data falls under."""
    scope: str = EXCHANGE
    """`exchange` or `endpoint` (see the module docstring)."""

    @property
    def endpoint_scope(self) -> bool:
        return self.scope == ENDPOINT

    def finding(
        self,
        location: str,
        message: str | None = None,
        spans: tuple[tuple[int, int], ...] = (),
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule at `location`. Never pass the matched value in `message`."""
        return Finding(
            rule_id=self.id,
            kind=self.kind,
            severity=self.severity if severity is None else severity,
            owasp=self.owasp,
            cwe=self.cwe,
            location=location,
            message=message or self.title,
            spans=spans,
            endpoint_scope=self.endpoint_scope,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "severity": self.severity.label,
            "owasp": self.owasp,
            "owasp_title": OWASP[self.owasp],
            "cwe": self.cwe,
            "remediation": self.remediation,
            "regulations": list(self.regulations),
            "scope": self.scope,
        }


def define(
    id: str,
    kind: str,
    title: str,
    severity: Severity,
    owasp: str,
    cwe: str,
    remediation: str,
    regulations: tuple[str, ...] = (),
    scope: str = EXCHANGE,
) -> Rule:
    """Declare a rule. Fails at import time on a malformed or reused ID, so a bad catalog never loads.

    `scope="endpoint"` for a fact about the endpoint rather than one exchange (response hygiene
    that every response of the endpoint shares)."""
    if not _ID.fullmatch(id):
        raise ValueError(f"rule id {id!r} does not look like APISEC-XXX-000")
    if id in _REGISTRY:
        raise ValueError(f"rule id {id} is declared twice")
    if not _KIND.fullmatch(kind):
        raise ValueError(f"rule {id}: kind {kind!r} is not in the finding-kind contract")
    if owasp not in OWASP:
        raise ValueError(f"rule {id}: unknown OWASP API 2023 category {owasp!r}")
    if not re2.fullmatch(r"CWE-\d+", cwe):
        raise ValueError(f"rule {id}: CWE {cwe!r} should look like CWE-89")
    unknown = set(regulations) - REGULATIONS
    if unknown:
        raise ValueError(f"rule {id}: unknown regulations {sorted(unknown)}")
    if not title or not remediation:
        raise ValueError(f"rule {id}: title and remediation are required")
    if scope not in SCOPES:
        raise ValueError(f"rule {id}: scope {scope!r} is not one of {', '.join(SCOPES)}")
    rule = Rule(id, kind, title, severity, owasp, cwe, remediation, tuple(regulations), scope)
    _REGISTRY[id] = rule
    return rule


def get_rule(rule_id: str) -> Rule:
    return _REGISTRY[rule_id]


def all_rules() -> list[Rule]:
    """Every declared rule, sorted by ID. Import `otel_apisec.detect` first to load all families."""
    return sorted(_REGISTRY.values(), key=lambda r: r.id)
