"""One finding model: the attributes of its `apisec.finding` span event, its JSON record, and the
way from one to the other. Only this module writes or reads those attributes or builds a record,
so the in-process SDK, the gateway's processors, its exporters and the OCSF mapper cannot drift.

    Finding (a detector's)     ── request_event ──┐
    CorrelationFinding (across requests) ─ traffic_event ─┴─▶ event attributes ── record_from_event ──▶ record
    CorrelationFinding.record() ── correlation_record ─────────────────────────────────────────────▶ record

Event attributes (names from `otel_apisec.attributes`):

    security_rule.uuid, security_rule.name   the rule's ID and title
    security_rule.category                   the OWASP API 2023 category id ("API8:2023"): structured, its
                                             name is `OWASP[id]` (senders before this wrote "id name")
    security_rule.reference                  the CWE, whole ("CWE-89")
    apisec.finding.kind, .severity, .location
    apisec.finding.scope                     `endpoint` on a fact about the endpoint (its posture), else absent
    across requests also: apisec.finding.message, .group_key, .subject.<key>, .evidence.<key>

The record keys `rule_id`, `kind`, `severity`, `owasp`, `cwe`, `location` and `message` mean what
they mean in `scan --format jsonl` (`Finding.to_dict`); a record adds `owasp_title`, `rule_name`,
where the finding was seen (`Seen`), `scope` (`endpoint`) for an endpoint fact and, across requests,
`group_key`, `subject` and `evidence`.

Plain data only: no OpenTelemetry import (the gateway encodes these dicts as protobuf itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otel_apisec import attributes as A
from otel_apisec.detect.rule import ENDPOINT, OWASP, Rule, get_rule
from otel_apisec.model import Finding, Severity

__all__ = [
    "RECORD_KEYS",
    "AttributeValue",
    "Seen",
    "correlation_record",
    "is_across_requests",
    "log_summary",
    "owasp_category",
    "record_from_event",
    "request_event",
    "traffic_event",
]

AttributeValue = str | bool | int | float | tuple[str, ...]

RECORD_KEYS = frozenset({
    "rule_id", "kind", "severity", "owasp", "owasp_title", "cwe", "location", "rule_name", "message", "time",
    "service_name", "trace_id", "span_id", "span_name", "route", "method", "group_key", "subject", "evidence",
    "scope",
})
"""Every key a finding record may have (consumers put any other key aside as unknown)."""


@dataclass(frozen=True, slots=True)
class Seen:
    """Where and when a finding was seen: the span's half of a record. None leaves a key out."""

    time: str
    """ISO 8601 UTC, milliseconds (`2023-11-14T22:13:20.000Z`)."""
    service_name: str
    trace_id: str
    """Hex, as are span IDs."""
    span_id: str
    span_name: str | None = None
    route: str | None = None
    method: str | None = None


def owasp_category(owasp: str, title: str | None = None) -> str:
    """`API2:2023 Broken Authentication`: the category as OWASP writes it, for people to read."""
    return f"{owasp} {title or OWASP.get(owasp, '')}".strip()


# --- finding -> event attributes -----------------------------------------------------------------
def _rule_attributes(rule_id: str, rule_name: str, owasp: str, cwe: str, kind: str, severity: Severity,
                     location: str) -> dict[str, AttributeValue]:
    # The category is the id alone: structured, no text to split, and no second attribute (each costs the
    # encoder, the redaction walk and the log records some microseconds a span: 5 % of the gateway for one).
    return {
        A.RULE_ID: rule_id,
        A.RULE_NAME: rule_name,
        A.RULE_CATEGORY: owasp,
        A.RULE_REFERENCE: cwe,
        A.FINDING_KIND: kind,
        A.FINDING_SEVERITY: severity.label,
        A.FINDING_LOCATION: location,
    }


def request_event(finding: Finding) -> dict[str, AttributeValue]:
    """The event attributes of a finding made inside one request (its rule must be declared); an
    endpoint fact (`Finding.endpoint_scope`) is marked `apisec.finding.scope=endpoint`."""
    attributes = _rule_attributes(finding.rule_id, get_rule(finding.rule_id).title, finding.owasp, finding.cwe,
                                  finding.kind, finding.severity, finding.location)
    if finding.endpoint_scope:
        attributes[A.FINDING_SCOPE] = ENDPOINT
    return attributes


