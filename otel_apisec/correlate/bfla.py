"""Broken function-level authorization: privileged functions called by someone who does not
normally call them.

A route is privileged when one of its path segments is in `bfla_privileged_segments` (`/admin`,
`/internal`, `/manage`, …) unless its last segment is a probe, metrics or login page, or (with
`bfla_collection_delete`) when it is a DELETE on a route without any parameter, which deletes a
whole collection (`DELETE /api/orders`).

Three signals, each explainable from the finding alone:

- outside the profile: each principal's first `bfla_learning_requests` requests (within
  `bfla_profile_s`) are its learning period; the privileged endpoints (method and route) it
  calls then form its profile. Afterwards, a privileged endpoint outside the profile fires
  once, then joins the profile (an admin starting to use a new function is reported once, not
  forever). Severity is high when the call succeeded (2xx), medium when it was refused.
- anonymous success: a privileged endpoint answered 2xx to a caller with no principal at all.
- learned privileged operation: for routes without a privileged segment, which kind of principal
  succeeds on each operation (service, method and route template) is learned. A principal is
  privileged when it is a configured administrator (`bola_admin_principals`, the list BOLA
  exempts) or had a 2xx on a privileged route within `bfla_operation_window_s`; BOLA's learned
  administrators (`bola_admin_privileged_successes` such successes within `bola_ownership_s`,
  shorter by default) are among these, so both rules share one notion of an administrator. An
  operation is privileged-only once at least `bfla_operation_privileged_principals` distinct
  privileged principals and `bfla_operation_successes` successes by them were seen on it, and no
  non-privileged principal succeeded on it within the window. A non-privileged principal then answered 2xx there fires
  (high). A refusal (401/403) is the API doing its job, not BFLA, and teaches nothing.

Findings are about the principal (its pseudonym is the subject): probing ten admin endpoints is
one alert per cooldown, whichever signal saw it first.

Limits:
- a principal whose learning period already contains the abuse (a fresh account used only for
  the attack) is learned as is; the anonymous signal and per-span auth findings still apply;
- a principal with one 2xx on a privileged route counts as privileged afterwards: a user who
  broke into `/admin/...` is reported there (outside its profile), not again on the operations
  admins alone use;
- a legitimate new feature opened to users looks like abuse at first: the first
  `bfla_operation_public_after` distinct non-privileged principals succeeding on a privileged-only
  operation are reported, then the operation is public (for the window, renewed by each such
  success) and nobody is reported on it. So an attacker who brings enough accounts is reported
  that many times, then no more;
- an operation used by non-privileged principals during learning is public until a window passes
  without such use.

State: marks for privileged principals, privileged-only and public operations, one count and one
distinct set of privileged principals per operation used by them, and a distinct set of
non-privileged principals per privileged-only operation; keys name principals by their pseudonyms
and operations by service, method and route template. Every entry expires
`bfla_operation_window_s` after its last evidence, the memory store's key cap bounds the total and
the Redis store keeps keyed hashes of keys and members only.
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


_PRIVILEGED = "bfla.pp"
"""Mark key: principals with a 2xx on a privileged route (member: the pseudonym)."""
_PRIVILEGED_ONLY = "bfla.po"
"""Mark key: operations learned privileged-only (member: the operation's state key)."""
_PUBLIC = "bfla.pub"
"""Mark key: operations a non-privileged principal succeeded on without being reported, or after
the reported ones: not privileged-only for a window."""


def is_parameter(segment: str) -> bool:
    """A route template parameter in any framework's spelling: `{id}`, `:id`, `<int:id>`, `*`."""
    return segment == ID_PLACEHOLDER or segment[:1] in ("{", ":", "<", "*")


class Bfla:
    name = correlator_name(BFLA)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config
        self._privileged = frozenset(config.bfla_privileged_segments)
        self._ignored = frozenset(config.bfla_ignored_segments)
        self._admins = frozenset(config.bola_admin_principals)
        self._learn = config.bfla_operation_privileged_principals > 0

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
            if self._learn and succeeded and not obs.is_login:
                return self._learned(obs, store, obs.principal, where)
            return []
        if self._learn and succeeded:
            store.mark(_PRIVILEGED, obs.principal, cfg.bfla_operation_window_s)
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

    def privileged_principal(self, store: StateStore, principal: str) -> bool:
        """A configured administrator, or a principal with a 2xx on a privileged route within the window."""
        return principal in self._admins or store.marked(_PRIVILEGED, principal)

    def _learned(self, obs: Observation, store: StateStore, principal: str,
                 where: dict[str, str]) -> list[CorrelationFinding]:
        """A 2xx by `principal` on an operation without a privileged segment: learn from a
        privileged principal, check a non-privileged one."""
        cfg = self.config
        window = cfg.bfla_operation_window_s
        operation = state_key("fn", where)
        if self.privileged_principal(store, principal):
            if store.marked(_PUBLIC, operation):
                return []
            admins = store.distinct("bfla.oa|" + operation, principal, obs.time_s, window)
            successes = store.count("bfla.os|" + operation, obs.time_s, window)
            if admins >= cfg.bfla_operation_privileged_principals and successes >= cfg.bfla_operation_successes:
                store.mark(_PRIVILEGED_ONLY, operation, window)
            return []
        if not store.marked(_PRIVILEGED_ONLY, operation) or store.marked(_PUBLIC, operation):
            store.mark(_PUBLIC, operation, window)
            return []
        callers = store.distinct("bfla.ou|" + operation, principal, obs.time_s, window)
        if callers > cfg.bfla_operation_public_after:
            store.mark(_PUBLIC, operation, window)
            return []
        return fire(
            store, cfg.cooldown_s, BFLA, obs, {PRINCIPAL: principal},
            {"signal": "learned_privileged_operation", "status": obs.status or 0,
             "privileged_successes": store.peek_count("bfla.os|" + operation, obs.time_s, window),
             "privileged_principals_required": cfg.bfla_operation_privileged_principals,
             "non_privileged_principals": callers, "public_after": cfg.bfla_operation_public_after,
             "window_s": window},
            f"{where[METHOD]} {where[ROUTE]}, an operation only privileged principals had succeeded on, answered "
            f"{obs.status} to a non-privileged principal",
        )
