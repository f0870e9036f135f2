"""Broken object-level authorization (OWASP API1): one principal reaching another principal's object.

Two correlators, one rule each:

- `bola`: object ownership is learned per service, collection and object ID, from evidence the
  API itself gave:

  - a create: a 2xx POST whose response is the new object (`Observation.resource_ids`: its
    top-level `id`, or the `Location` header) makes the caller its owner;
  - a listing: a 2xx GET on a collection route (`/orders`, no parameter last) lists objects to
    the caller (`resource_ids`: each item's own `id`), which makes the caller their owner.

  A later 2xx on the object's item route (`/orders/{id}`, any method) by another, authenticated
  principal fires, with both principals' pseudonyms and the object's keyed hash as evidence.
  "First toucher owns" is deliberately not evidence: on public content (products, posts) the
  first reader would own everything and every other reader would be reported.

  Shared collections learn themselves: when a listing returns an object that a listing or a create
  had already given to another principal, the collection is shared (a catalog, a team's orders)
  and its objects stop being owned by anyone until `bola_ownership_s` passes. Known limit: public
  content created by one principal (a blog post) and read by another is reported until some
  listing shows it to two principals.

- `path_principal`: a route parameter names another principal (`PUT /users/{name}/password`). A
  parameter value names a principal when
  - its keyed hash (with the deployment's pseudonym key, the one enrichment hashes principals
    with) is the pseudonym of a principal seen authenticated recently, or
  - a successful login's response returned it as the account's ID (`{"user_id": 42}`), which
    makes it that principal's identity; a value two principals' logins returned is shared and
    names nobody.
  A write (PUT, PATCH, DELETE) that succeeded, or a read (GET) that answered with data (200,
  203, 206), by a principal other than the one named fires. The parameter's own keyed hash
  being the caller's pseudonym (their own name or ID) never fires.

Both: anonymous calls are not looked at (missing authentication is the `auth` detector's job);
administrators are exempt, configured (`bola_admin_principals`) or learned (a principal with
`bola_admin_privileged_successes` successful calls to privileged routes, as BFLA defines them,
within `bola_ownership_s`). One finding per caller and endpoint per cooldown.

State: only keyed hashes leave the process (the stores hash keys and members; owner lists hold
principal pseudonyms, themselves keyed hashes). Object IDs are kept as their keyed hashes under the
deployment key, so the IDs a captured body gave and the hashes the SDK sent for them
(`apisec.response.resource_ids`, `apisec.response.ids`) meet the same path IDs. Every entry expires `bola_ownership_s` after the
evidence that set it, and the memory store's key cap bounds the total.
"""

from __future__ import annotations

from otel_apisec.correlate.api import CorrelationFinding, Observation, StateStore
from otel_apisec.correlate.base import METHOD, PRINCIPAL, ROUTE, SERVICE, Evidence, endpoint, group_key
from otel_apisec.correlate.bfla import Bfla, is_parameter
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.ids import is_object_id, normalize_id
from otel_apisec.correlate.rules import correlator_name
from otel_apisec.detect.rule import Rule
from otel_apisec.detect.rules.abuse import BOLA, PATH_PRINCIPAL
from otel_apisec.pseudonym import deployment_key, keyed_hash

__all__ = ["Bola", "Ownership", "PathPrincipal", "route_parameters"]

_ANY = "*"
"""Mark member meaning "owned by someone" (never a pseudonym: those are hex digits)."""
_MAX_OWNERS = 4
"""Owners kept per object (a list: the newest last), plus room for the read marker."""
_READ = ""
"""Appended to an owner list to read it (the store's only list read appends); skipped on reading."""
_CREATED, _LISTED, _LOGIN = "c", "l", "i"
_HOW = {_CREATED: "created", _LISTED: "listed", _LOGIN: "login_response"}
_IDENTITY = "@identity"
"""The collection of identities a login response returned (never a route: routes start with '/')."""
_WRITES = frozenset({"PUT", "PATCH", "DELETE"})
_DATA_READ = frozenset({200, 203, 206})
_MAX_PARAMETERS = 4
_MAX_VALUE = 128
_MAX_COLLECTION = 256
_LOGIN_IDS = 4


def _succeeded(obs: Observation) -> bool:
    return obs.status is not None and 200 <= obs.status < 300


def route_parameters(route: str, path: str) -> list[str]:
    """Values of the route template's parameters in `path` (`/users/{name}` and `/users/alice`
    give `["alice"]`), at most four; none when the route is no template or does not line up."""
    if route == path or "/" not in route:
        return []
    template = route.split("/", 33)
    segments = path.partition("?")[0].split("/", 33)
    if len(template) != len(segments) or len(template) > 33:
        return []
    values = [value for name, value in zip(template, segments, strict=True) if value and is_parameter(name)]
    return [value for value in values if len(value) <= _MAX_VALUE][:_MAX_PARAMETERS]


