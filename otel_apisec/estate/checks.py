"""The governance checks: one table of what each check is (ID, title, category, weight, regulations,
remediation) and, keyed by the same IDs, the test that says whether an endpoint fails it and why.

A test returns a `Failure`: how much of the check's weight the endpoint loses (`factor`, 0-1), a
count, the rule behind it and an example span (or HAR entry). Tests read only what the inventory
holds (counts, rule tallies, schemas, spec status), so each is O(rules of the endpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import otel_apisec.detect.rules  # noqa: F401  (registers the catalog that `all_rules` reads)
from otel_apisec.detect.rule import REGULATIONS, all_rules

if TYPE_CHECKING:
    from otel_apisec.estate.inventory import Endpoint, ServiceEstate
    from otel_apisec.estate.record import EndpointRecord, Evidence, RuleTally

__all__ = [
    "CATEGORIES", "CHECKS", "ENDPOINT_TESTS", "REGULATION_ORDER", "SERVICE_TESTS", "Check", "Failure",
    "applies", "markdown_table",
]

CATEGORIES: dict[str, int] = {"security": 35, "data_protection": 25, "reliability": 15, "design": 25}
"""Category -> its weight in the service score (a weighted mean of the category scores)."""

REGULATION_ORDER = ("GDPR", "PCI DSS", "HIPAA", "CCPA")
assert set(REGULATION_ORDER) == REGULATIONS

_ALL = REGULATION_ORDER
SEVERITY_FACTOR = {"critical": 1.0, "high": 0.75, "medium": 0.5, "low": 0.25, "info": 0.0}
"""Share of a rule-driven check's weight lost, by the worst severity seen; info never deducts."""


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    category: str
    weight: int
    """Category points at stake; the weights of a category add up to 100."""
    scope: str
    """Which endpoints it applies to: `called` (calls > 0), `spec_called` (called, service has a spec),
    `in_spec` (documented, zombie or orphan), `all`, or `service` (one test of the whole service)."""
    spread: str
    """`any`: the worst failing endpoint costs the whole weight (one is one too many);
    `share`: the weight times the share of applicable endpoints that fail."""
    regulations: tuple[str, ...]
    fails_when: str
    remediation: str
    cap: float | None = None
    """The best score an endpoint or a service failing this check can have: exposures no strength
    elsewhere makes up for grade D at best (69.9), whatever the weighted sum says."""


_AT_BEST_D = 69.9

