"""`EndpointRecord`: everything the estate knows about one endpoint, as counts and sketches that
merge. Two replicas' records, or a record and the one persisted before a restart, add up with
`merge`, which is commutative and associative (the posture taken from the later check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otel_apisec.estate import schema
from otel_apisec.estate.facts import CONTRACT_AUTH_SCHEMES, CallFacts, direction_of, is_success
from otel_apisec.estate.sketch import DistinctSketch, LatencySketch

__all__ = ["EndpointRecord", "Evidence", "RuleTally"]

SEVERITIES = ("critical", "high", "medium", "low", "info")
_MAX_PARAMETERS = 128
_MAX_COUNTRIES = 32
_MAX_RULES = 256
_MAX_MEDIA_TYPES = 16
_OTHER = "other"


@dataclass(slots=True)
class Evidence:
    """Where to look: a span, or a HAR entry for recorded traffic."""

    trace_id: str
    span_id: str
    time_s: float
    entry: int | None = None

    @classmethod
    def of(cls, facts: CallFacts) -> Evidence:
        return cls(facts.trace_id, facts.span_id, float(facts.time_s), facts.entry)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"trace_id": self.trace_id, "span_id": self.span_id, "time": self.time_s}
        if self.entry is not None:
            data["entry"] = self.entry
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        entry = data.get("entry")
        return cls(str(data.get("trace_id", "")), str(data.get("span_id", "")), float(data.get("time", 0.0)),
                   int(entry) if entry is not None else None)


def _later(a: Evidence | None, b: Evidence | None) -> Evidence | None:
    if a is None or b is None:
        return a or b
    return b if (b.time_s, b.span_id) > (a.time_s, a.span_id) else a


@dataclass(slots=True)
class RuleTally:
    rule_id: str
    kind: str
    severity: str
    count: int
    example: Evidence

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "kind": self.kind, "severity": self.severity, "count": self.count,
                "example": self.example.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleTally:
        return cls(str(data["rule_id"]), str(data["kind"]), str(data["severity"]), int(data["count"]),
                   Evidence.from_dict(data["example"]))


def _bump(counts: dict[str, int], key: str, n: int = 1, bound: int | None = None) -> None:
    if bound is not None and key not in counts and len(counts) >= bound:
        key = _OTHER
    counts[key] = counts.get(key, 0) + n


def _add_counts(into: dict[str, int], other: dict[str, int], bound: int | None = None) -> None:
    for key, n in other.items():
        _bump(into, key, n, bound)


def _tally(rules: dict[str, RuleTally], rule_id: str, kind: str, severity: str, count: int, example: Evidence) -> None:
    tally = rules.get(rule_id)
    if tally is None:
        if len(rules) < _MAX_RULES:
            rules[rule_id] = RuleTally(rule_id, kind, severity, count, example)
        return
    tally.count += count
    tally.example = _later(tally.example, example) or example


class EndpointRecord:
    """One endpoint (method + route) of one service."""

    __slots__ = (
        "auth_failures", "auth_schemes", "calls", "countries", "errors_5xx", "example", "findings", "first_seen",
        "last_seen", "latency", "method", "parameters", "pii_request", "pii_response", "plain_http_calls", "posture",
        "posture_checked", "principals", "rate_limited_calls", "request_schema", "response_media_types",
        "response_schema", "route", "route_known", "rules", "secrets_request", "secrets_response", "status_codes",
        "unauthenticated_calls", "unauthenticated_example", "unauthenticated_success",
    )

    def __init__(self, method: str, route: str, route_known: bool = False) -> None:
        self.method = method
        self.route = route
        self.route_known = route_known
        """The route came from `http.route`, not from inference."""
        self.calls = 0
        self.first_seen: float | None = None
        self.last_seen: float | None = None
        self.status_codes: dict[str, int] = {}
        self.latency = LatencySketch()
        self.auth_schemes: dict[str, int] = {}
        self.unauthenticated_calls = 0
        self.unauthenticated_success = 0
        self.unauthenticated_example: Evidence | None = None
        self.auth_failures = 0
        self.principals = DistinctSketch()
        self.pii_request: dict[str, int] = {}
        self.pii_response: dict[str, int] = {}
        self.secrets_request: dict[str, int] = {}
        self.secrets_response: dict[str, int] = {}
        self.findings: dict[str, int] = {}
        """Per-call findings by severity label."""
        self.rules: dict[str, RuleTally] = {}
        """Per-call findings by rule, each with its latest example."""
        self.posture: dict[str, RuleTally] = {}
        """Posture facts of the endpoint, as its latest check found them."""
        self.posture_checked: float | None = None
        """When that check ran."""
        self.countries: dict[str, int] = {}
        self.request_schema: dict[str, Any] | None = None
        self.response_schema: dict[str, Any] | None = None
        self.parameters: dict[str, dict[str, int]] = {}
        """`query:limit`, `header:x-api-key`, `body:name`, `path:id` -> {type: calls}."""
        self.response_media_types: dict[str, int] = {}
        self.rate_limited_calls = 0
        self.plain_http_calls = 0
        self.errors_5xx = 0
        self.example: Evidence | None = None

    # --- one call ---------------------------------------------------------------------------
    def add(self, facts: CallFacts, path_parameters: tuple[tuple[str, str], ...] = ()) -> None:
        evidence = Evidence.of(facts)
        self.calls += 1
        t = float(facts.time_s)
        self.first_seen = t if self.first_seen is None else min(self.first_seen, t)
        self.last_seen = t if self.last_seen is None else max(self.last_seen, t)
        self.example = _later(self.example, evidence)
        if facts.status is not None:
            _bump(self.status_codes, str(facts.status), bound=64)
            if facts.status >= 500:
                self.errors_5xx += 1
        if facts.duration_ms is not None:
            self.latency.add(facts.duration_ms)
        self._add_auth(facts, evidence)
        if facts.country:
            _bump(self.countries, facts.country, bound=_MAX_COUNTRIES)
        if facts.rate_limit_headers or facts.status == 429:
            self.rate_limited_calls += 1
        if facts.scheme != "https":
            self.plain_http_calls += 1
        if facts.response_media_type:
            _bump(self.response_media_types, facts.response_media_type, bound=_MAX_MEDIA_TYPES)
        self._add_parameters(facts, path_parameters)
        if facts.request_schema is not None:
            self.request_schema = schema.merge(self.request_schema, facts.request_schema)
        if facts.response_schema is not None and is_success(facts.status):
            self.response_schema = schema.merge(self.response_schema, facts.response_schema)
        self._add_findings(facts, evidence)

    def _add_auth(self, facts: CallFacts, evidence: Evidence) -> None:
        scheme = CONTRACT_AUTH_SCHEMES.get(facts.auth_scheme)
        if scheme is None:
            self.unauthenticated_calls += 1
            if is_success(facts.status):
                self.unauthenticated_success += 1
                self.unauthenticated_example = _later(self.unauthenticated_example, evidence)
        else:
            _bump(self.auth_schemes, scheme)
        if facts.auth_outcome == "failure":
            self.auth_failures += 1
        if facts.principal:
            self.principals.add(facts.principal)

    def _add_parameters(self, facts: CallFacts, path_parameters: tuple[tuple[str, str], ...]) -> None:
        named = [*(("path:" + n, t) for n, t in path_parameters), *(("query:" + n, t) for n, t in facts.query),
                 *(("header:" + n, t) for n, t in facts.request_headers)]
        body = facts.request_schema
        if body is not None:
            named.extend(("body:" + key, kind) for key, kind in schema.top_level_types(body))
        for key, kind in named:
            types = self._parameter(key)
            if types is not None:
                _bump(types, kind, bound=8)

    def _parameter(self, key: str) -> dict[str, int] | None:
        """The type counts of a parameter, new ones only while under the bound."""
        types = self.parameters.get(key)
        if types is None and len(self.parameters) < _MAX_PARAMETERS:
            types = self.parameters[key] = {}
        return types

    def _add_findings(self, facts: CallFacts, evidence: Evidence) -> None:
        checked: dict[str, RuleTally] | None = {} if facts.posture_checked else None
        for finding in facts.findings:
            if finding.endpoint_scope:
                if checked is not None:
                    _tally(checked, finding.rule_id, finding.kind, finding.severity, 1, evidence)
                continue
            _bump(self.findings, finding.severity)
            _tally(self.rules, finding.rule_id, finding.kind, finding.severity, 1, evidence)
            family, _, name = finding.kind.partition(".")
            direction = direction_of(finding.location)
            if family == "pii" and direction:
                _bump(self.pii_request if direction == "request" else self.pii_response, name, bound=64)
            elif family == "secret" and direction:
                _bump(self.secrets_request if direction == "request" else self.secrets_response, name, bound=64)
        if checked is not None and (self.posture_checked is None or facts.time_s >= self.posture_checked):
            self.posture, self.posture_checked = checked, float(facts.time_s)

    # --- two records ------------------------------------------------------------------------
    def merge(self, other: EndpointRecord) -> None:
        """Add `other` (the same endpoint, seen elsewhere or earlier) into this record."""
        self.route_known = self.route_known or other.route_known
        self.calls += other.calls
        self.first_seen = _min(self.first_seen, other.first_seen)
        self.last_seen = _max(self.last_seen, other.last_seen)
        self.example = _later(self.example, other.example)
        _add_counts(self.status_codes, other.status_codes, 64)
        self.latency.merge(other.latency)
        _add_counts(self.auth_schemes, other.auth_schemes)
        self.unauthenticated_calls += other.unauthenticated_calls
        self.unauthenticated_success += other.unauthenticated_success
        self.unauthenticated_example = _later(self.unauthenticated_example, other.unauthenticated_example)
        self.auth_failures += other.auth_failures
        self.principals.merge(other.principals)
        for mine, theirs in ((self.pii_request, other.pii_request), (self.pii_response, other.pii_response),
                             (self.secrets_request, other.secrets_request),
                             (self.secrets_response, other.secrets_response)):
            _add_counts(mine, theirs, 64)
        _add_counts(self.findings, other.findings)
        for tally in other.rules.values():
            _tally(self.rules, tally.rule_id, tally.kind, tally.severity, tally.count, tally.example)
        if other.posture_checked is not None and (self.posture_checked is None
                                                  or other.posture_checked > self.posture_checked):
            self.posture = {k: RuleTally.from_dict(v.to_dict()) for k, v in other.posture.items()}
            self.posture_checked = other.posture_checked
        _add_counts(self.countries, other.countries, _MAX_COUNTRIES)
        self.request_schema = schema.merge(self.request_schema, other.request_schema)
        self.response_schema = schema.merge(self.response_schema, other.response_schema)
        for key, types in other.parameters.items():
            counts = self._parameter(key)
            if counts is not None:
                _add_counts(counts, types, 8)
        _add_counts(self.response_media_types, other.response_media_types, _MAX_MEDIA_TYPES)
        self.rate_limited_calls += other.rate_limited_calls
        self.plain_http_calls += other.plain_http_calls
        self.errors_5xx += other.errors_5xx

    def copy_as(self, method: str, route: str) -> EndpointRecord:
        """A copy of this record under another key (inference moved it to a template)."""
        copy = EndpointRecord(method, route, self.route_known)
        copy.merge(self)
        return copy

    # --- figures ----------------------------------------------------------------------------
    @property
    def auth_enforced(self) -> bool:
        """No call without credentials ever succeeded (Akto: one success without auth makes it UNAUTHENTICATED)."""
        return self.unauthenticated_success == 0

    def latency_ms(self, q: float) -> float | None:
        value = self.latency.quantile(q)
        return None if value is None else round(value, 3)

    def severity_counts(self) -> dict[str, int]:
        return {severity: self.findings.get(severity, 0) for severity in SEVERITIES}

    # --- persistence ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """A JSON-able dict for the state store; `from_state` reads it back."""
        return {
            "method": self.method, "route": self.route, "route_known": self.route_known, "calls": self.calls,
            "first_seen": self.first_seen, "last_seen": self.last_seen, "status_codes": self.status_codes,
            "latency": self.latency.to_state(), "auth_schemes": self.auth_schemes,
            "unauthenticated_calls": self.unauthenticated_calls, "unauthenticated_success": self.unauthenticated_success,
            "unauthenticated_example": _evidence_state(self.unauthenticated_example),
            "auth_failures": self.auth_failures, "principals": self.principals.to_state(),
            "pii_request": self.pii_request, "pii_response": self.pii_response,
            "secrets_request": self.secrets_request, "secrets_response": self.secrets_response,
            "findings": self.findings, "rules": [self.rules[k].to_dict() for k in sorted(self.rules)],
            "posture": [self.posture[k].to_dict() for k in sorted(self.posture)], "posture_checked": self.posture_checked,
            "countries": self.countries, "request_schema": self.request_schema, "response_schema": self.response_schema,
            "parameters": self.parameters, "response_media_types": self.response_media_types,
            "rate_limited_calls": self.rate_limited_calls, "plain_http_calls": self.plain_http_calls,
            "errors_5xx": self.errors_5xx, "example": _evidence_state(self.example),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EndpointRecord:
        record = cls(str(state["method"]), str(state["route"]), bool(state.get("route_known", False)))
        for name in ("calls", "unauthenticated_calls", "unauthenticated_success", "auth_failures", "rate_limited_calls",
                     "plain_http_calls", "errors_5xx"):
            setattr(record, name, int(state.get(name, 0)))
        for name in ("first_seen", "last_seen", "posture_checked"):
            value = state.get(name)
            setattr(record, name, None if value is None else float(value))
        for name in ("status_codes", "auth_schemes", "pii_request", "pii_response", "secrets_request",
                     "secrets_response", "findings", "countries", "response_media_types"):
            setattr(record, name, {str(k): int(v) for k, v in (state.get(name) or {}).items()})
        record.parameters = {str(k): {str(t): int(n) for t, n in v.items()} for k, v in (state.get("parameters") or {}).items()}
        record.latency = LatencySketch.from_state(state.get("latency") or {})
        record.principals = DistinctSketch.from_state(state.get("principals") or {})
        record.rules = {t.rule_id: t for t in map(RuleTally.from_dict, state.get("rules") or ())}
        record.posture = {t.rule_id: t for t in map(RuleTally.from_dict, state.get("posture") or ())}
        record.request_schema = state.get("request_schema")
        record.response_schema = state.get("response_schema")
        for name in ("example", "unauthenticated_example"):
            value = state.get(name)
            setattr(record, name, Evidence.from_dict(value) if value else None)
        return record


def _evidence_state(evidence: Evidence | None) -> dict[str, Any] | None:
    return None if evidence is None else evidence.to_dict()


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)
