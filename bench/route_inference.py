"""How well route templates are inferred from raw paths, against public OpenAPI documents.

    .venv/bin/python bench/route_inference.py                 # table; exit 1 below target
    .venv/bin/python bench/route_inference.py --seed 7 --json

The ground truth comes from two npm registry packages, installed (never committed) by
`make bench-routes` (`cd bench/routes && npm ci --no-audit --no-fund`; exact versions pinned in
bench/routes/package.json and package-lock.json); `--data DIR` points at another node_modules:

- `@octokit/openapi` 23.0.2 (MIT), `generated/api.github.com.json`: GitHub's official REST API
  description, all 1223 operations (string parameters owner/repo/org/username beside literal
  siblings: the hardest realistic case);
- `@readme/oas-examples` 8.2.2 (MIT): `3.0/json/petstore.json` (20), `petstore-expanded.json` (4),
  `uspto.json` (3), `star-trek.json` (120, literal paths only), `readme-legacy.json` (36),
  `openapi-workshop/hoot.json` (5), `link-example.json` (6, Bitbucket-style
  `/2.0/repositories/{username}/{slug}`), `3.1/json/readme.json` (54), `train-travel.json` (7).

1478 routes in all; one service per document, every operation a route, the base path from
`servers[0]` (variables at their defaults). Local `$ref`s are followed for parameters, bodies and
responses. Traffic is generated from it, seeded: each operation is called 1 to ~200 times (12%
once, 10% twice, the rest 3 + a log-normal draw, median about 13); each path parameter gets
realistic values for its schema (integers, UUIDs, dates, enum members); bodies contribute their
documented top-level keys (first 2xx response). String parameters draw from one pool per service
and kind of value, as in a real API, where the same users, organizations and repositories appear
under many routes: the kind comes from the schema and the parameter's name (`kind_of`): strings
shaped like the documented example; user names (names with user, login, member, author); slugged
company names (a last token org, organization, enterprise, company, tenant); an owner, a user or
an organization at even odds; emails; and words or slugs for the rest. A pool holds 40 values,
the popular ones more often (weight 1/rank) on every route: a popular user shows up under
`/users/{username}`, `/repos/{owner}/…` and `/orgs/{org}/members/{username}` alike. (Before, each
resource had its own pool of 40; on seeds 1-3, the inference of that time went from F1
0.901/0.913/0.893 on that traffic to 0.067/0.063/0.062, with 1141 false merges, on this: root
collections and sub-resources sharing values of one population looked like values themselves.)
Words and slugs share one pool, so a label may be named like a repository: reuse evidence is
likely stronger here than in real traffic for that kind.
A generated string value never equals, case-insensitively, a literal path segment of
the same document, nor a word reserved as a route literal (`is_literal_word`: `login`, `me`,
`list`...; a value is redrawn, at most 20 times): a repository named `new` makes
`/repos/o/new/...` traffic that no inference, nor a person, could tell from the literal route,
and the issue requires `/users/me` and `/users/login` to stay literal beside `/users/{id}`.
Faker's word list is small and heavy in common words: on seed 1, before this rule, such
collisions caused 22 of the 38 false merges and about 120 of the 186 false splits. Every call
goes through `typed_path`, each service's observed paths through `infer_templates`, and the
templates are compared with the spec's by structure (which positions are parameters, not their
names):

- precision: inferred (method, template) pairs that are a spec route;
- recall: spec routes that were inferred;
- false merges: spec routes with a literal segment that came out as a parameter (target: 0);
- false splits: spec routes with a parameter that came out literal for some call;
- calls: the share of calls given their spec route's template (what an inventory shows per call).

An enum path parameter is a closed set of literals, so either form counts as right there. The
same figures are computed for the old behaviour, `otel_apisec.paths.route_template` alone.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from faker import Faker

from otel_apisec.estate.routes import ObservedPath, infer_templates, is_literal_word, typed_path
from otel_apisec.paths import route_template

DATA = Path(__file__).parent / "routes" / "node_modules"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
TARGET_F1 = 0.98
POOL = 40
"""Values per pool (one pool per service and kind of value)."""
PARAM = "{}"
_REDRAWS = 20

Structure = tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Operation:
    service: str
    method: str
    path: str  # base path included
    params: dict[str, dict]  # path parameter name -> schema
    request_keys: frozenset[str]
    response_keys: frozenset[str]

    @property
    def structure(self) -> Structure:
        return tuple(PARAM if s.startswith("{") else s for s in self.path.split("/") if s)

    def enums(self) -> dict[int, frozenset[str]]:
        """Positions of enum parameters: either a parameter or one of the literals is right."""
        out = {}
        for i, segment in enumerate(s for s in self.path.split("/") if s):
            schema = self.params.get(segment.strip("{}")) if segment.startswith("{") else None
            if schema and schema.get("enum"):
                out[i] = frozenset(str(v) for v in schema["enum"])
        return out


SETS = (
    # (service, document under node_modules): every operation of each document is a route.
    ("github", "@octokit/openapi/generated/api.github.com.json"),
    ("petstore", "@readme/oas-examples/3.0/json/petstore.json"),
    ("petstore-expanded", "@readme/oas-examples/3.0/json/petstore-expanded.json"),
    ("uspto", "@readme/oas-examples/3.0/json/uspto.json"),
    ("star-trek", "@readme/oas-examples/3.0/json/star-trek.json"),
    ("readme", "@readme/oas-examples/3.1/json/readme.json"),
    ("readme-legacy", "@readme/oas-examples/3.0/json/readme-legacy.json"),
    ("train-travel", "@readme/oas-examples/3.1/json/train-travel.json"),
    ("hoot", "@readme/oas-examples/3.0/json/openapi-workshop/hoot.json"),
    ("bitbucket-links", "@readme/oas-examples/3.0/json/link-example.json"),
)
_MAX_REF_DEPTH = 32


def _resolve(doc: dict, node: object, depth: int = 0) -> dict:
    """`node` with local `$ref`s followed (the documents use `#/components/...` only)."""
    while isinstance(node, dict) and "$ref" in node and depth < _MAX_REF_DEPTH:
        target: object = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]  # type: ignore[index]
        node, depth = target, depth + 1
    return node if isinstance(node, dict) else {}


def _properties(doc: dict, schema: dict, depth: int = 0) -> tuple[bool, frozenset[str]]:
    """(is an array, top-level property names), through `allOf`/`oneOf`/`anyOf`."""
    schema = _resolve(doc, schema)
    if depth > 8:
        return False, frozenset()
    if schema.get("type") == "array":
        return True, _properties(doc, schema.get("items") or {}, depth + 1)[1]
    names = set(schema.get("properties") or {})
    for combinator in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(combinator) or []:
            names |= _properties(doc, part, depth + 1)[1]
    return False, frozenset(names)


def _keys(doc: dict, holder: object) -> frozenset[str]:
    """Top-level keys of a request body or response, as the estate records them: an array of
    objects gives its items' keys, `[]`-prefixed."""
    content = _resolve(doc, holder).get("content") or {}
    media = next((v for k, v in content.items() if "json" in k), None) or next(iter(content.values()), {})
    if not media.get("schema"):
        return frozenset()
    array, names = _properties(doc, media["schema"])
    return frozenset("[]" + n for n in names) if array else names


