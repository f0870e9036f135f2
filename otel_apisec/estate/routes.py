"""Route templates from raw paths, for calls whose span carries no `http.route`.

Two steps, because the first runs on every call and the second on a snapshot:

- `typed_path(path)`: stateless. Segments that are values on sight (integers, UUIDs, hashes,
  mixed alphanumeric IDs, dates, tokens, emails, long digit runs, anything that needed
  percent-encoding) become `{id}` at once, so nothing personal or secret is ever stored.
- `infer_templates(observed)`: over the typed paths of one service. String segments (user names,
  slugs, repository names) become parameters only on evidence, gathered in a trie of segments:
  several distinct values at one position, siblings whose subtrees share sub-resources, siblings
  whose request/response keys match. Literal siblings are never merged: a lowerCamelCase or
  dotted method name, a version, an action or "self" word (`login`, `search`, `me`, `count`...)
  stays literal, and so does a literal beside a typed parameter unless its keys or subtree say it
  is one more value of it (a tag beside digests), or siblings linked by their own evidence make a
  group of values there, judged as among literals (`…/attestations/{attestation_id}` for DELETE
  beside `…/attestations/{subject_digest}` for GET); a sibling whose keys contradict the typed
  parameter's is another endpoint and takes part in neither.

Thresholds, and where they come from:

- APIClarity's speculator (`pkg/spec/path_params.go`) templates typed segments only: digits,
  UUIDs, and "mixed" strings of 8+ characters with 3+ digits; user names are never templated, a
  human approves the merges. `paths.is_mixed_id` is the finer version here (`x7k2p` yes,
  `sha256` no).
- Akto's `APICatalogSync` merges string segments when `STRING_MERGING_THRESHOLD = 10` URLs differ
  in that one token and their request/response parameter sets are within 20% of each other, and
  never templates an English dictionary word. Akto's 10 is kept for values with no evidence but
  their number (bare leaves: no keys, no sub-resources). With evidence (keys that overlap for a
  method both saw, or shared sub-resources) fewer values do: 3 below a plain literal (a
  collection: `/users/…`), 5 after a parameter, a version, a `me`-like word, an API prefix or the
  root, where literal sub-resources live. Key sets that do not overlap (Jaccard < 0.5) veto a
  merge; siblings that have sub-resources must share them (recurrence >= 0.25); a group of mostly
  plural nouns is a list of collections. After a parameter, where sub-resources and actions live,
  count alone never merges bare leaves, and shared sub-resources alone need 10 values unless two
  members' keys agree (`/orgs/{org}/actions/secrets` beside `…/dependabot/secrets`); a sibling
  with keys of its own joins a group only on keys that agree. The word list stands in for Akto's
  dictionary, for the words routers actually use. A sibling with no keys whose only child is a typed parameter
  (`…/teams/{team_slug}/{role_id}`) has the shape of a bare leaf and counts like one; a few such
  siblings are collections (`/git/blob/{sha}`, `/git/tree/{sha}`), `MANY_VALUES` are values.
- A group of fewer than 10 is a closed set of literals, not values, when it is called again and
  again and nothing new turns up: Good-Turing's chance of an unseen value (the share of calls to
  members seen once) below `UNSEEN_SHARE` after `CLOSED_CALLS` calls per member, unless the
  members share sub-resources (`/images/custom`, `…/github-owned`, `…/partner`). So is a family of
  compound names sharing two whole leading or trailing tokens (`users-1-day`, `repos-1-day`).
  When other siblings at the position are already accepted as values, a group is judged closed
  or not together with them: a few popular users beside many bodyless ones are an open set.
- Collections of one population (`/users/alice`, `/orgs/alice`, `/repos/alice/…`; `…/readme/main`,
  `…/zipball/main`) share children that are values, not sub-resources. Shared children link
  siblings only when the keys one level down agree, and count as shared sub-resources (against
  the closed-set rule) only when, pooled and inferred one level ahead, most of them stay literal,
  or the values they turn out to be have sub-resources in common (`/repos/alice/{repo}/issues`).
- One value alone, or two, stays literal: nothing tells `/users/alice` from `/users/search`
  until more values show up (typed_path has already removed anything personal or secret) ...
- ... unless the service accepts that value elsewhere: the same users, organizations and
  repositories appear under many routes. A second pass (`REUSE_PASSES` = 1, so two passes in
  all) takes the values merged by the first, from groups of `MANY_VALUES` or more (an open
  population; a few may be an enum whose words routers also use as literals), as evidence: a
  linked sibling group holding one of them is a parameter however few its values, unless the
  literal rules above keep it literal (literal words, closed set, literal family, plural nouns,
  sub-resources not shared, keys that disagree). Beside a typed parameter, siblings whose keys
  contradict it take no part.

Pure, deterministic (the output does not depend on the input order) and bounded: at most
`MAX_OBSERVED` distinct (method, path) pairs take part in the inference (the most called first);
any beyond map to their typed path unchanged. Work is linear in the number of trie nodes, with a
bounded cost per node, times two passes (the one-level look-ahead looks at most
`_MAX_CHILDREN_SEEN` children and grandchildren per node, and at most `_MAX_SEEDS` groups per
position are tried). On the bench (bench/route_inference.py: 1478 routes, ~20,000 calls, 10
services) one run over all services takes about 0.6 s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from urllib.parse import unquote

from otel_apisec.attributes import REDACTED
from otel_apisec.paths import ID_PLACEHOLDER, is_variable_segment, is_version

__all__ = [
    "MAX_OBSERVED",
    "ObservedPath",
    "infer_templates",
    "is_literal_word",
    "typed_path",
]

MAX_OBSERVED = 50_000
"""Distinct (method, typed path) pairs one `infer_templates` call infers from."""
_MAX_NODES = 400_000
"""Trie nodes one call builds; paths that would add more keep their typed path."""
_MAX_PATH = 2048
"""Characters of a raw path looked at; the rest is dropped (a `{rest}` segment marks it)."""
_MAX_SEGMENTS = 32
_MAX_LITERAL = 64
"""A longer segment is data (a title slug, an encoded blob), not a route literal."""
_MAX_TEMPLATE = 200
_MAX_KEYS = 256
_MAX_CHILDREN_SEEN = 64
"""Literal children per candidate that take part in the shape evidence."""
_MAX_KEY_BUCKETS = 128
_MAX_AFFIX_TOKENS = 8
"""Separator-delimited tokens of a segment compared for a shared affix."""
_MAX_SEEDS = 16
"""Linked groups per position tried as a parameter (the largest first)."""

_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")

FEW_VALUES = 3
"""Distinct values that make a parameter below a plain literal (a collection), with evidence."""
SOME_VALUES = 5
"""Distinct values that make a parameter after a parameter, a version, `me` or the root, with evidence."""
MANY_VALUES = 10
"""Distinct values that make a parameter with no evidence but their number (Akto's threshold)."""
RECURRENCE = 0.25
"""Share of sub-resource occurrences that must recur among siblings that have sub-resources."""
CLOSED_CALLS = 3
"""Calls per sibling from which a group of few can be judged a closed set of literals."""
UNSEEN_SHARE = 0.1
"""Good-Turing chance of an unseen value (share of calls to values seen once) below which a group
of few siblings is a closed set of literals."""
REUSE_PASSES = 1
"""Passes after the first that take the values accepted by the pass before as evidence."""
KEY_OVERLAP = 0.5
"""Jaccard overlap of two key sets from which they count as the same endpoint's; below, a veto."""

# Words that are route literals wherever they appear: "self" words that stand for an object, and
# the actions, queries and meta resources of REST and RPC-style APIs. A value is rarely one of them.
_SELF_WORDS = frozenset(
    "me my mine self current own whoami latest first last next previous new all none "
    "recent popular featured top trending random public private shared".split()
)
_ACTION_WORDS = frozenset(
    """
    login logout signin signout signup register authorize authenticate auth oauth token tokens
    refresh revoke verify validate validation confirm reset activate deactivate enable disable
    lock unlock approve reject cancel retry restart start stop pause resume suspend terminate
    abort submit publish unpublish archive unarchive restore undelete clone copy move rename
    merge sync import export upload download preview render search find query filter lookup
    autocomplete suggest count stats statistics summary metrics health healthz livez readyz ping
    status info version versions config configuration settings preferences profile batch bulk
    create list get set update delete remove add edit check test run execute exec invoke trigger
    schedule scan calculate estimate convert transfer send share invite join leave follow
    unfollow subscribe unsubscribe like unlike star unstar pin unpin mute unmute block unblock
    report mark read unread close open reopen assign unassign attach detach link unlink accept
    decline complete contains exists available options metadata schema openapi swagger docs
    capabilities permissions callback webhook webhooks notifications log logs history audit diff
    compare
    """.split()
)
_LITERAL_WORDS = _SELF_WORDS | _ACTION_WORDS
_NAMESPACE_WORDS = frozenset("api apis rest rpc graphql service services".split())
"""API prefixes: what follows them are resources (literals), as after a parameter."""


def _is_lower_camel(word: str) -> bool:
    return bool(word) and word[0].islower() and word.isalpha() and not word.islower()


def is_literal_word(segment: str) -> bool:
    """A segment that is a route literal on sight: an action or "self" word (`login`, `search`,
    `me`), a version (`v2`), a lowerCamelCase method (`findByStatus`), or a dotted method name
    with such a part (`chat.postMessage`, `users.info`). Never merged into a parameter."""
    if segment.lower() in _LITERAL_WORDS or is_version(segment) or _is_lower_camel(segment):
        return True
    if "." in segment:
        parts = segment.split(".", 8)
        return len(parts) > 1 and all(parts) and any(p.lower() in _LITERAL_WORDS or _is_lower_camel(p) for p in parts)
    return False


def _is_placeholder(segment: str) -> bool:
    return (
        len(segment) > 2
        and segment[0] == "{"
        and segment[-1] == "}"
        and len(segment) <= 66
        and all(c in _NAME_CHARS for c in segment[1:-1])
    )


def _typed_segment(raw: str) -> str:
    if _is_placeholder(raw):
        return raw
    segment = unquote(raw, errors="replace") if "%" in raw else raw
    if (
        len(segment) > _MAX_LITERAL
        or not all(c in _URL_SAFE for c in segment)
        or is_variable_segment(segment)
        or is_variable_segment(raw)
        or REDACTED in segment  # a value redaction masked (an email in the path) before the inventory saw it
    ):
        return ID_PLACEHOLDER
    return segment


def _bounded(template: str) -> str:
    if len(template) <= _MAX_TEMPLATE:
        return template
    # The digest is of the typed template, which holds no value that typed_path would hide.
    digest = hashlib.blake2b(template.encode("utf-8", "replace"), digest_size=8).hexdigest()
    return f"{template[:_MAX_TEMPLATE]}…{digest}"


def typed_path(path: str) -> str:
    """The path with every segment that is a value on sight replaced by `{id}`: integers, UUIDs,
    hex and hash strings, mixed alphanumeric IDs (`a1b2c3d4`, `ord_8f3k2`), dates, tokens,
    emails, long digit runs, and segments that needed percent-encoding (spaces, non-ASCII) or
    are longer than a literal can be. Words (`me`, `login`, `findByStatus`, `v1`) and string
    values (user names, slugs) stay: `infer_templates` decides those.

    The query and fragment are dropped, segments percent-decoded, empty segments and a trailing
    slash removed; at most 32 segments and 2048 characters are read, and the result is at most
    about 220 characters (a longer one ends in a digest), so it can be stored as a key.
    """
    head = path[:_MAX_PATH]
    truncated = len(path) > _MAX_PATH
    head = head.partition("?")[0].partition("#")[0]
    if "://" in head[:12]:
        head = "/" + head.partition("://")[2].partition("/")[2]
    segments: list[str] = []
    for raw in head.split("/", _MAX_SEGMENTS * 4):
        if raw in ("", "."):
            continue
        if len(segments) == _MAX_SEGMENTS:
            truncated = True
            break
        segments.append(_typed_segment(raw))
    if truncated:
        segments.append("{rest}")
    return _bounded("/" + "/".join(segments))


@dataclass(frozen=True, slots=True)
class ObservedPath:
    """One endpoint as seen in traffic, before inference: the method, its typed path, how often
    it was called, and the top-level keys of its request and response bodies (for an array of
    objects, the items' keys prefixed with `[]`, so a list never looks like one object)."""

    method: str
    path: str
    calls: int = 1
    request_keys: frozenset[str] = frozenset()
    response_keys: frozenset[str] = frozenset()


class _Node:
    __slots__ = ("calls", "children", "ends", "keys", "methods")

    def __init__(self) -> None:
        self.calls = 0  # calls whose path passes through this node
        self.children: dict[str, _Node] = {}
        self.ends: list[int] = []
        self.keys: set[str] = set()  # "METHOD q:name" (request) and "METHOD r:name" (response)
        self.methods: set[str] = set()


_PARAM = "{}"
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


@dataclass(slots=True)
class _Summary:
    """What the nodes of one literal (or of the typed parameter) at a position show."""

    keys: frozenset[str]  # method-qualified, as in _Node.keys
    by_method: dict[str, frozenset[str]]
    methods: frozenset[str]
    literal_children: frozenset[str]
    has_children: bool
    calls: int
    child_keys: dict[str, frozenset[str]]  # the children's keys, by method (what one level down returns)
    child_nodes: dict[str, list[_Node]]  # the literal children (at most _MAX_CHILDREN_SEEN of them)


def _summary(nodes: list[_Node]) -> _Summary:
    keys: set[str] = set()
    methods: set[str] = set()
    children: set[str] = set()
    child_keys: set[str] = set()
    child_nodes: dict[str, list[_Node]] = {}
    has_children = False
    calls = 0
    for node in nodes:
        calls += node.calls
        if len(keys) < _MAX_KEYS:
            keys |= node.keys
        methods |= node.methods
        if node.children:
            has_children = True
            for seen, (segment, child) in enumerate(node.children.items()):
                if seen >= _MAX_CHILDREN_SEEN:
                    break
                if segment != _PARAM and (segment in children or len(children) < _MAX_CHILDREN_SEEN):
                    children.add(segment)
                    child_nodes.setdefault(segment, []).append(child)
                if len(child_keys) < _MAX_KEYS:
                    child_keys |= child.keys
    return _Summary(
        frozenset(keys),
        _by_method(keys),
        frozenset(methods),
        frozenset(children),
        has_children,
        calls,
        _by_method(child_keys),
        child_nodes,
    )


def _by_method(keys: set[str]) -> dict[str, frozenset[str]]:
    by_method: dict[str, set[str]] = {}
    for key in keys:
        method, _, name = key.partition(" ")
        by_method.setdefault(method, set()).add(name)
    return {m: frozenset(k) for m, k in by_method.items()}


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b)


