"""The governance grade: bands, checks with their evidence, compliance per regulation, and bounds."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from otel_apisec.detect.rule import REGULATIONS
from otel_apisec.estate.checks import CATEGORIES, CHECKS, ENDPOINT_TESTS, SERVICE_TESTS, markdown_table
from otel_apisec.estate.facts import CallFacts, FindingFact
from otel_apisec.estate.governance import Governance, ServiceGrade, assess, grade_of
from otel_apisec.estate.inventory import Endpoint, Estate, ServiceEstate
from otel_apisec.estate.record import EndpointRecord
from otel_apisec.estate.spec import ApiSpec

_CARD = FindingFact("APISEC-PII-003", "pii.credit_card", "high", "response.body.$.card")
_SQLI = FindingFact("APISEC-INJ-001", "sqli", "critical", "request.query.q")
_NO_HSTS = FindingFact("APISEC-POS-002", "posture.missing_hsts", "low", "response.header", True)


def _call(n: int, **kw: object) -> CallFacts:
    """A clean call: HTTPS, a bearer token of a known user, 200 JSON, fast, rate-limit headers."""
    base: dict[str, object] = {
        "service": "shop", "method": "GET", "route": "/v1/users/{id}", "path": "/v1/users/7", "time_s": 1000.0 + n,
        "duration_ms": 20.0, "status": 200, "scheme": "https", "auth_scheme": "bearer", "auth_outcome": "success",
        "principal": "p1", "response_media_type": "application/json", "rate_limit_headers": True,
        "trace_id": f"{n:032x}", "span_id": f"{n:016x}",
    }
    base.update(kw)
    return CallFacts(**base)  # type: ignore[arg-type]


def _endpoint(route: str = "/v1/users/{id}", method: str = "GET", calls: tuple[CallFacts, ...] | None = None,
              spec_status: str | None = None) -> Endpoint:
    record = EndpointRecord(method, route, True)
    for call in calls if calls is not None else (_call(1), _call(2)):
        record.add(call)
    return Endpoint("shop", method, route, record, spec_status)


def _spec() -> ApiSpec:
    return ApiSpec(source="shop.yaml", title="shop", version="1", openapi="3.1.0", base_paths=("",), operations=())


def _grade(*endpoints: Endpoint, spec: bool = False) -> ServiceGrade:
    estate = Estate(1000.0, [ServiceEstate("shop", list(endpoints), _spec() if spec else None)])
    grade = assess(estate).service("shop")
    assert grade is not None
    return grade


def _checks(grade: ServiceGrade) -> set[str]:
    return {d.check.id for d in grade.deductions}


class TestBands:
    @pytest.mark.parametrize(("score", "grade"), [
        (100, "A"), (90, "A"), (89.99, "B"), (80, "B"), (79.99, "C"), (70, "C"), (69.99, "D"), (60, "D"),
        (59.9, "F"), (0, "F"),
    ])
    def test_band_edges(self, score: float, grade: str) -> None:
        """Treblle's bands; a score just under an edge stays in the lower band."""
        assert grade_of(score) == grade


class TestTable:
    def test_ids_weights_tests_and_regulations(self) -> None:
        """IDs are unique, each category's weights add up to 100, each check has one test, regulations are known."""
        ids = [c.id for c in CHECKS]
        assert len(ids) == len(set(ids))
        weights = Counter[str]()
        for check in CHECKS:
            weights[check.category] += check.weight
            assert set(check.regulations) <= REGULATIONS
            assert (check.id in SERVICE_TESTS) == (check.scope == "service")
        assert dict(weights) == dict.fromkeys(CATEGORIES, 100)
        assert set(ENDPOINT_TESTS) | set(SERVICE_TESTS) == set(ids)
        assert all(c.id in markdown_table() for c in CHECKS)


