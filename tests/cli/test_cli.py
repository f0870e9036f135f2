"""The `otel-apisec` command line: the scan output contracts, exit codes, bad input, rules."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from otel_apisec import __version__
from otel_apisec.cli import scan as scan_module
from otel_apisec.cli.main import main
from otel_apisec.detect import Analyzer, DetectConfig, load_catalog
from otel_apisec.ingest import har
from otel_apisec.model import Finding, HttpExchange, Severity

Capture = pytest.CaptureFixture[str]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO = ROOT / "otel_apisec" / "examples" / "demo.har"
FINDING_KEYS = ["rule_id", "kind", "severity", "owasp", "cwe", "location", "spans", "message"]


def _entry(path: str, method: str = "GET") -> dict:
    return {
        "startedDateTime": "2024-05-01T10:00:00Z",
        "request": {"method": method, "url": f"https://api.example.com{path}", "headers": []},
        "response": {"status": 200, "headers": [], "content": {}},
    }


def _write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def _jsonl(*entries: object) -> str:
    return "".join(json.dumps(e) + "\n" for e in entries)


class _Boom:
    """A stub exchange detector: a finding of the severity named in the path (`/boom/high`)."""

    name = "stub"

    def __call__(self, exchange: HttpExchange, ctx: object) -> list[Finding]:
        if not exchange.path.startswith("/boom/"):
            return []
        severity = Severity.parse(exchange.path.rsplit("/", 1)[1])
        return [Finding("APISEC-TST-001", "posture.test", severity, "API8:2023", "CWE-16",
                        "request.path", "stub finding")]


@pytest.fixture
def stub_analyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans use only the stub detector, so these tests do not depend on the real families."""
    monkeypatch.setattr(scan_module, "Analyzer",
                        lambda config, **_: Analyzer(config, field_detectors=[], exchange_detectors=[_Boom()]))


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class TestConsoleScript:
    def test_subprocess_scan_demo_jsonl(self) -> None:
        """The real `python -m otel_apisec` scans the demo HAR: one jsonl line per entry, exit 0."""
        proc = subprocess.run([sys.executable, "-m", "otel_apisec", "scan", str(DEMO), "--format", "jsonl"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        entries = json.loads(DEMO.read_text())["log"]["entries"]
        assert [json.loads(line)["index"] for line in lines] == list(range(len(entries)))
        assert "Traceback" not in proc.stderr

    def test_subprocess_stdin_and_bad_input(self) -> None:
        """`scan -` reads stdin; a non-HAR stdin gives one error line, exit 2, no traceback."""
        script = [sys.executable, "-m", "otel_apisec", "scan", "-", "--format", "jsonl"]
        good = subprocess.run(script, input=_jsonl(_entry("/a"), _entry("/b")), capture_output=True,
                              text=True, timeout=120)
        assert good.returncode == 0 and len(good.stdout.splitlines()) == 2
        bad = subprocess.run(script, input="name,value\n1,2\n", capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and bad.stdout == ""
        assert len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr

    def test_version(self, capsys: Capture) -> None:
        """--version prints the package version."""
        code, out, _ = _run(capsys, "--version")
        assert code == 0 and out.strip() == f"otel-apisec {__version__}"

    def test_no_command_shows_help(self, capsys: Capture) -> None:
        """Without a subcommand the usage goes to stderr and the exit code is 2."""
        code, _, err = _run(capsys)
        assert code == 2 and "scan" in err and "rules" in err

    def test_help_has_examples(self, capsys: Capture) -> None:
        """scan --help explains formats, exit codes and memory behaviour, with examples."""
        code, out, _ = _run(capsys, "scan", "--help")
        assert code == 0
        for text in ("examples:", "exit codes", "read whole", "jsonl", "--fail-on"):
            assert text in out


class TestMachineFormats:
    def test_jsonl_contract(self, tmp_path: Path, capsys: Capture, stub_analyzer: None) -> None:
        """One line per entry in input order, with exactly the contract keys; bad entries get error lines."""
        path = _write(tmp_path, "in.jsonl", _jsonl(_entry("/boom/high"), {"request": {}}, _entry("/ok")))
        code, out, err = _run(capsys, "scan", path, "--format", "jsonl")
        assert code == 0
        lines = [json.loads(line) for line in out.splitlines()]
        assert [list(line) for line in lines] == [["index", "findings"], ["index", "error", "findings"],
                                                  ["index", "findings"]]
        assert [line["index"] for line in lines] == [0, 1, 2]
        assert list(lines[0]["findings"][0]) == FINDING_KEYS
        assert lines[0]["findings"][0]["severity"] == "high"
        assert lines[1] == {"index": 1, "error": "line 2: request has no url", "findings": []}
        assert lines[2]["findings"] == []
        assert err.strip() == "otel-apisec: entry 1 (line 2): request has no url"

    def test_json_document(self, capsys: Capture, stub_analyzer: None, tmp_path: Path) -> None:
        """--format json is one document: tool, version, entries, results, errors, summary."""
        doc = {"log": {"entries": [_entry("/boom/critical"), {"x": 1}, _entry("/boom/low")]}}
        code, out, _ = _run(capsys, "scan", _write(tmp_path, "a.har", json.dumps(doc)), "--format", "json")
        assert code == 0
        result = json.loads(out)
        assert list(result) == ["tool", "version", "entries", "results", "errors", "summary"]
        assert (result["tool"], result["version"], result["entries"]) == ("otel-apisec", __version__, 3)
        assert [r["index"] for r in result["results"]] == [0, 2]
        assert result["errors"] == [{"index": 1, "error": "entry has no request object"}]
        summary = result["summary"]
        counts = [summary[key] for key in ("entries", "scanned", "errors", "findings")]
        assert counts == [3, 2, 1, 2]
        assert summary["by_severity"] == {"critical": 1, "high": 0, "medium": 0, "low": 1, "info": 0}
        assert summary["by_rule"] == {"APISEC-TST-001": 2}

    def test_output_is_deterministic(self, capsys: Capture) -> None:
        """Two scans of the demo give byte-identical json and human output."""
        for fmt in ("json", "human"):
            first = _run(capsys, "scan", str(DEMO), "--format", fmt)[1]
            assert first == _run(capsys, "scan", str(DEMO), "--format", fmt)[1]

    def test_output_file(self, tmp_path: Path, capsys: Capture) -> None:
        """-o writes the report to a file and nothing to stdout."""
        target = tmp_path / "out.jsonl"
        source = str(FIXTURES / "basic.har")
        code, out, _ = _run(capsys, "scan", source, "--format", "jsonl", "-o", str(target))
        assert code == 0 and out == ""
        assert len(target.read_text().splitlines()) == 3

    def test_stdin_dash(self, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
        """`-` reads a HAR document from stdin (format from content)."""
        data = (FIXTURES / "basic.har").read_bytes()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        code, out, _ = _run(capsys, "scan", "-", "--format", "jsonl", "--no-progress")
        assert code == 0 and len(out.splitlines()) == 3


class TestProgress:
    def test_progress_bar_on_terminal(self, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
        """With a terminal on stderr and a large input the bar runs and the output is unchanged."""
        expected = _run(capsys, "scan", str(DEMO), "--format", "jsonl")[1]
        monkeypatch.setattr(scan_module, "LARGE_INPUT_BYTES", 0)
        monkeypatch.setattr(scan_module, "_PROGRESS_EVERY", 1)
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
        code, out, err = _run(capsys, "scan", str(DEMO), "--format", "jsonl")
        assert code == 0 and out == expected and "Traceback" not in err

    def test_no_progress_flag(self, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
        """--no-progress keeps stderr empty even on a terminal."""
        monkeypatch.setattr(scan_module, "LARGE_INPUT_BYTES", 0)
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
        code, _, err = _run(capsys, "scan", str(DEMO), "--format", "jsonl", "--no-progress")
        assert code == 0 and err == ""


class TestFailOn:
    @pytest.mark.parametrize(("threshold", "expected"), [
        (None, 0), ("info", 1), ("medium", 1), ("high", 1), ("critical", 0),
    ])
    def test_exit_codes(self, threshold: str | None, expected: int, tmp_path: Path,
                        capsys: Capture, stub_analyzer: None) -> None:
        """Exit 1 exactly when some finding is at least --fail-on severe."""
        path = _write(tmp_path, "in.jsonl", _jsonl(_entry("/boom/low"), _entry("/boom/high"), _entry("/ok")))
        argv = ["scan", path, "--format", "jsonl"] + (["--fail-on", threshold] if threshold else [])
        assert _run(capsys, *argv)[0] == expected

    def test_no_findings_passes(self, tmp_path: Path, capsys: Capture, stub_analyzer: None) -> None:
        """A clean capture exits 0 even with --fail-on info."""
        path = _write(tmp_path, "in.jsonl", _jsonl(_entry("/ok")))
        assert _run(capsys, "scan", path, "--fail-on", "info")[0] == 0

    def test_bad_severity_is_usage_error(self, capsys: Capture) -> None:
        """An unknown severity is rejected by argparse with exit 2."""
        code, _, err = _run(capsys, "scan", str(DEMO), "--fail-on", "severe")
        assert code == 2 and "invalid choice" in err


class TestBadInput:
    @pytest.mark.parametrize("data", [
        b'{"name": "not a har", "items": []}',
        b"id,method,url\n1,GET,https://h.example/\n",
        b'{\n  "log": {\n    "entries": [\n      {"request": {"url": "https://h',
        bytes(range(256)) * 16,
        b"\xff\xfe\x00{\x00\n\x80\x81",
        b"",
    ], ids=["json-without-log", "csv", "truncated-har", "binary", "invalid-utf8", "empty"])
    def test_whole_file_not_har(self, data: bytes, tmp_path: Path, capsys: Capture) -> None:
        """A file that is not HAR or JSONL: one error line on stderr, nothing on stdout, exit 2."""
        code, out, err = _run(capsys, "scan", _write(tmp_path, "input.har", data), "--format", "jsonl")
        assert code == 2 and out == ""
        assert len(err.splitlines()) == 1 and err.startswith("otel-apisec: error:") and "Traceback" not in err

    def test_missing_file(self, capsys: Capture) -> None:
        """A missing file is a one-line error with exit 2."""
        code, _, err = _run(capsys, "scan", "/nonexistent/capture.har")
        assert code == 2 and "cannot read /nonexistent/capture.har" in err and len(err.splitlines()) == 1

    def test_bad_jsonl_lines_are_skipped(self, capsys: Capture) -> None:
        """Cut lines, bad UTF-8, entries without request: one stderr line each, naming entry and line."""
        code, out, err = _run(capsys, "scan", str(FIXTURES / "mixed.jsonl"), "--format", "jsonl")
        assert code == 0 and "Traceback" not in err
        lines = [json.loads(line) for line in out.splitlines()]
        assert [line["index"] for line in lines] == [0, 1, 2, 3, 4]
        assert ["error" in line for line in lines] == [False, True, True, True, False]
        assert err.splitlines() == [
            "otel-apisec: entry 1 (line 3): invalid JSON "
            "(unexpected end of data: line 1 column 61 (char 60))",
            "otel-apisec: entry 2 (line 4): invalid JSON "
            "(str is not valid UTF-8: surrogates not allowed: line 1 column 1 (char 0))",
            "otel-apisec: entry 3 (line 5): entry has no request object",
        ]

    def test_huge_jsonl_line(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                             capsys: Capture) -> None:
        """A line over the cap is one error naming its line; the rest is scanned."""
        monkeypatch.setattr(har, "MAX_LINE_BYTES", 4096)
        path = _write(tmp_path, "big.jsonl", _jsonl(_entry("/a"), _entry("/" + "x" * 10_000), _entry("/c")))
        code, out, err = _run(capsys, "scan", path, "--format", "jsonl")
        assert code == 0 and len(out.splitlines()) == 3
        assert "entry 1 (line 2): line longer than" in err

    def test_human_report_counts_errors(self, capsys: Capture) -> None:
        """The human summary says how many entries were unreadable."""
        code, out, _ = _run(capsys, "scan", str(FIXTURES / "mixed.jsonl"))
        assert code == 0 and "2 of 5 entries scanned, 3 unreadable" in out


class TestOptions:
    def test_unknown_detector(self, capsys: Capture) -> None:
        """--enable with an unknown family lists the valid ones and exits 2."""
        code, _, err = _run(capsys, "scan", str(DEMO), "--enable", "pii,magic")
        assert code == 2 and "unknown detector magic" in err and "injection" in err

    def test_enable_disable_config(self) -> None:
        """--enable/--disable build DetectConfig.enabled; all families means None."""
        assert scan_module.build_config(["pii,secrets"], ["secrets"]).enabled == frozenset({"pii"})
        assert scan_module.build_config().enabled is None
        others = frozenset(scan_module.detector_names()) - {"pii"}
        assert scan_module.build_config(None, ["pii"]).enabled == others

    def test_jwt_secrets_file(self, tmp_path: Path) -> None:
        """The secrets file is one secret per line; blank lines and # comments are ignored."""
        path = _write(tmp_path, "secrets.txt", "# leaked\nhunter2\n\n  s3cret  \n")
        assert scan_module.build_config(jwt_secrets=path).weak_secrets == frozenset({"hunter2", "s3cret"})

    def test_jwt_secrets_unreadable(self, capsys: Capture) -> None:
        """A missing secrets file is a clear usage error."""
        code, _, err = _run(capsys, "scan", str(DEMO), "--jwt-secrets", "/nonexistent/secrets.txt")
        assert code == 2 and "--jwt-secrets: cannot read" in err

    def test_max_body_bytes(self) -> None:
        """--max-body-bytes reaches the DetectConfig."""
        assert scan_module.build_config(max_body_bytes=1234).max_body_bytes == 1234
        assert DetectConfig().max_body_bytes != 1234


class TestRules:
    def test_rules_json(self, capsys: Capture) -> None:
        """`rules --format json` is the catalog as Rule.to_dict() objects."""
        code, out, _ = _run(capsys, "rules", "--format", "json")
        assert code == 0
        assert json.loads(out) == [rule.to_dict() for rule in load_catalog()]

    def test_rules_table(self, capsys: Capture) -> None:
        """The default table shows every rule ID."""
        code, out, _ = _run(capsys, "rules")
        assert code == 0 and "OWASP" in out
        assert all(rule.id in out for rule in load_catalog())


class TestDemo:
    def test_human_report(self, capsys: Capture) -> None:
        """The demo report has the endpoint table, the rule table and the summary line."""
        code, out, _ = _run(capsys, "scan", str(DEMO))
        assert code == 0
        assert "Findings by endpoint" in out and "Findings by rule" in out
        assert "29 of 29 entries scanned" in out

    def test_demo_shows_many_kinds(self, capsys: Capture) -> None:
        """The demo HAR triggers the headline issue of every detector family."""
        code, out, _ = _run(capsys, "scan", str(DEMO), "--format", "json")
        kinds = set(json.loads(out)["summary"]["by_kind"])
        expected = {
            "sqli", "xss", "path_traversal", "ssrf", "nosqli", "jndi_injection",
            "pii.email", "pii.phone", "pii.credit_card", "pii.iban", "pii.us_ssn",
            "secret.jwt",
            "token.alg_none", "token.expired", "token.weak_secret",
            "auth.login_failed", "auth.cleartext_credentials", "auth.weak_password",
            "auth.credentials_in_url",
            "posture.plain_http", "posture.cors_wildcard_credentials", "posture.cookie_not_httponly",
            "posture.server_version_banner", "posture.stack_trace", "posture.missing_hsts",
            "exposure.sensitive_field", "exposure.bulk_records",
        }
        assert expected <= kinds, sorted(expected - kinds)

    def test_demo_clean_traffic_stays_clean(self, capsys: Capture) -> None:
        """The health check and the product list (entries 0 and 1) raise nothing above info."""
        code, out, _ = _run(capsys, "scan", str(DEMO), "--format", "jsonl")
        lines = [json.loads(line) for line in out.splitlines()]
        for line in lines[:2]:
            noisy = [f["rule_id"] for f in line["findings"] if f["severity"] != "info"]
            assert noisy == [], (line["index"], noisy)
