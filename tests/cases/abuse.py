"""Traffic cases for the cross-request rules (`abuse.*`): unlike the other families' `CASES`, which
are one exchange each for the `Analyzer`, an abuse rule fires on a sequence of calls, so these are
`TRAFFIC_CASES` (a different name: `tests/detect/test_rules.py` does not run them).
`tests/correlate/test_traffic_cases.py` plays each through the real `Correlation` engine with only
its rule's correlator enabled, on the memory store and on Redis (the same findings), and checks
that the rules of the `bola`, `path_principal` and `bfla` correlators each have a firing and a
non-firing case.

- BOLA (APISEC-ABU-009): an object a principal created or was listed is then answered 2xx to
  another principal; the owner, refusals, anonymous callers, administrators (configured or
  learned), shared collections and objects nobody was given are quiet.
- Path principal (APISEC-ABU-010): a route parameter names another principal (its keyed hash is
  that principal's pseudonym, or a login's response returned it as their ID) on a write, or on a
  read that returned data.
- BFLA (APISEC-ABU-004), learned signal: an operation (method and route, no privileged segment)
  that only privileged principals succeeded on, then answered 2xx to a non-privileged principal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from otel_apisec.correlate.api import Observation
from otel_apisec.pseudonym import keyed_hash

__all__ = [
    "ADMINS", "ALICE", "BOB", "KEY", "T0", "TRAFFIC_CASES", "USERS", "TrafficCase", "admin_routine", "call", "created",
    "item", "listed",
]

T0 = 1_767_254_400.0
KEY = b"k" * 32
"""The deployment's pseudonym key: the runner gives it to `Correlation`, and `ALICE` and `BOB` are
the keyed hashes of their names under it (so a path naming `alice` names `ALICE`)."""
ADMINS = ("a1" * 16, "a2" * 16, "a3" * 16)
"""Pseudonyms (32 hex digits, as the enrichment writes them)."""
USERS = ("b1" * 16, "b2" * 16, "b3" * 16, "b4" * 16, "b5" * 16)
ALICE = keyed_hash(KEY, "alice")
BOB = keyed_hash(KEY, "bob")
BFLA_ID = "APISEC-ABU-004"
BOLA_ID = "APISEC-ABU-009"
PATH_PRINCIPAL_ID = "APISEC-ABU-010"


@dataclass(frozen=True)
class TrafficCase:
    rule_id: str
    fires: bool
    """True: the rule fires once, on `culprit`; False: the rule does not fire."""
    description: str
    observations: tuple[Observation, ...]
    signal: str = ""
    """Positive cases of rules with several signals (BFLA): the finding's evidence `signal`."""
    culprit: str = ""
    """Positive cases: the principal the finding is about."""
    options: dict[str, Any] = field(default_factory=dict)
    """`CorrelationConfig` options besides the defaults."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """Positive cases: fields the finding's evidence holds, with these values (besides `signal`)."""


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


def created(t: float, who: str, order: str) -> Observation:
    """`who` creates an order: the 201's body (or `Location`) gives its ID."""
    return call(t, who, "POST", "/api/orders", 201, resource_ids=(order,))


def listed(t: float, who: str, *orders: str) -> Observation:
    """A listing of orders returned to `who`."""
    return call(t, who, "GET", "/api/orders", resource_ids=orders)


def item(t: float, who: str | None, order: str, method: str = "GET", status: int = 200) -> Observation:
    """`who` calls an order's item route."""
    return call(t, who, method, "/api/orders/{id}", status, path=f"/api/orders/{order}", object_ids=(order,))


def _user_browses(who: str, t: float) -> list[Observation]:
    return [call(t, who, "GET", "/api/products"), call(t + 1, who, "GET", "/api/orders")]


def _admin_pages(who: str, n: int, start: float = 10.0) -> list[Observation]:
    """`n` successful calls to a privileged route (the BOLA rules learn administrators from them)."""
    return [call(start + i, who, "GET", "/admin/users") for i in range(n)]


