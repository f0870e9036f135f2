"""The inventory: one `EndpointRecord` per service, method and route, fed one `CallFacts` at a time.

Calls with `http.route` are keyed by it. The others are keyed by their typed path (typed segments
already parameters, values never kept), and `snapshot()` infers the string parameters from all of
them at once (`routes.infer_templates`) and merges the records that turn out to be one endpoint. So
the route of a path can change as evidence comes in, and no record is ever rewritten in place.

Bounded: at most `max_services` services and `max_endpoints` records per service. When a service
reaches its bound, its records are compacted through inference; calls beyond what compaction frees
are counted in `dropped_calls`, never stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_apisec.estate import drift, routes, schema
from otel_apisec.estate.facts import CallFacts
from otel_apisec.estate.record import EndpointRecord
from otel_apisec.estate.spec import ApiSpec

__all__ = ["Endpoint", "Estate", "Inventory", "ServiceEstate", "template_of_route"]

DEFAULT_MAX_SERVICES = 256
DEFAULT_MAX_ENDPOINTS = 5000
_Key = tuple[str, str]


@dataclass(slots=True)
class Endpoint:
    """One endpoint of a snapshot: its record (calls 0 for an orphan) and how it stands against the spec."""

    service: str
    method: str
    route: str
    """As the client called it, base path included."""
    record: EndpointRecord
    spec_status: str | None = None
    """documented, shadow, zombie or orphan; None when the service has no spec."""
    spec_path: str | None = None
    deprecated: bool = False
    parameter_drift: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.method} {self.route}"


@dataclass(slots=True)
class ServiceEstate:
    service: str
    endpoints: list[Endpoint]
    spec: ApiSpec | None = None


@dataclass(slots=True)
class Estate:
    generated_at: float
    services: list[ServiceEstate]

    def service(self, name: str) -> ServiceEstate | None:
        return next((s for s in self.services if s.service == name), None)


def template_of_route(route: str) -> str:
    """A framework's route in OpenAPI form: Flask/Django `<int:user_id>` and `<user_id>` become
    `{user_id}`; Express `:id` becomes `{id}`; a FastAPI `{user_id}` stays."""
    if "<" not in route and ":" not in route:
        return route or "/"
    segments = []
    for segment in route.split("/"):
        if segment.startswith("<") and segment.endswith(">"):
            segment = "{" + segment[1:-1].rpartition(":")[2] + "}"
        elif segment.startswith(":") and len(segment) > 1:
            segment = "{" + segment[1:] + "}"
        segments.append(segment)
    template = "/".join(segments)
    return template if template.startswith("/") else "/" + template


def _path_parameters(template: str, path: str) -> tuple[tuple[str, str], ...]:
    """(name, value type) of each `{param}` of `template`, typed from the raw path's segment."""
    if "{" not in template:
        return ()
    names = template.split("/")
    values = path.split("/")
    if len(names) != len(values):
        return ()
    return tuple((name[1:-1], schema.value_type(value)) for name, value in zip(names, values, strict=True)
                 if name.startswith("{") and name.endswith("}"))


class _Service:
    __slots__ = ("records", "refused")

    def __init__(self) -> None:
        self.records: dict[_Key, EndpointRecord] = {}
        self.refused = 0
        """New keys refused since the last compaction."""


class Inventory:
    """Thread-safe: receivers call `add` from many threads; readers take `snapshot()`."""

    def __init__(self, max_services: int = DEFAULT_MAX_SERVICES, max_endpoints: int = DEFAULT_MAX_ENDPOINTS) -> None:
        self.max_services = max_services
        self.max_endpoints = max_endpoints
        self._services: dict[str, _Service] = {}
        self._lock = threading.Lock()
        self.dropped_calls = 0
        self.calls = 0

    # --- in ---------------------------------------------------------------------------------
    def add(self, facts: CallFacts) -> None:
        if facts.route:
            route, known = template_of_route(facts.route), True
        else:
            route, known = routes.typed_path(facts.path), False
        key = (facts.method, route)
        path_parameters = _path_parameters(route, facts.path)
        with self._lock:
            self.calls += 1
            service = self._service(facts.service or "unknown_service")
            if service is None:
                self.dropped_calls += 1
                return
            record = service.records.get(key)
            if record is None:
                if len(service.records) >= self.max_endpoints and self._may_compact(service):
                    self._compact(service)
                if len(service.records) >= self.max_endpoints:
                    service.refused += 1
                    self.dropped_calls += 1
                    return
                record = service.records[key] = EndpointRecord(facts.method, route, known)
            record.add(facts, path_parameters)

    def _service(self, name: str) -> _Service | None:
        service = self._services.get(name)
        if service is None and len(self._services) < self.max_services:
            service = self._services[name] = _Service()
        return service

    def _may_compact(self, service: _Service) -> bool:
        """Compaction costs inference over every record: when one freed nothing, the next waits for
        an eighth of the bound in refused keys, so a flood of new paths costs O(1) per call amortized."""
        return service.refused == 0 or service.refused >= max(16, self.max_endpoints // 8)

    def _compact(self, service: _Service) -> None:
        service.records = {(r.method, r.route): r for r in _resolve(service.records.values())}
        service.refused = 0 if len(service.records) < self.max_endpoints else 1

    def merge_records(self, service: str, records: Iterable[EndpointRecord]) -> None:
        """Add records from elsewhere (a persisted snapshot, another replica)."""
        with self._lock:
            target = self._service(service)
            if target is None:
                return
            for record in records:
                key = (record.method, record.route)
                mine = target.records.get(key)
                if mine is None:
                    if len(target.records) >= self.max_endpoints:
                        continue
                    target.records[key] = record.copy_as(*key)
                else:
                    mine.merge(record)

    # --- out --------------------------------------------------------------------------------
    def records(self) -> dict[str, list[EndpointRecord]]:
        """A copy of every record by service, as stored (routes not yet inferred)."""
        with self._lock:
            return {name: [r.copy_as(r.method, r.route) for r in service.records.values()]
                    for name, service in self._services.items()}

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._services)

    def snapshot(self, specs: Mapping[str, ApiSpec] | None = None, now: float | None = None) -> Estate:
        return build_estate(self.records(), specs, now)