def _agrees(a: _Summary, b: _Summary) -> bool | None:
    """Key evidence, method by method: True when both have keys for a method and they overlap for
    every such method, False when they do not overlap for one, None when no method has keys on
    both sides."""
    return _keys_agree(a.by_method, b.by_method)


def _subtrees_agree(a: _Summary, b: _Summary) -> bool:
    """Shared children are evidence only when what lies below agrees: values of one parameter
    (`/repos/alice/…`, `/repos/bob/…`) have children that return the same keys; collections whose
    children are values of one population (`…/branches/{name}`, `…/environments/{name}`, both
    holding words of one pool) share children and return different keys."""
    return _keys_agree(a.child_keys, b.child_keys) is not False


def _keys_agree(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> bool | None:
    verdict = None
    for method, keys in a.items():
        other = b.get(method)
        if other is None:
            continue
        if _overlap(keys, other) < KEY_OVERLAP:
            return False
        verdict = True
    return verdict


class _Components:
    """Union-find over candidate names."""

    def __init__(self, names: Iterable[str]) -> None:
        self.parent = {name: name for name in names}

    def find(self, name: str) -> str:
        root = name
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[name] != root:
            self.parent[name], name = root, self.parent[name]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller name is the root, so the result does not depend on the order of unions.
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[str]]:
        by_root: dict[str, list[str]] = {}
        for name in sorted(self.parent):
            by_root.setdefault(self.find(name), []).append(name)
        return list(by_root.values())


