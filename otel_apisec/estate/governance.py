"""The governance grade: per service and per endpoint, a score of 0-100 and a grade A-F in Treblle's
bands, over four categories, with every deduction traced to its check, endpoint, rule and span; and
compliance per regulation.

How a score is made (the checks are in `checks.CHECKS`):
- A check's weight is the category points it puts at stake; a category's weights add up to 100.
- An endpoint that fails a check loses `weight x factor` in that category (factor 0-1, from the
  severity or size of what was seen). Its score is the weighted mean of its four category scores.
- A service loses, per check, the whole `weight x worst factor` when the check's spread is `any`
  (one failing endpoint is one too many), or `weight x mean factor` over the applicable endpoints
  when it is `share`. The points are split over the failing endpoints so that every deduction
  names one endpoint; service-level checks name none.
- The service score is the weighted mean of its category scores (`checks.CATEGORIES`). Each
  deduction's `points` are in service-score points, so they add up to 100 - score.
Work is linear in endpoints x checks; the result depends only on the estate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otel_apisec.estate.checks import (
    CATEGORIES,
    CHECKS,
    ENDPOINT_TESTS,
    REGULATION_ORDER,
    SERVICE_TESTS,
    Check,
    Failure,
    applies,
)
from otel_apisec.estate.facts import iso_time

if TYPE_CHECKING:
    from otel_apisec.estate.inventory import Endpoint, Estate, ServiceEstate
    from otel_apisec.estate.record import Evidence

__all__ = [
    "MAX_DOCUMENT_DEDUCTIONS", "ComplianceCheck", "Deduction", "EndpointGrade", "Governance", "RegulationResult",
    "ServiceGrade", "assess", "grade_of",
]

MAX_DOCUMENT_DEDUCTIONS = 1000
"""Deductions a service's document lists, largest first (`deductions_total` counts them all)."""
_BANDS = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"))
_TOTAL_WEIGHT = sum(CATEGORIES.values())
_ENDPOINT_CHECKS = tuple(c for c in CHECKS if c.scope != "service")
_SERVICE_CHECKS = tuple(c for c in CHECKS if c.scope == "service")


def grade_of(score: float) -> str:
    """A 90-100, B 80-89, C 70-79, D 60-69, F below 60 (89.99 is a B)."""
    return next((grade for floor, grade in _BANDS if score >= floor), "F")


def _score(raw: float) -> float:
    """Clamped to 0-100 and cut (not rounded) to one decimal, so no score rounds up into a better band."""
    return math.floor(round(min(100.0, max(0.0, raw)), 6) * 10) / 10


def _weighted(categories: dict[str, float]) -> float:
    return sum(CATEGORIES[c] * s for c, s in categories.items()) / _TOTAL_WEIGHT


def _evidence(example: Evidence | None) -> dict[str, Any] | None:
    return None if example is None else {"trace_id": example.trace_id, "span_id": example.span_id,
                                         "entry": example.entry}


@dataclass(frozen=True, slots=True)
class Deduction:
    check: Check
    points: float
    """Service-score points lost to this check on this endpoint."""
    endpoint: str | None
    """`GET /users/{id}`, or None for a service-level check."""
    failure: Failure

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check.id, "title": self.check.title, "category": self.check.category,
            "weight": self.check.weight, "points": round(self.points, 3), "endpoint": self.endpoint,
            "count": self.failure.count, "rule": self.failure.rule, "detail": self.failure.detail,
            "example": _evidence(self.failure.example),
        }


@dataclass(frozen=True, slots=True)
class EndpointGrade:
    method: str
    route: str
    score: float
    grade: str
    failed: tuple[str, ...]
    """IDs of the checks it fails."""

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "route": self.route, "score": self.score, "grade": self.grade,
                "failed": list(self.failed)}


@dataclass(frozen=True, slots=True)
class ComplianceCheck:
    check: Check
    status: str
    """`pass`, `fail`, or `not_applicable` (no endpoint it applies to, e.g. drift checks without a spec)."""
    endpoints: tuple[str, ...]
    """The failing endpoints, as `GET /route`."""
    example: Evidence | None
    """A failing call (of the first failing endpoint): the link to the failing requests."""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check.id, "title": self.check.title, "status": self.status,
                "endpoints": list(self.endpoints), "example": _evidence(self.example)}


@dataclass(frozen=True, slots=True)
class RegulationResult:
    regulation: str
    checks: tuple[ComplianceCheck, ...]
    """Every check that maps to the regulation."""

    @property
    def percent(self) -> float:
        """Share of the applicable checks that pass (100 when none applies)."""
        statuses = [c.status for c in self.checks if c.status != "not_applicable"]
        return round(100.0 * statuses.count("pass") / len(statuses), 1) if statuses else 100.0

    @property
    def failing_endpoints(self) -> list[str]:
        return sorted({name for c in self.checks for name in c.endpoints})

    def to_dict(self) -> dict[str, Any]:
        return {"percent": self.percent, "failing_endpoints": self.failing_endpoints,
                "checks": [c.to_dict() for c in self.checks]}


@dataclass(slots=True)
class ServiceGrade:
    service: str
    score: float
    grade: str
    categories: dict[str, float]
    deductions: list[Deduction]
    """Largest first."""
    endpoints: list[EndpointGrade]
    compliance: dict[str, RegulationResult]
    _index: dict[tuple[str, str], EndpointGrade] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {(e.method, e.route): e for e in self.endpoints}

    def endpoint(self, method: str, route: str) -> EndpointGrade | None:
        return self._index.get((method, route))

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service, "score": self.score, "grade": self.grade,
            "categories": {c: {"score": s, "grade": grade_of(s), "weight": CATEGORIES[c]}
                           for c, s in self.categories.items()},
            "deductions": [d.to_dict() for d in self.deductions[:MAX_DOCUMENT_DEDUCTIONS]],
            "deductions_total": len(self.deductions),
            "endpoints": [e.to_dict() for e in self.endpoints],
            "compliance": {r: result.to_dict() for r, result in self.compliance.items()},
        }


