"""End to end on a deliberately vulnerable API: every flaw it has surfaces, with its OWASP category.

tests/apps/vulnerable_api.py (written for this test) runs under `opentelemetry-instrument` with the
apisec distro, exporting OTLP/gRPC to a real `otel-apisec gateway` in flag mode (`--findings-file`,
default thresholds, the same `OTEL_APISEC_HMAC_KEY` as the app). Traffic is played as users would:
alice and bob log in, alice writes and lists notes, bob uses the API normally for a while, then reads
alice's note (BOLA), changes alice's password (a path naming another principal), calls the admin
endpoint (BFLA), and an attacker guesses alice's password 25 times against a login that answers 200.
Every token is HS256 with a dictionary word as its key.

Expected, from the findings file:

    abuse.bola            APISEC-ABU-009  API1:2023
    abuse.path_principal  APISEC-ABU-010  API1:2023
    abuse.bfla            APISEC-ABU-004  API5:2023
    abuse.brute_force     APISEC-ABU-001  API2:2023
    token.weak_secret     APISEC-TOK-012  API2:2023

The two API1 findings need ownership: the SDK sends the keyed hashes of the IDs each 2xx response
created, listed or returned (`apisec.response.resource_ids`, `apisec.response.ids`), and the gateway
learns from them who owns a note and which user ID alice's login returned. About 10 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from otel_apisec.testing.servers import free_port, gateway_process
from otel_apisec.testing.sink import OtlpSink
from tests.e2e_harness import APPS_DIR, REPO_ROOT, AppProcess, _instrument_command, _stop, _wait_until_healthy, app_env

pytestmark = pytest.mark.e2e

HMAC_KEY = "vulnerable-api-test-key"
SERVICE = "vulnerable-api"
WAIT_S = 25.0
BOB_ORDINARY_REQUESTS = 105
"""More than `bfla_learning_requests` (100): bob's profile is learned before he calls the admin endpoint."""
GUESSES = 25
"""Failed logins for one account from one client: above both brute-force thresholds (10 per account, 20 per client)."""

EXPECTED = {
    # rule id: (kind, OWASP category)
    "APISEC-ABU-009": ("abuse.bola", "API1:2023"),
    "APISEC-ABU-010": ("abuse.path_principal", "API1:2023"),
    "APISEC-ABU-004": ("abuse.bfla", "API5:2023"),
    "APISEC-ABU-001": ("abuse.brute_force", "API2:2023"),
    "APISEC-TOK-012": ("token.weak_secret", "API2:2023"),
}
NEEDS_OWNERSHIP = {"APISEC-ABU-009", "APISEC-ABU-010"}
"""The flaws found from ownership, learned from the response IDs the SDK sends as keyed hashes."""


