"""Finding records → OCSF Detection Finding events (class 2004), one event per record.

Records are the one shape `otel_apisec.findings` defines, whether read off a span
(`otel_apisec.gateway.finding_records.findings_from_request`) or straight from a correlator
(`CorrelationFinding.record()`: no location, and `subject`, `evidence`, `group_key`).

Where each key goes:

    rule_id                   finding_info.analytic.uid, metadata.event_code
    rule_name                 finding_info.title, finding_info.analytic.name
    kind, owasp(+owasp_title) finding_info.types
    cwe                       vulnerabilities[0].cwe (uid and the MITRE page)
    severity                  severity_id / severity
    time                      time, finding_info.created_time (epoch ms)
    message                   message, finding_info.desc (per-span: "<rule name> at <location>")
    trace_id, span_id         finding_info.related_events[0] (uid = span ID, tags trace_id/span_id)
    span_name                 finding_info.related_events[0].title
    service_name              resources[0].name
    method, route             evidences[0].api.operation, evidences[0].http_request
    subject client.address    evidences[0].src_endpoint.ip (observable: IP Address)
    subject apisec.client.pseudo.id  evidences[0].src_endpoint.uid
    subject enduser.pseudo.id evidences[0].actor.user.uid (observable: User Object: uid)
    subject apisec.token.hash evidences[0].actor.session.credential_uid (observable: User Credential ID)
    evidence                  evidences[0].data
    group_key                 metadata.correlation_uid ("<rule_id>/<group_key>": one incident)
    anything else             unmapped (location, other subject keys, keys added later)

The rule's remediation text, when the rule is declared in this process, becomes `remediation`.
Every value comes from the record, which never holds a raw credential: principals and tokens
are keyed hashes already, and nothing here reverses or adds to that.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import ipaddress
from collections.abc import Mapping
from typing import Any

from opentelemetry.semconv.attributes.client_attributes import CLIENT_ADDRESS

from otel_apisec import __version__
from otel_apisec import attributes as A
from otel_apisec.detect import load_catalog
from otel_apisec.detect.rule import get_rule
from otel_apisec.findings import RECORD_KEYS, is_across_requests, owasp_category
from otel_apisec.model import Severity

__all__ = ["CLASS_UID", "OCSF_VERSION", "PRODUCT", "to_ocsf"]

OCSF_VERSION = "1.8.0"
"""The OCSF schema version the events follow (and that the tests validate them against)."""

PRODUCT: dict[str, str] = {"name": "otel-apisec", "vendor_name": "otel-apisec", "version": __version__}

CLASS_UID, CLASS_NAME = 2004, "Detection Finding"
CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
ACTIVITY_CREATE = (1, "Create")
STATUS_NEW = (1, "New")

# OCSF severity_id and its caption, for each of our severities; anything else is 0 Unknown.
_SEVERITY: dict[str, tuple[int, str]] = {
    Severity.INFO.label: (1, "Informational"),
    Severity.LOW.label: (2, "Low"),
    Severity.MEDIUM.label: (3, "Medium"),
    Severity.HIGH.label: (4, "High"),
    Severity.CRITICAL.label: (5, "Critical"),
}
_SEVERITY_UNKNOWN = (0, "Unknown")

# analytic.type_id: a per-span finding is a rule matching one call; a cross-request finding is
# a pattern in a stream of calls by one subject.
_ANALYTIC_RULE = (1, "Rule")
_ANALYTIC_BEHAVIORAL = (2, "Behavioral")

# observable.type_id and its caption.
_OBSERVABLE_IP = (2, "IP Address")
_OBSERVABLE_USER_UID = (31, "User Object: uid")
_OBSERVABLE_CREDENTIAL = (19, "User Credential ID")

# The per-span rule families register on first use; cross-request rules did when their
# correlators were imported (their records exist only then).
_load_catalog = functools.cache(load_catalog)

_SPAN_TYPE = "OpenTelemetry span"
_SERVICE_TYPE = "service"
_CWE_URL = "https://cwe.mitre.org/data/definitions/{}.html"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MILLISECOND = datetime.timedelta(milliseconds=1)

# Record keys this module places: all but the location, which OCSF has no place for; the rest of a
# record (and keys added later) goes to `unmapped`.
_MAPPED = RECORD_KEYS - {"location", "scope"}


def to_ocsf(record: Mapping[str, Any]) -> dict[str, Any]:
    """The OCSF Detection Finding event for one finding record.

    Raises `ValueError` naming the key when the record lacks a `rule_id` or a parseable `time`
    (the two facts an event cannot be built without)."""
    rule_id = _text(record, "rule_id")
    if not rule_id:
        raise ValueError("finding record has no 'rule_id'")
    time_ms = _epoch_ms(record.get("time"))
    title = _text(record, "rule_name") or rule_id
    correlated = is_across_requests(record)
    message = _text(record, "message") or _per_span_message(title, _text(record, "location"))
    uid = _uid(record)
    severity_id, severity = _SEVERITY.get(_text(record, "severity").lower(), _SEVERITY_UNKNOWN)
    activity_id, activity_name = ACTIVITY_CREATE

    event: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"{CLASS_NAME}: {activity_name}",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": STATUS_NEW[0],
        "status": STATUS_NEW[1],
        "time": time_ms,
        "message": message,
        "metadata": _metadata(record, rule_id, uid),
        "finding_info": _finding_info(record, rule_id, title, message, uid, time_ms, correlated),
    }
    subject = dict(_mapping(record, "subject"))
    evidence = _evidence(record, subject)
    _put(event, "evidences", [evidence] if evidence else None)
    _put(event, "observables", _observables(evidence))
    service = _text(record, "service_name")
    _put(event, "resources", [{"name": service, "type": _SERVICE_TYPE}] if service else None)
    cwe = _text(record, "cwe")
    if cwe:
        number = cwe.removeprefix("CWE-")
        event["vulnerabilities"] = [{
            "cwe": {"uid": cwe, **({"src_url": _CWE_URL.format(number)} if number.isdigit() else {})},
            "title": title,
        }]
    _put(event, "remediation", _remediation(rule_id))
    _put(event, "unmapped", _unmapped(record, subject))
    return event


# ---------------------------------------------------------------------------------------------


def _metadata(record: Mapping[str, Any], rule_id: str, uid: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"version": OCSF_VERSION, "product": dict(PRODUCT), "uid": uid, "event_code": rule_id}
    group_key = _text(record, "group_key")
    if group_key:  # same rule + same group key = same incident: lets the SIEM group repeats
        metadata["correlation_uid"] = f"{rule_id}/{group_key}"
    return metadata


def _finding_info(
    record: Mapping[str, Any], rule_id: str, title: str, message: str, uid: str, time_ms: int, correlated: bool,
) -> dict[str, Any]:
    analytic_type_id, analytic_type = _ANALYTIC_BEHAVIORAL if correlated else _ANALYTIC_RULE
    info: dict[str, Any] = {
        "uid": uid,
        "title": title,
        "desc": message,
        "created_time": time_ms,
        "analytic": {"uid": rule_id, "name": title, "type_id": analytic_type_id, "type": analytic_type},
    }
    types = [_text(record, "kind"), _owasp_type(record)]
    _put(info, "types", [t for t in types if t])
    _put(info, "related_events", _related_events(record))
    return info


def _owasp_type(record: Mapping[str, Any]) -> str:
    """`API2:2023 Broken Authentication`: the category with its title, as OWASP names it."""
    return owasp_category(_text(record, "owasp"), _text(record, "owasp_title"))


def _related_events(record: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The span the finding came from (per-span) or that tipped it over (cross-request)."""
    trace_id, span_id = _text(record, "trace_id"), _text(record, "span_id")
    if not span_id:
        return None
    related: dict[str, Any] = {"uid": span_id, "type": _SPAN_TYPE}
    _put(related, "title", _text(record, "span_name"))
    tags = [{"name": "trace_id", "value": trace_id}] if trace_id else []
    related["tags"] = [*tags, {"name": "span_id", "value": span_id}]
    return [related]


