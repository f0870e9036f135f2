"""Token reuse: one bearer token (its keyed hash) presented from many client addresses or from
several countries within a window: a leaked or shared token. Mobile clients change address now
and then; the defaults leave room for that. Service tokens shared by many pods will fire: raise
`token_clients` for such deployments."""

from __future__ import annotations

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.base import TOKEN, client_of, fire, state_key
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rules.abuse import TOKEN_REUSE

__all__ = ["TokenReuse"]


class TokenReuse:
    name = correlator_name(TOKEN_REUSE)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        client = client_of(obs)
        if not obs.token or not client:
            return []
        cfg = self.config
        window = cfg.token_window_s
        subject = {TOKEN: obs.token}
        clients = store.distinct(state_key("tr.c", subject), client, obs.time_s, window)
        countries = store.distinct(state_key("tr.g", subject), obs.country, obs.time_s, window) if obs.country else 0
        if clients < cfg.token_clients and countries < cfg.token_countries:
            return []
        evidence: dict[str, float | int | str] = {"clients": clients, "client_threshold": cfg.token_clients}
        if obs.country:  # else this call did not update (or read) the country count
            evidence |= {"countries": countries, "country_threshold": cfg.token_countries}
        evidence["window_s"] = window
        spread = f"{clients} client addresses" + (f" in {countries} countries" if obs.country else "")
        return fire(store, cfg.cooldown_s, TOKEN_REUSE, obs, subject, evidence,
                    f"one token used from {spread} within {window:g} s")
