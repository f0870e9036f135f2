"""`otel-apisec inventory`, `openapi` and `report` on recorded traffic: the JSON contract, spec drift,
valid rebuilt specs, a self-contained HTML report, usage errors, and no planted value in any output."""

from __future__ import annotations

import hashlib
import html.parser
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from openapi_spec_validator import validate

from otel_apisec.cli.main import main
from otel_apisec.detect.api import Analysis
from otel_apisec.estate.exchange_facts import MAX_SCHEMA_BODY_BYTES, call_facts, host_service, parameter_name
from otel_apisec.model import AuthFacts, AuthOutcome, AuthScheme, Body, Finding, Headers, HttpExchange, Severity

Capture = pytest.CaptureFixture[str]

SHOP = "shop.example.com"
PETS = "petstore.example.com"
CONTRACT_SERVICE_KEYS = {"service", "grade", "score", "endpoints"}
CONTRACT_ENDPOINT_KEYS = {
    "method", "route", "spec_status", "calls", "first_seen", "last_seen", "status_codes", "auth_schemes",
    "unauthenticated_calls", "unauthenticated_success", "pii_types", "findings", "grade", "score", "parameters",
}
GRADES = {"A", "B", "C", "D", "F"}
XSS_ROUTE = "/inject/{id}<script>alert(1)</script>"