class Ownership:
    """Who owns which object, in a `StateStore`: per (service, collection, object ID), marks for
    each owner and for "owned by someone", and a short list of owners for the evidence."""

    def __init__(self, prefix: str, ttl_s: float) -> None:
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, kind: str, service: str, collection: str, object_id: str = "") -> str:
        return f"{self.prefix}.{kind}|{service}|{collection[:_MAX_COLLECTION]}|{object_id[:_MAX_VALUE]}"

    def shared(self, store: StateStore, service: str, collection: str) -> bool:
        return store.marked(self._key("s", service, collection), _ANY)

    def record(self, store: StateStore, service: str, collection: str, object_id: str, principal: str, how: str) -> None:
        """`principal` owns the object; a second owner makes the whole collection shared."""
        key = self._key("o", service, collection, object_id)
        if store.marked(key, principal):
            return
        if store.marked(key, _ANY):
            store.mark(self._key("s", service, collection), _ANY, self.ttl_s)
        store.mark(key, principal, self.ttl_s)
        store.mark(key, _ANY, self.ttl_s)
        store.recent(self._key("l", service, collection, object_id), f"{how}:{principal}", _MAX_OWNERS, self.ttl_s)

    def foreign(self, store: StateStore, service: str, collection: str, object_id: str, principal: str) -> bool:
        """Owned by someone, not by `principal`, in a collection not shared."""
        key = self._key("o", service, collection, object_id)
        return (not store.marked(key, principal) and store.marked(key, _ANY)
                and not self.shared(store, service, collection))

    def owner(self, store: StateStore, service: str, collection: str, object_id: str) -> tuple[str, str]:
        """The newest owner's pseudonym and how it was learned (`created`, `listed`,
        `login_response`); empty strings when the list expired."""
        values = store.recent(self._key("l", service, collection, object_id), _READ, _MAX_OWNERS + 1, self.ttl_s)
        for value in reversed(values):
            how, _, principal = value.partition(":")
            if principal:
                return principal, _HOW.get(how, how)
        return "", ""


class _Admins:
    """Configured administrators, and those learned from successful privileged calls."""

    def __init__(self, prefix: str, config: CorrelationConfig) -> None:
        self.prefix = prefix
        self.config = config
        self.configured = frozenset(config.bola_admin_principals)
        self._bfla = Bfla(config)

    def learn(self, obs: Observation, store: StateStore, principal: str, where: dict[str, str]) -> None:
        cfg = self.config
        if not cfg.bola_admin_privileged_successes or not self._bfla.is_privileged(where[METHOD], where[ROUTE]):
            return
        calls = store.count(f"{self.prefix}.pc|{principal}", obs.time_s, cfg.bola_ownership_s)
        if calls >= cfg.bola_admin_privileged_successes:
            store.mark(f"{self.prefix}.admin", principal, cfg.bola_ownership_s)

    def exempt(self, store: StateStore, principal: str) -> bool:
        return principal in self.configured or (
            bool(self.config.bola_admin_privileged_successes) and store.marked(f"{self.prefix}.admin", principal))


class _KeyedCorrelator:
    """Shared set-up: config, the object-hash key and the admin list."""

    rule: Rule
    prefix: str

    def __init__(self, config: CorrelationConfig, hmac_key: bytes = b"") -> None:
        self.config = config
        self.keyed = bool(hmac_key)
        """The deployment's pseudonym key was given: parameter values can be matched to principals."""
        self._key = deployment_key(hmac_key)
        self.admins = _Admins(self.prefix, config)
        self.ownership = Ownership(self.prefix, config.bola_ownership_s)

    def hashed(self, value: str) -> str:
        return keyed_hash(self._key, value)

    def id_hashes(self, ids: tuple[str, ...], hashes: tuple[str, ...], limit: int) -> list[str]:
        """Object IDs as ownership is kept: keyed hashes, of the IDs a captured body gave or as the
        SDK sent them (`Observation.*_id_hashes`), at most `limit`."""
        found = [self.hashed(object_id) for object_id in ids[:limit]]
        return found + list(hashes[:limit - len(found)])

    def _fire(self, store: StateStore, obs: Observation, subject: dict[str, str], evidence_of: Evidence,
              message: str, owner_of: tuple[str, str, str] | None = None,
              owner_field: str = "owner_principal") -> list[CorrelationFinding]:
        """Like `base.fire`; the owner of `owner_of` (service, collection, object ID) is read only
        once the claim is won (reading an owner list appends to it)."""
        key = group_key(self.rule.kind, subject)
        if not store.claim("claim|" + key, self.config.cooldown_s):
            return []
        evidence = dict(evidence_of)
        if owner_of is not None:
            owner, how = self.ownership.owner(store, *owner_of)
            evidence[owner_field] = owner
            evidence["ownership"] = how
        return [CorrelationFinding(self.rule, obs, dict(subject), evidence, message, None, key)]