def _evidence(record: Mapping[str, Any], subject: dict[str, Any]) -> dict[str, Any]:
    """What the finding was seen on: the API call, the caller, the numbers. Consumes the subject
    keys it places (the rest stays in `subject` for `unmapped`)."""
    evidence: dict[str, Any] = {}
    method, route = _text(record, "method"), _text(record, "route")
    if method or route:
        evidence["api"] = {"operation": f"{method} {route}".strip()}
        request: dict[str, Any] = {}
        _put(request, "http_method", method)
        _put(request, "url", {"path": route} if route else None)
        evidence["http_request"] = request
    client = _str_value(subject.pop(CLIENT_ADDRESS, None))
    client_pseudonym = _str_value(subject.pop(A.CLIENT_PSEUDO_ID, None))
    if client:
        # ip_t only takes an address; anything else (a socket path, a name) is the endpoint's name.
        evidence["src_endpoint"] = {"ip": client} if _is_ip(client) else {"name": client}
    elif client_pseudonym:  # the gateway's findings name a client by the keyed hash of its address
        evidence["src_endpoint"] = {"uid": client_pseudonym}
    # The caller: who (the principal's keyed hash) and with which credential (the token's).
    actor: dict[str, Any] = {}
    principal = _str_value(subject.pop(A.ENDUSER_PSEUDO_ID, None))
    _put(actor, "user", {"uid": principal} if principal else None)
    token = _str_value(subject.pop(A.TOKEN_HASH, None))
    _put(actor, "session", {"credential_uid": token} if token else None)
    _put(evidence, "actor", actor)
    data = _mapping(record, "evidence")
    _put(evidence, "data", dict(data) if data else None)
    return evidence