def _base_path(doc: dict) -> str:
    server = (doc.get("servers") or [{"url": ""}])[0]
    url = server.get("url", "")
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    return urlsplit(url).path.rstrip("/") if "://" in url else url.rstrip("/")


def _path_schema(doc: dict, parameter: dict) -> dict:
    schema = _resolve(doc, parameter.get("schema") or {})
    if "type" not in schema and "enum" not in schema:
        for part in schema.get("oneOf") or schema.get("anyOf") or []:
            return _resolve(doc, part)
    return schema


def load(directory: Path) -> list[Operation]:
    operations = []
    for service, relative in SETS:
        file = directory / relative
        if not file.is_file():
            raise SystemExit(f"{file} is missing: run `make bench-routes` (npm ci in bench/routes) or pass --data DIR")
        doc = json.loads(file.read_text())
        base = _base_path(doc)
        for path, item in doc["paths"].items():
            item = _resolve(doc, item)
            shared = [_resolve(doc, p) for p in item.get("parameters") or []]
            for method in METHODS:
                op = item.get(method)
                if op is None:
                    continue
                parameters = shared + [_resolve(doc, p) for p in op.get("parameters") or []]
                params = {p["name"]: _path_schema(doc, p) for p in parameters if p.get("in") == "path"}
                responses = op.get("responses") or {}
                success = next((responses[c] for c in sorted(responses) if str(c).startswith("2")), {})
                operations.append(
                    Operation(
                        service,
                        method.upper(),
                        base + path,
                        params,
                        _keys(doc, op.get("requestBody") or {}),
                        _keys(doc, success),
                    )
                )
    return operations


_USER_WORDS = ("user", "login", "member", "author")
_ORG_WORDS = frozenset({"org", "organization", "enterprise", "company", "tenant"})


def kind_of(name: str, schema: dict) -> str:
    """The kind of value a string path parameter takes, from its schema and its name's class:
    values of one kind come from one pool per service, whatever the route (see the docstring)."""
    example = schema.get("example")
    if isinstance(example, str) and example:
        return "like:" + example
    lower = name.lower()
    if "owner" in lower:
        return "account"  # a user or an organization
    if any(w in lower for w in _USER_WORDS):
        return "user"
    if lower.replace("-", "_").split("_")[-1] in _ORG_WORDS:
        return "org"
    if "email" in lower:
        return "email"
    return "text"


