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


def test_routes_are_templates_and_absent_when_unknown() -> None:
    tally = SecurityTally()
    tally.finding("APISEC-ABU-001", "abuse.brute_force", "high", tally.route("/api/orders/4711"))
    tally.auth_outcome(tally.route(None), "anonymous", "none")
    (finding,) = tally.findings.snapshot()
    assert dict(finding)[A.HTTP_ROUTE] == "/api/orders/{id}"
    (outcome,) = tally.auth_outcomes.snapshot()
    assert A.HTTP_ROUTE not in dict(outcome)