def _observables(evidence: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Pointers to the searchable values the evidence holds (OCSF `observables`)."""
    found: list[dict[str, Any]] = []

    def add(name: str, kind: tuple[int, str], value: str | None) -> None:
        if value:
            found.append({"name": f"evidences[0].{name}", "type_id": kind[0], "type": kind[1], "value": value})

    add("src_endpoint.ip", _OBSERVABLE_IP, evidence.get("src_endpoint", {}).get("ip"))
    actor = evidence.get("actor", {})
    add("actor.user.uid", _OBSERVABLE_USER_UID, actor.get("user", {}).get("uid"))
    add("actor.session.credential_uid", _OBSERVABLE_CREDENTIAL, actor.get("session", {}).get("credential_uid"))
    return found or None


def _remediation(rule_id: str) -> dict[str, str] | None:
    _load_catalog()
    try:
        return {"desc": get_rule(rule_id).remediation}
    except KeyError:  # a rule this process does not declare (a newer agent, another deployment)
        return None


def _unmapped(record: Mapping[str, Any], subject: dict[str, Any]) -> dict[str, Any] | None:
    rest = {key: value for key, value in record.items() if key not in _MAPPED and value not in (None, "")}
    if subject:
        rest["subject"] = subject
    return rest or None


def _per_span_message(title: str, location: str) -> str:
    return f"{title} at {location}" if location else title


def _uid(record: Mapping[str, Any]) -> str:
    """A stable ID: the same finding exported twice (a retry, a replay) gets the same uid, so the
    SIEM can deduplicate. Built from identifying keys only, never from free text."""
    parts = [_text(record, key) for key in ("rule_id", "trace_id", "span_id", "location", "group_key", "time")]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _epoch_ms(value: Any) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError(f"finding record 'time' must be an ISO 8601 timestamp, got {value!r:.60}")
    try:
        # Python 3.10's fromisoformat does not take the `Z` suffix.
        moment = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise ValueError(f"finding record 'time' is not an ISO 8601 timestamp: {value!r:.60}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return (moment - _EPOCH) // _MILLISECOND  # exact integer arithmetic: no float rounding


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _text(record: Mapping[str, Any], key: str) -> str:
    return _str_value(record.get(key)) or ""


def _str_value(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _mapping(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"finding record {key!r} must be an object, got {type(value).__name__}")
    return value


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` only when there is something to say (OCSF omits absent attributes, never nulls them)."""
    if value:
        target[key] = value