def traffic_event(
    rule: Rule, severity: Severity, message: str, group_key: str,
    subject: Mapping[str, str], evidence: Mapping[str, float | int | str],
) -> dict[str, AttributeValue]:
    """The event attributes of a finding made across requests (location `traffic`). `subject` is
    as it may leave the gateway (addresses as keyed hashes), and so is `group_key`."""
    attributes = _rule_attributes(rule.id, rule.title, rule.owasp, rule.cwe, rule.kind, severity, A.CORRELATION_LOCATION)
    attributes[A.FINDING_MESSAGE] = message
    attributes[A.FINDING_GROUP_KEY] = group_key
    attributes.update({A.FINDING_SUBJECT_PREFIX + key: value for key, value in subject.items()})
    attributes.update({A.FINDING_EVIDENCE_PREFIX + key: value for key, value in evidence.items()})
    return attributes


# --- event attributes -> record ------------------------------------------------------------------
def _owasp(attributes: Mapping[str, Any]) -> tuple[Any, Any]:
    """(id, name) of the OWASP category: the id is `security_rule.category` (senders before it was
    structured wrote "<id> <name>" there: the one place that text is still taken apart)."""
    owasp, _, title = str(attributes.get(A.RULE_CATEGORY) or "").partition(" ")
    return owasp, title or OWASP.get(owasp, "")


def _nested(attributes: Mapping[str, Any], prefix: str) -> dict[str, Any] | None:
    nested = {key[len(prefix):]: value for key, value in attributes.items() if key.startswith(prefix)}
    return nested or None


def record_from_event(attributes: Mapping[str, Any], seen: Seen) -> dict[str, Any]:
    """The record of one `apisec.finding` event (its attributes as a plain dict)."""
    get = attributes.get
    owasp, owasp_title = _owasp(attributes)
    return _record(
        rule_id=get(A.RULE_ID, ""), kind=get(A.FINDING_KIND, ""), severity=get(A.FINDING_SEVERITY, ""),
        owasp=owasp, owasp_title=owasp_title, cwe=get(A.RULE_REFERENCE, ""), location=get(A.FINDING_LOCATION, ""),
        rule_name=get(A.RULE_NAME, ""), message=get(A.FINDING_MESSAGE), seen=seen, group_key=get(A.FINDING_GROUP_KEY),
        subject=_nested(attributes, A.FINDING_SUBJECT_PREFIX), evidence=_nested(attributes, A.FINDING_EVIDENCE_PREFIX),
        scope=get(A.FINDING_SCOPE),
    )


def correlation_record(
    rule: Rule, severity: Severity, message: str, group_key: str,
    subject: Mapping[str, str], evidence: Mapping[str, float | int | str], seen: Seen,
) -> dict[str, Any]:
    """The record of a finding across requests, straight from the correlator (no location: it has
    not been put on a span yet; subject as the correlator holds it)."""
    return _record(
        rule_id=rule.id, kind=rule.kind, severity=severity.label, owasp=rule.owasp, owasp_title=OWASP[rule.owasp],
        cwe=rule.cwe, location=None, rule_name=rule.title, message=message, seen=seen, group_key=group_key,
        subject=dict(subject), evidence=dict(evidence),
    )


def _record(
    *, rule_id: Any, kind: Any, severity: Any, owasp: Any, owasp_title: Any, cwe: Any, location: Any, rule_name: Any,
    message: Any, seen: Seen, group_key: Any, subject: dict[str, Any] | None, evidence: dict[str, Any] | None,
    scope: Any = None,
) -> dict[str, Any]:
    """The one record shape, in one key order; None leaves a key out."""
    record: dict[str, Any] = {
        "rule_id": rule_id, "kind": kind, "severity": severity, "owasp": owasp, "owasp_title": owasp_title, "cwe": cwe,
    }
    if location is not None:
        record["location"] = location
    record["rule_name"] = rule_name
    if message is not None:
        record["message"] = message
    record["time"] = seen.time
    record["service_name"] = seen.service_name
    record["trace_id"] = seen.trace_id
    record["span_id"] = seen.span_id
    optional = {"span_name": seen.span_name, "route": seen.route, "method": seen.method, "group_key": group_key,
                "subject": subject, "evidence": evidence, "scope": scope}
    record.update({key: value for key, value in optional.items() if value is not None})
    return record


# --- what other shapes read ---------------------------------------------------------------------
def log_summary(attributes: Mapping[str, Any]) -> tuple[str, str]:
    """(severity label, body) of the log record an event becomes: its message, else the rule's name."""
    body = attributes.get(A.FINDING_MESSAGE) or attributes.get(A.RULE_NAME) or ""
    return str(attributes.get(A.FINDING_SEVERITY) or ""), str(body)


def is_across_requests(record: Mapping[str, Any]) -> bool:
    """A record of a finding made across requests (it names a subject or an incident)."""
    return "subject" in record or "group_key" in record