@dataclass
class Values:
    """Path parameter values for one service, seeded."""

    rng: random.Random
    fake: Faker
    literals: frozenset[str] = frozenset()  # the document's literal path segments, lower-cased
    pools: dict[str, list[str]] = field(default_factory=dict)  # kind -> values, the popular first

    def _distinct(self, kind: str) -> str:
        """A string value that is none of the document's literal segments (case-insensitively) and
        no word reserved as a route literal (`is_literal_word`): see the module docstring. At most
        `_REDRAWS` draws, then a suffix makes it distinct."""
        value = self._string(kind)
        for _ in range(_REDRAWS):
            if value.lower() not in self.literals and not is_literal_word(value):
                break
            value = self._string(kind)
        else:
            value += "-x"
        return value

    def _string(self, kind: str) -> str:
        if kind.startswith("like:"):
            return "".join(self._like(c) for c in kind.removeprefix("like:"))
        if kind == "user":
            return self.fake.user_name()
        if kind == "org":  # "Smith, Jones and Brown" -> smith-jones-and-brown
            return "-".join("".join(c for c in w if c.isalnum()) for w in self.fake.company().lower().split())
        if kind == "email":
            return self.fake.email()
        if self.rng.random() < 0.5:
            return self.fake.word()
        return self.fake.slug()

    def _like(self, c: str) -> str:
        if c.isdigit():
            return self.rng.choice("0123456789")
        if c.islower():
            return self.rng.choice("abcdefghijklmnopqrstuvwxyz")
        if c.isupper():
            return self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return c

    def _pick(self, kind: str) -> str:
        pool = self.pools.get(kind)
        if pool is None:
            pool = self.pools[kind] = list(dict.fromkeys(self._distinct(kind) for _ in range(POOL)))
        # Zipf-like popularity, the same on every route: a popular user is popular everywhere.
        weights = [1 / (rank + 1) for rank in range(len(pool))]
        return self.rng.choices(pool, weights)[0]

    def value(self, name: str, schema: dict) -> str:
        kind, fmt = schema.get("type", "string"), schema.get("format")
        if schema.get("enum"):
            return str(self.rng.choice(schema["enum"]))
        if kind == "integer" or kind == "number":
            return str(self.rng.randint(1, 10 ** self.rng.randint(1, 7)))
        if fmt == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if fmt == "date":
            return self.fake.date()
        string_kind = kind_of(name, schema)
        if string_kind == "account":
            string_kind = "user" if self.rng.random() < 0.5 else "org"
        return self._pick(string_kind)


def calls_for(rng: random.Random) -> int:
    draw = rng.random()
    if draw < 0.12:
        return 1
    if draw < 0.22:
        return 2
    return min(200, 3 + int(math.exp(rng.gauss(2.3, 0.9))))


def fill(op: Operation, values: Values) -> str:
    segments = []
    for segment in op.path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            segment = values.value(name, op.params.get(name, {}))
        segments.append(segment)
    return "/".join(segments)


def structure(template: str) -> Structure:
    return tuple(PARAM if s.startswith("{") else s for s in template.partition("?")[0].split("/") if s)


def matches(spec: Operation, inferred: Structure) -> bool:
    expected = spec.structure
    if len(expected) != len(inferred):
        return False
    enums = spec.enums()
    for i, (e, got) in enumerate(zip(expected, inferred, strict=True)):
        if i in enums:
            if got != PARAM and got not in enums[i]:
                return False
        elif e != got:
            return False
    return True


@dataclass
class Score:
    routes: int = 0
    calls: int = 0
    calls_right: int = 0
    predicted: int = 0
    true_predicted: int = 0
    found: int = 0
    false_merges: list[str] = field(default_factory=list)
    false_splits: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_predicted / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.routes if self.routes else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Score) -> None:
        self.routes += other.routes
        self.calls += other.calls
        self.calls_right += other.calls_right
        self.predicted += other.predicted
        self.true_predicted += other.true_predicted
        self.found += other.found
        self.false_merges += other.false_merges
        self.false_splits += other.false_splits

    def as_dict(self) -> dict:
        return {
            "routes": self.routes,
            "predicted": self.predicted,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "calls_right": round(self.calls_right / self.calls, 4) if self.calls else 0.0,
            "false_merges": len(self.false_merges),
            "false_splits": len(self.false_splits),
            "false_merge_routes": sorted(self.false_merges),
            "false_split_routes": sorted(self.false_splits),
        }