class _GatewayOtlp:
    """What `app_env` asks of a sink: the environment that exports to the gateway's gRPC receiver."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def env(self) -> dict[str, str]:
        return {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
                "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}


@contextmanager
def vulnerable_app(otlp_endpoint: str) -> Iterator[AppProcess]:
    """tests/apps/vulnerable_api.py under `opentelemetry-instrument`, exporting to `otlp_endpoint`."""
    port = free_port()
    command = [_instrument_command(), sys.executable, str(APPS_DIR / "vulnerable_api.py"), str(port)]
    env = app_env("flask", cast(OtlpSink, _GatewayOtlp(otlp_endpoint)),
                  {"OTEL_SERVICE_NAME": SERVICE, "OTEL_APISEC_HMAC_KEY": HMAC_KEY})
    with tempfile.NamedTemporaryFile(prefix="e2e-vulnerable-", suffix=".log") as log_file:
        process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT)
        app = AppProcess("vulnerable_api", f"http://127.0.0.1:{port}", process, log_file)
        try:
            _wait_until_healthy(app)
            yield app
        except Exception as error:
            raise AssertionError(f"{error}\n{app.describe()}") from error
        finally:
            _stop(app)  # SIGTERM: the SDK flushes its last spans on the way out


def _login(client: httpx.Client, username: str, password: str) -> dict[str, Any]:
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return cast(dict[str, Any], response.json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def play(base_url: str) -> None:
    """The users, the attack and the checks that the flaws are really there."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        alice = _login(client, "alice", "alice-correct-horse")
        bob = _login(client, "bob", "bob-battery-staple")
        assert alice["success"] and bob["success"]
        as_alice, as_bob = _bearer(alice["token"]), _bearer(bob["token"])

        # alice's notes: created (the response's id makes her the owner), then listed.
        alice_notes = []
        for i in range(3):
            response = client.post("/api/notes", json={"title": f"plan {i}", "text": "private"}, headers=as_alice)
            assert response.status_code == 201, response.text
            alice_notes.append(response.json()["id"])
        assert {n["id"] for n in client.get("/api/notes", headers=as_alice).json()} == set(alice_notes)

        # bob's ordinary use: his own notes, listed and read, enough for his profile to be learned.
        bob_note = client.post("/api/notes", json={"title": "groceries", "text": "milk"}, headers=as_bob).json()["id"]
        for i in range(BOB_ORDINARY_REQUESTS):
            path = "/api/notes" if i % 2 else f"/api/notes/{bob_note}"
            assert client.get(path, headers=as_bob).status_code == 200
        time.sleep(1.0)  # the spans so far reach the gateway before the abuse (ownership is learned first)

        # BOLA: bob reads alice's note.
        stolen = client.get(f"/api/notes/{alice_notes[0]}", headers=as_bob)
        assert stolen.status_code == 200 and stolen.json()["owner"] == "alice"
        # A path naming another principal: bob sets alice's password, by the user ID her login returned.
        changed = client.put(f"/api/users/{alice['user_id']}/password", json={"password": "owned-by-bob"},
                             headers=as_bob)
        assert changed.status_code == 200, changed.text
        # BFLA: bob, no admin, lists every user through the admin endpoint.
        for _ in range(2):
            assert client.get("/api/admin/users", headers=as_bob).status_code == 200

        # Brute force against a login that answers 200 to every failure.
        for i in range(GUESSES):
            failed = client.post("/api/login", json={"username": "alice", "password": f"guess-{i}"})
            assert failed.status_code == 200 and failed.json() == {"success": False, "message": "Invalid credentials"}
        # The change really happened: alice's new password works.
        assert _login(client, "alice", "owned-by-bob")["success"]


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _wait_for_rules(path: Path, rules: set[str], timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        records = _records(path)
        if rules <= {r.get("rule_id") for r in records}:
            return records
        if time.monotonic() > deadline:
            return records
        time.sleep(0.2)


@pytest.fixture(scope="module")
def findings() -> Iterator[list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="vulnerable-api-") as work:
        findings_file = Path(work) / "findings.jsonl"
        grpc_endpoint = f"127.0.0.1:{free_port()}"
        with gateway_process("--grpc-endpoint", grpc_endpoint, "--http-endpoint", f"127.0.0.1:{free_port()}",
                             "--metrics-endpoint", "off", "--findings-file", str(findings_file),
                             env={"OTEL_APISEC_HMAC_KEY": HMAC_KEY}):
            with vulnerable_app(f"http://{grpc_endpoint}") as app:
                play(app.url)
            yield _wait_for_rules(findings_file, set(EXPECTED), WAIT_S)


def _summary(records: list[dict[str, Any]]) -> str:
    return "\n".join(sorted({f"{r.get('rule_id')} {r.get('kind')} {r.get('owasp')} {r.get('route')}" for r in records}))


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_flaw_surfaces_with_its_owasp_category(findings: list[dict[str, Any]], rule_id: str) -> None:
    kind, owasp = EXPECTED[rule_id]
    matching = [r for r in findings if r.get("rule_id") == rule_id]
    assert matching, f"{rule_id} ({kind}) not found; the findings were:\n{_summary(findings)}"
    assert {(r["kind"], r["owasp"]) for r in matching} == {(kind, owasp)}


def test_bfla_names_bob_and_the_admin_route(findings: list[dict[str, Any]]) -> None:
    """BFLA is about bob (the principal is the incident), on the admin endpoint, and it succeeded."""
    bfla = [r for r in findings if r.get("rule_id") == "APISEC-ABU-004"]
    assert bfla, _summary(findings)
    assert {r["route"] for r in bfla} == {"/api/admin/users"}
    assert all(r["subject"].get("enduser.pseudo.id") and r["evidence"]["status"] == 200 for r in bfla), bfla
    assert all(r["severity"] == "high" for r in bfla), bfla


def test_brute_force_counts_the_failures_answered_200(findings: list[dict[str, Any]]) -> None:
    """The 200 `{"success": false}` answers were judged failures: brute force on the login route."""
    brute = [r for r in findings if r.get("rule_id") == "APISEC-ABU-001"]
    assert brute and {r["route"] for r in brute} == {"/api/login"}, _summary(findings)


def test_nothing_raw_in_the_findings(findings: list[dict[str, Any]]) -> None:
    """No password, the JWT secret or a token reaches the findings file."""
    text = json.dumps(findings)
    assert findings
    for raw in ("alice-correct-horse", "bob-battery-staple", "owned-by-bob", "guess-1", "butterfly", "eyJ"):
        assert raw not in text, raw


def test_the_object_flaws_name_the_endpoints_and_principals(findings: list[dict[str, Any]]) -> None:
    """BOLA is on the note's route, the path-principal finding on the password route; both name bob
    as the caller and alice as the owner, by their pseudonyms."""
    by_rule = {r["rule_id"]: r for r in findings if r.get("rule_id") in NEEDS_OWNERSHIP}
    bola, path = by_rule["APISEC-ABU-009"], by_rule["APISEC-ABU-010"]
    assert bola["route"] == "/api/notes/<int:note_id>"
    assert (path["method"], path["route"]) == ("PUT", "/api/users/<int:user_id>/password")
    caller = bola["subject"]["enduser.pseudo.id"]
    assert path["subject"]["enduser.pseudo.id"] == caller  # bob, both times
    owner = bola["evidence"]["owner_principal"]
    assert owner and owner != caller
    assert path["evidence"]["named_principal"] == owner  # alice, both times