def _luhn(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


def _random_text(seed: str, size: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:size]


# Planted values: none of them, in any form listed, may come out of any command.
TOKEN = jwt.encode({"sub": "alice", "exp": 4_102_444_800, "iat": 1_767_000_000},
                   "k-" + _random_text("jwt", 40), algorithm="HS256")
PASSWORD = "Qz8!" + _random_text("password", 14)
API_KEY = "ak_" + _random_text("api key", 32)
PATH_EMAIL = "jonathan.planted@example-mail.org"
RESPONSE_EMAIL = "alice.planted@example-mail.org"
CARD = _luhn("453914" + "".join(str(int(c, 16) % 10) for c in _random_text("card", 9)))
SECRETS = (TOKEN, *TOKEN.split("."), PASSWORD, API_KEY, PATH_EMAIL, PATH_EMAIL.replace("@", "%40"), RESPONSE_EMAIL,
           CARD, " ".join(CARD[i:i + 4] for i in range(0, 16, 4)))

PET_SPEC = """\
openapi: 3.0.3
info: {title: Pets, version: 1.0.0}
servers:
  - url: https://petstore.example.com/api/v3
paths:
  /pet/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer}}
    get:
      operationId: getPet
      responses: {'200': {description: ok}}
    delete:
      operationId: deletePet
      responses: {'204': {description: deleted}}
  /pet/findByStatus:
    get:
      operationId: findByStatus
      parameters:
        - {name: status, in: query, schema: {type: string}}
      responses: {'200': {description: ok}}
  /store/inventory:
    get:
      operationId: getInventory
      deprecated: true
      responses: {'200': {description: ok}}
"""


class _Har:
    """A HAR document built entry by entry, one minute apart."""

    def __init__(self, first_minute: int = 0) -> None:
        self.entries: list[dict[str, Any]] = []
        self.first_minute = first_minute

    def add(self, method: str, url: str, status: int = 200, *, headers: dict[str, str] | None = None,
            body: object = None, response: object = None, response_headers: dict[str, str] | None = None,
            route: str | None = None) -> None:
        minute = self.first_minute + len(self.entries)
        request: dict[str, Any] = {"method": method, "url": url,
                                   "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()]}
        if body is not None:
            request["postData"] = {"mimeType": "application/json", "text": json.dumps(body)}
        content: dict[str, Any] = {"mimeType": "application/json", "text": json.dumps(response)} if response is not None else {}
        answer_headers = {"Content-Type": "application/json", **(response_headers or {})}
        entry: dict[str, Any] = {
            "startedDateTime": f"2026-01-05T10:{minute // 60:02d}:{minute % 60:02d}.000Z",
            "time": 10 + minute % 7,
            "request": request,
            "response": {"status": status, "headers": [{"name": k, "value": v} for k, v in answer_headers.items()],
                         "content": content},
        }
        if route:
            entry["_route"] = route
        self.entries.append(entry)

    def write(self, path: Path) -> str:
        path.write_text(json.dumps({"log": {"version": "1.2", "entries": self.entries}}))
        return str(path)


def _traffic() -> _Har:
    har = _Har()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    shop = f"https://{SHOP}"
    for name in ("alice", "bob", "carol", "dave", "erin"):
        har.add("GET", f"{shop}/users/{name}", headers=auth,
                response={"name": name, "email": RESPONSE_EMAIL, "created": "2025-01-01"})
    for order in (101, 202, 303):
        har.add("GET", f"{shop}/orders/{order}?limit=10&expand=items", headers={**auth, "X-Api-Key": API_KEY},
                response={"id": order, "total": 12.5})
    har.add("GET", f"{shop}/orders/404/card", headers=auth, response={"card": CARD, "holder": "A"})
    har.add("POST", f"{shop}/login", body={"username": "alice", "password": PASSWORD}, response={"ok": True})
    for _ in range(2):
        har.add("GET", f"{shop}/public/status", response={"up": True})  # no credentials, 200
    har.add("GET", f"{shop}/lookup/{PATH_EMAIL}", headers=auth, status=404, response={"error": "not found"})
    har.add("GET", f"{shop}/inject/7", headers=auth, response={"ok": True}, route=XSS_ROUTE)

    pets = f"https://{PETS}/api/v3"
    for pet in (1, 2, 3):
        har.add("GET", f"{pets}/pet/{pet}", response={"id": pet, "name": "rex", "status": "available"})
    har.add("GET", f"{pets}/pet/findByStatus?status=available&debug=1", response=[{"id": 1}])
    har.add("GET", f"{pets}/store/inventory", response={"available": 3})
    har.add("GET", f"{pets}/secret/admin", response={"admin": True})
    return har


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("estate")
    _traffic().write(path / "traffic.har")
    (path / "pets.yaml").write_text(PET_SPEC)
    return path


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _inventory(capsys: Capture, workdir: Path, *extra: str) -> dict[str, Any]:
    code, out, err = _run(capsys, "inventory", str(workdir / "traffic.har"), "--spec", f"{PETS}={workdir / 'pets.yaml'}",
                          "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out)


def _endpoint(service: dict[str, Any], method: str, route: str) -> dict[str, Any]:
    matches = [e for e in service["endpoints"] if e["method"] == method and e["route"] == route]
    assert matches, f"{method} {route} not in {[(e['method'], e['route']) for e in service['endpoints']]}"
    return matches[0]


def _assert_clean(text: str, what: str) -> None:
    assert text.strip(), f"{what} is empty"
    for secret in SECRETS:
        assert secret not in text, f"{what} holds a planted value"


class TestInventory:
    def test_json_contract(self, capsys: Capture, workdir: Path) -> None:
        """The JSON output has the contract's keys, one service per host, and grades in range."""
        doc = _inventory(capsys, workdir)
        assert doc["generated_at"].endswith("Z")
        services = {s["service"]: s for s in doc["services"]}
        assert set(services) == {SHOP, PETS}
        for service in services.values():
            assert CONTRACT_SERVICE_KEYS <= service.keys()
            assert service["grade"] in GRADES and 0 <= service["score"] <= 100
            for endpoint in service["endpoints"]:
                assert CONTRACT_ENDPOINT_KEYS <= endpoint.keys()
                assert endpoint["grade"] in GRADES and 0 <= endpoint["score"] <= 100
        assert doc["inputs"] == [{"file": str(workdir / "traffic.har"), "first_entry": 0, "entries": 20, "unreadable": 0}]

    def test_endpoints_of_the_unspecified_service(self, capsys: Capture, workdir: Path) -> None:
        """Routes are templated, unauthenticated successes, PII, auth and query parameters come out right."""
        shop = {s["service"]: s for s in _inventory(capsys, workdir)["services"]}[SHOP]
        routes = {(e["method"], e["route"]) for e in shop["endpoints"]}
        users = [r for m, r in routes if r.startswith("/users/")]
        assert len(users) == 1 and users[0].startswith("/users/{"), routes
        orders = [r for m, r in routes if r.startswith("/orders/") and r.count("/") == 2]
        assert len(orders) == 1 and orders[0].startswith("/orders/{"), routes
        assert all(e["spec_status"] is None for e in shop["endpoints"])

        status = _endpoint(shop, "GET", "/public/status")
        assert status["unauthenticated_calls"] == 2 and status["unauthenticated_success"] == 2
        assert status["auth_schemes"] == [] and status["auth_enforced"] is False
        user = _endpoint(shop, "GET", users[0])
        assert user["calls"] == 5 and user["auth_schemes"] == ["bearer"] and user["unauthenticated_success"] == 0
        assert "email" in user["pii_types"]
        assert user["status_codes"] == {"200": 5}
        order = _endpoint(shop, "GET", orders[0])
        parameters = {(p["in"], p["name"]): p for p in order["parameters"]}
        assert parameters[("query", "limit")]["types"] == ["integer"]
        assert ("header", "x-api-key") in parameters
        assert not any(name in ("authorization", "content-type") for _, name in parameters)

    def test_spec_drift(self, capsys: Capture, workdir: Path) -> None:
        """Against the spec: documented, zombie (deprecated), shadow, orphan (calls 0), parameter drift."""
        pets = {s["service"]: s for s in _inventory(capsys, workdir)["services"]}[PETS]
        assert pets["spec"] == str(workdir / "pets.yaml")
        by_status: dict[str, set[tuple[str, str]]] = {}
        for endpoint in pets["endpoints"]:
            by_status.setdefault(endpoint["spec_status"], set()).add((endpoint["method"], endpoint["route"]))
        assert ("GET", "/api/v3/store/inventory") in by_status["zombie"]
        assert ("GET", "/api/v3/secret/admin") in by_status["shadow"]
        assert ("GET", "/api/v3/pet/findByStatus") in by_status["documented"]
        assert any(m == "GET" and r.startswith("/api/v3/pet/{") for m, r in by_status["documented"])
        orphans = [e for e in pets["endpoints"] if e["spec_status"] == "orphan"]
        assert [(e["method"], e["calls"]) for e in orphans] == [("DELETE", 0)]
        drift = _endpoint(pets, "GET", "/api/v3/pet/findByStatus")["parameter_drift"]
        assert any(d["name"] == "debug" and d["in"] == "query" and d["issue"] == "undocumented" for d in drift)

    def test_spec_file_alone_with_service(self, capsys: Capture, workdir: Path) -> None:
        """`--spec FILE` applies to the one service that --service makes of all the traffic."""
        code, out, err = _run(capsys, "inventory", str(workdir / "traffic.har"), "--service", "all",
                              "--spec", str(workdir / "pets.yaml"), "--format", "json")
        assert code == 0, err
        (service,) = json.loads(out)["services"]
        assert service["service"] == "all" and service["spec"] == str(workdir / "pets.yaml")
        assert {e["spec_status"] for e in service["endpoints"]} >= {"shadow", "orphan"}

    def test_public_petstore_spec(self, capsys: Capture, tmp_path: Path, oas_examples: Path) -> None:
        """The published Petstore 3.0 (servers base path /v2, $refs): calls are documented, the rest orphans."""
        har = _Har()
        base = "https://petstore.swagger.io/v2"
        for pet in (10, 11, 12):
            har.add("GET", f"{base}/pet/{pet}", headers={"api_key": API_KEY}, response={"id": pet, "name": "doggie"})
        har.add("GET", f"{base}/pet/findByStatus?status=sold", response=[])
        har.add("GET", f"{base}/user/login?username=theuser&password={PASSWORD}", response="logged in")
        har.add("GET", f"{base}/admin/reindex", response={"ok": True})
        spec = oas_examples / "3.0" / "yaml" / "petstore.yaml"
        code, out, err = _run(capsys, "inventory", har.write(tmp_path / "p.har"), "--spec", str(spec), "--format", "json")
        assert code == 0, err
        _assert_clean(out, "inventory")
        (service,) = json.loads(out)["services"]
        status = {(e["method"], e["route"]): e["spec_status"] for e in service["endpoints"]}
        assert status[("GET", "/v2/pet/findByStatus")] == "documented"
        assert status[("GET", "/v2/user/login")] == "documented"
        assert status[("GET", "/v2/admin/reindex")] == "shadow"
        assert any(m == "GET" and r.startswith("/v2/pet/{") and s == "documented" for (m, r), s in status.items())
        assert status[("POST", "/v2/store/order")] == "orphan"
        code, out, err = _run(capsys, "openapi", str(tmp_path / "p.har"))
        assert code == 0, err
        validate(yaml.safe_load(out))

    def test_table(self, capsys: Capture, workdir: Path) -> None:
        """The table lists each service with its grade, and its endpoints."""
        code, out, err = _run(capsys, "inventory", str(workdir / "traffic.har"), "--spec", f"{PETS}={workdir / 'pets.yaml'}")
        assert code == 0, err
        assert SHOP in out and PETS in out and "grade" in out
        assert "/public/status" in out and "shadow" in out and "zombie" in out
        assert "<script>alert(1)</script>" in out  # shown as text, never taken as rich markup

    def test_output_file_and_jsonl_input(self, capsys: Capture, workdir: Path, tmp_path: Path) -> None:
        """JSONL input with a broken line: the entry is reported, counted and skipped; -o writes the file."""
        entries = _traffic().entries
        jsonl = tmp_path / "traffic.jsonl"
        jsonl.write_text("".join(json.dumps(e) + "\n" for e in entries[:3]) + "{not json\n")
        out_file = tmp_path / "inv.json"
        code, out, err = _run(capsys, "inventory", str(jsonl), "--format", "json", "-o", str(out_file))
        assert code == 0 and out == ""
        assert "entry 3 (line 4)" in err
        doc = json.loads(out_file.read_text())
        assert doc["inputs"][0]["entries"] == 4 and doc["inputs"][0]["unreadable"] == 1
        assert sum(e["calls"] for s in doc["services"] for e in s["endpoints"]) == 3

    def test_several_inputs_count_entries_across(self, capsys: Capture, workdir: Path, tmp_path: Path) -> None:
        """Two inputs: evidence entries are numbered across them, and `inputs` maps them back."""
        second = _Har(first_minute=30)
        second.add("GET", f"https://{SHOP}/public/status", response={"up": True})
        other = second.write(tmp_path / "second.har")
        code, out, err = _run(capsys, "inventory", str(workdir / "traffic.har"), other, "--format", "json")
        assert code == 0, err
        doc = json.loads(out)
        assert [(i["first_entry"], i["entries"]) for i in doc["inputs"]] == [(0, 20), (20, 1)]
        shop = {s["service"]: s for s in doc["services"]}[SHOP]
        status = _endpoint(shop, "GET", "/public/status")
        assert status["calls"] == 3 and status["example"]["entry"] == 20

    def test_console_script(self, workdir: Path) -> None:
        """The installed `otel-apisec` script runs `inventory` end to end."""
        script = Path(sys.executable).with_name("otel-apisec")
        if not script.exists():
            pytest.skip("console script not installed next to this interpreter")
        result = subprocess.run([str(script), "inventory", str(workdir / "traffic.har"), "--format", "json"],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        assert {s["service"] for s in json.loads(result.stdout)["services"]} == {SHOP, PETS}


class TestUsageErrors:
    @pytest.mark.parametrize(("argv", "message"), [
        (["inventory", "missing.har"], "cannot read missing.har"),
        (["inventory", "{har}", "--spec", "=x.yaml"], "expected SERVICE=FILE or FILE"),
        (["inventory", "{har}", "--spec", "nosuch.example.com={spec}"], "unknown service 'nosuch.example.com'"),
        (["inventory", "{har}", "--spec", "{spec}"], "has 2 services"),
        (["inventory", "{har}", "--spec", "missing.yaml"], "cannot read missing.yaml"),
        (["inventory", "{har}", "--spec", f"{PETS}={{bad}}"], "--spec"),
        (["inventory", "{har}", "--spec", f"{PETS}={{invalid}}"], "petstore-v2-invalid.json: invalid OpenAPI 2.0 at"),
        (["inventory", "{nothar}"], "nothar.txt"),
        (["openapi", "{har}", "-o", "{out}.json"], "JSON output takes one service"),
        (["openapi", "{har}", "-o", "{out}/nodir/"], "no such directory"),
        (["report", "-", "-", "-o", "{out}.html"], "stdin"),
    ])
    def test_exit_2_with_one_line(self, capsys: Capture, workdir: Path, tmp_path: Path, request: pytest.FixtureRequest,
                                  argv: list[str], message: str) -> None:
        """Bad input, bad --spec and ambiguous output end with exit 2 and one clear line on stderr."""
        (tmp_path / "bad.yaml").write_text("openapi: 3.0.3\npaths: [1, 2\n")
        (tmp_path / "nothar.txt").write_text("hello\n")
        values = {"har": str(workdir / "traffic.har"), "spec": str(workdir / "pets.yaml"),
                  "bad": str(tmp_path / "bad.yaml"), "nothar": str(tmp_path / "nothar.txt"), "out": str(tmp_path / "out")}
        if any("{invalid}" in a for a in argv):  # the public Petstore 2.0 with `default: available` on an array
            document = json.loads((request.getfixturevalue("oas_examples") / "2.0" / "json" / "petstore.json").read_text())
            document["paths"]["/pet/findByStatus"]["get"]["parameters"][0]["default"] = "available"
            values["invalid"] = str(tmp_path / "petstore-v2-invalid.json")
            Path(values["invalid"]).write_text(json.dumps(document))
        code, out, err = _run(capsys, *(a.format(**values) for a in argv))
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("otel-apisec: error: "), err
        assert message in lines[0]


class TestOpenapi:
    def test_multi_service_yaml_stream_validates(self, capsys: Capture, workdir: Path) -> None:
        """Several services: one YAML document per service, each a valid OpenAPI 3.1 document."""
        code, out, err = _run(capsys, "openapi", str(workdir / "traffic.har"))
        assert code == 0, err
        documents = list(yaml.safe_load_all(out))
        assert len(documents) == 2
        for document in documents:
            assert document["openapi"].startswith("3.1")
            validate(document)
        paths = {p for d in documents for p in d["paths"]}
        assert "/public/status" in paths and any(p.startswith("/users/{") for p in paths)

    def test_json_for_one_service(self, capsys: Capture, workdir: Path, tmp_path: Path) -> None:
        """-o FILE.json with --service writes one JSON document."""
        target = tmp_path / "shop.json"
        code, _, err = _run(capsys, "openapi", str(workdir / "traffic.har"), "--service", "shop", "-o", str(target))
        assert code == 0, err
        validate(json.loads(target.read_text()))

    def test_directory_gets_one_file_per_service(self, capsys: Capture, workdir: Path, tmp_path: Path) -> None:
        """-o DIRECTORY writes SERVICE.yaml per service, each valid."""
        code, _, err = _run(capsys, "openapi", str(workdir / "traffic.har"), "-o", str(tmp_path))
        assert code == 0, err
        written = sorted(p.name for p in tmp_path.glob("*.yaml"))
        assert written == [f"{PETS}.yaml", f"{SHOP}.yaml"]
        for name in written:
            validate(yaml.safe_load((tmp_path / name).read_text()))


class _Resources(html.parser.HTMLParser):
    """Every tag, every URL-bearing attribute and all text of an HTML document."""

    URL_ATTRIBUTES = frozenset({"href", "src", "srcset", "action", "formaction", "data", "poster", "background",
                                "xlink:href", "manifest", "ping", "cite", "longdesc", "lowsrc", "icon"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.handlers: list[str] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES:
                self.urls.append(value or "")
            if name.startswith("on"):
                self.handlers.append(name)
            if name == "style":
                self.styles.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


class TestReport:
    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, workdir: Path) -> str:
        target = workdir / "report.html"
        code = main(["report", str(workdir / "traffic.har"), "--spec", f"{PETS}={workdir / 'pets.yaml'}", "-o", str(target)])
        assert code == 0
        return target.read_text()

    def test_self_contained(self, report: str) -> None:
        """No script, no external resource of any kind: only in-page links and inline CSS."""
        parsed = _Resources()
        parsed.feed(report)
        parsed.close()
        assert {"html", "head", "body", "table", "style"} <= set(parsed.tags)
        assert not set(parsed.tags) & {"script", "link", "img", "iframe", "object", "embed", "base", "form", "audio",
                                       "video", "source", "svg", "meta-refresh"}
        assert parsed.urls and all(url.startswith("#") for url in parsed.urls), parsed.urls
        assert not parsed.handlers
        css = " ".join(parsed.styles)
        assert "url(" not in css and "@import" not in css
        assert "default-src 'none'" in report

    def test_sections_and_escaping(self, report: str) -> None:
        """Per service: grade, categories, deductions, inventory, drift, compliance; traffic values escaped."""
        parsed = _Resources()
        parsed.feed(report)
        text = " ".join(parsed.text)
        for heading in ("Categories", "Deductions", "Inventory", "Spec drift", "Compliance"):
            assert text.count(heading) >= 2, heading
        assert SHOP in text and PETS in text
        for regulation in ("GDPR", "PCI DSS", "HIPAA", "CCPA"):
            assert regulation in text
        assert "shadow" in text and "zombie" in text and "orphan" in text and "debug" in text
        assert "<script>alert(1)</script>" in text  # shown as text ...
        assert "<script>" not in report  # ... because it was escaped

    def test_renders_offline_in_chromium(self, report: str, workdir: Path, tmp_path: Path) -> None:
        """Headless Chromium, with every network request sent to a dead proxy, renders the whole report."""
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is None:  # not skipped on purpose: .ci/run installs it
            pytest.fail("`chromium` is not on PATH: the offline rendering test needs it (apt-get install chromium)")
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             f"--user-data-dir={tmp_path}",
             "--proxy-server=127.0.0.1:9", "--dump-dom", (workdir / "report.html").as_uri()],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 0, result.stderr
        assert SHOP in result.stdout and "Compliance" in result.stdout


def test_no_planted_value_in_any_output(capsys: Capture, workdir: Path, tmp_path: Path) -> None:
    """The bearer token, the password, the API key, the emails and the card number never come out."""
    har, spec = str(workdir / "traffic.har"), f"{PETS}={workdir / 'pets.yaml'}"
    assert main(["report", har, "--spec", spec, "-o", str(tmp_path / "r.html")]) == 0
    outputs = {"report": (tmp_path / "r.html").read_text()}
    for name, argv in {"json": ["inventory", har, "--spec", spec, "--format", "json"],
                       "table": ["inventory", har, "--spec", spec],
                       "openapi": ["openapi", har],
                       "openapi-one": ["openapi", har, "--service", "x", "-o", "-"]}.items():
        code, out, err = _run(capsys, *argv)
        assert code == 0, err
        outputs[name] = out + err
    assert main(["openapi", har, "-o", str(tmp_path)]) == 0
    for path in tmp_path.glob("*.yaml"):
        outputs[path.name] = path.read_text()
    # The detectors did see them: the findings are in the output, the values are not.
    assert "credit_card" in outputs["json"] and "email" in outputs["json"]
    for name, text in outputs.items():
        _assert_clean(text, name)


class TestCallFacts:
    """`call_facts` from an exchange and its analysis: names and types only."""

    def _facts(self, exchange: HttpExchange, analysis: Analysis | None = None) -> Any:
        return call_facts(exchange, analysis or Analysis(), host_service(exchange), entry=3)

    def test_scheme_time_auth_and_findings(self) -> None:
        """https from X-Forwarded-Proto; time is the end of the call; auth and findings carried over."""
        exchange = HttpExchange("get", "http", "api.example.com:80", "/a", query=(("limit", "5"),),
                                request_headers=Headers({"X-Forwarded-Proto": "https"}), status=200,
                                started_at=100.0, duration_ms=250.0)
        finding = Finding("APISEC-PST-001", "posture.missing_hsts", Severity.LOW, "API8:2023", "CWE-319",
                          "response.header.strict-transport-security", "missing", endpoint_scope=True)
        analysis = Analysis(findings=[finding], posture_checked=True,
                            auth=AuthFacts(AuthScheme.BEARER, AuthOutcome.SUCCESS, principal_hash="ab12"))
        facts = self._facts(exchange, analysis)
        assert (facts.service, facts.method, facts.scheme, facts.time_s) == ("api.example.com", "GET", "https", 100.25)
        assert (facts.auth_scheme, facts.auth_outcome, facts.principal, facts.entry) == ("bearer", "success", "ab12", 3)
        assert facts.findings[0].severity == "low" and facts.findings[0].endpoint_scope
        assert facts.query == (("limit", "integer"),) and facts.posture_checked

    def test_parameter_names_that_are_data_are_dropped(self) -> None:
        """Query and header names that look like values (an email, a long number) are never kept."""
        exchange = HttpExchange("GET", "https", "h", "/a", query=(("a@b.example", "1"), ("4111111111111111", "x"),
                                                                  ("page", "2"), ("x" * 41, "1")),
                                request_headers=Headers({"Accept": "*/*", "X-Tenant": "t1", "Cookie": "a=b",
                                                         ":authority": "h", "X-Ref-12345678": "1"}))
        facts = self._facts(exchange)
        assert facts.query == (("page", "integer"),)
        assert facts.request_headers == (("x-tenant", "string"),)
        assert parameter_name("filter[status]") == "filter[status]" and parameter_name("v12345") == "v12345"

    def test_schemas_media_type_and_rate_limit(self) -> None:
        """JSON bodies give schemas (never values); oversized bodies are skipped; rate-limit headers seen."""
        body = Body(json.dumps({"email": RESPONSE_EMAIL, "n": 1}).encode(), "application/json")
        exchange = HttpExchange("POST", "https", "h", "/a", request_body=body, status=200, response_body=body,
                                response_headers=Headers({"Content-Type": "application/json; charset=utf-8",
                                                          "X-RateLimit-Remaining": "9"}))
        facts = self._facts(exchange)
        assert facts.request_schema and facts.response_schema and facts.response_media_type == "application/json"
        assert RESPONSE_EMAIL not in json.dumps(facts.request_schema) and facts.rate_limit_headers
        big = Body(b'{"a": "' + b"x" * MAX_SCHEMA_BODY_BYTES + b'"}', "application/json")
        assert self._facts(HttpExchange("POST", request_body=big)).request_schema is None

    def test_no_timestamp_uses_now(self) -> None:
        """An entry without a start time is stamped now."""
        assert abs(self._facts(HttpExchange()).time_s - time.time()) < 60


def test_help_lists_the_commands(capsys: Capture) -> None:
    """`otel-apisec --help` names the three commands and `openapi --help` says how several services are written."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("inventory", "openapi", "report"))
    assert main(["openapi", "--help"]) == 0
    assert "DIRECTORY" in capsys.readouterr().out
