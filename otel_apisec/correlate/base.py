"""What every correlator shares: who the caller is, which endpoint was called, and firing once.

Subjects use the attribute names the spans carry (`client.address`, `enduser.pseudo.id`,
`apisec.token.hash`, `http.route`), so a finding's subject can be looked up in the traces.
"""

from __future__ import annotations

import functools

from opentelemetry.semconv.attributes import client_attributes, http_attributes, service_attributes

from otel_apisec.attributes import ENDUSER_PSEUDO_ID, HTTP_ROUTE, TOKEN_HASH
from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.ids import route_template
from otel_apisec.detect.rule import Rule
from otel_apisec.model import Severity

__all__ = [
    "CLIENT",
    "METHOD",
    "NETWORK",
    "PRINCIPAL",
    "ROUTE",
    "SERVICE",
    "TOKEN",
    "Evidence",
    "caller",
    "client_of",
    "endpoint",
    "fire",
    "group_key",
    "is_failed_login",
    "method_of",
]

CLIENT = client_attributes.CLIENT_ADDRESS
PRINCIPAL = ENDUSER_PSEUDO_ID
TOKEN = TOKEN_HASH
ROUTE = HTTP_ROUTE
METHOD = http_attributes.HTTP_REQUEST_METHOD
SERVICE = service_attributes.SERVICE_NAME
NETWORK = "apisec.client.network"
"""The client's network (`203.0.113.0/24`), for findings about a group of addresses. A subject key
inside the gateway only: findings leave with `apisec.client.network.pseudo.id` (its keyed hash)
instead, as `client.address` leaves as `apisec.client.pseudo.id`."""

Evidence = dict[str, float | int | str]
_MAX_VALUE = 128
"""Subject values go into state keys and alerts; a longer one (a garbage client address) is cut."""
_MAX_METHOD = 16


def _bounded(text: str) -> str:
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE]


def client_of(obs: Observation) -> str | None:
    return _bounded(obs.client) if obs.client else None


def caller(obs: Observation) -> dict[str, str] | None:
    """Who made the call: the principal's keyed hash, else the client address (anonymous)."""
    if obs.principal:
        return {PRINCIPAL: _bounded(obs.principal)}
    client = client_of(obs)
    return {CLIENT: client} if client else None


def method_of(obs: Observation) -> str:
    return (obs.method or "GET")[:_MAX_METHOD].upper()


@functools.lru_cache(maxsize=8192)
def _endpoint(service: str, method: str | None, route: str) -> tuple[tuple[str, str], ...]:
    template = route_template(route)
    if method is None:
        return ((SERVICE, service), (ROUTE, template))
    return ((SERVICE, service), (METHOD, method), (ROUTE, template))


def endpoint(obs: Observation, with_method: bool = True) -> dict[str, str]:
    """Service, method and route template: the endpoint as a subject."""
    return dict(_endpoint(obs.service, method_of(obs) if with_method else None, obs.route or obs.path))


def state_key(prefix: str, subject: dict[str, str]) -> str:
    """A store key for `subject` under a correlator-private prefix. Subjects are built in one
    fixed field order in the code, so the values alone identify them."""
    return prefix + "|" + "|".join(subject.values())


def is_failed_login(obs: Observation) -> bool:
    """A login attempt that failed: the enrichment said so, or it did not know and the status is 401/403.
    A pending login (a second factor asked for, on a 401 or 403 too) never failed."""
    if not obs.is_login or obs.login_pending:
        return False
    if obs.login_succeeded is None:
        return obs.status in (401, 403)
    return not obs.login_succeeded


def fire(
    store: StateStore,
    cooldown_s: float,
    rule: Rule,
    obs: Observation,
    subject: dict[str, str],
    evidence: Evidence,
    message: str,
    severity: Severity | None = None,
) -> list[CorrelationFinding]:
    """The finding, if no replica claimed this rule and subject within the cooldown; else nothing."""
    key = group_key(rule.kind, subject)
    if not store.claim("claim|" + key, cooldown_s):
        return []
    return [CorrelationFinding(rule, obs, dict(subject), dict(evidence), message, severity, key)]


def group_key(kind: str, subject: dict[str, str]) -> str:
    """One incident's identity: the finding kind and its subject, in a fixed order."""
    return kind + "|" + "|".join(f"{name}={subject[name]}" for name in sorted(subject))