CHECKS: tuple[Check, ...] = (
    # --- security ---------------------------------------------------------------------------
    Check("GOV-SEC-001", "Authentication not enforced", "security", 30, "called", "any", _ALL,
          "a call without credentials got a 2xx on an endpoint that also sees authenticated calls or "
          "carries personal data",
          "Require authentication on every operation of the endpoint; deny by default in the framework.", cap=_AT_BEST_D),
    Check("GOV-SEC-002", "Anonymous access to a non-public endpoint", "security", 15, "called", "share",
          ("PCI DSS", "HIPAA"),
          "a call without credentials got a 2xx on an endpoint whose route is not a login, sign-up, "
          "token, health or discovery route",
          "Put the endpoint behind authentication, or document it as public."),
    Check("GOV-SEC-003", "Token and credential hygiene", "security", 15, "called", "share",
          ("PCI DSS", "HIPAA"),
          "findings of kind `token.*` or `auth.*` (not failed logins or anonymous writes); worst "
          "severity sets the share of the weight",
          "Sign tokens with a strong algorithm and key, set short expiries, never put credentials in URLs."),
    Check("GOV-SEC-004", "Attacks seen", "security", 10, "called", "share", ("PCI DSS",),
          "injection findings (`sqli`, `xss`, ... ) or cross-request `abuse.*` findings; worst severity "
          "sets the share",
          "Validate input by schema, parameterise queries, rate-limit and block abusive clients."),
    Check("GOV-SEC-005", "Security posture", "security", 10, "called", "share", ("PCI DSS",),
          "endpoint posture facts (`posture.*`: missing HSTS, nosniff, CSP, frame options, CORS, cookie "
          "flags, banners, stack traces); worst severity sets the share",
          "Send the security headers, drop version banners, set cookie flags, restrict CORS origins."),
    Check("GOV-SEC-006", "Plain HTTP", "security", 15, "called", "share", _ALL,
          "any call reached the endpoint over plain HTTP (scheme after X-Forwarded-Proto)",
          "Serve only HTTPS and send Strict-Transport-Security."),
    Check("GOV-SEC-007", "Access to personal data not attributable", "security", 5, "called", "share",
          ("HIPAA", "PCI DSS"),
          "authenticated calls carry personal data but no principal (`enduser.pseudo.id`) was ever seen",
          "Use tokens that identify the user (a `sub` claim) so that every access can be audited."),
    # --- data protection --------------------------------------------------------------------
    Check("GOV-DAT-001", "Card numbers in responses", "data_protection", 25, "called", "any",
          ("PCI DSS", "GDPR", "CCPA"),
          "a response carried a payment card number (PAN)",
          "Never return full PANs: mask all but the last four digits, or return a token.", cap=_AT_BEST_D),
    Check("GOV-DAT-002", "National or health identifiers in responses", "data_protection", 20, "called", "any",
          ("HIPAA", "GDPR", "CCPA"),
          "a response carried an SSN or another national identity or insurance number",
          "Return these identifiers only where needed, masked, and only to their owner.", cap=_AT_BEST_D),
    Check("GOV-DAT-003", "Personal data in responses", "data_protection", 15, "called", "share",
          ("GDPR", "CCPA", "HIPAA"),
          "a response carried other personal data (email, phone, IBAN, date of birth, IP address); "
          "worst severity sets the share",
          "Return only the personal fields the client needs; pseudonymise the rest."),
    Check("GOV-DAT-004", "Secrets in responses", "data_protection", 20, "called", "any", ("PCI DSS",),
          "a response carried a credential (API key, private key, token); worst severity sets the share",
          "Never return credentials; rotate the ones that leaked.", cap=_AT_BEST_D),
    Check("GOV-DAT-005", "Secrets in requests", "data_protection", 10, "called", "share", ("PCI DSS",),
          "a request body or URL carried a credential outside the Authorization header",
          "Send credentials only in the Authorization header; rotate the ones that leaked."),
    Check("GOV-DAT-006", "Excessive data in responses", "data_protection", 10, "called", "share",
          ("GDPR", "CCPA", "HIPAA"),
          "`exposure.*` findings (sensitive fields, bulk records), or a success response schema with more "
          "than 50 properties",
          "Return explicit response models with the fields the client needs; paginate lists."),
    # --- reliability and performance --------------------------------------------------------
    Check("GOV-REL-001", "Server errors", "reliability", 40, "called", "share", (),
          "more than 1% of calls answered 5xx (half the weight; the whole weight above 5%)",
          "Find the failing spans by the example trace; fix or shed load before failing."),
    Check("GOV-REL-002", "Slow responses", "reliability", 35, "called", "share", (),
          "p95 latency above 1 s (half the weight; the whole weight above 3 s)",
          "Profile the slow spans; paginate, cache or move work out of the request."),
    Check("GOV-REL-003", "No rate limiting seen", "reliability", 25, "called", "share", (),
          "no call showed rate-limit headers (RateLimit, X-RateLimit-*, Retry-After) or a 429",
          "Rate-limit per client and announce the limits in RateLimit headers."),
    # --- design and documentation -----------------------------------------------------------
    Check("GOV-DES-001", "No API specification", "design", 25, "service", "any", (),
          "the service has no OpenAPI document (`--spec SERVICE=FILE`)",
          "Publish an OpenAPI document; `otel-apisec openapi` reconstructs one from traffic to start from."),
    Check("GOV-DES-002", "Shadow endpoints", "design", 20, "spec_called", "share", ("PCI DSS",),
          "a called endpoint is not in the spec (the share of called endpoints undocumented: 1 - coverage)",
          "Document the endpoint, or remove it if nobody should call it."),
    Check("GOV-DES-003", "Zombie endpoints", "design", 15, "spec_called", "any", ("PCI DSS",),
          "an endpoint the spec marks deprecated (or has only in an older version) is still called",
          "Migrate its callers and retire it."),
    Check("GOV-DES-004", "Orphan endpoints", "design", 10, "in_spec", "share", (),
          "a documented operation saw no traffic in the window",
          "Remove dead operations from the spec, or check that the endpoint still works."),
    Check("GOV-DES-005", "No versioning", "design", 10, "all", "share", (),
          "no version segment in the route (`/v1/`) and no version header or query parameter seen",
          "Version the API in the path (`/v1/`) or in a header."),
    Check("GOV-DES-006", "Singular collection names", "design", 5, "all", "share", (),
          "a literal segment before a path parameter is not a plural noun (`/user/{id}`)",
          "Name collections with plural nouns: `/users/{id}`."),
    Check("GOV-DES-007", "Responses not JSON", "design", 5, "called", "share", (),
          "most responses with a body are not JSON",
          "Answer with `application/json` (or a `+json` type)."),
    Check("GOV-DES-008", "Inconsistent error format", "design", 5, "called", "share", (),
          "the endpoint answers errors and mixes JSON with other media types (e.g. HTML error pages)",
          "Answer every error with one JSON shape, such as RFC 9457 problem details."),
    Check("GOV-DES-009", "Parameter drift", "design", 5, "spec_called", "share", (),
          "traffic used parameters the spec does not document, or with other types",
          "Document the parameters, or reject undocumented ones."),
)


