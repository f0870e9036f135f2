"""Contracts for cross-request detection: what correlators see, where they keep state, what they emit.

Pure data and protocols: no OTLP, no I/O. The gateway turns spans into `Observation`s; each
correlator reads and updates a `StateStore` and returns `CorrelationFinding`s; sinks (alerts,
audit trail, OCSF, OTLP logs) consume `CorrelationFinding.record()` dicts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Protocol

from otel_apisec.detect.rule import Rule
from otel_apisec.findings import Seen, correlation_record
from otel_apisec.model import Severity

__all__ = ["CorrelationFinding", "Correlator", "FindingSink", "Observation", "StateStore", "StateStoreError", "iso_time"]


@dataclass(frozen=True, slots=True)
class Observation:
    """One API call as correlators see it, read off an (enriched) server span.

    Never holds a raw credential: principals, login accounts and tokens are the keyed hashes the
    enrichment wrote (`enduser.pseudo.id`, `apisec.token.hash`)."""

    time_s: float
    """When the call ended, Unix seconds."""
    method: str = "GET"
    route: str = ""
    """Route template when known (`/users/{id}`), else the path."""
    path: str = "/"
    status: int | None = None
    client: str | None = None
    """`client.address` (the caller's IP as the server saw it)."""
    principal: str | None = None
    """Keyed hash of who called; for a login attempt, of the account tried."""
    token: str | None = None
    """Keyed hash of the bearer token."""
    auth_outcome: str = "anonymous"
    """`success`, `failure` or `anonymous` (apisec.auth.outcome)."""
    is_login: bool = False
    login_succeeded: bool | None = None
    login_pending: bool = False
    """The login's answer asked for a second factor (`apisec.auth.login.pending`): not a failure."""
    object_ids: tuple[str, ...] = ()
    """Object identifiers the request addressed (path segments that look like IDs)."""
    response_ids: tuple[str, ...] = ()
    """Object identifiers the response body returned, when the body was captured."""
    resource_ids: tuple[str, ...] = ()
    """Identifiers of the objects the response *is* or *lists*: the top-level `id` (`_id`, `uuid`,
    `guid`) of a JSON object body, or of each item of a top-level array (or of the array under
    `data`, `items`, `results`, `records` or `content`), and the object ID ending a `Location`
    header. Unlike `response_ids`, never a foreign key (`user_id` inside an order): ownership
    (`abuse.bola`) is learned from these."""
    response_id_hashes: tuple[str, ...] = ()
    """Keyed hashes (the deployment key) of what `response_ids` would hold, as the SDK sends them
    instead of the body (`apisec.response.ids`): compare with the keyed hashes of path IDs."""
    resource_id_hashes: tuple[str, ...] = ()
    """Keyed hashes of what `resource_ids` would hold (`apisec.response.resource_ids`)."""
    rate_limited: bool = False
    """The response was a 429 or carried rate-limit headers (RateLimit-*, X-RateLimit-*, Retry-After)."""
    country: str | None = None
    """ISO 3166 country of `client`, from the offline GeoIP database."""
    service: str = ""
    trace_id: str = ""
    """Hex trace and span IDs of the span, to link findings back to it."""
    span_id: str = ""


@dataclass(frozen=True, slots=True)
class CorrelationFinding:
    """A pattern seen across calls. `subject` says who or what (hashes and addresses only);
    `evidence` holds the numbers that crossed the threshold."""

    rule: Rule
    observation: Observation
    """The call that tipped it over: its trace and span IDs link the finding to a span."""
    subject: dict[str, str]
    evidence: dict[str, float | int | str]
    message: str
    severity: Severity | None = None
    """Overrides the rule's default severity when set."""
    group_key: str = field(default="")
    """Identity for deduplication: same rule + same group key = same incident."""

    @property
    def effective_severity(self) -> Severity:
        return self.rule.severity if self.severity is None else self.severity

    def record(self) -> dict[str, Any]:
        """The JSON shape every sink consumes (`otel_apisec.findings`: the keys shared with per-span
        findings mean what they mean in the gateway's findings file)."""
        obs = self.observation
        seen = Seen(iso_time(obs.time_s), obs.service, obs.trace_id, obs.span_id, route=obs.route, method=obs.method)
        return correlation_record(self.rule, self.effective_severity, self.message, self.group_key, self.subject,
                                  self.evidence, seen)


def iso_time(unix_s: float) -> str:
    moment = datetime.datetime.fromtimestamp(unix_s, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StateStore(Protocol):
    """Shared memory of recent traffic. Every method is atomic per key, so several gateway
    replicas sharing one store (Redis) reach the same counts. `now` is passed in, never read
    from a clock, so tests and replays are deterministic. Memory is bounded: entries expire
    after their window or TTL, and implementations cap the number of keys."""

    def count(self, key: str, now: float, window_s: float, amount: int = 1) -> int:
        """Add `amount` at `now`; return the total over the sliding window (now - window_s, now]."""

    def peek_count(self, key: str, now: float, window_s: float) -> int:
        """The windowed total without adding to it."""

    def distinct(self, key: str, member: str, now: float, window_s: float) -> int:
        """Add `member`; return how many distinct members the window holds (may be an estimate,
        within a few percent, for large sets)."""

    def mark(self, key: str, member: str, ttl_s: float) -> None:
        """Remember `member` under `key` for `ttl_s`."""

    def marked(self, key: str, member: str) -> bool:
        """Was `member` marked under `key` and not yet expired?"""

    def recent(self, key: str, value: str, limit: int, ttl_s: float) -> list[str]:
        """Append `value`; return the last `limit` values, oldest first (the list expires `ttl_s`
        after its last append)."""

    def claim(self, key: str, ttl_s: float) -> bool:
        """True for exactly one caller (across replicas) until `ttl_s` passes: for 'alert once'."""

    def close(self) -> None: ...


class Correlator(Protocol):
    """Pure logic over a store: no I/O of its own, no clock."""

    name: str

    def observe(self, observation: Observation, store: StateStore) -> list[CorrelationFinding]: ...


class StateStoreError(Exception):
    """The store could not answer (Redis down, timeout). Callers count it and go on."""


class FindingSink(Protocol):
    """Where finding records go: alerts, the audit trail, SIEM export. `emit` never waits on the
    network (network sinks queue and send on their own thread; file sinks append one line, a
    page-cache write unless fsync is asked for) and never raises on a delivery failure: it
    counts it and logs it."""

    def emit(self, record: dict[str, Any]) -> None: ...

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (up to `timeout_s`), then release resources."""