def _shares_children(members: list[str], summaries: dict[str, _Summary]) -> bool:
    """Siblings with sub-resources look alike when their sub-resources recur: values of one
    parameter (`/repos/{owner}/r1/issues`, `…/r2/issues`) share a small set of them, distinct
    resources whose children are values of their own (`/pokemon/pikachu`, `/berry/cheri`) share
    next to none. Recurrence is 1 - distinct/total over the children of the members that have some."""
    with_children = [summaries[m] for m in members if summaries[m].has_children]
    if len(with_children) < 2:
        return True
    total = sum(len(s.literal_children) for s in with_children)
    if total == 0:
        # Each owns a typed child only: a few are collections (`/users/{id}`, `/groups/{id}`),
        # many are values (`…/teams/{team_slug}/{role_id}`), by count alone.
        return len(members) >= MANY_VALUES
    distinct = len(frozenset().union(*(s.literal_children for s in with_children)))
    return 1 - distinct / total >= RECURRENCE


def _values_beside_param(candidates: list[str], summaries: dict[str, _Summary], param: _Summary) -> set[str]:
    """Literals beside a typed parameter stay literal, unless their keys match the parameter's or
    they share its sub-resources (a tag `latest` beside digests)."""
    values = set()
    for name in candidates:
        summary = summaries[name]
        agrees = _agrees(summary, param)
        if agrees is False:
            continue
        if agrees or (summary.literal_children & param.literal_children):
            values.add(name)
    return values