def _observed(record: EndpointRecord) -> routes.ObservedPath:
    return routes.ObservedPath(record.method, record.route, record.calls, schema.top_keys(record.request_schema),
                               schema.top_keys(record.response_schema))


def _resolve(records: Iterable[EndpointRecord]) -> list[EndpointRecord]:
    """The records with inferred routes: raw-keyed ones mapped to their templates and merged."""
    records = list(records)
    templates = routes.infer_templates([_observed(r) for r in records if not r.route_known])
    merged: dict[_Key, EndpointRecord] = {}
    for record in records:
        route = record.route if record.route_known else templates.get((record.method, record.route), record.route)
        key = (record.method, route)
        if route != record.route:
            record = _renamed(record, route)
        if key in merged:
            merged[key].merge(record)
        else:
            merged[key] = record
    return list(merged.values())


def _renamed(record: EndpointRecord, route: str) -> EndpointRecord:
    """A copy of `record` under the inferred `route`, its path parameters named as the route names
    them: a typed `{id}` that became `{order_id}` moves there, and a string segment that became a
    parameter (`alice` -> `{user}`) is typed from the segment, once per call."""
    copy = record.copy_as(record.method, route)
    old, new = record.route.split("/"), route.split("/")
    if len(old) != len(new):
        return copy
    before = {key: types for key, types in copy.parameters.items() if key.startswith("path:")}
    for key in before:
        del copy.parameters[key]
    for was, now in zip(old, new, strict=True):
        if not (now.startswith("{") and now.endswith("}")):
            continue
        if was.startswith("{") and was.endswith("}"):
            types = dict(before.get("path:" + was[1:-1], {}))
        else:
            types = {schema.value_type(was): record.calls}
        target = copy.parameters.setdefault("path:" + now[1:-1], {})
        for kind, n in types.items():
            target[kind] = target.get(kind, 0) + n
    return copy


def build_estate(records: Mapping[str, Iterable[EndpointRecord]], specs: Mapping[str, ApiSpec] | None = None,
                 now: float | None = None) -> Estate:
    """Resolve every service's routes, then set each endpoint against its service's spec, if any."""
    specs = specs or {}
    services = []
    for name in sorted(set(records) | set(specs)):
        resolved = sorted(_resolve(records.get(name, ())), key=lambda r: (r.route, r.method))
        endpoints = [Endpoint(name, r.method, r.route, r) for r in resolved]
        spec = specs.get(name)
        if spec is not None:
            endpoints = _against_spec(name, endpoints, spec)
        services.append(ServiceEstate(name, endpoints, spec))
    return Estate(time.time() if now is None else now, services)


def _against_spec(service: str, endpoints: list[Endpoint], spec: ApiSpec) -> list[Endpoint]:
    result = drift.diff([(e.method, e.route, e.record.parameters) for e in endpoints], spec)
    for endpoint in endpoints:
        status = result.endpoints[(endpoint.method, endpoint.route)]
        endpoint.spec_status = status.status
        endpoint.spec_path = status.spec_path
        endpoint.deprecated = status.deprecated
        endpoint.parameter_drift = list(status.parameter_drift)
    for orphan in result.orphans:
        endpoints.append(Endpoint(service, orphan.method, orphan.route, EndpointRecord(orphan.method, orphan.route, True),
                                  "orphan", orphan.spec_path, orphan.deprecated))
    endpoints.sort(key=lambda e: (e.route, e.method))
    return endpoints