@dataclass(frozen=True, slots=True)
class Failure:
    factor: float
    """Share of the check's weight this endpoint loses, in (0, 1]."""
    count: int
    example: Evidence | None
    rule: str | None = None
    detail: str = ""


def applies(check: Check, endpoint: Endpoint) -> bool:
    called = endpoint.record.calls > 0
    if check.scope == "called":
        return called
    if check.scope == "spec_called":
        return called and endpoint.spec_status is not None
    if check.scope == "in_spec":
        return endpoint.spec_status in ("documented", "zombie", "orphan")
    return check.scope == "all"


# --- helpers over the record ------------------------------------------------------------------
_CATALOG = {rule.kind: rule for rule in all_rules()}
_CARD = "credit_card"
_NATIONAL_IDS = frozenset({"us_ssn", "uk_nino", "es_dni", "fr_nir", "it_fiscal_code", "nl_bsn", "br_cpf",
                           "in_aadhaar", "ca_sin", "de_tax_id"})
_NOT_HYGIENE = frozenset({"auth.login_failed", "auth.unauthenticated_write"})
"""Failed logins are events, not hygiene; anonymous writes are GOV-SEC-002's."""
_POSTURE_ELSEWHERE = frozenset({"posture.plain_http", "posture.missing_rate_limit_headers"})
"""Graded by GOV-SEC-006 and GOV-REL-003 from the record's counts."""
_PUBLIC_SEGMENTS = frozenset({
    "login", "logout", "signin", "sign-in", "signup", "sign-up", "register", "token", "oauth", "oauth2",
    "authorize", "callback", "health", "healthz", "livez", "readyz", "ping", "openapi.json", "openapi.yaml",
    "swagger.json", ".well-known", "robots.txt", "favicon.ico", "forgot-password", "reset-password",
})
_PLURAL_WORDS = frozenset({"people", "children", "data", "media", "metadata", "staff", "feedback", "news",
                           "info", "men", "women", "api"})
_MAX_SCHEMA_PROPERTIES = 50


def _family(kind: str) -> str:
    """`token.expired` -> `token`; the injection rules' kinds are bare (`sqli`), so bare means injection."""
    head, dot, _ = kind.partition(".")
    return head if dot else "injection"


def _rank(tally: RuleTally) -> tuple[float, int, str]:
    return SEVERITY_FACTOR.get(tally.severity, 0.5), tally.count, tally.rule_id


def _rules_failure(tallies: Iterable[RuleTally]) -> Failure | None:
    """The worst of these rule tallies sets the factor; all of them count."""
    hits = sorted((t for t in tallies if SEVERITY_FACTOR.get(t.severity, 0.5) > 0), key=_rank, reverse=True)
    if not hits:
        return None
    worst = hits[0]
    names = ", ".join(f"{t.rule_id} ({t.severity}, {t.count})" for t in hits[:5])
    more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
    return Failure(SEVERITY_FACTOR.get(worst.severity, 0.5), sum(t.count for t in hits), worst.example,
                   worst.rule_id, names + more)