def _linked(candidates: list[str], summaries: dict[str, _Summary]) -> _Components:
    """Siblings linked by evidence that they are values of one parameter."""
    components = _Components(candidates)
    # Key evidence: equal key sets at once, overlapping ones bucket by bucket (bounded).
    buckets: dict[frozenset[str], list[str]] = {}
    bare: list[str] = []
    for name in candidates:
        summary = summaries[name]
        if summary.keys:
            buckets.setdefault(summary.keys, []).append(name)
        elif not summary.literal_children:
            bare.append(name)
    representatives = sorted(members[0] for members in buckets.values())[:_MAX_KEY_BUCKETS]
    for members in buckets.values():
        for other in members[1:]:
            components.union(members[0], other)
    for i, a in enumerate(representatives):
        for b in representatives[i + 1 :]:
            if _agrees(summaries[a], summaries[b]):
                components.union(a, b)
    # Shape evidence: siblings sharing a sub-resource, unless their keys disagree.
    holders: dict[str, list[str]] = {}
    for name in candidates:
        for child in summaries[name].literal_children:
            holders.setdefault(child, []).append(name)
    for names in holders.values():
        for other in names[1:]:
            first, second = summaries[names[0]], summaries[other]
            if _agrees(first, second) is not False and _subtrees_agree(first, second):
                components.union(names[0], other)
    # Bare leaves (no keys, no children) agree with each other: count is their only evidence.
    for other in bare[1:]:
        components.union(bare[0], other)
    return components


