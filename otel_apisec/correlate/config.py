"""Every threshold and window of the correlators, with its default and its meaning: the one place.

A threshold is the count at which a finding fires ("fires when the count reaches N"). Windows
are sliding, in seconds of observation time (`Observation.time_s`). The help text of each field
(`CorrelationConfig.describe()`) feeds the gateway's option table and the README.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rules.abuse import ALL_RULES

__all__ = ["CORRELATOR_NAMES", "CorrelationConfig"]

CORRELATOR_NAMES = tuple(correlator_name(rule) for rule in ALL_RULES)
"""Each correlator's name: its finding kind without the `abuse.` prefix."""

_DAY = 86_400.0
_MAY_BE_ZERO = frozenset({"nlid_response_ids", "bola_admin_privileged_successes",
                          "bfla_operation_privileged_principals"})
_PSEUDONYM_LISTS = frozenset({"bola_admin_principals"})
"""List options holding principal pseudonyms (keyed hashes), not path segments."""


def _opt(default: Any, help: str) -> Any:
    if isinstance(default, tuple):
        return field(default_factory=lambda: default, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class CorrelationConfig:
    """Thresholds and windows of the cross-request correlators. Defaults are tuned to stay quiet
    on ordinary traffic (see `bench/correlation_eval.py`); lower them for a small, quiet API."""

    correlators: tuple[str, ...] = _opt(CORRELATOR_NAMES, "correlators to run")
    cooldown_s: float = _opt(900.0, "a finding fires once per rule and subject per cooldown (wall-clock)")

    brute_force_window_s: float = _opt(600.0, "window over which failed logins are counted")
    brute_force_client_failures: int = _opt(20, "failed logins from one client address that fire")
    brute_force_account_failures: int = _opt(10, "failed logins against one account (any client) that fire")

    stuffing_window_s: float = _opt(900.0, "window over which distinct accounts with a failed login are counted")
    stuffing_client_accounts: int = _opt(10, "distinct accounts failing from one client address that fire")
    stuffing_network_accounts: int = _opt(25, "distinct accounts failing from one network (see the prefixes) that fire")
    stuffing_ipv4_prefix: int = _opt(24, "IPv4 prefix length grouping clients into one network")
    stuffing_ipv6_prefix: int = _opt(64, "IPv6 prefix length grouping clients into one network")

    enumeration_window_s: float = _opt(600.0, "window over which object IDs per caller and route are counted")
    enumeration_distinct_ids: int = _opt(100, "distinct object IDs one caller touched on one route that fire")
    sequential_length: int = _opt(20, "numeric IDs in a row, each a constant small step from the last, that fire")
    sequential_max_step: int = _opt(10, "largest step between IDs that still counts as a walk")
    nlid_ids: int = _opt(20, "distinct IDs used before any response gave them to the caller that fire")
    nlid_window_s: float = _opt(600.0, "window over which such unlisted IDs are counted")
    nlid_memory_s: float = _opt(3600.0, "how long an ID a response returned stays known to the caller (wall-clock); "
                                "these marks are most of the correlation state, one per ID")
    nlid_response_ids: int = _opt(128, "IDs of one response remembered for its caller, one store write each; "
                                  "0 turns the unlisted-ID signal and the known-ID exemption off")

    bfla_privileged_segments: tuple[str, ...] = _opt(
        ("admin", "administrator", "admins", "internal", "manage", "management", "mgmt", "superuser", "sudo",
         "staff", "backoffice", "debug", "actuator", "console"),
        "a route with one of these path segments (case-insensitive) is privileged",
    )
    bfla_ignored_segments: tuple[str, ...] = _opt(
        ("health", "healthz", "livez", "readyz", "ready", "live", "ping", "status", "metrics", "login", "logout"),
        "a privileged route whose last segment is one of these is not (probes, metrics, login pages)",
    )
    bfla_collection_delete: bool = _opt(
        True, "a DELETE on a route without any parameter (a whole collection: `DELETE /api/orders`) is privileged"
    )
    bfla_learning_requests: int = _opt(100, "a principal's first N requests (within the profile window) form its profile")
    bfla_profile_s: float = _opt(7 * _DAY, "window of the learning count, and lifetime of a profile entry (wall-clock)")
    bfla_operation_privileged_principals: int = _opt(
        2, "distinct privileged principals (bola_admin_principals, or a 2xx on a privileged route) that must succeed "
        "on an operation (method and route) no one else succeeds on before it counts as privileged-only; 0 turns "
        "this learned signal off")
    bfla_operation_successes: int = _opt(
        20, "successful calls by privileged principals an operation needs before it counts as privileged-only")
    bfla_operation_public_after: int = _opt(
        3, "distinct non-privileged principals reported succeeding on a privileged-only operation; the next one "
        "makes it public (a feature opened to users) and it is no longer reported")
    bfla_operation_window_s: float = _opt(
        7 * _DAY, "window of the operation counts above, and how long a principal stays privileged and an "
        "operation privileged-only or public after the last evidence (wall-clock)")

    bola_ownership_s: float = _opt(_DAY, "how long an object's owner (learned from a create or a listing) and a "
                                   "principal's identity are remembered after the last evidence (wall-clock)")
    bola_listing_ids: int = _opt(64, "objects of one create or listing response recorded as the caller's, a few store "
                                 "operations each")
    bola_admin_principals: tuple[str, ...] = _opt((), "principal pseudonyms (`enduser.pseudo.id`) exempt from the "
                                                  "BOLA rules: administrators and support accounts")
    bola_admin_privileged_successes: int = _opt(
        5, "a principal with this many successful calls to privileged routes (see bfla_privileged_segments) within "
        "bola_ownership_s counts as an administrator, exempt from the BOLA rules; 0 turns this learning off")

    spike_window_s: float = _opt(900.0, "the recent window compared with the baseline (15 minutes)")
    spike_baseline_s: float = _opt(_DAY, "the baseline period (a day)")
    spike_factor: float = _opt(10.0, "the recent window must hold this many times the average window of the baseline")
    spike_min_requests: int = _opt(300, "fewest requests in the recent window that can be a spike")
    spike_min_active_hours: int = _opt(3, "hours of the baseline period the subject must have been active in")

    no_rate_limit_window_s: float = _opt(60.0, "window over which requests per client and endpoint are counted")
    no_rate_limit_requests: int = _opt(120, "requests from one client to one endpoint, with no rate limiting seen, that fire")
    rate_limit_memory_s: float = _opt(_DAY, "how long a 429 or rate-limit header marks an endpoint as rate limited (wall-clock)")

    error_window_s: float = _opt(300.0, "window over which error responses are counted")
    error_client_count: int = _opt(50, "401/403/404/5xx responses to one client that fire")
    error_route_5xx: int = _opt(25, "5xx responses on one endpoint (all clients) that fire")

    token_window_s: float = _opt(3600.0, "window over which a token's client addresses and countries are counted")
    token_clients: int = _opt(10, "distinct client addresses using one token that fire")
    token_countries: int = _opt(3, "distinct countries using one token that fire")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(f.default, bool) or f.type == "bool":
                _require(isinstance(value, bool), f.name, value, "must be true or false")
            elif f.type == "int":
                _require(isinstance(value, int) and not isinstance(value, bool), f.name, value, "must be an integer")
                lowest = 0 if f.name in _MAY_BE_ZERO else 1
                _require(value >= lowest, f.name, value, f"must be at least {lowest}")
            elif f.type == "float":
                _require(isinstance(value, (int, float)) and not isinstance(value, bool), f.name, value,
                         "must be a number")
                _require(0 < value < math.inf, f.name, value, "must be a finite number greater than 0")
            else:
                _require(isinstance(value, tuple) and all(isinstance(v, str) and v for v in value), f.name, value,
                         "must be a list of non-empty strings")
                if f.name not in _PSEUDONYM_LISTS:
                    _require(all("/" not in v for v in value), f.name, value, "holds path segments, without '/'")
        unknown = sorted(set(self.correlators) - set(CORRELATOR_NAMES))
        _require(not unknown, "correlators", unknown, f"names unknown correlators (known: {', '.join(CORRELATOR_NAMES)})")
        _require(self.spike_factor > 1, "spike_factor", self.spike_factor, "must be greater than 1")
        _require(self.spike_window_s < self.spike_baseline_s, "spike_window_s", self.spike_window_s,
                 f"must be shorter than spike_baseline_s ({self.spike_baseline_s})")
        _require(self.spike_min_active_hours <= self.spike_baseline_s / 3600, "spike_min_active_hours",
                 self.spike_min_active_hours, "cannot exceed the hours of spike_baseline_s")
        _require(self.sequential_length >= 3, "sequential_length", self.sequential_length,
                 "must be at least 3 (two IDs always have a constant step)")
        _require(8 <= self.stuffing_ipv4_prefix <= 32, "stuffing_ipv4_prefix", self.stuffing_ipv4_prefix,
                 "must be between 8 and 32")
        _require(16 <= self.stuffing_ipv6_prefix <= 128, "stuffing_ipv6_prefix", self.stuffing_ipv6_prefix,
                 "must be between 16 and 128")
        # Segments are matched lower-cased.
        for name in ("bfla_privileged_segments", "bfla_ignored_segments"):
            object.__setattr__(self, name, tuple(v.lower() for v in getattr(self, name)))

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> CorrelationConfig:
        """A config from parsed YAML/JSON options: unknown keys and bad values raise `ValueError`
        naming the key. Lists become tuples."""
        if not isinstance(options, Mapping):
            raise ValueError(f"correlation config must be a mapping of option names to values, got {type(options).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"correlation config: unknown option {unknown[0]!r} (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str]]:
        """(name, default, help) of every option, in declaration order: for option tables and docs."""
        defaults = cls()
        return [(f.name, getattr(defaults, f.name), f.metadata["help"]) for f in dataclasses.fields(cls)]


def _require(ok: bool, name: str, value: object, why: str) -> None:
    if not ok:
        raise ValueError(f"correlation config: {name}={value!r} {why}")
