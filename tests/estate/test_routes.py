"""Route template inference: typed segments at once, string segments on evidence, literals never."""

from __future__ import annotations

import random
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_apisec.estate import routes
from otel_apisec.estate.routes import ObservedPath, infer_templates, is_literal_word, typed_path

USER = frozenset({"id", "username", "email", "firstName"})
PET = frozenset({"id", "name", "status"})
LIST_ENVELOPE = frozenset({"apiVersion", "items", "kind", "metadata"})


def get(path: str, response: frozenset[str] = frozenset(), calls: int = 1) -> ObservedPath:
    return ObservedPath("GET", path, calls, frozenset(), response)


def structure(template: str) -> str:
    return re.sub(r"\{[^}/]*\}", "{}", template)


def inferred(observed: list[ObservedPath]) -> dict[str, str]:
    """path -> template structure, for observations of one method per path."""
    return {path: structure(t) for (_, path), t in infer_templates(observed).items()}


class TestTypedPath:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("/users/42/orders/0007", "/users/{id}/orders/{id}"),
            ("/orders/3F2504E0-4F89-11D3-9A0C-0305E82C3301", "/orders/{id}"),
            ("/items/507f1f77bcf86cd799439011", "/items/{id}"),
            ("/commits/3f2a9bc", "/commits/{id}"),
            ("/orders/a1b2c3d4", "/orders/{id}"),
            ("/orders/ord_8f3k2", "/orders/{id}"),
            ("/pods/web-7c5ddbdf54-x2x9p", "/pods/{id}"),
            ("/reports/2024-05-17", "/reports/{id}"),
            ("/users/alice@example.com/keys", "/users/{id}/keys"),
            ("/users/alice%40example.com", "/users/{id}"),
            ("/phones/+15550109999", "/phones/{id}"),
            ("/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "/reset/{id}"),
            ("/titles/My%20Great%20Title", "/titles/{id}"),
            ("/cities/Z%C3%BCrich", "/cities/{id}"),
            ("/files/a%2Fb", "/files/{id}"),
            ("/api/v1/users/me", "/api/v1/users/me"),
            ("/user/login", "/user/login"),
            ("/pet/findByStatus", "/pet/findByStatus"),
            ("/apis/apps/v1beta1/x", "/apis/apps/v1beta1/x"),
            ("/hash/sha256", "/hash/sha256"),
            ("/attestations/sha256:" + "9f86d081" * 8, "/attestations/{id}"),
            ("/blobs/md5:" + "deadbeefcafebabe" * 2 + "/raw", "/blobs/{id}/raw"),
            ("/algorithms/sha256:fast", "/algorithms/sha256:fast"),
            ("/i18n/oauth2", "/i18n/oauth2"),
            ("/users/john.smith", "/users/john.smith"),
            ("/files/report%2Epdf", "/files/report.pdf"),
            ("/users/42/?expand=1#top", "/users/{id}"),
            ("//users///42/./", "/users/{id}"),
            ("https://api.example.com/v1/items/9", "/v1/items/{id}"),
            ("", "/"),
            ("/users/{id}", "/users/{id}"),
        ],
    )
    def test_segments(self, path: str, expected: str) -> None:
        """Values on sight become {id}; words, versions and string values stay."""
        assert typed_path(path) == expected

    def test_long_paths_are_bounded(self) -> None:
        """At most 32 segments are read and the result is short enough to be a key."""
        many = typed_path("/a" * 1000)
        assert many.endswith("/{rest}") and many.count("/") == 33
        long = typed_path("/" + "/".join(f"segment{i}x" for i in range(30)))
        assert len(long) < 240 and long != typed_path("/" + "/".join(f"segment{i}y" for i in range(30)))
        assert typed_path("/" + "x" * 100) == "/{id}"

    def test_idempotent(self) -> None:
        """A typed path types to itself."""
        for path in ("/users/42/orders/a1b2c3d4", "/users/alice", "/x/My%20T", "/v1/me"):
            assert typed_path(typed_path(path)) == typed_path(path)