def _is_literal_group(
    extended: list[str], members: list[str], summaries: dict[str, _Summary], look_ahead: bool, beside: set[str]
) -> bool:
    """The rules that keep a group of siblings literal, whatever the evidence for merging it.
    `beside`: siblings already accepted as values at this position. The position then holds an
    open set, so whether the set is closed is judged over the group and them together."""
    return (
        not _shares_children(extended, summaries)
        or _plural_nouns(extended)
        or _plural_nouns(members)
        or _closed_set(sorted(beside.union(extended)), summaries, look_ahead)
        or _literal_family(extended)
    )


def _values_among_literals(
    candidates: list[str], summaries: dict[str, _Summary], after_collection: bool, look_ahead: bool = True
) -> set[str]:
    components = _linked(candidates, summaries)
    # Each linked group, with the siblings that do not contradict it, is a candidate parameter; it
    # is one when it holds enough distinct values (fewer below a collection, with key evidence).
    accepted: set[str] = set()
    seeds = sorted((g for g in components.groups() if len(g) > 1), key=lambda g: (-len(g), g[0]))[:_MAX_SEEDS]
    for members in seeds:
        if members[0] in accepted:
            continue
        extended = _extend(members, [c for c in candidates if c not in accepted], summaries)
        # Bare leaves (no keys, no sub-resources) agree only by their number, and only below a
        # collection: after a parameter, bodyless sub-resources and actions (`…/{run_id}/rerun`,
        # `…/{repo}/subscription`) are as many as values would be.
        evidence = any(summaries[m].keys or summaries[m].literal_children for m in members)
        if not evidence and not after_collection:
            continue
        needed = (FEW_VALUES if after_collection else SOME_VALUES) if evidence else MANY_VALUES
        if not after_collection and sum(1 for m in members if summaries[m].keys) < 2:
            # Shared sub-resources alone, after a parameter: a handful of products with the same
            # sub-resources (`/orgs/{org}/actions/secrets`, `…/dependabot/secrets`) look like
            # values; a second string parameter (`/repos/{owner}/{repo}/…`) shows many more.
            # Keys count here only when two members have keys that agree.
            needed = MANY_VALUES
        if len(extended) >= needed and not _is_literal_group(extended, members, summaries, look_ahead, accepted):
            accepted.update(extended)
    return accepted