def score(operations: list[Operation], calls: list[tuple[Operation, Structure]]) -> Score:
    """calls: (the operation that made the call, the template structure it was given)."""
    result = Score(routes=len(operations))
    by_method: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        by_method[op.method].append(op)
    predicted = {(op.method, got) for op, got in calls}
    result.predicted = len(predicted)
    result.true_predicted = sum(1 for method, got in predicted if any(matches(op, got) for op in by_method[method]))
    found = {op for op, got in calls if matches(op, got)}
    result.found = len(found)
    result.calls = len(calls)
    result.calls_right = sum(1 for op, got in calls if matches(op, got))
    merges, splits = set(), set()
    for op, got in calls:
        if len(got) != len(op.structure):
            continue
        enums = op.enums()
        for i, (e, g) in enumerate(zip(op.structure, got, strict=True)):
            if i in enums:
                continue
            if e != PARAM and g == PARAM:
                merges.add(f"{op.service} {op.method} {op.path}")
            elif e == PARAM and g != PARAM:
                splits.add(f"{op.service} {op.method} {op.path}")
    result.false_merges, result.false_splits = sorted(merges), sorted(splits)
    return result


def run(seed: int, directory: Path) -> dict:
    operations = load(directory)
    services: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        services[op.service].append(op)
    report: dict = {"seed": seed, "services": {}, "infer_ms": 0.0, "calls": 0}
    totals = {"inferred": Score(), "route_template": Score()}
    for service, ops in sorted(services.items()):
        rng = random.Random(f"{seed}:{service}")
        fake = Faker("en_US")
        fake.seed_instance(f"{seed}:{service}")
        literals = frozenset(s.lower() for op in ops for s in op.structure if s != PARAM)
        values = Values(rng, fake, literals)
        raw_calls: list[tuple[Operation, str]] = []
        for op in ops:
            for _ in range(calls_for(rng)):
                raw_calls.append((op, fill(op, values)))
        observed: dict[tuple[str, str], list] = {}
        for op, raw in raw_calls:
            key = (op.method, typed_path(raw))
            entry = observed.setdefault(key, [0, set(), set()])
            entry[0] += 1
            entry[1] |= op.request_keys
            entry[2] |= op.response_keys
        started = time.perf_counter()
        templates = infer_templates(
            ObservedPath(m, p, n, frozenset(q), frozenset(r)) for (m, p), (n, q, r) in observed.items()
        )
        report["infer_ms"] += (time.perf_counter() - started) * 1000
        report["calls"] += len(raw_calls)
        new = score(ops, [(op, structure(templates[(op.method, typed_path(raw))])) for op, raw in raw_calls])
        old = score(ops, [(op, structure(route_template(raw))) for op, raw in raw_calls])
        report["services"][service] = {"calls": len(raw_calls), "inferred": new.as_dict(), "route_template": old.as_dict()}
        totals["inferred"].add(new)
        totals["route_template"].add(old)
    report["total"] = {name: s.as_dict() for name, s in totals.items()}
    report["infer_ms"] = round(report["infer_ms"], 1)
    total = totals["inferred"]
    report["target_met"] = total.f1 >= TARGET_F1 and not total.false_merges
    return report


def print_table(report: dict) -> None:
    head = f"{'service':<18} {'routes':>6} {'calls':>6} | {'P':>6} {'R':>6} {'F1':>6} {'calls':>6} {'merges':>6} "
    head += f"{'splits':>6} | {'old P':>6} {'old R':>6} {'old F1':>6} {'calls':>6}"
    print(head)
    print("-" * len(head))
    rows = [*report["services"].items(), ("TOTAL", {**report["total"], "calls": report["calls"]})]
    for name, row in rows:
        new, old = row["inferred"], row["route_template"]
        print(
            f"{name:<18} {new['routes']:>6} {row['calls']:>6} | {new['precision']:>6.3f} {new['recall']:>6.3f} "
            f"{new['f1']:>6.3f} {new['calls_right']:>6.3f} {new['false_merges']:>6} {new['false_splits']:>6} | "
            f"{old['precision']:>6.3f} {old['recall']:>6.3f} {old['f1']:>6.3f} {old['calls_right']:>6.3f}"
        )
    total = report["total"]["inferred"]
    print(f"\ninfer_templates: {report['infer_ms']} ms for all services; seed {report['seed']}")
    for label, key in (("false merges (literal -> parameter)", "false_merge_routes"), ("false splits", "false_split_routes")):
        if total[key]:
            print(f"{label}:")
            for route in total[key]:
                print(f"  {route}")
    verdict = "met" if report["target_met"] else "NOT met"
    print(f"target (F1 >= {TARGET_F1}, no false merge): {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--data", type=Path, default=DATA, help="directory of ground-truth OpenAPI documents")
    args = parser.parse_args()
    report = run(args.seed, args.data)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0 if report["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