class Bola(_KeyedCorrelator):
    name = correlator_name(BOLA)
    rule = BOLA
    prefix = "bola"

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        principal = obs.principal
        if not principal or not _succeeded(obs):
            return []
        where = endpoint(obs)
        self.admins.learn(obs, store, principal, where)
        route = where[ROUTE].partition("?")[0]
        collection, _, last = route.rpartition("/")
        findings: list[CorrelationFinding] = []
        service = obs.service
        if obs.object_ids and is_parameter(last):
            findings += self._access(obs, store, principal, where, collection or "/", self.hashed(obs.object_ids[-1]))
        elif (obs.resource_ids or obs.resource_id_hashes) and where[METHOD] in ("POST", "GET"):
            # After the access check: a response naming the requested object excuses nothing.
            how = _CREATED if where[METHOD] == "POST" else _LISTED
            if not self.ownership.shared(store, service, route):
                for object_id in self.id_hashes(obs.resource_ids, obs.resource_id_hashes, self.config.bola_listing_ids):
                    self.ownership.record(store, service, route, object_id, principal, how)
        return findings

    def _access(self, obs: Observation, store: StateStore, principal: str, where: dict[str, str], collection: str,
                object_id: str) -> list[CorrelationFinding]:
        if not self.ownership.foreign(store, obs.service, collection, object_id, principal):
            return []
        if self.admins.exempt(store, principal):
            return []
        subject = {PRINCIPAL: principal} | where
        evidence: Evidence = {"object": object_id, "collection": collection, "status": obs.status or 0}
        return self._fire(
            store, obs, subject, evidence,
            f"{where[METHOD]} {where[ROUTE]} answered {obs.status} to a principal other than the object's owner",
            owner_of=(where[SERVICE], collection, object_id),
        )


class PathPrincipal(_KeyedCorrelator):
    name = correlator_name(PATH_PRINCIPAL)
    rule = PATH_PRINCIPAL
    prefix = "pp"

    def observe(self, obs: Observation, store: StateStore) -> list[CorrelationFinding]:
        principal = obs.principal
        if not principal:
            return []
        if obs.is_login:
            if obs.login_succeeded is True:
                for object_id in self.id_hashes(obs.response_ids, obs.response_id_hashes, _LOGIN_IDS):
                    self.ownership.record(store, obs.service, _IDENTITY, object_id, principal, _LOGIN)
            return []
        if not _succeeded(obs):
            return []
        where = endpoint(obs)
        self.admins.learn(obs, store, principal, where)
        findings: list[CorrelationFinding] = []
        method = where[METHOD]
        if method in _WRITES or (method == "GET" and obs.status in _DATA_READ):
            findings = self._check(obs, store, principal, where)
        if self.keyed:
            store.mark(f"{self.prefix}.who", principal, self.config.bola_ownership_s)
        return findings

    def _named(self, obs: Observation, store: StateStore, principal: str,
               value: str) -> tuple[str, tuple[str, str, str] | None] | None:
        """Whom `value` names besides the caller: (their pseudonym, None), or ("", the identity's
        owner list to read) for an ID a login returned (kept, as every object ID, as its keyed hash);
        None when it names the caller or nobody known."""
        if self.keyed:
            hashes = {self.hashed(value), self.hashed(value.lower())}
            if principal in hashes:
                return None
            for named in sorted(hashes):
                if store.marked(f"{self.prefix}.who", named):
                    return named, None
        if not is_object_id(value):
            return None
        object_id = self.hashed(normalize_id(value))
        if not self.ownership.foreign(store, obs.service, _IDENTITY, object_id, principal):
            return None
        return "", (obs.service, _IDENTITY, object_id)

    def _check(self, obs: Observation, store: StateStore, principal: str,
               where: dict[str, str]) -> list[CorrelationFinding]:
        for position, value in enumerate(route_parameters(obs.route, obs.path)):
            named = self._named(obs, store, principal, value)
            if named is None:
                continue
            if self.admins.exempt(store, principal):
                return []
            subject = {PRINCIPAL: principal} | where
            evidence: Evidence = {"parameter": position, "status": obs.status or 0}
            if named[1] is None:
                evidence |= {"named_principal": named[0], "ownership": "pseudonym"}
            what = "changed" if where[METHOD] in _WRITES else "read"
            return self._fire(store, obs, subject, evidence,
                              f"{where[METHOD]} {where[ROUTE]}: a principal {what} what the path names as another "
                              "principal's", owner_of=named[1], owner_field="named_principal")
        return []