def _values_by_reuse(
    candidates: list[str], summaries: dict[str, _Summary], known: frozenset[str], beside: set[str]
) -> set[str]:
    """Siblings that hold a value the service already accepts at another position (a user name of
    `/users/{user}` seen once under `/orgs/acme/members/`): a linked group holding one such value
    is a parameter, however few its values, unless the literal rules keep it literal (a closed
    set, a literal family, plural nouns, sub-resources not shared, keys that disagree: the
    group is linked and extended only where keys do not contradict each other)."""
    if not any(c in known for c in candidates):
        return set()
    accepted: set[str] = set()
    groups = [g for g in _linked(candidates, summaries).groups() if any(m in known for m in g)]
    for members in sorted(groups, key=lambda g: (-len(g), g[0]))[:_MAX_SEEDS]:
        if members[0] in accepted:
            continue
        extended = _extend(members, [c for c in candidates if c not in accepted], summaries)
        if not _is_literal_group(extended, members, summaries, True, beside | accepted):
            accepted.update(extended)
    return accepted


def _closed_set(members: list[str], summaries: dict[str, _Summary], look_ahead: bool = True) -> bool:
    """A few siblings, each called again and again, and no new one turning up: the literals of a
    fixed set (`/images/custom`, `…/github-owned`, `…/partner`), not values. Values come from a
    population in which a few are popular and most are rare, so among few of them several are seen
    once; Good-Turing estimates the chance that the next call brings an unseen value as the share
    of calls that went to values seen once. Below `UNSEEN_SHARE`, after `CLOSED_CALLS` calls per
    member, the set is closed. Groups of `MANY_VALUES` or more are values whatever their calls, and
    so are groups whose members share sub-resources (`/repos/{owner}/…`): a few users who call
    again and again are still values when their subtrees say so."""
    if len(members) >= MANY_VALUES:
        return False
    if _shares_sub_resources(members, summaries, look_ahead):
        return False
    calls = [summaries[m].calls for m in members]
    total = sum(calls)
    once = sum(1 for c in calls if c == 1)
    return total >= CLOSED_CALLS * len(members) and once < UNSEEN_SHARE * total


def _shares_sub_resources(members: list[str], summaries: dict[str, _Summary], look_ahead: bool) -> bool:
    """Members share a child that is a sub-resource (`issues` under several owners), not a value
    that collections of one kind of value hold alike (`…/readme/{dir}`, `…/zipball/{ref}`, both
    holding branch names). With `look_ahead`, the members' children are pooled and inferred as
    the children of literals would be (one level only: no look-ahead inside). When most shared
    children come out as values, the members are values only if those values' own children are
    shared sub-resources (`/repos/alice/{repo}/issues`, `/repos/bob/{repo}/issues`): values
    holding values, not collections of one population (`/categories/{slug}`, `/changelogs/{slug}`)."""
    holders: dict[str, int] = {}
    pooled: dict[str, list[_Node]] = {}
    for member in members:
        for child, nodes in summaries[member].child_nodes.items():
            holders[child] = holders.get(child, 0) + 1
            pooled.setdefault(child, []).extend(nodes)
    shared = {child for child, count in holders.items() if count > 1}
    if not shared or not look_ahead:
        return bool(shared)
    candidates = [c for c in sorted(pooled) if not is_literal_word(c)]
    child_summaries = {c: _summary(pooled[c]) for c in candidates}
    values = _values_among_literals(candidates, child_summaries, True, look_ahead=False)
    if len(shared - values) * 2 > len(shared):
        return True
    grand_holders: dict[str, int] = {}
    for member in members:
        below: set[str] = set()
        for child, nodes in summaries[member].child_nodes.items():
            if child in values:
                for node in nodes:
                    below.update(islice((g for g in node.children if g != _PARAM), _MAX_CHILDREN_SEEN))
        for grandchild in below:
            grand_holders[grandchild] = grand_holders.get(grandchild, 0) + 1
    return any(count > 1 for count in grand_holders.values())