class TestLiteralWords:
    @pytest.mark.parametrize(
        "segment", ["me", "self", "current", "login", "logout", "search", "count", "export", "batch", "findByStatus",
                    "createWithList", "v2", "v1beta1", "chat.postMessage", "users.info"]
    )
    def test_literal(self, segment: str) -> None:
        assert is_literal_word(segment)

    @pytest.mark.parametrize("segment", ["alice", "john.smith", "my-first-post", "pikachu", "JohnSmith", "default"])
    def test_not_literal(self, segment: str) -> None:
        assert not is_literal_word(segment)


class TestLiteralSiblings:
    def test_never_merged_beside_a_typed_parameter(self) -> None:
        """`/users/me` has the same keys as `/users/{id}` and still stays literal; so do actions."""
        observed = [get("/users/{id}", USER, 50), get("/users/me", USER, 9), get("/users/search", USER),
                    ObservedPath("POST", "/users/login", 3, frozenset({"username", "password"}), frozenset({"token"})),
                    get("/pet/{id}", PET, 8), get("/pet/findByStatus", frozenset("[]" + k for k in PET)),
                    get("/pet/findByTags", frozenset("[]" + k for k in PET))]
        result = inferred(observed)
        for literal in ("/users/me", "/users/search", "/users/login", "/pet/findByStatus", "/pet/findByTags"):
            assert result[literal] == literal
        assert result["/users/{id}"] == "/users/{}"

    def test_never_merged_beside_string_values(self) -> None:
        """Literal words keep their place beside user names that do become a parameter."""
        names = ["alice", "bob.smith", "carol99", "dave_k", "erin"]
        observed = [get(f"/user/{n}", USER) for n in names]
        observed += [get("/user/login", frozenset({"token"})), get("/user/logout"),
                     ObservedPath("POST", "/user/createWithList", 1, frozenset({"[]id"}))]
        result = inferred(observed)
        assert {result[f"/user/{n}"] for n in names} == {"/user/{}"}
        assert result["/user/login"] == "/user/login"
        assert result["/user/logout"] == "/user/logout"
        assert result["/user/createWithList"] == "/user/createWithList"

    def test_a_literal_beside_a_typed_parameter_joins_it_on_evidence(self) -> None:
        """A tag `nightly` beside digests, with the same keys and sub-resources, is one more value."""
        artifact = frozenset({"digest", "tags", "size"})
        observed = [get("/artifacts/{id}", artifact, 5), get("/artifacts/{id}/tags", frozenset({"[]name"})),
                    get("/artifacts/nightly", artifact), get("/artifacts/nightly/tags", frozenset({"[]name"})),
                    get("/artifacts/summary", frozenset({"count", "bytes"}))]
        result = inferred(observed)
        assert result["/artifacts/nightly"] == "/artifacts/{}"
        assert result["/artifacts/nightly/tags"] == "/artifacts/{}/tags"
        assert result["/artifacts/summary"] == "/artifacts/summary"

    def test_self_word_children_are_sub_resources(self) -> None:
        """`/me/tracks`, `/me/albums`… share an envelope and a `contains` child, and stay literal."""
        paging = frozenset({"href", "items", "limit", "next", "offset", "total"})
        observed = []
        for kind in ("tracks", "albums", "shows", "episodes", "audiobooks", "playlists"):
            observed += [get(f"/me/{kind}", paging), get(f"/me/{kind}/contains", frozenset({"[]"}))]
        result = inferred(observed)
        assert all(path == template for path, template in result.items())

    def test_plural_sub_resources_after_a_parameter_stay_literal(self) -> None:
        """Kubernetes-style lists share one envelope; plural nouns after a parameter are collections."""
        kinds = ["pods", "services", "configmaps", "secrets", "events", "endpoints", "serviceaccounts"]
        observed = [get(f"/api/v1/namespaces/{ns}/{kind}", LIST_ENVELOPE) for ns in ("default", "prod-eu", "team-a")
                    for kind in kinds]
        result = inferred(observed)
        assert result["/api/v1/namespaces/default/pods"] == "/api/v1/namespaces/{}/pods"
        assert {t.rsplit("/", 1)[1] for t in result.values()} == set(kinds)

    def test_distinct_resources_with_their_own_values_stay_literal(self) -> None:
        """Resources whose children are values of their own share no sub-resource."""
        rng = random.Random(3)
        observed = []
        for resource in [f"res{chr(97 + i)}{chr(97 + i)}x" for i in range(20)]:
            observed.append(get(f"/api/v2/{resource}", frozenset({"count", "next", "results"})))
            for _ in range(4):
                word = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))
                observed.append(get(f"/api/v2/{resource}/{word}", frozenset({"id", "name", resource})))
        result = inferred(observed)
        assert all(t.count("{}") <= 1 and t.startswith("/api/v2/res") for t in result.values())
        assert "/api/v2/resaax" in result.values()

    def test_an_action_beside_values_stays_literal(self) -> None:
        """A POST to an unknown word the values never saw is an action, not a value."""
        names = [f"wf-{w}" for w in ("alpha", "beta", "gamma", "delta", "omega", "sigma")]
        observed = [get(f"/workflows/ns1/{n}", frozenset({"metadata", "spec", "status"})) for n in names]
        observed += [ObservedPath("DELETE", f"/workflows/ns1/{n}") for n in names[:2]]
        workflow = frozenset({"metadata", "spec", "status"})
        observed.append(ObservedPath("POST", "/workflows/ns1/lint", 4, frozenset({"workflow"}), workflow))
        result = inferred(observed)
        assert result["/workflows/ns1/wf-alpha"] == "/workflows/ns1/{}"
        assert result["/workflows/ns1/lint"] == "/workflows/ns1/lint"


    def test_products_sharing_sub_resources_after_a_parameter_stay_literal(self) -> None:
        """`/orgs/{org}/actions/secrets`, `…/dependabot/secrets`: a few siblings with shared
        sub-resources after a parameter, one of them with keys, are products, not values."""
        observed = []
        for org in ("acme", "globex", "initech"):
            for product in ("actions", "agents", "codespaces", "dependabot", "secret-scanning", "copilot"):
                observed += [get(f"/orgs/{org}/{product}/secrets", frozenset({"total_count", "secrets"})),
                             ObservedPath("DELETE", f"/orgs/{org}/{product}/alerts")]
            observed.append(get(f"/orgs/{org}/codespaces", frozenset({"codespaces", "total_count"})))
        result = inferred(observed)
        assert result["/orgs/acme/actions/secrets"] == "/orgs/{}/actions/secrets"
        assert result["/orgs/acme/codespaces"] == "/orgs/{}/codespaces"

    def test_bodyless_leaves_after_a_parameter_stay_literal(self) -> None:
        """Count alone merges bare leaves below a collection, never after a parameter (`…/{id}/rerun`)."""
        actions = ["approve", "force-cancel", "rerun", "rerun-failed", "timing", "pending", "deployment",
                   "attempts", "logs-zip", "approvals", "review", "jobs-summary"]
        observed = [ObservedPath("POST", f"/runs/{{id}}/{a}") for a in actions]
        assert all(structure(p) == t for p, t in inferred(observed).items())

    def test_string_values_beside_a_typed_parameter_on_their_own_evidence(self) -> None:
        """`…/attestations/{attestation_id}` (DELETE) and `…/attestations/{subject_digest}` (GET)
        share a position: string siblings linked by their own keys are values there too, as among
        literals; a sibling whose keys differ (`repositories`) stays literal."""
        digest = frozenset({"attestations"})
        observed = [ObservedPath("DELETE", "/orgs/acme/attestations/{id}", 4),
                    get("/orgs/acme/attestations/repositories", frozenset({"[]id", "[]name"}))]
        observed += [get(f"/orgs/acme/attestations/{w}", digest) for w in ("thank", "culture-art", "buy-now")]
        result = inferred(observed)
        assert result["/orgs/acme/attestations/thank"] == "/orgs/acme/attestations/{}"
        assert result["/orgs/acme/attestations/buy-now"] == "/orgs/acme/attestations/{}"
        assert result["/orgs/acme/attestations/repositories"] == "/orgs/acme/attestations/repositories"

    def test_siblings_that_contradict_a_typed_parameter_stay_literal(self) -> None:
        """Beside `/pulls/{id}`, siblings whose keys disagree with the parameter's are other
        endpoints, however well they agree with each other."""
        pull = frozenset({"id", "number", "head", "base"})
        queue = frozenset({"[]title", "[]age", "[]reviewers"})
        observed = [get("/pulls/{id}", pull, 20)] + [get(f"/pulls/{w}", queue) for w in ("draft", "stale", "merged")]
        assert all(p == t for p, t in inferred(observed).items() if "{" not in p)