def _typed_failure(record: EndpointRecord, counts: dict[str, int], prefix: str,
                   fixed: float | None = None) -> Failure | None:
    """PII or secret types seen (`counts`, suffix -> calls), with the catalog's severity and the
    record's tally of that rule as the example."""
    kinds = sorted(prefix + name for name, n in counts.items() if n > 0)
    if not kinds:
        return None
    worst = max(kinds, key=lambda k: (_severity_factor(k), k))
    factor = fixed if fixed is not None else _severity_factor(worst)
    if factor <= 0:
        return None
    rule = _CATALOG.get(worst)
    tally = next((t for t in record.rules.values() if t.kind == worst), None)
    example = tally.example if tally is not None else record.example
    return Failure(factor, sum(counts.values()), example, rule.id if rule else None,
                   "types: " + ", ".join(k.partition(".")[2] for k in kinds))


def _severity_factor(kind: str) -> float:
    rule = _CATALOG.get(kind)
    return SEVERITY_FACTOR[rule.severity.label] if rule is not None else 0.5


def _posture_tally(record: EndpointRecord, kind: str) -> RuleTally | None:
    return next((t for t in (*record.posture.values(), *record.rules.values()) if t.kind == kind), None)


def _segments(route: str) -> list[str]:
    return [s for s in route.split("/") if s]


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _is_version(segment: str) -> bool:
    return len(segment) > 1 and segment[0] in "vV" and segment[1].isdigit()


def _is_public(route: str) -> bool:
    return any(s.lower() in _PUBLIC_SEGMENTS for s in _segments(route))


def _count_properties(node: Any, budget: int = 1000) -> int:
    """Properties of a JSON schema at every depth, visiting at most `budget` nodes."""
    total, stack = 0, [node]
    while stack and budget > 0:
        budget -= 1
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        properties = item.get("properties")
        if isinstance(properties, dict):
            total += len(properties)
            stack.extend(properties.values())
        for key in ("items", "additionalProperties"):
            if isinstance(item.get(key), dict):
                stack.append(item[key])
        for key in ("anyOf", "oneOf", "allOf"):
            if isinstance(item.get(key), list):
                stack.extend(item[key])
    return total


def _media_split(record: EndpointRecord) -> tuple[int, int, str]:
    """(JSON responses, other responses, the most frequent other type)."""
    json_n = other_n = 0
    other_top, top_n = "", 0
    for media, n in sorted(record.response_media_types.items()):
        if "json" in media.lower():
            json_n += n
        else:
            other_n += n
            if n > top_n:
                other_top, top_n = media, n
    return json_n, other_n, other_top


def _error_calls(record: EndpointRecord) -> int:
    return sum(n for code, n in record.status_codes.items() if code.isdigit() and int(code) >= 400)


# --- the tests -------------------------------------------------------------------------------
def _auth_not_enforced(e: Endpoint) -> Failure | None:
    r = e.record
    schemes = sorted(s for s, n in r.auth_schemes.items() if n > 0)
    personal = sorted({*r.pii_request, *r.pii_response})
    if not r.unauthenticated_success or not (schemes or personal):
        return None
    why = [f"the endpoint also sees {', '.join(schemes)} calls"] if schemes else []
    why += [f"it carries personal data ({', '.join(personal[:5])})"] if personal else []
    return Failure(1.0, r.unauthenticated_success, r.unauthenticated_example, None,
                   f"{r.unauthenticated_success} of {r.calls} calls succeeded without credentials; " + " and ".join(why))


def _anonymous_access(e: Endpoint) -> Failure | None:
    r = e.record
    if not r.unauthenticated_success or _auth_not_enforced(e) is not None or _is_public(e.route):
        return None
    return Failure(1.0, r.unauthenticated_success, r.unauthenticated_example, None,
                   f"{r.unauthenticated_success} of {r.calls} calls succeeded without credentials")


