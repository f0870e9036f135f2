"""The inventory's JSON contract, shared by `otel-apisec inventory --format json` and the console's
`GET /api/v1/inventory`. The keys the README lists are the contract; the rest are extra."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otel_apisec.estate.facts import iso_time
from otel_apisec.estate.inventory import Endpoint, Estate

if TYPE_CHECKING:
    from otel_apisec.estate.governance import Governance

__all__ = ["endpoint_document", "inventory_document", "iso_time"]


def _sorted_keys(counts: dict[str, int]) -> list[str]:
    return sorted(k for k, n in counts.items() if n > 0)


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    result = []
    for key, types in sorted(endpoint.record.parameters.items()):
        location, _, name = key.partition(":")
        result.append({"name": name, "in": location, "types": sorted(types, key=lambda t: (-types[t], t)),
                       "calls": sum(types.values())})
    return result


def endpoint_document(endpoint: Endpoint, grade: str | None = None, score: float | None = None) -> dict[str, Any]:
    record = endpoint.record
    example = record.unauthenticated_example
    return {
        "method": endpoint.method,
        "route": endpoint.route,
        "spec_status": endpoint.spec_status,
        "calls": record.calls,
        "first_seen": iso_time(record.first_seen),
        "last_seen": iso_time(record.last_seen),
        "status_codes": dict(sorted(record.status_codes.items())),
        "auth_schemes": _sorted_keys(record.auth_schemes),
        "unauthenticated_calls": record.unauthenticated_calls,
        "unauthenticated_success": record.unauthenticated_success,
        "pii_types": sorted(set(_sorted_keys(record.pii_request)) | set(_sorted_keys(record.pii_response))),
        "findings": {k: v for k, v in record.severity_counts().items() if v},
        "grade": grade,
        "score": score,
        "parameters": _parameters(endpoint),
        # extra keys
        "route_source": "http.route" if record.route_known else "inferred",
        "spec_path": endpoint.spec_path,
        "deprecated": endpoint.deprecated,
        "parameter_drift": endpoint.parameter_drift,
        "auth_enforced": record.auth_enforced if record.calls else None,
        "unauthenticated_example": example.to_dict() if example else None,
        "latency_ms": {"p50": record.latency_ms(0.5), "p95": record.latency_ms(0.95)},
        "principals": record.principals.estimate(),
        "pii": {"request": _sorted_keys(record.pii_request), "response": _sorted_keys(record.pii_response)},
        "secrets": {"request": _sorted_keys(record.secrets_request), "response": _sorted_keys(record.secrets_response)},
        "countries": dict(sorted(record.countries.items())),
        "posture": [tally.to_dict() for _, tally in sorted(record.posture.items())],
        "rules": [tally.to_dict() for _, tally in sorted(record.rules.items())],
        "rate_limited_calls": record.rate_limited_calls,
        "plain_http_calls": record.plain_http_calls,
        "errors_5xx": record.errors_5xx,
        "response_media_types": dict(sorted(record.response_media_types.items())),
        "request_schema": record.request_schema,
        "response_schema": record.response_schema,
        "example": record.example.to_dict() if record.example else None,
    }


def inventory_document(estate: Estate, governance: Governance | None = None) -> dict[str, Any]:
    services = []
    for service in estate.services:
        grades = governance.service(service.service) if governance is not None else None
        endpoints = []
        for endpoint in service.endpoints:
            mark = grades.endpoint(endpoint.method, endpoint.route) if grades is not None else None
            endpoints.append(endpoint_document(endpoint, mark.grade if mark else None, mark.score if mark else None))
        services.append({
            "service": service.service,
            "grade": grades.grade if grades else None,
            "score": grades.score if grades else None,
            "spec": service.spec.source if service.spec is not None else None,
            "endpoints": endpoints,
        })
    return {"generated_at": iso_time(estate.generated_at), "services": services}
