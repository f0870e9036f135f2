"""Traffic cases for the cross-request rules (`abuse.*`): unlike the other families' `CASES`, which
are one exchange each for the `Analyzer`, an abuse rule fires on a sequence of calls, so these are
`TRAFFIC_CASES` (a different name: `tests/detect/test_rules.py` does not run them).
`tests/correlate/test_bfla.py` plays each through the correlators, on the memory store and on
Redis.

BFLA (APISEC-ABU-004), learned signal: an operation (method and route, no privileged segment) that
only privileged principals succeeded on, then answered 2xx to a non-privileged principal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from otel_apisec.correlate.api import Observation

__all__ = ["ADMINS", "T0", "TRAFFIC_CASES", "USERS", "TrafficCase", "admin_routine", "call"]

T0 = 1_767_254_400.0
ADMINS = ("a1" * 16, "a2" * 16, "a3" * 16)
"""Pseudonyms (32 hex digits, as the enrichment writes them)."""
USERS = ("b1" * 16, "b2" * 16, "b3" * 16, "b4" * 16, "b5" * 16)
BFLA_ID = "APISEC-ABU-004"


@dataclass(frozen=True)
class TrafficCase:
    rule_id: str
    fires: bool
    """True: the rule fires with `signal` as its evidence's signal; False: the rule does not fire."""
    description: str
    observations: tuple[Observation, ...]
    signal: str = ""
    culprit: str = ""
    """Positive cases: the principal the finding is about."""
    options: dict[str, Any] = field(default_factory=dict)
    """`CorrelationConfig` options besides the defaults."""


def call(t: float, who: str | None, method: str, route: str, status: int = 200, path: str | None = None,
         **kw: Any) -> Observation:
    return Observation(time_s=T0 + t, method=method, route=route, path=path or route.replace("{id}", "42"),
                       status=status, principal=who, client="198.51.100.9", service="shop-api",
                       auth_outcome="success" if who else "anonymous", **kw)


def admin_routine(method: str, route: str, admins: tuple[str, ...] = ADMINS[:2], each: int = 10,
                  start: float = 0.0, privileged_route: bool = True) -> list[Observation]:
    """Each admin opens the admin dashboard (a privileged route: it makes them privileged) and then
    succeeds `each` times on the operation."""
    calls: list[Observation] = []
    t = start
    for admin in admins:
        if privileged_route:
            calls.append(call(t, admin, "GET", "/admin/dashboard"))
        for _ in range(each):
            t += 1
            calls.append(call(t, admin, method, route))
    return calls


def _user_browses(who: str, t: float) -> list[Observation]:
    return [call(t, who, "GET", "/api/products"), call(t + 1, who, "GET", "/api/orders")]


_EXPORT = ("POST", "/api/reports/export")
_ROLE = ("PATCH", "/api/users/{id}/role")
_LEARNED = "learned_privileged_operation"

TRAFFIC_CASES: list[TrafficCase] = [
    TrafficCase(
        BFLA_ID, True, "user succeeds on an operation only admins used",
        (*_user_browses(USERS[0], 0), *admin_routine(*_EXPORT, start=10), call(100, USERS[0], *_EXPORT)),
        _LEARNED, USERS[0],
    ),
    TrafficCase(
        BFLA_ID, True, "user changes a role through a templated route only admins used",
        (*admin_routine(*_ROLE), *_user_browses(USERS[1], 50), call(100, USERS[1], *_ROLE, status=204)),
        _LEARNED, USERS[1],
    ),
    TrafficCase(
        BFLA_ID, True, "configured administrators teach the operation without any privileged route",
        (*admin_routine(*_EXPORT, privileged_route=False), call(100, USERS[0], *_EXPORT)),
        _LEARNED, USERS[0], {"bola_admin_principals": ADMINS[:2]},
    ),
    TrafficCase(
        BFLA_ID, False, "another admin calls an admin-only operation",
        (*admin_routine(*_EXPORT), call(100, ADMINS[2], "GET", "/admin/dashboard"), call(101, ADMINS[2], *_EXPORT)),
    ),
    TrafficCase(
        BFLA_ID, False, "operation used by normal users from the start",
        (call(0, USERS[0], *_EXPORT), *admin_routine(*_EXPORT, start=10), call(100, USERS[1], *_EXPORT)),
    ),
    TrafficCase(
        BFLA_ID, False, "non-admin refused with 403 is not a BFLA success",
        (*admin_routine(*_EXPORT), call(100, USERS[0], *_EXPORT, status=403),
         call(101, USERS[0], *_EXPORT, status=401)),
    ),
    TrafficCase(
        BFLA_ID, False, "one admin is not enough to call an operation privileged-only",
        (*admin_routine(*_EXPORT, admins=ADMINS[:1], each=30), call(100, USERS[0], *_EXPORT)),
    ),
    TrafficCase(
        BFLA_ID, False, "too few successes to call an operation privileged-only",
        (*admin_routine(*_EXPORT, each=5), call(100, USERS[0], *_EXPORT)),
    ),
    TrafficCase(
        BFLA_ID, False, "an anonymous 2xx on an operation without a privileged segment is not looked at",
        (*admin_routine(*_EXPORT), call(100, None, *_EXPORT)),
    ),
    TrafficCase(
        BFLA_ID, False, "learned signal turned off",
        (*admin_routine(*_EXPORT), call(100, USERS[0], *_EXPORT)),
        options={"bfla_operation_privileged_principals": 0},
    ),
    TrafficCase(
        BFLA_ID, False, "same route, other method: operations are per method",
        (*admin_routine(*_EXPORT), call(100, USERS[0], "GET", "/api/reports/export")),
    ),
]