def _user(t: float, who: str | None, method: str, name: str, tail: str = "", status: int = 200) -> Observation:
    """`who` calls a user's route that names the user (`/api/users/{name}...`)."""
    return call(t, who, method, "/api/users/{name}" + tail, status, path=f"/api/users/{name}{tail}")


_EXPORT = ("POST", "/api/reports/export")
_ROLE = ("PATCH", "/api/users/{id}/role")
_LEARNED = "learned_privileged_operation"
_ORDER = "1001"
_UUID_ORDER = "00000000-0000-0000-0000-000000000007"
_ALICE_SEEN = _user(0, ALICE, "GET", "alice")
"""Alice reads her profile: her pseudonym is now a principal seen authenticated."""
_PASSWORD = "/password"
_ALICE_LOGIN = call(0, ALICE, "POST", "/api/login", is_login=True, login_succeeded=True, response_ids=("42",))
"""Alice's login answered `{"user_id": 42}`: 42 is her ID."""


def _password(t: float, who: str | None, name: str, status: int = 204) -> Observation:
    return _user(t, who, "PUT", name, _PASSWORD, status)


def _by_id(t: float, who: str) -> Observation:
    """`who` changes the password of user 42 by ID."""
    return call(t, who, "PUT", "/api/users/{id}/password")


_BOLA_CASES = [
    TrafficCase(
        BOLA_ID, True, "another principal reads an order its owner created",
        (created(0, ALICE, _ORDER), item(1, ALICE, _ORDER), item(2, BOB, _ORDER)), culprit=BOB,
        evidence={"owner_principal": ALICE, "ownership": "created", "object": keyed_hash(KEY, _ORDER),
                  "collection": "/api/orders", "status": 200},
    ),
    TrafficCase(
        BOLA_ID, True, "another principal changes it",
        (created(0, ALICE, _ORDER), item(1, BOB, _ORDER, "PUT")), culprit=BOB,
        evidence={"owner_principal": ALICE, "ownership": "created"},
    ),
    TrafficCase(
        BOLA_ID, True, "another principal deletes it",
        (created(0, ALICE, _ORDER), item(1, BOB, _ORDER, "DELETE", 204)), culprit=BOB, evidence={"status": 204},
    ),
    TrafficCase(
        BOLA_ID, True, "a listing learns ownership",
        (listed(0, ALICE, "1001", "1002"), item(1, ALICE, "1002"), item(2, BOB, "1002")), culprit=BOB,
        evidence={"owner_principal": ALICE, "ownership": "listed", "object": keyed_hash(KEY, "1002")},
    ),
    TrafficCase(
        BOLA_ID, True, "a create answered with a UUID (as a Location header gives it)",
        (created(0, ALICE, _UUID_ORDER), item(1, BOB, _UUID_ORDER)), culprit=BOB,
        evidence={"object": keyed_hash(KEY, _UUID_ORDER)},
    ),
    TrafficCase(
        BOLA_ID, True, "one privileged call does not make an administrator",
        (created(0, ALICE, _ORDER), *_admin_pages(ADMINS[0], 1), item(20, ADMINS[0], _ORDER)), culprit=ADMINS[0],
    ),
    TrafficCase(
        BOLA_ID, True, "administrator learning turned off",
        (created(0, ALICE, _ORDER), *_admin_pages(ADMINS[0], 5), item(20, ADMINS[0], _ORDER)), culprit=ADMINS[0],
        options={"bola_admin_privileged_successes": 0},
    ),
    TrafficCase(
        BOLA_ID, False, "the owner reads and updates its own order",
        (created(0, ALICE, _ORDER), item(1, ALICE, _ORDER), item(2, ALICE, _ORDER, "PUT")),
    ),
    TrafficCase(
        BOLA_ID, False, "refused access (403, 404) is authorization working",
        (created(0, ALICE, _ORDER), item(1, BOB, _ORDER, status=403), item(2, BOB, _ORDER, status=404)),
    ),
    TrafficCase(
        BOLA_ID, False, "an anonymous caller is the auth detector's job",
        (created(0, ALICE, _ORDER), item(1, None, _ORDER)),
    ),
    TrafficCase(
        BOLA_ID, False, "a configured administrator is exempt",
        (created(0, ALICE, _ORDER), item(1, ADMINS[0], _ORDER)), options={"bola_admin_principals": ADMINS[:1]},
    ),
    TrafficCase(
        BOLA_ID, False, "a learned administrator (five privileged calls) is exempt",
        (created(0, ALICE, _ORDER), *_admin_pages(ADMINS[0], 5), item(20, ADMINS[0], _ORDER)),
    ),
    TrafficCase(
        BOLA_ID, False, "a collection listed to two principals is shared: nobody owns its items",
        (listed(0, ALICE, "5", "6"), listed(1, BOB, "5", "6"), item(2, BOB, "5"), item(3, ALICE, "6"),
         item(4, ADMINS[0], "5")),
    ),
    TrafficCase(
        BOLA_ID, False, "the first toucher does not own an object nobody created or listed",
        (item(0, ALICE, "77"), item(1, BOB, "77")),
    ),
]