def _token_hygiene(e: Endpoint) -> Failure | None:
    return _rules_failure(t for t in e.record.rules.values()
                          if _family(t.kind) in ("token", "auth") and t.kind not in _NOT_HYGIENE)


def _attacks(e: Endpoint) -> Failure | None:
    return _rules_failure(t for t in e.record.rules.values() if _family(t.kind) in ("injection", "abuse"))


def _posture(e: Endpoint) -> Failure | None:
    tallies = {t.rule_id: t for t in e.record.rules.values() if _family(t.kind) == "posture"}
    tallies.update(e.record.posture)  # the endpoint's checked posture wins over a per-call copy
    return _rules_failure(t for t in tallies.values() if t.kind not in _POSTURE_ELSEWHERE)


def _plain_http(e: Endpoint) -> Failure | None:
    r = e.record
    if not r.plain_http_calls:
        return None
    tally = _posture_tally(r, "posture.plain_http")
    return Failure(1.0, r.plain_http_calls, tally.example if tally else r.example,
                   tally.rule_id if tally else None, f"{r.plain_http_calls} of {r.calls} calls over plain HTTP")


def _not_attributable(e: Endpoint) -> Failure | None:
    r = e.record
    authenticated = sum(r.auth_schemes.values())
    if not authenticated or not (r.pii_request or r.pii_response) or r.principals.estimate() > 0:
        return None
    return Failure(1.0, authenticated, r.example, None,
                   f"{authenticated} authenticated calls with personal data, no principal identified")


def _cards(e: Endpoint) -> Failure | None:
    r = e.record
    return _typed_failure(r, {k: n for k, n in r.pii_response.items() if k == _CARD}, "pii.", fixed=1.0)


def _national_ids(e: Endpoint) -> Failure | None:
    r = e.record
    return _typed_failure(r, {k: n for k, n in r.pii_response.items() if k in _NATIONAL_IDS}, "pii.", fixed=1.0)


def _personal_data(e: Endpoint) -> Failure | None:
    r = e.record
    other = {k: n for k, n in r.pii_response.items() if k != _CARD and k not in _NATIONAL_IDS}
    return _typed_failure(r, other, "pii.")


def _secrets_out(e: Endpoint) -> Failure | None:
    return _typed_failure(e.record, e.record.secrets_response, "secret.")


def _secrets_in(e: Endpoint) -> Failure | None:
    return _typed_failure(e.record, e.record.secrets_request, "secret.")


def _excessive(e: Endpoint) -> Failure | None:
    r = e.record
    failure = _rules_failure(t for t in r.rules.values() if _family(t.kind) == "exposure")
    if failure is not None:
        return failure
    properties = _count_properties(r.response_schema)
    if properties <= _MAX_SCHEMA_PROPERTIES:
        return None
    return Failure(0.5, properties, r.example, None,
                   f"success responses have {properties} properties (more than {_MAX_SCHEMA_PROPERTIES})")


def _server_errors(e: Endpoint) -> Failure | None:
    r = e.record
    rate = r.errors_5xx / r.calls
    if rate <= 0.01:
        return None
    return Failure(1.0 if rate > 0.05 else 0.5, r.errors_5xx, r.example, None,
                   f"{r.errors_5xx} of {r.calls} calls answered 5xx ({rate:.1%})")


def _slow(e: Endpoint) -> Failure | None:
    p95 = e.record.latency_ms(0.95)
    if p95 is None or p95 <= 1000:
        return None
    return Failure(1.0 if p95 > 3000 else 0.5, e.record.calls, e.record.example, None, f"p95 {p95:.0f} ms")


def _no_rate_limit(e: Endpoint) -> Failure | None:
    r = e.record
    if r.rate_limited_calls:
        return None
    tally = _posture_tally(r, "posture.missing_rate_limit_headers")
    return Failure(1.0, r.calls, tally.example if tally else r.example, tally.rule_id if tally else None,
                   f"none of {r.calls} calls showed rate-limit headers or a 429")