@dataclass(slots=True)
class Governance:
    generated_at: float
    services: list[ServiceGrade]

    def service(self, name: str) -> ServiceGrade | None:
        return next((s for s in self.services if s.service == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The `GET /api/v1/governance` document."""

        return {"generated_at": iso_time(self.generated_at), "checks": [_check_dict(c) for c in CHECKS],
                "services": [s.to_dict() for s in self.services]}


def _check_dict(check: Check) -> dict[str, Any]:
    return {"id": check.id, "title": check.title, "category": check.category, "weight": check.weight,
            "spread": check.spread, "regulations": list(check.regulations), "fails_when": check.fails_when,
            "remediation": check.remediation}


def assess(estate: Estate) -> Governance:
    return Governance(estate.generated_at, [_assess_service(s) for s in estate.services])


_Failures = dict[str, list[tuple["Endpoint", Failure]]]
"""Check ID -> the endpoints that fail it, with why."""


def _assess_service(service: ServiceEstate) -> ServiceGrade:
    endpoints = sorted(service.endpoints, key=lambda e: (e.route, e.method))  # order-free sums
    failures: _Failures = {c.id: [] for c in CHECKS}
    applicable = dict.fromkeys(failures, 0)
    grades = [_grade_endpoint(e, failures, applicable) for e in endpoints]

    # Category points lost per (check, endpoint); see the module docstring.
    raw: list[tuple[Check, float, str | None, Failure]] = []
    for check in _ENDPOINT_CHECKS:
        found = failures[check.id]
        if found and check.spread == "any":
            total = check.weight * max(f.factor for _, f in found)
            factors = sum(f.factor for _, f in found)
            raw.extend((check, total * f.factor / factors, e.name, f) for e, f in found)
        elif found:
            raw.extend((check, check.weight * f.factor / applicable[check.id], e.name, f) for e, f in found)
    service_failed: set[str] = set()
    for check in _SERVICE_CHECKS:
        failure = SERVICE_TESTS[check.id](service)
        if failure is not None:
            raw.append((check, check.weight * failure.factor, None, failure))
            service_failed.add(check.id)

    lost = dict.fromkeys(CATEGORIES, 0.0)
    for check, points, _, _ in raw:
        lost[check.category] += points
    # Service-score points; a category never loses more than 100 (its weights add up to 100).
    deductions = [Deduction(check, points * 100.0 / max(100.0, lost[check.category]) * CATEGORIES[check.category]
                            / _TOTAL_WEIGHT, name, failure) for check, points, name, failure in raw]
    deductions.sort(key=lambda d: (-d.points, d.check.id, d.endpoint or ""))
    score = _score(_weighted({c: 100.0 - min(100.0, n) for c, n in lost.items()}))
    capping = min((c for c in _ENDPOINT_CHECKS if c.cap is not None and failures[c.id]),
                  key=lambda c: (c.cap, c.id), default=None)
    if capping is not None and capping.cap is not None and score > capping.cap:
        # The points the cap takes are a deduction of their own, so the deductions still add up to 100 - score.
        endpoint, failure = failures[capping.id][0]
        capped = Failure(failure.factor, failure.count, failure.example, failure.rule,
                         f"caps the grade: {capping.title.lower()} grades D at best")
        deductions.append(Deduction(capping, score - capping.cap, endpoint.name, capped))
        deductions.sort(key=lambda d: (-d.points, d.check.id, d.endpoint or ""))
        score = capping.cap
    return ServiceGrade(service.service, score, grade_of(score), {c: _score(100.0 - n) for c, n in lost.items()},
                        deductions, grades, _compliance(failures, applicable, service_failed))


def _grade_endpoint(endpoint: Endpoint, failures: _Failures, applicable: dict[str, int]) -> EndpointGrade:
    """Run every check that applies to the endpoint; its score counts each failure at full weight."""
    lost = dict.fromkeys(CATEGORIES, 0.0)
    failed = []
    for check in _ENDPOINT_CHECKS:
        if not applies(check, endpoint):
            continue
        applicable[check.id] += 1
        failure = ENDPOINT_TESTS[check.id](endpoint)
        if failure is not None:
            failures[check.id].append((endpoint, failure))
            lost[check.category] += check.weight * failure.factor
            failed.append(check.id)
    caps = [c.cap for c in _ENDPOINT_CHECKS if c.cap is not None and c.id in failed]
    score = min([_score(_weighted({c: 100.0 - min(100.0, n) for c, n in lost.items()})), *caps])
    return EndpointGrade(endpoint.method, endpoint.route, score, grade_of(score), tuple(failed))


def _compliance(failures: _Failures, applicable: dict[str, int], service_failed: set[str]) -> dict[str, RegulationResult]:
    result = {}
    for regulation in REGULATION_ORDER:
        rows = []
        for check in CHECKS:
            if regulation not in check.regulations:
                continue
            found = failures[check.id]
            if found or check.id in service_failed:
                status = "fail"
            else:
                status = "pass" if check.scope == "service" or applicable[check.id] else "not_applicable"
            names = tuple(sorted({e.name for e, _ in found}))
            example = min(found, key=lambda ef: ef[0].name)[1].example if found else None
            rows.append(ComplianceCheck(check, status, names, example))
        result[regulation] = RegulationResult(regulation, tuple(rows))
    return result
