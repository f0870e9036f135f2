"""Broken function-level authorization: privileged functions called by someone who does not
normally call them.

A route is privileged when one of its path segments is in `bfla_privileged_segments` (`/admin`,
`/internal`, `/manage`, …) unless its last segment is a probe, metrics or login page, or (with
`bfla_collection_delete`) when it is a DELETE on a route without any parameter, which deletes a
whole collection (`DELETE /api/orders`).

Two signals, both explainable from the finding alone:

- outside the profile: each principal's first `bfla_learning_requests` requests (within
  `bfla_profile_s`) are its learning period; the privileged endpoints (method and route) it
  calls then form its profile. Afterwards, a privileged endpoint outside the profile fires
  once, then joins the profile (an admin starting to use a new function is reported once, not
  forever). Severity is high when the call succeeded (2xx), medium when it was refused.
- anonymous success: a privileged endpoint answered 2xx to a caller with no principal at all.

Limit: a principal whose learning period already contains the abuse (a fresh account used only
for the attack) is learned as is; the anonymous signal and per-span auth findings still apply.
"""

from __future__ import annotations

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.base import METHOD, PRINCIPAL, ROUTE, endpoint, fire, state_key
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.ids import ID_PLACEHOLDER
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rules.abuse import BFLA
from otel_apisec.model import Severity

__all__ = ["Bfla", "is_parameter"]


def is_parameter(segment: str) -> bool:
    """A route template parameter in any framework's spelling: `{id}`, `:id`, `<int:id>`, `*`."""
    return segment == ID_PLACEHOLDER or segment[:1] in ("{", ":", "<", "*")


class Bfla:
    name = correlator_name(BFLA)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config
        self._privileged = frozenset(config.bfla_privileged_segments)
        self._ignored = frozenset(config.bfla_ignored_segments)

    def is_privileged(self, method: str, route: str) -> bool:
        segments = [s.lower() for s in route.split("/") if s]
        if not segments:
            return False
        if self._privileged.intersection(segments) and segments[-1] not in self._ignored:
            return True
        return self.config.bfla_collection_delete and method == "DELETE" and not any(map(is_parameter, segments))

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        cfg = self.config
        where = endpoint(obs)
        privileged = self.is_privileged(where[METHOD], where[ROUTE])
        succeeded = obs.status is not None and 200 <= obs.status < 300
        if not obs.principal:
            if not (privileged and succeeded and obs.auth_outcome == "anonymous" and not obs.is_login):
                return []
            # The endpoint is the incident (it lacks an authorization check), whoever found it.
            return fire(
                store, cfg.cooldown_s, BFLA, obs, where,
                {"signal": "anonymous_success", "status": obs.status or 0},
                f"privileged endpoint {where[METHOD]} {where[ROUTE]} answered {obs.status} to an anonymous caller",
            )
        who = {PRINCIPAL: obs.principal}
        requests = store.count(state_key("bfla.n", who), obs.time_s, cfg.bfla_profile_s)
        if not privileged:
            return []
        profile = state_key("bfla.p", who)
        function = state_key("fn", where)
        if requests <= cfg.bfla_learning_requests:
            store.mark(profile, function, cfg.bfla_profile_s)
            return []
        if store.marked(profile, function):
            return []
        store.mark(profile, function, cfg.bfla_profile_s)
        # The principal is the incident: probing ten admin endpoints is one alert, not ten.
        return fire(
            store, cfg.cooldown_s, BFLA, obs, who,
            {"signal": "outside_profile", "status": obs.status or 0, "requests_seen": requests,
             "learning_requests": cfg.bfla_learning_requests, "profile_window_s": cfg.bfla_profile_s},
            f"privileged endpoint {where[METHOD]} {where[ROUTE]} called outside the caller's learned profile",
            severity=None if succeeded else Severity.MEDIUM,
        )