def _status_is(status: str) -> Callable[[Endpoint], Failure | None]:
    def test(e: Endpoint) -> Failure | None:
        if e.spec_status != status:
            return None
        r = e.record
        detail = f"{r.calls} calls" + (f"; spec path {e.spec_path}" if e.spec_path else "")
        return Failure(1.0, r.calls, r.example, None, detail)
    return test


def _unversioned(e: Endpoint) -> Failure | None:
    if any(_is_version(s) for s in _segments(e.route)):
        return None
    for key in e.record.parameters:
        where, _, name = key.partition(":")
        if (where == "header" and name.endswith("version")) or (where == "query" and name in ("version", "api-version")):
            return None
    return Failure(1.0, 1, e.record.example, None, "no /vN/ segment, no version header or query parameter")


def _singular(e: Endpoint) -> Failure | None:
    segments = _segments(e.route)
    for segment, following in zip(segments, segments[1:], strict=False):
        word = segment.lower().replace("_", "-").rpartition("-")[2]
        if (_is_parameter(following) and not _is_parameter(segment) and word.isalpha() and not _is_version(segment)
                and not word.endswith("s") and word not in _PLURAL_WORDS):
            return Failure(1.0, 1, e.record.example, None, f"`{segment}` before `{following}` is not plural")
    return None


def _not_json(e: Endpoint) -> Failure | None:
    json_n, other_n, top = _media_split(e.record)
    if other_n <= json_n:
        return None
    return Failure(1.0, other_n, e.record.example, None, f"{other_n} of {json_n + other_n} responses are {top} etc.")


def _mixed_errors(e: Endpoint) -> Failure | None:
    json_n, other_n, top = _media_split(e.record)
    errors = _error_calls(e.record)
    if not (errors and json_n and other_n):
        return None
    return Failure(1.0, errors, e.record.example, None, f"{errors} error responses; media types JSON and {top}")


def _drift(e: Endpoint) -> Failure | None:
    if not e.parameter_drift:
        return None
    names = sorted({f"{d.get('in')}:{d.get('name')} ({d.get('issue')})" for d in e.parameter_drift})
    return Failure(1.0, len(e.parameter_drift), e.record.example, None, ", ".join(names[:5]))


def _no_spec(service: ServiceEstate) -> Failure | None:
    return None if service.spec is not None else Failure(1.0, 1, None, None, "no spec")


ENDPOINT_TESTS: dict[str, Callable[[Endpoint], Failure | None]] = {
    "GOV-SEC-001": _auth_not_enforced, "GOV-SEC-002": _anonymous_access, "GOV-SEC-003": _token_hygiene,
    "GOV-SEC-004": _attacks, "GOV-SEC-005": _posture, "GOV-SEC-006": _plain_http, "GOV-SEC-007": _not_attributable,
    "GOV-DAT-001": _cards, "GOV-DAT-002": _national_ids, "GOV-DAT-003": _personal_data,
    "GOV-DAT-004": _secrets_out, "GOV-DAT-005": _secrets_in, "GOV-DAT-006": _excessive,
    "GOV-REL-001": _server_errors, "GOV-REL-002": _slow, "GOV-REL-003": _no_rate_limit,
    "GOV-DES-002": _status_is("shadow"), "GOV-DES-003": _status_is("zombie"), "GOV-DES-004": _status_is("orphan"),
    "GOV-DES-005": _unversioned, "GOV-DES-006": _singular, "GOV-DES-007": _not_json, "GOV-DES-008": _mixed_errors,
    "GOV-DES-009": _drift,
}
SERVICE_TESTS: dict[str, Callable[[ServiceEstate], Failure | None]] = {"GOV-DES-001": _no_spec}


def markdown_table() -> str:
    """The README's table of checks, from `CHECKS`."""
    rows = ["| ID | Category (weight) | Check | Weight | Spread | Best score when failed | Fails when | Regulations |",
            "|---|---|---|---|---|---|---|---|"]
    for c in CHECKS:
        cap = f"{c.cap} (D)" if c.cap is not None else "-"
        rows.append(f"| {c.id} | {c.category} ({CATEGORIES[c.category]}%) | {c.title} | {c.weight} | {c.spread} | {cap} "
                    f"| {c.fails_when} | {', '.join(c.regulations) or '-'} |")
    return "\n".join(rows)
