"""What one call tells the estate: `CallFacts`, built from a span by the gateway and from an analysed
HAR entry by the CLI. Names, types, counts and keyed hashes only: never a raw value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otel_apisec.correlate.api import iso_time as correlate_iso_time

__all__ = ["CONTRACT_AUTH_SCHEMES", "CallFacts", "FindingFact", "direction_of", "is_success", "iso_time"]

CONTRACT_AUTH_SCHEMES = {"bearer": "bearer", "basic": "basic", "api_key": "api_key", "session_cookie": "cookie",
                         "digest": "digest", "other": "other"}
"""`AuthScheme` values as the inventory names them (`session_cookie` is `cookie`); `none` is not a scheme."""


@dataclass(frozen=True, slots=True)
class FindingFact:
    """One finding on the call: its rule, and whether it describes the endpoint (posture) or the call."""

    rule_id: str
    kind: str
    severity: str
    """Label: info, low, medium, high or critical."""
    location: str
    endpoint_scope: bool = False


@dataclass(frozen=True, slots=True)
class CallFacts:
    service: str
    method: str
    route: str | None
    """`http.route` when the framework knew it: a real template."""
    path: str
    """The raw path without query. Never stored: `routes.typed_path` masks its values first."""
    time_s: float
    duration_ms: float | None = None
    status: int | None = None
    scheme: str = "http"
    """`https` when the call came over TLS or a proxy said so (X-Forwarded-Proto)."""
    auth_scheme: str = "none"
    auth_outcome: str = "anonymous"
    principal: str | None = None
    """Keyed hash of the caller (`enduser.pseudo.id`)."""
    country: str | None = None
    findings: tuple[FindingFact, ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    """(name, value type): never the value."""
    request_headers: tuple[tuple[str, str], ...] = ()
    """(lower-cased name, value type) of the non-standard request headers."""
    request_schema: dict[str, Any] | None = None
    response_schema: dict[str, Any] | None = None
    response_media_type: str | None = None
    rate_limit_headers: bool = False
    posture_checked: bool = False
    """The endpoint's posture was checked on this call (its response-header shape was new): its
    endpoint-scope findings, none included, are the endpoint's posture from now on."""
    trace_id: str = ""
    span_id: str = ""
    entry: int | None = None
    """Recorded traffic: the HAR entry index, the evidence when there is no span."""


def is_success(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def direction_of(location: str) -> str | None:
    """`request` or `response` for a finding location (`response.body.$.email`), else None."""
    head = location.partition(".")[0]
    return head if head in ("request", "response") else None




def iso_time(seconds: float | None) -> str | None:
    """`correlate.api.iso_time` (ISO 8601 UTC, milliseconds), None for None."""
    return None if seconds is None else correlate_iso_time(seconds)