class TestScores:
    def test_clean_service_scores_a(self) -> None:
        """A documented, authenticated, HTTPS, fast, rate-limited JSON API loses nothing."""
        grade = _grade(_endpoint(spec_status="documented"), _endpoint("/v1/orders", spec_status="documented"),
                       spec=True)
        assert grade.deductions == []
        assert (grade.score, grade.grade) == (100.0, "A")
        assert all(e.grade == "A" and e.score == 100.0 for e in grade.endpoints)
        assert all(r.percent == 100.0 for r in grade.compliance.values())

    def test_clean_service_without_spec_is_still_a(self) -> None:
        """Without a spec only GOV-DES-001 deducts, with the evidence "no spec"."""
        grade = _grade(_endpoint())
        assert _checks(grade) == {"GOV-DES-001"}
        assert grade.deductions[0].failure.detail == "no spec" and grade.deductions[0].endpoint is None
        assert grade.grade == "A" and grade.score < 100
        assert grade.categories["design"] == 100 - grade.deductions[0].check.weight

    def test_unauthenticated_success_loses_auth_check_with_its_span(self) -> None:
        """An endpoint that sees bearer calls and answers 200 to a call without credentials fails GOV-SEC-001."""
        anonymous = _call(7, auth_scheme="none", auth_outcome="anonymous", principal=None, span_id="ab" * 8)
        bad = _endpoint(calls=(_call(1), anonymous, _call(9)))  # the latest call is not the evidence
        grade = _grade(bad, _endpoint("/v1/orders"))
        auth = [d for d in grade.deductions if d.check.id == "GOV-SEC-001"]
        capped = [d for d in auth if d.failure.detail.startswith("caps the grade")]
        assert len(auth) == 2 and len(capped) == 1, "its weight, then the cap: D at best"
        assert grade.grade == "D" and grade.score == 69.9
        auth = [d for d in auth if d not in capped]
        assert auth[0].endpoint == "GET /v1/users/{id}" and auth[0].failure.count == 1
        assert auth[0].to_dict()["example"]["span_id"] == "ab" * 8
        assert auth[0].to_dict()["example"]["trace_id"] == f"{7:032x}"
        assert "GOV-SEC-002" not in _checks(grade)  # graded once, by the worse check
        bad_grade, good_grade = grade.endpoint("GET", "/v1/users/{id}"), grade.endpoint("GET", "/v1/orders")
        assert bad_grade is not None and good_grade is not None and bad_grade.score < good_grade.score
        assert "GOV-SEC-001" in bad_grade.failed and bad_grade.grade == "D"

    def test_anonymous_login_is_not_a_deduction(self) -> None:
        """A login route answering without credentials is public by design; another route is not."""
        anonymous = {"auth_scheme": "none", "auth_outcome": "anonymous", "principal": None}
        login = _endpoint("/v1/login", "POST", (_call(1, **anonymous),))
        catalog = _endpoint("/v1/products", "GET", (_call(2, **anonymous),))
        grade = _grade(login, catalog)
        assert [d.endpoint for d in grade.deductions if d.check.id == "GOV-SEC-002"] == ["GET /v1/products"]

    def test_deductions_add_up_to_the_score(self) -> None:
        """Every point lost is a deduction: 100 - score is their sum (to the cut decimal)."""
        grade = _grade(_endpoint(calls=(_call(1, status=500, scheme="http", findings=(_SQLI, _CARD)),)),
                       _endpoint("/v1/orders", calls=(_call(2, duration_ms=4000.0, rate_limit_headers=False),)))
        lost = sum(d.points for d in grade.deductions)
        assert 0 <= (100 - grade.score) - lost < 0.1 + 1e-9
        assert [d.points for d in grade.deductions] == sorted((d.points for d in grade.deductions), reverse=True)

    def test_rule_deductions_name_rule_and_scale_with_severity(self) -> None:
        """An injection (bare kind `sqli`) is an attack; a low-severity posture fact costs a quarter of the weight."""
        grade = _grade(_endpoint(calls=(_call(1, findings=(_SQLI, _NO_HSTS), posture_checked=True),)), spec=True)
        by_id = {d.check.id: d for d in grade.deductions}
        assert by_id["GOV-SEC-004"].failure.rule == "APISEC-INJ-001" and by_id["GOV-SEC-004"].failure.factor == 1.0
        assert by_id["GOV-SEC-005"].failure.rule == "APISEC-POS-002" and by_id["GOV-SEC-005"].failure.factor == 0.25

    def test_har_entry_is_the_evidence_without_a_span(self) -> None:
        """Recorded traffic has no span: the deduction points at the HAR entry."""
        call = _call(1, scheme="http", trace_id="", span_id="", entry=42)
        deduction = next(d for d in _grade(_endpoint(calls=(call,))).deductions if d.check.id == "GOV-SEC-006")
        assert deduction.to_dict()["example"] == {"trace_id": "", "span_id": "", "entry": 42}