_PATH_PRINCIPAL_CASES = [
    TrafficCase(
        PATH_PRINCIPAL_ID, True, "the path names another principal on a write (a password change)",
        (_ALICE_SEEN, _password(1, BOB, "alice")), culprit=BOB,
        evidence={"named_principal": ALICE, "ownership": "pseudonym", "parameter": 0, "status": 204},
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, True, "the name in another case still names the principal",
        (_ALICE_SEEN, _password(1, BOB, "ALICE")), culprit=BOB, evidence={"named_principal": ALICE},
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, True, "a delete of another principal's account",
        (_ALICE_SEEN, _user(1, BOB, "DELETE", "alice", status=204)), culprit=BOB,
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, True, "a read of another principal's profile that returned data",
        (_ALICE_SEEN, _user(1, BOB, "GET", "alice")), culprit=BOB, evidence={"named_principal": ALICE, "status": 200},
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, True, "the ID a login response returned is the account's identity",
        (_ALICE_LOGIN, _by_id(1, ALICE), _by_id(2, BOB)), culprit=BOB,
        evidence={"named_principal": ALICE, "ownership": "login_response"},
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "the caller's own name (any case) is quiet",
        (_ALICE_SEEN, _password(1, ALICE, "ALICE"), _user(2, ALICE, "GET", "alice")),
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "a name of nobody seen authenticated names nobody",
        (_ALICE_SEEN, _user(1, BOB, "GET", "carol"), _password(2, BOB, "carol")),
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "a read without data and a refused write are quiet",
        (_ALICE_SEEN, _user(1, BOB, "GET", "alice", status=204), _user(2, BOB, "PUT", "alice", status=403)),
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "an anonymous caller is the auth detector's job",
        (_ALICE_SEEN, _password(1, None, "alice")),
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "a configured administrator is exempt",
        (_ALICE_SEEN, _password(1, ADMINS[0], "alice")), options={"bola_admin_principals": ADMINS[:1]},
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "a learned administrator (five privileged calls) is exempt",
        (_ALICE_SEEN, *_admin_pages(ADMINS[0], 5), _password(20, ADMINS[0], "alice")),
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "the owner of the ID a login returned changes its own password",
        (_ALICE_LOGIN, _by_id(1, ALICE)),
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "a failed login's response teaches no identity",
        (call(0, ALICE, "POST", "/api/login", is_login=True, login_succeeded=False, response_ids=("42",)),
         _by_id(1, BOB)),
    ),
    TrafficCase(
        PATH_PRINCIPAL_ID, False, "an ID two principals' logins returned is shared and names nobody",
        (_ALICE_LOGIN, call(1, USERS[0], "POST", "/api/login", is_login=True, login_succeeded=True,
                            response_ids=("42",)), _by_id(2, BOB)),
    ),
]

_BFLA_CASES = [
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

TRAFFIC_CASES: list[TrafficCase] = [*_BOLA_CASES, *_PATH_PRINCIPAL_CASES, *_BFLA_CASES]
