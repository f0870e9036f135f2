"""The counts behind the security metrics, in-process and in the gateway."""

from __future__ import annotations

from otel_apisec import attributes as A
from otel_apisec.gateway.security_metrics import SecurityTally
from otel_apisec.sdk.telemetry import OTHER_ROUTE, Tally


def test_series_past_the_cap_count_under_route_other() -> None:
    tally = Tally(max_series=2)
    tally.add([((A.HTTP_ROUTE, f"/r{i}"), (A.AUTH_OUTCOME, "failure")) for i in range(5)])
    tally.add([((A.HTTP_ROUTE, "/r0"), (A.AUTH_OUTCOME, "failure"))])  # a kept series still counts as itself
    assert tally.snapshot() == {
        ((A.HTTP_ROUTE, "/r0"), (A.AUTH_OUTCOME, "failure")): 2,
        ((A.HTTP_ROUTE, "/r1"), (A.AUTH_OUTCOME, "failure")): 1,
        ((A.HTTP_ROUTE, OTHER_ROUTE), (A.AUTH_OUTCOME, "failure")): 3,
    }


def test_services_past_the_cap_count_under_service_other_too() -> None:
    """A flood of service names (senders choose them) is bounded like one of routes: past the cap
    both count as `_other`, so new series are at most one per combination of the other attributes."""
    tally = Tally(max_series=2)
    tally.add([((A.SERVICE, f"svc-{i}"), (A.AUTH_OUTCOME, "failure")) for i in range(50)])
    tally.add([((A.SERVICE, f"svc-{i}"), (A.HTTP_ROUTE, f"/r{i}"), (A.AUTH_OUTCOME, "failure")) for i in range(50)])
    assert tally.snapshot() == {
        ((A.SERVICE, "svc-0"), (A.AUTH_OUTCOME, "failure")): 1,
        ((A.SERVICE, "svc-1"), (A.AUTH_OUTCOME, "failure")): 1,
        ((A.SERVICE, OTHER_ROUTE), (A.AUTH_OUTCOME, "failure")): 48,
        ((A.SERVICE, OTHER_ROUTE), (A.HTTP_ROUTE, OTHER_ROUTE), (A.AUTH_OUTCOME, "failure")): 50,
    }


def test_services_and_routes_are_absent_when_unknown_and_routes_are_templates() -> None:
    tally = SecurityTally()
    tally.finding("APISEC-ABU-001", "abuse.brute_force", "high", tally.where("shop", "/api/orders/4711"))
    tally.auth_outcome(tally.where("", None), "anonymous", "none")
    (finding,) = tally.findings.snapshot()
    assert dict(finding)[A.HTTP_ROUTE] == "/api/orders/{id}"
    assert dict(finding)[A.SERVICE] == "shop"
    (outcome,) = tally.auth_outcomes.snapshot()
    assert A.HTTP_ROUTE not in dict(outcome) and A.SERVICE not in dict(outcome)
