"""Synthetic traffic for the correlators: a realistic benign mix and one scripted attack per
finding kind. Used by the tests and `bench/correlation_eval.py`, and by anyone tuning
`CorrelationConfig` thresholds against a traffic shape of their own.

Deterministic for a seed. Principals and tokens are random 32-hex pseudonyms, like the keyed
hashes the enrichment writes; client addresses are public IPv4 addresses (office NATs, mobile
users changing address, a data-centre integration) plus a private health checker.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from otel_apisec.correlate.api import Observation

__all__ = ["START", "Scenario", "attack_scenarios", "benign_traffic", "merge"]

START = 1_767_254_400.0
"""2026-01-01T08:00:00Z: traffic starts at the beginning of a working day."""
_HOUR = 3600.0
_COUNTRIES = ("US", "US", "US", "DE", "GB", "FR", "IN", "BR", "CA", "NL")
_ADMIN_FUNCTIONS = (
    ("GET", "/admin/users", None),
    ("GET", "/admin/reports", None),
    ("GET", "/admin/users/{id}", "id"),
    ("PATCH", "/admin/users/{id}", "id"),
    ("DELETE", "/admin/users/{id}", "id"),
    ("GET", "/internal/stats", None),
)
_PRODUCTS_PER_PAGE = 20
_PRODUCT_PAGES = 100


@dataclass(frozen=True)
class Scenario:
    """A scripted attack: the finding kind it should raise, and its calls in time order."""

    name: str
    kind: str
    observations: list[Observation] = field(repr=False)


class _Names:
    """Random pseudonyms and public addresses, never repeated."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._used: set[str] = set()

    def pseudonym(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def public_ip(self) -> str:
        while True:
            address = ipaddress.IPv4Address(self.rng.getrandbits(32))
            text = str(address)
            if address.is_global and not address.is_multicast and text not in self._used:
                self._used.add(text)
                return text


@dataclass
class _Caller:
    principal: str | None
    client: str
    country: str | None
    token: str | None = None
    service: str = "shop-api"

    def call(self, t: float, method: str, route: str, path: str, status: int = 200, **kw: object) -> Observation:
        return Observation(
            time_s=t, method=method, route=route, path=path, status=status, client=self.client,
            principal=self.principal, token=self.token, country=self.country, service=self.service,
            auth_outcome="success" if self.principal else "anonymous", **kw,  # type: ignore[arg-type]
        )

    def login(self, t: float, ok: bool) -> Observation:
        return Observation(
            time_s=t, method="POST", route="/api/login", path="/api/login", status=200 if ok else 401,
            client=self.client, principal=self.principal, country=self.country, service=self.service,
            auth_outcome="success" if ok else "failure", is_login=True, login_succeeded=ok,
        )


def _product_page(page: int) -> tuple[str, ...]:
    first = (page - 1) * _PRODUCTS_PER_PAGE + 1
    return tuple(str(i) for i in range(first, first + _PRODUCTS_PER_PAGE))


def _session(rng: random.Random, who: _Caller, t: float, orders: list[int], names: _Names,
             admin_functions: tuple[tuple[str, str, str | None], ...] = ()) -> Iterator[Observation]:
    """Log in (sometimes after a typo), list orders, browse products and orders, now and then a
    typo'd URL, a stale link, an update or a new order; admins run their routine functions."""
    for _ in range(rng.choices((0, 1, 2), (0.9, 0.09, 0.01))[0]):
        yield who.login(t, ok=False)
        t += rng.uniform(3, 12)
    yield who.login(t, ok=True)
    who.token = names.pseudonym()
    own = tuple(str(o) for o in orders)
    yield who.call(t + 1, "GET", "/api/orders", "/api/orders", response_ids=own)
    t += 2
    routine = list(admin_functions)
    rng.shuffle(routine)
    listed_products: list[str] = []
    for _ in range(rng.randint(8, 45)):
        t += rng.expovariate(1 / 8)
        if rng.random() < 0.01:  # a mobile user's address changes mid-session
            who.client = names.public_ip()
        if routine and rng.random() < 0.3:
            method, route, param = routine.pop()
            target = str(rng.randint(1, 5000))
            path = route.replace("{id}", target) if param else route
            yield who.call(t, method, route, path, status=204 if method == "DELETE" else 200,
                           object_ids=(target,) if param else (),
                           response_ids=() if param else tuple(str(rng.randint(1, 5000)) for _ in range(10)))
            continue
        action = rng.choices(
            ("orders", "order", "products", "product", "me", "update", "create", "search", "typo", "stale", "error"),
            (0.10, 0.22, 0.18, 0.22, 0.05, 0.03, 0.02, 0.12, 0.02, 0.01, 0.03),
        )[0]
        if action == "orders":
            yield who.call(t, "GET", "/api/orders", "/api/orders?page=1", response_ids=own)
        elif action in ("order", "update"):
            order = rng.choice(own)
            method = "GET" if action == "order" else "PUT"
            yield who.call(t, method, "/api/orders/{id}", f"/api/orders/{order}", object_ids=(order,),
                           response_ids=(order,))
        elif action == "products" or (action == "product" and not listed_products):
            page = rng.randint(1, _PRODUCT_PAGES)
            ids = _product_page(page)
            listed_products.extend(ids)
            yield who.call(t, "GET", "/api/products", f"/api/products?page={page}", response_ids=ids)
        elif action == "product":
            product = rng.choice(listed_products)
            yield who.call(t, "GET", "/api/products/{id}", f"/api/products/{product}", object_ids=(product,),
                           response_ids=(product,))
        elif action == "me":
            yield who.call(t, "GET", "/api/me", "/api/me")
        elif action == "create":
            created = rng.randint(100_000, 999_999)
            orders.append(created)
            own = (*own, str(created))
            yield who.call(t, "POST", "/api/orders", "/api/orders", status=201, response_ids=(str(created),))
        elif action == "search":
            yield who.call(t, "GET", "/api/search", "/api/search?q=shoes", response_ids=_product_page(1)[:5])
        elif action == "typo":
            yield who.call(t, "GET", "/api/ordrs", "/api/ordrs", status=404)
        elif action == "stale":  # an old bookmark to an order that is gone
            gone = str(rng.randint(100_000, 999_999))
            yield who.call(t, "GET", "/api/orders/{id}", f"/api/orders/{gone}", status=404, object_ids=(gone,))
        else:
            yield who.call(t, "GET", "/api/recommendations", "/api/recommendations", status=503)
    for method, route, param in routine:  # the routine left over runs at the end of the session
        t += rng.uniform(2, 20)
        target = str(rng.randint(1, 5000))
        yield who.call(t, method, route, route.replace("{id}", target) if param else route,
                       object_ids=(target,) if param else ())


def _users(rng: random.Random, names: _Names, users: int, start: float, duration_s: float,
           admins: int) -> Iterator[Observation]:
    offices = [names.public_ip() for _ in range(2)]
    for index in range(users):
        country = rng.choice(_COUNTRIES)
        in_office = rng.random() < 0.15
        mobile = rng.random() < 0.2
        client = rng.choice(offices) if in_office else names.public_ip()
        who = _Caller(names.pseudonym(), client, country)
        orders = [rng.randint(100_000, 999_999) for _ in range(rng.randint(2, 12))]
        functions: tuple[tuple[str, str, str | None], ...] = ()
        if index < admins:
            functions = tuple(rng.sample(_ADMIN_FUNCTIONS, rng.randint(2, 4)))
        starts = sorted(rng.uniform(start, start + duration_s - 1800) for _ in range(rng.randint(1, 3)))
        for session_start in starts:
            if mobile:
                who.client = names.public_ip()
            yield from _session(rng, who, session_start, orders, names, functions)
        if rng.random() < 0.1:  # the same user on a service that does not capture bodies
            legacy = replace(who, service="legacy-api")
            t = starts[-1] + 600
            for _ in range(rng.randint(2, 8)):
                t += rng.uniform(5, 30)
                item = str(rng.randint(1, 10_000))
                yield legacy.call(t, "GET", "/legacy/items/{id}", f"/legacy/items/{item}", object_ids=(item,))


def _integration(rng: random.Random, names: _Names, start: float, duration_s: float) -> Iterator[Observation]:
    """A partner's sync job: lists inventory pages and fetches some of the listed items, one call
    every ~3 s all day, always answered with rate-limit headers."""
    who = _Caller(names.pseudonym(), names.public_ip(), "US", token=names.pseudonym(), service="shop-api")
    t, page = start, 0
    while t < start + duration_s:
        page += 1
        items = tuple(f"{rng.getrandbits(128):032x}" for _ in range(50))
        yield who.call(t, "GET", "/v1/inventory", f"/v1/inventory?page={page}", response_ids=items, rate_limited=True)
        for item in rng.sample(items, 5):
            t += rng.uniform(2.5, 3.5)
            yield who.call(t, "GET", "/v1/inventory/{id}", f"/v1/inventory/{item}", object_ids=(item,),
                           response_ids=(item,), rate_limited=True)
        t += rng.uniform(2.5, 3.5)


def _probes(start: float, duration_s: float) -> Iterator[Observation]:
    """Kubernetes probes and a Prometheus scrape: anonymous, private address, privileged-looking routes."""
    prober = _Caller(None, "10.0.0.5", None)
    t = start
    while t < start + duration_s:
        yield prober.call(t, "GET", "/internal/health", "/internal/health")
        if int(t - start) % 30 == 0:
            yield prober.call(t + 0.5, "GET", "/internal/metrics", "/internal/metrics")
        t += 15


def merge(*streams: list[Observation]) -> list[Observation]:
    """One time-ordered stream."""
    return sorted((obs for stream in streams for obs in stream), key=lambda o: o.time_s)


def benign_traffic(seed: int = 7, users: int = 150, duration_s: float = 6 * _HOUR, start: float = START,
                   admins: int = 4) -> list[Observation]:
    """A working morning of an online shop's API, in time order: `users` people logging in
    (sometimes after a typo'd password), browsing and updating their own orders, paging through
    products; `admins` of them also running their admin routine; a partner integration syncing
    inventory under rate limits; probes and a metrics scrape on /internal."""
    rng = random.Random(seed)
    names = _Names(rng)
    return merge(
        list(_users(rng, names, users, start, duration_s, admins)),
        list(_integration(rng, names, start, duration_s)),
        list(_probes(start, duration_s)),
    )


def _spread(rng: random.Random, t: float, seconds: float, count: int) -> list[float]:
    return sorted(t + rng.uniform(0, seconds) for _ in range(count))


def _brute_force(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    attacker = _Caller(names.pseudonym(), "203.0.113.66", "RU")  # the victim's account, tried over and over
    return [attacker.login(at, ok=False) for at in _spread(rng, t, 120, 40)]


def _credential_stuffing(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    calls = []
    for at in _spread(rng, t, 300, 60):
        bot = _Caller(names.pseudonym(), "198.51.100.23", "NL")
        calls.append(bot.login(at, ok=rng.random() < 0.02))
    return calls


def _enumeration(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    attacker = _Caller(names.pseudonym(), names.public_ip(), "US", token=names.pseudonym())
    calls = [attacker.login(t, ok=True),
             attacker.call(t + 2, "GET", "/api/orders", "/api/orders", response_ids=("431337",))]
    for step, at in enumerate(_spread(rng, t + 5, 180, 60)):
        order = str(300_000 + step)
        status = rng.choice((200, 403, 404))
        calls.append(attacker.call(at, "GET", "/api/orders/{id}", f"/api/orders/{order}", status=status,
                                   object_ids=(order,), response_ids=(order,) if status == 200 else ()))
    return calls


def _bfla(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    user = _Caller(names.pseudonym(), names.public_ip(), "FR", token=names.pseudonym())
    calls = [user.login(t - 2 * _HOUR, ok=True)]
    for at in _spread(rng, t - 2 * _HOUR, _HOUR, 120):
        calls.append(user.call(at, "GET", "/api/products", "/api/products?page=2", response_ids=_product_page(2)))
    calls.append(user.call(t, "GET", "/admin/users", "/admin/users"))
    calls.append(user.call(t + 5, "DELETE", "/admin/users/{id}", "/admin/users/42", status=204, object_ids=("42",)))
    return calls


def _rate_spike(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    scraper = _Caller(names.pseudonym(), names.public_ip(), "SG", token=names.pseudonym())
    baseline = _spread(rng, t - 4 * _HOUR, 4 * _HOUR - 60, 200)
    burst = _spread(rng, t, 600, 900)
    return [scraper.call(at, "GET", "/api/products", f"/api/products?page={i % _PRODUCT_PAGES + 1}",
                         response_ids=_product_page(i % _PRODUCT_PAGES + 1))
            for i, at in enumerate(baseline + burst)]


def _no_rate_limit(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    bot = _Caller(None, names.public_ip(), "VN")
    return [bot.call(at, "POST", "/api/otp/verify", "/api/otp/verify", status=400) for at in _spread(rng, t, 60, 200)]


def _error_storm(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    scanner = _Caller(None, names.public_ip(), "CN")
    words = ("backup", ".env", "wp-admin", "phpmyadmin", "api/v0", "old", "test", "config.json", "server-status")
    return [scanner.call(at, "GET", f"/{rng.choice(words)}", f"/{rng.choice(words)}/{i}", status=404)
            for i, at in enumerate(_spread(rng, t, 120, 150))]


def _token_reuse(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    token = names.pseudonym()
    victim = _Caller(names.pseudonym(), names.public_ip(), "US", token=token)
    calls = [victim.call(at, "GET", "/api/me", "/api/me") for at in _spread(rng, t, 600, 10)]
    for country in ("BR", "RU", "VN", "NG"):
        for _ in range(3):
            thief = replace(victim, client=names.public_ip(), country=country)
            calls.append(thief.call(t + rng.uniform(600, 1800), "GET", "/api/orders", "/api/orders"))
    return sorted(calls, key=lambda o: o.time_s)


def _bola(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    owner = _Caller(names.pseudonym(), names.public_ip(), "US", token=names.pseudonym())
    other = _Caller(names.pseudonym(), names.public_ip(), "US", token=names.pseudonym())
    order = str(rng.randint(10_000, 99_999))
    return [owner.login(t - 60, ok=True),
            owner.call(t - 50, "POST", "/api/orders", "/api/orders", status=201, resource_ids=(order,)),
            owner.call(t - 40, "GET", "/api/orders/{id}", f"/api/orders/{order}", object_ids=(order,)),
            other.login(t - 10, ok=True),
            other.call(t, "GET", "/api/orders/{id}", f"/api/orders/{order}", object_ids=(order,))]


def _path_principal(rng: random.Random, names: _Names, t: float) -> list[Observation]:
    victim = _Caller(names.pseudonym(), names.public_ip(), "US", token=names.pseudonym())
    attacker = _Caller(names.pseudonym(), names.public_ip(), "US", token=names.pseudonym())
    user_id = str(rng.randint(100, 999))
    return [replace(victim.login(t - 60, ok=True), response_ids=(user_id,)), attacker.login(t - 10, ok=True),
            attacker.call(t, "PUT", "/api/users/{id}/password", f"/api/users/{user_id}/password", status=204)]


_ATTACKS: tuple[tuple[str, str, Callable[[random.Random, _Names, float], list[Observation]]], ...] = (
    ("password spraying one account", "abuse.brute_force", _brute_force),
    ("credential stuffing from one bot", "abuse.credential_stuffing", _credential_stuffing),
    ("sequential order-ID walk", "abuse.enumeration", _enumeration),
    ("user calling admin functions", "abuse.bfla", _bfla),
    ("scraper burst after a quiet baseline", "abuse.rate_spike", _rate_spike),
    ("OTP brute force on an unthrottled endpoint", "abuse.no_rate_limit", _no_rate_limit),
    ("content-discovery scan", "abuse.error_storm", _error_storm),
    ("stolen token replayed abroad", "abuse.token_reuse", _token_reuse),
    ("one user reads another's order", "abuse.bola", _bola),
    ("one user changes another's password", "abuse.path_principal", _path_principal),
)


def attack_scenarios(seed: int = 11, at: float = START + 4 * _HOUR) -> list[Scenario]:
    """One scripted attack per finding kind, each peaking at `at` (those that need a baseline
    build it in the hours before)."""
    rng = random.Random(seed)
    names = _Names(rng)
    return [Scenario(name, kind, sorted(build(rng, names, at), key=lambda o: o.time_s)) for name, kind, build in _ATTACKS]