class TestEvidence:
    def test_one_value_alone_stays_literal(self) -> None:
        """A string segment seen once (or twice) cannot be told from a literal: it stays as is."""
        assert inferred([get("/users/alice", USER)]) == {"/users/alice": "/users/alice"}
        two = inferred([get("/users/alice", USER), get("/users/bob", USER)])
        assert two == {"/users/alice": "/users/alice", "/users/bob": "/users/bob"}

    def test_three_values_with_matching_keys_below_a_collection(self) -> None:
        result = inferred([get(f"/users/{n}", USER) for n in ("alice", "bob", "carol")])
        assert set(result.values()) == {"/users/{}"}

    def test_disjoint_keys_veto_a_merge(self) -> None:
        """Siblings whose responses have nothing in common are different endpoints."""
        observed = [get("/admin/users", frozenset({"users"})), get("/admin/groups", frozenset({"groups"})),
                    get("/admin/roles", frozenset({"roles"})), get("/admin/quotas", frozenset({"limits"}))]
        assert all(path == t for path, t in inferred(observed).items())

    def test_overlapping_keys_are_evidence(self) -> None:
        """Key sets that mostly overlap (optional fields) still count as one endpoint's."""
        observed = [get("/users/alice", USER), get("/users/bob", USER | {"phone"}), get("/users/carol", USER - {"email"})]
        assert set(inferred(observed).values()) == {"/users/{}"}

    def test_without_keys_only_many_values_count(self) -> None:
        """Bodyless leaves have no key evidence: 10 distinct values are needed (Akto's threshold)."""
        few = [get(f"/files/{w}") for w in ("alpha", "bravo", "charlie", "delta")]
        assert all(p == t for p, t in inferred(few).items())
        words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
        assert set(inferred([get(f"/files/{w}") for w in words]).values()) == {"/files/{}"}

    def test_sibling_shape_merges_two_string_parameters(self) -> None:
        """/repos/{owner}/{repo}: owners and repositories share sub-resources, sub-resources stay."""
        rng = random.Random(7)
        owners = ["octocat", "torvalds", "gvanrossum", "antirez", "sindresorhus", "tj"]
        repos = ["hello-world", "linux", "cpython", "redis", "got", "express", "spoon-knife", "ky"]
        subs = {"issues": frozenset({"[]number", "[]title"}), "pulls": frozenset({"[]number", "[]head"}),
                "branches": frozenset({"[]name", "[]commit"})}
        observed = []
        for _ in range(40):
            owner, repo = rng.choice(owners), rng.choice(repos)
            sub = rng.choice(sorted(subs))
            observed.append(get(f"/repos/{owner}/{repo}/{sub}", subs[sub]))
            observed.append(get(f"/repos/{owner}/{repo}", frozenset({"id", "full_name", "owner"})))
        observed.append(get("/repos/search", frozenset({"total_count", "items"})))
        result = inferred(observed)
        assert result["/repos/search"] == "/repos/search"
        templates = set(result.values()) - {"/repos/search"}
        assert templates == {"/repos/{}/{}"} | {f"/repos/{{}}/{{}}/{s}" for s in subs}

    def test_many_siblings_with_only_a_typed_child_are_values(self) -> None:
        """`…/teams/{team_slug}` and `…/teams/{team_slug}/{role_id}`: siblings with no keys whose
        only child is a typed parameter have the shape of bare leaves, and count like them (10
        values below a collection); a few are collections (`/git/blob/{sha}`, `/git/tree/{sha}`)."""
        words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
        observed = [ObservedPath("PUT", f"/orgs/acme/roles/teams/{w}/{{id}}") for w in words[:6]]
        observed += [ObservedPath("DELETE", f"/orgs/acme/roles/teams/{w}") for w in words[4:]]
        assert set(inferred(observed).values()) == {"/orgs/acme/roles/teams/{}/{}", "/orgs/acme/roles/teams/{}"}
        few = [get(f"/repos/acme/git/{kind}/{{id}}") for kind in ("blob", "tree", "commit", "tag")]
        assert all(structure(p) == t for p, t in inferred(few).items())

    def test_a_closed_set_is_judged_with_the_values_beside_it(self) -> None:
        """Three popular users with keys of their own, beside ten bodyless values already merged at
        the same position: together they are an open set, so the three are values too; alone,
        called again and again, they would be a closed set."""
        membership = frozenset({"role", "state", "url"})
        popular = [get(f"/teams/{{id}}/memberships/{n}", membership, calls=8) for n in ("alice", "bob", "carol")]
        alone = inferred(popular)
        assert all(structure(p) == t for p, t in alone.items())
        names = ["dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "oscar"]
        observed = popular + [ObservedPath("DELETE", f"/teams/{{id}}/memberships/{n}") for n in names]
        assert set(inferred(observed).values()) == {"/teams/{}/memberships/{}"}

    def test_a_closed_set_of_siblings_stays_literal(self) -> None:
        """Few siblings with the same keys, each called again and again and none seen once, are a
        fixed set of literals (Good-Turing: no unseen value to expect); values have rare members."""
        images = frozenset({"total_count", "images"})
        fixed = [get(f"/images/{k}", images, calls=6) for k in ("custom", "github-owned", "partner")]
        assert all(p == t for p, t in inferred(fixed).items())
        popular = [get("/users/alice", USER, calls=6), get("/users/bob", USER), get("/users/carol", USER)]
        assert set(inferred(popular).values()) == {"/users/{}"}

    def test_closed_set_does_not_veto_shared_sub_resources(self) -> None:
        """A few owners who call again and again are values when their subtrees agree."""
        observed = [get(f"/owners/{o}/{sub}", frozenset({"[]number"}), calls=5)
                    for o in ("acme", "globex", "initech") for sub in ("issues", "pulls")]
        assert set(inferred(observed).values()) == {"/owners/{}/issues", "/owners/{}/pulls"}

    def test_a_family_of_names_sharing_an_affix_stays_literal(self) -> None:
        """`users-1-day`, `repos-1-day`: one naming scheme of a fixed set, not values."""
        report = frozenset({"download_links", "report_day"})
        names = ("users-1-day", "repos-1-day", "org-teams-1-day", "enterprise-1-day")
        assert all(p == t for p, t in inferred([get(f"/reports/{n}", report) for n in names]).items())
        slugs = ("blue-fox-run", "red-owl-sing", "tall-oak-grow")
        assert set(inferred([get(f"/posts/{n}", report) for n in slugs]).values()) == {"/posts/{}"}

    def test_collections_sharing_one_population_stay_literal(self) -> None:
        """`/users/alice`, `/orgs/alice`, `/repos/alice/…`: collections whose children are values of
        one population share children, and stay literal (their subtrees return different keys)."""
        people = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"]
        observed = []
        for i, who in enumerate(people):
            observed += [get(f"/users/{who}", USER), get(f"/users/{who}/followers", frozenset({"[]login"})),
                         get(f"/orgs/{who}", frozenset({"login", "members_url", "plan"})),
                         get(f"/orgs/{who}/members", frozenset({"[]login"})),
                         get(f"/repos/{who}/{people[(i + 3) % len(people)]}/issues", frozenset({"[]number"}))]
        result = inferred(observed)
        assert result["/users/alice"] == "/users/{}"
        assert result["/orgs/alice/members"] == "/orgs/{}/members"
        assert result["/repos/alice/dave/issues"] == "/repos/{}/{}/issues"

    def test_collections_of_shared_values_are_a_closed_set(self) -> None:
        """A few sub-resources holding names of one pool (`…/readme/{ref}`, `…/zipball/{ref}`), each
        called again and again, stay literal: the names they share are values, not sub-resources."""
        refs = ["main", "dev", "release", "hotfix", "feature-x", "gh-pages", "next-gen", "legacy", "beta", "wip", "stable"]
        content = frozenset({"name", "sha", "size"})
        observed = []
        for repo in ("alpha", "bravo", "charlie", "delta"):
            for kind in ("readme", "zipball", "tarball", "statuses", "contents", "license"):
                observed.append(get(f"/repos/acme/{repo}/{kind}", content, calls=4))
                observed += [get(f"/repos/acme/{repo}/{kind}/{ref}", content) for ref in refs]
        result = inferred(observed)
        assert result["/repos/acme/alpha/readme/main"] == "/repos/acme/{}/readme/{}"
        assert result["/repos/acme/alpha/zipball"] == "/repos/acme/{}/zipball"

    def test_names_are_meaningful_and_unique(self) -> None:
        observed = [get(f"/users/{n}/orders/{{id}}", USER) for n in ("alice", "bob", "carol")]
        templates = set(infer_templates(observed).values())
        assert templates == {"/users/{user}/orders/{order_id}"}
        nested = infer_templates([get("/a/{id}/{id}/{id}")])
        assert nested[("GET", "/a/{id}/{id}/{id}")] == "/a/{a_id}/{id}/{id2}"


class TestValueReuse:
    """A value the service accepts at one position is evidence at another (a second pass)."""

    PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory")

    def users(self) -> list[ObservedPath]:
        return [get(f"/users/{n}", USER) for n in self.PEOPLE]

    def test_a_value_seen_elsewhere_merges_a_leaf(self) -> None:
        """`alice` is a user of `/users/{user}`: seen once under `/orgs/acme/members/`, it is a
        parameter there too; without the users it stays literal (one value is no evidence)."""
        members = [ObservedPath("PUT", "/orgs/acme/members/alice"), ObservedPath("PUT", "/orgs/acme/members/bob")]
        alone = inferred(members)
        assert alone["/orgs/acme/members/alice"] == "/orgs/acme/members/alice"
        result = inferred(self.users() + members)
        assert result["/orgs/acme/members/alice"] == "/orgs/acme/members/{}"
        assert result["/orgs/acme/members/bob"] == "/orgs/acme/members/{}"

    def test_two_leaf_parameters_by_reuse(self) -> None:
        """`/user/starred/{owner}/{repo}`, seen with one owner and one repository."""
        names = ("hello", "world", "spoon", "knife", "ky", "got", "redis", "linux", "express", "flask")
        repos = [get(f"/repos/{o}/{r}/issues", frozenset({"[]number"})) for o in self.PEOPLE for r in names]
        result = inferred(self.users() + repos + [ObservedPath("PUT", "/user/starred/alice/hello")])
        assert result["/user/starred/alice/hello"] == "/user/starred/{}/{}"

    def test_a_reused_value_does_not_merge_a_literal_group(self) -> None:
        """A user named `partner` beside the closed set `custom`, `github-owned`, `partner` (each
        called again and again): the literal rules win, the set stays literal."""
        users = self.users() + [get("/users/partner", USER)]
        images = frozenset({"total_count", "images"})
        fixed = [get(f"/images/{k}", images, calls=6) for k in ("custom", "github-owned", "partner")]
        result = inferred(users + fixed)
        assert result["/users/partner"] == "/users/{}"
        assert all(result[o.path] == o.path for o in fixed)

    def test_a_reused_value_beside_a_typed_parameter_stays_literal(self) -> None:
        """Beside a typed parameter, a sibling whose keys contradict the parameter's takes no part
        in reuse: `alice` with keys of its own stays literal beside `/teams/{id}`."""
        observed = self.users() + [get("/teams/{id}", frozenset({"id", "slug"}), 9),
                                   get("/teams/alice", frozenset({"total"}))]
        assert inferred(observed)["/teams/alice"] == "/teams/alice"

    def test_a_few_values_vouch_for_nothing(self) -> None:
        """The values of a small group (an enum: `npm`, `docker`…) are no evidence elsewhere: the
        same words serve as literals (`/users/{user}/docker/conflicts`)."""
        kinds = ("npm", "maven", "docker", "nuget", "rubygems", "container")
        packages = [get(f"/packages/{k}", frozenset({"[]id", "[]name"})) for k in kinds]
        observed = self.users() + packages + [get("/users/alice/docker/conflicts", frozenset({"[]id"}))]
        result = inferred(observed)
        assert result["/packages/npm"] == "/packages/{}"
        assert result["/users/alice/docker/conflicts"] == "/users/{}/docker/conflicts"


class TestContract:
    def test_deterministic_whatever_the_order(self) -> None:
        observed = [get(f"/users/{n}", USER) for n in ("alice", "bob", "carol", "dave")]
        observed += [get("/users/me", USER), get("/users/{id}/keys"), ObservedPath("DELETE", "/users/erin")]
        observed += [get(f"/repos/o{i}/r{i % 3}/issues", frozenset({"[]n"})) for i in range(12)]
        expected = infer_templates(observed)
        for seed in range(5):
            shuffled = observed[:]
            random.Random(seed).shuffle(shuffled)
            assert infer_templates(shuffled) == expected
        assert infer_templates(observed + observed) == expected

    def test_maps_every_input_beyond_the_bound(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past MAX_OBSERVED, the least called paths keep their typed path."""
        monkeypatch.setattr(routes, "MAX_OBSERVED", 10)
        observed = [get(f"/users/u{chr(97 + i)}x{chr(97 + i)}", USER, calls=100 - i) for i in range(26)]
        result = infer_templates(observed)
        assert len(result) == 26
        assert result[("GET", "/users/uzxz")] == "/users/uzxz"
        assert result[("GET", "/users/uaxa")] == "/users/{user}"


_HOSTILE = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["a", "%", "%2F", "%40", "..", "", "é", "\x00", "{id}", "{", "}", "42", "x" * 80,
                              "alice@example.com", "12345678", "tok3nABCDEFGHIJKLMNOPQRST9"]), max_size=60).map("/".join),
    st.integers(min_value=1, max_value=200_000).map(lambda n: "/a" * n),
    st.integers(min_value=1, max_value=200_000).map(lambda n: "/" + "%41" * n),
)

_SECRETS = ["alice@example.com", "bob%40example.org", "4111111111111111", "+44 20 7946 0958", "5550109999",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "key_9fQ2xL7mZp4RtY8vW3nK", "t0k3n-Xq8Lr2Vb7Nm4Pz1Ws6Yd5Hc"]
_LEAK = re.compile(r"@|%40|\d{7,}|[A-Za-z0-9_\-.]*\d[A-Za-z0-9_\-.]*[A-Za-z][A-Za-z0-9_\-.]{18,}")


class TestHostile:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_HOSTILE, min_size=1, max_size=30))
    def test_bounded_and_total(self, paths: list[str]) -> None:
        """Huge, deep, unicode and percent-encoded paths: bounded time and output, every input mapped."""
        started = time.perf_counter()
        typed = [typed_path(p) for p in paths]
        observed = [ObservedPath(m, t) for t in typed for m in ("GET", "DELETE")]
        result = infer_templates(observed)
        assert time.perf_counter() - started < 2.0
        assert set(result) == {(o.method, o.path) for o in observed}
        for path in typed:
            assert path.startswith("/") and len(path) <= 240 and path.count("/") <= 33
        for template in result.values():
            assert len(template) <= 240 and template.isprintable()

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(["users", "keys", "reset", "v1", "phones"]), st.sampled_from(_SECRETS),
                              st.sampled_from(["", "/profile", "/me", "/tokens"])), min_size=1, max_size=20))
    def test_no_personal_data_in_templates(self, parts: list[tuple[str, str, str]]) -> None:
        """No email, long digit run or token survives typing, so none reaches a stored template."""
        observed = [get(typed_path(f"/{a}/{secret}{tail}"), USER) for a, secret, tail in parts]
        for template in infer_templates(observed).values():
            assert not _LEAK.search(template), template

    def test_many_paths_are_fast(self) -> None:
        """50,000 paths (the bound) are inferred in seconds, linear in the trie."""
        rng = random.Random(1)
        words = [f"w{i:05d}x" for i in range(5000)]
        observed = [get(f"/svc/{rng.choice(words)}/items/{rng.choice(words)}/{rng.choice(['a', 'b', 'c'])}", USER)
                    for _ in range(50_000)]
        started = time.perf_counter()
        result = infer_templates(observed)
        assert time.perf_counter() - started < 10.0
        assert len(result) == len({(o.method, o.path) for o in observed})
