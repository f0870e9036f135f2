"""Runs every enabled correlator over each observation: `Correlation(config, store).observe(obs)`.

Never breaks the host: a store failure (`StateStoreError`, e.g. Redis down) skips the remaining
correlators for that observation (the next ones would wait on the same dead store) and a bug in
a correlator skips that correlator; both are counted (`store_errors`, `internal_errors`) and
logged, and the gateway carries on.
"""

from __future__ import annotations

import logging
import threading

from otel_apisec.correlate.api import CorrelationFinding, Correlator, Observation, StateStore, StateStoreError
from otel_apisec.correlate.bfla import Bfla
from otel_apisec.correlate.bola import Bola, PathPrincipal
from otel_apisec.correlate.brute_force import BruteForce, CredentialStuffing
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.enumeration import Enumeration
from otel_apisec.correlate.errors import ErrorStorm
from otel_apisec.correlate.rate import NoRateLimit, RateSpike
from otel_apisec.correlate.token_reuse import TokenReuse

__all__ = ["CORRELATOR_TYPES", "Correlation"]

_logger = logging.getLogger(__name__)

CORRELATOR_TYPES = {
    cls.name: cls
    for cls in (BruteForce, CredentialStuffing, Enumeration, Bfla, RateSpike, NoRateLimit, ErrorStorm, TokenReuse,
                Bola, PathPrincipal)
}
"""Correlator classes by name (the names `CorrelationConfig.correlators` accepts)."""
_KEYED = frozenset({Bola.name, PathPrincipal.name})
"""Correlators that take the deployment's pseudonym key (object hashes, principal names in paths)."""


class Correlation:
    """All enabled correlators over one shared store. Thread-safe when the store is."""

    def __init__(self, config: CorrelationConfig, store: StateStore, hmac_key: bytes = b"") -> None:
        """`hmac_key`: the deployment's pseudonym key, the one enrichment hashed principals with.
        The BOLA correlators hash object IDs in their evidence with it and, only when it is given,
        recognise a path parameter that is a principal's name; empty: a random key per process."""
        self.config = config
        self.store = store
        self.correlators: tuple[Correlator, ...] = tuple(
            CORRELATOR_TYPES[name](config, hmac_key) if name in _KEYED else CORRELATOR_TYPES[name](config)  # type: ignore[call-arg]
            for name in config.correlators
        )
        self.store_errors = 0
        """Observations whose correlation stopped because the store did not answer."""
        self.internal_errors = 0
        """Correlator runs that raised something other than a store error (a bug)."""
        self._lock = threading.Lock()
        self._store_failing = False
        self._failed_correlators: set[str] = set()

    def observe(self, obs: Observation) -> list[CorrelationFinding]:
        findings: list[CorrelationFinding] = []
        for correlator in self.correlators:
            try:
                findings += correlator.observe(obs, self.store)
            except StateStoreError as error:
                self._store_failed(correlator.name, error)
                return findings
            except Exception:
                with self._lock:
                    self.internal_errors += 1
                    first = correlator.name not in self._failed_correlators
                    self._failed_correlators.add(correlator.name)
                # The traceback once per correlator: a bug hit on every call must not flood the log.
                _logger.log(logging.WARNING if first else logging.DEBUG, "correlator %s failed; skipped for this call",
                            correlator.name, exc_info=first)
        if self._store_failing:
            self._store_failing = False
            _logger.warning("correlation state store answers again")
        return findings

    def _store_failed(self, name: str, error: StateStoreError) -> None:
        with self._lock:
            self.store_errors += 1
            first = not self._store_failing
            self._store_failing = True
        # One warning per outage, not one per request.
        _logger.log(logging.WARNING if first else logging.DEBUG,
                    "correlation state store failed in %s (%s); correlation skipped until it answers", name, error)