def _affix_tokens(name: str) -> list[str]:
    return name.replace("_", "-").split("-", _MAX_AFFIX_TOKENS)[:_MAX_AFFIX_TOKENS]


def _literal_family(members: list[str]) -> bool:
    """Compound names that all share the same two or more leading or trailing tokens
    (`organization-1-day`, `users-1-day`, `repos-1-day`): one naming scheme of a router's fixed
    set, not values, which are drawn independently and rarely share two whole tokens."""
    split = [_affix_tokens(m) for m in members]
    if any(len(tokens) < 3 for tokens in split):
        return False
    first = split[0]
    for take in (lambda t: t[:2], lambda t: t[-2:]):
        if all(take(tokens) == take(first) for tokens in split[1:]):
            return True
    return False


def _plural_nouns(members: list[str]) -> bool:
    """Collections are named with plural nouns (`pods`, `services`, `issues`); values rarely all
    end in `s`. A group that mostly does is a list of sub-resources."""
    plural = sum(1 for m in members if m.endswith("s") and not m.endswith("ss"))
    return plural * 4 >= len(members) * 3


def _extend(members: list[str], candidates: list[str], summaries: dict[str, _Summary]) -> list[str]:
    """The group plus the siblings that join it because nothing contradicts them: their keys
    overlap the group's for a method both have, they share its sub-resources, or they are leaves
    called only with the group's own methods or bodyless ones (a value seen once, with DELETE).
    A POST or PUT to an unknown word the values never saw is more likely an action
    (`/workflows/{namespace}/lint`, `…/{name}/resubmit`)."""
    group = set(members)
    children = frozenset().union(*(summaries[m].literal_children for m in members))
    keyed = [summaries[m] for m in members if summaries[m].keys][:_MAX_KEY_BUCKETS]
    methods = frozenset().union(*(summaries[m].methods for m in members))
    if methods:
        methods |= _BODYLESS
    extended = list(members)
    for name in candidates:
        if name in group:
            continue
        summary = summaries[name]
        votes = [_agrees(summary, member) for member in keyed]
        if False in votes and True not in votes:
            continue
        # A bare leaf has nothing to contradict the group; a sibling with keys of its own joins
        # only on keys that agree (a group of bare leaves cannot vouch for it).
        bare = not summary.literal_children and not summary.keys
        if True in votes or (summary.literal_children & children) or (bare and summary.methods <= methods):
            extended.append(name)
    return sorted(extended)


def _segment_name(previous: str | None) -> str:
    """`users` -> `user`, `categories` -> `category`; None or a non-word -> `id`."""
    if previous is None or not previous.replace("-", "").replace("_", "").isalpha() or is_version(previous):
        return "id"
    word = previous.lower().replace("-", "_")
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    return word[:32] or "id"


@dataclass(slots=True)
class _Position:
    nodes: list[_Node]
    segments: tuple[str, ...]
    names: frozenset[str]
    previous_literal: str | None  # None: the root, or a parameter
    after_collection: bool


def _is_collection(segment: str) -> bool:
    lower = segment.lower()
    return not (lower in _SELF_WORDS or lower in _NAMESPACE_WORDS or is_version(segment))


