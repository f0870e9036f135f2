"""Request-rate abuse: a sudden spike against the subject's own daily average, and sustained
high rates on endpoints that never rate-limit.

Rate spike (per client address and per endpoint, Treblle's approach): the last `spike_window_s`
(15 minutes) against the average window of the last `spike_baseline_s` (a day). The average is
taken over the hours the subject was active in that day, not all 24, so a client that only works
office hours, or one first seen this morning, is compared with its own working rhythm; a subject
needs `spike_min_active_hours` hours of history before it has a baseline at all, and
`spike_min_requests` in the recent window, so a quiet endpoint never fires on three requests.

No rate limit (per client and endpoint): `no_rate_limit_requests` within `no_rate_limit_window_s`
while no response of that endpoint in the last `rate_limit_memory_s` was a 429 or carried
rate-limit headers (`Observation.rate_limited`).
"""

from __future__ import annotations

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.base import CLIENT, client_of, endpoint, fire, state_key
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rules.abuse import NO_RATE_LIMIT, RATE_SPIKE

__all__ = ["NoRateLimit", "RateSpike"]

_HOUR = 3600.0


class RateSpike:
    name = correlator_name(RATE_SPIKE)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        subjects = [endpoint(obs)]
        client = client_of(obs)
        if client:
            subjects.append({CLIENT: client})
        findings: list[CorrelationFinding] = []
        for subject in subjects:
            findings += self._check(obs, store, subject)
        return findings

    def _check(self, obs: Observation, store: StateStore, subject: dict[str, str]) -> list[CorrelationFinding]:
        cfg = self.config
        now = obs.time_s
        key = state_key("rs", subject)
        recent = store.count(key + ".w", now, cfg.spike_window_s)
        daily = store.count(key + ".d", now, cfg.spike_baseline_s)
        hours = store.distinct(key + ".h", str(int(now // _HOUR)), now, cfg.spike_baseline_s)
        if recent < cfg.spike_min_requests or hours < cfg.spike_min_active_hours:
            return []
        earlier = daily - recent
        if earlier <= 0:
            return []  # nothing before the current window: no baseline yet
        # The windows of the active hours, less the current one, share the rest of the day's traffic.
        windows = max(hours * _HOUR / cfg.spike_window_s - 1, 1.0)
        average = earlier / windows
        if recent < cfg.spike_factor * average:
            return []
        ratio = round(recent / average, 1)
        return fire(
            store, cfg.cooldown_s, RATE_SPIKE, obs, subject,
            {"recent_requests": recent, "daily_requests": daily, "baseline_average": round(average, 2),
             "ratio": ratio, "active_hours": hours, "factor": cfg.spike_factor,
             "min_requests": cfg.spike_min_requests, "window_s": cfg.spike_window_s},
            f"{recent} requests in {cfg.spike_window_s:g} s, {ratio}x the average window of the last day",
        )


class NoRateLimit:
    name = correlator_name(NO_RATE_LIMIT)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        cfg = self.config
        where = endpoint(obs)
        limited_key = state_key("nrl.limited", where)
        if obs.rate_limited:
            store.mark(limited_key, "1", cfg.rate_limit_memory_s)
            return []
        client = client_of(obs)
        if not client:
            return []
        subject = {CLIENT: client} | where
        window = cfg.no_rate_limit_window_s
        requests = store.count(state_key("nrl", subject), obs.time_s, window)
        if requests < cfg.no_rate_limit_requests or store.marked(limited_key, "1"):
            return []
        return fire(
            store, cfg.cooldown_s, NO_RATE_LIMIT, obs, subject,
            {"requests": requests, "threshold": cfg.no_rate_limit_requests, "window_s": window,
             "rate_limit_seen": 0},
            f"{requests} requests from one client to one endpoint in {window:g} s with no 429 or rate-limit header",
        )