class TestCompliance:
    def test_card_numbers_in_responses_fail_pci_dss(self) -> None:
        """A card number in a response fails PCI DSS, listing that endpoint; HIPAA is not touched by it."""
        cards = _endpoint("/v1/payments/{id}", calls=(_call(1, findings=(_CARD,)),))
        grade = _grade(cards, _endpoint())
        pci = grade.compliance["PCI DSS"]
        assert pci.percent < 100
        assert pci.failing_endpoints == ["GET /v1/payments/{id}"]
        row = next(row for row in pci.to_dict()["checks"] if row["check"] == "GOV-DAT-001")
        assert (row["status"], row["endpoints"]) == ("fail", ["GET /v1/payments/{id}"])
        assert row["example"] == {"trace_id": f"{1:032x}", "span_id": f"{1:016x}", "entry": None}
        assert grade.compliance["HIPAA"].percent == 100.0
        deduction = next(d for d in grade.deductions if d.check.id == "GOV-DAT-001")
        assert deduction.failure.rule == "APISEC-PII-003" and deduction.failure.example is not None
        assert deduction.failure.example.span_id == f"{1:016x}"


    def test_checks_without_input_are_not_applicable(self) -> None:
        """Without a spec the drift checks neither pass nor fail PCI DSS: they do not count in its percentage."""
        pci = _grade(_endpoint()).compliance["PCI DSS"]
        statuses = {c.check.id: c.status for c in pci.checks}
        assert statuses["GOV-DES-002"] == statuses["GOV-DES-003"] == "not_applicable"
        assert statuses["GOV-SEC-001"] == "pass" and pci.percent == 100.0


class TestDesign:
    def test_spec_drift_deducts_only_with_a_spec(self) -> None:
        """Shadow, zombie and orphan endpoints cost design points when a spec exists, and nothing without one."""
        orphan = Endpoint("shop", "DELETE", "/v1/users/{id}", EndpointRecord("DELETE", "/v1/users/{id}", True),
                          "orphan")
        with_spec = _grade(_endpoint(spec_status="documented"), _endpoint("/v1/admin", spec_status="shadow"),
                           _endpoint("/v1/old", spec_status="zombie"), orphan, spec=True)
        assert {"GOV-DES-002", "GOV-DES-003", "GOV-DES-004"} <= _checks(with_spec)
        assert "GOV-DES-001" not in _checks(with_spec)
        shadow = next(d for d in with_spec.deductions if d.check.id == "GOV-DES-002")
        assert shadow.endpoint == "GET /v1/admin"

        without = _grade(_endpoint(), _endpoint("/v1/admin"), _endpoint("/v1/old"))
        assert not {"GOV-DES-002", "GOV-DES-003", "GOV-DES-004"} & _checks(without)

    def test_conventions(self) -> None:
        """Unversioned routes, singular collection names and non-JSON responses are design deductions."""
        grade = _grade(_endpoint("/user/{id}", calls=(_call(1, response_media_type="text/html"),)))
        assert {"GOV-DES-005", "GOV-DES-006", "GOV-DES-007"} <= _checks(grade)
        versioned = _grade(_endpoint("/items/{id}", calls=(_call(1, request_headers=(("x-api-version", "string"),)),)))
        assert not {"GOV-DES-005", "GOV-DES-006"} & _checks(versioned)


class TestBounds:
    def test_deterministic(self) -> None:
        """The same estate, with its endpoints in any order, gives the same document."""
        endpoints = [_endpoint(f"/v1/r{i}/{{id}}", calls=(_call(i, status=500 if i % 3 else 200, findings=(_SQLI,)
                                                                 if i % 2 else ()),)) for i in range(30)]
        first = assess(Estate(1.0, [ServiceEstate("shop", endpoints)])).to_dict()
        random.Random(7).shuffle(endpoints)
        again = assess(Estate(1.0, [ServiceEstate("shop", endpoints)])).to_dict()
        assert first == again

    def test_ten_thousand_endpoints_in_bounded_time(self) -> None:
        """10,000 endpoints are assessed well within a few seconds (linear in endpoints x checks)."""
        endpoints = [_endpoint(f"/v1/r{i}/{{id}}", calls=(_call(i, status=200 + (i % 2) * 300),)) for i in range(10_000)]
        estate = Estate(1.0, [ServiceEstate("shop", endpoints)])
        start = time.perf_counter()
        governance = assess(estate)
        elapsed = time.perf_counter() - start
        assert elapsed < 5.0
        grade = governance.service("shop")
        assert grade is not None and len(grade.endpoints) == 10_000


class TestDocument:
    def test_governance_document_shape(self) -> None:
        """`to_dict` is the GET /api/v1/governance document."""
        governance: Governance = assess(Estate(0.0, [ServiceEstate("shop", [_endpoint()])]))
        doc = governance.to_dict()
        assert doc["generated_at"] == "1970-01-01T00:00:00.000Z"
        service = doc["services"][0]
        assert {"service", "score", "grade", "categories", "deductions", "endpoints", "compliance"} <= set(service)
        assert set(service["categories"]) == set(CATEGORIES)
        assert set(service["compliance"]) == {"GDPR", "PCI DSS", "HIPAA", "CCPA"}
        assert service["endpoints"] == [{"method": "GET", "route": "/v1/users/{id}", "score": 100.0, "grade": "A",
                                         "failed": []}]
        assert {"check", "category", "weight", "points", "endpoint", "count", "example"} <= set(service["deductions"][0])
        assert [c["id"] for c in doc["checks"]] == [c.id for c in CHECKS]
