"""Error storms: one client collecting many 401/403/404/5xx responses (scanning, fuzzing,
credential or path guessing), and one endpoint answering many 5xx (to anyone: often malformed
input crashing a handler). Only error responses touch the store."""

from __future__ import annotations

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.base import CLIENT, client_of, endpoint, fire, state_key
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rules.abuse import ERROR_STORM

__all__ = ["ErrorStorm", "error_class"]

_CLASSES = ("401", "403", "404", "5xx")


def error_class(status: int | None) -> str | None:
    """`401`, `403`, `404` or `5xx` for the statuses an error storm counts, else None."""
    if status is None:
        return None
    if 500 <= status <= 599:
        return "5xx"
    return str(status) if status in (401, 403, 404) else None


class ErrorStorm:
    name = correlator_name(ERROR_STORM)

    def __init__(self, config: CorrelationConfig) -> None:
        self.config = config

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        cls = error_class(obs.status)
        if cls is None:
            return []
        cfg = self.config
        window = cfg.error_window_s
        now = obs.time_s
        findings: list[CorrelationFinding] = []
        client = client_of(obs)
        if client:
            subject = {CLIENT: client}
            store.count(state_key(f"es.{cls}", subject), now, window)
            errors = store.count(state_key("es", subject), now, window)
            if errors >= cfg.error_client_count:
                by_class = {f"status_{c}": store.peek_count(state_key(f"es.{c}", subject), now, window) for c in _CLASSES}
                findings += fire(
                    store, cfg.cooldown_s, ERROR_STORM, obs, subject,
                    {"signal": "client_errors", "errors": errors, **by_class,
                     "threshold": cfg.error_client_count, "window_s": window},
                    f"{errors} error responses (401/403/404/5xx) to one client in {window:g} s",
                )
        if cls == "5xx":
            where = endpoint(obs)
            errors = store.count(state_key("es.5xx", where), now, window)
            if errors >= cfg.error_route_5xx:
                findings += fire(
                    store, cfg.cooldown_s, ERROR_STORM, obs, where,
                    {"signal": "endpoint_5xx", "errors": errors, "threshold": cfg.error_route_5xx, "window_s": window},
                    f"{errors} server errors on one endpoint in {window:g} s",
                )
        return findings
