"""The response shapes each endpoint answered in lately: when posture is a fact of the endpoint,
its checks run again only for a shape the endpoint has not shown lately.

An endpoint is (host, method, route template): `exchange.route` when the framework knew it, else
`otel_apisec.paths.route_template(path)`. A shape is whatever the caller hashes (the posture
detector hashes what its endpoint-scope checks read). A few shapes are kept per endpoint, so one
that answers in two shapes by turns (200 with a body and 304 without, a `Set-Cookie` on some
responses only) is not checked again at every turn.

Bounded and thread-safe: one per `Analyzer` (detectors keep no global state). Only hashes are kept
(an int per endpoint and per shape), so hosts, routes and header values that attackers choose
cost a fixed amount each and fall out in least-recently-used order. Python's string hash is keyed
per process (SipHash), so no one can aim a collision at it from outside; a collision would only
skip one check.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from otel_apisec.model import HttpExchange
from otel_apisec.paths import route_template

__all__ = ["DEFAULT_CAPACITY", "SHAPES_PER_ENDPOINT", "EndpointShapes", "endpoint_key"]

DEFAULT_CAPACITY = 8192
"""Endpoints remembered; more than most estates have, about 1.5 MB when full."""
SHAPES_PER_ENDPOINT = 4
"""Shapes remembered per endpoint, most recent first."""
_MAX_HOST = 255
_MAX_METHOD = 32


def endpoint_key(exchange: HttpExchange) -> tuple[str, str, str]:
    """(host, method, route template) of the exchange, each bounded in length."""
    route = route_template(exchange.route or exchange.path or "/")
    return exchange.host.lower()[:_MAX_HOST], exchange.method.upper()[:_MAX_METHOD], route


class EndpointShapes:
    """Endpoint -> its recent response shapes, as hashes, in a bounded LRU.

    >>> shapes = EndpointShapes(capacity=2)
    >>> shapes.claim(("api", "GET", "/a"), ("https", "nosniff")), shapes.claim(("api", "GET", "/a"), ("https", "nosniff"))
    (True, False)
    """

    __slots__ = ("_endpoints", "_lock", "capacity", "per_endpoint")

    def __init__(self, capacity: int = DEFAULT_CAPACITY, per_endpoint: int = SHAPES_PER_ENDPOINT) -> None:
        if capacity < 1 or per_endpoint < 1:
            raise ValueError("capacity and per_endpoint must be positive")
        self.capacity = capacity
        self.per_endpoint = per_endpoint
        self._endpoints: OrderedDict[int, tuple[int, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, endpoint: Hashable, shape: Hashable) -> bool:
        """True when `endpoint` has not answered in `shape` lately (a new endpoint, or a changed
        shape): the caller checks it now, and the shape is remembered. False: seen lately, skip.
        One thread wins a new shape; the others skip it."""
        key, digest = hash(endpoint), hash(shape)
        with self._lock:
            known = self._endpoints.get(key)
            if known is None:
                self._endpoints[key] = (digest,)
                if len(self._endpoints) > self.capacity:
                    self._endpoints.popitem(last=False)
                return True
            self._endpoints.move_to_end(key)
            if known[0] == digest:
                return False
            seen = digest in known
            rest = tuple(d for d in known if d != digest) if seen else known
            self._endpoints[key] = (digest, *rest[: self.per_endpoint - 1])
            return not seen

    def release(self, endpoint: Hashable, shape: Hashable) -> None:
        """Forget `shape` of `endpoint` (its check failed): the next response in it is checked."""
        key, digest = hash(endpoint), hash(shape)
        with self._lock:
            known = self._endpoints.get(key)
            if known is None or digest not in known:
                return
            rest = tuple(d for d in known if d != digest)
            if rest:
                self._endpoints[key] = rest
            else:
                del self._endpoints[key]

    def __len__(self) -> int:
        return len(self._endpoints)