def _positions(root: _Node, known: frozenset[str], accepted: set[str]) -> Iterator[_Position]:
    """Positions of the trie, top-down, with string siblings merged on evidence. `known`: values
    accepted at some position by an earlier pass (reuse evidence); every value merged here is
    added to `accepted`."""
    stack = [_Position([root], (), frozenset(), None, False)]
    while stack:
        position = stack.pop()
        yield position
        literal: dict[str, list[_Node]] = {}
        typed: list[_Node] = []
        for node in position.nodes:
            for segment, child in node.children.items():
                if segment == _PARAM:
                    typed.append(child)
                else:
                    literal.setdefault(segment, []).append(child)
        names = sorted(literal)
        candidates = [s for s in names if not is_literal_word(s)]
        summaries = {s: _summary(literal[s]) for s in candidates}
        values: set[str] = set()
        rest = candidates
        if typed:
            param = _summary(typed)
            values = _values_beside_param(candidates, summaries, param)
            # Siblings whose keys contradict the typed parameter's are other endpoints; the rest
            # may still be values of their own (`…/attestations/{attestation_id}` for DELETE beside
            # `…/attestations/{subject_digest}` for GET), on the same evidence as among literals.
            rest = [c for c in candidates if c not in values and _agrees(summaries[c], param) is not False]
        if len(rest) > 1:
            values |= _values_among_literals(rest, summaries, position.after_collection)
        if known:
            values |= _values_by_reuse([c for c in rest if c not in values], summaries, known, values)
        if len(values) >= MANY_VALUES:
            # Only a large group is an open population whose values vouch for a position elsewhere;
            # a few (an enum: `npm`, `maven`, `docker`) may be words the router also uses as literals.
            accepted |= values
        for segment in reversed(names):
            if segment not in values:
                stack.append(
                    _Position(literal[segment], (*position.segments, segment), position.names, segment, _is_collection(segment))
                )
        group = typed + [node for s in sorted(values) for node in literal[s]]
        if group:
            base = _segment_name(position.previous_literal)
            if not values and base != "id":
                base += "_id"
            name, n = base, 1
            while name in position.names:
                n += 1
                name = f"{base}{n}"
            stack.append(_Position(group, (*position.segments, "{" + name + "}"), position.names | {name}, None, False))


def _segments(path: str) -> list[str]:
    return [_PARAM if _is_placeholder(s) else s for s in path.split("/") if s]


def infer_templates(observed: Iterable[ObservedPath]) -> dict[tuple[str, str], str]:
    """Map every observed (method, typed path) of one service to its route template.

    String segments become `{name}` parameters only on evidence (see the module docstring);
    typed placeholders are renamed after the previous segment (`/users/{user_id}`). The result
    does not depend on the order of `observed`.
    """
    merged: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for item in observed:
        key = (item.method.upper(), item.path)
        calls, keys = merged.get(key, (0, set()))
        if len(keys) < _MAX_KEYS:
            method = item.method.upper()
            keys |= {f"{method} q:{k}" for k in item.request_keys} | {f"{method} r:{k}" for k in item.response_keys}
        merged[key] = (calls + max(item.calls, 0), keys)
    ordered = sorted(merged, key=lambda k: (-merged[k][0], k))
    result: dict[tuple[str, str], str] = {key: key[1] for key in ordered}
    root, nodes = _Node(), 1
    inferred: list[tuple[str, str]] = []
    for key in ordered[:MAX_OBSERVED]:
        segments = _segments(key[1])
        if nodes + len(segments) > _MAX_NODES:
            break
        node = root
        calls = merged[key][0]
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _Node()
                nodes += 1
            node = child
            node.calls += calls
        node.ends.append(len(inferred))
        node.methods.add(key[0])
        keys = merged[key][1]
        if len(node.keys) + len(keys) <= _MAX_KEYS:
            node.keys |= keys
        else:
            node.keys |= set(sorted(keys)[: max(_MAX_KEYS - len(node.keys), 0)])
        inferred.append(key)
    # Pass 1 infers from each position's own evidence; pass 2 (the only other: `REUSE_PASSES`)
    # adds the values pass 1 accepted anywhere in the service as evidence at every position.
    accepted: set[str] = set()
    positions = list(_positions(root, frozenset(), accepted))
    for _ in range(REUSE_PASSES):
        if not accepted:
            break
        known, accepted = frozenset(accepted), set()
        positions = list(_positions(root, known, accepted))
    for position in positions:
        template = _bounded("/" + "/".join(position.segments))
        for node in position.nodes:
            for index in node.ends:
                result[inferred[index]] = template
    return result
