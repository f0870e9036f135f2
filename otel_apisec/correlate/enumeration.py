"""Object enumeration, the traffic shape of BOLA attacks. Three signals per caller (the principal,
or the client address when anonymous):

- breadth: many distinct object IDs on one route within a window;
- walk: the last N numeric IDs on one route each differ from the previous by the same small
  step (`…/orders/1001`, `1002`, `1003`, …, or counting down);
- unlisted IDs: many IDs requested that no response had given this caller (it did not learn them
  from a listing, a search or a create: it guessed them).

When response bodies are captured (some response of this caller returned IDs), an ID a response
gave the caller counts for none of the three: fetching what you were shown is not enumeration.
Without captured bodies the unlisted signal stays silent and the other two count every ID.
Only the last ID of a path is checked against the known IDs (parent IDs are often the caller's
own account, known from its token). Listing endpoints (`/orders?page=3`) carry no ID in the path
and never count.
"""

from __future__ import annotations

import itertools

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.base import caller, endpoint, fire, state_key
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rules.abuse import ENUMERATION

__all__ = ["Enumeration", "constant_step"]

_CAPTURED = "*"
"""Member of the caller's known-ID set meaning "a response body of this caller was captured"
(never a normalized ID)."""
_MAX_WALK_DIGITS = 18
"""Numeric IDs longer than this are not walked (and stay exact as Python ints anyway)."""


def constant_step(values: list[str], max_step: int) -> int | None:
    """The common difference of a run of integers when it is non-zero and at most `max_step` in
    size, else None."""
    if len(values) < 2 or not all(v.isdigit() and len(v) <= _MAX_WALK_DIGITS for v in values):
        return None
    numbers = [int(v) for v in values]
    step = numbers[1] - numbers[0]
    if step == 0 or abs(step) > max_step:
        return None
    return step if all(b - a == step for a, b in itertools.pairwise(numbers)) else None


class Enumeration:
    name = correlator_name(ENUMERATION)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        who = caller(obs)
        if who is None:
            return []
        known_key = state_key("en.known", who)
        remember = self.config.nlid_response_ids
        findings: list[CorrelationFinding] = []
        captured = known = False
        if obs.object_ids:
            captured = bool(remember) and store.marked(known_key, _CAPTURED)
            # An ID a response gave this caller is never evidence of guessing (a sync job fetching
            # every item it listed walks IDs too).
            known = captured and store.marked(known_key, obs.object_ids[-1])
            if not known:
                findings += self._per_route(obs, store, who)
                if captured:
                    findings += self._unlisted(obs, store, who)
        # After the checks: a response returning the very ID requested does not excuse the request.
        if obs.response_ids and remember:
            ttl = self.config.nlid_memory_s
            store.mark(known_key, _CAPTURED, ttl)
            for object_id in obs.response_ids[:remember]:
                if not (known and object_id == obs.object_ids[-1]):  # already remembered
                    store.mark(known_key, object_id, ttl)
        return findings

    def _per_route(self, obs: Observation, store: StateStore, who: dict[str, str]) -> list[CorrelationFinding]:
        cfg = self.config
        subject = who | endpoint(obs, with_method=False)
        window = cfg.enumeration_window_s
        distinct_ids = store.distinct(state_key("en.d", subject), "/".join(obs.object_ids), obs.time_s, window)
        if distinct_ids >= cfg.enumeration_distinct_ids:
            return fire(
                store, cfg.cooldown_s, ENUMERATION, obs, subject,
                {"signal": "distinct_ids", "distinct_ids": distinct_ids,
                 "threshold": cfg.enumeration_distinct_ids, "window_s": window},
                f"{distinct_ids} distinct objects requested on one route in {window:g} s",
            )
        last = obs.object_ids[-1]
        if not last.isdigit():
            return []
        walk = store.recent(state_key("en.s", subject), last, cfg.sequential_length, window)
        step = constant_step(walk, cfg.sequential_max_step) if len(walk) >= cfg.sequential_length else None
        if step is None:
            return []
        return fire(
            store, cfg.cooldown_s, ENUMERATION, obs, subject,
            {"signal": "sequential_walk", "sequence_length": len(walk), "step": step,
             "threshold": cfg.sequential_length, "max_step": cfg.sequential_max_step},
            f"{len(walk)} object IDs requested in sequence (step {step}) on one route",
        )

    def _unlisted(self, obs: Observation, store: StateStore, who: dict[str, str]) -> list[CorrelationFinding]:
        cfg = self.config
        window = cfg.nlid_window_s
        unlisted = store.distinct(state_key("en.u", who), obs.object_ids[-1], obs.time_s, window)
        if unlisted < cfg.nlid_ids:
            return []
        return fire(
            store, cfg.cooldown_s, ENUMERATION, obs, dict(who),
            {"signal": "unlisted_ids", "unlisted_ids": unlisted, "threshold": cfg.nlid_ids, "window_s": window},
            f"{unlisted} object IDs requested that no response had returned to this caller, in {window:g} s",
        )
